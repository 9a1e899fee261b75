//! Correlation rules: every type, group-by, timespan, aliases, generate, conditions, chains,
//! bounded state reported as a hit, expiry and checkpointing.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferrodef_sigma::{
    CorrelationHit, CorrelationMatch, Correlator, CorrelatorState, Limit, Limits, SigmaRules,
};
use serde_json::{json, Value};

const BASE: &str = "title: Failed logon
id: failed-logon
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Successful logon
id: ok-logon
name: ok_logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4624
  condition: sel
---
title: Process
id: proc
name: proc
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: '.exe'
  condition: sel
";

fn load(corr: &str) -> Arc<SigmaRules> {
    let text = format!("{BASE}---\n{corr}");
    let (rules, problems) = SigmaRules::from_str(&text, "c.yml");
    assert!(problems.is_empty(), "{problems:?}");
    Arc::new(rules)
}

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .unwrap_or_default()
}

fn logon(id: u32, user: &str, ip: &str) -> Value {
    json!({"EventID": id, "Channel": "Security", "TargetUserName": user, "IpAddress": ip, "Bytes": 0})
}

/// Feeds an event through matching and correlation, returning the correlation matches.
fn feed(
    rules: &SigmaRules,
    c: &mut Correlator,
    e: &Value,
    at: DateTime<Utc>,
) -> Vec<CorrelationHit> {
    let mut out = Vec::new();
    for r in rules.matches(e) {
        out.extend(c.observe(r, e, at));
    }
    out
}

fn matches(h: &[CorrelationHit]) -> Vec<&CorrelationMatch> {
    h.iter()
        .filter_map(|x| match x {
            CorrelationHit::Match(m) => Some(m),
            CorrelationHit::LimitReached(_) => None,
        })
        .collect()
}

#[test]
fn event_count_with_group_by_and_timespan() {
    let rules = load("title: Brute force\nid: bf\ncorrelation:\n  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - TargetUserName\n  timespan: 1m\n  condition:\n    gte: 3\nlevel: high\n");
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "1.1.1.1"), t(0)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "alice", "1.1.1.1"), t(1)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "1.1.1.1"), t(10)).is_empty());
    let hits = feed(&rules, &mut c, &logon(4625, "bob", "1.1.1.2"), t(20));
    let m = matches(&hits);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.id, "bf");
    assert_eq!(m[0].count, 3);
    assert_eq!(
        m[0].group,
        vec![("TargetUserName".to_string(), Some("bob".to_string()))]
    );
    assert_eq!(m[0].first, t(0));
    assert_eq!(m[0].rules, vec!["failed-logon".to_string()]);
    // The window restarted: 2 more are not enough; and old ones out of the minute expire.
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(30)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(100)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(101)).is_empty());
    assert_eq!(
        matches(&feed(&rules, &mut c, &logon(4625, "bob", "x"), t(102))).len(),
        1
    );
    // The base rule is not alerted on by itself (generate: false).
    assert!(!rules.rules()[0].alert);
    assert!(rules.rules()[2].alert);
}

#[test]
fn value_count_counts_distinct_values() {
    let rules = load("title: Spray\nid: spray\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n  group-by: [IpAddress]\n  timespan: 5m\n  condition:\n    gte: 3\n    field: TargetUserName\n");
    let mut c = Correlator::new(Arc::clone(&rules));
    for (i, u) in ["a", "a", "b", "b"].iter().enumerate() {
        assert!(feed(&rules, &mut c, &logon(4625, u, "9.9.9.9"), t(i as i64)).is_empty());
    }
    let m = feed(&rules, &mut c, &logon(4625, "c", "9.9.9.9"), t(9));
    let m = matches(&m);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value, 3.0);
    assert_eq!(m[0].count, 5);
}

