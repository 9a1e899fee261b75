//! The audit-record joiner: any sequence of audit lines is joined without panicking, without
//! losing a record, and within its bounds.
#![no_main]

use ferrodef_parsers::AuditJoiner;
use ferrodef_parsers::parse_auditd_record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut j: AuditJoiner<usize> = AuditJoiner::new().with_max_open(8).with_max_records(4);
    let mut pushed = 0usize;
    let mut out = 0usize;
    for (i, line) in text.lines().enumerate() {
        let Some(rec) = parse_auditd_record(line) else { continue };
        pushed += 1;
        for e in j.push(rec, i) {
            assert!(e.records.len() <= 4);
            out += e.items.len();
        }
        assert!(j.open() <= 8);
    }
    for e in j.finish() {
        out += e.items.len();
    }
    assert_eq!(pushed, out, "every record comes out once");
});
