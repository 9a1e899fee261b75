//! Aggregations: totals, top values of a field, date histograms.

use chrono::{TimeZone, Utc};
use serde_json::Value;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};
use tantivy::collector::Count;
use tantivy::tokenizer::TokenizerManager;

use super::schema::{Fields, JSON_FIELD};
use super::search::guarded;
use super::TantivyStore;
use crate::{AggRequest, AggResponse, HistogramBucket, StoreError, TermBucket};

/// Most buckets one date histogram may have.
pub const MAX_HISTOGRAM_BUCKETS: i64 = 100_000;
/// Most top values one terms aggregation returns.
pub const MAX_TERMS_SIZE: usize = 10_000;

impl TantivyStore {
    /// tantivy aggregations for a request (empty when it asks only for a count), with field
    /// names of a partition with `fields`. `bounds` are the first and last millisecond the
    /// histogram may cover.
    fn aggregations(
        req: &AggRequest,
        fields: &Fields,
        bounds: (i64, i64),
    ) -> Result<Aggregations, StoreError> {
        // Every segment reports every value it holds (`segment_size` as large as it goes), so
        // that the merged counts are exact whatever the partitions and segments: a per-segment
        // cut makes a value that is frequent overall but never in a segment's top lose counts.
        // The memory this takes is bounded by the options' `aggregation_memory_bytes`, beyond which the request is
        // refused rather than answered approximately.
        let terms = match &req.terms {
            Some(t) => Some(serde_json::json!({"terms": {
                "field": agg_field(t, fields)?,
                "size": req.size,
                "segment_size": u32::MAX,
            }})),
            None => None,
        };
        let mut aggs = serde_json::Map::new();
        if let Some(t) = &terms {
            aggs.insert("terms".into(), t.clone());
        }
        if let Some(interval) = &req.interval {
            let ms = parse_interval(interval)?;
            let (lo, hi) = bounds;
            let buckets = (hi.div_euclid(ms) - lo.div_euclid(ms)).saturating_add(1);
            if buckets > MAX_HISTOGRAM_BUCKETS {
                return Err(StoreError::BadRequest(format!(
                    "interval {interval} makes {buckets} histogram buckets over the time range \
                     (limit {MAX_HISTOGRAM_BUCKETS}); use a larger interval or a shorter range"
                )));
            }
            let mut h = serde_json::json!({
                "date_histogram": {"field": "utctimestamp", "fixed_interval": format!("{ms}ms"), "min_doc_count": 0}
            });
            if let (Some(from), Some(to)) = (req.from, req.to) {
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

    pub(super) fn run_aggregate(&self, req: &AggRequest) -> Result<AggResponse, StoreError> {
        if req.size == 0 || req.size > MAX_TERMS_SIZE {
            return Err(StoreError::BadRequest(format!(
                "size {} is out of range: a terms aggregation returns 1 to {MAX_TERMS_SIZE} values",
                req.size
            )));
        }
        let parts = self.parts_in_range(&req.stream, req.from, req.to);
        let queries =
            self.part_queries(&parts, &req.query, req.from, req.to, req.now, &req.budget)?;
        let bounds = histogram_bounds(req, &parts);
        if let Some(resp) = self.top_strings(req, &parts, &queries)? {
            return Ok(resp);
        }
        let aggs = Self::aggregations(req, &self.fields, bounds)?;
        if let Some(resp) = self.counted_histogram(req, &parts)? {
            return Ok(resp);
        }
        let limits =
            AggregationLimitsGuard::new(Some(self.opts.aggregation_memory_bytes), Some(u32::MAX));
        let (total, merged) =
            self.collect_aggregations(req, &parts, &queries, &aggs, bounds, &limits)?;
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
                let final_res = m
                    .into_final_result(aggs, limits)
                    .map_err(|e| too_big(e.into(), req, self.opts.aggregation_memory_bytes))?;
                serde_json::to_value(final_res)
                    .map_err(|e| StoreError::Engine(format!("aggregation result: {e}")))?
            }
            None => Value::Null,
        };
        if req.terms.is_some() {
            resp.terms = Some(result.get("terms").map(term_buckets).unwrap_or_default());
        }
        if req.interval.is_some() {
            resp.histogram = Some(histogram_buckets(req, &result));
        }
        Ok(resp)
    }

    /// Runs tantivy's aggregations `aggs` (a count alone when empty) over each partition with
    /// its query: the total and the partitions' results merged.
    fn collect_aggregations(
        &self,
        req: &AggRequest,
        parts: &[std::sync::Arc<super::Partition>],
        queries: &[Box<dyn tantivy::query::Query>],
        aggs: &Aggregations,
        bounds: (i64, i64),
        limits: &AggregationLimitsGuard,
    ) -> Result<(u64, Option<IntermediateAggregationResults>), StoreError> {
        let limit = self.opts.aggregation_memory_bytes;
        let mut total = 0u64;
        let mut merged: Option<IntermediateAggregationResults> = None;
        for (part, query) in parts.iter().zip(queries) {
            let searcher = part.reader.searcher();
            if aggs.is_empty() {
                total += guarded(&req.budget, searcher.search(query, &Count))? as u64;
                continue;
            }
            // Field names follow the partition's schema (`timestamp` moved out of `f`).
            let part_aggs = if part.fields.schema == self.fields.schema {
                aggs.clone()
            } else {
                Self::aggregations(req, &part.fields, bounds)?
            };
            let ctx = AggContextParams::new(limits.clone(), TokenizerManager::default());
            let collector = DistributedAggregationCollector::from_aggs(part_aggs, ctx);
            let (count, inter) = guarded(&req.budget, searcher.search(query, &(Count, collector)))
                .map_err(|e| too_big(e, req, limit))?;
            total += count as u64;
            match &mut merged {
                Some(m) => m
                    .merge_fruits(inter)
                    .map_err(|e| too_big(e.into(), req, limit))?,
                None => merged = Some(inter),
            }
        }
        if let Some(e) = req.budget.stopped() {
            return Err(e);
        }
        Ok((total, merged))
    }
}

/// The first and last millisecond a histogram covers: from `from` (or the start of the first
/// stored day) to `to` (or the end of the last stored day).
fn histogram_bounds(req: &AggRequest, parts: &[std::sync::Arc<super::Partition>]) -> (i64, i64) {
    let day_ms = |day: u32, end: bool| {
        chrono::NaiveDate::from_ymd_opt((day / 10000) as i32, (day / 100) % 100, day % 100)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis() + if end { 86_399_999 } else { 0 })
    };
    let lo = req
        .from
        .map(|t| t.timestamp_millis())
        .or_else(|| parts.first().and_then(|p| day_ms(p.key.day, false)))
        .unwrap_or(0);
    let hi = req
        .to
        .map(|t| t.timestamp_millis())
        .or_else(|| parts.last().and_then(|p| day_ms(p.key.day, true)))
        .unwrap_or(lo)
        .max(lo);
    (lo, hi)
}

