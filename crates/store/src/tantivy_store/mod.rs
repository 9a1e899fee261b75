//! The embedded storage backend: tantivy, one index per stream and UTC day.
//!
//! Layout: `<root>/<stream>/<YYYYMMDD>/` holds one tantivy index. Every commit records, as the
//! commit payload, the write-ahead-log sequence number up to which the partition is complete;
//! replaying the log after a crash skips what a partition already holds, so no event is indexed
//! twice and none is lost.

mod doc;
mod merge;
mod query;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{Term, Value as _};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument};

use self::doc::IndexDoc;
use self::merge::BoundedMergePolicy;
use self::query::Translator;
pub use self::query::{to_tantivy_date, to_v6};
use self::schema::{Fields, JSON_FIELD};
use crate::{
    AggRequest, AggResponse, HistogramBucket, PartitionInfo, SearchRequest, SearchResponse,
    SortOrder, Store, StoreError, StoredDoc, TermBucket,
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

    /// tantivy aggregations for a request (empty when it asks only for a count), with field
    /// names of a partition with `fields`.
    fn aggregations(
        req: &AggRequest,
        size: usize,
        fields: &Fields,
    ) -> Result<Aggregations, StoreError> {
        let terms = match &req.terms {
            Some(t) => {
                Some(serde_json::json!({"terms": {"field": agg_field(t, fields)?, "size": size}}))
            }
            None => None,
        };
        let mut aggs = serde_json::Map::new();
        if let Some(t) = &terms {
            aggs.insert("terms".into(), t.clone());
        }
        if let Some(interval) = &req.interval {
            let ms = parse_interval(interval)?;
            let mut h = serde_json::json!({
                "date_histogram": {"field": "utctimestamp", "fixed_interval": format!("{ms}ms"), "min_doc_count": 0}
            });
            if let (Some(from), Some(to)) = (req.from, req.to) {
                let lo = from.timestamp_millis().div_euclid(ms) * ms;
                let buckets = (to.timestamp_millis() - lo) / ms;
                if buckets > 100_000 {
                    return Err(StoreError::BadRequest(format!(
                        "interval {interval} makes {buckets} buckets between from and to; use a larger interval"
                    )));
                }
                h["date_histogram"]["extended_bounds"] = serde_json::json!({"min": from.timestamp_millis(), "max": to.timestamp_millis()});
            }
            if let Some(t) = &terms {
                h["aggs"] = serde_json::json!({"terms": t});
            }
            aggs.insert("histogram".into(), h);
        }
        serde_json::from_value(Value::Object(aggs))
            .map_err(|e| StoreError::Engine(format!("building aggregation: {e}")))
    }

    /// The query for each partition, following its schema (one translation for all partitions
    /// of the current schema). Translates once even without partitions, so that a bad query
    /// is an error whether or not there is data.
    fn part_queries(
        &self,
        parts: &[Arc<Partition>],
        expr: &ferrodef_query::Expr,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Box<dyn Query>>, StoreError> {
        let current = Self::filtered_query(&self.fields, expr, from, to, now)?;
        parts
            .iter()
            .map(|p| {
                if p.fields.schema == self.fields.schema {
                    Ok(current.box_clone())
                } else {
                    Self::filtered_query(&p.fields, expr, from, to, now)
                }
            })
            .collect()
    }

    /// The query for one partition's schema (`fields`), limited to times from `from` to `to`.
    fn filtered_query(
        fields: &Fields,
        expr: &ferrodef_query::Expr,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Box<dyn Query>, StoreError> {
        let q = Translator::new(fields, now).translate(expr)?;
        if from.is_none() && to.is_none() {
            return Ok(q);
        }
        let f = fields.utctimestamp;
        let bound = |t: Option<DateTime<Utc>>| match t {
            Some(t) => std::ops::Bound::Included(Term::from_field_date(f, to_tantivy_date(t))),
            None => std::ops::Bound::Unbounded,
        };
        let range = RangeQuery::new(bound(from), bound(to));
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, q),
            (Occur::Must, Box::new(range) as Box<dyn Query>),
        ])))
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

fn hit_source(searcher: &tantivy::Searcher, addr: DocAddress, f: &Fields) -> Option<Value> {
    let doc: TantivyDocument = searcher.doc(addr).ok()?;
    let bytes = doc.get_first(f.source)?.as_leaf()?.as_bytes()?;
    serde_json::from_slice(bytes).ok()
}

/// The fast field (or path of the JSON field) aggregated for a field name, in a partition with
/// these fields.
fn agg_field(field: &str, fields: &Fields) -> Result<String, StoreError> {
    match field {
        "utctimestamp" | "receivedtimestamp" => Ok(field.to_string()),
        "timestamp" if fields.timestamp.is_some() => Ok(field.to_string()),
        "summary" => Err(StoreError::BadRequest(
            "'summary' is analysed text and cannot be aggregated; aggregate a keyword field"
                .to_string(),
        )),
        "" => Err(StoreError::BadRequest("empty field name".to_string())),
        f => Ok(format!("{JSON_FIELD}.{f}")),
    }
}

