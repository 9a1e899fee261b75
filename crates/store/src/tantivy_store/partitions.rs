//! Partitions (one tantivy index per stream and UTC day) and the bounded set of open ones.
//!
//! A store may hold thousands of partitions (a year of old logs imported at once, ten years of
//! retention): every partition is known to the store (its [`Partition`] handle: name, schema,
//! commit payload, document count, read from `meta.json` without opening the index), but only
//! a few are *open* at a time. An open partition ([`Opened`]: tantivy `Index` and
//! `IndexReader`) maps every segment file into memory and holds caches, so the open ones are
//! kept in a least-recently-used set of at most [`TantivyOptions::max_open_partitions`]
//! (partitions being written stay open with their writer, whatever that bound). A partition
//! opens again on demand when searched ([`LazyReader::try_searcher`]).
//!
//! [`TantivyOptions::max_open_partitions`]: super::TantivyOptions::max_open_partitions

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde_json::Value;
use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, IndexSettings, ReloadPolicy, Searcher};

use super::owner_only::{self, OwnerOnlyDirectory};
use super::schema::Fields;
use crate::StoreError;

/// A partition's name: its stream and UTC day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PartKey {
    pub(crate) stream: String,
    /// `YYYYMMDD` as a number.
    pub(crate) day: u32,
}

impl PartKey {
    pub(crate) fn day_string(&self) -> String {
        format!("{:08}", self.day)
    }
}

impl std::fmt::Display for PartKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{:08}", self.stream, self.day)
    }
}

/// An open partition: its tantivy index and reader. Shared by the partition's reader and its
/// writer, if it has one (one `Index` per directory, so that tantivy's garbage collection of
/// old segment files knows what the reader still uses).
pub(crate) struct Opened {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
}

type Slot = Arc<Mutex<Option<Arc<Opened>>>>;

/// A partition known to the store; cheap to keep (no open files) until it is searched or written.
pub(crate) struct Partition {
    pub(crate) key: PartKey,
    pub(crate) dir: PathBuf,
    /// The fields of this partition's own schema (older partitions may lack newer fields).
    pub(crate) fields: Fields,
    /// Opens the partition on demand for searching.
    pub(crate) reader: LazyReader,
    /// Every document with a smaller or equal sequence number is committed here.
    pub(crate) committed_seq: AtomicU64,
    /// Searchable documents (as of the last commit).
    pub(crate) docs: AtomicU64,
    /// The last measure of the partition's size on disk ([`Partition::disk_bytes`]).
    size: Mutex<Option<SizeMeasure>>,
}

/// A measure of a partition's size on disk, and what it was taken against.
struct SizeMeasure {
    at: SystemTime,
    /// `meta.json`'s modification time and length: tantivy rewrites it on every commit and
    /// every merge, the only times segment files are added.
    meta: (SystemTime, u64),
    bytes: u64,
}

/// How long a partition's files may go on changing after `meta.json` was rewritten (tantivy
/// deletes the segment files a merge made obsolete after it rewrites `meta.json`): a measure
/// taken within this time of the rewrite is taken again once it is this old.
const SIZE_SETTLE: Duration = Duration::from_secs(60);

/// How deep [`dir_bytes`] descends (a tantivy index is one flat directory).
const SIZE_MAX_DEPTH: u32 = 2;

/// A partition's reader, opened when first used and closed when the partition leaves the set
/// of open partitions.
pub(crate) struct LazyReader {
    key: PartKey,
    dir: PathBuf,
    schema: Schema,
    slot: Slot,
    cache: Arc<OpenCache>,
}

impl LazyReader {
    /// A searcher on the partition's last commit, opening the partition if needed.
    pub(crate) fn try_searcher(&self) -> Result<Searcher, StoreError> {
        Ok(self.opened()?.reader.searcher())
    }

    /// Like [`LazyReader::try_searcher`], but a partition that cannot be opened searches as
    /// empty (the error is logged). Prefer `try_searcher`, which reports it.
    pub(crate) fn searcher(&self) -> Searcher {
        match self.try_searcher() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(partition = %self.key, "cannot open partition for searching: {e}");
                empty_searcher(&self.schema)
            }
        }
    }

    /// The open partition, opening it if needed (and marking it most recently used).
    pub(crate) fn opened(&self) -> Result<Arc<Opened>, StoreError> {
        let opened = {
            let mut slot = self.slot.lock();
            match &*slot {
                Some(o) => o.clone(),
                None => {
                    let o = Arc::new(open_existing(&self.dir)?);
                    *slot = Some(o.clone());
                    o
                }
            }
        };
        // The slot's lock is released first: the cache locks slots (cache, then slot).
        self.cache.touch(&self.key, &self.slot);
        Ok(opened)
    }

    /// Closes the partition (retention) and forgets it in the set of open partitions.
    pub(crate) fn close(&self) {
        self.cache.forget(&self.key);
        self.slot.lock().take();
    }
}

