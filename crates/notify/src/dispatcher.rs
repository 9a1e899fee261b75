//! The dispatcher: takes alerts without waiting, routes each to the notifiers whose filter
//! matches, and delivers in the background with retries.
//!
//! Each notifier has a lane: a bounded queue and a worker task. [`Dispatcher::submit`] only
//! puts the alert in the matching lanes' queues (`try_send`): when a queue is full the alert
//! is dropped for that notifier, counted (`notify_dropped_total{reason="queue_full"}`) and
//! recorded, never silently. The worker starts up to `max_in_flight` deliveries at once;
//! each delivery makes its attempts, waiting with exponential backoff between them, until
//! it succeeds, the error is permanent, or attempts or age run out. Memory is bounded by
//! `queue_size + max_in_flight` alerts per notifier. Deliveries may complete out of order.
//!
//! [`Dispatcher::shutdown`] stops taking alerts, lets queued alerts go out, wakes deliveries
//! waiting to retry for one last attempt, and after the grace period abandons what is left
//! (recorded and counted as dropped with reason `shutdown`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ferrodef_event::Alert;
use serde::Serialize;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{NotifyConfig, RetryPolicy};
use crate::error::{ConfigError, SendError};
use crate::metrics::{drop_label, label, NotifyMetrics, DROP_QUEUE_FULL, DROP_SHUTDOWN};
use crate::notifier::Notifier;
use crate::record::{DeliveryLog, DeliveryRecord, DeliverySink, DeliveryStatus};
use crate::route::Route;

/// An alert waiting in a lane.
struct Job {
    alert: Arc<Alert>,
    submitted: Instant,
    submitted_at: DateTime<Utc>,
}

/// What a lane's tasks share.
pub(crate) struct Lane {
    name: String,
    notifier: Notifier,
    retry: RetryPolicy,
    max_in_flight: usize,
}

/// A lane as [`Dispatcher::submit`] sees it.
struct LaneHandle {
    name: String,
    route: Route,
    capacity: usize,
    tx: Option<mpsc::Sender<Job>>,
}

/// What every task shares.
struct Shared {
    log: DeliveryLog,
    metrics: NotifyMetrics,
    sink: Option<Arc<dyn DeliverySink>>,
}

impl Shared {
    /// Stores a record, and hands final ones to the sink.
    fn put(&self, record: DeliveryRecord) {
        if record.status.is_final() {
            if let Some(sink) = &self.sink {
                sink.record(&record);
            }
        }
        self.log.put(record);
    }
}

/// Where [`Dispatcher::submit`] put an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Submitted {
    /// Notifiers whose queue took it.
    pub queued: Vec<String>,
    /// Notifiers whose queue was full (or that were shut down).
    pub dropped: Vec<String>,
}

/// What [`Dispatcher::shutdown`] achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShutdownReport {
    /// Everything queued was delivered or given up before the grace period ended.
    pub flushed: bool,
    /// Deliveries abandoned when the grace period ended.
    pub abandoned: usize,
}

/// The notification dispatcher. See the [module docs](self).
pub struct Dispatcher {
    lanes: Vec<LaneHandle>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
    closers: Vec<Arc<Lane>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("notifiers", &self.notifiers())
            .finish_non_exhaustive()
    }
}

/// Checks a configuration and builds its lanes (no task started).
pub(crate) fn build_lanes(config: &NotifyConfig) -> Result<Vec<(Lane, Route, usize)>, ConfigError> {
    if config.record_capacity == 0 {
        return Err(ConfigError::new(
            "notify",
            "record_capacity",
            "must be at least 1",
        ));
    }
    if let Some(url) = &config.console_url {
        reqwest::Url::parse(url).map_err(|e| {
            ConfigError::new("notify", "console_url", format!("bad URL {url:?}: {e}"))
        })?;
    }
    let mut names = HashSet::new();
    let mut lanes = Vec::new();
    for n in &config.notifiers {
        let name = n.name.as_str();
        if name.trim().is_empty() {
            return Err(ConfigError::new(name, "name", "empty name"));
        }
        if !names.insert(name) {
            return Err(ConfigError::new(
                name,
                "name",
                "two notifiers have this name",
            ));
        }
        if n.queue_size == 0 {
            return Err(ConfigError::new(name, "queue_size", "must be at least 1"));
        }
        if n.max_in_flight == 0 {
            return Err(ConfigError::new(
                name,
                "max_in_flight",
                "must be at least 1",
            ));
        }
        check_retry(name, &n.retry)?;
        let route = Route::compile(name, &n.route)?;
        let notifier = Notifier::from_config(n, config.console_url.as_deref())?;
        if !n.enabled {
            continue;
        }
        let lane = Lane {
            name: name.to_string(),
            notifier,
            retry: n.retry.clone(),
            max_in_flight: n.max_in_flight,
        };
        lanes.push((lane, route, n.queue_size));
    }
    Ok(lanes)
}