/// The histogram buckets of tantivy's final `result`.
fn histogram_buckets(req: &AggRequest, result: &Value) -> Vec<HistogramBucket> {
    let Some(buckets) = result
        .get("histogram")
        .and_then(|h| h.get("buckets"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    buckets
        .iter()
        .map(|b| {
            bucket(
                b.get("key").and_then(Value::as_f64).unwrap_or(0.0) as i64,
                b.get("doc_count").and_then(Value::as_u64).unwrap_or(0),
                req.terms
                    .as_ref()
                    .map(|_| b.get("terms").map(term_buckets).unwrap_or_default()),
            )
        })
        .collect()
}

impl TantivyStore {
    /// A terms aggregation alone over a field that holds only strings wherever it is searched:
    /// answered by [`super::top_terms`] (exact, without tantivy's per-term lookups). `None`
    /// when the request is of another shape, or the field holds other types somewhere.
    fn top_strings(
        &self,
        req: &AggRequest,
        parts: &[std::sync::Arc<super::Partition>],
        queries: &[Box<dyn tantivy::query::Query>],
    ) -> Result<Option<AggResponse>, StoreError> {
        let (Some(field), None) = (&req.terms, &req.interval) else {
            return Ok(None);
        };
        let mut columns = Vec::with_capacity(parts.len());
        let mut searchers = Vec::with_capacity(parts.len());
        for part in parts {
            let column = agg_field(field, &part.fields)?;
            if !column.starts_with(&format!("{JSON_FIELD}.")) {
                return Ok(None);
            }
            let searcher = part.reader.searcher();
            if !super::top_terms::only_strings(&searcher, &column)? {
                return Ok(None);
            }
            columns.push(column);
            searchers.push(searcher);
        }
        let mut total = 0u64;
        let mut counted = Vec::with_capacity(parts.len());
        for ((searcher, column), query) in searchers.iter().zip(columns).zip(queries) {
            let collector = super::top_terms::OrdCounts { column };
            let (count, segs) = guarded(&req.budget, searcher.search(query, &(Count, collector)))?;
            total += count as u64;
            counted.push(segs);
        }
        let terms = super::top_terms::top(
            &counted,
            req.size,
            self.opts.aggregation_memory_bytes,
            &req.budget,
        )?;
        Ok(Some(AggResponse {
            total,
            terms: Some(terms),
            histogram: None,
        }))
    }
}

/// The partitions' searchers with their queries, and what a counted histogram needs to know
/// of the terms field.
struct Searched<'q> {
    searchers: Vec<(tantivy::Searcher, &'q dyn tantivy::query::Query)>,
    /// The terms field's column, if the request has one.
    column: Option<String>,
    /// Values in the segments' dictionaries (a value of several segments counted in each).
    distinct: u64,
    /// Documents in the segments.
    docs: u64,
}

impl TantivyStore {
    /// A date histogram, with or without top values of a field that holds only strings
    /// wherever it is searched: counted by [`super::histogram`]. `None` when the request is of
    /// another shape, the field holds other types somewhere, or there is no partition.
    fn counted_histogram(
        &self,
        req: &AggRequest,
        parts: &[std::sync::Arc<super::Partition>],
    ) -> Result<Option<AggResponse>, StoreError> {
        let Some(interval) = &req.interval else {
            return Ok(None);
        };
        if parts.is_empty() {
            return Ok(None);
        }
        let ms = parse_interval(interval)?;
        // The times are filtered while counting (`HistogramSpec::within`), not by the query.
        let queries = self.part_queries(parts, &req.query, None, None, req.now, &req.budget)?;
        let Some(searched) = searched_strings(req, parts, &queries)? else {
            return Ok(None);
        };
        // Times are indexed to the millisecond: so are the bounds.
        let within = (req.from.is_some() || req.to.is_some()).then(|| {
            (
                req.from.map_or(i64::MIN, |f| f.timestamp_millis()),
                req.to.map_or(i64::MAX, |t| t.timestamp_millis()),
            )
        });
        let (lo, hi) = counted_range(req, &searched.searchers);
        let buckets = hi
            .div_euclid(ms)
            .saturating_sub(lo.div_euclid(ms))
            .saturating_add(1)
            .max(1) as u64;
        if self.too_many_values(&searched, buckets) {
            return Ok(None);
        }
        let count = |spec: &super::histogram::HistogramSpec| {
            super::histogram::count(
                &searched.searchers,
                spec,
                self.opts.aggregation_memory_bytes,
                &req.budget,
            )
            .map_err(|e| req.budget.stopped().unwrap_or(e))
        };
        let mut resp = AggResponse {
            total: 0,
            terms: req.terms.as_ref().map(|_| Vec::new()),
            histogram: Some(Vec::new()),
        };
        if lo > hi {
            // No time in range: only the total is left to count.
            let spec = super::histogram::HistogramSpec {
                time_field: "utctimestamp".to_string(),
                terms_field: None,
                interval_ms: ms,
                first: 0,
                last: -1,
                within,
            };
            resp.total = count(&spec)?.total;
            return Ok(Some(resp));
        }
        let spec = super::histogram::HistogramSpec {
            time_field: "utctimestamp".to_string(),
            terms_field: searched.column.clone(),
            interval_ms: ms,
            first: lo.div_euclid(ms),
            last: hi.div_euclid(ms),
            within,
        };
        let counts = count(&spec)?;
        resp.total = counts.total;
        if req.terms.is_some() {
            resp.terms = Some(counts.top(req.size));
        }
        resp.histogram = Some(counted_buckets(req, &spec, &counts));
        Ok(Some(resp))
    }

    /// A field of very many values (addresses: nearly one per document) would hold a count
    /// per bucket for each value: such requests keep tantivy's aggregation.
    fn too_many_values(&self, searched: &Searched, buckets: u64) -> bool {
        let distinct = searched.distinct;
        (distinct > 100_000 && distinct.saturating_mul(5) > searched.docs)
            || distinct.saturating_mul(64 + 8 * buckets) > self.opts.aggregation_memory_bytes
    }
}

/// Each partition's searcher with its query; `None` when the request's terms field holds
/// other types than strings somewhere (then tantivy aggregates).
fn searched_strings<'q>(
    req: &AggRequest,
    parts: &[std::sync::Arc<super::Partition>],
    queries: &'q [Box<dyn tantivy::query::Query>],
) -> Result<Option<Searched<'q>>, StoreError> {
    let mut searched = Searched {
        searchers: Vec::with_capacity(parts.len()),
        column: None,
        distinct: 0,
        docs: 0,
    };
    for (part, query) in parts.iter().zip(queries) {
        let searcher = part.reader.searcher();
        if let Some(field) = &req.terms {
            let c = agg_field(field, &part.fields)?;
            if !c.starts_with(&format!("{JSON_FIELD}.")) {
                return Ok(None);
            }
            if !super::top_terms::only_strings(&searcher, &c)? {
                return Ok(None);
            }
            let segments = searcher.segment_readers();
            searched.distinct += segments
                .iter()
                .map(|r| {
                    r.fast_fields()
                        .str(&c)
                        .ok()
                        .flatten()
                        .map_or(0, |col| col.num_terms() as u64)
                })
                .sum::<u64>();
            searched.docs += segments.iter().map(|r| u64::from(r.max_doc())).sum::<u64>();
            searched.column = Some(c);
        }
        searched.searchers.push((searcher, query.as_ref()));
    }
    Ok(Some(searched))
}

