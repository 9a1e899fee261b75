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
            assert_eq!(Value::Object(ev.into_map()), via_serde);
        }
    }
}
