#![no_main]
//! A rule file (YAML) never panics the validator, the compiler or the engine: whatever
//! compiles runs on one event (a batch, then a tick) without panicking.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = ferrodef_detect::RuleSet::from_texts(vec![("fuzz.yaml".into(), text.into())])
    else {
        return;
    };
    let event = serde_json::json!({
        "summary": "Failed password for invalid user root from 10.1.2.3 port 22 ssh2",
        "category": "syslog", "hostname": "h1.enterprise.mozilla.com",
        "utctimestamp": "2017-01-01T01:00:00+00:00",
        "receivedtimestamp": "2017-01-01T01:00:00+00:00",
        "details": {"program": "sshd", "sourceipaddress": "10.1.2.3", "username": "root"}
    });
    let Some(map) = event.as_object().cloned() else {
        return;
    };
    let _ = ferrodef_detect::run_events(&rules, vec![map]);
});
