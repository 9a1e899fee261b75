//! Index writers: a bounded pool, and partitions that failed.
//!
//! At most [`TantivyOptions::max_open_writers`] writers are open at once, whatever the
//! timestamps of the documents: when a document needs a writer and the pool is full, the least
//! recently used writer is committed (if it holds documents) and closed. Its commit payload is
//! the highest sequence number added to *that* partition: documents reach a partition in
//! sequence order, so every document of it up to that number is committed, and a replay of the
//! write-ahead log skips exactly those. A batch is grouped by partition first, so a batch over
//! N days opens each writer once.
//!
//! A partition whose writer fails (opening it, adding a document, committing) is *broken*: its
//! writer is discarded with the documents it had not committed, and it refuses documents until
//! [`Store::reopen_failed`](crate::Store::reopen_failed) — a later commit of it would otherwise
//! record a payload past the lost documents. The failure names the lowest sequence number the
//! partition lost (`from_seq`), from which the caller indexes again.
//!
//! # Fault injection (cargo feature `failpoints`)
//!
//! With the feature `failpoints` (off by default; without it the checks compile to nothing),
//! two [`fail`](https://docs.rs/fail) failpoints make the store fail on purpose:
//! - `store-add-document`, evaluated for each document: with `return(YYYYMMDD)` adding a
//!   document of that day fails, with `return(seq=N)` adding the document of sequence number N
//!   fails, with `return` or `return(all)` every document fails;
//! - `store-commit`, evaluated for each partition committed (by `commit`, or when its writer
//!   is closed to make room): `return(YYYYMMDD)` fails that day's partitions only, `return` or
//!   `return(all)` every one.
//!
//! In tests: `fail::cfg("store-add-document", "return(20261130)")`, and `fail::remove(...)` to
//! stop; failpoints are global to the process, so such tests run in a process of their own
//! (`cargo nextest` runs each test in its own process). In a binary built with the feature:
//! call `fail::FailScenario::setup()` at start and set them in the environment, e.g.
//! `FAILPOINTS='store-commit=return(20261130)'`.
//!
//! [`TantivyOptions::max_open_writers`]: super::TantivyOptions::max_open_writers

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::IndexWriter;

use super::doc::IndexDoc;
use super::merge::BoundedMergePolicy;
use super::partitions::{Opened, PartKey, Partition};
use super::TantivyOptions;
use crate::{PartitionFailure, StoreError, StoredDoc};

/// A partition's open writer.
pub(crate) struct OpenWriter {
    writer: IndexWriter<IndexDoc>,
    part: Arc<Partition>,
    /// Keeps the partition open while it is written.
    opened: Arc<Opened>,
    /// The lowest sequence number added since the last commit (`None`: nothing to commit).
    first_uncommitted: Option<u64>,
    /// The highest sequence number added.
    last_added: u64,
    last_used: Instant,
    /// Use order, for closing the least recently used writer.
    tick: u64,
}

impl OpenWriter {
    pub(crate) fn is_dirty(&self) -> bool {
        self.first_uncommitted.is_some()
    }
}

/// Why a partition refuses documents.
#[derive(Debug, Clone)]
pub(crate) struct Broken {
    from_seq: u64,
    doc_seq: Option<u64>,
    error: String,
}

/// The open writers and the broken partitions.
#[derive(Default)]
pub(crate) struct WriterPool {
    pub(crate) open: HashMap<PartKey, OpenWriter>,
    pub(crate) broken: BTreeMap<PartKey, Broken>,
    tick: u64,
}

/// Failures of one call, one per partition.
#[derive(Default)]
pub(crate) struct Failures(BTreeMap<PartKey, PartitionFailure>);

impl Failures {
    fn add(&mut self, key: &PartKey, b: &Broken) {
        self.0
            .entry(key.clone())
            .or_insert_with(|| PartitionFailure {
                partition: key.to_string(),
                from_seq: b.from_seq,
                doc_seq: b.doc_seq,
                error: b.error.clone(),
            });
    }

