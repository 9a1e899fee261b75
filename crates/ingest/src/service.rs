//! The ingest service: the one way events enter ferrodef. Every source (HTTP handlers, syslog
//! listeners, file imports, later AMQP) hands it bytes or decoded messages; it decodes them,
//! runs the transform stage, accepts the documents into the write-ahead log (the client is
//! answered once they are durable) and the indexer makes them searchable.
//!
//! It protects itself: per-request limits (documents, lines, fields per event, errors echoed),
//! a bounded number of events waiting for the log (a full queue answers "overloaded, retry
//! after" rather than growing memory), a backlog limit (while indexing is behind or failing,
//! requests are refused and syslog batches wait, instead of growing the log without bound), a
//! limit on the number of custom streams, and a shutdown that stops intake, then writes and
//! commits what was accepted.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use ferrodef_event::{
    is_valid_stream_name, Alert, Incoming, Subject, ALERTS_STREAM, MAX_STREAM_NAME,
};
use ferrodef_sources::http_body::{self, BodyItem};
use ferrodef_sources::syslog::{BoxFuture, RawBatch, RawSink, SinkClosed};
use ferrodef_store::{DocBody, Store, StoreError};
use ferrodef_transforms::pipeline::Pipeline as Transforms;
use ferrodef_transforms::syslog::RawMeta;
use parking_lot::Mutex;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::detect::{AlertSink, Detector};
use crate::indexer::Indexer;
use crate::record::{decode, Pending};
use crate::status::{Health, Status};
use crate::transform::{Transformed, Transformer};
use crate::writer::{writer_loop, Accepted, PersistError, Refused, Submit};
use crate::Metrics;
use ferrodef_wal::{self as log, Wal};

/// Events the detect stage takes at a time (see `detect_and_seal`): measured in the server
/// (`ferrodef_rules_cpu_seconds_total`, all rules, `bench ingest`), 32 cost 16 % less CPU
/// than 128 and 35 % less than 512 (the events, their objects and the rules' tables stay in
/// the core's cache); 8 cost more again (per-chunk work). BENCHMARKS.md, session 16.
pub const DETECT_CHUNK: usize = 32;

/// Limits that protect the service from huge, hostile or careless input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Documents in one JSON body (bulk, array, NDJSON).
    pub max_documents: usize,
    /// Lines in one raw body (`/syslog`, raw `/cef`, one import batch).
    pub max_lines: usize,
    /// Fields of one event (details leaves included).
    pub max_fields: usize,
    /// Nesting of objects and arrays in one JSON document (the document itself is depth 1).
    pub max_depth: usize,
    /// Errors listed in an answer; the rest are counted.
    pub max_errors: usize,
    /// Custom streams (`/custom/<app>`).
    pub max_streams: usize,
    /// Events accepted but not committed beyond which new events are refused (503).
    pub max_backlog: u64,
    /// Events waiting for the log at once, all sources together.
    pub max_queued_events: usize,
    /// How long a submission may wait for room in that queue before "overloaded" (429).
    pub queue_wait: Duration,
    /// Events dated later than this after their receipt are stored at their receive time.
    pub future_skew: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_documents: 100_000,
            max_lines: 100_000,
            max_fields: 2_000,
            max_depth: 64,
            max_errors: 100,
            max_streams: 100,
            max_backlog: 5_000_000,
            max_queued_events: 200_000,
            queue_wait: Duration::from_secs(2),
            future_skew: Duration::from_secs(86_400),
        }
    }
}

/// Settings of the ingest service.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The data directory: the log is in `wal/`, set-aside events in `quarantine.ndjson`.
    pub data_dir: PathBuf,
    /// Size after which a new log segment is started.
    pub max_segment_bytes: u64,
    /// How often accepted events are committed to the store (made searchable).
    pub commit_interval: Duration,
    /// The name this ferrodef gives itself in events (`mozdefhostname`).
    pub mozdefhostname: String,
    /// Time zone assumed for event timestamps without one.
    pub default_tz: chrono_tz::Tz,
    /// Longest raw message; longer ones are truncated and tagged.
    pub max_message_bytes: usize,
    /// Protection limits.
    pub limits: Limits,
    /// The rules' saved state covers the log up to this record ([`Detector::checkpoint`]):
    /// the records after it are kept whatever the indexing checkpoint, to be replayed into the
    /// rules by [`IngestService::replay_detection`]. `None`: no saved state to keep the log for.
    pub keep_log_after: Option<u64>,
}

/// One bad document or line of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line (or position) in the body.
    pub line: usize,
    /// Metrics reason (`invalid_json`, `invalid_event`...).
    pub reason: &'static str,
    /// What is wrong.
    pub message: String,
}

/// What became of a request's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Durably accepted.
    pub accepted: usize,
    /// Dropped on purpose by a transform.
    pub dropped: usize,
    /// Refused (bad documents).
    pub rejected: usize,
    /// The first `max_errors` rejections, in order.
    pub errors: Vec<LineError>,
    /// Rejections not listed.
    pub errors_omitted: usize,
}

/// Why a request's events were not accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The body cannot be used at all (not UTF-8, not JSON...).
    #[error("{message}")]
    BadBody {
        /// What is wrong, with its position.
        message: String,
        /// The line, when known.
        line: Option<usize>,
    },
    /// Every document was bad: the outcome lists them.
    #[error("{}", .0.errors.first().map_or("the body holds no valid event", |e| e.message.as_str()))]
    AllRejected(Outcome),
    /// The body holds nothing.
    #[error("the body holds no event")]
    Empty,
    /// A per-request limit was passed.
    #[error("{what}: {found} is more than the limit of {limit}; split the request")]
    TooLarge {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// What was found.
        found: usize,
    },
    /// The custom stream would pass the limit on streams.
    #[error("too many custom streams: the limit is {0} (max_streams)")]
    TooManyStreams(usize),
    /// The queue to the log stayed full: retry after the given seconds.
    #[error("ferrodef is overloaded: retry in {0} s")]
    Overloaded(u64),
    /// Indexing is behind or failing and the backlog is over its limit.
    #[error("ferrodef is not indexing fast enough ({0} events accepted but not yet indexed); retry later")]
    Backlog(u64),
    /// The log could not persist the events.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The service is stopping.
    #[error("ferrodef is shutting down")]
    ShuttingDown,
}

