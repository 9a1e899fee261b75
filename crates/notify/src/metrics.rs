//! Counters of notifications per notifier, for `/metrics` (Prometheus text).
//!
//! [`NotifyMetrics`] holds prometheus-client families (cheap to clone: clones share the
//! counts). [`NotifyMetrics::register`] adds them to the registry `/metrics` renders (under
//! its prefix, e.g. `ferrodef_notify_sent_total`); [`NotifyMetrics::snapshot`] reads them as
//! plain numbers.

use std::collections::BTreeMap;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Serialize;

/// Label of a notifier.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotifierLabel {
    /// The notifier's name.
    pub notifier: String,
}

/// Label of a drop: the notifier and why (`queue_full`, `shutdown`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabel {
    /// The notifier's name.
    pub notifier: String,
    /// Why.
    pub reason: String,
}

/// Why a notification was dropped: its notifier's queue was full.
pub const DROP_QUEUE_FULL: &str = "queue_full";
/// Why a notification was dropped: the dispatcher shut down before it was delivered.
pub const DROP_SHUTDOWN: &str = "shutdown";

type HistogramFamily = Family<NotifierLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0,
    ])
}

/// The counters of the notification dispatcher.
#[derive(Clone, Debug)]
pub struct NotifyMetrics {
    /// Alerts delivered.
    pub sent: Family<NotifierLabel, Counter>,
    /// Alerts given up on after their last attempt (permanent error, attempts or age
    /// exhausted).
    pub failed: Family<NotifierLabel, Counter>,
    /// Retries scheduled (failed attempts followed by another).
    pub retried: Family<NotifierLabel, Counter>,
    /// Alerts dropped before delivery, by reason.
    pub dropped: Family<DropLabel, Counter>,
    /// Alerts waiting in the notifier's queue or being delivered.
    pub pending: Family<NotifierLabel, Gauge>,
    /// Time from submission to delivery.
    pub delivery_seconds: HistogramFamily,
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        NotifyMetrics::new()
    }
}

/// The counts of one notifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NotifierCounts {
    /// Delivered.
    pub sent: u64,
    /// Given up.
    pub failed: u64,
    /// Retries scheduled.
    pub retried: u64,
    /// Dropped (all reasons).
    pub dropped: u64,
    /// Dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Dropped at shutdown.
    pub dropped_shutdown: u64,
    /// Waiting or in progress now.
    pub pending: i64,
}

impl NotifyMetrics {
    /// New counters, all zero.
    pub fn new() -> NotifyMetrics {
        NotifyMetrics {
            sent: Family::default(),
            failed: Family::default(),
            retried: Family::default(),
            dropped: Family::default(),
            pending: Family::default(),
            delivery_seconds: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        }
    }

    /// Registers the counters as `notify_sent`, `notify_failed`, `notify_retried`,
    /// `notify_dropped`, `notify_pending`, `notify_delivery_seconds` (the registry adds its
    /// prefix, and `_total` to counters).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "notify_sent",
            "Alerts delivered, by notifier",
            self.sent.clone(),
        );
        registry.register(
            "notify_failed",
            "Alerts given up on after the last attempt, by notifier",
            self.failed.clone(),
        );
        registry.register(
            "notify_retried",
            "Failed delivery attempts followed by a retry, by notifier",
            self.retried.clone(),
        );
        registry.register(
            "notify_dropped",
            "Alerts dropped before delivery (queue full, shutdown), by notifier and reason",
            self.dropped.clone(),
        );
        registry.register(
            "notify_pending",
            "Alerts queued or being delivered, by notifier",
            self.pending.clone(),
        );
        registry.register(
            "notify_delivery_seconds",
            "Time from an alert's submission to its delivery, by notifier",
            self.delivery_seconds.clone(),
        );
    }

    /// The counters in the Prometheus text format, on their own (prefix `ferrodef`).
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("ferrodef");
        self.register(&mut registry);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    /// Makes every counter of a notifier exist (so `/metrics` shows zeros, not nothing).
    pub(crate) fn declare(&self, notifier: &str) {
        let l = label(notifier);
        let _ = self.sent.get_or_create(&l);
        let _ = self.failed.get_or_create(&l);
        let _ = self.retried.get_or_create(&l);
        let _ = self.pending.get_or_create(&l);
        for reason in [DROP_QUEUE_FULL, DROP_SHUTDOWN] {
            let _ = self.dropped.get_or_create(&drop_label(notifier, reason));
        }
    }

    /// The counts of one notifier.
    pub fn counts(&self, notifier: &str) -> NotifierCounts {
        let l = label(notifier);
        let queue_full = self
            .dropped
            .get_or_create(&drop_label(notifier, DROP_QUEUE_FULL))
            .get();
        let shutdown = self
            .dropped
            .get_or_create(&drop_label(notifier, DROP_SHUTDOWN))
            .get();
        NotifierCounts {
            sent: self.sent.get_or_create(&l).get(),
            failed: self.failed.get_or_create(&l).get(),
            retried: self.retried.get_or_create(&l).get(),
            dropped: queue_full + shutdown,
            dropped_queue_full: queue_full,
            dropped_shutdown: shutdown,
            pending: self.pending.get_or_create(&l).get(),
        }
    }

    /// The counts of the given notifiers.
    pub fn snapshot<'a>(
        &self,
        notifiers: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, NotifierCounts> {
        notifiers
            .into_iter()
            .map(|n| (n.to_string(), self.counts(n)))
            .collect()
    }
}

pub(crate) fn label(notifier: &str) -> NotifierLabel {
    NotifierLabel {
        notifier: notifier.to_string(),
    }
}

pub(crate) fn drop_label(notifier: &str, reason: &str) -> DropLabel {
    DropLabel {
        notifier: notifier.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_declared_zeros_and_counts() {
        let m = NotifyMetrics::new();
        m.declare("soc hook");
        m.sent.get_or_create(&label("soc hook")).inc();
        m.dropped
            .get_or_create(&drop_label("soc hook", DROP_QUEUE_FULL))
            .inc_by(3);
        let text = m.render();
        assert!(
            text.contains("ferrodef_notify_sent_total{notifier=\"soc hook\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ferrodef_notify_failed_total{notifier=\"soc hook\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "ferrodef_notify_dropped_total{notifier=\"soc hook\",reason=\"queue_full\"} 3"
            ),
            "{text}"
        );
        let c = m.counts("soc hook");
        assert_eq!((c.sent, c.dropped, c.dropped_queue_full), (1, 3, 3));
    }
}
