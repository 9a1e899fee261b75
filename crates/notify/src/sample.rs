//! A sample alert: for checking templates at configuration time and for "send a test
//! notification" commands.

use chrono::{TimeZone, Utc};
use ferrodef_event::{Alert, RuleKind, Severity};
use serde_json::{json, Map};

/// A realistic alert (MozDef's SSH bruteforce) with every optional field set.
pub fn sample_alert() -> Alert {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let mut details = Map::new();
    details.insert("sourceipaddress".into(), json!("203.0.113.7"));
    Alert {
        id: Alert::new_id(at, 0x5eed),
        utctimestamp: at,
        severity: Severity::Warning,
        summary: "10 ssh bruteforce attempts by 203.0.113.7 on host1 (sample)".into(),
        category: "bruteforce".into(),
        tags: vec!["ssh".into(), "bruteforce".into()],
        rule: "bruteforce_ssh".into(),
        rule_kind: RuleKind::Mozdef,
        classname: "AlertBruteforceSsh".into(),
        channel: Some("#security".into()),
        notify_mozdefbot: true,
        url: Some("https://wiki.example.com/runbooks/bruteforce".into()),
        key: Some("203.0.113.7".into()),
        count: 10,
        events: vec![json!({
            "summary": "Failed password for root from 203.0.113.7 port 22 ssh2",
            "hostname": "host1",
            "details": {"sourceipaddress": "203.0.113.7", "username": "root"}
        })],
        details,
    }
}
