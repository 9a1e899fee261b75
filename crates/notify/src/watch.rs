//! Telling the operator that a notifier is failing: an alert nobody receives is the failure a
//! SIEM must not keep quiet about. [`FailureWatch`] is a [`DeliverySink`]: when a delivery to a
//! notifier is given up (failed, or dropped because its queue was full), it raises a `System`
//! alert naming the notifier, the alert and the last error, at most once per notifier per
//! period (the failures in between are counted into the next one). The dispatcher never routes
//! a notifier's own failure alert back to that notifier ([`failure_rule`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use ferrodef_event::{Alert, RuleKind, Severity};
use parking_lot::Mutex;
use serde_json::{json, Map};

use crate::record::{DeliveryRecord, DeliverySink, DeliveryStatus};

/// The rule name of the alert saying that `notifier` fails.
pub fn failure_rule(notifier: &str) -> String {
    format!("system:notify:{notifier}")
}

/// Whether `alert` is the alert saying that `notifier` fails.
pub(crate) fn is_failure_of(alert: &Alert, notifier: &str) -> bool {
    alert.rule_kind == RuleKind::System
        && alert
            .rule
            .strip_prefix("system:notify:")
            .is_some_and(|n| n == notifier)
}

/// Per notifier: when the last alert was raised and failures since.
#[derive(Default)]
struct Seen {
    last: Option<DateTime<Utc>>,
    since: u64,
}

/// Raises an alert when deliveries are given up. See the [module docs](self).
pub struct FailureWatch {
    every: Duration,
    seen: Mutex<HashMap<String, Seen>>,
    raise: Box<dyn Fn(Alert) + Send + Sync>,
}

impl FailureWatch {
    /// Calls `raise` with the alert, at most once per notifier per `every`. `raise` must not
    /// block (it is called from the dispatcher's tasks).
    pub fn new(every: std::time::Duration, raise: impl Fn(Alert) + Send + Sync + 'static) -> Self {
        FailureWatch {
            every: Duration::from_std(every).unwrap_or(Duration::MAX),
            seen: Mutex::new(HashMap::new()),
            raise: Box::new(raise),
        }
    }

    /// The alert for one given-up delivery, or `None` while the notifier's period runs.
    fn observe(&self, r: &DeliveryRecord, now: DateTime<Utc>) -> Option<Alert> {
        if !matches!(r.status, DeliveryStatus::Failed | DeliveryStatus::Dropped) {
            return None;
        }
        let mut seen = self.seen.lock();
        let s = seen.entry(r.notifier.clone()).or_default();
        s.since += 1;
        if s.last.is_some_and(|t| now - t < self.every) {
            return None;
        }
        let failures = std::mem::take(&mut s.since);
        s.last = Some(now);
        let what = match r.status {
            DeliveryStatus::Dropped => "dropped",
            _ => "failed",
        };
        let error = r.last_error.as_deref().unwrap_or("no error recorded");
        let mut details = Map::new();
        details.insert("notifier".into(), json!(r.notifier));
        details.insert("alert_id".into(), json!(r.alert_id));
        details.insert("attempts".into(), json!(r.attempts));
        details.insert("error".into(), json!(error));
        details.insert("failures".into(), json!(failures));
        Some(Alert {
            id: Alert::new_id(now, fastrand::u64(..)),
            utctimestamp: now,
            severity: Severity::Error,
            summary: format!(
                "notifier '{}' {what} a notification of alert {} after {} attempt(s): {error} \
                 ({failures} given up since the last such alert)",
                r.notifier, r.alert_id, r.attempts
            ),
            category: "maintenance".into(),
            tags: vec!["ferrodef".into(), "notification".into()],
            rule: failure_rule(&r.notifier),
            rule_kind: RuleKind::System,
            classname: "NotifierFailing".into(),
            channel: None,
            notify_mozdefbot: false,
            url: None,
            key: Some(r.notifier.clone()),
            count: failures,
            events: Vec::new(),
            details,
        })
    }
}

impl DeliverySink for FailureWatch {
    fn record(&self, record: &DeliveryRecord) {
        if let Some(a) = self.observe(record, Utc::now()) {
            (self.raise)(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(notifier: &str, status: DeliveryStatus) -> DeliveryRecord {
        let mut r = DeliveryRecord::new("A1", notifier, Utc::now());
        r.status = status;
        r.attempts = 3;
        r.last_error = Some("connection refused".into());
        r
    }

    #[test]
    fn one_alert_per_notifier_per_period_with_the_count() {
        let w = FailureWatch::new(std::time::Duration::from_secs(900), |_| {});
        let t0 = Utc::now();
        let a = w
            .observe(&record("soc", DeliveryStatus::Failed), t0)
            .expect("first failure raises");
        assert_eq!(a.rule, "system:notify:soc");
        assert!(is_failure_of(&a, "soc") && !is_failure_of(&a, "other"));
        assert!(a.summary.contains("connection refused"), "{}", a.summary);
        assert_eq!(a.details["notifier"], "soc");
        // Within the period: counted, not raised; another notifier is independent.
        for _ in 0..4 {
            assert!(w
                .observe(
                    &record("soc", DeliveryStatus::Dropped),
                    t0 + Duration::minutes(1)
                )
                .is_none());
        }
        assert!(w
            .observe(&record("mail", DeliveryStatus::Failed), t0)
            .is_some());
        // Delivered records never raise.
        assert!(w
            .observe(&record("x", DeliveryStatus::Delivered), t0)
            .is_none());
        let b = w
            .observe(
                &record("soc", DeliveryStatus::Failed),
                t0 + Duration::minutes(16),
            )
            .expect("after the period");
        assert_eq!(b.count, 5, "the four counted in between and this one");
    }
}