    pub(crate) fn into_result<T>(self, ok: T) -> Result<T, StoreError> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(StoreError::Partitions(self.0.into_values().collect()))
        }
    }
}

impl WriterPool {
    /// Marks `key` broken (keeping an earlier failure's `from_seq` if it is already broken) and
    /// records the failure.
    fn mark_broken(&mut self, key: &PartKey, b: Broken, failures: &mut Failures) {
        tracing::error!(partition = %key, from_seq = b.from_seq, "partition failed: {}", b.error);
        let b = self.broken.entry(key.clone()).or_insert(b);
        failures.add(key, b);
    }

    /// Discards the writer of `key` (its uncommitted documents are lost) and marks the
    /// partition broken from its lowest uncommitted sequence number, or `fallback_seq`.
    fn fail_writer(
        &mut self,
        key: &PartKey,
        fallback_seq: u64,
        doc_seq: Option<u64>,
        error: String,
        failures: &mut Failures,
    ) {
        let from_seq = match self.open.remove(key) {
            Some(w) => {
                let from = w.first_uncommitted.unwrap_or(fallback_seq);
                close(w);
                from
            }
            None => fallback_seq,
        };
        let from_seq = from_seq.min(fallback_seq);
        self.mark_broken(
            key,
            Broken {
                from_seq,
                doc_seq,
                error,
            },
            failures,
        );
    }

    /// Clears every broken partition; returns their names.
    pub(crate) fn reopen_failed(&mut self) -> Vec<String> {
        let names = self.broken.keys().map(ToString::to_string).collect();
        self.broken.clear();
        names
    }

    /// Adds a batch: grouped by partition (sequence order kept inside each), each partition's
    /// documents through its writer. Returns how many were added, and the failures.
    pub(crate) fn index(
        &mut self,
        docs: Vec<StoredDoc>,
        opts: &TantivyOptions,
        partition: impl Fn(&PartKey) -> Result<Arc<Partition>, StoreError>,
        failures: &mut Failures,
    ) -> usize {
        let mut added = 0;
        for (key, docs) in group_by_partition(docs) {
            let Some(first_seq) = docs.first().map(|d| d.seq) else {
                continue;
            };
            if let Some(b) = self.broken.get(&key) {
                failures.add(&key, b);
                continue;
            }
            let part = match partition(&key) {
                Ok(p) => p,
                Err(e) => {
                    let b = Broken {
                        from_seq: first_seq,
                        doc_seq: None,
                        error: e.to_string(),
                    };
                    self.mark_broken(&key, b, failures);
                    continue;
                }
            };
            // Documents reach a partition in sequence order: those up to the last one added
            // (committed or not) are already there — a batch given again after a failure
            // elsewhere adds nothing twice.
            let done = part
                .committed_seq()
                .max(self.open.get(&key).map_or(0, |w| w.last_added));
            let mut docs = docs.into_iter().filter(|d| d.seq > done).peekable();
            let Some(first_new) = docs.peek().map(|d| d.seq) else {
                continue;
            };
            if !self.open.contains_key(&key) {
                self.make_room(opts, failures);
                match open_writer(&part, opts) {
                    Ok(w) => {
                        self.open.insert(key.clone(), w);
                    }
                    Err(e) => {
                        let error = format!("opening the writer: {e}");
                        self.fail_writer(&key, first_new, None, error, failures);
                        continue;
                    }
                }
            }
            self.tick += 1;
            let tick = self.tick;
            let Some(w) = self.open.get_mut(&key) else {
                continue;
            };
            w.tick = tick;
            w.last_used = Instant::now();
            let mut failed = None;
            for doc in docs {
                let seq = doc.seq;
                match add(w, doc) {
                    Ok(()) => {
                        w.first_uncommitted.get_or_insert(seq);
                        w.last_added = seq;
                        added += 1;
                    }
                    Err(e) => {
                        failed = Some((seq, e));
                        break;
                    }
                }
            }
            if let Some((seq, e)) = failed {
                let error = format!("adding document {seq}: {e}");
                self.fail_writer(&key, seq, Some(seq), error, failures);
            }
        }
        added
    }

