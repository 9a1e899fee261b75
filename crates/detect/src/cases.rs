//! MozDef's alert test cases as a product feature (`rules test --mozdef-cases FILE`).
//!
//! The file has the format of `mozdef/alert_cases.json`: `alerts[]` with `alert_classname`,
//! `deadman`, `frozen_now` and `cases[]` of `{description, positive, events[] (as indexed,
//! `{_source: …}`), expected_alert?, expected_alert_event_count?}`. Each case runs on a fresh
//! engine (an empty store that has been watching for ever) with the clock frozen at
//! `frozen_now`: the events go in as one batch, then the clock ticks once. Checked, as
//! MozDef's harness does: a positive case fires, and every alert it fires has each key of
//! `expected_alert` (with `channel` null and `notify_mozdefbot` computed when absent), the
//! rule's `classname`, and carries `expected_alert_event_count` events (deadman alerts: none
//! is checked); a negative case fires nothing. Reverse DNS answers as the harness's mock does
//! (`10.2.3.4` is `mock_hostname1.mozilla.org`, every other address `mock.mozilla.org`).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::engine::{Engine, EngineOptions};
use crate::rule::RuleSet;

#[derive(Debug, Deserialize)]
struct CaseFile {
    alerts: Vec<AlertCases>,
}

#[derive(Debug, Deserialize)]
struct AlertCases {
    alert_classname: String,
    #[serde(default)]
    deadman: bool,
    frozen_now: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    description: String,
    positive: bool,
    events: Vec<Value>,
    #[serde(default)]
    expected_alert: Option<Map<String, Value>>,
    #[serde(default)]
    expected_alert_event_count: Option<usize>,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// `AlertClass: description`.
    pub name: String,
    /// Empty when the case passed; else what differed.
    pub problems: Vec<String>,
}

/// The outcome of a case file.
#[derive(Debug, Clone, Default)]
pub struct CaseReport {
    /// Every case, in file order.
    pub cases: Vec<CaseOutcome>,
}

impl CaseReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.problems.is_empty()).count()
    }

    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.passed() == self.cases.len()
    }

    /// Each failing case with its differences, then `passed N of M cases`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in self.cases.iter().filter(|c| !c.problems.is_empty()) {
            let _ = writeln!(out, "FAIL {}", c.name);
            for p in &c.problems {
                let _ = writeln!(out, "    {p}");
            }
        }
        let _ = writeln!(
            out,
            "passed {} of {} cases",
            self.passed(),
            self.cases.len()
        );
        out
    }
}

/// MozDef's test harness mock of `socket.gethostbyaddr`.
pub fn mozdef_mock_resolver(ip: IpAddr) -> Option<String> {
    Some(if ip.to_string() == "10.2.3.4" {
        "mock_hostname1.mozilla.org".to_string()
    } else {
        "mock.mozilla.org".to_string()
    })
}

/// Runs a case file against a rule set.
pub fn run_mozdef_cases(file: &Path, rules: &RuleSet) -> Result<CaseReport, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    run_mozdef_cases_str(&text, rules).map_err(|e| format!("{}: {e}", file.display()))
}

/// Runs case-file text against a rule set.
pub fn run_mozdef_cases_str(text: &str, rules: &RuleSet) -> Result<CaseReport, String> {
    let cf: CaseFile = serde_json::from_str(text).map_err(|e| {
        format!(
            "not a MozDef case file (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    let mut report = CaseReport::default();
    for a in &cf.alerts {
        let now = DateTime::parse_from_rfc3339(&a.frozen_now)
            .map_err(|e| format!("{}: frozen_now '{}': {e}", a.alert_classname, a.frozen_now))?
            .with_timezone(&Utc);
        for (i, c) in a.cases.iter().enumerate() {
            let name = format!("{} #{i}: {}", a.alert_classname, c.description);
            let problems = match rules.by_classname(&a.alert_classname) {
                Some(rule) => {
                    let single = RuleSet {
                        rules: vec![rule.clone()],
                    };
                    run_case(&single, a, c, now)
                }
                None => vec![format!(
                    "no rule with classname '{}' in the rule set",
                    a.alert_classname
                )],
            };
            report.cases.push(CaseOutcome { name, problems });
        }
    }
    Ok(report)
}

fn run_case(rules: &RuleSet, a: &AlertCases, c: &Case, now: DateTime<Utc>) -> Vec<String> {
    let mut events: Vec<Map<String, Value>> = c
        .events
        .iter()
        .filter_map(|e| e.get("_source").unwrap_or(e).as_object().cloned())
        .collect();
    if events.len() != c.events.len() {
        return vec!["an event is not a JSON object".into()];
    }
    let opts = EngineOptions {
        started: Some(DateTime::<Utc>::MIN_UTC),
        resolver: Some(Arc::new(mozdef_mock_resolver) as Arc<crate::template::Resolver>),
        ..EngineOptions::default()
    };
    let mut engine = Engine::new(rules.clone(), opts);
    let mut alerts = engine.process_batch(&mut events, now);
    alerts.extend(engine.tick(now));
    let mut problems = Vec::new();
    if !c.positive {
        for al in &alerts {
            problems.push(format!(
                "expected no alert, got: {} ({} {})",
                al.summary, al.severity, al.category
            ));
        }
        return problems;
    }
    if alerts.is_empty() {
        problems.push("expected an alert, none fired".into());
        return problems;
    }
    let mut expected = c.expected_alert.clone().unwrap_or_default();
    let channel = expected.get("channel").cloned().unwrap_or(Value::Null);
    expected.insert("channel".into(), channel.clone());
    let sev = expected
        .get("severity")
        .and_then(Value::as_str)
        .unwrap_or("NOTICE")
        .to_string();
    let notify = !((sev == "NOTICE" || sev == "INFO") && channel.is_null());
    expected.insert("notify_mozdefbot".into(), Value::Bool(notify));
    for al in &alerts {
        let got = al.to_value();
        if al.classname != a.alert_classname {
            problems.push(format!(
                "classname: got {:?}, expected {:?}",
                al.classname, a.alert_classname
            ));
        }
        for (k, want) in &expected {
            let have = got.get(k).cloned().unwrap_or(Value::Null);
            if &have != want {
                problems.push(format!("{k}: got {have}, expected {want}"));
            }
        }
        if !a.deadman {
            let want = c.expected_alert_event_count.unwrap_or(c.events.len());
            if al.events.len() != want {
                problems.push(format!(
                    "events carried: got {}, expected {want}",
                    al.events.len()
                ));
            }
        }
    }
    problems
}
