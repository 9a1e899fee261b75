#![no_main]
//! Sigma rule YAML: loading and compiling never panics, and whatever loads matches a fixed set
//! of events (raw Windows JSON, flat, ferrodef) without panicking; correlations observe them.
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fn events() -> &'static [Value] {
    static EVENTS: OnceLock<Vec<Value>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        vec![
            json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
                   "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "ProcessId": 42}}}),
            json!({"EventID": 4625, "Channel": "Security", "TargetUserName": "bob", "IpAddress": "10.0.0.1"}),
            json!({"utctimestamp": "2026-01-01T00:00:00+00:00", "category": "execution", "tags": ["auditd"],
                   "summary": "sshd: Failed password", "processname": "sshd",
                   "details": {"exe": "/usr/bin/id", "args": ["id", "-u"], "recordtypes": ["SYSCALL", "EXECVE"]}}),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (rules, _problems) = ferrodef_sigma::SigmaRules::from_str(text, "fuzz.yml");
    let rules = Arc::new(rules);
    let mut correlator = ferrodef_sigma::Correlator::new(Arc::clone(&rules));
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    for e in events() {
        for r in rules.matches(e) {
            let _ = correlator.observe(r, e, at);
        }
    }
    let _ = correlator.expire(at + chrono::Duration::days(400));
});
