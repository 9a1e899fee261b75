//! Normalization of incoming JSON to the MozDef event schema, following MozDef's
//! `esworker_eventtask.keyMapping()`:
//!
//! - keys are matched case-insensitively, with a leading `@` removed (`@timestamp`, `MESSAGE`);
//! - `message`/`summary` → `summary` (`payload` too when there is no summary, else
//!   `details.payload`); `eventtime`/`timestamp`/`utctimestamp`/`date` → `utctimestamp` and
//!   `timestamp`; `hostname`/`host`/`source_host` → `hostname` (an object's `name`/`hostname`);
//!   `severity`/`level`/`priority`/`syslogseverity`/`severityvalue` → `severity`;
//!   `pid`/`processid` → `processid`; `program`/`processname`/`pname`/`sourcename` →
//!   `processname`; `type`/`eventtype`/`category` → `category`; `facility`/`source` → `source`
//!   (`facility`/`syslogfacility` also → `details.facility`); `path`/`logger`/`file`/
//!   `eventsource` → `eventsource`; `sourceip` → `details.eventsourceipaddress`; `tags` (a list
//!   or one string) → `tags`; `details`/`fields` objects are merged into `details` (a
//!   non-object becomes `details.message`); `details.x`/`fields.x` keys go to `details.x`
//!   (`_int`/`_float` suffixes convert the value);
//! - unlike MozDef, which dropped them, other top-level keys are kept in `details`;
//! - defaults as MozDef's `Event.add_required_fields`: `UNKNOWN` for category, hostname,
//!   processname, processid and summary, `unknown` for source; severity defaults to INFO; the
//!   event time defaults to the received time; `type` is `event`.
//! - an unparsable time or severity is an error naming the field and the value — never silently
//!   replaced;
//! - Windows events (nxlog's flat JSON, winlogbeat's, the event XML as JSON) are normalized by
//!   [`crate::windows`], which keeps their field names.

use std::fmt;

use chrono::{DateTime, Utc};
use ferrodef_event::incoming::Field;
use ferrodef_event::{parse_timestamp, Details, Event, Incoming, Severity};
use serde_json::Value;

/// What normalization needs besides the event.
#[derive(Debug, Clone)]
pub struct NormalizeContext {
    /// The receive time.
    pub now: DateTime<Utc>,
    /// This server's name.
    pub mozdefhostname: String,
    /// Time zone of times without one.
    pub default_tz: chrono_tz::Tz,
    /// The source (endpoint) the event came through, for messages.
    pub source: Option<String>,
}

/// Why an event could not be normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizeError {
    /// The field at fault, if any.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field '{field}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for NormalizeError {}

pub(crate) fn field_err(field: &str, message: impl Into<String>) -> NormalizeError {
    NormalizeError {
        field: Some(field.to_string()),
        message: message.into(),
    }
}

/// A JSON value as text (MozDef's `toUnicode`): strings as they are, others as JSON.
pub(crate) fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn host_name(v: Value) -> String {
    match v {
        Value::Object(mut o) => match o.remove("name").or_else(|| o.remove("hostname")) {
            Some(n) => text(n),
            None => Value::Object(o).to_string(),
        },
        other => text(other),
    }
}

/// Keys up to this long are lower-cased on the stack.
const KEY_BUF: usize = 32;

/// `key` without a leading `@`, in lower case (MozDef matches keys so); short keys (all of
/// MozDef's) without allocating.
fn lower_key<'a>(key: &'a str, buf: &'a mut [u8; KEY_BUF]) -> std::borrow::Cow<'a, str> {
    let key = key.trim_start_matches('@');
    if let Some(b) = buf.get_mut(..key.len()) {
        b.copy_from_slice(key.as_bytes());
        b.make_ascii_lowercase();
        // Lower-casing ASCII letters keeps UTF-8 valid.
        if let Ok(s) = std::str::from_utf8(b) {
            return std::borrow::Cow::Borrowed(s);
        }
    }
    std::borrow::Cow::Owned(key.to_ascii_lowercase())
}

/// Normalizes one incoming JSON object into a MozDef event.
pub fn normalize(raw: Value, ctx: &NormalizeContext) -> Result<Event, NormalizeError> {
    normalize_incoming(Incoming::from(raw), ctx)
}

