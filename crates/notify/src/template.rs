//! Text templates over an alert (email subject and body), with minijinja.
//!
//! A template sees the alert's fields (`id`, `utctimestamp`, `severity`, `summary`,
//! `category`, `tags`, `rule`, `rule_kind`, `classname`, `channel`, `url`, `key`, `count`,
//! `events`, `details`) plus `link` (the alert in ferrodef's console, when configured) and
//! `event_count` (sample events carried). Unknown variable names, bad syntax and unknown
//! filters are configuration errors, found when the notifier is built.

use std::collections::HashSet;

use ferrodef_event::Alert;
use minijinja::{Environment, Value as JinjaValue};
use serde_json::{Map, Value};

use crate::error::{ConfigError, SendError};

/// Top-level names a template may use.
pub const VARIABLES: &[&str] = &[
    "id",
    "utctimestamp",
    "severity",
    "summary",
    "category",
    "tags",
    "rule",
    "rule_kind",
    "classname",
    "channel",
    "notify_mozdefbot",
    "url",
    "key",
    "count",
    "events",
    "details",
    "link",
    "event_count",
];

/// Rendering work allowed per template (bounds loops over hostile data).
const FUEL: u64 = 200_000;

/// Compiled templates, by name.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles `(name, source)` pairs; errors name the notifier, the field (the template's
    /// name) and the line.
    pub fn compile(notifier: &str, sources: &[(&str, &str)]) -> Result<Templates, ConfigError> {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_keep_trailing_newline(true);
        for (name, source) in sources {
            env.add_template_owned(name.to_string(), source.to_string())
                .map_err(|e| ConfigError::new(notifier, name, describe(&e)))?;
        }
        let templates = Templates { env };
        // The alert's fields and minijinja's global functions (`range`, `dict`…).
        let mut known: HashSet<&str> = VARIABLES.iter().copied().collect();
        known.extend(templates.env.globals().map(|(name, _)| name));
        for (name, _) in sources {
            let t = templates
                .env
                .get_template(name)
                .map_err(|e| ConfigError::new(notifier, name, describe(&e)))?;
            let mut unknown: Vec<String> = t
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !known.contains(v.as_str()))
                .collect();
            unknown.sort();
            if !unknown.is_empty() {
                return Err(ConfigError::new(
                    notifier,
                    name,
                    format!(
                        "unknown variable(s) {} (known: {})",
                        unknown.join(", "),
                        VARIABLES.join(", ")
                    ),
                ));
            }
            // Unknown filters and tests only show when rendering.
            let sample = context(&crate::sample_alert(), Some("https://ferrodef.example"));
            t.render(&sample)
                .map_err(|e| ConfigError::new(notifier, name, describe(&e)))?;
        }
        Ok(templates)
    }

    /// Renders template `name` for an alert; a failure is permanent (it would fail again).
    pub fn render(&self, name: &str, ctx: &JinjaValue) -> Result<String, SendError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| SendError::permanent(format!("template {name}: {}", describe(&e))))
    }
}

/// The variables of an alert's templates.
pub fn context(alert: &Alert, console_url: Option<&str>) -> JinjaValue {
    let mut map = match alert.to_value() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // Optional fields are present (null) so `{% if url %}` works the same for every alert.
    for key in ["url", "key", "channel"] {
        map.entry(key).or_insert(Value::Null);
    }
    map.entry("details").or_insert(Value::Object(Map::new()));
    map.insert("event_count".into(), Value::from(alert.events.len()));
    map.insert(
        "link".into(),
        console_url.map_or(Value::Null, |base| {
            Value::String(alert_link(base, &alert.id))
        }),
    );
    JinjaValue::from_serialize(Value::Object(map))
}

/// The alert's page in ferrodef's console.
pub fn alert_link(console_url: &str, alert_id: &str) -> String {
    let id: String = alert_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
                c.to_string()
            } else {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect();
    format!("{}/alerts/{id}", console_url.trim_end_matches('/'))
}

fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("{} (line {line})", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_default_templates() {
        let t = Templates::compile(
            "mail",
            &[
                ("subject", &crate::config::default_subject()),
                ("body", &crate::config::default_body()),
            ],
        )
        .unwrap();
        let a = crate::sample_alert();
        let ctx = context(&a, Some("https://siem.example/"));
        let subject = t.render("subject", &ctx).unwrap();
        assert_eq!(subject, format!("[ferrodef] WARNING: {}", a.summary));
        let body = t.render("body", &ctx).unwrap();
        assert!(
            body.contains("Rule:     bruteforce_ssh (mozdef, AlertBruteforceSsh)"),
            "{body}"
        );
        assert!(
            body.contains(&format!("Alert:    https://siem.example/alerts/{}", a.id)),
            "{body}"
        );
        assert!(body.contains("Tags:     ssh, bruteforce"), "{body}");

        let mut bare = a.clone();
        bare.url = None;
        bare.key = None;
        let body = t.render("body", &context(&bare, None)).unwrap();
        assert!(!body.contains("Runbook") && !body.contains("Key:") && !body.contains("Alert: "));
    }

    #[test]
    fn errors_name_field_and_line() {
        let e = Templates::compile("mail", &[("body", "ok\n{{ summary ")]).unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("line 2"), "{e}");
        let e = Templates::compile("mail", &[("subject", "{{ sumary }}")]).unwrap_err();
        assert!(e.message.contains("sumary"), "{e}");
        let e = Templates::compile("mail", &[("subject", "{{ summary|shout }}")]).unwrap_err();
        assert!(e.message.contains("shout"), "{e}");
    }

    #[test]
    fn hostile_loops_run_out_of_fuel() {
        let t = Templates::compile("m", &[("b", "{% for a in range(9) %}x{% endfor %}")]).unwrap();
        let ctx = context(&crate::sample_alert(), None);
        assert!(t.render("b", &ctx).is_ok());
        let t = Templates::compile(
            "m",
            &[("b", "{% for a in events %}{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}")],
        );
        // Either the sample render at compile time or a later render stops on fuel.
        assert!(t.is_err());
    }

    #[test]
    fn links_escape_ids() {
        assert_eq!(
            alert_link("https://a/", "x y/z"),
            "https://a/alerts/x%20y%2Fz"
        );
    }
}
