//! The embedded storage backend: tantivy, one index per stream and UTC day.
//!
//! Layout: `<root>/<stream>/<YYYYMMDD>/` holds one tantivy index. Every commit records, as the
//! commit payload, the write-ahead-log sequence number up to which the partition is complete;
//! replaying the log after a crash skips what a partition already holds, so no event is indexed
//! twice and none is lost.

mod aggregate;
mod doc;
mod guard;
mod merge;
mod query;
pub mod schema;
mod search;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use parking_lot::{Mutex, RwLock};
use tantivy::query::{AllQuery, Query};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

pub use self::aggregate::{parse_interval, MAX_HISTOGRAM_BUCKETS, MAX_TERMS_SIZE};
use self::doc::IndexDoc;
use self::merge::BoundedMergePolicy;
pub use self::query::{to_tantivy_date, to_v6};
use self::schema::Fields;
use crate::{
    AggRequest, AggResponse, PartitionInfo, SearchRequest, SearchResponse, Store, StoreError,
    StoredDoc,
};

/// Tuning of the tantivy backend.
#[derive(Debug, Clone)]
pub struct TantivyOptions {
    /// Indexing memory budget of one open writer, in bytes (at least 15 MB per thread).
    pub writer_memory_bytes: usize,
    /// Indexing threads of one writer.
    pub writer_threads: usize,
    /// How many partitions may have an open writer at once (older ones are closed).
    pub max_open_writers: usize,
    /// A writer not used for this long is closed at the next commit.
    pub writer_idle: Duration,
    /// No merge makes a segment of more documents than this (bounds the memory and time of
    /// merges while ingesting; see `merge`).
    pub max_merged_docs: u32,
    /// How many segments of a size class make a merge when they do not fill `max_merged_docs`
    /// first (higher: larger merges of small segments, a few more segments to search).
    pub merge_min_segments: usize,
}

