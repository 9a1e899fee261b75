//! Raw messages (syslog, CEF lines) from the syslog listeners, `POST /syslog`, raw `POST /cef`
//! bodies and `ferrodef ingest`: parsed, mapped to MozDef events, transformed and stored.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use ferrodef_event::Event;
use ferrodef_parsers::{auditd_event, parse_auditd_record, AuditRecord};
use ferrodef_sinks::Pending;
use ferrodef_sources::syslog::{BoxFuture, RawBatch, RawSink};
use ferrodef_syslog::ParseOptions;
use ferrodef_transforms::syslog::{syslog_event, RawMeta};
use serde_json::Value;

use crate::ingest::{context, permit, read_body, submit, transformed};
use crate::{ApiError, AppState};

/// Parse options for raw messages received now.
fn options(s: &AppState) -> ParseOptions {
    ParseOptions {
        default_tz: s.config.default_tz.into(),
        now: Utc::now(),
        variant: ferrodef_syslog::Variant::Either,
    }
}

/// Programs whose messages are Linux audit records.
const AUDIT_PROGRAMS: [&str; 5] = [
    "audispd",
    "auditd",
    "audit",
    "audisp-syslog",
    "audisp-remote",
];

/// The records of one multi-record audit event (SYSCALL, EXECVE, CWD, PATH..., PROCTITLE),
/// joined into the event of its first record.
struct AuditGroup {
    key: (Option<String>, chrono::DateTime<Utc>, u64),
    base: Event,
    records: Vec<AuditRecord>,
    raw: Vec<Value>,
}

impl AuditGroup {
    /// The joined event: the first record's syslog event with the fields of all records, and
    /// every raw record kept in `details.auditrecords`.
    fn finish(self) -> Event {
        let mut ev = self.base;
        if let Some(parsed) = auditd_event(&self.records) {
            ferrodef_transforms::pipeline::apply_parsed(&mut ev, parsed);
        }
        ev.details.insert("auditrecords", Value::Array(self.raw));
        ev.plugins.push("auditd".into());
        ev
    }
}

/// An audit record that belongs to a multi-record event, when `ev` carries one.
fn multi_record(ev: &Event) -> Option<AuditRecord> {
    let s = ev.summary.trim_start();
    let audit_text = AUDIT_PROGRAMS.contains(&ev.processname.as_str())
        || s.starts_with("type=")
        || s.starts_with("node=");
    if !audit_text {
        return None;
    }
    parse_auditd_record(s).filter(|r| !r.is_standalone())
}

/// Maps raw messages to documents; counts flagged ones. Returns the documents and how many a
/// transform dropped. Records of one audit event that arrive in the same batch (auditd's
/// dispatcher sends them back to back) are joined into one event.
pub(crate) fn documents<'a>(
    s: &AppState,
    source: &str,
    messages: impl Iterator<Item = (&'a [u8], RawMeta)>,
) -> (Vec<Pending>, usize) {
    let opts = options(s);
    let ctx = context(s, source, opts.now);
    let mut docs = Vec::new();
    let mut dropped = 0;
    let (mut truncated, mut invalid, mut unparsed) = (0u64, 0u64, 0u64);
    let mut audit: Vec<AuditGroup> = Vec::new();
    let out = |ev: Event, docs: &mut Vec<Pending>, dropped: &mut usize| match transformed(
        s, ev, source,
    ) {
        Some(p) => docs.push(p),
        None => *dropped += 1,
    };
    for (raw, meta) in messages {
        let ev = syslog_event(raw, meta, &ctx, &opts);
        for t in &ev.tags {
            match t.as_str() {
                "truncated" => truncated += 1,
                "invalid_utf8" => invalid += 1,
                "unparsed" => unparsed += 1,
                _ => {}
            }
        }
        if let Some(rec) = multi_record(&ev) {
            let key = (rec.node.clone(), rec.timestamp, rec.serial);
            let pos = audit.iter().position(|g| g.key == key);
            // EOE ends an event; one cut by the end of a batch is stored with what came.
            let end = rec.record_type == "EOE";
            match pos {
                Some(i) => {
                    if let Some(g) = audit.get_mut(i) {
                        g.raw.push(Value::String(ev.summary.clone()));
                        if rec.record_type != "EOE" {
                            g.records.push(rec);
                        }
                    }
                    if end {
                        let g = audit.remove(i);
                        out(g.finish(), &mut docs, &mut dropped);
                    }
                }
                // A lone EOE carries nothing to join: it is kept as it came.
                None if rec.record_type == "EOE" => out(ev, &mut docs, &mut dropped),
                None => {
                    let raw = vec![Value::String(ev.summary.clone())];
                    let g = AuditGroup {
                        key,
                        base: ev,
                        records: vec![rec],
                        raw,
                    };
                    if end {
                        out(g.finish(), &mut docs, &mut dropped);
                    } else {
                        audit.push(g);
                    }
                }
            }
            continue;
        }
        out(ev, &mut docs, &mut dropped);
    }
    // Events whose last records did not come in this batch: stored with what arrived.
    for g in audit {
        out(g.finish(), &mut docs, &mut dropped);
    }
    for (reason, n) in [
        ("truncated", truncated),
        ("invalid_utf8", invalid),
        ("unparsed", unparsed),
    ] {
        if n > 0 {
            s.metrics.flagged(source, reason, n);
        }
    }
    (docs, dropped)
}

