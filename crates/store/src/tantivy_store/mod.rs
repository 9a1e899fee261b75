//! The embedded storage backend: tantivy, one index per stream and UTC day.
//!
//! Layout: `<root>/<stream>/<YYYYMMDD>/` holds one tantivy index. Every commit records, as the
//! commit payload, the write-ahead-log sequence number up to which the partition is complete;
//! replaying the log after a crash skips what a partition already holds, so no event is indexed
//! twice and none is lost.
//!
//! Resources stay bounded whatever the number of days: at most `max_open_writers` writers
//! (`writers`) and `max_open_partitions` open partitions (`partitions`) at once. Files and
//! directories are readable by their owner only (`owner_only`).

mod aggregate;
mod doc;
mod guard;
mod histogram;
mod merge;
pub mod owner_only;
mod pairs;
mod partitions;
mod query;
pub mod schema;
mod search;
mod spread;
mod top_hits;
mod top_terms;
mod writers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use ferrodef_event::is_valid_stream_name;
use parking_lot::{Mutex, RwLock};

pub use self::aggregate::{parse_interval, MAX_HISTOGRAM_BUCKETS, MAX_TERMS_SIZE};
use self::partitions::{OpenCache, PartKey, Partition};
pub use self::query::{to_tantivy_date, to_v6};
use self::schema::Fields;
use self::writers::{Failures, WriterPool};
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
    /// How many partitions may have an open writer at once: when one more is needed, the least
    /// recently used is committed and closed.
    pub max_open_writers: usize,
    /// How many partitions may be open for searching at once (each maps its segment files):
    /// the least recently used is closed beyond that; partitions being written stay open.
    pub max_open_partitions: usize,
    /// A writer not used for this long is closed at the next commit.
    pub writer_idle: Duration,
    /// No merge makes a segment of more documents than this (bounds the memory and time of
    /// merges while ingesting; see `merge`).
    pub max_merged_docs: u32,
    /// How many segments of a size class make a merge when they do not fill `max_merged_docs`
    /// first (higher: larger merges of small segments, a few more segments to search).
    pub merge_min_segments: usize,
    /// Memory one aggregation request may use while counting (all partitions together):
    /// beyond it, exact top values are counted in several passes, or the request is refused.
    pub aggregation_memory_bytes: u64,
}

impl Default for TantivyOptions {
    fn default() -> Self {
        TantivyOptions {
            writer_memory_bytes: 128 << 20,
            writer_threads: 2,
            max_open_writers: 3,
            max_open_partitions: 64,
            writer_idle: Duration::from_secs(60),
            max_merged_docs: 200_000,
            merge_min_segments: 16,
            aggregation_memory_bytes: 1 << 30,
        }
    }
}

/// The tantivy store.
pub struct TantivyStore {
    root: PathBuf,
    fields: Fields,
    opts: TantivyOptions,
    /// Every partition of the store (open or not).
    parts: RwLock<BTreeMap<PartKey, Arc<Partition>>>,
    /// The partitions open for searching or writing.
    open_parts: Arc<OpenCache>,
    writers: Mutex<WriterPool>,
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

pub(crate) fn day_of(t: DateTime<Utc>) -> u32 {
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

/// The file at the store's root naming its on-disk format.
pub const FORMAT_FILE: &str = "FORMAT";

/// The on-disk format this build reads and writes. 2: tantivy with SSTable term dictionaries.
/// Format 1 (FST term dictionaries) cannot be read.
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
            owner_only::write_file(&file, format!("{FORMAT}\n").as_bytes())
                .map_err(io_err(format!("writing {}", file.display())))
        }
        Err(e) => Err(io_err(format!("reading {}", file.display()))(e)),
    }
}

impl TantivyStore {
    /// Opens (or creates) the store under `root`, registering every existing partition (opened
    /// when first searched or written).
    pub fn open(root: impl AsRef<Path>, opts: TantivyOptions) -> Result<TantivyStore, StoreError> {
        let root = root.as_ref().to_path_buf();
        owner_only::create_dir_all(&root)
            .map_err(io_err(format!("creating {}", root.display())))?;
        owner_only::restrict(&root, owner_only::DIR_MODE).map_err(io_err(format!(
            "restricting {} to its owner",
            root.display()
        )))?;
        check_format(&root)?;
        let store = TantivyStore {
            root: root.clone(),
            fields: Fields::new(),
            open_parts: Arc::new(OpenCache::new(opts.max_open_partitions)),
            opts,
            parts: RwLock::new(BTreeMap::new()),
            writers: Mutex::new(WriterPool::default()),
        };
        let streams =
            std::fs::read_dir(&root).map_err(io_err(format!("reading {}", root.display())))?;
        let mut parts = BTreeMap::new();
        for stream in streams.flatten() {
            let Some(stream_name) = stream.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !is_valid_stream_name(&stream_name) || !stream.path().is_dir() {
                continue;
            }
            let days = std::fs::read_dir(stream.path())
                .map_err(io_err(format!("reading {}", stream.path().display())))?;
            for day in days.flatten() {
                let Some(d) = day.file_name().to_str().and_then(parse_day) else {
                    continue;
                };
                if !day.path().join("meta.json").exists() {
                    set_aside_incomplete(&day.path());
                    continue;
                }
                let key = PartKey {
                    stream: stream_name.clone(),
                    day: d,
                };
                let part = store.open_partition(key.clone(), false)?;
                parts.insert(key, part);
            }
        }
        *store.parts.write() = parts;
        Ok(store)
    }

