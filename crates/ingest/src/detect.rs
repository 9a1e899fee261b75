//! The detect stage of the ingest service: rules run on each request's events after the
//! transform stage and before the log, so an event's `alert_names` and the alerts it caused
//! are written to the log together (one durable write: a crash cannot keep one without the
//! other), and an alert is announced only once it is durable.
//!
//! The service knows detection only through these two traits; the rule engines (MozDef rules,
//! Sigma, impossible travel) and the notifiers are composed by the binary.

use chrono::{DateTime, Utc};
use ferrodef_event::{Alert, Subject};
use serde_json::{Map, Value};

/// Runs the rules.
pub trait Detector: Send + Sync {
    /// Evaluates a batch of normalized events (one request, one syslog batch) received at
    /// `now`. May add the names of the rules an event fed to its `alert_names`. Returns the
    /// alerts the batch completed.
    fn detect(&self, events: &mut [Map<String, Value>], now: DateTime<Utc>) -> Vec<Alert>;

    /// [`detect`](Self::detect) on the service's events: normalized events opened for the
    /// rules (read without being made JSON objects), or objects. A detector whose rules keep
    /// events may fill `texts` (one entry per event, or empty) with the JSON text of events as
    /// they leave it, exactly as [`Subject::to_json`] writes them: the service stores that
    /// text instead of writing the event again. The default makes the events objects for
    /// [`detect`](Self::detect), and gives no text.
    fn detect_subjects(
        &self,
        events: &mut [Subject],
        now: DateTime<Utc>,
        texts: &mut Vec<Option<std::sync::Arc<str>>>,
    ) -> Vec<Alert> {
        texts.clear();
        let mut maps: Vec<Map<String, Value>> = events
            .iter_mut()
            .map(|e| match std::mem::replace(e, Subject::Map(Map::new())) {
                Subject::Open(o) => o.into_map(),
                Subject::Map(m) => m,
            })
            .collect();
        let alerts = self.detect(&mut maps, now);
        for (e, m) in events.iter_mut().zip(maps) {
            *e = Subject::Map(m);
        }
        alerts
    }

    /// Called about once a second: alerts that depend on time passing (deadman rules,
    /// windows that close).
    fn tick(&self, now: DateTime<Utc>) -> Vec<Alert>;

    /// Captures the rules' state, which covers exactly the log up to record `log_seq` (the
    /// service calls it while no batch is between the rules and the log), and returns what
    /// writes it durably (run off the ingest path). After a crash the service replays the
    /// log's records after the saved `log_seq` through [`detect`](Self::detect).
    fn checkpoint(&self, log_seq: u64) -> Box<dyn FnOnce() -> Result<(), String> + Send>;
}

/// Told about alerts once they are durable (notifications, the console's live list).
pub trait AlertSink: Send + Sync {
    /// These alerts were written to the log.
    fn accepted(&self, alerts: &[Alert]);
}