#[test]
fn temporal_and_temporal_ordered_with_aliases() {
    let corr = "title: Fail then success\nid: fts\ncorrelation:\n  type: temporal_ordered\n  rules:\n    - failed_logon\n    - ok_logon\n  group-by: [user]\n  aliases:\n    user:\n      failed_logon: TargetUserName\n      ok_logon: TargetUserName\n  timespan: 10m\n";
    let rules = load(corr);
    let mut c = Correlator::new(Arc::clone(&rules));
    // Success before failure: not in order.
    assert!(feed(&rules, &mut c, &logon(4624, "bob", "x"), t(0)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "eve", "x"), t(1)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(2)).is_empty());
    let hits = feed(&rules, &mut c, &logon(4624, "bob", "x"), t(3));
    let m = matches(&hits);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].group,
        vec![("user".to_string(), Some("bob".to_string()))]
    );
    assert_eq!(m[0].rules.len(), 2);

    let rules = load(&corr.replace("temporal_ordered", "temporal"));
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &logon(4624, "bob", "x"), t(0)).is_empty());
    assert_eq!(
        matches(&feed(&rules, &mut c, &logon(4625, "bob", "x"), t(1))).len(),
        1
    );
    // Outside the timespan: no match.
    assert!(feed(&rules, &mut c, &logon(4624, "bob", "x"), t(10)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(1000)).is_empty());
}

#[test]
fn value_sum_avg_percentile() {
    let sum = "title: Exfil\nid: ex\ncorrelation:\n  type: value_sum\n  rules: [ok_logon]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition:\n    gt: 100\n    field: Bytes\n";
    let rules = load(sum);
    let mut c = Correlator::new(Arc::clone(&rules));
    let ev =
        |b: u64| json!({"EventID": 4624, "Channel": "Security", "TargetUserName": "u", "Bytes": b});
    assert!(feed(&rules, &mut c, &ev(60), t(0)).is_empty());
    let m = feed(&rules, &mut c, &ev(50), t(1));
    assert_eq!(matches(&m)[0].value, 110.0);

    // Averages and percentiles are judged when the window (1h) closes.
    let rules = load(
        &sum.replace("value_sum", "value_avg")
            .replace("gt: 100", "gte: 30"),
    );
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &ev(10), t(0)).is_empty());
    assert!(feed(&rules, &mut c, &ev(50), t(1)).is_empty());
    let m = c.expire(t(3601));
    assert_eq!(matches(&m)[0].value, 30.0);

    let p = sum
        .replace("value_sum", "value_percentile")
        .replace("gt: 100", "gte: 90\n    percentile: 50");
    let rules = load(&p);
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &ev(100), t(0)).is_empty());
    assert!(feed(&rules, &mut c, &ev(1), t(1)).is_empty());
    assert!(feed(&rules, &mut c, &ev(95), t(2)).is_empty());
    let m = c.expire(t(3601));
    assert_eq!(matches(&m)[0].value, 95.0);
    // A median below the bound does not fire.
    assert!(feed(&rules, &mut c, &ev(100), t(4000)).is_empty());
    assert!(feed(&rules, &mut c, &ev(1), t(4001)).is_empty());
    assert!(feed(&rules, &mut c, &ev(2), t(4002)).is_empty());
    assert!(matches(&c.expire(t(8000))).is_empty());
}

#[test]
fn upper_bound_conditions_are_judged_when_the_window_closes() {
    let rules = load("title: Quiet\nid: quiet\ncorrelation:\n  type: event_count\n  rules: [ok_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n  condition:\n    lt: 3\n");
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &logon(4624, "a", "x"), t(0)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4624, "b", "x"), t(0)).is_empty());
    for s in 1..5 {
        assert!(feed(&rules, &mut c, &logon(4624, "b", "x"), t(s)).is_empty());
    }
    assert!(c.expire(t(30)).is_empty(), "window still open");
    let hits = c.expire(t(61));
    let m = matches(&hits);
    assert_eq!(m.len(), 1, "{hits:?}");
    assert_eq!(m[0].group[0].1.as_deref(), Some("a"));
    assert_eq!(c.state(), &CorrelatorState::default());
}

