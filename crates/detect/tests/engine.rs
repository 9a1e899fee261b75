//! The streaming engine: batches, windows, deduplication, deadman, limits, state.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferrodef_detect::{backtest, run_events, Engine, EngineOptions, EngineState, RuleSet};
use ferrodef_event::RuleKind;
use serde_json::{json, Map, Value};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

fn rules(texts: &[(&str, &str)]) -> RuleSet {
    let files = texts
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    match RuleSet::from_texts(files) {
        Ok(r) => r,
        Err(e) => panic!("{e:?}"),
    }
}

const BRUTE: &str = r#"
classname: AlertBruteforceSsh
query: 'summary:failed AND details.program:sshd'
window: 2m
aggregate: {field: details.sourceipaddress, threshold: 10, samples: 10}
summary: '{count} ssh bruteforce attempts by {value}'
severity: NOTICE
category: bruteforce
tags: [ssh]
"#;

fn fail(ip: &str, at: DateTime<Utc>) -> Map<String, Value> {
    let ts = at.to_rfc3339();
    json!({"summary": "Failed password for root", "hostname": "h",
        "utctimestamp": ts, "receivedtimestamp": ts,
        "details": {"program": "sshd", "sourceipaddress": ip}})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn engine(r: RuleSet) -> Engine {
    Engine::new(
        r,
        EngineOptions {
            started: Some(t0()),
            ..EngineOptions::default()
        },
    )
}

#[test]
fn a_batch_is_aggregated_whole_and_its_events_are_tagged() {
    let mut e = engine(rules(&[("bruteforce_ssh.yaml", BRUTE)]));
    let mut batch: Vec<_> = (0..11).map(|_| fail("1.2.3.4", t0())).collect();
    batch.push(fail("5.6.7.8", t0()));
    let alerts = e.process_batch(&mut batch, t0());
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.count, 11);
    assert_eq!(a.events.len(), 10);
    assert_eq!(a.summary, "11 ssh bruteforce attempts by 1.2.3.4");
    assert_eq!(a.key.as_deref(), Some("1.2.3.4"));
    assert_eq!(a.rule, "bruteforce_ssh");
    assert_eq!(a.rule_kind, RuleKind::Mozdef);
    assert!(!a.notify_mozdefbot);
    for ev in &batch[..11] {
        assert_eq!(ev["alert_names"], json!(["AlertBruteforceSsh"]));
    }
    assert!(batch[11].get("alert_names").is_none());
    // Tagged events do not count again.
    let again = e.process_batch(&mut batch[..11].to_vec(), t0());
    assert!(again.is_empty());
}

#[test]
fn events_across_batches_complete_an_alert_within_the_window_only() {
    let mut e = engine(rules(&[("b.yaml", BRUTE)]));
    for i in 0..9 {
        let now = t0() + Duration::seconds(i);
        assert!(e.process_batch(&mut [fail("1.1.1.1", now)], now).is_empty());
    }
    // Three minutes later the first nine are out of the 2-minute window.
    let late = t0() + Duration::minutes(3);
    assert!(e
        .process_batch(&mut [fail("1.1.1.1", late)], late)
        .is_empty());
    let mut e = engine(rules(&[("b.yaml", BRUTE)]));
    for i in 0..9 {
        let now = t0() + Duration::seconds(i);
        e.process_batch(&mut [fail("1.1.1.1", now)], now);
    }
    let now = t0() + Duration::seconds(30);
    let a = e.process_batch(&mut [fail("1.1.1.1", now)], now);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].count, 10);
}

/// A failure stamped (event time and received time) at `at`, received as `received` (its text).
fn fail_received(ip: &str, at: DateTime<Utc>, received: &str) -> Map<String, Value> {
    let mut e = fail(ip, at);
    e.insert("receivedtimestamp".into(), json!(received));
    e
}

#[test]
fn each_event_of_a_batch_is_judged_by_its_own_received_time() {
    // One batch: events received now and events received (and stamped) an hour ago,
    // alternating, plus one whose received time is not a time. Only the ten of now count
    // (a received time read for one event must not stand for the next one's).
    let mut e = engine(rules(&[("b.yaml", BRUTE)]));
    let now = t0();
    let old = now - Duration::hours(1);
    let (now_text, old_text) = (now.to_rfc3339(), old.to_rfc3339());
    let mut batch = Vec::new();
    for _ in 0..10 {
        batch.push(fail_received("1.1.1.1", now, &now_text));
        batch.push(fail_received("1.1.1.1", old, &old_text));
        batch.push(fail_received("1.1.1.1", old, &old_text));
    }
    batch.push(fail_received("1.1.1.1", old, "not a time"));
    let a = e.process_batch(&mut batch, now);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].count, 10);
    for (i, ev) in batch.iter().enumerate() {
        assert_eq!(
            ev.get("alert_names").is_some(),
            i % 3 == 0 && i < 30,
            "event {i}"
        );
    }
}