/// The first and last millisecond of the buckets: from `from` to `to` when both are given
/// (empty ones included, as Elasticsearch's extended bounds); else from the first to the last
/// bucket holding a document, within the times the segments hold. `lo > hi` when no time is
/// in range.
fn counted_range(
    req: &AggRequest,
    searchers: &[(tantivy::Searcher, &dyn tantivy::query::Query)],
) -> (i64, i64) {
    if let (Some(f), Some(t)) = (req.from, req.to) {
        return (f.timestamp_millis(), t.timestamp_millis());
    }
    let (mut data_lo, mut data_hi) = (i64::MAX, i64::MIN);
    for (searcher, _) in searchers {
        for seg in searcher.segment_readers() {
            let Ok(col) = seg.fast_fields().date("utctimestamp") else {
                continue;
            };
            if col.values.num_vals() == 0 {
                continue;
            }
            let ms_of = |t: tantivy::DateTime| t.into_timestamp_nanos().div_euclid(1_000_000);
            data_lo = data_lo.min(ms_of(col.min_value()));
            data_hi = data_hi.max(ms_of(col.max_value()));
        }
    }
    (
        req.from
            .map_or(data_lo, |f| f.timestamp_millis().max(data_lo)),
        req.to
            .map_or(data_hi, |t| t.timestamp_millis().min(data_hi)),
    )
}