/// The listeners' sink.
pub struct SyslogSink {
    state: Arc<AppState>,
}

impl SyslogSink {
    /// A sink storing into `state`'s pipeline.
    pub fn new(state: Arc<AppState>) -> Arc<Self> {
        Arc::new(SyslogSink { state })
    }
}

impl RawSink for SyslogSink {
    fn submit(&self, source: &'static str, batch: RawBatch) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let s = &self.state;
            let n = batch.len();
            let (docs, _dropped) = documents(
                s,
                source,
                batch.iter().map(|(m, f)| {
                    (
                        m,
                        RawMeta {
                            peer: Some(f.peer),
                            truncated: f.truncated,
                        },
                    )
                }),
            );
            s.metrics.received(source, n as u64);
            let accepted = docs.len();
            if let Err(e) = s.ingest.submit(source, docs).await {
                tracing::error!(error = %e, "{source}: {accepted} events could not be persisted");
                s.metrics.rejected(source, "persist", accepted as u64);
            }
        })
    }

    fn connection_problem(&self, source: &'static str, reason: &'static str) {
        self.state.metrics.connection_problem(source, reason);
    }
}

/// Splits a body into lines, cutting (and flagging) lines over `max` bytes.
fn body_lines(bytes: &[u8], max: usize) -> Vec<(&[u8], RawMeta)> {
    bytes
        .split(|c| *c == b'\n')
        .filter(|l| l.iter().any(|c| !c.is_ascii_whitespace()))
        .map(|l| {
            let truncated = l.len() > max;
            let l = if truncated {
                l.get(..max).unwrap_or(l)
            } else {
                l
            };
            (
                l,
                RawMeta {
                    peer: None,
                    truncated,
                },
            )
        })
        .collect()
}

/// A body of raw lines (syslog or CEF, one per line).
pub(crate) async fn lines(
    s: Arc<AppState>,
    bytes: Bytes,
    source: &str,
) -> Result<Response, ApiError> {
    let _permit = permit(&s).await?;
    let lines = body_lines(&bytes, s.config.max_message_bytes);
    let (docs, dropped) = documents(&s, source, lines.into_iter());
    submit(&s, source, docs, Vec::new(), dropped, false).await
}

/// `POST /syslog`: raw syslog lines (RFC 5424, RFC 3164, CEF, or any text), one per line.
pub async fn syslog(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = "http_syslog";
    let bytes = read_body(&s, &headers, body, source).await?;
    lines(s, bytes, source).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lines_cut_and_skip_blank() {
        let l = body_lines(b"abcdef\n\n  \r\nxy\r\n", 4);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].0, b"abcd");
        assert!(l[0].1.truncated);
        assert_eq!(l[1].0, b"xy\r");
        assert!(!l[1].1.truncated);
    }
}
