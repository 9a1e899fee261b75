//! Conformance on the shared corpora: every SigmaHQ linux/network rule loads and compiles,
//! and SigmaHQ's Windows regression data passes (with its rules loaded, and as a negative
//! control, other rules stay quiet on each sample).

#[path = "../../../tests-support/corpora.rs"]
mod corpora;

use ferrodef_sigma::{regression, run_regression, SigmaRules};

#[test]
fn all_corpus_rules_load_and_compile() {
    let dir = corpora::corpora().join("sigma/rules");
    let (rules, problems) = SigmaRules::load_dir(&dir);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", shown.join("\n"));
    assert_eq!(rules.len(), 263);
}

#[test]
fn regression_rules_load_and_compile() {
    let dir = corpora::corpora().join("sigma/regression_windows");
    let (rules, problems) = SigmaRules::load_dir(&dir);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", shown.join("\n"));
    let files = count_rule_files(&dir);
    assert_eq!(rules.len(), files);
}

fn count_rule_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            if !p.ends_with("regression_data") {
                n += count_rule_files(&p);
            }
        } else if p.extension().is_some_and(|x| x == "yml") {
            n += 1;
        }
    }
    n
}

#[test]
fn windows_regression_data_passes() {
    let dir = corpora::corpora().join("sigma/regression_windows");
    let report = run_regression(&dir).unwrap_or_default();
    let text = report.render();
    assert!(report.cases.len() >= 100, "{text}");
    assert!(report.failed().is_empty(), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(last, format!("passed {0} of {0} cases", report.cases.len()));
}

/// Negative control: on each regression sample, the rules that fire are few (the rule
/// under test, plus rules written for the same behaviour).
#[test]
fn regression_samples_do_not_trigger_unrelated_rules_widely() {
    let dir = corpora::corpora().join("sigma/regression_windows");
    let (rules, _) = SigmaRules::load_dir(&dir);
    let mut samples = Vec::new();
    collect_json(&dir.join("regression_data"), &mut samples);
    assert!(samples.len() >= 100);
    let mut total_other = 0usize;
    for s in &samples {
        let own = s
            .file_stem()
            .and_then(|x| x.to_str())
            .unwrap_or_default()
            .to_string();
        let events = regression::read_events(s).unwrap_or_default();
        assert!(!events.is_empty(), "{}", s.display());
        for e in &events {
            let hits = rules.matches(e);
            let others = hits.iter().filter(|r| r.id != own).count();
            assert!(
                others <= 4,
                "{}: {:?}",
                s.display(),
                hits.iter().map(|r| &r.title).collect::<Vec<_>>()
            );
            total_other += others;
        }
    }
    assert!(
        total_other < samples.len(),
        "too many cross-matches: {total_other}"
    );
}

fn collect_json(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_json(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}