#[test]
fn the_same_key_is_suppressed_within_the_period_and_counted() {
    let mut e = engine(rules(&[("b.yaml", BRUTE)]));
    let mut b: Vec<_> = (0..10).map(|_| fail("9.9.9.9", t0())).collect();
    assert_eq!(e.process_batch(&mut b, t0()).len(), 1);
    let now = t0() + Duration::seconds(60);
    let mut b: Vec<_> = (0..10).map(|_| fail("9.9.9.9", now)).collect();
    assert!(e.process_batch(&mut b, now).is_empty());
    let s = e.suppressed();
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].count, s[0].events), (1, 10));
    assert_eq!(s[0].key, "9.9.9.9");
    // After the period (the 2-minute window) it alerts again, and says what was suppressed.
    let now = t0() + Duration::seconds(121);
    let mut b: Vec<_> = (0..10).map(|_| fail("9.9.9.9", now)).collect();
    let a = e.process_batch(&mut b, now);
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].details.get("suppressed"),
        Some(&serde_json::json!({"alerts": 1, "events": 10}))
    );
    // The period after it suppressed nothing: the next alert says nothing.
    let now = t0() + Duration::seconds(250);
    let mut b: Vec<_> = (0..10).map(|_| fail("9.9.9.9", now)).collect();
    let a = e.process_batch(&mut b, now);
    assert_eq!(a.len(), 1);
    assert!(
        a[0].details.get("suppressed").is_none(),
        "{:?}",
        a[0].details
    );
}

#[test]
fn state_survives_a_restart_without_losing_or_doubling() {
    let r = rules(&[("b.yaml", BRUTE)]);
    let mut e = engine(r.clone());
    let mut b: Vec<_> = (0..9).map(|_| fail("2.2.2.2", t0())).collect();
    assert!(e.process_batch(&mut b, t0()).is_empty());
    let mut b: Vec<_> = (0..10).map(|_| fail("3.3.3.3", t0())).collect();
    assert_eq!(e.process_batch(&mut b, t0()).len(), 1);
    let mut e2 = through_a_restart(&e, r);
    let now = t0() + Duration::seconds(5);
    // The held nine are still there: one more completes the alert (not lost)...
    let a = e2.process_batch(&mut [fail("2.2.2.2", now)], now);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].count, 10);
    // ...and the alert already sent for 3.3.3.3 is not sent again (suppressed).
    let mut b: Vec<_> = (0..10).map(|_| fail("3.3.3.3", now)).collect();
    assert!(e2.process_batch(&mut b, now).is_empty());
}

#[test]
fn hitting_the_window_limit_is_itself_an_alert() {
    let r = rules(&[("b.yaml", BRUTE)]);
    let mut e = Engine::new(
        r,
        EngineOptions {
            max_events_per_rule: 5,
            started: Some(t0()),
            ..EngineOptions::default()
        },
    );
    let mut b: Vec<_> = (0..8).map(|i| fail(&format!("10.0.0.{i}"), t0())).collect();
    let a = e.process_batch(&mut b, t0());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_kind, RuleKind::System);
    assert!(
        a[0].summary.contains("3 oldest events dropped"),
        "{}",
        a[0].summary
    );
    // Said once, not at every batch.
    let mut b: Vec<_> = (0..3).map(|i| fail(&format!("10.0.1.{i}"), t0())).collect();
    assert!(e.process_batch(&mut b, t0()).is_empty());
}

const DEAD: &str = r#"
classname: broNSM
kind: deadman
query: 'hostname:"${host}" AND category:bro'
window: 20m
summary: 'No {var.host} bro healthcheck events found the past 20 minutes'
severity: ERROR
category: deadman
tags: [bro]
instances: [{host: host1}, {host: host2}]
"#;

#[test]
fn deadman_fires_per_instance_after_a_whole_window_of_silence() {
    let mut e = engine(rules(&[("deadman.yaml", DEAD)]));
    assert!(
        e.tick(t0() + Duration::minutes(19)).is_empty(),
        "not watched long enough"
    );
    let at = t0() + Duration::minutes(10);
    let hb = json!({"hostname": "host1", "category": "bro", "utctimestamp": at.to_rfc3339()});
    let mut b = vec![hb.as_object().cloned().unwrap_or_default()];
    assert!(e.process_batch(&mut b, at).is_empty());
    let a = e.tick(t0() + Duration::minutes(21));
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].summary,
        "No host2 bro healthcheck events found the past 20 minutes"
    );
    assert!(a[0].events.is_empty());
    // Once per window, not every tick.
    assert!(e.tick(t0() + Duration::minutes(22)).is_empty());
    let a = e.tick(t0() + Duration::minutes(31));
    assert_eq!(a.len(), 1, "host1 silent for 21 minutes now");
    assert!(a[0].summary.contains("host1"));
}