fn empty_searcher(schema: &Schema) -> Searcher {
    let index = Index::create_in_ram(schema.clone());
    // A reader on an empty in-memory index reads no file: it cannot fail.
    #[allow(clippy::expect_used)]
    let reader = index.reader().expect("reader of an empty in-memory index");
    reader.searcher()
}

/// The least recently used set of open partitions.
pub(crate) struct OpenCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
}

struct CacheInner {
    tick: u64,
    entries: HashMap<PartKey, (u64, Slot)>,
}

impl OpenCache {
    pub(crate) fn new(capacity: usize) -> OpenCache {
        OpenCache {
            capacity: capacity.max(1),
            inner: Mutex::new(CacheInner {
                tick: 0,
                entries: HashMap::new(),
            }),
        }
    }

    /// Marks `key` most recently used and closes the least recently used partitions beyond the
    /// capacity, except those in use elsewhere (by a writer, or being opened).
    fn touch(&self, key: &PartKey, slot: &Slot) {
        let mut c = self.inner.lock();
        c.tick += 1;
        let tick = c.tick;
        match c.entries.get_mut(key) {
            Some(e) => e.0 = tick,
            None => {
                c.entries.insert(key.clone(), (tick, slot.clone()));
            }
        }
        while c.entries.len() > self.capacity {
            let victim = c
                .entries
                .iter()
                .filter(|(k, (_, s))| *k != key && closable(s))
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some((_, s)) = c.entries.remove(&victim) {
                s.lock().take();
            }
        }
    }

    fn forget(&self, key: &PartKey) {
        self.inner.lock().entries.remove(key);
    }

    /// How many partitions are open.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }
}

/// A partition can be closed when nobody but its slot holds it (no writer) and no one is
/// opening it right now.
fn closable(slot: &Slot) -> bool {
    match slot.try_lock() {
        Some(s) => s.as_ref().is_none_or(|o| Arc::strong_count(o) == 1),
        None => false,
    }
}

/// What the store keeps of a partition without opening it, read from its `meta.json`.
struct Meta {
    schema: Schema,
    committed_seq: u64,
    docs: u64,
}