fn check_retry(name: &str, r: &RetryPolicy) -> Result<(), ConfigError> {
    if r.max_attempts == 0 {
        return Err(ConfigError::new(
            name,
            "retry.max_attempts",
            "must be at least 1",
        ));
    }
    if !r.multiplier.is_finite() || r.multiplier < 1.0 {
        return Err(ConfigError::new(
            name,
            "retry.multiplier",
            "must be a number ≥ 1",
        ));
    }
    if r.initial_backoff > r.max_backoff {
        return Err(ConfigError::new(
            name,
            "retry.initial_backoff",
            "is longer than retry.max_backoff",
        ));
    }
    Ok(())
}

impl Dispatcher {
    /// Validates the configuration and starts one worker per enabled notifier. Must be called
    /// inside a tokio runtime.
    pub fn start(config: NotifyConfig, metrics: NotifyMetrics) -> Result<Dispatcher, ConfigError> {
        Dispatcher::start_with_sink(config, metrics, None)
    }

    /// [`start`](Self::start), handing every final [`DeliveryRecord`] to `sink` too.
    pub fn start_with_sink(
        config: NotifyConfig,
        metrics: NotifyMetrics,
        sink: Option<Arc<dyn DeliverySink>>,
    ) -> Result<Dispatcher, ConfigError> {
        let built = build_lanes(&config)?;
        let shared = Arc::new(Shared {
            log: DeliveryLog::new(config.record_capacity),
            metrics,
            sink,
        });
        let (shutdown, _) = watch::channel(false);
        let mut lanes = Vec::new();
        let mut workers = Vec::new();
        let mut closers = Vec::new();
        for (lane, route, capacity) in built {
            shared.metrics.declare(&lane.name);
            let (tx, rx) = mpsc::channel(capacity);
            let lane = Arc::new(lane);
            lanes.push(LaneHandle {
                name: lane.name.clone(),
                route,
                capacity,
                tx: Some(tx),
            });
            workers.push(tokio::spawn(work(
                Arc::clone(&lane),
                Arc::clone(&shared),
                rx,
                shutdown.subscribe(),
            )));
            closers.push(lane);
        }
        Ok(Dispatcher {
            lanes,
            shared,
            workers,
            shutdown,
            closers,
        })
    }

    /// Hands an alert over for notification, without waiting: it is queued for every notifier
    /// whose route matches. Where a queue is full the alert is dropped for that notifier,
    /// counted and recorded.
    pub fn submit(&self, alert: &Alert) -> Submitted {
        let mut out = Submitted::default();
        let mut shared_alert: Option<Arc<Alert>> = None;
        let now = Utc::now();
        for lane in &self.lanes {
            // A notifier's own failure alert goes to the others only.
            if !lane.route.matches(alert) || crate::watch::is_failure_of(alert, &lane.name) {
                continue;
            }
            let arc = shared_alert.get_or_insert_with(|| Arc::new(alert.clone()));
            let job = Job {
                alert: Arc::clone(arc),
                submitted: Instant::now(),
                submitted_at: now,
            };
            let record = DeliveryRecord::new(&alert.id, &lane.name, now);
            // The record goes in first: the worker may update it at once.
            self.shared.log.put(record.clone());
            let sent = match &lane.tx {
                Some(tx) => tx.try_send(job).map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => (
                        DROP_QUEUE_FULL,
                        format!("queue full ({} alerts waiting)", lane.capacity),
                    ),
                    mpsc::error::TrySendError::Closed(_) => {
                        (DROP_SHUTDOWN, "dispatcher shut down".to_string())
                    }
                }),
                None => Err((DROP_SHUTDOWN, "dispatcher shut down".to_string())),
            };
            match sent {
                Ok(()) => {
                    self.shared
                        .metrics
                        .pending
                        .get_or_create(&label(&lane.name))
                        .inc();
                    out.queued.push(lane.name.clone());
                }
                Err((reason, message)) => {
                    self.shared
                        .metrics
                        .dropped
                        .get_or_create(&drop_label(&lane.name, reason))
                        .inc();
                    tracing::warn!(notifier = %lane.name, alert = %alert.id, "notification dropped: {message}");
                    self.shared.put(DeliveryRecord {
                        status: DeliveryStatus::Dropped,
                        last_error: Some(message),
                        ..record
                    });
                    out.dropped.push(lane.name.clone());
                }
            }
        }
        out
    }

    /// The delivery records of an alert (one per notifier it was routed to), while the
    /// dispatcher remembers them.
    pub fn deliveries(&self, alert_id: &str) -> Vec<DeliveryRecord> {
        self.shared.log.get(alert_id)
    }

    /// The counters (shared with the [`NotifyMetrics`] given to `start`).
    pub fn metrics(&self) -> &NotifyMetrics {
        &self.shared.metrics
    }

    /// The names of the enabled notifiers.
    pub fn notifiers(&self) -> Vec<String> {
        self.lanes.iter().map(|l| l.name.clone()).collect()
    }

    /// Stops taking alerts and delivers what is queued, within `grace`; then abandons the
    /// rest (recorded as dropped, reason `shutdown`).
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        for lane in &mut self.lanes {
            lane.tx = None; // closing the queue ends the worker once it is empty
        }
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        let mut flushed = true;
        for mut worker in self.workers.drain(..) {
            if tokio::time::timeout_at(deadline, &mut worker)
                .await
                .is_err()
            {
                flushed = false;
                worker.abort();
                let _ = worker.await; // ends at once, its deliveries with it
            }
        }
        let mut abandoned = 0;
        for record in self.shared.log.unfinished() {
            abandoned += 1;
            let metrics = &self.shared.metrics;
            metrics
                .dropped
                .get_or_create(&drop_label(&record.notifier, DROP_SHUTDOWN))
                .inc();
            metrics
                .pending
                .get_or_create(&label(&record.notifier))
                .dec();
            let error = match &record.last_error {
                Some(e) => format!("shutdown before delivery (last error: {e})"),
                None => "shutdown before delivery".to_string(),
            };
            self.shared.put(DeliveryRecord {
                status: DeliveryStatus::Dropped,
                last_error: Some(error),
                next_attempt_at: None,
                ..record
            });
        }
        for lane in &self.closers {
            let _ = tokio::time::timeout(Duration::from_secs(1), lane.notifier.close()).await;
        }
        ShutdownReport { flushed, abandoned }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        for worker in &self.workers {
            worker.abort();
        }
    }
}

