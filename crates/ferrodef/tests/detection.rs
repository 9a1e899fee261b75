//! Detection end to end on the real binary: events posted → the shipped MozDef rule fires
//! within a second, the alert is stored in the `alerts` stream with its events (which carry
//! `alert_names`), is pushed on the live feed, can be triaged, and a restart neither loses its
//! state nor fires it again; Sigma rules from a configured directory; the `rules` commands.

mod common;
#[path = "../../transforms/tests/support/geoip_fixture.rs"]
mod geoip_fixture;

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bin, Server};
use serde_json::{json, Value};

/// A Sigma rule directory holding `file` with `text`, and a config file loading it (beside
/// the shipped rules): returns the config's path.
fn sigma_config(tmp: &std::path::Path, file: &str, text: &str) -> std::path::PathBuf {
    let rules = tmp.join("sigma");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join(file), text).unwrap();
    let config = tmp.join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nsigma_dirs = [{:?}]\n",
            rules.display().to_string()
        ),
    )
    .unwrap();
    config
}

/// `ferrodef ingest` of a file into the data directory `data`, which must succeed.
fn import(data: &std::path::Path, file: &std::path::Path) {
    let out = Command::new(bin())
        .args(["ingest", "--quiet", "--data-dir"])
        .arg(data)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ferrodef rules backtest RULE --from now-1h` over `data` with the rules of `config`.
fn backtest(data: &std::path::Path, config: &std::path::Path, rule: &str) -> std::process::Output {
    Command::new(bin())
        .args(["rules", "backtest", rule, "--from", "now-1h", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// `n` sshd failures from `ip` on `host`, as MozDef's bruteforce_ssh rule expects them.
fn sshd_failures(n: usize, ip: &str, host: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    (0..n)
        .map(|i| {
            json!({
                "utctimestamp": now,
                "hostname": host,
                "category": "authentication",
                "summary": format!("Failed password for invalid user admin{i} from {ip} port 4242 ssh2 login failed"),
                "details": {"program": "sshd", "sourceipaddress": ip},
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Polls the alert list until `pred` holds or 10 s pass.
fn wait_alerts(s: &Server, query: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, v) = s.get(&format!("/api/alerts?{query}"));
        assert_eq!(status, 200, "{v}");
        if pred(&v) || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `/status`.
fn status(s: &Server) -> Value {
    let (code, v) = s.get("/status");
    assert_eq!(code, 200, "{v}");
    v
}

/// Waits until the time-driven rules have ticked `n` more times (`/status` counts the ticks
/// done), then until everything accepted is searchable: whatever the events posted before and
/// those ticks raised is then in the store. `n` = 2 makes sure that a whole tick ran after the
/// call (the first may have begun before).
fn settle(s: &Server, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let ticks = |v: &Value| {
        v["rules"]["ticks"]
            .as_u64()
            .expect("rules.ticks in /status")
    };
    let target = ticks(&status(s)) + n;
    loop {
        let v = status(s);
        if ticks(&v) >= target {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rules did not tick {n} times: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    loop {
        let v = status(s);
        if v["events_pending"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "accepted events still pending: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Follows the live feed (`/api/alerts/stream`) in a thread, returning once the server has
/// subscribed it (its answer's head arrived: the handler subscribes before answering); the
/// thread ends with the first alert pushed.
fn first_alert_on_the_feed(s: &Server) -> std::thread::JoinHandle<Value> {
    let url = format!("{}/api/alerts/stream", s.url);
    let (subscribed, on_subscribed) = std::sync::mpsc::channel();
    let feed = std::thread::spawn(move || {
        let resp = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
            .get(url)
            .basic_auth("admin", Some(common::ADMIN_PASSWORD))
            .send()
            .expect("stream");
        assert_eq!(resp.status().as_u16(), 200);
        let _ = subscribed.send(());
        for line in BufReader::new(resp).lines() {
            let line = line.expect("line");
            if let Some(data) = line.strip_prefix("data:") {
                return serde_json::from_str::<Value>(data.trim()).expect("json");
            }
        }
        panic!("the stream ended without an alert");
    });
    if on_subscribed.recv_timeout(Duration::from_secs(30)).is_err() {
        match feed.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(v) => panic!("the live feed gave {v} before it was subscribed"),
        }
    }
    feed
}

#[test]
fn bruteforce_alert_is_stored_pushed_triaged_and_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &[]);

    // Live feed first, so the alert is seen as it lands.
    let feed = first_alert_on_the_feed(&s);

    // Nine failures: below the threshold of ten.
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(9, "203.0.113.9", "web1"),
    );
    assert_eq!(status, 200, "{v}");
    let (_, v) = s.get("/api/alerts?rule=bruteforce_ssh");
    assert_eq!(v["total"], 0, "no alert below the threshold: {v}");

    // The tenth completes it: one alert, at once.
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(1, "203.0.113.9", "web2"),
    );
    assert_eq!(status, 200, "{v}");
    let v = wait_alerts(&s, "rule=bruteforce_ssh", |v| v["total"] == 1);
    assert_eq!(v["total"], 1, "{v}");
    let alert = &v["alerts"][0];
    assert_eq!(alert["category"], "bruteforce");
    assert_eq!(alert["severity"], "NOTICE");
    assert_eq!(alert["classname"], "AlertBruteforceSsh");
    assert_eq!(alert["status"], "open");
    let summary = alert["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("10 ssh bruteforce attempts by 203.0.113.9"),
        "{summary}"
    );
    assert!(summary.contains("web1 (9 hits)"), "{summary}");
    assert_eq!(alert["events"].as_array().map(Vec::len), Some(10));
    let id = alert["id"].as_str().unwrap().to_string();

    let pushed = feed.join().expect("feed");
    assert_eq!(pushed["id"], id.as_str());

    // The event that completed it says so (the nine before were stored before the alert
    // existed; stored events are not rewritten — the alert carries all ten).
    assert_eq!(s.wait_total("alert_names:AlertBruteforceSsh", 1), 1);
    assert_eq!(
        s.total("alert_names:AlertBruteforceSsh AND hostname:web2"),
        1
    );

    // Searchable with the query language in the alerts stream too.
    let (status, v) = s.search_with("category:bruteforce", &[("stream", "alerts")]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["total"], 1);

    // The source is an attacker.
    let (status, v) = s.get("/api/attackers");
    assert_eq!(status, 200, "{v}");
    let a = v["attackers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == "203.0.113.9")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(a["alerts"], 1);
    assert_eq!(a["events"], 10);
    let (status, v) = s.get("/api/attackers/203.0.113.9");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["alerts"][0]["id"], id.as_str());
    let (status, _) = s.get("/api/attackers/192.0.2.77");
    assert_eq!(status, 404);

    // Triage.
    let (status, v) = s.post_json_as_admin(
        &format!("/api/alerts/{id}/status"),
        &json!({"status": "acknowledged", "comment": "looking"}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.post_json_as_admin(
        &format!("/api/alerts/{id}/status"),
        &json!({"status": "bogus"}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("bogus"));
    let (status, v) = s.post_json_as_admin(
        "/alertstatus",
        &json!({"alertid": id, "status": "escalated"}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.post_json_as_admin("/api/alerts/nope/status", &json!({"status": "closed"}));
    assert_eq!(status, 404, "{v}");
    let (_, v) = s.get(&format!("/api/alerts/{id}"));
    assert_eq!(v["status"], "escalated");
    assert_eq!(v["comments"][0]["text"], "looking");
    let (_, v) = s.get("/api/alerts?status=open");
    assert_eq!(v["total"], 0, "{v}");
    let (_, v) = s.get("/api/alerts?status=escalated");
    assert_eq!(v["total"], 1, "{v}");

    // Restart: the triage state is back, the window state too (one more failure from the
    // same source within the suppression period does not alert again).
    s.stop();
    let s = Server::start_in(tmp.path(), &[]);
    let (_, v) = s.get(&format!("/api/alerts/{id}"));
    assert_eq!(v["status"], "escalated", "{v}");
    let (status, _) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(10, "203.0.113.9", "web3"),
    );
    assert_eq!(status, 200);
    settle(&s, 2);
    assert_eq!(s.total("hostname:web3"), 10);
    let (_, v) = s.get("/api/alerts?rule=bruteforce_ssh");
    assert_eq!(v["total"], 1, "suppressed after the restart too: {v}");
    // Another source is another alert.
    let (status, _) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(10, "198.51.100.7", "web3"),
    );
    assert_eq!(status, 200);
    let v = wait_alerts(&s, "rule=bruteforce_ssh", |v| v["total"] == 2);
    assert_eq!(v["total"], 2, "{v}");
}

#[test]
fn sigma_rules_from_a_configured_directory_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sigma_config(
        tmp.path(),
        "nc_listener.yml",
        r#"title: Netcat listener started
id: 0d4c0ee6-1111-4b9e-8f2a-000000000001
status: test
level: high
tags: [attack.execution]
logsource:
    product: linux
detection:
    keywords:
        - 'nc -lvp'
    condition: keywords
"#,
    );
    let data = tmp.path().join("data");
    let s = Server::start_in(&data, &["--config", config.to_str().unwrap()]);
    let (status, v) = s.post(
        "/syslog",
        "text/plain",
        "<13>Jan  1 00:00:00 box1 bash[77]: user ran nc -lvp 4444\n<13>Jan  1 00:00:00 box1 bash[77]: ls -l\n",
    );
    assert_eq!(status, 200, "{v}");
    let v = wait_alerts(&s, "rule=0d4c0ee6-1111-4b9e-8f2a-000000000001", |v| {
        v["total"] == 1
    });
    assert_eq!(v["total"], 1, "{v}");
    let a = &v["alerts"][0];
    assert_eq!(a["rule_kind"], "sigma");
    assert_eq!(a["severity"], "ERROR", "Sigma high → ERROR");
    assert_eq!(a["key"], "box1");
    assert!(a["summary"]
        .as_str()
        .unwrap()
        .contains("Netcat listener started"));
}

#[test]
fn a_sigma_rule_that_does_not_load_stops_the_server_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sigma_config(
        tmp.path(),
        "broken.yml",
        "title: broken\nid: 1\nlogsource:\n    product: linux\ndetection:\n    sel:\n        a|nosuchmodifier: x\n    condition: sel\n",
    );
    let out = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.yml"), "{err}");
    assert!(err.contains("nosuchmodifier"), "{err}");
}

/// `enabled: false` rules load and are listed, but `serve` does not run them: of two deadman
/// rules over a silent one-second window only the enabled one fires. The shipped deadman rules
/// (MozDef's sample hosts and queries) are off.
#[test]
fn disabled_rules_are_listed_but_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for (name, enabled) in [("SilenceOn", true), ("SilenceOff", false)] {
        std::fs::write(
            rules.join(format!("{name}.yaml")),
            format!(
                "classname: {name}\nenabled: {enabled}\nkind: deadman\nquery: 'category:heartbeat'\n\
                 window: 1s\nsummary: 'no heartbeat'\nseverity: ERROR\ncategory: deadman\n"
            ),
        )
        .unwrap();
    }
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nrules_dirs = [{:?}]\n",
            rules.display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["rules", "list", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{listed}");
    let on = |id: &str| {
        listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    assert_eq!(on("bruteforce_ssh").as_deref(), Some("yes"), "{listed}");
    assert_eq!(on("deadman_generic").as_deref(), Some("no"), "{listed}");
    assert_eq!(on("deadman").as_deref(), Some("no"), "{listed}");
    let s = Server::start_in(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let v = wait_alerts(&s, "category=deadman", |v| v["total"] == 1);
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["alerts"][0]["classname"], "SilenceOn", "{v}");
    // Both would have fired at the same tick; two more ticks: still only the enabled one.
    settle(&s, 2);
    let (_, v) = s.get("/api/alerts?category=deadman");
    let names: Vec<&str> = v["alerts"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["classname"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"SilenceOff"), "{v}");
}

#[test]
fn rules_validate_names_file_and_line_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.yaml");
    std::fs::write(
        &good,
        "classname: Good\ndescription: d\nquery: 'category:x'\nwindow: 5m\nsummary: 'x'\nseverity: INFO\ncategory: test\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["rules", "validate"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "classname: Bad\ndescription: d\nquery: 'category:(x'\nwindow: 5m\nsummary: 'x'\nseverity: INFO\ncategory: test\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["rules", "validate"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bad.yaml:3"), "{text}");
}

#[test]
fn rules_test_events_prints_what_fires() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tmp.path().join("events.ndjson");
    std::fs::write(&events, sshd_failures(10, "192.0.2.50", "db1")).unwrap();
    let out = Command::new(bin())
        .args(["rules", "test", "--events"])
        .arg(&events)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let brute: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"] == "bruteforce_ssh")
        .collect();
    assert_eq!(brute.len(), 1, "{alerts:?}");
    assert_eq!(brute[0]["key"], "192.0.2.50");
}

#[test]
fn backtest_replays_every_matching_event_once_across_pages() {
    // 25,000 events a rule matches (more than two pages of 10,000; a file import sends them
    // in batches whose events share their receive time) among 5,000 it does not.
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("logins.yaml"),
        "classname: BacktestLogins\nquery: 'category:backtestlogin'\nwindow: 1d\n\
         aggregate:\n  field: details.username\n  threshold: 1\n  samples: 1\n\
         summary: 'login by {value}'\nseverity: INFO\ncategory: test\n",
    )
    .unwrap();
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nrules_dirs = [{:?}]\n",
            rules.display().to_string()
        ),
    )
    .unwrap();
    let mut lines = String::new();
    for i in 0..30_000 {
        let category = if i % 6 == 5 { "other" } else { "backtestlogin" };
        lines.push_str(&format!(
            "{{\"category\":\"{category}\",\"summary\":\"login\",\"details\":{{\"username\":\"u{i}\"}}}}\n"
        ));
    }
    let events = tmp.path().join("events.json");
    std::fs::write(&events, lines).unwrap();
    let data = tmp.path().join("data");
    import(&data, &events);
    let out = backtest(&data, &config, "logins");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("25000 alert(s) from 25000 event(s)"), "{err}");
    let mut keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 25_000, "one alert per user, each once");
}

/// Sigma rules over stored events: five hosts each ran three netcat listeners and two
/// listings within a minute; the correlation (three listeners on one host within five
/// minutes) fires once per host, its base rule not at all (it only feeds the correlation), a
/// standalone rule once per host (then suppressed for ten minutes); nothing is stored or sent.
#[test]
fn backtest_runs_sigma_rules_and_correlations_over_stored_events() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sigma_config(
        tmp.path(),
        "nc.yml",
        r#"title: Netcat listener
id: 7a1c0ee6-3333-4b9e-8f2a-000000000001
name: nc_listener_bt
level: medium
logsource:
    product: linux
detection:
    keywords:
        - 'nc -lvp'
    condition: keywords
---
title: Repeated netcat listeners
id: 7a1c0ee6-3333-4b9e-8f2a-000000000002
level: high
correlation:
    type: event_count
    rules:
        - nc_listener_bt
    group-by:
        - hostname
    timespan: 5m
    condition:
        gte: 3
---
title: Directory listing
id: 7a1c0ee6-3333-4b9e-8f2a-000000000003
level: low
logsource:
    product: linux
detection:
    keywords:
        - 'ran ls -l'
    condition: keywords
"#,
    );
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut lines = String::new();
    for host in 0..5 {
        for n in 0..5 {
            let cmd = if n % 2 == 0 { "nc -lvp 4444" } else { "ls -l" };
            lines.push_str(&format!(
                "<13>1 {at} bt-host{host} bash 77 - - user ran {cmd}\n"
            ));
        }
    }
    let log = tmp.path().join("commands.log");
    std::fs::write(&log, lines).unwrap();
    let data = tmp.path().join("data");
    import(&data, &log);
    let alerts_of = |rule: &str| {
        let out = backtest(&data, &config, rule);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        let alerts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (alerts, err)
    };
    let (alerts, err) = alerts_of("7a1c0ee6-3333-4b9e-8f2a-000000000002");
    assert!(err.contains("5 alert(s) from 25 event(s)"), "{err}");
    let mut keys: Vec<&str> = alerts.iter().map(|a| a["key"].as_str().unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 5, "one per host: {alerts:?}");
    assert!(alerts
        .iter()
        .all(|a| a["rule_kind"] == "correlation" && a["count"] == 3));
    // The base rule only feeds the correlation (as in `serve`); the standalone one alerts
    // once per host (its second match on a host is within the suppression period).
    let (_, err) = alerts_of("7a1c0ee6-3333-4b9e-8f2a-000000000001");
    assert!(err.contains("0 alert(s) from 25 event(s)"), "{err}");
    let (alerts, err) = alerts_of("7a1c0ee6-3333-4b9e-8f2a-000000000003");
    assert!(err.contains("5 alert(s) from 25 event(s)"), "{err}");
    assert!(
        alerts.iter().all(|a| a["rule_kind"] == "sigma"
            && a["summary"] == format!("Directory listing on {}", a["key"].as_str().unwrap())),
        "{alerts:?}"
    );
    let (_, err) = {
        let out = backtest(&data, &config, "no-such-rule");
        assert!(!out.status.success());
        ((), String::from_utf8_lossy(&out.stderr).to_string())
    };
    assert!(err.contains("no rule with id \"no-such-rule\""), "{err}");
}

#[test]
fn impossible_travel_through_serve_alerts_once_across_a_restart() {
    // GeoIP databases built for the test: 81.2.69.0/24 is London, 1.0.16.0/24 Tokyo.
    let tmp = tempfile::tempdir().unwrap();
    let geo = geoip_fixture::write(tmp.path());
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[transforms.geoip]\ncity_db = {:?}\n",
            geo.city.display().to_string()
        ),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let args = ["--config", config.to_str().unwrap()];
    let mut s = Server::start_in(&data, &args);
    // alice logs in from London, then from Tokyo ten minutes later (9,500 km).
    let now = chrono::Utc::now();
    let line = |at: chrono::DateTime<chrono::Utc>, ip: &str| {
        format!(
            "<38>1 {} bastion sshd 77 - - Accepted password for alice from {ip} port 50022 ssh2\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    };
    let london = line(now - chrono::Duration::minutes(10), "81.2.69.5");
    let tokyo = line(now, "1.0.16.5");
    let (status, v) = s.post("/syslog", "text/plain", london.clone());
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.post("/syslog", "text/plain", tokyo.clone());
    assert_eq!(status, 200, "{v}");
    let v = wait_alerts(&s, "rule=geomodel_location", |v| v["total"] == 1);
    assert_eq!(v["total"], 1, "{v}");
    let a = &v["alerts"][0];
    assert_eq!(a["rule_kind"], "geomodel", "{a}");
    let summary = a["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("alice"), "{summary}");
    // The model's state survives a restart: the same login again is not news.
    s.stop();
    let s = Server::start_in(&data, &args);
    let (status, v) = s.post("/syslog", "text/plain", tokyo);
    assert_eq!(status, 200, "{v}");
    settle(&s, 2);
    let (_, v) = s.get("/api/alerts?rule=geomodel_location");
    assert_eq!(v["total"], 1, "fired once: {v}");
}

#[test]
fn a_sigma_correlation_through_serve_counts_across_a_restart() {
    // Three netcat listeners on one host within five minutes: the base rule alone does not
    // alert (a correlation uses it), the correlation does, with its state kept across a
    // restart in the middle.
    let tmp = tempfile::tempdir().unwrap();
    let config = sigma_config(
        tmp.path(),
        "nc.yml",
        r#"title: Netcat listener
id: 5f1c0ee6-2222-4b9e-8f2a-000000000001
name: nc_listener
level: medium
logsource:
    product: linux
detection:
    keywords:
        - 'nc -lvp'
    condition: keywords
---
title: Repeated netcat listeners
id: 5f1c0ee6-2222-4b9e-8f2a-000000000002
level: high
correlation:
    type: event_count
    rules:
        - nc_listener
    group-by:
        - hostname
    timespan: 5m
    condition:
        gte: 3
"#,
    );
    let data = tmp.path().join("data");
    let args = ["--config", config.to_str().unwrap()];
    let line = |n: u32| {
        format!(
            "<13>1 {} box7 bash 77 - - user ran nc -lvp 44{n:02}\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    };
    let mut s = Server::start_in(&data, &args);
    for n in 0..2 {
        let (status, v) = s.post("/syslog", "text/plain", line(n));
        assert_eq!(status, 200, "{v}");
    }
    s.stop();
    let s = Server::start_in(&data, &args);
    let (status, v) = s.post("/syslog", "text/plain", line(2));
    assert_eq!(status, 200, "{v}");
    let v = wait_alerts(&s, "rule=5f1c0ee6-2222-4b9e-8f2a-000000000002", |v| {
        v["total"] == 1
    });
    assert_eq!(
        v["total"], 1,
        "the third across the restart completes it: {v}"
    );
    let a = &v["alerts"][0];
    assert_eq!(a["rule_kind"], "correlation", "{a}");
    assert_eq!(a["count"], 3, "{a}");
    assert!(
        a["key"].as_str().unwrap_or_default().contains("box7"),
        "{a}"
    );
    let (_, v) = s.get("/api/alerts?rule=5f1c0ee6-2222-4b9e-8f2a-000000000001");
    assert_eq!(v["total"], 0, "the base rule does not alert by itself: {v}");
}

/// A one-shot HTTP receiver on loopback: returns its URL and a channel of request bodies.
fn webhook_receiver() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Read headers, then the body by Content-Length.
            let body = loop {
                let n = c.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break Some(
                            String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string(),
                        );
                    }
                }
            };
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Some(b) = body {
                let _ = tx.send(b);
            }
        }
    });
    (url, rx)
}

#[test]
fn alerts_are_sent_to_a_webhook_and_the_delivery_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, bodies) = webhook_receiver();
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[notify]\n[[notify.notifiers]]\nname = \"soc\"\nroute = {{ categories = [\"bruteforce\"] }}\n[notify.notifiers.webhook]\nurl = {url:?}\nsecret = \"s3cret\"\n"
        ),
    )
    .unwrap();
    let s = Server::start_in(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let sent = Instant::now();
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(10, "192.0.2.99", "mail1"),
    );
    assert_eq!(status, 200, "{v}");
    let body = bodies
        .recv_timeout(Duration::from_secs(10))
        .expect("the webhook got the alert");
    let latency = sent.elapsed();
    let alert: Value = serde_json::from_str(&body).expect("alert JSON");
    assert_eq!(alert["rule"], "bruteforce_ssh");
    assert_eq!(alert["key"], "192.0.2.99");
    eprintln!("event accepted → webhook received: {latency:?}");
    let id = alert["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = s.get(&format!("/api/alerts/{id}"));
        if v["deliveries"][0]["status"] == "delivered" {
            assert_eq!(v["deliveries"][0]["notifier"], "soc");
            break;
        }
        assert!(Instant::now() < deadline, "delivery not recorded: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, metrics) = s.get_text("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ferrodef_notify_sent_total{notifier=\"soc\"} 1")),
        "{metrics}"
    );
}

/// A crash (SIGKILL, before the rules' state was saved) loses no window: the nine failures
/// before it and the one after make the alert, once.
#[test]
fn a_window_survives_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &[]);
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(9, "203.0.113.77", "web1"),
    );
    assert_eq!(status, 200, "{v}");
    // Acknowledged means in the log; the state is saved every 10 s: kill at once.
    s.kill9();
    let s = Server::start_in(tmp.path(), &[]);
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(1, "203.0.113.77", "web2"),
    );
    assert_eq!(status, 200, "{v}");
    let v = wait_alerts(&s, "rule=bruteforce_ssh", |v| v["total"] == 1);
    assert_eq!(v["total"], 1, "the window was rebuilt from the log: {v}");
    assert_eq!(v["alerts"][0]["count"], 10, "{v}");
    // Replaying did not fire anything again.
    let (_, v) = s.get("/api/alerts");
    assert_eq!(v["total"], 1, "{v}");
}

/// A notifier that cannot deliver is not silent: its given-up delivery raises ferrodef's own
/// alert, which is stored and sent to the other notifiers (not back to the failing one).
#[test]
fn a_failing_notifier_raises_an_alert_sent_to_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, bodies) = webhook_receiver();
    // Nothing listens on a port we bound and closed: every attempt is refused.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/hook")
    };
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[notify]\n\
             [[notify.notifiers]]\nname = \"broken\"\nretry = {{ max_attempts = 1 }}\n\
             [notify.notifiers.webhook]\nurl = {dead:?}\n\
             [[notify.notifiers]]\nname = \"ops\"\nroute = {{ categories = [\"maintenance\"] }}\n\
             [notify.notifiers.webhook]\nurl = {url:?}\n"
        ),
    )
    .unwrap();
    let s = Server::start_in(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(10, "192.0.2.98", "mail1"),
    );
    assert_eq!(status, 200, "{v}");
    let body = bodies
        .recv_timeout(Duration::from_secs(20))
        .expect("the other notifier got the failure alert");
    let alert: Value = serde_json::from_str(&body).expect("alert JSON");
    assert_eq!(alert["rule"], "system:notify:broken", "{alert}");
    assert_eq!(alert["details"]["notifier"], "broken");
    let summary = alert["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("'broken'"), "{summary}");
    // Stored and searchable like every alert.
    let v = wait_alerts(&s, "category=maintenance", |v| v["total"] == 1);
    assert_eq!(v["alerts"][0]["rule"], "system:notify:broken", "{v}");
    let id = v["alerts"][0]["id"].as_str().unwrap().to_string();
    // Not routed back to the failing notifier: only "ops" has a delivery record.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = s.get(&format!("/api/alerts/{id}"));
        let d = v["deliveries"].as_array().cloned().unwrap_or_default();
        if d.iter().any(|r| r["status"] == "delivered") {
            assert_eq!(d.len(), 1, "{v}");
            assert_eq!(d[0]["notifier"], "ops");
            break;
        }
        assert!(Instant::now() < deadline, "delivery not recorded: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET /status` for the Health page: the events the rules evaluated, the alerts written by
/// rule kind (the bruteforce alert, and ferrodef's own about the notifier that failed), the
/// notifier's failure, and the bytes on disk of today's partitions.
#[test]
fn status_counts_rules_alerts_notifier_failures_and_storage_per_day() {
    let tmp = tempfile::tempdir().unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/hook")
    };
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[notify]\n[[notify.notifiers]]\nname = \"broken\"\nretry = {{ max_attempts = 1 }}\n\
             route = {{ categories = [\"bruteforce\"] }}\n\
             [notify.notifiers.webhook]\nurl = {dead:?}\n"
        ),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let s = Server::start_in(&data, &["--config", config.to_str().unwrap()]);
    let (_, v) = s.get("/status");
    assert_eq!(v["rules"]["events_evaluated"], 0, "{v}");
    assert_eq!(v["notifications"][0]["notifier"], "broken", "{v}");
    assert_eq!(v["notifications"][0]["failed"], 0, "{v}");
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(10, "192.0.2.97", "mail1"),
    );
    assert_eq!(status, 200, "{v}");
    let day = chrono::Utc::now().format("%Y%m%d").to_string();
    let events_dir = data.join("index").join("events").join(&day);
    let files_bytes = |dir: &std::path::Path| -> u64 {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    // The failure is given up at once (one attempt), then ferrodef's own alert is written by
    // the next tick; the events are committed meanwhile.
    let deadline = Instant::now() + Duration::from_secs(20);
    let v = loop {
        let (status, v) = s.get("/status");
        assert_eq!(status, 200, "{v}");
        let today = v["storage"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|p| p["stream"] == "events" && p["day"] == day.as_str())
            })
            .cloned();
        let settled = v["notifications"][0]["failed"] == 1
            && v["rules"]["alerts"]["system"] == 1
            && today.is_some_and(|p| {
                p["docs"] == 10 && p["bytes"].as_u64() == Some(files_bytes(&events_dir))
            });
        if settled {
            break v;
        }
        assert!(Instant::now() < deadline, "/status did not settle: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(v["rules"]["events_evaluated"], 10, "{v}");
    assert_eq!(v["rules"]["alerts"]["mozdef"], 1, "{v}");
    assert_eq!(v["rules"]["alerts"]["sigma"], 0, "{v}");
    assert_eq!(v["notifications"][0]["sent"], 0, "{v}");
    let storage = v["storage"].as_array().unwrap();
    assert!(
        storage.iter().all(|p| p["day"] == day.as_str()),
        "only today's partitions: {v}"
    );
    let alerts = storage
        .iter()
        .find(|p| p["stream"] == "alerts")
        .expect("the alerts partition");
    assert!(alerts["bytes"].as_u64() > Some(0), "{v}");
    let listed: u64 = storage.iter().filter_map(|p| p["bytes"].as_u64()).sum();
    assert_eq!(v["storage_bytes"].as_u64(), Some(listed), "{v}");
    assert!(listed >= files_bytes(&events_dir), "{v}");
}