#[test]
fn run_events_and_backtest() {
    let r = rules(&[("b.yaml", BRUTE)]);
    let evs: Vec<_> = (0..10)
        .map(|i| fail("4.4.4.4", t0() + Duration::seconds(i)))
        .collect();
    let a = run_events(&r, evs.clone());
    assert_eq!(a.len(), 1);
    let a = backtest(&r, evs.clone(), t0(), t0() + Duration::hours(1));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].count, 10);
    let spread: Vec<_> = (0..10)
        .map(|i| fail("4.4.4.4", t0() + Duration::minutes(i)))
        .collect();
    assert!(backtest(&r, spread, t0(), t0() + Duration::hours(1)).is_empty());
}

#[test]
fn validation_names_file_and_line_for_every_problem() {
    let bad = "classname: X\nquery: 'category:(a'\nwindow: 2x\nsummary: '{nope}'\nseverity: LOUD\ncategory: c\n";
    let errs = match RuleSet::from_texts(vec![("bad.yaml".into(), bad.into())]) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let all = text.join("\n");
    assert!(all.contains("bad.yaml:2: query 'category:(a'"), "{all}");
    assert!(all.contains("bad.yaml:3: duration '2x'"), "{all}");
    assert!(all.contains("bad.yaml:4: unknown source 'nope'"), "{all}");
    assert!(all.contains("bad.yaml:5: unknown severity 'LOUD'"), "{all}");
    let errs = match RuleSet::from_texts(vec![("u.yaml".into(), "classname: X\nbogus: 1\n".into())])
    {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert_eq!(errs[0].line, 2, "{}", errs[0]);
}

#[test]
fn the_embedded_set_has_every_ported_alert() {
    let r = match RuleSet::from_embedded() {
        Ok(r) => r,
        Err(e) => panic!("{e:?}"),
    };
    let list = r.list();
    // MozDef's 40 alerts and ferrodef's own console_login_failures.
    assert_eq!(list.len(), 41);
    for id in [
        "bruteforce_ssh",
        "deadman_generic",
        "ssh_lateral",
        "get_watchlist",
        "old_events",
    ] {
        assert!(list.iter().any(|x| x.id == id), "{id}");
    }
}

#[test]
fn hostile_rule_files_are_refused_with_a_reason() {
    let huge = format!(
        "classname: X\ndescription: '{}'\n",
        "a".repeat(2 * 1024 * 1024)
    );
    let errs = RuleSet::from_texts(vec![("huge.yaml".into(), huge)])
        .err()
        .unwrap_or_default();
    assert!(
        errs[0].message.contains("larger than the limit"),
        "{}",
        errs[0]
    );
    let deep = format!(
        "classname: X\nconfig: {{a: {}{}}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let errs = RuleSet::from_texts(vec![("deep.yaml".into(), deep)])
        .err()
        .unwrap_or_default();
    assert!(!errs.is_empty());
    let laughs = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nclassname: X\n";
    let errs = RuleSet::from_texts(vec![("laughs.yaml".into(), laughs.into())])
        .err()
        .unwrap_or_default();
    assert!(!errs.is_empty());
}

#[test]
fn the_engine_can_move_to_the_service_thread() {
    fn send<T: Send + 'static>() {}
    send::<Engine>();
    send::<RuleSet>();
    send::<EngineState>();
}

const GUESSING: &str = r#"
classname: AlertGuessing
query: 'summary:failed AND details.program:sshd'
window: 10m
aggregate:
  field: details.sourceipaddress
  threshold: 1
  samples: 2
  distinct: {field: details.username, min: 3}
summary: '{value} tried {all.details.username|unique|sorted|join:","}'
severity: WARNING
category: bruteforce
"#;

const LITERAL: &str = r#"
classname: AlertLiteral
query: 'summary:denied'
window: 10m
aggregate:
  field: details.sourceipaddress
  threshold: 1
  samples: 10
  keep_ip_literal: details.host
summary: '{value} to {all.details.host|unique|sorted|join:","}'
severity: WARNING
category: proxy
"#;

fn user_fail(ip: &str, user: &str, at: DateTime<Utc>) -> Map<String, Value> {
    let mut e = fail(ip, at);
    if let Some(Value::Object(d)) = e.get_mut("details") {
        d.insert("username".into(), json!(user));
        d.insert("note".into(), json!({"nested": [1, 2.5, true, null, "é"]}));
    }
    e
}

fn denied(ip: &str, host: &str, at: DateTime<Utc>) -> Map<String, Value> {
    let ts = at.to_rfc3339();
    json!({"summary": "denied", "utctimestamp": ts, "receivedtimestamp": ts,
        "details": {"sourceipaddress": ip, "host": host}})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn through_a_restart(e: &Engine, r: RuleSet) -> Engine {
    let text = match serde_json::to_string(&e.snapshot()) {
        Ok(t) => t,
        Err(err) => panic!("{err}"),
    };
    let state: EngineState = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(err) => panic!("{err}"),
    };
    Engine::restore(r, EngineOptions::default(), state)
}

#[test]
fn windows_keep_the_batch_events_as_their_text_and_alerts_carry_the_events_as_sent() {
    let mut e = engine(rules(&[("g.yaml", GUESSING)]));
    let first = user_fail("7.7.7.7", "alice", t0());
    let second = user_fail("7.7.7.7", "bob", t0());
    let mut batch = vec![
        ferrodef_event::Subject::Map(first.clone()),
        ferrodef_event::Subject::Map(second.clone()),
        ferrodef_event::Subject::Map(denied("7.7.7.7", "h", t0())),
    ];
    let mut texts = Vec::new();
    assert!(e.process_sealing(&mut batch, t0(), &mut texts).is_empty());
    // The window holds the two events it matched as their text (the service stores that
    // text rather than writing them again); the third is not kept.
    let want = |m: &Map<String, Value>| serde_json::to_string(m).ok();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[0].as_deref().map(str::to_string), want(&first));
    assert_eq!(texts[1].as_deref().map(str::to_string), want(&second));
    assert!(texts[2].is_none());
    let now = t0() + Duration::seconds(30);
    let a = e.process_batch(&mut [user_fail("7.7.7.7", "carol", now)], now);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].count, 3);
    // Two samples, the first exactly as it came; the summary read every event of the group.
    assert_eq!(a[0].events.len(), 2);
    assert_eq!(a[0].events[0], Value::Object(first));
    assert_eq!(a[0].summary, "7.7.7.7 tried alice,bob,carol");
}