/// The buckets of a counted histogram: all of them when the request bounds the time on both
/// sides, else from the first to the last one holding a document.
fn counted_buckets(
    req: &AggRequest,
    spec: &super::histogram::HistogramSpec,
    counts: &super::histogram::Counts,
) -> Vec<HistogramBucket> {
    let bounded = req.from.is_some() && req.to.is_some();
    let shown = if bounded {
        0..counts.buckets.len()
    } else {
        match (
            counts.buckets.iter().position(|c| *c > 0),
            counts.buckets.iter().rposition(|c| *c > 0),
        ) {
            (Some(a), Some(b)) => a..b + 1,
            _ => 0..0,
        }
    };
    shown
        .map(|b| {
            bucket(
                (spec.first + b as i64) * spec.interval_ms,
                counts.buckets[b],
                req.terms.as_ref().map(|_| counts.top_in(b, req.size)),
            )
        })
        .collect()
}

/// A histogram bucket starting at `key_ms`.
fn bucket(key_ms: i64, count: u64, terms: Option<Vec<TermBucket>>) -> HistogramBucket {
    HistogramBucket {
        key: Utc
            .timestamp_millis_opt(key_ms)
            .single()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        key_ms,
        count,
        terms,
    }
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

/// Longest histogram interval: 100 years (tantivy counts intervals in nanoseconds in an `i64`,
/// which holds about 292 years; longer ones failed inside it as a store error).
pub const MAX_INTERVAL_DAYS: i64 = 36_500;

/// Checks an interval such as `30s`, `15m`, `1h`, `1d` (at most [`MAX_INTERVAL_DAYS`]) and
/// returns it in milliseconds.
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
    match n.checked_mul(ms) {
        Some(total) if total <= MAX_INTERVAL_DAYS * 86_400_000 => Ok(total),
        _ => Err(StoreError::BadRequest(format!(
            "invalid interval '{s}': at most {MAX_INTERVAL_DAYS}d"
        ))),
    }
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

/// A memory limit hit while counting, as the caller's error naming the limit.
fn too_big(e: StoreError, req: &AggRequest, limit: u64) -> StoreError {
    match e {
        StoreError::Engine(m) if m.contains("memory limit") => StoreError::BadRequest(format!(
            "the aggregation{} needs more than {} MiB of memory to count exactly (limit); \
             narrow the query or the time range",
            req.terms
                .as_deref()
                .map(|t| format!(" of the values of '{t}'"))
                .unwrap_or_default(),
            limit >> 20
        )),
        e => e,
    }
}
