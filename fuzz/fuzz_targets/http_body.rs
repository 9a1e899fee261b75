#![no_main]
//! Bulk bodies never panic the parser; line-oriented bodies never yield more results than lines;
//! documents parsed for normalization (`Incoming`, the `/_bulk` path) are the documents a
//! `serde_json::Value` parse finds, on the same lines, and normalize without panicking.
use ferrodef_event::Incoming;
use ferrodef_sources::http_body::{parse_bulk, parse_bulk_as, parse_single};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let by_value = parse_bulk(data, 64);
    if let Ok(p) = &by_value {
        let is_array = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        let lines = data.split(|&b| b == b'\n').count();
        assert!(is_array || p.items.len() + p.errors.len() <= lines);
    }
    let by_incoming = parse_bulk_as::<Incoming>(data, 64);
    match (&by_value, &by_incoming) {
        (Ok(v), Ok(i)) => {
            assert_eq!(v.errors, i.errors);
            let a: Vec<usize> = v.items.iter().map(|i| i.line).collect();
            let b: Vec<usize> = i.items.iter().map(|i| i.line).collect();
            assert_eq!(a, b);
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("Value and Incoming parses disagree: {a:?} / {b:?}"),
    }
    if let Ok(p) = by_incoming {
        let ctx = ferrodef_transforms::normalize::NormalizeContext {
            now: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
            mozdefhostname: "fuzz".into(),
            default_tz: chrono_tz::UTC,
            source: None,
        };
        for item in p.items {
            let _ = ferrodef_transforms::normalize::normalize_incoming(item.doc, &ctx);
        }
    }
    let _ = parse_single(data, 64);
});
