//! `parsers`: the event parser of the event's program (crate `ferrodef-parsers`).

use ferrodef_event::Event;
use serde_json::Value;

use crate::pipeline::{Outcome, Transform};

/// Runs the parser of the event's program (`processname`, else `details.program`) on its
/// summary: fields go into `details`, the parser's category and tags are applied.
pub struct Parsers;

impl Transform for Parsers {
    fn name(&self) -> &'static str {
        "parsers"
    }

    fn apply(&self, ev: &mut Event) -> Outcome {
        // Joined multi-record audit events were parsed whole at the source.
        if ev.details.contains_key("auditrecords") {
            return Outcome::Unchanged;
        }
        let program = match ev.details.get("program").and_then(Value::as_str) {
            Some(p) if ev.processname == "UNKNOWN" || ev.processname.is_empty() => p.to_string(),
            _ => ev.processname.clone(),
        };
        let Some(parsed) = ferrodef_parsers::parse_by_program(&program, &ev.summary) else {
            return Outcome::Unchanged;
        };
        apply_parsed(ev, parsed);
        Outcome::Changed
    }
}

/// Puts a parser's result into an event: fields into `details`, its category, its tags.
pub fn apply_parsed(ev: &mut Event, parsed: ferrodef_parsers::Parsed) {
    ev.details.extend(parsed.fields);
    if let Some(c) = parsed.category {
        ev.category = c.to_string();
    }
    for t in parsed.tags {
        if !ev.tags.iter().any(|x| x == t) {
            ev.tags.push(t.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::Pipeline;
    use crate::transforms::{test_event as ev, IpFixup};
    use serde_json::json;

    #[test]
    fn parsers_transform_sets_fields_and_category() {
        let p = Pipeline::new(vec![Arc::new(Parsers), Arc::new(IpFixup)]);
        let mut e = ev(json!({"processname": "sshd", "category": "syslog",
            "summary": "Failed password for invalid user admin from 198.51.100.23 port 52311 ssh2"}));
        p.run(&mut e);
        assert_eq!(e.category, "authentication");
        assert_eq!(e.details["username"], "admin");
        assert_eq!(e.details["success"], false);
        assert_eq!(e.details["sourceipv4address"], "198.51.100.23");
        assert_eq!(e.plugins, vec!["parsers", "ipfixup"]);
        let mut e = ev(json!({"details": {"program": "sudo"},
            "summary": "averez : TTY=ttys004 ; PWD=/Users/averez ; USER=root ; COMMAND=/usr/bin/su"}));
        p.run(&mut e);
        assert_eq!(e.details["username"], "averez");
        let mut e = ev(
            json!({"processname": "cron", "summary": "(root) CMD (run-parts /etc/cron.hourly)"}),
        );
        p.run(&mut e);
        assert!(e.plugins.is_empty());
    }
}