impl IngestError {
    /// Seconds a client should wait before retrying, for the errors that are temporary.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            IngestError::Overloaded(s) => Some(*s),
            IngestError::Backlog(_) => Some(10),
            IngestError::Persist(PersistError::DiskFull) => Some(30),
            IngestError::Persist(_) | IngestError::ShuttingDown => Some(5),
            _ => None,
        }
    }
}

/// How often, at most, the rules' state is saved (what a crash loses is replayed from the
/// log).
const DETECT_SAVE_EVERY: Duration = Duration::from_secs(10);
/// The wait before the next save is at least this many times what the last one took, so that
/// saving large windows (each save writes every held event) costs at most about 1% of a core.
const DETECT_SAVE_COST_FACTOR: u32 = 100;
/// How often, at least, the state is saved however long a save takes: bounds the records a
/// restart after a crash replays into the rules.
const DETECT_SAVE_MAX_WAIT: Duration = Duration::from_secs(120);

/// How long a save of the rules' state waits for the batches in the detect stage to reach the
/// log before it gives up until the next one (new batches wait behind it meanwhile).
const DETECT_GATE_WAIT: Duration = Duration::from_secs(10);

/// The wait before the next save of the rules' state, after one that took `cost`.
fn detect_save_wait(cost: Duration) -> Duration {
    cost.saturating_mul(DETECT_SAVE_COST_FACTOR)
        .clamp(DETECT_SAVE_EVERY, DETECT_SAVE_MAX_WAIT)
}

/// Why a batch did not reach the log.
enum WriteError {
    /// No room in the queue in time.
    Room(IngestError),
    /// The log refused it.
    Log(IngestError),
}

impl WriteError {
    fn into_inner(self) -> IngestError {
        match self {
            WriteError::Room(e) | WriteError::Log(e) => e,
        }
    }
}