/// Normalizes one incoming document, parsed as [`Incoming`] (the same result as [`normalize`]
/// on the same JSON, without a hash map per object).
pub fn normalize_incoming(raw: Incoming, ctx: &NormalizeContext) -> Result<Event, NormalizeError> {
    let obj = match raw {
        Incoming::Object(fields) => fields,
        Incoming::Other(v) => {
            return Err(NormalizeError {
                field: None,
                message: format!("an event must be a JSON object, not {}", json_kind(&v)),
            })
        }
    };
    // Windows events (nxlog, winlogbeat, the event's XML as JSON) have a normalizer of their
    // own: their field names are kept as they are.
    if let Some(shape) = crate::windows::shape(&obj) {
        return crate::windows::normalize_windows(shape, obj, ctx);
    }
    let has_summary = obj.iter().any(|(k, _)| {
        let k = k.trim_start_matches('@');
        k.eq_ignore_ascii_case("summary") || k.eq_ignore_ascii_case("message")
    });
    let mut ev = EventFields::default();
    let mut key_buf = [0u8; KEY_BUF];
    for (key, field) in obj {
        match field {
            // Only `details`/`fields` are read as details: merge them.
            Field::Details(d) => ev.details.extend(d),
            Field::Json(v) => {
                let k = lower_key(&key, &mut key_buf);
                if let Some(v) = ev.set(&key, &k, v, has_summary, ctx)? {
                    ev.extra.push((key, v));
                }
            }
        }
    }
    Ok(ev.into_event(ctx))
}

/// The event's fields as the document's keys are read (MozDef's keyMapping).
pub(crate) struct EventFields {
    pub(crate) details: Details,
    /// Unknown top-level keys, kept in `details` unless set there explicitly.
    pub(crate) extra: Vec<(String, Value)>,
    pub(crate) summary: Option<String>,
    pub(crate) time: Option<DateTime<Utc>>,
    pub(crate) hostname: Option<String>,
    pub(crate) severity: Option<Severity>,
    pub(crate) processid: Option<String>,
    pub(crate) processname: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) eventsource: Option<String>,
    pub(crate) tags: Vec<String>,
}

impl Default for EventFields {
    fn default() -> Self {
        EventFields {
            details: Details::with_capacity(ferrodef_event::details::TYPICAL_FIELDS),
            extra: Vec::new(),
            summary: None,
            time: None,
            hostname: None,
            severity: None,
            processid: None,
            processname: None,
            category: None,
            source: None,
            eventsource: None,
            tags: Vec::new(),
        }
    }
}

impl EventFields {
    /// Reads the value of `key` (`k`: the key in lower case, without `@`); gives the value
    /// back when the key is none of MozDef's. `has_summary`: the document has a `summary` or
    /// `message`, so `payload` is not the summary.
    fn set(
        &mut self,
        key: &str,
        k: &str,
        v: Value,
        has_summary: bool,
        ctx: &NormalizeContext,
    ) -> Result<Option<Value>, NormalizeError> {
        match k {
            "message" | "summary" => self.summary = Some(text(v)),
            "payload" if !has_summary => self.summary = Some(text(v)),
            "payload" => {
                self.details.insert("payload", Value::String(text(v)));
            }
            "eventtime" | "timestamp" | "utctimestamp" | "date" => {
                let t = parse_timestamp(&v, ctx.now, ctx.default_tz)
                    .map_err(|e| field_err(key, e.to_string()))?;
                self.time = Some(t);
            }
            "hostname" | "source_host" | "host" => self.hostname = Some(host_name(v)),
            "syslogseverity" | "severity" | "severityvalue" | "level" | "priority" => {
                self.severity = Some(severity(key, v)?);
            }
            "pid" | "processid" => self.processid = Some(text(v)),
            "pname" | "processname" | "sourcename" | "program" => {
                self.processname = Some(text(v));
            }
            "type" | "eventtype" | "category" => self.category = Some(text(v)),
            "facility" | "source" | "syslogfacility" => {
                let s = text(v);
                if k != "syslogfacility" {
                    self.source = Some(s.clone());
                }
                if k != "source" {
                    self.details.insert("facility", Value::String(s));
                }
            }
            "eventsource" | "path" | "logger" | "file" => self.eventsource = Some(text(v)),
            "sourceip" => {
                self.details.insert("eventsourceipaddress", v);
            }
            "tags" => push_tags(v, &mut self.tags),
            "details" | "fields" => match v {
                Value::Object(o) => self.details.extend(o),
                Value::Null => {}
                other => {
                    self.details.insert("message", other);
                }
            },
            // ferrodef's own fields are set here, never taken from the input.
            "receivedtimestamp" | "mozdefhostname" => {}
            _ if k.starts_with("details.") || k.starts_with("fields.") => {
                let name = k
                    .trim_start_matches("fields.")
                    .trim_start_matches("details.")
                    .to_string();
                let value = typed_detail(key, &name, v)?;
                self.details.insert(name, value);
            }
            _ => return Ok(Some(v)),
        }
        Ok(None)
    }

