//! The store sink: accepted events go through the write-ahead log (fsynced, then the client is
//! answered) to an indexer thread that adds them to the store and commits every
//! `commit_interval` (near-real-time search). See `docs/durability.md`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_store::{DocBody, Store, StoredDoc};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::wal::{self, Wal, WalError};

/// An accepted document waiting for its sequence number.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The stream it goes to.
    pub stream: String,
    /// Its time (partition and sort key).
    pub utctimestamp: DateTime<Utc>,
    /// When ferrodef received it.
    pub receivedtimestamp: DateTime<Utc>,
    /// The document.
    pub doc: DocBody,
    /// The document serialized as JSON.
    pub source: Vec<u8>,
}

impl Pending {
    /// Builds a pending document, serializing `doc`.
    pub fn new(
        stream: impl Into<String>,
        utctimestamp: DateTime<Utc>,
        receivedtimestamp: DateTime<Utc>,
        doc: impl Into<DocBody>,
    ) -> Pending {
        let doc = doc.into();
        let source = doc.to_json();
        Pending {
            stream: stream.into(),
            utctimestamp,
            receivedtimestamp,
            doc,
            source,
        }
    }
}

const RECORD_VERSION: u8 = 1;

fn encode(p: &Pending, out: &mut Vec<u8>) {
    let stream = p.stream.as_bytes();
    let stream = &stream[..stream.len().min(255)];
    out.push(RECORD_VERSION);
    out.push(stream.len() as u8);
    out.extend_from_slice(stream);
    out.extend_from_slice(&p.utctimestamp.timestamp_micros().to_le_bytes());
    out.extend_from_slice(&p.receivedtimestamp.timestamp_micros().to_le_bytes());
    out.extend_from_slice(&p.source);
}

fn decode(seq: u64, b: &[u8]) -> Result<StoredDoc, String> {
    let version = *b.first().ok_or("empty record")?;
    if version != RECORD_VERSION {
        return Err(format!("unknown record version {version}"));
    }
    let slen = *b.get(1).ok_or("truncated record")? as usize;
    let stream = b.get(2..2 + slen).ok_or("truncated stream name")?;
    let stream = std::str::from_utf8(stream).map_err(|e| format!("stream name: {e}"))?;
    let rest = b.get(2 + slen..).ok_or("truncated record")?;
    let ts = |i: usize| -> Result<DateTime<Utc>, String> {
        let bytes: [u8; 8] = rest
            .get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or("truncated timestamp")?;
        Utc.timestamp_micros(i64::from_le_bytes(bytes))
            .single()
            .ok_or_else(|| "timestamp out of range".to_string())
    };
    let utc = ts(0)?;
    let received = ts(8)?;
    let source = rest.get(16..).ok_or("truncated document")?;
    let doc: Map<String, Value> =
        serde_json::from_slice(source).map_err(|e| format!("document: {e}"))?;
    Ok(StoredDoc {
        seq,
        stream: stream.to_string(),
        utctimestamp: utc,
        receivedtimestamp: received,
        doc: DocBody::Map(doc),
        source: source.to_vec(),
    })
}

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Directory of the write-ahead log.
    pub wal_dir: PathBuf,
    /// Size after which a new log segment is started.
    pub max_segment_bytes: u64,
    /// How often accepted events are committed to the store (made searchable).
    pub commit_interval: Duration,
}

/// Why events could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The write-ahead log could not persist them.
    #[error("could not persist events: {0}")]
    Persist(String),
    /// The pipeline is shutting down.
    #[error("ferrodef is shutting down")]
    ShuttingDown,
}

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The log could not be opened or replayed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The store failed during replay.
    #[error("replaying the write-ahead log into the store: {0}")]
    Store(#[from] ferrodef_store::StoreError),
    /// A thread could not be started.
    #[error("starting a thread: {0}")]
    Thread(std::io::Error),
}

struct Submit {
    source: String,
    docs: Vec<Pending>,
    ack: oneshot::Sender<Result<(), String>>,
}

/// The running pipeline: a handle to submit events.
pub struct Pipeline {
    tx: Option<mpsc::Sender<Submit>>,
    writer: Option<JoinHandle<()>>,
    indexer: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
}

/// Events replayed from the write-ahead log at start.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplayStats {
    /// Records read after the checkpoint.
    pub records: u64,
    /// Of which were indexed (not already in the store).
    pub indexed: u64,
}