    /// Closes the least recently used writers until one more can open, committing those that
    /// hold documents (payload: the highest sequence number added to that partition).
    fn make_room(&mut self, opts: &TantivyOptions, failures: &mut Failures) {
        let max = opts.max_open_writers.max(1);
        while self.open.len() >= max {
            let Some(key) = self
                .open
                .iter()
                .min_by_key(|(_, w)| w.tick)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            let Some(mut w) = self.open.remove(&key) else {
                return;
            };
            if let Some(first) = w.first_uncommitted {
                let payload = w.last_added;
                if let Err(e) = commit_writer(&mut w, payload) {
                    close(w);
                    let b = Broken {
                        from_seq: first,
                        doc_seq: None,
                        error: format!("committing: {e}"),
                    };
                    self.mark_broken(&key, b, failures);
                    continue;
                }
            }
            close(w);
        }
    }

    /// Commits every writer holding documents with payload `seq`; a writer whose commit fails
    /// is discarded and its partition broken. Then closes writers idle for longer than
    /// `idle`.
    pub(crate) fn commit(&mut self, seq: u64, idle: Duration, failures: &mut Failures) {
        let mut failed = Vec::new();
        for (key, w) in self.open.iter_mut() {
            let Some(first) = w.first_uncommitted else {
                continue;
            };
            // Everything added is committed: never record less than the last document added.
            let payload = seq.max(w.last_added);
            if let Err(e) = commit_writer(w, payload) {
                failed.push((key.clone(), first, e));
            }
        }
        for (key, first, e) in failed {
            self.fail_writer(&key, first, None, format!("committing: {e}"), failures);
        }
        let now = Instant::now();
        let idle_keys: Vec<PartKey> = self
            .open
            .iter()
            .filter(|(_, w)| !w.is_dirty() && now.duration_since(w.last_used) > idle)
            .map(|(k, _)| k.clone())
            .collect();
        for key in idle_keys {
            if let Some(w) = self.open.remove(&key) {
                close(w);
            }
        }
    }