    /// The event, with MozDef's defaults for what the document did not say.
    pub(crate) fn into_event(mut self, ctx: &NormalizeContext) -> Event {
        // Unknown top-level keys are kept (in details) rather than dropped; details sent
        // explicitly win over them.
        self.details.extend_if_absent(self.extra);
        let utc = self.time.unwrap_or(ctx.now);
        let unknown = || "UNKNOWN".to_string();
        Event {
            utctimestamp: utc,
            receivedtimestamp: ctx.now,
            timestamp: utc,
            mozdefhostname: ctx.mozdefhostname.clone(),
            category: self.category.unwrap_or_else(unknown),
            hostname: self.hostname.unwrap_or_else(unknown),
            processname: self.processname.unwrap_or_else(unknown),
            processid: self.processid.unwrap_or_else(unknown),
            severity: self.severity.unwrap_or(Severity::Info),
            source: self.source.unwrap_or_else(|| "unknown".into()),
            summary: self.summary.unwrap_or_else(unknown),
            tags: self.tags,
            details: self.details,
            r#type: Some("event".into()),
            eventsource: self.eventsource,
            plugins: Vec::new(),
        }
    }
}

/// A severity name or number (`key` names the field in the error).
pub(crate) fn severity(key: &str, v: Value) -> Result<Severity, NormalizeError> {
    let s = text(v);
    Severity::parse(&s).ok_or_else(|| {
        field_err(
            key,
            format!(
                "unknown severity '{s}' (expected DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY or 0-7)"
            ),
        )
    })
}

/// Tags from an array, or from comma-separated text.
pub(crate) fn push_tags(v: Value, tags: &mut Vec<String>) {
    match v {
        Value::Array(items) => tags.extend(items.into_iter().map(text)),
        Value::Null => {}
        other => {
            let s = text(other);
            if !s.is_empty() {
                tags.extend(
                    s.split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()),
                );
            }
        }
    }
}

/// The value of a top-level `details.<name>`/`fields.<name>` key: `<name>_int` and
/// `<name>_float` are converted from text (MozDef's typed-field suffixes), others kept.
fn typed_detail(key: &str, name: &str, v: Value) -> Result<Value, NormalizeError> {
    if name.ends_with("_int") {
        let s = text(v);
        let n = s
            .trim()
            .parse::<i64>()
            .map_err(|_| field_err(key, format!("'{s}' is not an integer")))?;
        Ok(Value::from(n))
    } else if name.ends_with("_float") {
        let s = text(v);
        let f = s
            .trim()
            .parse::<f64>()
            .map_err(|_| field_err(key, format!("'{s}' is not a number")))?;
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| field_err(key, format!("'{s}' is not a finite number")))
    } else {
        Ok(v)
    }
}

