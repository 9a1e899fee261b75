//! The normalized event (MozDef's schema).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{format_timestamp, Details, Severity};

/// A normalized event, serialized in MozDef's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When the event happened (UTC).
    #[serde(with = "crate::time::ts")]
    pub utctimestamp: DateTime<Utc>,
    /// When ferrodef received it.
    #[serde(with = "crate::time::ts")]
    pub receivedtimestamp: DateTime<Utc>,
    /// The event's own time as sent (normalized to UTC), like MozDef.
    #[serde(with = "crate::time::ts")]
    pub timestamp: DateTime<Utc>,
    /// The ferrodef server that received the event.
    pub mozdefhostname: String,
    /// Kind of event (`authentication`, `syslog`, `proxy`...).
    pub category: String,
    /// Host the event is about.
    pub hostname: String,
    /// Program that logged it.
    pub processname: String,
    /// Its process id (a string, as in MozDef).
    pub processid: String,
    /// Severity.
    pub severity: Severity,
    /// Where it came from (syslog facility, shipper...).
    pub source: String,
    /// The message.
    pub summary: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Free-form fields.
    pub details: Details,
    /// MozDef's legacy document type (`event`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Where the event was read from (file, logger), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eventsource: Option<String>,
    /// Transforms that changed the event (MozDef's `plugins`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
}

impl Event {
    /// The event as a JSON object, exactly as it serializes, without serializing: strings and
    /// detail values are moved, not copied.
    pub fn into_map(self) -> Map<String, Value> {
        // Room for every top-level field, so that the map is never rehashed while filled.
        let mut m = Map::with_capacity(17);
        m.insert(
            "utctimestamp".into(),
            Value::String(format_timestamp(&self.utctimestamp)),
        );
        m.insert(
            "receivedtimestamp".into(),
            Value::String(format_timestamp(&self.receivedtimestamp)),
        );
        m.insert(
            "timestamp".into(),
            Value::String(format_timestamp(&self.timestamp)),
        );
        m.insert("mozdefhostname".into(), Value::String(self.mozdefhostname));
        m.insert("category".into(), Value::String(self.category));
        m.insert("hostname".into(), Value::String(self.hostname));
        m.insert("processname".into(), Value::String(self.processname));
        m.insert("processid".into(), Value::String(self.processid));
        m.insert(
            "severity".into(),
            Value::String(self.severity.as_str().into()),
        );
        m.insert("source".into(), Value::String(self.source));
        m.insert("summary".into(), Value::String(self.summary));
        m.insert(
            "tags".into(),
            Value::Array(self.tags.into_iter().map(Value::String).collect()),
        );
        m.insert("details".into(), Value::Object(self.details.into_map()));
        if let Some(t) = self.r#type {
            m.insert("type".into(), Value::String(t));
        }
        if let Some(e) = self.eventsource {
            m.insert("eventsource".into(), Value::String(e));
        }
        if !self.plugins.is_empty() {
            m.insert(
                "plugins".into(),
                Value::Array(self.plugins.into_iter().map(Value::String).collect()),
            );
        }
        m
    }

    /// The event as a JSON object (as [`Event::into_map`], values moved), and what
    /// [`Event::take_back`] needs to make it the event again without parsing its times.
    pub fn lend(self) -> (Map<String, Value>, Lent) {
        let lent = Lent {
            utctimestamp: self.utctimestamp,
            receivedtimestamp: self.receivedtimestamp,
            timestamp: self.timestamp,
            severity: self.severity,
        };
        (self.into_map(), lent)
    }

    /// The event [`Event::lend`] made into `m`, its values moved back, when `m` still has
    /// exactly the fields `lend` gave it, in the same order and of the same types (so that
    /// the event serializes as `m` does); otherwise (e.g. the rules added `alert_names`) `m`
    /// is handed back unchanged. The times and the severity are `lent`'s, not read from `m`:
    /// whoever held `m` must not have changed them.
    pub fn take_back(m: Map<String, Value>, lent: Lent) -> Result<Event, Map<String, Value>> {
        if !lent_shape(&m) {
            return Err(m);
        }
        let strings = |a: Vec<Value>| -> Vec<String> {
            a.into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect()
        };
        let mut ev = Event {
            utctimestamp: lent.utctimestamp,
            receivedtimestamp: lent.receivedtimestamp,
            timestamp: lent.timestamp,
            mozdefhostname: String::new(),
            category: String::new(),
            hostname: String::new(),
            processname: String::new(),
            processid: String::new(),
            severity: lent.severity,
            source: String::new(),
            summary: String::new(),
            tags: Vec::new(),
            details: Details::new(),
            r#type: None,
            eventsource: None,
            plugins: Vec::new(),
        };
        for (k, v) in m {
            match (k.as_str(), v) {
                ("mozdefhostname", Value::String(s)) => ev.mozdefhostname = s,
                ("category", Value::String(s)) => ev.category = s,
                ("hostname", Value::String(s)) => ev.hostname = s,
                ("processname", Value::String(s)) => ev.processname = s,
                ("processid", Value::String(s)) => ev.processid = s,
                ("source", Value::String(s)) => ev.source = s,
                ("summary", Value::String(s)) => ev.summary = s,
                ("tags", Value::Array(a)) => ev.tags = strings(a),
                ("details", Value::Object(d)) => ev.details = Details::from(d),
                ("type", Value::String(s)) => ev.r#type = Some(s),
                ("eventsource", Value::String(s)) => ev.eventsource = Some(s),
                ("plugins", Value::Array(a)) => ev.plugins = strings(a),
                // The times and the severity: `lent`'s.
                _ => {}
            }
        }
        Ok(ev)
    }
}

