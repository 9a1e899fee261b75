//! Helpers of the unit tests.

use ferrodef_event::{Alert, Severity};

/// The sample alert with another severity, category and rule.
pub(crate) fn alert(severity: Severity, category: &str, rule: &str) -> Alert {
    let mut a = crate::sample_alert();
    a.severity = severity;
    a.category = category.into();
    a.rule = rule.into();
    a.tags.clear();
    a
}