/// Events replayed from the write-ahead log at start.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplayStats {
    /// Records read after the checkpoint.
    pub records: u64,
    /// Of which were indexed (not already in the store).
    pub indexed: u64,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The log could not be opened or replayed.
    #[error(transparent)]
    Wal(#[from] log::WalError),
    /// The store failed during replay.
    #[error("replaying the write-ahead log into the store: {0}")]
    Store(#[from] ferrodef_store::StoreError),
    /// A thread or directory could not be made.
    #[error("starting the ingest service: {0}")]
    Io(std::io::Error),
}

struct Inner {
    /// Taken at shutdown: submissions hold a clone only while they submit.
    tx: Mutex<Option<mpsc::Sender<Submit>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    transformer: Transformer,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    limits: Limits,
    max_message_bytes: usize,
    /// Bounds parsing and transforming to the cores (more would only hold more in memory).
    cpu: Arc<Semaphore>,
    /// Room for events waiting for the log.
    queue: Arc<Semaphore>,
    /// Custom streams that exist.
    streams: Mutex<HashSet<String>>,
    /// The detect stage, once the binary set it.
    detection: OnceLock<Detection>,
    /// Alerts from ticks that could not be written yet (retried at the next tick).
    unwritten_alerts: Mutex<Vec<Alert>>,
    /// Held (shared) by a batch from the detect stage until it is in the log, and
    /// (exclusively) while the rules' state is captured: the state then covers exactly the
    /// log up to its last record.
    detect_gate: tokio::sync::RwLock<()>,
    /// When the rules' state was last saved, and the wait before the next save.
    detect_saved: Mutex<(std::time::Instant, Duration)>,
    /// The log's directory (replayed into the rules at start).
    wal_dir: PathBuf,
}

/// The detector and who hears about alerts.
struct Detection {
    detector: Arc<dyn Detector>,
    sink: Arc<dyn AlertSink>,
}

/// The running ingest service; cheap to clone.
#[derive(Clone)]
pub struct IngestService {
    inner: Arc<Inner>,
}

impl IngestService {
    /// Replays the write-ahead log into `store`, then starts the log writer and the indexer.
    pub fn start(
        store: Arc<dyn Store>,
        transforms: Arc<Transforms>,
        cfg: IngestConfig,
        metrics: Arc<Metrics>,
    ) -> Result<(IngestService, ReplayStats), StartError> {
        let wal_dir = cfg.data_dir.join("wal");
        crate::fsutil::create_private_dir(&wal_dir).map_err(StartError::Io)?;
        let Replayed {
            wal,
            checkpoint,
            stats,
            failures,
        } = replay(&*store, &wal_dir, cfg.max_segment_bytes)?;
        let status = Arc::new(Status::new(checkpoint));
        if let Some(seq) = cfg.keep_log_after {
            status.set_keep_after(seq);
        }
        let report = wal.open_report();
        if !report.corrupt.is_empty() {
            metrics.log_corrupt_bytes.inc_by(report.corrupt_bytes());
            status.set_log_corruption(Some(format!(
                "the write-ahead log had {} corrupt region(s) ({} bytes, about {} event(s)) that were skipped at start; see the server log",
                report.corrupt.len(),
                report.corrupt_bytes(),
                report.missing_records
            )));
        }
        status.set_accepted(wal.next_seq().saturating_sub(1));
        let last_seq = wal.next_seq().saturating_sub(1);
        let (tx, rx) = mpsc::channel::<Submit>(1024);
        let (itx, irx) = sync_channel::<Accepted>(0);
        let writer = {
            let (status, metrics) = (status.clone(), metrics.clone());
            std::thread::Builder::new()
                .name("ferrodef-log".into())
                .spawn(move || writer_loop(wal, rx, itx, status, metrics))
                .map_err(StartError::Io)?
        };
        let mut indexer = Indexer::new(
            store.clone(),
            metrics.clone(),
            status.clone(),
            wal_dir,
            cfg.data_dir.join("quarantine.ndjson"),
            cfg.commit_interval,
            checkpoint,
        );
        // What the replay could not index is retried like any later failure; everything else
        // it replayed is committed, so the checkpoint moves up to the first loss.
        indexer.replayed(last_seq, failures);
        let indexer = std::thread::Builder::new()
            .name("ferrodef-indexer".into())
            .spawn(move || indexer.run(irx))
            .map_err(StartError::Io)?;
        let streams = store
            .partitions()
            .into_iter()
            .map(|p| p.stream)
            .filter(|s| s.starts_with(CUSTOM_PREFIX))
            .collect();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let limits = cfg.limits.clone();
        let transformer = Transformer {
            transforms,
            mozdefhostname: cfg.mozdefhostname,
            default_tz: cfg.default_tz,
            future_skew: chrono::Duration::from_std(limits.future_skew)
                .unwrap_or(chrono::Duration::days(1)),
            max_fields: limits.max_fields,
            metrics: metrics.clone(),
        };
        let inner = Inner {
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(vec![writer, indexer]),
            transformer,
            metrics,
            status,
            queue: Arc::new(Semaphore::new(limits.max_queued_events.max(1))),
            limits,
            max_message_bytes: cfg.max_message_bytes,
            cpu: Arc::new(Semaphore::new(cores)),
            streams: Mutex::new(streams),
            detection: OnceLock::new(),
            unwritten_alerts: Mutex::new(Vec::new()),
            detect_gate: tokio::sync::RwLock::new(()),
            detect_saved: Mutex::new((std::time::Instant::now(), DETECT_SAVE_EVERY)),
            wal_dir: cfg.data_dir.join("wal"),
        };
        Ok((
            IngestService {
                inner: Arc::new(inner),
            },
            stats,
        ))
    }

    /// Sets the detect stage: `detector` runs on every batch of events before the log, and
    /// `sink` hears about the alerts once they are durable. Call it before the sources start;
    /// it can be set once (false if it was set already).
    pub fn set_detection(&self, detector: Arc<dyn Detector>, sink: Arc<dyn AlertSink>) -> bool {
        self.inner
            .detection
            .set(Detection { detector, sink })
            .is_ok()
    }

    /// Queues an alert raised outside the rules (ferrodef telling about itself, e.g. a
    /// notifier that fails): written and announced by the next [`detect_tick`](Self::detect_tick).
    pub fn raise_alert(&self, alert: Alert) {
        self.inner.unwritten_alerts.lock().push(alert);
    }

    /// Runs the detector's time-driven rules (deadman, windows that close) and writes their
    /// alerts; the binary calls it about once a second. Alerts that cannot be written now are
    /// kept and written at the next call. Each tick done is counted (`rules_ticks`).
    pub async fn detect_tick(&self) -> Result<usize, IngestError> {
        let Some(d) = self.inner.detection.get() else {
            return Ok(0);
        };
        let written = self.tick_and_write(d).await;
        self.inner.metrics.rules_ticks.inc();
        written
    }

    /// One tick of the time-driven rules: saves their state when due, then writes the alerts
    /// of the tick and those queued before.
    async fn tick_and_write(&self, d: &Detection) -> Result<usize, IngestError> {
        let due = {
            let (last, wait) = *self.inner.detect_saved.lock();
            last.elapsed() >= wait
        };
        if due {
            let started = std::time::Instant::now();
            let saved = self.checkpoint_detection().await;
            let wait = detect_save_wait(started.elapsed());
            *self.inner.detect_saved.lock() = (std::time::Instant::now(), wait);
            if let Err(e) = saved {
                tracing::error!("saving the rules' state (retried in {wait:?}): {e}");
            }
        }
        let now = Utc::now();
        let mut alerts = std::mem::take(&mut *self.inner.unwritten_alerts.lock());
        alerts.extend(d.detector.tick(now));
        if alerts.is_empty() {
            return Ok(0);
        }
        let docs: Vec<Pending> = alerts.iter().map(|a| alert_doc(a, now)).collect();
        let n = alerts.len();
        let written = match self.room(docs.len(), None).await {
            Ok(_permit) => self.submit("detect", docs).await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                self.inner.metrics.alerts_raised(&alerts);
                d.sink.accepted(&alerts);
                Ok(n)
            }
            Err(e) => {
                self.inner.unwritten_alerts.lock().extend(alerts);
                Err(e)
            }
        }
    }

    /// Saves the rules' state, captured when every batch they saw is in the log (the state
    /// then covers the log exactly up to its last record); from then on the log keeps only
    /// the records after that one for them.
    pub async fn checkpoint_detection(&self) -> Result<(), String> {
        let Some(d) = self.inner.detection.get() else {
            return Ok(());
        };
        // A batch held for a log that cannot write holds the gate: no state can cover the
        // log exactly until it is written (and waiting for the gate would hold up every
        // request behind it).
        let held = self.inner.status.held();
        if held > 0 {
            return Err(format!(
                "{held} event(s) wait for the write-ahead log: the rules' state is saved once they are in it"
            ));
        }
        let (seq, save) = {
            let Ok(_all_in_log) =
                tokio::time::timeout(DETECT_GATE_WAIT, self.inner.detect_gate.write()).await
            else {
                return Err(format!(
                    "batches did not reach the write-ahead log within {DETECT_GATE_WAIT:?}: the rules' state is saved later"
                ));
            };
            let seq = self.inner.status.accepted();
            (seq, d.detector.checkpoint(seq))
        };
        let status = self.inner.status.clone();
        tokio::task::spawn_blocking(move || {
            save()?;
            status.set_keep_after(seq);
            Ok(())
        })
        .await
        .map_err(|e| format!("the saving task failed: {e}"))?
    }

    /// After [`shutdown`](Self::shutdown): saves the rules' state, which covers the whole log.
    pub fn final_checkpoint_detection(&self) -> Result<(), String> {
        let Some(d) = self.inner.detection.get() else {
            return Ok(());
        };
        let seq = self.inner.status.accepted();
        d.detector.checkpoint(seq)()?;
        self.inner.status.set_keep_after(seq);
        Ok(())
    }

    /// Rebuilds the rules' state after a crash: the events of the log after record `after`
    /// (where their saved state ends) that the rules saw go through them again, batch by
    /// batch at the time each was received; what they alert is dropped (those alerts were
    /// written with their events). Call it after [`set_detection`](Self::set_detection),
    /// before the sources start. Returns the number of events replayed.
    pub fn replay_detection(&self, after: u64) -> Result<u64, log::WalError> {
        let Some(d) = self.inner.detection.get() else {
            return Ok(0);
        };
        let last = self.inner.status.accepted();
        if last <= after {
            return Ok(0);
        }
        let mut n = 0u64;
        let mut batch: Vec<serde_json::Map<String, Value>> = Vec::new();
        let mut at: Option<chrono::DateTime<Utc>> = None;
        let mut run = |batch: &mut Vec<serde_json::Map<String, Value>>,
                       at: chrono::DateTime<Utc>| {
            n += batch.len() as u64;
            let _ = d.detector.detect(batch, at);
            batch.clear();
        };
        log::read_range(&self.inner.wal_dir, after + 1, last, |seq, payload| {
            match crate::record::decode_detected(payload) {
                Ok(Some((received, mut doc))) => {
                    // What the rules added the first time; they decide again.
                    doc.remove("alert_names");
                    if at.is_some_and(|t| t != received) {
                        run(&mut batch, at.unwrap_or(received));
                    }
                    at = Some(received);
                    batch.push(doc);
                }
                Ok(None) => {}
                Err(e) => tracing::error!(seq, "log record not replayed into the rules: {e}"),
            }
            Ok(())
        })?;
        if let Some(t) = at {
            run(&mut batch, t);
        }
        Ok(n)
    }

    /// Room in the queue, then the detect stage, then the log: the alerts of the batch are
    /// written with it and announced once durable. The rules see a batch only once it has
    /// room (a request refused for want of room leaves no trace in their state). `wait`
    /// bounds the wait for room; `None` (syslog batches) waits as long as it takes, for room
    /// and then for the log to write the batch ([`submit_holding`](Self::submit_holding)).
    async fn detect_and_write(
        &self,
        source: &str,
        mut docs: Vec<Pending>,
        wait: Option<Duration>,
    ) -> Result<(), WriteError> {
        // While the log refuses appends, a request is refused before the rules see it (one a
        // second still tries: the log's recovery is noticed), so that a client's retries are
        // not counted again by them.
        if wait.is_some() {
            if let Some(e) = self.inner.status.log_refusing(LOG_RETRY_EVERY) {
                return Err(WriteError::Log(IngestError::Persist(e)));
            }
        }
        let permit = self
            .room(docs.len(), wait)
            .await
            .map_err(WriteError::Room)?;
        let in_log = self.inner.detect_gate.read().await;
        let alerts = self.detect_and_seal(&mut docs);
        let written = match wait {
            Some(_) => self.submit(source, docs).await,
            None => self.submit_holding(source, docs).await,
        };
        written.map_err(WriteError::Log)?;
        drop(in_log);
        drop(permit);
        self.announce(&alerts);
        Ok(())
    }

    /// The detect stage on a request's documents, then every document is serialized for the
    /// log: the detector sees the events the transform stage made (not custom documents,
    /// which are stored as sent) and may add `alert_names` to them; its alerts join the
    /// batch as documents of the `alerts` stream.
    ///
    /// A request is taken [`DETECT_CHUNK`] events at a time through conversion, rules and
    /// serialization, so that each event is still in the processor's cache for the next step
    /// (a request of 5,000 events is megabytes: taken whole, every engine's pass over it
    /// missed the cache).
    fn detect_and_seal(&self, docs: &mut Vec<Pending>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if let Some(d) = self.inner.detection.get() {
            let now = Utc::now();
            let idx: Vec<usize> = (0..docs.len()).filter(|&i| !docs[i].is_sealed()).collect();
            let mut subjects = Vec::with_capacity(DETECT_CHUNK.min(idx.len()));
            let mut texts = Vec::with_capacity(subjects.capacity());
            for chunk in idx.chunks(DETECT_CHUNK) {
                // The rules' CPU time (conversion, evaluation, taking back; not the
                // serialization for the log, done without rules too), for `/metrics`.
                let cpu = cpu_time::ThreadTime::try_now().ok();
                // The rules read an event opened (its strings moved into JSON values, nothing
                // copied) and give it back closed, so that the document stays the event
                // (indexed and freed faster than an object) unless the rules changed it.
                for &i in chunk {
                    let subject =
                        match std::mem::replace(&mut docs[i].doc, DocBody::Map(Map::new())) {
                            DocBody::Event(e) => Subject::Open((*e).open()),
                            DocBody::Map(m) => Subject::Map(m),
                        };
                    subjects.push(subject);
                }
                alerts.extend(d.detector.detect_subjects(&mut subjects, now, &mut texts));
                self.inner
                    .metrics
                    .rules_evaluated
                    .inc_by(subjects.len() as u64);
                texts.resize(subjects.len(), None);
                for ((&i, subject), text) in
                    chunk.iter().zip(subjects.drain(..)).zip(texts.drain(..))
                {
                    docs[i].doc = match subject {
                        Subject::Open(o) => match o.close() {
                            Ok(e) => DocBody::Event(Box::new(e)),
                            Err(m) => DocBody::Map(m),
                        },
                        Subject::Map(m) => DocBody::Map(m),
                    };
                    docs[i].detected = true;
                    // The rules wrote the text of an event they keep: it is the record's.
                    if let Some(t) = text {
                        debug_assert_eq!(t.as_bytes(), docs[i].doc.to_json(), "rules' text");
                        docs[i].source = t.as_bytes().to_vec();
                    }
                }
                if let Some(Ok(t)) = cpu.map(|c| c.try_elapsed()) {
                    self.inner.metrics.rules_cpu.inc_by(t.as_secs_f64());
                }
                // Serialized for the log while still in the processor's cache.
                for &i in chunk {
                    docs[i].seal();
                }
            }
            docs.extend(alerts.iter().map(|a| alert_doc(a, now)));
        }
        for p in docs.iter_mut() {
            p.seal();
        }
        alerts
    }

    /// Writes documents of ferrodef's own (alert triage changes, its security events) to
    /// `stream`, as sent, through the log like any event; returns once they are durable.
    pub async fn write_internal(
        &self,
        stream: &str,
        docs: Vec<serde_json::Map<String, Value>>,
    ) -> Result<(), IngestError> {
        let now = Utc::now();
        let docs: Vec<Pending> = docs
            .into_iter()
            .map(|m| Pending::new(stream, now, now, m))
            .collect();
        let _permit = self
            .room(docs.len(), Some(self.inner.limits.queue_wait))
            .await?;
        self.submit("internal", docs).await
    }

    /// Counts alerts that are now durable and tells the sink about them.
    fn announce(&self, alerts: &[Alert]) {
        if alerts.is_empty() {
            return;
        }
        self.inner.metrics.alerts_raised(alerts);
        if let Some(d) = self.inner.detection.get() {
            d.sink.accepted(alerts);
        }
    }

    /// The counters the service updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The service's health (`/health`); also sets the backlog and degraded gauges.
    pub fn health(&self) -> Health {
        let h = self.inner.status.health(self.inner.limits.max_backlog);
        self.inner.metrics.backlog.set(h.backlog as i64);
        self.inner.metrics.held.set(h.held as i64);
        self.inner.metrics.degraded.set(i64::from(h.status != "ok"));
        h
    }

    /// Stops intake, writes and commits everything accepted, and waits for the threads.
    /// Submissions after this answer [`IngestError::ShuttingDown`].
    pub fn shutdown(&self) {
        self.inner.tx.lock().take();
        // Syslog batches held back by the backlog limit give up.
        self.inner.status.wake();
        let threads: Vec<_> = self.inner.threads.lock().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }

    /// `POST /events`: one JSON event.
    pub async fn event(&self, source: &str, body: &[u8]) -> Result<Outcome, IngestError> {
        self.check_backlog(source)?;
        let _cpu = self.cpu().await?;
        let raw = http_body::parse_single(body, self.inner.limits.max_depth)
            .map_err(|e| self.bad_body(source, e))?;
        let items = vec![BodyItem {
            line: 1,
            doc: Incoming::from(raw),
        }];
        let (docs, dropped, mut errors) = self.normalize(source, items, None);
        if let Some(e) = errors.first_mut() {
            e.message = e.message.trim_start_matches("line 1: ").to_string();
        }
        drop(_cpu);
        self.finish(source, docs, dropped, errors, true).await
    }

    /// `POST /_bulk`, `/nxlog`, JSON `/cef`: many JSON events (Elasticsearch bulk, JSON array
    /// or NDJSON), each tagged with `endpoint` when given.
    pub async fn events(
        &self,
        source: &str,
        body: &[u8],
        endpoint: Option<&str>,
    ) -> Result<Outcome, IngestError> {
        self.check_backlog(source)?;
        self.check_json_body(source, body)?;
        let _cpu = self.cpu().await?;
        let parsed = http_body::parse_bulk_as::<Incoming>(body, self.inner.limits.max_depth)
            .map_err(|e| self.bad_body(source, e))?;
        self.check_documents(source, parsed.items.len())?;
        let mut errors = json_errors(parsed.errors);
        let (docs, dropped, more) = self.normalize(source, parsed.items, endpoint);
        errors.extend(more);
        errors.sort_by_key(|r| r.line);
        drop(_cpu);
        self.finish(source, docs, dropped, errors, false).await
    }

    /// `POST /custom/<app>`: documents stored as sent in the stream `custom-<app>`.
    pub async fn custom(&self, app: &str, body: &[u8]) -> Result<Outcome, IngestError> {
        let source = "http_custom";
        let stream = custom_stream(app).map_err(|message| {
            self.inner.metrics.rejected(source, "bad_application", 1);
            IngestError::BadBody {
                message,
                line: None,
            }
        })?;
        self.check_backlog(source)?;
        self.check_stream(&stream)?;
        self.check_json_body(source, body)?;
        let _cpu = self.cpu().await?;
        let (items, errors) = custom_items(body, self.inner.limits.max_depth)
            .map_err(|e| self.bad_body(source, e))?;
        self.check_documents(source, items.len())?;
        let mut errors = json_errors(errors);
        let now = Utc::now();
        let mut docs = Vec::with_capacity(items.len());
        for item in items {
            match item.doc {
                Value::Object(map) => docs.push(Pending::new(stream.as_str(), now, now, map)),
                other => errors.push(LineError {
                    line: item.line,
                    reason: "invalid_event",
                    message: format!(
                        "line {}: a document must be a JSON object, not {}",
                        item.line,
                        ferrodef_transforms::normalize::json_kind(&other)
                    ),
                }),
            }
        }
        drop(_cpu);
        self.finish(source, docs, 0, errors, false).await
    }

    /// Raw lines (syslog, CEF, any text), one message per line: `POST /syslog`, raw `/cef`,
    /// file imports.
    pub async fn lines(&self, source: &str, body: &[u8]) -> Result<Outcome, IngestError> {
        self.check_backlog(source)?;
        self.check_lines(
            source,
            body,
            self.inner.limits.max_lines,
            "lines in the body",
        )?;
        let _cpu = self.cpu().await?;
        let lines = crate::raw::body_lines(body, self.inner.max_message_bytes);
        let out = crate::raw::documents(&self.inner.transformer, source, Utc::now(), lines);
        let errors = out
            .rejected
            .into_iter()
            .map(|(line, m)| LineError {
                line,
                reason: "invalid_event",
                message: format!("line {line}: {m}"),
            })
            .collect();
        drop(_cpu);
        self.finish(source, out.docs, out.dropped, errors, false)
            .await
    }

    /// A batch of de-framed messages from a syslog listener. Waits as long as it takes while the
    /// backlog is over its limit, then for room in the queue: a TCP/TLS listener stops reading
    /// its connection meanwhile (back-pressure), the UDP listener's own short queue fills and it
    /// sheds. Fails only when the service stops or the log fails.
    pub async fn batch(&self, source: &str, batch: &RawBatch) -> Result<Outcome, IngestError> {
        self.backlog_room().await?;
        let cpu = self.cpu().await?;
        let messages = batch.iter().enumerate().map(|(i, (m, f))| {
            (
                i + 1,
                m,
                RawMeta {
                    peer: Some(f.peer),
                    truncated: f.truncated,
                },
            )
        });
        let out = crate::raw::documents(&self.inner.transformer, source, Utc::now(), messages);
        drop(cpu);
        let n = batch.len() as u64;
        self.inner.metrics.received(source, n);
        for (_, reason) in &out.rejected {
            tracing::warn!(source, "event refused: {reason}");
        }
        if !out.rejected.is_empty() {
            self.inner
                .metrics
                .rejected(source, "invalid_event", out.rejected.len() as u64);
        }
        let accepted = out.docs.len();
        self.detect_and_write(source, out.docs, None)
            .await
            .map_err(WriteError::into_inner)?;
        Ok(Outcome {
            accepted,
            dropped: out.dropped,
            rejected: out.rejected.len(),
            ..Outcome::default()
        })
    }

    async fn cpu(&self) -> Result<OwnedSemaphorePermit, IngestError> {
        self.inner
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| IngestError::ShuttingDown)
    }

    /// Refuses new events while the backlog is over its limit.
    fn check_backlog(&self, source: &str) -> Result<(), IngestError> {
        let backlog = self.inner.status.backlog();
        if backlog > self.inner.limits.max_backlog {
            self.inner.metrics.rejected(source, "backlog", 1);
            return Err(IngestError::Backlog(backlog));
        }
        Ok(())
    }

    /// Waits until the backlog is within its limit (the indexer moves the checkpoint), or the
    /// service stops.
    async fn backlog_room(&self) -> Result<(), IngestError> {
        let status = &self.inner.status;
        loop {
            // Enabled before the checks: a move between them and the wait is not missed.
            let progress = status.progress();
            tokio::pin!(progress);
            progress.as_mut().enable();
            if self.inner.tx.lock().is_none() {
                return Err(IngestError::ShuttingDown);
            }
            if status.backlog() <= self.inner.limits.max_backlog {
                return Ok(());
            }
            progress.await;
        }
    }

    /// Refuses a body of more than `limit` lines before parsing it.
    fn check_lines(
        &self,
        source: &str,
        body: &[u8],
        limit: usize,
        what: &'static str,
    ) -> Result<(), IngestError> {
        let lines = memchr::memchr_iter(b'\n', body).count() + 1;
        self.check_count(source, lines, limit, what)
    }

    /// Refuses a JSON body with too many lines to hold `max_documents` documents (a bulk body
    /// has an action line per document) before parsing it.
    fn check_json_body(&self, source: &str, body: &[u8]) -> Result<(), IngestError> {
        let limit = self.inner.limits.max_documents.saturating_mul(2);
        self.check_lines(source, body, limit, "lines in the body")
    }

    /// Refuses a body of more than `max_documents` documents.
    fn check_documents(&self, source: &str, found: usize) -> Result<(), IngestError> {
        let limit = self.inner.limits.max_documents;
        self.check_count(source, found, limit, "documents in the body")
    }

    fn check_count(
        &self,
        source: &str,
        found: usize,
        limit: usize,
        what: &'static str,
    ) -> Result<(), IngestError> {
        if found > limit {
            self.inner.metrics.rejected(source, "too_large", 1);
            return Err(IngestError::TooLarge { what, limit, found });
        }
        Ok(())
    }

    fn check_stream(&self, stream: &str) -> Result<(), IngestError> {
        let mut streams = self.inner.streams.lock();
        if streams.contains(stream) {
            return Ok(());
        }
        if streams.len() >= self.inner.limits.max_streams {
            self.inner
                .metrics
                .rejected("http_custom", "too_many_streams", 1);
            return Err(IngestError::TooManyStreams(self.inner.limits.max_streams));
        }
        streams.insert(stream.to_string());
        Ok(())
    }

    fn bad_body(&self, source: &str, e: http_body::BodyError) -> IngestError {
        self.inner.metrics.rejected(source, "invalid_body", 1);
        self.inner.metrics.received(source, 1);
        IngestError::BadBody {
            message: e.message,
            line: e.line,
        }
    }

    /// Normalizes and transforms decoded documents, keeping every failure with its line.
    fn normalize(
        &self,
        source: &str,
        items: Vec<BodyItem<Incoming>>,
        endpoint: Option<&str>,
    ) -> (Vec<Pending>, usize, Vec<LineError>) {
        let t = &self.inner.transformer;
        let ctx = t.context(source, Utc::now());
        let mut docs = Vec::with_capacity(items.len());
        let mut dropped = 0;
        let mut errors = Vec::new();
        for item in items {
            let mut raw = item.doc;
            if let Some(endpoint) = endpoint {
                raw.insert("endpoint", Value::String(endpoint.into()));
            }
            match t.document(raw, &ctx) {
                Ok(Transformed::Doc(p)) => docs.push(p),
                Ok(Transformed::Dropped) => dropped += 1,
                Err(message) => errors.push(LineError {
                    line: item.line,
                    reason: "invalid_event",
                    message: format!("line {}: {message}", item.line),
                }),
            }
        }
        (docs, dropped, errors)
    }

    /// Counts, then accepts the good documents; `single` is `/events` (no event is an error).
    async fn finish(
        &self,
        source: &str,
        docs: Vec<Pending>,
        dropped: usize,
        mut errors: Vec<LineError>,
        single: bool,
    ) -> Result<Outcome, IngestError> {
        let m = &self.inner.metrics;
        let accepted = docs.len();
        m.received(source, (accepted + dropped + errors.len()) as u64);
        for e in &errors {
            m.rejected(source, e.reason, 1);
        }
        let rejected = errors.len();
        let errors_omitted = rejected.saturating_sub(self.inner.limits.max_errors);
        errors.truncate(self.inner.limits.max_errors);
        let outcome = Outcome {
            accepted,
            dropped,
            rejected,
            errors,
            errors_omitted,
        };
        if accepted == 0 && dropped == 0 {
            if rejected > 0 {
                return Err(IngestError::AllRejected(outcome));
            }
            if !single {
                return Err(IngestError::Empty);
            }
        }
        match self
            .detect_and_write(source, docs, Some(self.inner.limits.queue_wait))
            .await
        {
            Ok(()) => Ok(outcome),
            Err(WriteError::Room(e)) => {
                m.rejected(source, "overloaded", accepted as u64);
                Err(e)
            }
            Err(WriteError::Log(e)) => {
                m.rejected(source, "persist", accepted as u64);
                Err(e)
            }
        }
    }

    /// Room for `n` events in the queue to the log, waiting at most `wait` (forever if `None`).
    async fn room(
        &self,
        n: usize,
        wait: Option<Duration>,
    ) -> Result<Option<OwnedSemaphorePermit>, IngestError> {
        if n == 0 {
            return Ok(None);
        }
        let want = n.min(self.inner.limits.max_queued_events.max(1)) as u32;
        let acquire = self.inner.queue.clone().acquire_many_owned(want);
        let permit = match wait {
            Some(w) => match tokio::time::timeout(w, acquire).await {
                Ok(p) => p,
                Err(_) => return Err(IngestError::Overloaded(1)),
            },
            None => acquire.await,
        };
        permit.map(Some).map_err(|_| IngestError::ShuttingDown)
    }

    /// Hands documents to the log writer; returns once they are durable.
    async fn submit(&self, source: &str, docs: Vec<Pending>) -> Result<(), IngestError> {
        match self.submit_once(source, docs).await {
            Ok(()) => Ok(()),
            Err(SubmitFailed::Stopped) => Err(IngestError::ShuttingDown),
            Err(SubmitFailed::Log(r)) => Err(IngestError::Persist(r.error)),
        }
    }

    /// Hands documents to the log writer; while the log cannot write them (disk full, I/O
    /// errors) holds them and tries again (after 100 ms, then up to every second) until they
    /// are written or the service stops. For syslog batches, which have no client to refuse:
    /// a TCP/TLS sender is held back meanwhile, the UDP listener sheds and counts. The
    /// documents went through the rules once; a retry writes them as they are.
    async fn submit_holding(
        &self,
        source: &str,
        mut docs: Vec<Pending>,
    ) -> Result<(), IngestError> {
        let mut delay = HOLD_FIRST_RETRY;
        let mut held: Option<Held> = None;
        loop {
            match self.submit_once(source, docs).await {
                Ok(()) => {
                    if held.is_some() {
                        tracing::info!(
                            source,
                            "the log accepts events again: the held events are written"
                        );
                    }
                    return Ok(());
                }
                Err(SubmitFailed::Stopped) => {
                    if let Some(h) = &held {
                        tracing::error!(
                            source,
                            "{} syslog message(s) held for the log are lost: the server stopped while the log could not write them",
                            h.n
                        );
                        self.inner.metrics.rejected(source, "persist", h.n);
                    }
                    return Err(IngestError::ShuttingDown);
                }
                Err(SubmitFailed::Log(r)) => {
                    if held.is_none() {
                        let n = events_in(&r.docs);
                        tracing::error!(
                            source,
                            "{}: {n} syslog message(s) are held and retried until the log can write them",
                            r.error
                        );
                        held = Some(Held::new(&self.inner.status, n));
                    }
                    docs = r.docs;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(HOLD_MAX_RETRY);
                }
            }
        }
    }

    /// One hand-over to the log writer; the documents come back when the log refuses them.
    async fn submit_once(&self, source: &str, docs: Vec<Pending>) -> Result<(), SubmitFailed> {
        if docs.is_empty() {
            return Ok(());
        }
        let n = events_in(&docs);
        let tx = self.inner.tx.lock().clone().ok_or(SubmitFailed::Stopped)?;
        let (ack, rx) = oneshot::channel();
        tx.send(Submit {
            source: source.to_string(),
            docs,
            ack,
        })
        .await
        .map_err(|_| SubmitFailed::Stopped)?;
        drop(tx);
        match rx.await {
            Ok(Ok(())) => {
                self.inner.metrics.accepted(source, n);
                Ok(())
            }
            Ok(Err(refused)) => Err(SubmitFailed::Log(refused)),
            Err(_) => Err(SubmitFailed::Stopped),
        }
    }
}