#[test]
fn repeated_console_login_failures_raise_ferrodefs_own_alert() {
    let s = Server::start(&[]);
    for i in 0..5 {
        let (status, _) = s.post_json(
            "/api/login",
            &json!({"username": format!("mallory{i}"), "password": "wrong"}),
        );
        assert_eq!(status, 401);
    }
    let v = wait_alerts(&s, "rule=console_login_failures", |v| v["total"] == 1);
    assert_eq!(v["total"], 1, "{v}");
    let a = &v["alerts"][0];
    assert_eq!(a["severity"], "WARNING");
    assert_eq!(a["key"], "127.0.0.1");
    let summary = a["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("5 failed ferrodef logins from 127.0.0.1"),
        "{summary}"
    );
    assert!(summary.contains("mallory0"), "{summary}");
}

/// An alert is announced on the live feed a moment before the store makes it searchable; an
/// analyst who opens or triages it from the feed at once finds it all the same.
#[test]
fn an_alert_from_the_live_feed_can_be_opened_and_triaged_at_once() {
    let s = Server::start(&[]);
    let feed = first_alert_on_the_feed(&s);
    let (status, v) = s.post(
        "/_bulk",
        "application/x-ndjson",
        sshd_failures(10, "203.0.113.77", "web9"),
    );
    assert_eq!(status, 200, "{v}");
    let pushed = feed.join().expect("feed");
    let id = pushed["id"].as_str().expect("id").to_string();
    // At once: no waiting for the store.
    let (st, one) = s.get(&format!("/api/alerts/{id}"));
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["id"], id.as_str());
    let (st, r) = s.post_json_as_admin(
        &format!("/api/alerts/{id}/status"),
        &json!({"status": "acknowledged"}),
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["state"]["status"], "acknowledged");
    // And an id nobody announced is still unknown.
    let (st, _) = s.get("/api/alerts/no-such-alert");
    assert_eq!(st, 404);
}
