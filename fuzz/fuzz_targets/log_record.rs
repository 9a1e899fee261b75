//! The write-ahead log: the segment scanner (with its resynchronization past corrupt bytes) and
//! the record decoder must never panic on any bytes, and what they accept must be consistent.
#![no_main]

use ferrodef_wal::record::decode;
use ferrodef_wal::{encode_record, scan_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The bytes as a record payload.
    if let Ok(r) = decode(data) {
        let mut again = Vec::new();
        ferrodef_wal::record::encode(&r, &mut again);
        if data[0] == 1 {
            // Version 1 (no flags byte) is read, and written again as the current version.
            assert!(r.source.len() + r.stream.len() + 18 == data.len());
            assert_eq!(decode(&again), Ok(r), "re-encoded as the current version");
        } else {
            assert!(r.source.len() + r.stream.len() + 19 == data.len());
            assert_eq!(again, data, "a decoded record encodes to the same bytes");
        }
    }
    // The bytes as a segment, alone and behind two valid records.
    let mut seen = Vec::new();
    let res = scan_bytes(data, 1, |seq, payload| {
        seen.push((seq, payload.len()));
        Ok(())
    });
    if let Ok((end, last, _)) = res {
        assert!(end as usize <= data.len());
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "sequence numbers must increase");
        assert_eq!(last, seen.last().map(|s| s.0));
    }
    let mut seg = Vec::new();
    encode_record(1, b"{\"a\":1}", &mut seg);
    encode_record(2, b"{\"b\":2}", &mut seg);
    seg.extend_from_slice(data);
    let mut first_two = Vec::new();
    let _ = scan_bytes(&seg, 1, |seq, _| {
        first_two.push(seq);
        Ok(())
    });
    assert_eq!(&first_two[..2], &[1, 2], "valid records before garbage are always kept");
});
