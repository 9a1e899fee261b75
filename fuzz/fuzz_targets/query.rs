#![no_main]
//! The query parser never panics; whatever it parses prints back to a query it parses again.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(e) = ferrodef_query::parse(s) {
            let printed = e.to_string();
            assert!(ferrodef_query::parse(&printed).is_ok(), "{s:?} printed as {printed:?}");
        }
        let _ = ferrodef_query::parse_time(s, chrono::Utc::now());
    }
});
