//! The log record of one accepted document: `version: u8 | stream length: u8 | stream |
//! utctimestamp µs: i64 LE | receivedtimestamp µs: i64 LE | document JSON`.

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_store::{DocBody, StoredDoc};
use serde_json::{Map, Value};

/// An accepted document waiting for its sequence number.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The stream it goes to.
    pub stream: String,
    /// Its time (partition and sort key).
    pub utctimestamp: DateTime<Utc>,
    /// When ferrodef received it.
    pub receivedtimestamp: DateTime<Utc>,
    /// The document.
    pub doc: DocBody,
    /// The document serialized as JSON.
    pub source: Vec<u8>,
}

impl Pending {
    /// Builds a pending document, serializing `doc`.
    pub fn new(
        stream: impl Into<String>,
        utctimestamp: DateTime<Utc>,
        receivedtimestamp: DateTime<Utc>,
        doc: impl Into<DocBody>,
    ) -> Pending {
        let doc = doc.into();
        let source = doc.to_json();
        Pending {
            stream: stream.into(),
            utctimestamp,
            receivedtimestamp,
            doc,
            source,
        }
    }

    /// The document with its sequence number in the log.
    pub fn stored(self, seq: u64) -> StoredDoc {
        StoredDoc {
            seq,
            stream: self.stream,
            utctimestamp: self.utctimestamp,
            receivedtimestamp: self.receivedtimestamp,
            doc: self.doc,
            source: self.source,
        }
    }
}

const RECORD_VERSION: u8 = 1;

/// Appends the record of `p` to `out`.
pub fn encode(p: &Pending, out: &mut Vec<u8>) {
    let stream = p.stream.as_bytes();
    // Stream names are validated to at most 100 bytes before they get here.
    let stream = &stream[..stream.len().min(255)];
    out.push(RECORD_VERSION);
    out.push(stream.len() as u8);
    out.extend_from_slice(stream);
    out.extend_from_slice(&p.utctimestamp.timestamp_micros().to_le_bytes());
    out.extend_from_slice(&p.receivedtimestamp.timestamp_micros().to_le_bytes());
    out.extend_from_slice(&p.source);
}

/// Reads a record back (the payload of log entry `seq`); the error names what is wrong.
pub fn decode(seq: u64, b: &[u8]) -> Result<StoredDoc, String> {
    let version = *b.first().ok_or("empty record")?;
    if version != RECORD_VERSION {
        return Err(format!("unknown record version {version}"));
    }
    let slen = *b.get(1).ok_or("truncated record: no stream length")? as usize;
    let stream = b.get(2..2 + slen).ok_or("truncated record: stream name")?;
    let stream = std::str::from_utf8(stream).map_err(|e| format!("stream name: {e}"))?;
    let rest = b.get(2 + slen..).ok_or("truncated record")?;
    let ts = |i: usize, what: &str| -> Result<DateTime<Utc>, String> {
        let bytes: [u8; 8] = rest
            .get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| format!("truncated record: {what}"))?;
        Utc.timestamp_micros(i64::from_le_bytes(bytes))
            .single()
            .ok_or_else(|| format!("{what} out of range"))
    };
    let utc = ts(0, "utctimestamp")?;
    let received = ts(8, "receivedtimestamp")?;
    let source = rest.get(16..).ok_or("truncated record: document")?;
    let doc: Map<String, Value> =
        serde_json::from_slice(source).map_err(|e| format!("document: {e}"))?;
    Ok(StoredDoc {
        seq,
        stream: stream.to_string(),
        utctimestamp: utc,
        receivedtimestamp: received,
        doc: DocBody::Map(doc),
        source: source.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_roundtrip() {
        let mut doc = Map::new();
        doc.insert("summary".into(), Value::String("hello".into()));
        let t = Utc.timestamp_micros(1_700_000_000_123_456).unwrap();
        let p = Pending::new("custom-app", t, t, doc.clone());
        let mut buf = Vec::new();
        encode(&p, &mut buf);
        let d = decode(7, &buf).unwrap();
        assert_eq!(d.seq, 7);
        assert_eq!(d.stream, "custom-app");
        assert_eq!(d.utctimestamp, t);
        assert_eq!(d.doc, DocBody::Map(doc));
        for cut in 0..buf.len() - 1 {
            assert!(decode(1, &buf[..cut]).is_err(), "cut at {cut}");
        }
    }
}
