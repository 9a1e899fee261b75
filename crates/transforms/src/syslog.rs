//! Syslog messages to MozDef events.
//!
//! | MozDef field | from |
//! |---|---|
//! | `utctimestamp`, `timestamp` | the message's timestamp (RFC 3164 dates in `default_tz`), else the receive time |
//! | `hostname` | HOSTNAME, else the sender's address |
//! | `processname`, `processid` | APP-NAME / TAG, PROCID / `[pid]` |
//! | `severity` | PRI severity: emerg→EMERGENCY, alert→ALERT, crit→CRITICAL, err→ERROR, warning→WARNING, notice→NOTICE, info→INFO, debug→DEBUG (INFO without PRI) |
//! | `summary` | MSG |
//! | `category` | `syslog` (parsers may change it) |
//! | `source` | `syslog` |
//! | `details.facility`, `details.syslogseverity` | PRI facility and severity names |
//! | `details.msgid` | RFC 5424 MSGID |
//! | `details.sd.<SD-ID>.<PARAM>` | RFC 5424 structured data (`.` in ids and names becomes `_`) |
//! | `details.syslogprotocol` | `rfc5424`, `rfc3164` or `unknown` |
//! | `details.peer` | the sending host's address |
//! | `tags` | `syslog`; `unparsed` for text that is neither format (kept whole as the summary), `truncated` for oversized messages, `invalid_utf8` when bytes were replaced |
//!
//! A CEF payload inside the message is parsed as CEF (see [`crate::cef`]).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ferrodef_event::{Details, Event, Severity};
use ferrodef_syslog::{parse, Message, ParseOptions, Protocol, SyslogSeverity};
use serde_json::{Map, Value};

use crate::normalize::NormalizeContext;

/// Where a raw message came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawMeta {
    /// The sender's address, when it came over the network.
    pub peer: Option<IpAddr>,
    /// The message was cut at the size limit.
    pub truncated: bool,
}

/// MozDef severity of a syslog severity.
pub fn severity_of(s: SyslogSeverity) -> Severity {
    match s {
        SyslogSeverity::Emerg => Severity::Emergency,
        SyslogSeverity::Alert => Severity::Alert,
        SyslogSeverity::Crit => Severity::Critical,
        SyslogSeverity::Err => Severity::Error,
        SyslogSeverity::Warning => Severity::Warning,
        SyslogSeverity::Notice => Severity::Notice,
        SyslogSeverity::Info => Severity::Info,
        SyslogSeverity::Debug => Severity::Debug,
    }
}

/// A field name safe for dotted paths.
fn key(s: &str) -> String {
    s.replace('.', "_")
}

/// Parses one de-framed syslog message and maps it to a MozDef event (never fails).
pub fn syslog_event(
    raw: &[u8],
    meta: RawMeta,
    ctx: &NormalizeContext,
    opts: &ParseOptions,
) -> Event {
    let m = parse(raw, opts);
    message_event(&m, meta, ctx)
}

/// Maps a parsed syslog message to a MozDef event.
pub fn message_event(m: &Message<'_>, meta: RawMeta, ctx: &NormalizeContext) -> Event {
    let received = ctx.now;
    let utc: DateTime<Utc> = m
        .timestamp
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(received);
    let mut details = Details::with_capacity(ferrodef_event::details::TYPICAL_FIELDS);
    if let Some(f) = m.facility {
        details.insert("facility", Value::String(f.name().into()));
    }
    if let Some(s) = m.severity {
        details.insert("syslogseverity", Value::String(s.name().into()));
    }
    if let Some(id) = m.msgid {
        details.insert("msgid", Value::String(id.into()));
    }
    if !m.structured_data.is_empty() {
        let mut sd = Map::new();
        for el in &m.structured_data {
            let entry = sd
                .entry(key(el.id))
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(params) = entry {
                for (name, value) in &el.params {
                    params.insert(key(name), Value::String(value.to_string()));
                }
            }
        }
        details.insert("sd", Value::Object(sd));
    }
    details.insert("syslogprotocol", Value::String(m.protocol.to_string()));
    if let Some(peer) = meta.peer {
        details.insert("peer", Value::String(peer.to_string()));
    }
    let mut tags = vec!["syslog".to_string()];
    if m.protocol == Protocol::Unknown {
        tags.push("unparsed".into());
    }
    if meta.truncated {
        tags.push("truncated".into());
    }
    if m.invalid_utf8 {
        tags.push("invalid_utf8".into());
    }
    let hostname = match (m.hostname, meta.peer) {
        (Some(h), _) => h.to_string(),
        (None, Some(p)) => p.to_string(),
        (None, None) => String::new(),
    };
    let mut ev = Event {
        utctimestamp: utc,
        receivedtimestamp: received,
        timestamp: utc,
        mozdefhostname: ctx.mozdefhostname.clone(),
        category: "syslog".into(),
        hostname,
        processname: m.appname.unwrap_or_default().to_string(),
        processid: m.procid.unwrap_or_default().to_string(),
        severity: m.severity.map_or(Severity::Info, severity_of),
        source: "syslog".into(),
        summary: m.msg.to_string(),
        tags,
        details,
        r#type: Some("event".into()),
        eventsource: None,
        plugins: Vec::new(),
    };
    if let Some(at) = cef::find_cef(&m.msg) {
        crate::cef::apply(&mut ev, m.msg.get(at..).unwrap_or(""));
    }
    ev
}