/// While the log refuses appends, requests are refused without trying it for this long after
/// each failure.
const LOG_RETRY_EVERY: Duration = Duration::from_secs(1);

/// The first wait before a held batch is offered to the log again; it doubles up to
/// [`HOLD_MAX_RETRY`].
const HOLD_FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest wait between two offers of a held batch (also bounds how long a stop waits
/// for a holding batch to give up).
const HOLD_MAX_RETRY: Duration = Duration::from_secs(1);

/// Why a hand-over to the log failed.
enum SubmitFailed {
    /// The service is stopping.
    Stopped,
    /// The log refused the documents (given back).
    Log(Refused),
}

/// The events of a submission (alerts written with them are not counted as events).
fn events_in(docs: &[Pending]) -> u64 {
    docs.iter().filter(|p| p.stream != ALERTS_STREAM).count() as u64
}

/// Events held for the log, counted in the service's status while held.
struct Held {
    status: Arc<Status>,
    n: u64,
}

impl Held {
    fn new(status: &Arc<Status>, n: u64) -> Held {
        status.add_held(n);
        Held {
            status: status.clone(),
            n,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.status.sub_held(self.n);
    }
}

impl RawSink for IngestService {
    fn submit(
        &self,
        source: &'static str,
        batch: RawBatch,
    ) -> BoxFuture<'_, Result<(), SinkClosed>> {
        Box::pin(async move {
            match self.batch(source, &batch).await {
                Ok(_) => Ok(()),
                Err(IngestError::ShuttingDown) => Err(SinkClosed),
                Err(e) => {
                    tracing::error!(error = %e, "{source}: {} messages could not be accepted", batch.len());
                    self.inner
                        .metrics
                        .rejected(source, "persist", batch.len() as u64);
                    Ok(())
                }
            }
        })
    }

    fn connection_problem(&self, source: &'static str, reason: &'static str) {
        self.inner.metrics.connection_problem(source, reason);
    }

    fn shed(&self, source: &'static str, n: u64) {
        self.inner.metrics.udp_shed.inc_by(n);
        self.inner.metrics.rejected(source, "shed", n);
    }

    fn udp_kernel_drops(&self, drops: u64) {
        self.inner.metrics.udp_kernel_drops.set(drops as i64);
    }
}

/// An alert as a document of the `alerts` stream, received at `now`.
fn alert_doc(a: &Alert, now: chrono::DateTime<Utc>) -> Pending {
    let map = match a.to_value() {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    Pending::new(ALERTS_STREAM, a.utctimestamp, now, map)
}

/// Custom streams are `custom-<app>`.
const CUSTOM_PREFIX: &str = "custom-";

/// The stream of `/custom/<app>`, or why `app` is not a valid name: `custom-<app>` must be a
/// valid stream name ([`is_valid_stream_name`]).
pub fn custom_stream(app: &str) -> Result<String, String> {
    let stream = format!("{CUSTOM_PREFIX}{app}");
    if !app.is_empty() && is_valid_stream_name(&stream) {
        Ok(stream)
    } else {
        Err(format!(
            "invalid application name '{app}' in /custom/<app>: use 1 to {} of a-z, 0-9, '-', '_'",
            MAX_STREAM_NAME - CUSTOM_PREFIX.len()
        ))
    }
}

/// A custom body: a whole-body object or array first (pretty-printed documents span lines),
/// else lines (NDJSON or bulk); documents nested deeper than `max_depth` are refused.
#[allow(clippy::type_complexity)]
fn custom_items(
    body: &[u8],
    max_depth: usize,
) -> Result<(Vec<BodyItem<Value>>, Vec<http_body::ItemError>), http_body::BodyError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(docs)) => {
            let (mut items, mut errors) = (Vec::with_capacity(docs.len()), Vec::new());
            for (i, doc) in docs.into_iter().enumerate() {
                match http_body::check_value_depth(&doc, max_depth, i + 1) {
                    Some(e) => errors.push(e),
                    None => items.push(BodyItem { line: i + 1, doc }),
                }
            }
            Ok((items, errors))
        }
        Ok(doc @ Value::Object(_)) => match http_body::check_value_depth(&doc, max_depth, 1) {
            Some(e) => Ok((Vec::new(), vec![e])),
            None => Ok((vec![BodyItem { line: 1, doc }], Vec::new())),
        },
        // Not one JSON value (or deeper than serde_json's own limit of 128): line by line.
        _ => {
            let parsed = http_body::parse_bulk(body, max_depth)?;
            Ok((parsed.items, parsed.errors))
        }
    }
}

