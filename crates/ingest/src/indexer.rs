//! The indexer: one thread adds the documents the log writer hands over to the store and
//! commits every `commit_interval` (events are searchable within about a second). The log's
//! checkpoint only moves past documents that are committed.
//!
//! When the store fails on a partition (or one document), that partition's uncommitted
//! documents are lost from the store's memory but not from the log: the indexer holds the
//! checkpoint before the lowest lost sequence number, commits what did work, then (with
//! back-off) asks the store to reopen the failed partitions and re-reads the lost range from
//! the log (the store skips what its partitions already committed, so nothing is indexed
//! twice). A document that fails on its own `QUARANTINE_AFTER` times in a row is written to
//! `quarantine.ndjson` in the data directory (kept, and reported by `/health`) and passed over.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodef_store::{PartitionFailure, Store, StoreError, StoredDoc};

use crate::metrics::SourceLabel;
use crate::status::Status;
use crate::writer::Accepted;
use crate::Metrics;
use ferrodef_wal as log;

/// Failures of the same document before it is set aside.
const QUARANTINE_AFTER: u32 = 3;
/// Longest wait between two attempts to recover a failed partition.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Documents re-read from the log per `index` call during recovery.
const REPLAY_CHUNK: usize = 10_000;

pub(crate) struct Indexer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) status: Arc<Status>,
    pub(crate) wal_dir: PathBuf,
    pub(crate) quarantine_file: PathBuf,
    pub(crate) interval: Duration,
    /// Every document up to here is committed.
    pub(crate) checkpoint: u64,
    /// Highest sequence number handed to the store.
    last_seq: u64,
    /// Lowest sequence number lost by a failure and not yet re-indexed.
    hold: Option<u64>,
    /// Failures per document that failed on its own.
    doc_failures: HashMap<u64, u32>,
    /// Documents set aside: never indexed again.
    quarantined: HashSet<u64>,
    /// Indexed, not yet committed, per source (for the `indexed` counters).
    uncommitted: HashMap<String, u64>,
    /// When the first document after the last commit arrived.
    first_pending: Option<Instant>,
    /// When the oldest uncommitted document was acknowledged (it reached the indexer as its
    /// client was answered).
    oldest_ack: Option<Instant>,
    next_recovery: Instant,
    backoff: Duration,
}