/// "a string", "an object"...: what a JSON value is, for error messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn ctx() -> NormalizeContext {
        NormalizeContext {
            now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
            mozdefhostname: "sample".into(),
            default_tz: chrono_tz::UTC,
            source: None,
        }
    }

    /// Parsing the body as [`Incoming`] (the HTTP path) gives the event parsing it as a
    /// `serde_json::Value` gives, for MozDef-style documents and documents with repeated, odd
    /// and many keys (MozDef's own cases: `tests/corpus.rs`).
    #[test]
    fn incoming_documents_normalize_as_json_values() {
        // MozDef-style documents (its keyMapping inputs have these shapes), then documents
        // with repeated, odd and many keys.
        let mut texts: Vec<String> = vec![
            r#"{"category": "syslog", "hostname": "host1", "processname": "sshd", "severity": "INFO", "summary": "Accepted publickey for bob from 10.0.0.1 port 22 ssh2", "tags": ["a", "b"], "details": {"program": "sshd"}}"#.to_string(),
            r#"{"@timestamp": "2017-08-24T22:49:42.000Z", "type": "event", "category": "test", "details": {"sourceipaddress": "1.2.3.4", "dn": "x"}, "utctimestamp": "2017-08-24T22:49:42Z"}"#.to_string(),
            r#"{"timestamp": "Aug 24 22:49:42", "receivedtimestamp": "2017-08-24T22:49:42+00:00", "eventsource": "systemslogs", "mozdefhostname": "m", "details": {}}"#.to_string(),
            r#"{"summary": "s", "details": "not a dict", "severity": "warning", "processid": 1234}"#.to_string(),
        ];
        let wide: Vec<String> = (0..200).map(|i| format!("\"k{}\": {i}", i % 150)).collect();
        texts.extend([
            r#"{"summary": "a", "details": {"x": 1, "x": 2}, "Details": {"y": 3}, "@fields": {"x": 4}}"#.to_string(),
            r#"{"foo": 1, "details": {"foo": 2}, "foo": 3, "details.bar_int": "5", "tags": "a, b"}"#.to_string(),
            r#"{"details": "text", "fields": null, "message": "m", "payload": "p"}"#.to_string(),
            r#"{"details": [1, 2], "@timestamp": 1503614982, "host": {"name": "h"}}"#.to_string(),
            format!("{{{}, \"details\": {{{}}}}}", wide.join(","), wide.join(",")),
        ]);
        for text in &texts {
            let by_value = normalize(serde_json::from_str(text).unwrap(), &ctx());
            let by_incoming = normalize_incoming(serde_json::from_str(text).unwrap(), &ctx());
            match (by_value, by_incoming) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{text}");
                    assert_eq!(
                        serde_json::to_string(&a).unwrap(),
                        serde_json::to_string(&b).unwrap(),
                        "same JSON, same order: {text}"
                    );
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
                (a, b) => panic!("{text}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn keys_lower_case_without_the_at() {
        let mut buf = [0u8; KEY_BUF];
        assert_eq!(lower_key("@TimeStamp", &mut buf), "timestamp");
        assert_eq!(lower_key("ÄBC", &mut buf), "Äbc");
        let long = "@Details.".to_string() + &"X".repeat(40);
        assert_eq!(
            lower_key(&long, &mut buf),
            "details.".to_string() + &"x".repeat(40)
        );
        assert_eq!(lower_key("", &mut buf), "");
    }

    #[test]
    fn defaults_and_kept_unknown_keys() {
        let ev = normalize(json!({"foo": 1, "details": {"foo": 2}}), &ctx()).unwrap();
        assert_eq!(ev.category, "UNKNOWN");
        assert_eq!(ev.severity, Severity::Info);
        assert_eq!(ev.source, "unknown");
        assert_eq!(ev.utctimestamp, ctx().now);
        assert_eq!(ev.details["foo"], 2, "explicit details win");
        let ev = normalize(json!({"bar": [1, 2]}), &ctx()).unwrap();
        assert_eq!(ev.details["bar"], json!([1, 2]));
        assert_eq!(ev.r#type.as_deref(), Some("event"));
    }

    #[test]
    fn mozdef_aliases() {
        let ev = normalize(
            json!({"@timestamp": 1503614982, "type": "authentication", "host": {"name": "h1"}, "level": "warn",
                   "pid": 42, "program": "sshd", "tags": "a, b", "details.count_int": "7", "fields.ratio_float": "0.5",
                   "logger": "/var/log/auth.log", "payload": "p", "message": "m"}),
            &ctx(),
        )
        .unwrap();
        assert_eq!(ev.category, "authentication");
        assert_eq!(ev.hostname, "h1");
        assert_eq!(ev.severity, Severity::Warning);
        assert_eq!(ev.processid, "42");
        assert_eq!(ev.processname, "sshd");
        assert_eq!(ev.tags, vec!["a", "b"]);
        assert_eq!(ev.details["count_int"], 7);
        assert_eq!(ev.details["ratio_float"], 0.5);
        assert_eq!(ev.details["payload"], "p");
        assert_eq!(ev.summary, "m");
        assert_eq!(ev.eventsource.as_deref(), Some("/var/log/auth.log"));
        assert_eq!(ev.utctimestamp.timestamp(), 1503614982);
    }

    #[test]
    fn errors_name_the_field() {
        let e = normalize(json!({"utctimestamp": "notatime"}), &ctx()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("utctimestamp"));
        assert!(e.to_string().contains("notatime"));
        let e = normalize(json!({"severity": "extreme"}), &ctx()).unwrap_err();
        assert!(
            e.to_string().contains("severity") && e.to_string().contains("extreme"),
            "{e}"
        );
        let e = normalize(json!({"details.n_int": "x"}), &ctx()).unwrap_err();
        assert!(e.to_string().contains("details.n_int"), "{e}");
        assert!(normalize(json!([1]), &ctx()).is_err());
    }
}