    /// Closes every writer after its merges finish (uncommitted documents are discarded).
    pub(crate) fn close_all(&mut self) -> Result<(), StoreError> {
        let mut first_err = None;
        for (_, w) in self.open.drain() {
            if let Err(e) = w.writer.wait_merging_threads() {
                first_err.get_or_insert(StoreError::from(e));
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Closes the writer of `key` unless it holds uncommitted documents; false if it does.
    pub(crate) fn close_clean(&mut self, key: &PartKey) -> bool {
        match self.open.get(key) {
            Some(w) if w.is_dirty() => false,
            Some(_) => {
                if let Some(w) = self.open.remove(key) {
                    close(w);
                }
                true
            }
            None => true,
        }
    }
}

/// The batch grouped by partition, partitions in order of first appearance, documents in their
/// order inside each.
fn group_by_partition(docs: Vec<StoredDoc>) -> Vec<(PartKey, Vec<StoredDoc>)> {
    let mut groups: Vec<(PartKey, Vec<StoredDoc>)> = Vec::new();
    let mut at: HashMap<PartKey, usize> = HashMap::new();
    for doc in docs {
        let key = PartKey {
            stream: doc.stream.clone(),
            day: super::day_of(doc.utctimestamp),
        };
        match at.get(&key) {
            Some(&i) => groups[i].1.push(doc),
            None => {
                at.insert(key.clone(), groups.len());
                groups.push((key, vec![doc]));
            }
        }
    }
    groups
}

fn open_writer(part: &Arc<Partition>, opts: &TantivyOptions) -> Result<OpenWriter, StoreError> {
    let opened = part.reader.opened()?;
    // The alerts stream gets a hundredth of the events' documents: one indexing thread (with
    // that thread's share of the memory) is plenty, and each commit then starts one new
    // segment there rather than one per thread (each with its own zeroed tables).
    let threads = opts.writer_threads.max(1);
    let (threads, memory) = match part.key.stream == ferrodef_event::ALERTS_STREAM {
        // (tantivy's least per thread is 15 MB: a smaller share keeps the whole budget).
        true => match opts.writer_memory_bytes / threads {
            share if share >= 15 << 20 => (1, share),
            _ => (1, opts.writer_memory_bytes),
        },
        false => (threads, opts.writer_memory_bytes),
    };
    let writer: IndexWriter<IndexDoc> = opened.index.writer_with_num_threads(threads, memory)?;
    writer.set_merge_policy(Box::new(BoundedMergePolicy {
        min_segments: opts.merge_min_segments,
        max_merged_docs: opts.max_merged_docs,
    }));
    Ok(OpenWriter {
        writer,
        part: part.clone(),
        opened,
        first_uncommitted: None,
        last_added: 0,
        last_used: Instant::now(),
        tick: 0,
    })
}

fn add(w: &mut OpenWriter, doc: StoredDoc) -> Result<(), StoreError> {
    if let Some(e) = injected_add_failure(&w.part.key, doc.seq) {
        return Err(StoreError::Engine(e));
    }
    w.writer.add_document(IndexDoc::new(&w.part.fields, doc))?;
    Ok(())
}

/// Commits `w` with `payload`, then makes the commit searchable.
fn commit_writer(w: &mut OpenWriter, payload: u64) -> Result<(), StoreError> {
    if let Some(e) = injected_commit_failure(&w.part.key) {
        return Err(StoreError::Engine(e));
    }
    let mut prepared = w.writer.prepare_commit()?;
    prepared.set_payload(&payload.to_string());
    prepared.commit()?;
    w.part.committed_seq.store(payload, Ordering::Release);
    w.first_uncommitted = None;
    // The commit is durable: failing to reload only delays its visibility to searches.
    match w.opened.reader.reload() {
        Ok(()) => {
            let docs = w.opened.reader.searcher().num_docs();
            w.part.docs.store(docs, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(partition = %w.part.key, "reloading the reader: {e}"),
    }
    Ok(())
}

/// Closes a writer: waits for its indexing threads and merges, so that its threads are gone.
fn close(w: OpenWriter) {
    let key = w.part.key.clone();
    if let Err(e) = w.writer.wait_merging_threads() {
        tracing::warn!(partition = %key, "closing writer: {e}");
    }
}

#[cfg(feature = "failpoints")]
fn failpoint_matches(value: Option<String>, key: &PartKey, seq: Option<u64>) -> bool {
    let value = value.unwrap_or_default();
    let value = value.trim();
    if value.is_empty() || value == "all" {
        return true;
    }
    if let Some(n) = value.strip_prefix("seq=") {
        return seq.is_some() && n.trim().parse::<u64>().ok() == seq;
    }
    value.parse::<u32>().ok() == Some(key.day)
}

#[cfg(feature = "failpoints")]
fn injected_add_failure(key: &PartKey, seq: u64) -> Option<String> {
    fail::eval("store-add-document", |v| {
        failpoint_matches(v, key, Some(seq))
    })
    .filter(|hit| *hit)
    .map(|_| "injected failure (failpoint store-add-document)".to_string())
}

#[cfg(feature = "failpoints")]
fn injected_commit_failure(key: &PartKey) -> Option<String> {
    fail::eval("store-commit", |v| failpoint_matches(v, key, None))
        .filter(|hit| *hit)
        .map(|_| "injected failure (failpoint store-commit)".to_string())
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
fn injected_add_failure(_key: &PartKey, _seq: u64) -> Option<String> {
    None
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
fn injected_commit_failure(_key: &PartKey) -> Option<String> {
    None
}