#[test]
fn what_a_window_noted_of_its_events_is_read_again_after_a_restart() {
    let r = rules(&[("g.yaml", GUESSING), ("l.yaml", LITERAL)]);
    let mut e = engine(r.clone());
    let mut b = vec![
        user_fail("8.8.8.8", "alice", t0()),
        user_fail("8.8.8.8", "bob", t0()),
    ];
    assert!(e.process_batch(&mut b, t0()).is_empty());
    let mut e = through_a_restart(&e, r.clone());
    // Two distinct users held before the restart, a third after: the distinct count sees all.
    let now = t0() + Duration::seconds(10);
    let a = e.process_batch(&mut [user_fail("8.8.8.8", "carol", now)], now);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].summary, "8.8.8.8 tried alice,bob,carol");
    // Only IP-literal destinations count, also for events held across a restart.
    let mut e = engine(r.clone());
    let mut b = vec![denied("6.6.6.6", "example.com", t0())];
    assert!(e.process_batch(&mut b, t0()).is_empty());
    let mut e = through_a_restart(&e, r);
    let mut b = vec![
        denied("6.6.6.6", "192.0.2.1", now),
        denied("6.6.6.6", "www.example.org", now),
    ];
    let a = e.process_batch(&mut b, now);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].summary, "6.6.6.6 to 192.0.2.1");
    assert_eq!(a[0].events.len(), 1);
}

#[test]
fn a_damaged_saved_window_event_is_dropped_and_counted() {
    let r = rules(&[("b.yaml", BRUTE)]);
    let mut e = engine(r.clone());
    let mut b: Vec<_> = (0..3).map(|_| fail("4.4.4.4", t0())).collect();
    assert!(e.process_batch(&mut b, t0()).is_empty());
    let mut state = serde_json::to_value(e.snapshot()).unwrap_or_default();
    // The first held event of the group becomes a string: valid JSON, not an event.
    let group = &mut state["rules"]["b#0"]["groups"]["4.4.4.4"];
    assert_eq!(group.as_array().map(Vec::len), Some(3), "{state}");
    group[0]["event"] = json!("not an event");
    let state: EngineState = match serde_json::from_value(state) {
        Ok(s) => s,
        Err(err) => panic!("{err}"),
    };
    let mut e = Engine::restore(r, EngineOptions::default(), state);
    assert_eq!(e.unreadable_on_restore(), 1);
    // Two held events remain: eight more make ten.
    let now = t0() + Duration::seconds(5);
    let mut b: Vec<_> = (0..7).map(|_| fail("4.4.4.4", now)).collect();
    assert!(e.process_batch(&mut b, now).is_empty());
    let a = e.process_batch(&mut [fail("4.4.4.4", now)], now);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].count, 10);
}