fn read_meta(dir: &Path) -> Result<Meta, StoreError> {
    let path = dir.join("meta.json");
    let bytes = std::fs::read(&path).map_err(|source| StoreError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    let bad = |what: &str| StoreError::Engine(format!("{}: {what}", path.display()));
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
    let schema: Schema = serde_json::from_value(v.get("schema").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad(&format!("schema: {e}")))?;
    let committed_seq = v
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|p| p.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let docs = v
        .get("segments")
        .and_then(Value::as_array)
        .map(|segs| {
            segs.iter()
                .map(|s| {
                    let max = s.get("max_doc").and_then(Value::as_u64).unwrap_or(0);
                    let deleted = s
                        .get("deletes")
                        .and_then(|d| d.get("num_deleted_docs"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                    max.saturating_sub(deleted)
                })
                .sum()
        })
        .unwrap_or(0);
    Ok(Meta {
        schema,
        committed_seq,
        docs,
    })
}

fn reader_of(index: &Index) -> Result<IndexReader, StoreError> {
    Ok(index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?)
}

fn directory(dir: &Path) -> Result<OwnerOnlyDirectory, StoreError> {
    OwnerOnlyDirectory::open(dir)
        .map_err(|e| StoreError::Engine(format!("opening {}: {e}", dir.display())))
}

fn open_existing(dir: &Path) -> Result<Opened, StoreError> {
    let index = Index::open(directory(dir)?)
        .map_err(|e| StoreError::Engine(format!("opening {}: {e}", dir.display())))?;
    super::pairs::register(&index);
    let reader = reader_of(&index)?;
    Ok(Opened { index, reader })
}

/// Registers the existing partition in `dir` without opening it.
pub(crate) fn load_partition(
    key: PartKey,
    dir: PathBuf,
    current: &Fields,
    cache: &Arc<OpenCache>,
) -> Result<Arc<Partition>, StoreError> {
    if !dir.join("meta.json").exists() {
        return Err(StoreError::Engine(format!(
            "{} is not a ferrodef partition (no meta.json)",
            dir.display()
        )));
    }
    let meta = read_meta(&dir)?;
    let fields = fields_of(meta.schema, current, &dir)?;
    Ok(new_partition(
        key,
        dir,
        fields,
        meta.committed_seq,
        meta.docs,
        None,
        cache,
    ))
}

/// Creates a new, empty partition in `dir` (open, since it is about to be written).
pub(crate) fn create_partition(
    key: PartKey,
    dir: PathBuf,
    current: &Fields,
    cache: &Arc<OpenCache>,
) -> Result<Arc<Partition>, StoreError> {
    owner_only::create_dir_all(&dir).map_err(|source| StoreError::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    let index = Index::create(
        directory(&dir)?,
        current.schema.clone(),
        IndexSettings::default(),
    )
    .map_err(|e| StoreError::Engine(format!("creating an index in {}: {e}", dir.display())))?;
    super::pairs::register(&index);
    let reader = reader_of(&index)?;
    let part = new_partition(
        key,
        dir,
        current.clone(),
        0,
        0,
        Some(Arc::new(Opened { index, reader })),
        cache,
    );
    cache.touch(&part.key, &part.reader.slot);
    Ok(part)
}

/// The fields of a partition's schema; partitions of the current schema share its fields.
fn fields_of(schema: Schema, current: &Fields, dir: &Path) -> Result<Fields, StoreError> {
    if schema == current.schema {
        return Ok(current.clone());
    }
    Fields::from_schema(schema).ok_or_else(|| {
        StoreError::Engine(format!(
            "{} has an index with an unexpected schema",
            dir.display()
        ))
    })
}

fn new_partition(
    key: PartKey,
    dir: PathBuf,
    fields: Fields,
    committed_seq: u64,
    docs: u64,
    opened: Option<Arc<Opened>>,
    cache: &Arc<OpenCache>,
) -> Arc<Partition> {
    Arc::new(Partition {
        reader: LazyReader {
            key: key.clone(),
            dir: dir.clone(),
            schema: fields.schema.clone(),
            slot: Arc::new(Mutex::new(opened)),
            cache: cache.clone(),
        },
        key,
        dir,
        fields,
        committed_seq: AtomicU64::new(committed_seq),
        docs: AtomicU64::new(docs),
        size: Mutex::new(None),
    })
}

impl Partition {
    /// Every document of this partition with a sequence number up to this one is committed.
    pub(crate) fn committed_seq(&self) -> u64 {
        self.committed_seq.load(Ordering::Acquire)
    }

    /// The bytes of the partition's files on disk. Measured (one `stat` per file) when first
    /// asked, then again only when `meta.json` changed (a commit or a merge) or while the
    /// files may still be settling after that ([`SIZE_SETTLE`]); otherwise it costs one `stat`
    /// of `meta.json`.
    pub(crate) fn disk_bytes(&self) -> u64 {
        let meta = std::fs::metadata(self.dir.join("meta.json"))
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let now = SystemTime::now();
        let mut size = self.size.lock();
        if let (Some(m), Some(meta)) = (&*size, meta) {
            let settled = meta.0.checked_add(SIZE_SETTLE).is_some_and(|t| m.at >= t);
            let fresh = m.at.checked_add(SIZE_SETTLE).is_some_and(|t| now < t);
            if m.meta == meta && (settled || fresh) {
                return m.bytes;
            }
        }
        let bytes = dir_bytes(&self.dir, SIZE_MAX_DEPTH);
        *size = meta.map(|meta| SizeMeasure {
            at: now,
            meta,
            bytes,
        });
        bytes
    }
}

/// The total length of the files in `dir` and its subdirectories down to `depth` levels. A
/// file deleted while it is counted (tantivy's garbage collection after a merge) counts 0; a
/// directory that cannot be read counts 0 and is logged.
fn dir_bytes(dir: &Path, depth: u32) -> u64 {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("measuring the size of {}: {e}", dir.display());
            }
            return 0;
        }
    };
    let mut total = 0u64;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            total = total.saturating_add(meta.len());
        } else if meta.is_dir() && depth > 0 {
            total = total.saturating_add(dir_bytes(&entry.path(), depth - 1));
        }
    }
    total
}