impl Indexer {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        status: Arc<Status>,
        wal_dir: PathBuf,
        quarantine_file: PathBuf,
        interval: Duration,
        checkpoint: u64,
    ) -> Indexer {
        Indexer {
            store,
            metrics,
            status,
            wal_dir,
            quarantine_file,
            interval,
            checkpoint,
            last_seq: checkpoint,
            hold: None,
            doc_failures: HashMap::new(),
            quarantined: HashSet::new(),
            uncommitted: HashMap::new(),
            first_pending: None,
            oldest_ack: None,
            next_recovery: Instant::now(),
            backoff: Duration::from_millis(500),
        }
    }

    /// Takes the result of the replay at start: everything up to `last_seq` was handed to the
    /// store and committed, except what `failures` lost.
    pub(crate) fn replayed(&mut self, last_seq: u64, failures: Vec<(StoreError, u64)>) {
        self.last_seq = self.last_seq.max(last_seq);
        for (e, from) in failures {
            self.failed(e, from);
        }
        self.advance();
    }

    /// Runs until the log writer hangs up, then commits what it has and returns.
    pub(crate) fn run(mut self, rx: Receiver<Accepted>) {
        loop {
            let wait = self.wait();
            match rx.recv_timeout(wait) {
                Ok(a) => self.take(a),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let due = self
                .first_pending
                .is_some_and(|t| t.elapsed() >= self.interval);
            if due || (self.hold.is_some() && Instant::now() >= self.next_recovery) {
                self.commit_round();
            }
        }
        self.commit_round();
        if let Some(h) = self.hold {
            tracing::error!(
                from_seq = h,
                "stopping with events not indexed; they stay in the write-ahead log and are retried at the next start"
            );
        }
    }

    fn wait(&self) -> Duration {
        let commit = self
            .first_pending
            .map_or(self.interval, |t| self.interval.saturating_sub(t.elapsed()));
        match self.hold {
            Some(_) => commit.min(self.next_recovery.saturating_duration_since(Instant::now())),
            None => commit,
        }
    }

    fn take(&mut self, a: Accepted) {
        let Accepted { source, docs } = a;
        let (Some(lo), Some(hi)) = (docs.first().map(|d| d.seq), docs.last().map(|d| d.seq)) else {
            return;
        };
        self.first_pending.get_or_insert_with(Instant::now);
        self.oldest_ack.get_or_insert_with(Instant::now);
        let n = docs.len() as u64;
        if let Err(e) = self.store.index(docs) {
            self.failed(e, lo);
        }
        *self.uncommitted.entry(source).or_default() += n;
        self.last_seq = self.last_seq.max(hi);
    }

    /// Records a store failure: the checkpoint stays before what was lost.
    fn failed(&mut self, e: StoreError, batch_from: u64) {
        self.metrics.index_errors.inc();
        let failures = match e {
            StoreError::Partitions(f) => f,
            other => vec![PartitionFailure {
                partition: "(store)".to_string(),
                from_seq: batch_from,
                doc_seq: None,
                error: other.to_string(),
            }],
        };
        for f in &failures {
            tracing::error!(
                partition = %f.partition,
                from_seq = f.from_seq,
                doc_seq = ?f.doc_seq,
                "indexing failed (the events stay in the write-ahead log and are retried): {}",
                f.error
            );
            self.hold = Some(self.hold.map_or(f.from_seq, |h| h.min(f.from_seq)));
            if let Some(d) = f.doc_seq {
                *self.doc_failures.entry(d).or_default() += 1;
            }
        }
        let reason = failures
            .iter()
            .map(|f| format!("{}: {}", f.partition, f.error))
            .collect::<Vec<_>>()
            .join("; ");
        self.status.set_indexing_error(Some(reason));
    }

    /// Commits, moves the checkpoint as far as is safe, and retries a failed range when due.
    fn commit_round(&mut self) {
        self.first_pending = None;
        if self.last_seq > self.checkpoint {
            self.commit();
        }
        if self.hold.is_some() && Instant::now() >= self.next_recovery {
            self.recover();
        }
    }

    fn commit(&mut self) {
        let started = Instant::now();
        match self.store.commit(self.last_seq) {
            Ok(()) => {
                self.metrics.commits.inc();
                self.metrics
                    .commit_seconds
                    .observe(started.elapsed().as_secs_f64());
                if let Some(t) = self.oldest_ack.take() {
                    self.metrics
                        .searchable_lag_seconds
                        .observe(t.elapsed().as_secs_f64());
                }
            }
            Err(e) => {
                let from = self.checkpoint + 1;
                self.failed(e, from);
            }
        }
        for (source, n) in self.uncommitted.drain() {
            self.metrics
                .indexed
                .get_or_create(&SourceLabel { source })
                .inc_by(n);
            self.metrics.pending.dec_by(n as i64);
        }
        self.advance();
    }

    /// Moves the checkpoint up to the last committed document before any loss.
    fn advance(&mut self) {
        let safe = match self.hold {
            Some(h) => h.saturating_sub(1).min(self.last_seq),
            None => self.last_seq,
        };
        if safe > self.checkpoint {
            match log::write_checkpoint_keeping(&self.wal_dir, safe, self.status.keep_after()) {
                Ok(()) => {
                    self.checkpoint = safe;
                    self.status.set_checkpoint(safe);
                }
                Err(e) => tracing::error!("{e}"),
            }
        }
    }

    /// Reopens failed partitions and re-indexes the lost range from the log, then commits it.
    fn recover(&mut self) {
        let Some(from) = self.hold else { return };
        let to = self.last_seq;
        let names = self.store.reopen_failed();
        tracing::info!(from_seq = from, to_seq = to, partitions = ?names, "re-indexing events from the write-ahead log");
        self.quarantine_repeat_offenders(from, to);
        self.hold = None;
        let mut chunk: Vec<StoredDoc> = Vec::new();
        let mut errors: Vec<(StoreError, u64)> = Vec::new();
        let quarantined = &self.quarantined;
        let store = &self.store;
        let res = log::read_range(&self.wal_dir, from, to, |seq, payload| {
            if quarantined.contains(&seq) {
                return Ok(());
            }
            match crate::record::decode(seq, payload) {
                Ok(d) => chunk.push(d),
                Err(e) => tracing::error!(seq, "undecodable write-ahead log record skipped: {e}"),
            }
            if chunk.len() >= REPLAY_CHUNK {
                let lo = chunk.first().map_or(seq, |d| d.seq);
                if let Err(e) = store.index(std::mem::take(&mut chunk)) {
                    errors.push((e, lo));
                }
            }
            Ok(())
        });
        if !chunk.is_empty() {
            let lo = chunk.first().map_or(from, |d| d.seq);
            if let Err(e) = self.store.index(chunk) {
                errors.push((e, lo));
            }
        }
        if let Err(e) = res {
            tracing::error!("re-reading the write-ahead log: {e}");
            self.hold = Some(from);
        }
        for (e, lo) in errors {
            self.failed(e, lo);
        }
        self.commit();
        if self.hold.is_none() {
            tracing::info!("indexing recovered");
            self.status.set_indexing_error(None);
            self.backoff = Duration::from_millis(500);
        } else {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
        self.next_recovery = Instant::now() + self.backoff;
    }

    /// Sets aside the documents of `from..=to` that failed on their own too often.
    fn quarantine_repeat_offenders(&mut self, from: u64, to: u64) {
        let doomed: Vec<u64> = self
            .doc_failures
            .iter()
            .filter(|(s, n)| **n >= QUARANTINE_AFTER && (from..=to).contains(*s))
            .map(|(s, _)| *s)
            .collect();
        for seq in doomed {
            self.doc_failures.remove(&seq);
            match self.quarantine(seq) {
                Ok(()) => {
                    self.quarantined.insert(seq);
                    self.status.add_quarantined(1);
                    self.metrics.quarantined.inc();
                    tracing::error!(
                        seq,
                        file = %self.quarantine_file.display(),
                        "an event failed to index {QUARANTINE_AFTER} times; it was set aside in the quarantine file"
                    );
                }
                Err(e) => tracing::error!(seq, "writing the quarantine file: {e}"),
            }
        }
    }

    /// Appends the document `seq` (read from the log) with its error to the quarantine file.
    fn quarantine(&self, seq: u64) -> std::io::Result<()> {
        let mut line: Option<Vec<u8>> = None;
        log::read_range(&self.wal_dir, seq, seq, |s, payload| {
            let entry = match crate::record::decode(s, payload) {
                Ok(d) => {
                    let doc: serde_json::Value =
                        serde_json::from_slice(&d.source).unwrap_or(serde_json::Value::Null);
                    serde_json::json!({"seq": s, "stream": d.stream, "utctimestamp": d.utctimestamp, "document": doc})
                }
                Err(e) => serde_json::json!({"seq": s, "undecodable": e}),
            };
            line = serde_json::to_vec(&entry).ok();
            Ok(())
        })
        .map_err(std::io::Error::other)?;
        let Some(mut line) = line else {
            return Err(std::io::Error::other(format!(
                "event {seq} is no longer in the write-ahead log"
            )));
        };
        line.push(b'\n');
        let mut f = crate::fsutil::open_append(&self.quarantine_file)?;
        f.write_all(&line)?;
        f.sync_data()
    }
}
