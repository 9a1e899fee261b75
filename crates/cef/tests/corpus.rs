//! The CEF corpora: Mozilla's own library outputs (byte-identical emitter, parser reads them
//! back) and the parse cases of pycef, liblognorm and logstash-codec-cef.

use cef::{format_log_call, parse, parse_with, CefConfig, Environ, LogCall, ParseOptions, PyValue};
use serde_json::Value;

fn corpus(name: &str) -> Value {
    let path = format!(
        "{}/../../../shared/corpora/cef/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("corpus is JSON")
}

fn py(v: &Value) -> PyValue {
    match v {
        Value::String(s) => PyValue::Str(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => PyValue::Int(i),
            None => PyValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::Bool(b) => PyValue::Bool(*b),
        Value::Null => PyValue::None,
        other => PyValue::Str(other.to_string()),
    }
}

fn environ(v: &Value) -> Environ {
    Environ::from_wsgi(|k| v.get(k).and_then(Value::as_str))
}

/// Date and host the corpus generator pinned.
const DATE: &str = "Oct 15 13:45:30";
const HOST: &str = "mozdef-test-host";

fn run_case(case: &Value) -> cef::Formatted {
    let input = &case["input"];
    match case["function"].as_str() {
        Some("cef.log_cef") => {
            let cfg = &input["config"];
            let s = |k: &str| cfg.get(k).map(|v| py(v).to_py_string()).unwrap_or_default();
            let config = CefConfig {
                version: s("cef.version"),
                vendor: s("cef.vendor"),
                product: s("cef.product"),
                device_version: s("cef.device_version"),
            };
            let kw: Vec<(String, PyValue)> = input["extensions_kw"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), py(v))).collect())
                .unwrap_or_default();
            let username = input
                .get("username")
                .map_or(PyValue::Str("none".into()), py);
            let signature = input.get("signature").filter(|v| !v.is_null()).map(py);
            format_log_call(&LogCall {
                name: &py(&input["name"]),
                severity: &py(&input["severity"]),
                environ: &environ(&input["environ"]),
                config: &config,
                username: &username,
                signature: signature.as_ref(),
                extensions: &kw,
                date: DATE,
                host: HOST,
                maxlen: Some(1024),
                kw_override: true,
            })
        }
        Some(f) if f.starts_with("cef.") => {
            // The logging formatters (_Formatter / SysLogFormatter).
            let args = &input["record.args"];
            let mut severity = py(&args["severity"]);
            if f.contains("SysLogFormatter") {
                let level = input["record.levelno"].as_i64().expect("levelno");
                severity = PyValue::Int(cef::level_to_syslog_severity(level).expect("known level"));
            }
            let s = |k: &str, d: &str| args.get(k).map_or(d.to_string(), |v| py(v).to_py_string());
            let config = CefConfig {
                version: s("version", "0"),
                vendor: s("vendor", "Mozilla"),
                product: s("product", "Mozilla"),
                device_version: s("device_version", "1"),
            };
            let data: Vec<(String, PyValue)> = args["data"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), py(v))).collect())
                .unwrap_or_default();
            let username = args.get("username").map_or(PyValue::None, py);
            let signature = args.get("signature").filter(|v| !v.is_null()).map(py);
            format_log_call(&LogCall {
                name: &py(&input["record.msg"]),
                severity: &severity,
                environ: &environ(&args["environ"]),
                config: &config,
                username: &username,
                signature: signature.as_ref(),
                extensions: &data,
                date: DATE,
                host: HOST,
                maxlen: args
                    .get("maxlen")
                    .and_then(Value::as_u64)
                    .map(|m| m as usize),
                kw_override: false,
            })
        }
        other => panic!("unknown function {other:?}"),
    }
}

