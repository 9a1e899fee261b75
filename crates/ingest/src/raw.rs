//! Raw messages (syslog or CEF lines, from the syslog listeners, `POST /syslog`, raw
//! `POST /cef` bodies and file imports) to events: each message is parsed and mapped to a MozDef
//! event (`transforms::syslog`), the records of one audit event are joined
//! (`ferrodef_parsers::AuditJoiner`, bounded in open events, records and time), and the
//! transform stage runs on the result.

use chrono::{DateTime, Utc};
use ferrodef_event::Event;
use ferrodef_parsers::{auditd_event, parse_auditd_record, AuditJoiner, AuditRecord, Joined};
use ferrodef_syslog::ParseOptions;
use ferrodef_transforms::syslog::{syslog_event, RawMeta};
use serde_json::Value;

use crate::record::Pending;
use crate::transform::{Transformed, Transformer};

/// Programs whose messages are Linux audit records.
const AUDIT_PROGRAMS: [&str; 5] = [
    "audispd",
    "auditd",
    "audit",
    "audisp-syslog",
    "audisp-remote",
];

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

/// The joined event: the first record's syslog event with the fields of all records, and
/// every raw record kept in `details.auditrecords`.
fn joined_event(j: Joined<Event>) -> Option<Event> {
    let mut items = j.items.into_iter();
    let mut ev = items.next()?;
    if j.records.is_empty() {
        // A lone EOE: kept as it came.
        return Some(ev);
    }
    let mut raw = vec![Value::String(ev.summary.clone())];
    raw.extend(items.map(|e| Value::String(e.summary)));
    if let Some(parsed) = auditd_event(&j.records) {
        ferrodef_transforms::pipeline::apply_parsed(&mut ev, parsed);
    }
    ev.details.insert("auditrecords", Value::Array(raw));
    ev.plugins.push("auditd".into());
    Some(ev)
}

/// Counts of what happened to a set of raw messages.
#[derive(Debug, Default)]
pub(crate) struct RawOutcome {
    pub(crate) docs: Vec<Pending>,
    pub(crate) dropped: usize,
    pub(crate) rejected: Vec<(usize, String)>,
}

/// Maps raw messages (with their 1-based position) to documents; counts flagged ones under
/// `source`.
pub(crate) fn documents<'a>(
    t: &Transformer,
    source: &str,
    now: DateTime<Utc>,
    messages: impl Iterator<Item = (usize, &'a [u8], RawMeta)>,
) -> RawOutcome {
    let opts = ParseOptions {
        default_tz: t.default_tz.into(),
        now,
        variant: ferrodef_syslog::Variant::Either,
    };
    let ctx = t.context(source, now);
    let mut out = RawOutcome::default();
    let (mut truncated, mut invalid, mut unparsed) = (0u64, 0u64, 0u64);
    // Events end with their EOE (kept among the raw records), or with the input.
    let mut joiner: AuditJoiner<Event> = AuditJoiner::new().with_proctitle_ending(false);
    let mut lines_of: std::collections::HashMap<u64, usize> = Default::default();
    let emit = |ev: Event, line: usize, out: &mut RawOutcome| match t.event(ev, source, now) {
        Ok(Transformed::Doc(p)) => out.docs.push(p),
        Ok(Transformed::Dropped) => out.dropped += 1,
        Err(e) => out.rejected.push((line, e)),
    };
    for (line, raw, meta) in messages {
        let ev = syslog_event(raw, meta, &ctx, &opts);
        for tag in &ev.tags {
            match tag.as_str() {
                "truncated" => truncated += 1,
                "invalid_utf8" => invalid += 1,
                "unparsed" => unparsed += 1,
                _ => {}
            }
        }
        match multi_record(&ev) {
            Some(rec) => {
                lines_of.entry(rec.serial).or_insert(line);
                for j in joiner.push(rec, ev) {
                    let serial = j.records.first().map(|r| r.serial);
                    let line = serial.and_then(|s| lines_of.remove(&s)).unwrap_or(line);
                    if let Some(ev) = joined_event(j) {
                        emit(ev, line, &mut out);
                    }
                }
            }
            None => emit(ev, line, &mut out),
        }
    }
    for j in joiner.finish() {
        let serial = j.records.first().map(|r| r.serial);
        let line = serial.and_then(|s| lines_of.remove(&s)).unwrap_or(0);
        if let Some(ev) = joined_event(j) {
            emit(ev, line, &mut out);
        }
    }
    for (reason, n) in [
        ("truncated", truncated),
        ("invalid_utf8", invalid),
        ("unparsed", unparsed),
    ] {
        if n > 0 {
            t.metrics.flagged(source, reason, n);
        }
    }
    out
}

/// Splits a body into its non-blank lines with their 1-based numbers, cutting (and flagging)
/// lines over `max` bytes.
pub(crate) fn body_lines(
    bytes: &[u8],
    max: usize,
) -> impl Iterator<Item = (usize, &[u8], RawMeta)> {
    bytes
        .split(|c| *c == b'\n')
        .enumerate()
        .filter(|(_, l)| l.iter().any(|c| !c.is_ascii_whitespace()))
        .map(move |(i, l)| {
            let truncated = l.len() > max;
            let l = if truncated {
                l.get(..max).unwrap_or(l)
            } else {
                l
            };
            (
                i + 1,
                l,
                RawMeta {
                    peer: None,
                    truncated,
                },
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lines_cut_and_skip_blank() {
        let l: Vec<_> = body_lines(b"abcdef\n\n  \r\nxy\r\n", 4).collect();
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].0, l[0].1), (1, &b"abcd"[..]));
        assert!(l[0].2.truncated);
        assert_eq!((l[1].0, l[1].1), (4, &b"xy\r"[..]));
        assert!(!l[1].2.truncated);
    }
}
