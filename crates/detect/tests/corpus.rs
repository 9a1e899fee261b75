//! MozDef's own alert test cases (the public case file of the corpora) against the shipped
//! rule set: every case must pass.

#[path = "../../../tests-support/corpora.rs"]
mod corpora;

use ferrodef_detect::{run_mozdef_cases, RuleSet};

#[test]
fn public_mozdef_alert_cases_all_pass() {
    let rules = match RuleSet::from_embedded() {
        Ok(r) => r,
        Err(e) => panic!("embedded rules: {e:?}"),
    };
    let file = corpora::corpora().join("mozdef/alert_cases.json");
    let report = match run_mozdef_cases(&file, &rules) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let text = report.render();
    println!("{text}");
    assert_eq!(report.cases.len(), 30, "the public file has 30 cases");
    assert!(report.all_passed(), "{text}");
    assert!(text.ends_with("passed 30 of 30 cases\n"));
}