/// Checks an interval such as `30s`, `15m`, `1h`, `1d` and returns it in milliseconds.
pub fn parse_interval(s: &str) -> Result<i64, StoreError> {
    let bad = || {
        StoreError::BadRequest(format!(
            "invalid interval '{s}': expected a number and a unit (ms, s, m, h, d), e.g. 15m"
        ))
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    if n <= 0 {
        return Err(bad());
    }
    n.checked_mul(ms).ok_or_else(bad)
}

fn term_buckets(v: &Value) -> Vec<TermBucket> {
    v.get("buckets")
        .and_then(Value::as_array)
        .map(|b| {
            b.iter()
                .map(|b| TermBucket {
                    key: b.get("key").cloned().unwrap_or(Value::Null),
                    count: b.get("doc_count").and_then(Value::as_u64).unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Store for TantivyStore {
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

    fn search(&self, req: &SearchRequest) -> Result<SearchResponse, StoreError> {
        let order = match req.order {
            SortOrder::Desc => Order::Desc,
            SortOrder::Asc => Order::Asc,
        };
        if req.sort_field != "utctimestamp" && req.sort_field != "receivedtimestamp" {
            return Err(StoreError::BadRequest(format!(
                "cannot sort on '{}': sort on utctimestamp or receivedtimestamp",
                req.sort_field
            )));
        }
        let mut parts = self.parts_in_range(&req.stream, req.from, req.to);
        // Partitions are whole days, so visiting them in sort order lets us stop collecting
        // hits once enough were found (only counting in the rest).
        if req.order == SortOrder::Desc && req.sort_field == "utctimestamp" {
            parts.reverse();
        }
        let queries = self.part_queries(&parts, &req.query, req.from, req.to, req.now)?;
        let by_utc = req.sort_field == "utctimestamp";
        let mut total = 0u64;
        let mut hits: Vec<(Option<tantivy::DateTime>, usize, DocAddress)> = Vec::new();
        let searchers: Vec<tantivy::Searcher> = parts.iter().map(|p| p.reader.searcher()).collect();
        for (i, (searcher, query)) in searchers.iter().zip(&queries).enumerate() {
            if by_utc && hits.len() >= req.size {
                total += searcher.search(query, &Count)? as u64;
                continue;
            }
            let top = TopDocs::with_limit(req.size.max(1))
                .order_by_fast_field::<tantivy::DateTime>(req.sort_field.clone(), order);
            let (count, top) = searcher.search(query, &(Count, top))?;
            total += count as u64;
            hits.extend(top.into_iter().map(|(k, a)| (k, i, a)));
        }
        hits.sort_by(|a, b| match order {
            Order::Desc => b.0.cmp(&a.0),
            Order::Asc => a.0.cmp(&b.0),
        });
        hits.truncate(req.size);
        let hits = hits
            .into_iter()
            .filter_map(|(_, i, addr)| hit_source(&searchers[i], addr, &parts[i].fields))
            .collect();
        Ok(SearchResponse { total, hits })
    }

    fn aggregate(&self, req: &AggRequest) -> Result<AggResponse, StoreError> {
        let parts = self.parts_in_range(&req.stream, req.from, req.to);
        let queries = self.part_queries(&parts, &req.query, req.from, req.to, req.now)?;
        let size = req.size.clamp(1, 10_000);
        let aggs = Self::aggregations(req, size, &self.fields)?;
        let ctx = || {
            AggContextParams::new(
                AggregationLimitsGuard::default(),
                TokenizerManager::default(),
            )
        };
        let mut total = 0u64;
        let mut merged: Option<IntermediateAggregationResults> = None;
        for (part, query) in parts.iter().zip(&queries) {
            let searcher = part.reader.searcher();
            if aggs.is_empty() {
                total += searcher.search(query, &Count)? as u64;
                continue;
            }
            // Field names follow the partition's schema (`timestamp` moved out of `f`).
            let part_aggs = if part.fields.schema == self.fields.schema {
                aggs.clone()
            } else {
                Self::aggregations(req, size, &part.fields)?
            };
            let collector = DistributedAggregationCollector::from_aggs(part_aggs, ctx());
            let (count, inter) = searcher.search(query, &(Count, collector))?;
            total += count as u64;
            match &mut merged {
                Some(m) => m.merge_fruits(inter)?,
                None => merged = Some(inter),
            }
        }
        let mut resp = AggResponse {
            total,
            terms: None,
            histogram: None,
        };
        if aggs.is_empty() {
            return Ok(resp);
        }
        let result = match merged {
            Some(m) => {
                let final_res = m.into_final_result(aggs.clone(), ctx().limits)?;
                serde_json::to_value(final_res)
                    .map_err(|e| StoreError::Engine(format!("aggregation result: {e}")))?
            }
            None => Value::Null,
        };
        if req.terms.is_some() {
            resp.terms = Some(result.get("terms").map(term_buckets).unwrap_or_default());
        }
        if req.interval.is_some() {
            let buckets = result
                .get("histogram")
                .and_then(|h| h.get("buckets"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            resp.histogram = Some(
                buckets
                    .iter()
                    .map(|b| {
                        let key_ms = b.get("key").and_then(Value::as_f64).unwrap_or(0.0) as i64;
                        HistogramBucket {
                            key: Utc
                                .timestamp_millis_opt(key_ms)
                                .single()
                                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                                .unwrap_or_default(),
                            key_ms,
                            count: b.get("doc_count").and_then(Value::as_u64).unwrap_or(0),
                            terms: req
                                .terms
                                .as_ref()
                                .map(|_| b.get("terms").map(term_buckets).unwrap_or_default()),
                        }
                    })
                    .collect(),
            );
        }
        Ok(resp)
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

    fn reopen_failed(&self) -> Vec<String> {
        Vec::new()
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