/// A lane's worker: takes jobs while deliveries in flight are below the limit.
async fn work(
    lane: Arc<Lane>,
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Job>,
    shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(lane.max_in_flight));
    let mut deliveries = JoinSet::new();
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        // Reap finished deliveries so the set does not grow.
        while deliveries.try_join_next().is_some() {}
        let Some(job) = rx.recv().await else { break };
        let (lane, shared, shutdown) = (Arc::clone(&lane), Arc::clone(&shared), shutdown.clone());
        deliveries.spawn(async move {
            deliver(&lane, &shared, job, shutdown).await;
            drop(slot);
        });
    }
    while deliveries.join_next().await.is_some() {}
}

/// One alert to one notifier: attempts until delivered or given up.
async fn deliver(lane: &Lane, shared: &Shared, job: Job, mut shutdown: watch::Receiver<bool>) {
    let mut record = DeliveryRecord::new(&job.alert.id, &lane.name, job.submitted_at);
    let policy = &lane.retry;
    let metrics = &shared.metrics;
    let l = label(&lane.name);
    loop {
        record.attempts += 1;
        record.status = DeliveryStatus::Sending;
        record.next_attempt_at = None;
        shared.put(record.clone());
        match lane.notifier.send(&job.alert).await {
            Ok(()) => {
                metrics.sent.get_or_create(&l).inc();
                metrics
                    .delivery_seconds
                    .get_or_create(&l)
                    .observe(job.submitted.elapsed().as_secs_f64());
                record.status = DeliveryStatus::Delivered;
                record.delivered_at = Some(Utc::now());
                break;
            }
            Err(e) => {
                let wait = next_wait(policy, record.attempts, &e);
                record.last_error = Some(e.message.clone());
                let give_up =
                    give_up_reason(policy, &record, &e, job.submitted, wait, *shutdown.borrow());
                if let Some(why) = give_up {
                    tracing::warn!(notifier = %lane.name, alert = %job.alert.id, attempts = record.attempts, "notification failed: {} ({why})", e.message);
                    metrics.failed.get_or_create(&l).inc();
                    record.status = DeliveryStatus::Failed;
                    record.last_error = Some(format!("{} ({why})", e.message));
                    break;
                }
                metrics.retried.get_or_create(&l).inc();
                record.status = DeliveryStatus::Retrying;
                record.next_attempt_at = chrono::Duration::from_std(wait)
                    .ok()
                    .map(|d| Utc::now() + d);
                shared.put(record.clone());
                // A shutdown cuts the wait short: one last attempt now.
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.wait_for(|s| *s) => {}
                }
            }
        }
    }
    metrics.pending.get_or_create(&l).dec();
    shared.put(record);
}

/// The wait before the next attempt: the policy's backoff, longer if the receiver asked.
fn next_wait(policy: &RetryPolicy, failed: u32, e: &SendError) -> Duration {
    let wait = policy.backoff_jittered(failed);
    match e.retry_after {
        Some(asked) => wait.max(asked).min(policy.max_backoff.max(asked)),
        None => wait,
    }
}

/// Why not to try again, if so.
fn give_up_reason(
    policy: &RetryPolicy,
    record: &DeliveryRecord,
    e: &SendError,
    submitted: Instant,
    wait: Duration,
    shutting_down: bool,
) -> Option<String> {
    if !e.retryable {
        return Some("permanent error".into());
    }
    if record.attempts >= policy.max_attempts {
        return Some(format!("{} attempts made", record.attempts));
    }
    if submitted.elapsed() + wait > policy.max_age {
        return Some(format!(
            "next attempt would be later than max_age {:?}",
            policy.max_age
        ));
    }
    if shutting_down {
        return Some("shutting down".into());
    }
    None
}
