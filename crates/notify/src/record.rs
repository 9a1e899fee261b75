//! Delivery records: for each alert and notifier, how delivery went ("visible per alert").

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting in the notifier's queue.
    Queued,
    /// An attempt is under way.
    Sending,
    /// An attempt failed; another is scheduled.
    Retrying,
    /// Delivered (final).
    Delivered,
    /// Given up: the error is permanent, or attempts or age ran out (final).
    Failed,
    /// Never attempted to the end: the queue was full, or the dispatcher shut down first
    /// (final).
    Dropped,
}

impl DeliveryStatus {
    /// Whether nothing will change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Delivered | DeliveryStatus::Failed | DeliveryStatus::Dropped
        )
    }
}

/// The outcome of delivering one alert to one notifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The alert's id.
    pub alert_id: String,
    /// The notifier's name.
    pub notifier: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The error of the last failed attempt (or why it was dropped).
    pub last_error: Option<String>,
    /// When the alert was handed to the dispatcher.
    pub submitted_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (while retrying).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl DeliveryRecord {
    pub(crate) fn new(alert_id: &str, notifier: &str, submitted_at: DateTime<Utc>) -> Self {
        DeliveryRecord {
            alert_id: alert_id.to_string(),
            notifier: notifier.to_string(),
            status: DeliveryStatus::Queued,
            attempts: 0,
            last_error: None,
            submitted_at,
            delivered_at: None,
            next_attempt_at: None,
        }
    }
}

/// Receives every delivery record that reached a final status (delivered, failed, dropped),
/// e.g. to store it with the alert. Called from the dispatcher's tasks: it must not block
/// (hand the record to a channel).
pub trait DeliverySink: Send + Sync {
    /// One final record.
    fn record(&self, record: &DeliveryRecord);
}

/// The records of the most recent alerts, bounded: when more than `capacity` alerts have
/// records, the oldest alert whose records are all final is forgotten.
pub(crate) struct DeliveryLog {
    inner: Mutex<LogInner>,
    capacity: usize,
}

struct LogInner {
    by_alert: HashMap<String, Vec<DeliveryRecord>>,
    order: VecDeque<String>,
}

impl DeliveryLog {
    pub(crate) fn new(capacity: usize) -> DeliveryLog {
        DeliveryLog {
            inner: Mutex::new(LogInner {
                by_alert: HashMap::new(),
                order: VecDeque::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    /// Inserts or replaces the record of (alert, notifier).
    pub(crate) fn put(&self, record: DeliveryRecord) {
        let mut inner = self.inner.lock();
        let LogInner { by_alert, order } = &mut *inner;
        match by_alert.get_mut(&record.alert_id) {
            Some(records) => match records.iter_mut().find(|r| r.notifier == record.notifier) {
                Some(slot) => *slot = record,
                None => records.push(record),
            },
            None => {
                order.push_back(record.alert_id.clone());
                by_alert.insert(record.alert_id.clone(), vec![record]);
                self.evict(by_alert, order);
            }
        }
    }

    /// Forgets the oldest alerts beyond capacity, skipping (keeping) those still in flight.
    fn evict(
        &self,
        by_alert: &mut HashMap<String, Vec<DeliveryRecord>>,
        order: &mut VecDeque<String>,
    ) {
        let mut scanned = 0;
        while by_alert.len() > self.capacity && scanned < order.len() {
            let Some(id) = order.pop_front() else { break };
            let done = by_alert
                .get(&id)
                .is_none_or(|rs| rs.iter().all(|r| r.status.is_final()));
            if done {
                by_alert.remove(&id);
            } else {
                order.push_back(id);
                scanned += 1;
            }
        }
    }

    /// The records of one alert.
    pub(crate) fn get(&self, alert_id: &str) -> Vec<DeliveryRecord> {
        self.inner
            .lock()
            .by_alert
            .get(alert_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every record that is not final.
    pub(crate) fn unfinished(&self) -> Vec<DeliveryRecord> {
        let inner = self.inner.lock();
        inner
            .by_alert
            .values()
            .flatten()
            .filter(|r| !r.status.is_final())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, notifier: &str, status: DeliveryStatus) -> DeliveryRecord {
        DeliveryRecord {
            status,
            ..DeliveryRecord::new(id, notifier, Utc::now())
        }
    }

    #[test]
    fn replaces_per_notifier_and_keeps_several() {
        let log = DeliveryLog::new(10);
        log.put(rec("a", "hook", DeliveryStatus::Queued));
        log.put(rec("a", "mail", DeliveryStatus::Queued));
        log.put(rec("a", "hook", DeliveryStatus::Delivered));
        let rs = log.get("a");
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].status, DeliveryStatus::Delivered);
        assert_eq!(log.unfinished().len(), 1);
        assert!(log.get("nope").is_empty());
    }

    #[test]
    fn bounded_but_keeps_unfinished() {
        let log = DeliveryLog::new(2);
        log.put(rec("pending", "hook", DeliveryStatus::Retrying));
        for i in 0..5 {
            log.put(rec(&format!("done{i}"), "hook", DeliveryStatus::Delivered));
        }
        assert_eq!(log.get("pending").len(), 1, "in-flight records are kept");
        assert!(
            log.get("done0").is_empty(),
            "old final records are forgotten"
        );
        assert_eq!(log.get("done4").len(), 1);
        assert_eq!(log.inner.lock().by_alert.len(), 2);
    }
}
