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

mod doc;
mod merge;
pub mod owner_only;
mod partitions;
mod query;
pub mod schema;
mod writers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

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
use tantivy::{DocAddress, Order, TantivyDocument};

use self::partitions::{OpenCache, PartKey, Partition};
use self::query::Translator;
pub use self::query::{to_tantivy_date, to_v6};
use self::schema::{Fields, JSON_FIELD};
use self::writers::{Failures, WriterPool};
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
        self.writers.lock().close_all()
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
        if let Some(bad) = docs.iter().find(|d| !valid_stream(&d.stream)) {
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
        self.parts
            .read()
            .values()
            .map(|p| PartitionInfo {
                stream: p.key.stream.clone(),
                day: p.key.day_string(),
                docs: p.docs.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// Matches every document (used where a query is required).
pub fn match_all() -> Box<dyn Query> {
    Box::new(AllQuery)
}
