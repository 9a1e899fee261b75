//! The `rules test` commands on the shared corpora, as a user runs them: MozDef's own alert
//! cases and SigmaHQ's regression data must all pass, and the output ends with the one-line
//! summary.

#[path = "../../../tests-support/corpora.rs"]
mod corpora;

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodef"))
        .args(args)
        .output()
        .expect("run ferrodef");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[test]
fn rules_test_mozdef_cases_passes_mozdefs_own_alert_tests() {
    let file = corpora::corpora().join("mozdef/alert_cases.json");
    let (ok, out) = run(&["rules", "test", "--mozdef-cases", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    let last = last_line(&out);
    let (n, m) = last
        .strip_prefix("passed ")
        .and_then(|r| r.strip_suffix(" cases"))
        .and_then(|r| r.split_once(" of "))
        .unwrap_or_else(|| panic!("last line: {last}"));
    assert_eq!(n, m, "{out}");
    assert!(n.parse::<usize>().unwrap() >= 30, "{out}");
}

#[test]
fn rules_test_sigma_regression_passes_sigmahqs_samples() {
    let dir = corpora::corpora().join("sigma/regression_windows");
    let (ok, out) = run(&["rules", "test", "--sigma-regression", dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    let last = last_line(&out);
    assert!(last.starts_with("passed "), "{last}");
    let (n, m) = last
        .strip_prefix("passed ")
        .and_then(|r| r.strip_suffix(" cases"))
        .and_then(|r| r.split_once(" of "))
        .unwrap();
    assert_eq!(n, m);
    assert!(n.parse::<usize>().unwrap() >= 100, "{out}");
}

#[test]
fn a_failing_case_is_shown_and_the_status_is_1() {
    let file = corpora::corpora().join("mozdef/alert_cases.json");
    let mut cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    // Expect a different summary in the first positive case.
    let case = cases["alerts"][0]["cases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["positive"] == true)
        .unwrap();
    case["expected_alert"]["summary"] = "not what fires".into();
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("cases.json");
    std::fs::write(&f, cases.to_string()).unwrap();
    let (ok, out) = run(&["rules", "test", "--mozdef-cases", f.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("not what fires"), "{out}");
    let last = last_line(&out);
    assert!(last.starts_with("passed "), "{last}");
    let (n, m) = last
        .strip_prefix("passed ")
        .and_then(|r| r.strip_suffix(" cases"))
        .and_then(|r| r.split_once(" of "))
        .unwrap();
    assert_eq!(n.parse::<usize>().unwrap() + 1, m.parse::<usize>().unwrap());
}
