//! Accepted documents as log records (format in `ferrodef_wal::record`).

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_store::{DocBody, StoredDoc};
use ferrodef_wal::record::Record;
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
    /// The rules saw it (recorded in the log, see `ferrodef_wal::record::Record::detected`).
    pub detected: bool,
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
            detected: false,
        }
    }

    /// A pending document not serialized yet: the detect stage may still change it; the
    /// service calls [`Pending::seal`] before it goes to the log.
    pub fn unsealed(
        stream: impl Into<String>,
        utctimestamp: DateTime<Utc>,
        receivedtimestamp: DateTime<Utc>,
        doc: impl Into<DocBody>,
    ) -> Pending {
        Pending {
            stream: stream.into(),
            utctimestamp,
            receivedtimestamp,
            doc: doc.into(),
            source: Vec::new(),
            detected: false,
        }
    }

    /// Whether the document is still to be serialized.
    pub fn is_sealed(&self) -> bool {
        !self.source.is_empty()
    }

    /// Serializes the document (once).
    pub fn seal(&mut self) {
        if self.source.is_empty() {
            self.source = self.doc.to_json();
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

/// Appends the record of `p` to `out`.
pub fn encode(p: &Pending, out: &mut Vec<u8>) {
    ferrodef_wal::record::encode(
        &Record {
            stream: &p.stream,
            utc_micros: p.utctimestamp.timestamp_micros(),
            received_micros: p.receivedtimestamp.timestamp_micros(),
            source: &p.source,
            detected: p.detected,
        },
        out,
    );
}

/// Reads a record back (the payload of log entry `seq`); the error names what is wrong.
pub fn decode(seq: u64, b: &[u8]) -> Result<StoredDoc, String> {
    let r = ferrodef_wal::record::decode(b)?;
    let time = |micros: i64, what: &str| {
        Utc.timestamp_micros(micros)
            .single()
            .ok_or_else(|| format!("{what} out of range"))
    };
    let doc: Map<String, Value> =
        serde_json::from_slice(r.source).map_err(|e| format!("document: {e}"))?;
    Ok(StoredDoc {
        seq,
        stream: r.stream.to_string(),
        utctimestamp: time(r.utc_micros, "utctimestamp")?,
        receivedtimestamp: time(r.received_micros, "receivedtimestamp")?,
        doc: DocBody::Map(doc),
        source: r.source.to_vec(),
    })
}

/// An event as the rules saw it: when it was received, and the document.
pub type Detected = (DateTime<Utc>, Map<String, Value>);

/// A record the rules saw, for replaying into their state, or `None` for a record they did
/// not see.
pub fn decode_detected(b: &[u8]) -> Result<Option<Detected>, String> {
    let r = ferrodef_wal::record::decode(b)?;
    if !r.detected {
        return Ok(None);
    }
    let received = Utc
        .timestamp_micros(r.received_micros)
        .single()
        .ok_or("receivedtimestamp out of range")?;
    let doc = serde_json::from_slice(r.source).map_err(|e| format!("document: {e}"))?;
    Ok(Some((received, doc)))
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
