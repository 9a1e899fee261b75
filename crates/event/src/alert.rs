//! An alert: what a detection rule produces (MozDef's alert document, plus what ferrodef needs
//! to deduplicate, route and triage it).
//!
//! Alerts are stored as documents of the `alerts` stream (searchable with the query language)
//! and carry their evidence: the (sampled) events that caused them, whole. The events, in turn,
//! name the rules they fed in `alert_names` (so an event feeds at most one alert per rule).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Severity;

/// The stream alerts are stored in.
pub const ALERTS_STREAM: &str = "alerts";

/// Which kind of rule produced an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A rule of ferrodef's declarative format (MozDef's alerts, ported).
    Mozdef,
    /// A Sigma detection rule.
    Sigma,
    /// A Sigma correlation rule.
    Correlation,
    /// Impossible travel (MozDef's geomodel).
    Geomodel,
    /// ferrodef about itself (a limit was hit, a notifier keeps failing…).
    System,
}

impl RuleKind {
    /// Every kind.
    pub const ALL: [RuleKind; 5] = [
        RuleKind::Mozdef,
        RuleKind::Sigma,
        RuleKind::Correlation,
        RuleKind::Geomodel,
        RuleKind::System,
    ];

    /// The lower-case name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Mozdef => "mozdef",
            RuleKind::Sigma => "sigma",
            RuleKind::Correlation => "correlation",
            RuleKind::Geomodel => "geomodel",
            RuleKind::System => "system",
        }
    }
}

/// Triage status of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// New, nobody looked yet.
    #[default]
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Handed up.
    Escalated,
    /// Done.
    Closed,
}

impl AlertStatus {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Escalated => "escalated",
            AlertStatus::Closed => "closed",
        }
    }

    /// Reads a status name (case-insensitive; MozDef's `ack`/`escalate`/`close` too).
    pub fn parse(s: &str) -> Option<AlertStatus> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "open" | "new" => AlertStatus::Open,
            "acknowledged" | "ack" | "acknowledge" => AlertStatus::Acknowledged,
            "escalated" | "escalate" => AlertStatus::Escalated,
            "closed" | "close" => AlertStatus::Closed,
            _ => return None,
        })
    }
}

/// An alert document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique id (see [`Alert::new_id`]).
    pub id: String,
    /// When the alert fired.
    #[serde(with = "crate::time::ts")]
    pub utctimestamp: DateTime<Utc>,
    /// Severity (MozDef's default: NOTICE).
    pub severity: Severity,
    /// One line for humans.
    pub summary: String,
    /// Alert category (`bruteforce`, `deadman`…).
    pub category: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The rule's id: the rule file's name for ferrodef rules (`bruteforce_ssh`), the Sigma id.
    pub rule: String,
    /// The rule's kind.
    pub rule_kind: RuleKind,
    /// MozDef's class name for ported alerts (`AlertBruteforceSsh`), else the rule's title.
    pub classname: String,
    /// Notification channel (MozDef's IRC channel), if the rule names one.
    #[serde(default)]
    pub channel: Option<String>,
    /// MozDef's flag: false iff severity is NOTICE or INFO and no channel is set.
    pub notify_mozdefbot: bool,
    /// A link for the analyst (runbook), if the rule has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The aggregation value the alert is about (source IP, user…), if any; with `rule` it is
    /// the deduplication key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// How many events fed the alert (all of them, not only the samples in `events`).
    pub count: u64,
    /// The events that caused the alert (the first samples of an aggregation), whole.
    #[serde(default)]
    pub events: Vec<Value>,
    /// Anything else the rule wants to say (e.g. the travel of a geomodel alert).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

impl Alert {
    /// MozDef's `notify_mozdefbot`: false iff severity is NOTICE or INFO and no channel is set.
    pub fn mozdefbot(severity: Severity, channel: Option<&str>) -> bool {
        !(matches!(severity, Severity::Notice | Severity::Info) && channel.is_none())
    }

    /// A new unique id: the firing time (sortable) and 64 random bits, e.g.
    /// `20261130T102233.123Z-9f3a…`.
    pub fn new_id(at: DateTime<Utc>, random: u64) -> String {
        format!("{}-{random:016x}", at.format("%Y%m%dT%H%M%S%.3fZ"))
    }

    /// The alert as a JSON object, as stored in the `alerts` stream.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_through_json() {
        let at = Utc.with_ymd_and_hms(2017, 1, 1, 1, 0, 0).unwrap();
        let a = Alert {
            id: Alert::new_id(at, 42),
            utctimestamp: at,
            severity: Severity::Notice,
            summary: "10 ssh bruteforce attempts by 1.2.3.4".into(),
            category: "bruteforce".into(),
            tags: vec!["ssh".into()],
            rule: "bruteforce_ssh".into(),
            rule_kind: RuleKind::Mozdef,
            classname: "AlertBruteforceSsh".into(),
            channel: None,
            notify_mozdefbot: Alert::mozdefbot(Severity::Notice, None),
            url: None,
            key: Some("1.2.3.4".into()),
            count: 10,
            events: vec![serde_json::json!({"summary": "x"})],
            details: Map::new(),
        };
        assert_eq!(a.id, "20170101T010000.000Z-000000000000002a");
        assert!(!a.notify_mozdefbot);
        let v = a.to_value();
        assert_eq!(v["rule_kind"], "mozdef");
        assert_eq!(v["severity"], "NOTICE");
        assert_eq!(v["utctimestamp"], "2017-01-01T01:00:00+00:00");
        let back: Alert = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn mozdefbot_rule() {
        assert!(Alert::mozdefbot(Severity::Warning, None));
        assert!(Alert::mozdefbot(Severity::Notice, Some("#sec")));
        assert!(!Alert::mozdefbot(Severity::Info, None));
    }

    #[test]
    fn status_names() {
        for s in [
            AlertStatus::Open,
            AlertStatus::Acknowledged,
            AlertStatus::Escalated,
            AlertStatus::Closed,
        ] {
            assert_eq!(AlertStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AlertStatus::parse("ack"), Some(AlertStatus::Acknowledged));
        assert_eq!(AlertStatus::parse("bogus"), None);
    }
}
