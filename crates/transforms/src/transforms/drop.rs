//! `drop`: events dropped by `field=value` rules (counted by the caller).

use ferrodef_event::Event;
use serde_json::Value;

use crate::pipeline::{Outcome, Transform};

/// Drops events whose field equals a value (`category=debugnoise`, `details.program=cron`).
pub struct DropRules(Vec<(String, String)>);

impl DropRules {
    /// Parses `field=value` rules.
    pub fn parse(rules: &[String]) -> Result<DropRules, String> {
        rules
            .iter()
            .map(|r| {
                r.split_once('=')
                    .map(|(f, v)| (f.trim().to_string(), v.trim().to_string()))
                    .filter(|(f, _)| !f.is_empty())
                    .ok_or_else(|| format!("[transforms] drop: '{r}' is not field=value"))
            })
            .collect::<Result<_, _>>()
            .map(DropRules)
    }
}

/// A top-level or `details.*` field of an event, as text.
pub fn field_text(ev: &Event, field: &str) -> Option<String> {
    Some(match field {
        "category" => ev.category.clone(),
        "hostname" => ev.hostname.clone(),
        "processname" => ev.processname.clone(),
        "processid" => ev.processid.clone(),
        "severity" => ev.severity.as_str().to_string(),
        "source" => ev.source.clone(),
        "summary" => ev.summary.clone(),
        f => match ev.details.get(f.strip_prefix("details.")?)? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    })
}

impl Transform for DropRules {
    fn name(&self) -> &'static str {
        "drop"
    }
    fn apply(&self, ev: &mut Event) -> Outcome {
        for (f, v) in &self.0 {
            if field_text(ev, f).as_deref() == Some(v.as_str()) {
                return Outcome::Drop(format!("{f}={v}"));
            }
        }
        Outcome::Unchanged
    }
}
