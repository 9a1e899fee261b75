#![no_main]
//! Every parser takes any text without panicking; the auditd assembler too, line by line.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for program in ["sshd", "sudo", "su", "nginx", "squid", "cron", "audispd", "kernel"] {
            let _ = ferrodef_parsers::parse_by_program(program, s);
        }
        let _ = ferrodef_parsers::parse_access_log(s);
        let mut asm = ferrodef_parsers::AuditAssembler::new().with_max_pending(4);
        for line in s.lines() {
            let _ = asm.push(line);
        }
        let _ = asm.flush();
    }
});