impl Pipeline {
    /// Replays the write-ahead log into `store`, then starts the writer and indexer threads.
    pub fn start(
        store: Arc<dyn Store>,
        cfg: PipelineConfig,
        metrics: Arc<Metrics>,
    ) -> Result<(Pipeline, ReplayStats), StartError> {
        let mut stats = ReplayStats::default();
        let mut chunk: Vec<StoredDoc> = Vec::new();
        let mut store_err: Option<ferrodef_store::StoreError> = None;
        let mut last_seq = wal::read_checkpoint(&cfg.wal_dir).unwrap_or(0);
        let wal = Wal::open(&cfg.wal_dir, cfg.max_segment_bytes, |seq, payload| {
            stats.records += 1;
            last_seq = seq;
            match decode(seq, payload) {
                Ok(d) => chunk.push(d),
                Err(e) => tracing::error!(seq, "undecodable write-ahead log record skipped: {e}"),
            }
            if chunk.len() >= 10_000 {
                match store.index(std::mem::take(&mut chunk)) {
                    Ok(n) => stats.indexed += n as u64,
                    Err(e) => {
                        let msg = e.to_string();
                        store_err = Some(e);
                        return Err(io_as_wal(msg));
                    }
                }
            }
            Ok(())
        });
        if let Some(e) = store_err {
            return Err(StartError::Store(e));
        }
        let wal = wal?;
        if !chunk.is_empty() {
            stats.indexed += store.index(chunk)? as u64;
        }
        if stats.records > 0 {
            store.commit(last_seq)?;
            wal::write_checkpoint(&cfg.wal_dir, last_seq)?;
        }

        let (tx, rx) = mpsc::channel::<Submit>(256);
        // No queue: the log writer hands each batch to the indexer and only then answers its
        // client, so that when indexing lags, acknowledging slows down (instead of memory
        // growing, or acknowledged events waiting for the indexer and becoming searchable
        // later than `commit_interval` plus the commit).
        let (itx, irx) = sync_channel::<Accepted>(0);
        let m = metrics.clone();
        let writer = std::thread::Builder::new()
            .name("ferrodef-wal".into())
            .spawn(move || writer_loop(wal, rx, itx, m))
            .map_err(StartError::Thread)?;
        let m = metrics.clone();
        let wal_dir = cfg.wal_dir.clone();
        let interval = cfg.commit_interval;
        let checkpoint = last_seq;
        let indexer = std::thread::Builder::new()
            .name("ferrodef-indexer".into())
            .spawn(move || indexer_loop(store, irx, m, wal_dir, interval, checkpoint))
            .map_err(StartError::Thread)?;
        Ok((
            Pipeline {
                tx: Some(tx),
                writer: Some(writer),
                indexer: Some(indexer),
                metrics,
            },
            stats,
        ))
    }