impl Default for TantivyOptions {
    fn default() -> Self {
        TantivyOptions {
            writer_memory_bytes: 128 << 20,
            writer_threads: 2,
            max_open_writers: 3,
            writer_idle: Duration::from_secs(60),
            max_merged_docs: 200_000,
            merge_min_segments: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct PartKey {
    stream: String,
    /// `YYYYMMDD` as a number.
    day: u32,
}

impl PartKey {
    fn day_string(&self) -> String {
        format!("{:08}", self.day)
    }
}

struct Partition {
    key: PartKey,
    dir: PathBuf,
    index: Index,
    /// The fields of this partition's own schema (older partitions may lack newer fields).
    fields: Fields,
    reader: IndexReader,
    /// Every document with a smaller or equal sequence number is committed here.
    committed_seq: AtomicU64,
}

struct OpenWriter {
    writer: IndexWriter<IndexDoc>,
    part: Arc<Partition>,
    dirty: bool,
    last_used: Instant,
}

/// The tantivy store.
pub struct TantivyStore {
    root: PathBuf,
    fields: Fields,
    opts: TantivyOptions,
    parts: RwLock<BTreeMap<PartKey, Arc<Partition>>>,
    writers: Mutex<HashMap<PartKey, OpenWriter>>,
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

fn day_of(t: DateTime<Utc>) -> u32 {
    let d = t.date_naive();
    // Years outside 0..=9999 are clamped so that the directory name stays 8 digits.
    let y = d.year().clamp(0, 9999) as u32;
    y * 10000 + d.month() * 100 + d.day()
}

fn parse_day(s: &str) -> Option<u32> {
    if s.len() != 8 {
        return None;
    }
    let n: u32 = s.parse().ok()?;
    NaiveDate::from_ymd_opt((n / 10000) as i32, (n / 100) % 100, n % 100)?;
    Some(n)
}

fn valid_stream(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The file at the store's root naming its on-disk format.
pub const FORMAT_FILE: &str = "FORMAT";

/// The on-disk format this build reads and writes. 2: tantivy with SSTable term dictionaries
/// (format 1, FST term dictionaries, was written before 2026-11-27 and cannot be read).
pub const FORMAT: &str = "ferrodef-tantivy 2";

/// Checks the format of the store at `root`, writing it for a new store.
fn check_format(root: &Path) -> Result<(), StoreError> {
    let file = root.join(FORMAT_FILE);
    match std::fs::read_to_string(&file) {
        Ok(found) if found.trim() == FORMAT => Ok(()),
        Ok(found) => Err(StoreError::Engine(format!(
            "{} says the store's format is '{}'; this ferrodef reads '{FORMAT}' only: \
             move the directory aside and ingest again",
            file.display(),
            found.trim()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let has_partitions = std::fs::read_dir(root)
                .map_err(io_err(format!("reading {}", root.display())))?
                .flatten()
                .any(|d| d.path().is_dir());
            if has_partitions {
                return Err(StoreError::Engine(format!(
                    "{} holds indexes of an older ferrodef (no {FORMAT_FILE} file), which this \
                     version cannot read: move the directory aside and ingest again",
                    root.display()
                )));
            }
            std::fs::write(&file, format!("{FORMAT}\n"))
                .map_err(io_err(format!("writing {}", file.display())))
        }
        Err(e) => Err(io_err(format!("reading {}", file.display()))(e)),
    }
}

impl TantivyStore {
    /// Opens (or creates) the store under `root`, opening every existing partition.
    pub fn open(root: impl AsRef<Path>, opts: TantivyOptions) -> Result<TantivyStore, StoreError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(io_err(format!("creating {}", root.display())))?;
        check_format(&root)?;
        let store = TantivyStore {
            root: root.clone(),
            fields: Fields::new(),
            opts,
            parts: RwLock::new(BTreeMap::new()),
            writers: Mutex::new(HashMap::new()),
        };
        let streams =
            std::fs::read_dir(&root).map_err(io_err(format!("reading {}", root.display())))?;
        for stream in streams.flatten() {
            let Some(stream_name) = stream.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !valid_stream(&stream_name) || !stream.path().is_dir() {
                continue;
            }
            let days = std::fs::read_dir(stream.path())
                .map_err(io_err(format!("reading {}", stream.path().display())))?;
            for day in days.flatten() {
                let Some(d) = day.file_name().to_str().and_then(parse_day) else {
                    continue;
                };
                let key = PartKey {
                    stream: stream_name.clone(),
                    day: d,
                };
                let part = store.open_partition(key.clone(), false)?;
                store.parts.write().insert(key, part);
            }
        }
        Ok(store)
    }

    fn open_partition(&self, key: PartKey, create: bool) -> Result<Arc<Partition>, StoreError> {
        let dir = self.root.join(&key.stream).join(key.day_string());
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(&dir)?
        } else if create {
            std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
            Index::create_in_dir(&dir, self.fields.schema.clone())?
        } else {
            return Err(StoreError::Engine(format!(
                "{} is not a ferrodef partition (no meta.json)",
                dir.display()
            )));
        };
        let Some(fields) = Fields::from_schema(index.schema()) else {
            return Err(StoreError::Engine(format!(
                "{} has an index with an unexpected schema",
                dir.display()
            )));
        };
        let committed_seq = index
            .load_metas()?
            .payload
            .and_then(|p| p.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Arc::new(Partition {
            key,
            dir,
            index,
            fields,
            reader,
            committed_seq: AtomicU64::new(committed_seq),
        }))
    }

    fn partition(&self, key: &PartKey) -> Result<Arc<Partition>, StoreError> {
        if let Some(p) = self.parts.read().get(key) {
            return Ok(p.clone());
        }
        let mut parts = self.parts.write();
        if let Some(p) = parts.get(key) {
            return Ok(p.clone());
        }
        let p = self.open_partition(key.clone(), true)?;
        parts.insert(key.clone(), p.clone());
        Ok(p)
    }

    /// Partitions of `stream` that may hold documents between `from` and `to`, oldest first.
    fn parts_in_range(
        &self,
        stream: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Vec<Arc<Partition>> {
        let lo = from.map(day_of).unwrap_or(0);
        let hi = to.map(day_of).unwrap_or(u32::MAX);
        self.parts
            .read()
            .values()
            .filter(|p| p.key.stream == stream && p.key.day >= lo && p.key.day <= hi)
            .cloned()
            .collect()
    }

    /// Closes every open writer after the merges it runs or has planned finish (uncommitted
    /// documents are discarded, as when the store is dropped). Dropping the store instead
    /// cancels running merges.
    pub fn finish_merges(&self) -> Result<(), StoreError> {
        let writers: Vec<OpenWriter> = self.writers.lock().drain().map(|(_, w)| w).collect();
        for w in writers {
            w.writer.wait_merging_threads()?;
        }
        Ok(())
    }

    /// Closes writers that are idle or beyond the allowed number (after committing them).
    fn close_writers(&self, writers: &mut HashMap<PartKey, OpenWriter>) {
        let now = Instant::now();
        let mut keys: Vec<(Instant, PartKey)> = writers
            .iter()
            .map(|(k, w)| (w.last_used, k.clone()))
            .collect();
        keys.sort();
        let excess = keys.len().saturating_sub(self.opts.max_open_writers);
        for (i, (last, key)) in keys.into_iter().enumerate() {
            if i < excess || now.duration_since(last) > self.opts.writer_idle {
                if let Some(w) = writers.remove(&key) {
                    if !w.dirty {
                        if let Err(e) = w.writer.wait_merging_threads() {
                            tracing::warn!(partition = %key.day, "closing writer: {e}");
                        }
                    } else {
                        // Still has uncommitted documents: keep it open.
                        writers.insert(key, w);
                    }
                }
            }
        }
    }
}

impl Store for TantivyStore {
    fn search(&self, req: &SearchRequest) -> Result<SearchResponse, StoreError> {
        self.run_search(req)
    }

    fn aggregate(&self, req: &AggRequest) -> Result<AggResponse, StoreError> {
        self.run_aggregate(req)
    }

    fn index(&self, docs: Vec<StoredDoc>) -> Result<usize, StoreError> {
        let mut writers = self.writers.lock();
        let mut added = 0;
        for doc in docs {
            if !valid_stream(&doc.stream) {
                return Err(StoreError::BadRequest(format!(
                    "invalid stream name '{}'",
                    doc.stream
                )));
            }
            let key = PartKey {
                stream: doc.stream.clone(),
                day: day_of(doc.utctimestamp),
            };
            if !writers.contains_key(&key) {
                let part = self.partition(&key)?;
                let writer: IndexWriter<IndexDoc> = part.index.writer_with_num_threads(
                    self.opts.writer_threads,
                    self.opts.writer_memory_bytes,
                )?;
                writer.set_merge_policy(Box::new(BoundedMergePolicy {
                    min_segments: self.opts.merge_min_segments,
                    max_merged_docs: self.opts.max_merged_docs,
                }));
                writers.insert(
                    key.clone(),
                    OpenWriter {
                        writer,
                        part,
                        dirty: false,
                        last_used: Instant::now(),
                    },
                );
            }
            let Some(w) = writers.get_mut(&key) else {
                continue;
            };
            if doc.seq <= w.part.committed_seq.load(Ordering::Acquire) {
                continue;
            }
            w.writer.add_document(IndexDoc::new(&w.part.fields, doc))?;
            w.dirty = true;
            w.last_used = Instant::now();
            added += 1;
        }
        Ok(added)
    }

    fn commit(&self, seq: u64) -> Result<(), StoreError> {
        let mut writers = self.writers.lock();
        for w in writers.values_mut() {
            if !w.dirty {
                continue;
            }
            let mut prepared = w.writer.prepare_commit()?;
            prepared.set_payload(&seq.to_string());
            prepared.commit()?;
            w.part.committed_seq.store(seq, Ordering::Release);
            w.part.reader.reload()?;
            w.dirty = false;
        }
        self.close_writers(&mut writers);
        Ok(())
    }

    fn apply_retention(
        &self,
        keep_days: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let cutoff = day_of(now - chrono::Duration::days(i64::from(keep_days)));
        let doomed: Vec<Arc<Partition>> = self
            .parts
            .read()
            .values()
            .filter(|p| p.key.day < cutoff)
            .cloned()
            .collect();
        let mut dropped = Vec::new();
        for part in doomed {
            let mut writers = self.writers.lock();
            if let Some(w) = writers.remove(&part.key) {
                if let Err(e) = w.writer.wait_merging_threads() {
                    tracing::warn!("closing writer of {}: {e}", part.dir.display());
                }
            }
            self.parts.write().remove(&part.key);
            drop(writers);
            std::fs::remove_dir_all(&part.dir)
                .map_err(io_err(format!("removing {}", part.dir.display())))?;
            dropped.push(format!("{}/{}", part.key.stream, part.key.day_string()));
        }
        Ok(dropped)
    }

    fn partitions(&self) -> Vec<PartitionInfo> {
        self.parts
            .read()
            .values()
            .map(|p| PartitionInfo {
                stream: p.key.stream.clone(),
                day: p.key.day_string(),
                docs: p.reader.searcher().num_docs(),
            })
            .collect()
    }
}

/// Matches every document (used where a query is required).
pub fn match_all() -> Box<dyn Query> {
    Box::new(AllQuery)
}