    /// The partition `key`: an existing one is registered without being opened; a new one
    /// (`create`) is created, open.
    fn open_partition(&self, key: PartKey, create: bool) -> Result<Arc<Partition>, StoreError> {
        let dir = self.root.join(&key.stream).join(key.day_string());
        if create && !dir.join("meta.json").exists() {
            partitions::create_partition(key, dir, &self.fields, &self.open_parts)
        } else {
            partitions::load_partition(key, dir, &self.fields, &self.open_parts)
        }
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

    /// How many writers and partitions are open (writers, partitions).
    pub fn open_counts(&self) -> (usize, usize) {
        (self.writers.lock().open.len(), self.open_parts.len())
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
        self.writers.lock().close_all()
    }
}

/// The latest `receivedtimestamp` of a partition's committed documents (`None` when it has
/// none), from the fast field's per-segment maximum.
fn newest_receipt(part: &Partition) -> Result<Option<DateTime<Utc>>, StoreError> {
    let searcher = part.reader.try_searcher()?;
    let mut newest: Option<i64> = None;
    for seg in searcher.segment_readers() {
        if seg.max_doc() == 0 {
            continue;
        }
        let col = seg.fast_fields().date("receivedtimestamp")?;
        if col.values.num_vals() == 0 {
            continue;
        }
        let t = col.max_value().into_timestamp_micros();
        newest = Some(newest.map_or(t, |n| n.max(t)));
    }
    Ok(newest.and_then(DateTime::<Utc>::from_timestamp_micros))
}

impl Store for TantivyStore {
    fn search(&self, req: &SearchRequest) -> Result<SearchResponse, StoreError> {
        self.run_search(req)
    }

    fn aggregate(&self, req: &AggRequest) -> Result<AggResponse, StoreError> {
        self.run_aggregate(req)
    }

    fn index(&self, docs: Vec<StoredDoc>) -> Result<usize, StoreError> {
        if let Some(bad) = docs.iter().find(|d| !is_valid_stream_name(&d.stream)) {
            return Err(StoreError::BadRequest(format!(
                "invalid stream name '{}' (document {})",
                bad.stream, bad.seq
            )));
        }
        let mut failures = Failures::default();
        let added =
            self.writers
                .lock()
                .index(docs, &self.opts, |key| self.partition(key), &mut failures);
        failures.into_result(added)
    }

    fn commit(&self, seq: u64) -> Result<(), StoreError> {
        let mut failures = Failures::default();
        self.writers
            .lock()
            .commit(seq, self.opts.writer_idle, &mut failures);
        failures.into_result(())
    }

    fn reopen_failed(&self) -> Vec<String> {
        self.writers.lock().reopen_failed()
    }

    fn apply_retention(
        &self,
        keep_days: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let cutoff_time = now - chrono::Duration::days(i64::from(keep_days));
        let cutoff = day_of(cutoff_time);
        // Held while deciding and deleting: no document reaches a partition being dropped.
        let mut writers = self.writers.lock();
        let doomed: Vec<Arc<Partition>> = self
            .parts
            .read()
            .values()
            .filter(|p| p.key.day < cutoff)
            .cloned()
            .collect();
        let mut dropped = Vec::new();
        for part in doomed {
            // Old events imported recently are kept for the retention period from receipt.
            match newest_receipt(&part) {
                Ok(Some(t)) if t >= cutoff_time => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(partition = %part.key, "retention: kept, its newest receipt could not be read: {e}");
                    continue;
                }
            }
            if writers.broken.contains_key(&part.key) {
                tracing::info!(partition = %part.key, "retention: kept, its indexing failed");
                continue;
            }
            if !writers.close_clean(&part.key) {
                tracing::info!(partition = %part.key, "retention: kept, it has uncommitted documents");
                continue;
            }
            self.parts.write().remove(&part.key);
            part.reader.close();
            std::fs::remove_dir_all(&part.dir)
                .map_err(io_err(format!("removing {}", part.dir.display())))?;
            dropped.push(part.key.to_string());
        }
        Ok(dropped)
    }

    fn partitions(&self) -> Vec<PartitionInfo> {
        // Measured outside the lock: creating a partition waits for none of it.
        let parts: Vec<Arc<Partition>> = self.parts.read().values().cloned().collect();
        parts
            .iter()
            .map(|p| PartitionInfo {
                stream: p.key.stream.clone(),
                day: p.key.day_string(),
                docs: p.docs.load(Ordering::Relaxed),
                bytes: p.disk_bytes(),
            })
            .collect()
    }
}

/// A partition directory without `meta.json` is one whose creation was cut short (the process
/// stopped between making the directory and the index's first file): nothing was ever
/// committed to it, so its events are still in the write-ahead log (the checkpoint only
/// passes committed events) and are indexed again into a new partition. It is renamed aside
/// (`<day>.incomplete-<unix time>`, never read again) rather than deleted, and logged.
fn set_aside_incomplete(dir: &Path) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = dir.as_os_str().to_owned();
    aside.push(format!(".incomplete-{secs}"));
    match std::fs::rename(dir, &aside) {
        Ok(()) => tracing::warn!(
            partition = %dir.display(),
            moved_to = %Path::new(&aside).display(),
            "a partition whose creation was interrupted (no meta.json) was set aside; its events are re-indexed from the write-ahead log"
        ),
        Err(e) => tracing::error!(
            partition = %dir.display(),
            "a partition whose creation was interrupted (no meta.json) could not be set aside: {e}"
        ),
    }
}