    /// A cheap handle for submitting events from many tasks.
    pub fn handle(&self) -> IngestHandle {
        IngestHandle {
            tx: self.tx.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// Stops accepting, writes out and commits everything accepted, and waits for the threads.
    pub fn shutdown(mut self) {
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some(i) = self.indexer.take() {
            let _ = i.join();
        }
    }
}

fn io_as_wal(msg: String) -> WalError {
    // The replay callback can only fail with a WalError; the store error itself is kept aside.
    WalError::from_io("replay", std::io::Error::other(msg))
}

/// Submits events to the pipeline.
#[derive(Clone)]
pub struct IngestHandle {
    tx: Option<mpsc::Sender<Submit>>,
    metrics: Arc<Metrics>,
}

impl IngestHandle {
    /// Persists `docs` in the write-ahead log; returns once they are durable (the caller may
    /// then acknowledge them). `source` labels the metrics.
    pub async fn submit(&self, source: &str, docs: Vec<Pending>) -> Result<(), SubmitError> {
        if docs.is_empty() {
            return Ok(());
        }
        let n = docs.len() as u64;
        let tx = self.tx.as_ref().ok_or(SubmitError::ShuttingDown)?;
        let (ack, rx) = oneshot::channel();
        tx.send(Submit {
            source: source.to_string(),
            docs,
            ack,
        })
        .await
        .map_err(|_| SubmitError::ShuttingDown)?;
        match rx.await {
            Ok(Ok(())) => {
                self.metrics.accepted(source, n);
                Ok(())
            }
            Ok(Err(e)) => Err(SubmitError::Persist(e)),
            Err(_) => Err(SubmitError::ShuttingDown),
        }
    }

    /// The metrics the pipeline updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// Documents the write-ahead log has made durable, on their way to the indexer. Their client
/// is answered once the indexer has taken them (see `writer_loop`).
struct Accepted {
    source: String,
    docs: Vec<StoredDoc>,
}

fn writer_loop(
    mut wal: Wal,
    mut rx: mpsc::Receiver<Submit>,
    itx: SyncSender<Accepted>,
    metrics: Arc<Metrics>,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut subs = vec![first];
        let mut n = subs[0].docs.len();
        while n < 10_000 {
            match rx.try_recv() {
                Ok(s) => {
                    n += s.docs.len();
                    subs.push(s);
                }
                Err(_) => break,
            }
        }
        buf.clear();
        offsets.clear();
        offsets.push(0);
        for s in &subs {
            for d in &s.docs {
                encode(d, &mut buf);
                offsets.push(buf.len());
            }
        }
        let payloads = offsets.windows(2).map(|w| &buf[w[0]..w[1]]);
        match wal.append(payloads) {
            Ok(first_seq) => {
                let mut seq = first_seq;
                let mut forward = Vec::with_capacity(subs.len());
                for s in subs {
                    let docs: Vec<StoredDoc> = s
                        .docs
                        .into_iter()
                        .map(|p| {
                            let d = StoredDoc {
                                seq,
                                stream: p.stream,
                                utctimestamp: p.utctimestamp,
                                receivedtimestamp: p.receivedtimestamp,
                                doc: p.doc,
                                source: p.source,
                            };
                            seq += 1;
                            d
                        })
                        .collect();
                    metrics.pending.inc_by(docs.len() as i64);
                    forward.push((
                        Accepted {
                            source: s.source,
                            docs,
                        },
                        s.ack,
                    ));
                }
                // The events are durable: each client is answered once the indexer has taken
                // its events (or has stopped: they stay in the log and are indexed at the
                // next start).
                for (f, ack) in forward {
                    if itx.send(f).is_err() {
                        tracing::error!("indexer stopped; accepted events stay in the write-ahead log and are indexed at the next start");
                    }
                    let _ = ack.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!("{e}");
                let msg = e.to_string();
                for s in subs {
                    let _ = s.ack.send(Err(msg.clone()));
                }
            }
        }
        if buf.capacity() > (64 << 20) {
            buf = Vec::new();
        }
    }
}

fn indexer_loop(
    store: Arc<dyn Store>,
    rx: Receiver<Accepted>,
    metrics: Arc<Metrics>,
    wal_dir: PathBuf,
    interval: Duration,
    mut checkpoint: u64,
) {
    let mut last_seq = checkpoint;
    // When indexing fails, the checkpoint must not pass the failed events: they stay in the
    // write-ahead log and are replayed at the next start.
    let mut failed_from: Option<u64> = None;
    let mut uncommitted: HashMap<String, u64> = HashMap::new();
    // The clock of a commit starts when the first document after the previous commit arrives:
    // every document is committed at most `interval` (plus the commit itself) after it reached
    // the indexer, and under load commits are not more frequent than that (each commit has a
    // fixed cost: new segments, term dictionaries, later merges).
    let mut first_pending: Option<Instant> = None;
    // The acknowledgement time of the oldest uncommitted document.
    let mut oldest_ack: Option<Instant> = None;
    let mut open = true;
    while open {
        let wait = first_pending.map_or(interval, |t| interval.saturating_sub(t.elapsed()));
        match rx.recv_timeout(wait) {
            Ok(Accepted { source, docs }) => {
                let n = docs.len() as u64;
                let (lo, hi) = match (docs.first(), docs.last()) {
                    (Some(a), Some(b)) => (a.seq, b.seq),
                    _ => continue,
                };
                first_pending.get_or_insert_with(Instant::now);
                // Taken at the moment its client is answered (the channel has no queue).
                oldest_ack.get_or_insert_with(Instant::now);
                match store.index(docs) {
                    Ok(_) => {
                        *uncommitted.entry(source).or_default() += n;
                    }
                    Err(e) => {
                        tracing::error!("indexing events {lo}..={hi} failed (they stay in the write-ahead log): {e}");
                        metrics.index_errors.inc();
                        failed_from.get_or_insert(lo);
                    }
                }
                last_seq = hi;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        let due = first_pending.is_some_and(|t| t.elapsed() >= interval) || !open;
        if due && last_seq <= checkpoint {
            first_pending = None;
        }
        if due && last_seq > checkpoint {
            first_pending = None;
            let started = Instant::now();
            match store.commit(last_seq) {
                Ok(()) => {
                    metrics.commits.inc();
                    metrics
                        .commit_seconds
                        .observe(started.elapsed().as_secs_f64());
                    if let Some(t) = oldest_ack.take() {
                        metrics
                            .searchable_lag_seconds
                            .observe(t.elapsed().as_secs_f64());
                    }
                    for (source, n) in uncommitted.drain() {
                        metrics
                            .indexed
                            .get_or_create(&crate::metrics::SourceLabel { source })
                            .inc_by(n);
                        metrics.pending.dec_by(n as i64);
                    }
                    let safe = match failed_from {
                        Some(f) => f.saturating_sub(1).min(last_seq),
                        None => last_seq,
                    };
                    if safe > checkpoint {
                        match wal::write_checkpoint(&wal_dir, safe) {
                            Ok(()) => checkpoint = safe,
                            Err(e) => tracing::error!("{e}"),
                        }
                    }
                }
                Err(e) => {
                    metrics.index_errors.inc();
                    tracing::error!("store commit failed (will retry): {e}");
                    first_pending = Some(Instant::now());
                }
            }
        } else if !open {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_roundtrip() {
        let mut doc = Map::new();
        doc.insert("summary".into(), Value::String("hello".into()));
        let t = Utc.timestamp_micros(1_700_000_000_123_456).unwrap();
        let p = Pending::new("custom-app", t, t, doc.clone());
        let mut buf = Vec::new();
        encode(&p, &mut buf);
        let d = decode(7, &buf).unwrap();
        assert_eq!(d.seq, 7);
        assert_eq!(d.stream, "custom-app");
        assert_eq!(d.utctimestamp, t);
        assert_eq!(d.doc, DocBody::Map(doc));
        assert!(decode(1, &buf[..5]).is_err());
        assert!(decode(1, &[]).is_err());
    }
}