#[test]
fn generate_true_keeps_base_rules_alerting_and_chains_work() {
    let text = "title: BF\nid: bf\nname: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n  generate: true\n  condition:\n    gte: 2\n---\ntitle: BF then success\nid: bfs\ncorrelation:\n  type: temporal_ordered\n  rules: [bf, ok_logon]\n  group-by: [TargetUserName]\n  timespan: 5m\n";
    let rules = load(text);
    assert!(rules.rules()[0].alert, "generate: true");
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(0)).is_empty());
    let hits = feed(&rules, &mut c, &logon(4625, "bob", "x"), t(1));
    assert_eq!(matches(&hits).len(), 1);
    let hits = feed(&rules, &mut c, &logon(4624, "bob", "x"), t(2));
    let m = matches(&hits);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.id, "bfs");
}

#[test]
fn bounds_are_reported_not_silent() {
    let rules = load("title: BF\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition:\n    gte: 1000\n");
    let limits = Limits {
        groups_per_correlation: 2,
        entries_per_group: 3,
        events_per_match: 10,
    };
    let mut c = Correlator::with_state(Arc::clone(&rules), CorrelatorState::default(), limits);
    assert!(feed(&rules, &mut c, &logon(4625, "a", "x"), t(0)).is_empty());
    assert!(feed(&rules, &mut c, &logon(4625, "b", "x"), t(0)).is_empty());
    let hits = feed(&rules, &mut c, &logon(4625, "c", "x"), t(0));
    assert!(
        matches!(hits.as_slice(), [CorrelationHit::LimitReached(l)] if l.limit == Limit::Groups && l.cap == 2)
    );
    // Reported once, not per event.
    assert!(feed(&rules, &mut c, &logon(4625, "d", "x"), t(0)).is_empty());
    for s in 1..3 {
        assert!(feed(&rules, &mut c, &logon(4625, "a", "x"), t(s)).is_empty());
    }
    let hits = feed(&rules, &mut c, &logon(4625, "a", "x"), t(5));
    assert!(
        matches!(hits.as_slice(), [CorrelationHit::LimitReached(l)] if l.limit == Limit::EntriesPerGroup)
    );
}

#[test]
fn state_checkpoints_and_resumes() {
    let corr = "title: BF\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n  condition:\n    gte: 2\n";
    let rules = load(corr);
    let mut c = Correlator::new(Arc::clone(&rules));
    assert!(feed(&rules, &mut c, &logon(4625, "bob", "x"), t(0)).is_empty());
    let saved = serde_json::to_string(c.state()).unwrap_or_default();
    let state: CorrelatorState = serde_json::from_str(&saved).unwrap_or_default();
    assert_eq!(&state, c.state());
    let mut resumed = Correlator::with_state(Arc::clone(&rules), state, Limits::default());
    assert_eq!(
        matches(&feed(&rules, &mut resumed, &logon(4625, "bob", "x"), t(1))).len(),
        1
    );
    // Expiry empties old windows.
    let mut c2 = Correlator::new(Arc::clone(&rules));
    feed(&rules, &mut c2, &logon(4625, "bob", "x"), t(0));
    c2.expire(t(0) + Duration::minutes(2));
    assert_eq!(c2.state(), &CorrelatorState::default());
}

#[test]
fn correlation_problems_are_reported() {
    let cases = [
        ("title: X\nid: x\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n  condition:\n    gte: 2\n", "not a loaded rule"),
        ("title: X\nid: x\ncorrelation:\n  type: bogus\n  rules: [proc]\n  timespan: 1m\n", "unsupported correlation type"),
        ("title: X\nid: x\ncorrelation:\n  type: event_count\n  rules: [proc]\n  timespan: 1q\n  condition:\n    gte: 2\n", "timespan"),
        ("title: X\nid: x\ncorrelation:\n  type: value_count\n  rules: [proc]\n  timespan: 1m\n  condition:\n    gte: 2\n", "condition.field"),
        ("title: X\nid: x\ncorrelation:\n  type: event_count\n  rules: [proc]\n  timespan: 1m\n", "needs a `condition`"),
    ];
    for (corr, reason) in cases {
        let text = format!("{BASE}---\n{corr}");
        let (_, problems) = SigmaRules::from_str(&text, "c.yml");
        assert_eq!(problems.len(), 1, "{corr}");
        assert!(problems[0].reason.contains(reason), "{}", problems[0]);
        assert!(problems[0].line.is_some_and(|l| l > 30), "{}", problems[0]);
    }
}
