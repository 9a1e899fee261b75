//! The repository's own syslog sample (`fixtures/syslog.log`) through the syslog mapping and
//! the `parsers` and `ipfixup` transforms: what each line becomes.

use std::sync::Arc;

use chrono::TimeZone;
use ferrodef_syslog::ParseOptions;
use ferrodef_transforms::normalize::NormalizeContext;
use ferrodef_transforms::pipeline::{IpFixup, Parsers, Pipeline};
use ferrodef_transforms::syslog::{syslog_event, RawMeta};
use serde_json::{json, Value};

/// The value at a dotted path (`details.sd.x`), keys with dots written as one step.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    match path.split_once('.') {
        Some(("details", rest)) => v.get("details")?.get(rest),
        _ => v.get(path),
    }
}

#[test]
fn each_line_becomes_the_expected_event() {
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .unwrap();
    let ctx = NormalizeContext {
        now,
        mozdefhostname: "fixture".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    let opts = ParseOptions {
        now,
        ..Default::default()
    };
    let pipeline = Pipeline::new(vec![Arc::new(Parsers), Arc::new(IpFixup)]);
    let expected = [
        json!({"category": "authentication", "hostname": "bastion", "processname": "sshd",
               "processid": "101", "utctimestamp": "2026-11-22T10:00:01+00:00",
               "details.username": "admin", "details.invaliduser": true, "details.success": false,
               "details.sourceipaddress": "198.51.100.23", "details.sourceport": "52311",
               "details.facility": "auth", "plugins": ["parsers", "ipfixup"]}),
        json!({"details.username": "alice", "details.authmethod": "publickey",
               "details.success": true, "details.rsakeyfingerprint": "SHA256:q1w2e3r4"}),
        json!({"category": "authorization", "severity": "NOTICE", "details.username": "alice",
               "details.targetuser": "root", "details.tty": "pts/0",
               "details.command": "/usr/bin/systemctl restart nginx", "details.success": true}),
        json!({"category": "authorization", "details.status": "opened",
               "details.touser": "root", "details.fromuser": "alice", "details.success": true}),
        json!({"category": "syslog", "hostname": "mymachine.example.com",
               "processname": "evntslog", "severity": "NOTICE",
               "utctimestamp": "2003-10-11T22:14:15.003+00:00",
               "summary": "An application event log entry...", "details.msgid": "ID47",
               "details.sd": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}},
               "details.syslogprotocol": "rfc5424"}),
        json!({"processname": "su", "severity": "CRITICAL", "details.facility": "auth",
               "summary": "'su root' failed for lonvick on /dev/pts/8"}),
        json!({"category": "cef", "severity": "CRITICAL", "processname": "threatmanager",
               "summary": "worm successfully stopped", "tags": ["syslog", "cef"],
               "details.sourceipaddress": "10.0.0.1", "details.destinationipaddress": "2.1.2.2",
               "details.sourceport": "1232", "details.destinationipv4address": "2.1.2.2"}),
        json!({"category": "web", "details.method": "GET", "details.url": "/index.html?q=1",
               "details.status": 200, "details.bytes": 5120, "details.user": "bob",
               "details.useragent": "Mozilla/5.0 (X11; Linux x86_64)"}),
        json!({"category": "authentication", "tags": ["syslog", "auditd"],
               "details.audittype": "USER_LOGIN", "details.username": "alice",
               "details.success": true, "details.sourceipaddress": "203.0.113.9",
               "details.terminal": "ssh", "details.serial": 24290}),
        json!({"category": "syslog", "tags": ["syslog", "unparsed"],
               "summary": "just some text without any syslog header",
               "utctimestamp": "2026-11-22T12:00:00+00:00"}),
    ];
    let lines: Vec<&str> = include_str!("fixtures/syslog.log").lines().collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "one expectation per fixture line"
    );
    let mut failures = Vec::new();
    for (line, want) in lines.iter().zip(&expected) {
        let mut ev = syslog_event(line.as_bytes(), RawMeta::default(), &ctx, &opts);
        pipeline.run(&mut ev);
        let got = serde_json::to_value(&ev).unwrap();
        for (path, value) in want.as_object().unwrap() {
            if at(&got, path) != Some(value) {
                failures.push(format!(
                    "{line}\n  {path}: want {value}, got {:?}",
                    at(&got, path)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