/// The documents of a body that could not be decoded (not valid JSON, nested too deep).
fn json_errors(errors: Vec<http_body::ItemError>) -> Vec<LineError> {
    errors
        .into_iter()
        .map(|e| LineError {
            line: e.line,
            reason: e.reason,
            message: e.message,
        })
        .collect()
}

/// Opens the log, replaying every record after the checkpoint into the store, and commits.
/// Store failures do not stop the start: the lowest lost sequence number is returned for the
/// indexer to retry (the checkpoint stays before it).
fn replay(
    store: &dyn Store,
    wal_dir: &std::path::Path,
    max_segment_bytes: u64,
) -> Result<Replayed, StartError> {
    let mut stats = ReplayStats::default();
    let mut chunk: Vec<ferrodef_store::StoredDoc> = Vec::new();
    let mut failures: Vec<(StoreError, u64)> = Vec::new();
    let checkpoint = log::read_checkpoint(wal_dir)?;
    let mut last_seq = checkpoint;
    let flush = |chunk: &mut Vec<ferrodef_store::StoredDoc>,
                 stats: &mut ReplayStats,
                 failures: &mut Vec<(StoreError, u64)>| {
        let Some(lo) = chunk.first().map(|d| d.seq) else {
            return;
        };
        match store.index(std::mem::take(chunk)) {
            Ok(n) => stats.indexed += n as u64,
            Err(e) => failures.push((e, lo)),
        }
    };
    let wal = Wal::open(wal_dir, max_segment_bytes, |seq, payload| {
        stats.records += 1;
        last_seq = seq;
        match decode(seq, payload) {
            Ok(d) => chunk.push(d),
            Err(e) => tracing::error!(seq, "undecodable write-ahead log record skipped: {e}"),
        }
        if chunk.len() >= 10_000 {
            flush(&mut chunk, &mut stats, &mut failures);
        }
        Ok(())
    })?;
    flush(&mut chunk, &mut stats, &mut failures);
    if last_seq > checkpoint {
        if let Err(e) = store.commit(last_seq) {
            failures.push((e, checkpoint + 1));
        }
    }
    Ok(Replayed {
        wal,
        checkpoint,
        stats,
        failures,
    })
}

/// What the replay at start did.
struct Replayed {
    wal: Wal,
    checkpoint: u64,
    stats: ReplayStats,
    /// Store failures, with the lowest sequence number of the batch that met each.
    failures: Vec<(StoreError, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_state_is_saved_less_often_when_saving_is_slow_within_bounds() {
        // Cheap saves: the usual period.
        assert_eq!(
            detect_save_wait(Duration::from_millis(2)),
            DETECT_SAVE_EVERY
        );
        // A save of 300 ms waits 30 s (it costs 1% of a core).
        assert_eq!(
            detect_save_wait(Duration::from_millis(300)),
            Duration::from_secs(30)
        );
        // However slow, saved at least every two minutes.
        assert_eq!(
            detect_save_wait(Duration::from_secs(5)),
            DETECT_SAVE_MAX_WAIT
        );
    }
}