/// What [`Event::lend`] keeps of an event to take it back from its JSON object.
#[derive(Debug, Clone, Copy)]
pub struct Lent {
    utctimestamp: DateTime<Utc>,
    receivedtimestamp: DateTime<Utc>,
    timestamp: DateTime<Utc>,
    severity: Severity,
}

/// The fields [`Event::into_map`] always writes, in its order.
const MAP_FIELDS: [&str; 13] = [
    "utctimestamp",
    "receivedtimestamp",
    "timestamp",
    "mozdefhostname",
    "category",
    "hostname",
    "processname",
    "processid",
    "severity",
    "source",
    "summary",
    "tags",
    "details",
];

/// The fields it writes when set, in its order.
const MAP_OPTIONAL: [&str; 3] = ["type", "eventsource", "plugins"];

/// Whether `m` has exactly the shape [`Event::into_map`] gives: its fields in its order,
/// strings where it writes strings, arrays of strings, details an object, and `plugins` only
/// when not empty.
fn lent_shape(m: &Map<String, Value>) -> bool {
    let all_strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    let right_type = |k: &str, v: &Value| match k {
        "tags" => all_strings(v),
        "plugins" => all_strings(v) && v.as_array().is_some_and(|a| !a.is_empty()),
        "details" => v.is_object(),
        _ => v.is_string(),
    };
    if m.len() < MAP_FIELDS.len() || m.len() > MAP_FIELDS.len() + MAP_OPTIONAL.len() {
        return false;
    }
    let mut fields = m.iter();
    for want in MAP_FIELDS {
        match fields.next() {
            Some((k, v)) if k == want && right_type(k, v) => {}
            _ => return false,
        }
    }
    let mut optional = MAP_OPTIONAL.iter();
    for (k, v) in fields {
        if !optional.any(|o| o == k) || !right_type(k, v) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    #[test]
    fn into_map_equals_serialization() {
        let mut details = Map::new();
        details.insert("n".into(), Value::from(1));
        let t = now();
        for (ty, es, plugins) in [
            (Some("event"), Some("/var/log/x"), vec!["sshd".to_string()]),
            (None, None, vec![]),
        ] {
            let ev = Event {
                utctimestamp: t,
                receivedtimestamp: t + chrono::Duration::milliseconds(5),
                timestamp: t,
                mozdefhostname: "m".into(),
                category: "c".into(),
                hostname: "h".into(),
                processname: "p".into(),
                processid: "1".into(),
                severity: Severity::Notice,
                source: "s".into(),
                summary: "x".into(),
                tags: vec!["a".into()],
                details: details.clone().into(),
                r#type: ty.map(Into::into),
                eventsource: es.map(Into::into),
                plugins,
            };
            let via_serde = serde_json::to_value(&ev).unwrap();
            let (m, lent) = ev.clone().lend();
            assert_eq!(Value::Object(m.clone()), via_serde);
            assert_eq!(Event::take_back(m, lent).ok(), Some(ev.clone()));
            assert_eq!(Value::Object(ev.into_map()), via_serde);
        }
    }

    #[test]
    fn a_lent_event_changed_in_shape_is_not_taken_back() {
        let t = now();
        let ev = Event {
            utctimestamp: t,
            receivedtimestamp: t,
            timestamp: t,
            mozdefhostname: "m".into(),
            category: "c".into(),
            hostname: "h".into(),
            processname: "p".into(),
            processid: "1".into(),
            severity: Severity::Info,
            source: "s".into(),
            summary: "x".into(),
            tags: vec![],
            details: Map::new().into(),
            r#type: Some("event".into()),
            eventsource: None,
            plugins: vec![],
        };
        // A field added (what the rules do), a type changed, a field moved: the map stays.
        let changes: [fn(&mut Map<String, Value>); 4] = [
            |m| {
                m.insert("alert_names".into(), Value::Array(vec!["a".into()]));
            },
            |m| {
                m.insert("hostname".into(), Value::from(1));
            },
            |m| {
                m.insert("tags".into(), Value::Array(vec![Value::from(1)]));
            },
            |m| {
                let v = m.shift_remove("category").unwrap_or_default();
                m.insert("category".into(), v);
            },
        ];
        for change in changes {
            let (mut m, lent) = ev.clone().lend();
            change(&mut m);
            let changed = m.clone();
            assert_eq!(Event::take_back(m, lent).err(), Some(changed));
        }
        // Unchanged: the event again.
        let (m, lent) = ev.clone().lend();
        assert_eq!(Event::take_back(m, lent).ok(), Some(ev));
    }
}
