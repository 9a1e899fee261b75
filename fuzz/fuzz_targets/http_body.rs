#![no_main]
//! Bulk bodies never panic the parser; line-oriented bodies never yield more results than lines.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ferrodef_sources::http_body::parse_bulk(data) {
        let is_array = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        let lines = data.split(|&b| b == b'\n').count();
        assert!(is_array || p.items.len() + p.errors.len() <= lines);
    }
    let _ = ferrodef_sources::http_body::parse_single(data);
});
