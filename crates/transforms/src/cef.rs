//! CEF payloads to MozDef events.
//!
//! `Name` → `summary`; severity 0–10 → MozDef severity (0–3 INFO, 4–6 WARNING, 7–8 ERROR,
//! 9–10 CRITICAL); every extension into `details` under its readable ArcSight name
//! (`src` → `details.sourceAddress`...), plus the MozDef names analysts search for:
//! `sourceipaddress` (src), `destinationipaddress` (dst), `sourceport` (spt),
//! `destinationport` (dpt), `username` (suser), `action` (act), `url` (request);
//! custom fields with labels (`cs1Label=Reason cs1=x`) become `details.<label>`; the header
//! goes to `details.cef` (`vendor`, `product`, `version`, `signature`, `severity`).
//! `category` is `cef`, `processname` the device product, `tags` gain `cef`. A line that is
//! not valid CEF keeps its syslog mapping and is tagged `cef_parse_error`, with the reason in
//! `details.cef_error`.

use ferrodef_event::details::Key;
use ferrodef_event::{Event, Severity};
use serde_json::{Map, Value};

/// MozDef severity of a CEF severity (0–10).
pub fn severity_of(n: u8) -> Severity {
    match n {
        0..=3 => Severity::Info,
        4..=6 => Severity::Warning,
        7..=8 => Severity::Error,
        _ => Severity::Critical,
    }
}

/// Extension keys that also get MozDef's usual name.
const MOZDEF_NAMES: [(&str, &str); 8] = [
    ("src", "sourceipaddress"),
    ("dst", "destinationipaddress"),
    ("spt", "sourceport"),
    ("dpt", "destinationport"),
    ("suser", "username"),
    ("duser", "destinationusername"),
    ("act", "action"),
    ("request", "url"),
];

fn field_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Parses `payload` (starting at `CEF:`) into `ev`.
pub fn apply(ev: &mut Event, payload: &str) {
    let parsed = match cef::parse(payload) {
        Ok(p) => p,
        Err(e) => {
            ev.tags.push("cef_parse_error".into());
            ev.details.insert("cef_error", Value::String(e.to_string()));
            return;
        }
    };
    let mut header = Map::new();
    for (k, v) in [
        ("version", &parsed.version),
        ("vendor", &parsed.device_vendor),
        ("product", &parsed.device_product),
        ("deviceversion", &parsed.device_version),
        ("signature", &parsed.signature_id),
        ("severity", &parsed.severity),
    ] {
        header.insert(k.into(), Value::String(v.to_string()));
    }
    ev.details.insert("cef", Value::Object(header));
    let labeled: Vec<(String, String)> = parsed
        .labeled_fields()
        .into_iter()
        .map(|(l, v)| (field_name(l), v.to_string()))
        .collect();
    // Set in bulk: a line may carry very many extensions (linear time, not quadratic).
    let mut fields: Vec<(Key, Value)> = Vec::with_capacity(parsed.extensions.len() + 4);
    for (k, v) in &parsed.extensions {
        let name = cef::full_name(k).map_or_else(|| field_name(k), str::to_string);
        fields.push((name.into(), Value::String(v.to_string())));
        if let Some((_, moz)) = MOZDEF_NAMES.iter().find(|(short, _)| short == k) {
            fields.push(((*moz).into(), Value::String(v.to_string())));
        }
    }
    ev.details.extend(fields);
    ev.details.extend_if_absent(
        labeled
            .into_iter()
            .filter(|(label, _)| !label.is_empty())
            .map(|(label, v)| (label, Value::String(v))),
    );
    if !parsed.name.is_empty() {
        ev.summary = parsed.name.to_string();
    }
    if let Some(n) = parsed.severity_number() {
        ev.severity = severity_of(n);
    }
    if !parsed.device_product.is_empty() {
        ev.processname = parsed.device_product.to_string();
    }
    ev.category = "cef".into();
    ev.tags.push("cef".into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizeContext;
    use crate::syslog::{syslog_event, RawMeta};

    #[test]
    fn cef_in_syslog_maps_to_mozdef() {
        let ctx = NormalizeContext {
            now: chrono::Utc::now(),
            mozdefhostname: "m".into(),
            default_tz: chrono_tz::UTC,
            source: None,
        };
        let line = b"<164>Nov 22 10:15:07 auth-1 CEF:0|mozilla|accounts|3|AuthFail|Authentication failure|8|cs1Label=requestClientApplication cs1=Firefox requestMethod=POST request=/login src=203.0.113.9 dhost=a.example suser=tarek";
        let ev = syslog_event(line, RawMeta::default(), &ctx, &Default::default());
        assert_eq!(ev.summary, "Authentication failure");
        assert_eq!(ev.severity, Severity::Error);
        assert_eq!(ev.category, "cef");
        assert_eq!(ev.hostname, "auth-1");
        assert_eq!(ev.processname, "accounts");
        assert_eq!(ev.details["sourceipaddress"], "203.0.113.9");
        assert_eq!(ev.details["sourceAddress"], "203.0.113.9");
        assert_eq!(ev.details["username"], "tarek");
        assert_eq!(ev.details["requestClientApplication"], "Firefox");
        assert_eq!(ev.details["cef"]["signature"], "AuthFail");
        assert!(ev.tags.contains(&"cef".to_string()));

        let bad = b"<13>Nov 22 10:15:07 h CEF:0|only|three";
        let ev = syslog_event(bad, RawMeta::default(), &ctx, &Default::default());
        assert!(ev.tags.contains(&"cef_parse_error".to_string()));
        assert!(ev.details["cef_error"]
            .as_str()
            .unwrap()
            .contains("header field"));
    }
}
