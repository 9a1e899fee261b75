#![no_main]
//! Every parser takes any text without panicking.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for program in ["sshd", "sudo", "su", "nginx", "squid", "cron"] {
            let _ = ferrodef_parsers::parse_by_program(program, s);
        }
        let _ = ferrodef_parsers::parse_access_log(s);
    }
});
