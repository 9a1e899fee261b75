//! Corpus conformance: MozDef's own parser cases from the shared corpora (`FERRODEF_CORPORA`,
//! `mozdef/mq_parse_cases.json`).

use ferrodef_parsers::parse_by_program;
use serde_json::Value;

#[path = "../../../tests-support/corpora.rs"]
mod support;
use support::corpora;

/// MozDef's own parse_sshd / parse_su cases: every expected `details.*` field (null = absent).
#[test]
fn mozdef_cases() {
    let path = corpora().join("mozdef/mq_parse_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let data: Value = serde_json::from_str(&text).unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    for case in data["cases"].as_array().unwrap() {
        let plugin = case["plugin"].as_str().unwrap();
        let summary = case["input"]["summary"].as_str().unwrap_or("");
        let parsed = if plugin.ends_with("parse_sshd.py") {
            parse_by_program(case["input"]["processname"].as_str().unwrap(), summary)
        } else if plugin.ends_with("parse_su.py") {
            parse_by_program(
                case["input"]["details"]["program"].as_str().unwrap(),
                summary,
            )
        } else {
            continue;
        };
        n += 1;
        let Some(p) = parsed else {
            failures.push(format!("{summary}: not parsed"));
            continue;
        };
        for (k, want) in case["expected"].as_object().unwrap() {
            let key = k.strip_prefix("details.").unwrap();
            // MozDef keeps the event's own fields when the plugin sets none: compare only what
            // the plugin itself output.
            let base = &case["input"]["details"][key];
            let got = p.fields.get(key).cloned().unwrap_or_else(|| base.clone());
            if &got != want {
                failures.push(format!("{summary}: {key}: want {want}, got {got}"));
            }
        }
    }
    assert_eq!(n, 21);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