#[test]
fn mozilla_cef05_outputs_byte_identical_and_parse_back() {
    let c = corpus("mozilla_cef05_outputs.json");
    let cases = c["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for case in cases {
        let desc = case["description"].as_str().unwrap_or("?");
        let want = case["output"].as_str().expect("output");
        let got = run_case(case);
        if got.line != want {
            failures.push(format!("{desc}:\n  want {want:?}\n  got  {:?}", got.line));
        }
        let want_warnings: Vec<&str> = case["warnings"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Illegal-key warnings must match exactly; "too big" ones by their start (the library
        // appends Python's repr of its keyword dict).
        let norm = |w: &str| {
            if w.starts_with("CEF Message too big.") {
                "CEF Message too big.".to_string()
            } else {
                w.to_string()
            }
        };
        let a: Vec<String> = want_warnings.iter().map(|w| norm(w)).collect();
        let b: Vec<String> = got.warnings.iter().map(|w| norm(w)).collect();
        if a != b {
            failures.push(format!("{desc}: warnings want {a:?} got {b:?}"));
        }
        // The parser reads the real output back.
        match parse(want) {
            Err(e) => failures.push(format!("{desc}: parse: {e}")),
            Ok(ev) => {
                assert_eq!(ev.prefix, format!("{DATE} {HOST}"), "{desc}");
                let input = &case["input"];
                if let Some(name) = input.get("name").and_then(Value::as_str) {
                    if ev.name != name {
                        failures.push(format!("{desc}: parsed name {:?} != {name:?}", ev.name));
                    }
                }
                if let Some(user) = input.get("username").and_then(Value::as_str) {
                    if ev.get("suser") != Some(user) {
                        failures.push(format!("{desc}: parsed suser {:?}", ev.get("suser")));
                    }
                }
                let env = &input["environ"];
                if let Some(path) = env.get("PATH_INFO").and_then(Value::as_str) {
                    if ev.get("request") != Some(path) {
                        failures.push(format!("{desc}: parsed request {:?}", ev.get("request")));
                    }
                }
                for (k, v) in input["extensions_kw"].as_object().into_iter().flatten() {
                    let text = py(v).to_py_string();
                    if ev.get(k) != Some(text.as_str()) && got.line.contains(&format!(" {k}=")) {
                        failures.push(format!("{desc}: parsed {k} {:?} != {text:?}", ev.get(k)));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Field names of each source mapped to the parser's.
fn header_of<'a>(ev: &'a cef::CefEvent<'_>, field: &str) -> Option<&'a str> {
    Some(match field {
        "CEFVersion" | "cefVersion" => ev.version.as_ref(),
        "DeviceVendor" | "deviceVendor" => ev.device_vendor.as_ref(),
        "DeviceProduct" | "deviceProduct" => ev.device_product.as_ref(),
        "DeviceVersion" | "deviceVersion" => ev.device_version.as_ref(),
        "DeviceEventClassID" | "SignatureID" | "deviceEventClassId" => ev.signature_id.as_ref(),
        "Name" | "DeviceName" | "name" => ev.name.as_ref(),
        "Severity" | "DeviceSeverity" | "severity" => ev.severity.as_ref(),
        _ => return None,
    })
}

/// Logstash's expanded extension names back to the short keys.
fn logstash_key(field: &str) -> String {
    // Field references like [ad.field][0] are the raw key ad.field[0].
    if let Some(rest) = field.strip_prefix('[') {
        let parts: Vec<&str> = rest.trim_end_matches(']').split("][").collect();
        if let [first, idx @ ..] = parts.as_slice() {
            return format!(
                "{first}{}",
                idx.iter().map(|i| format!("[{i}]")).collect::<String>()
            );
        }
    }
    field.to_string()
}

fn ext_value<'a>(ev: &'a cef::CefEvent<'_>, key: &str) -> Option<&'a str> {
    ev.get(key).or_else(|| {
        ev.extensions
            .iter()
            .rev()
            .find(|(k, _)| cef::full_name(k) == Some(key))
            .map(|(_, v)| v.as_ref())
    })
}

#[test]
fn parse_cases_per_source() {
    let cases = corpus("parse_cases.json");
    let mut failures = Vec::new();
    for case in cases.as_array().expect("cases") {
        let source = case["source"].as_str().unwrap_or("?");
        let name = format!(
            "{source} {} #{}",
            case["test"],
            case.get("line_no").unwrap_or(&Value::Null)
        );
        let input = case["input"].as_str().expect("input");
        let expected = &case["expected"];
        let failed = expected.is_null()
            || expected.get("unparsed-data").is_some()
            || expected
                .get("tags")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|x| x == "_cefparsefailure"));
        // pycef rejects blank header fields; the others accept them.
        let opts = ParseOptions {
            require_header_values: source == "pycef",
        };
        let res = parse_with(input, opts);
        if failed {
            if let Ok(ev) = res {
                failures.push(format!("{name}: accepted, want rejection: {ev:?}"));
            }
            continue;
        }
        let ev = match res {
            Ok(ev) => ev,
            Err(e) => {
                failures.push(format!("{name}: rejected: {e}"));
                continue;
            }
        };
        let fields: Vec<(String, &Value)> = match source {
            "liblognorm" => {
                let f = &expected["f"];
                let mut v: Vec<(String, &Value)> = f
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| *k != "Extensions")
                    .map(|(k, v)| (k.clone(), v))
                    .collect();
                v.extend(
                    f["Extensions"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v)),
                );
                v
            }
            _ => expected
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v))
                .collect(),
        };
        for (field, want) in fields {
            let want_s = match want {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let got = match header_of(&ev, &field) {
                Some(h) => Some(h.to_string()),
                None if source == "logstash-codec-cef" && field == "syslog" => {
                    Some(ev.prefix.to_string())
                }
                None if source == "logstash-codec-cef"
                    && field == "message"
                    && ev.get("msg").is_none() =>
                {
                    continue;
                }
                None if source == "logstash-codec-cef" => {
                    ext_value(&ev, &logstash_key(&field)).map(str::to_string)
                }
                None => ev.get(&field).map(str::to_string),
            };
            if got.as_deref() != Some(want_s.as_str()) {
                failures.push(format!("{name}: {field}: want {want_s:?}, got {got:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
