//! Corpus conformance: `syslog/cases.json` of the shared corpora (`FERRODEF_CORPORA`), every
//! field each upstream test asserts, by case.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use ferrodef_syslog::{parse, parse_strict, DefaultTz, Message, ParseOptions, Protocol, Variant};
use serde_json::Value;

#[path = "../../../tests-support/corpora.rs"]
mod support;
use support::corpora;

fn cases() -> Vec<Value> {
    let path = corpora().join("syslog/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("corpus is JSON")
}

const FACILITIES: [&str; 24] = [
    "LOG_KERN",
    "LOG_USER",
    "LOG_MAIL",
    "LOG_DAEMON",
    "LOG_AUTH",
    "LOG_SYSLOG",
    "LOG_LPR",
    "LOG_NEWS",
    "LOG_UUCP",
    "LOG_CRON",
    "LOG_AUTHPRIV",
    "LOG_FTP",
    "LOG_NTP",
    "LOG_AUDIT",
    "LOG_ALERT",
    "LOG_CLOCKD",
    "LOG_LOCAL0",
    "LOG_LOCAL1",
    "LOG_LOCAL2",
    "LOG_LOCAL3",
    "LOG_LOCAL4",
    "LOG_LOCAL5",
    "LOG_LOCAL6",
    "LOG_LOCAL7",
];
const SEVERITIES: [&str; 8] = [
    "SEV_EMERG",
    "SEV_ALERT",
    "SEV_CRIT",
    "SEV_ERR",
    "SEV_WARNING",
    "SEV_NOTICE",
    "SEV_INFO",
    "SEV_DEBUG",
];

/// The zone a case's naive timestamps are in (`call.tz`), UTC by default.
fn zone(call: &Value) -> DefaultTz {
    let tz = call.get("tz").and_then(Value::as_str).unwrap_or("UTC");
    if let Ok(off) = tz.parse::<FixedOffset>() {
        return off.into();
    }
    if let Ok(named) = tz.parse::<chrono_tz::Tz>() {
        return named.into();
    }
    DefaultTz::default()
}

fn options(call: &Value) -> ParseOptions {
    // The upstream year rule: December -> 2019, any other month -> 2020. A reference clock in
    // mid-2020 gives exactly that with ferrodef's "not more than a day in the future" rule.
    let now = Utc
        .with_ymd_and_hms(2020, 6, 1, 0, 0, 0)
        .single()
        .expect("valid date");
    let variant = match call.get("variant").and_then(Value::as_str) {
        Some("RFC3164") => Variant::Rfc3164,
        Some("RFC5424") => Variant::Rfc5424,
        _ => Variant::Either,
    };
    ParseOptions {
        default_tz: zone(call),
        now,
        variant,
    }
}

fn expected_instant(v: &Value, tz: &DefaultTz) -> Option<DateTime<FixedOffset>> {
    let s = v.as_str()?;
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    tz.localize(naive)
}

fn check_loose(case: &Value, m: &Message<'_>, errs: &mut Vec<String>) {
    let exp = &case["expected"];
    let call = &case["call"];
    let unchecked: Vec<&str> = case
        .get("unchecked_fields")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fail = |field: &str, want: &Value, got: String| {
        errs.push(format!("{field}: want {want}, got {got}"));
    };
    let Some(obj) = exp.as_object() else { return };
    for (field, want) in obj {
        if unchecked.contains(&field.as_str()) {
            continue;
        }
        match field.as_str() {
            "facility" => {
                let got = m
                    .facility
                    .and_then(|f| FACILITIES.get(usize::from(f.code())).copied());
                if want.as_str() != got {
                    fail(field, want, format!("{got:?}"));
                }
            }
            "severity" => {
                let got = m
                    .severity
                    .and_then(|s| SEVERITIES.get(usize::from(s.code())).copied());
                if want.as_str() != got {
                    fail(field, want, format!("{got:?}"));
                }
            }
            "timestamp" => {
                let want_t = expected_instant(want, &zone(call));
                if want_t != m.timestamp {
                    fail(field, want, format!("{:?}", m.timestamp));
                }
            }
            "hostname" | "appname" | "msgid" => {
                let got = match field.as_str() {
                    "hostname" => m.hostname,
                    "appname" => m.appname,
                    _ => m.msgid,
                };
                if want.as_str() != got {
                    fail(field, want, format!("{got:?}"));
                }
            }
            "procid" => {
                let ok = match want {
                    Value::Null => m.procid.is_none(),
                    Value::Number(n) => m.procid == Some(n.to_string().as_str()),
                    Value::String(s) => m.procid == Some(s.as_str()),
                    _ => false,
                };
                if !ok {
                    fail(field, want, format!("{:?}", m.procid));
                }
            }
            "protocol" => {
                let got = match m.protocol {
                    Protocol::Rfc3164 => "RFC3164",
                    Protocol::Rfc5424 => "RFC5424(1)",
                    Protocol::Unknown => "unknown",
                };
                if want.as_str() != Some(got) {
                    fail(field, want, got.to_string());
                }
            }
            "msg" => {
                if want.as_str() != Some(m.msg.as_ref()) {
                    fail(field, want, format!("{:?}", m.msg));
                }
            }
            "structured_data" => {
                let got: Vec<Value> = m
                    .structured_data
                    .iter()
                    .map(|e| {
                        let params: Vec<Value> = e
                            .params
                            .iter()
                            .map(|(k, v)| serde_json::json!([k, v]))
                            .collect();
                        serde_json::json!({"id": e.id, "params": params})
                    })
                    .collect();
                if want != &Value::Array(got.clone()) {
                    fail(field, want, Value::Array(got).to_string());
                }
            }
            other => fail(other, &Value::Null, "unknown expected field".into()),
        }
    }
}

fn check_rfc5424(case: &Value, m: &Message<'_>, errs: &mut Vec<String>) {
    let Some(obj) = case["expected"].as_object() else {
        return;
    };
    for (field, want) in obj {
        let ok = match field.as_str() {
            "ok" => true,
            "facility" => {
                m.facility
                    .and_then(|f| FACILITIES.get(usize::from(f.code())).copied())
                    == want.as_str()
            }
            "severity" => {
                m.severity
                    .and_then(|s| SEVERITIES.get(usize::from(s.code())).copied())
                    == want.as_str()
            }
            "timestamp" => match want {
                Value::Null => m.timestamp.is_none(),
                w => m.timestamp.map(|t| t.timestamp()) == w.as_i64(),
            },
            "timestamp_nanos" => {
                m.timestamp.map(|t| i64::from(t.timestamp_subsec_nanos())) == want.as_i64()
            }
            "hostname" => m.hostname == want.as_str(),
            "appname" => m.appname == want.as_str(),
            "msgid" => m.msgid == want.as_str(),
            "msg" => want.as_str() == Some(m.msg.as_ref()),
            "procid" => match want {
                Value::Null => m.procid.is_none(),
                w => m.pid().map(i64::from) == w.as_i64(),
            },
            "sd_len" => {
                let mut ids: Vec<&str> = m.structured_data.iter().map(|e| e.id).collect();
                ids.sort_unstable();
                ids.dedup();
                Some(ids.len() as u64) == want.as_u64()
            }
            "sd_tuples" | "sd" | "sd_element_len" => {
                let Some(map) = want.as_object() else {
                    errs.push(format!("{field}: not an object"));
                    continue;
                };
                map.iter().all(|(id, v)| {
                    let merged: Vec<(&str, &str)> = m
                        .structured_data
                        .iter()
                        .filter(|e| e.id == id)
                        .flat_map(|e| e.params.iter().map(|(k, v)| (*k, v.as_ref())))
                        .collect();
                    match field.as_str() {
                        "sd_element_len" => Some(merged.len() as u64) == v.as_u64(),
                        _ => {
                            let Some(pm) = v.as_object() else {
                                return false;
                            };
                            let all_present = pm.iter().all(|(k, val)| {
                                merged
                                    .iter()
                                    .any(|(mk, mv)| mk == k && Some(*mv) == val.as_str())
                            });
                            all_present && (field != "sd" || merged.len() == pm.len())
                        }
                    }
                })
            }
            other => {
                errs.push(format!("unknown expected field {other}"));
                continue;
            }
        };
        if !ok {
            errs.push(format!("{field}: want {want}, got {m:?}"));
        }
    }
}

#[test]
fn corpus_cases_pass_field_by_field() {
    let cases = cases();
    assert!(cases.len() >= 30, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let input = case["input"].as_str().expect("input").as_bytes();
        let name = format!("{} {}", case["source"], case["test"]);
        let mut errs = Vec::new();
        let wants_error = case["expected"].get("error").is_some();
        match case["source"].as_str() {
            Some("syslog_rfc5424") => {
                // A strict RFC 5424 parser: the cases are run through parse_strict.
                let opts = ParseOptions {
                    variant: Variant::Rfc5424,
                    ..options(&case["call"])
                };
                match parse_strict(input, &opts) {
                    Ok(m) if wants_error => errs.push(format!("accepted, want error: {m:?}")),
                    Ok(m) => check_rfc5424(case, &m, &mut errs),
                    Err(e) if wants_error => {
                        assert!(e.offset <= input.len(), "{name}: offset in range");
                    }
                    Err(e) => errs.push(format!("rejected: {e}")),
                }
            }
            _ => {
                let opts = options(&case["call"]);
                if wants_error {
                    if let Ok(m) = parse_strict(input, &opts) {
                        errs.push(format!("accepted, want error: {m:?}"));
                    }
                    // The lenient parser keeps such input whole instead.
                    let m = parse(input, &opts);
                    if m.protocol != Protocol::Unknown && m.timestamp.is_none() {
                        errs.push(format!("lenient parse invented a format: {m:?}"));
                    }
                } else {
                    check_loose(case, &parse(input, &opts), &mut errs);
                }
            }
        }
        if !errs.is_empty() {
            failures.push(format!("{name}:\n  {}", errs.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
