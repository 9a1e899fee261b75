//! MozDef's alert test cases for the modules not in the public case file, extracted from
//! upstream `tests/alerts/test_*.py` (see `cases/extract_mozdef_cases.py`), against the shipped
//! rule set; cases written in the same format for the alerts that have no upstream test
//! (`cases/ported/`); and the runner's own contract (failures are reported with the difference).

use std::path::Path;

use ferrodef_detect::{run_mozdef_cases, run_mozdef_cases_str, RuleSet};

fn rules() -> RuleSet {
    match RuleSet::from_embedded() {
        Ok(r) => r,
        Err(e) => panic!("embedded rules: {e:?}"),
    }
}

#[test]
fn upstream_cases_of_the_other_modules_pass() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/mozdef_more.json");
    let report = match run_mozdef_cases(&file, &rules()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let text = report.render();
    println!("{text}");
    assert_eq!(report.cases.len(), 179);
    assert!(report.all_passed(), "{text}");
}

/// The alerts with no upstream test (ssh_bruteforce_bro, http_auth_bruteforce,
/// bugzilla_auth_bruteforce, http_errors, ldap_lockout, vpn_duo_auth_failures,
/// multiple_intel_hits, ssl_blacklist_hit, auditd_sftp): cases written from the Python classes
/// in the upstream harness's format (`cases/ported/`, extracted to `cases/mozdef_ported.json`).
#[test]
fn ported_cases_of_the_alerts_without_upstream_tests_pass() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/mozdef_ported.json");
    let report = match run_mozdef_cases(&file, &rules()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let text = report.render();
    println!("{text}");
    assert_eq!(report.cases.len(), 132);
    assert!(report.all_passed(), "{text}");
}

#[test]
fn a_wrong_expectation_is_reported_with_the_difference() {
    let file = r#"{"alerts": [{"alert_classname": "PromiscKernel", "deadman": false,
      "frozen_now": "2017-01-01T01:00:00+00:00", "cases": [
      {"description": "wrong summary", "positive": true,
       "events": [{"_source": {"category": "syslog", "hostname": "h1",
         "summary": "device eth0 entered promiscuous mode",
         "utctimestamp": "2017-01-01T01:00:00+00:00",
         "receivedtimestamp": "2017-01-01T01:00:00+00:00"}}],
       "expected_alert": {"category": "promisc", "severity": "WARNING",
         "summary": "Promiscuous mode enabled on h2 [1]", "tags": ["promisc", "kernel"]},
       "expected_alert_event_count": 1},
      {"description": "fires though negative", "positive": false,
       "events": [{"_source": {"category": "syslog", "hostname": "h1",
         "summary": "device eth0 entered promiscuous mode",
         "utctimestamp": "2017-01-01T01:00:00+00:00"}}]},
      {"description": "right", "positive": true,
       "events": [{"_source": {"category": "syslog", "hostname": "h1",
         "summary": "device eth0 entered promiscuous mode",
         "utctimestamp": "2017-01-01T01:00:00+00:00"}}],
       "expected_alert": {"category": "promisc", "severity": "WARNING",
         "summary": "Promiscuous mode enabled on h1 [1]", "tags": ["promisc", "kernel"]},
       "expected_alert_event_count": 1}
    ]}, {"alert_classname": "NoSuchAlert", "frozen_now": "2017-01-01T01:00:00+00:00",
       "cases": [{"description": "x", "positive": false, "events": []}]}]}"#;
    let report = match run_mozdef_cases_str(file, &rules()) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let text = report.render();
    assert_eq!(report.passed(), 1, "{text}");
    assert!(text.contains("summary: got \"Promiscuous mode enabled on h1 [1]\", expected \"Promiscuous mode enabled on h2 [1]\""), "{text}");
    assert!(
        text.contains("expected no alert, got: Promiscuous mode enabled on h1 [1]"),
        "{text}"
    );
    assert!(
        text.contains("no rule with classname 'NoSuchAlert'"),
        "{text}"
    );
    assert!(text.ends_with("passed 1 of 4 cases\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("passed ")).count(), 1);
}

#[test]
fn a_file_that_is_not_a_case_file_is_an_error_with_its_position() {
    let err = run_mozdef_cases_str("{\"alerts\": [1]}", &rules()).err();
    assert!(err.is_some_and(|e| e.contains("line 1")));
}
