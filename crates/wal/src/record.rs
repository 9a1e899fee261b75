//! The record of one accepted document: `version: u8 | flags: u8 | stream length: u8 |
//! stream | utctimestamp µs: i64 LE | receivedtimestamp µs: i64 LE | document JSON`.
//! Version 1 records (written before flags existed) have no flags byte and are still read.

/// The parts of a record, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The stream.
    pub stream: &'a str,
    /// `utctimestamp`, microseconds since the epoch.
    pub utc_micros: i64,
    /// `receivedtimestamp`, microseconds since the epoch.
    pub received_micros: i64,
    /// The document, JSON.
    pub source: &'a [u8],
    /// The rules saw the document before it was written (the ingest service replays such
    /// records into the rules' state after a crash).
    pub detected: bool,
}

const RECORD_VERSION: u8 = 2;
/// Flag bit: [`Record::detected`].
const DETECTED: u8 = 1;

/// Appends the record of these parts to `out`. Stream names longer than 255 bytes are cut
/// (ferrodef's are at most 100).
pub fn encode(r: &Record<'_>, out: &mut Vec<u8>) {
    let stream = r.stream.as_bytes();
    let stream = &stream[..stream.len().min(255)];
    out.push(RECORD_VERSION);
    out.push(if r.detected { DETECTED } else { 0 });
    out.push(stream.len() as u8);
    out.extend_from_slice(stream);
    out.extend_from_slice(&r.utc_micros.to_le_bytes());
    out.extend_from_slice(&r.received_micros.to_le_bytes());
    out.extend_from_slice(r.source);
}

/// Reads a record's parts; the error names what is wrong.
pub fn decode(b: &[u8]) -> Result<Record<'_>, String> {
    let version = *b.first().ok_or("empty record")?;
    let (flags, b) = match version {
        1 => (0, &b[1..]),
        RECORD_VERSION => match *b.get(1).ok_or("truncated record: no flags")? {
            f if f & !DETECTED == 0 => (f, &b[2..]),
            f => return Err(format!("unknown record flags {f:#04x}")),
        },
        _ => return Err(format!("unknown record version {version}")),
    };
    let slen = *b.first().ok_or("truncated record: no stream length")? as usize;
    let stream = b.get(1..1 + slen).ok_or("truncated record: stream name")?;
    let stream = std::str::from_utf8(stream).map_err(|e| format!("stream name: {e}"))?;
    let rest = b.get(1 + slen..).ok_or("truncated record")?;
    let micros = |i: usize, what: &str| -> Result<i64, String> {
        rest.get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .map(i64::from_le_bytes)
            .ok_or_else(|| format!("truncated record: {what}"))
    };
    Ok(Record {
        stream,
        utc_micros: micros(0, "utctimestamp")?,
        received_micros: micros(8, "receivedtimestamp")?,
        source: rest.get(16..).ok_or("truncated record: document")?,
        detected: flags & DETECTED != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_every_truncation_is_an_error() {
        let r = Record {
            stream: "custom-app",
            utc_micros: 1_700_000_000_123_456,
            received_micros: -5,
            source: b"{\"summary\":\"hello\"}",
            detected: true,
        };
        let mut buf = Vec::new();
        encode(&r, &mut buf);
        assert_eq!(decode(&buf).unwrap(), r);
        for cut in 0..3 + r.stream.len() + 16 {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        buf[0] = 9;
        assert!(decode(&buf).unwrap_err().contains("version 9"));
    }

    #[test]
    fn version_1_records_are_read_as_not_detected() {
        let mut v1 = vec![1u8, 3];
        v1.extend_from_slice(b"abc");
        v1.extend_from_slice(&7i64.to_le_bytes());
        v1.extend_from_slice(&8i64.to_le_bytes());
        v1.extend_from_slice(b"{}");
        let r = decode(&v1).unwrap();
        assert_eq!(
            r,
            Record {
                stream: "abc",
                utc_micros: 7,
                received_micros: 8,
                source: b"{}",
                detected: false,
            }
        );
    }
}
