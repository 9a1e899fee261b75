//! Date histograms with exact top values per bucket, counted straight from the columns.
//!
//! Per segment, each matching document's time (fast field `utctimestamp`) gives its bucket and
//! the string column of the terms field gives its term ordinals; counts go into a plain array
//! indexed by (term ordinal, bucket). A segment's counted ordinals are then turned into their
//! strings once (one sequential read of its dictionary) and added to the counts of a thread,
//! by string. Segments are shared among a few threads; their counts are merged by string at
//! the end and each bucket keeps its `size` most frequent values (count descending, then value
//! ascending, as tantivy's terms aggregation orders them).
//!
//! tantivy's generic aggregation does the same work through per-bucket maps of sub-aggregation
//! state for every document; this answers the same buckets with less work per document, and
//! uses all cores. Used for a string-only terms field (or none); other shapes go through
//! tantivy.

use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use tantivy::columnar::{Cardinality, Column, StrColumn};
use tantivy::query::{EnableScoring, Query};
use tantivy::{DateTime, DocId, Searcher, SegmentReader, COLLECT_BLOCK_BUFFER_LEN};

use crate::{Budget, StoreError, TermBucket};

/// Most threads one aggregation uses.
const MAX_THREADS: usize = 4;
/// Largest dense (term × bucket) array of one segment, in counters; beyond, a map.
const MAX_DENSE_CELLS: usize = 1 << 22;

/// What to count.
pub(super) struct HistogramSpec {
    /// The time field's column name.
    pub time_field: String,
    /// The terms field's column name (a JSON path such as `f.category`), if any.
    pub terms_field: Option<String>,
    /// Bucket width in milliseconds.
    pub interval_ms: i64,
    /// First and last bucket numbers (time in ms div interval) that can be counted.
    pub first: i64,
    pub last: i64,
    /// Only documents with a time from the first to the second millisecond (inclusive), when
    /// given: the query carries no time range of its own, since the time is read here anyway
    /// (a range clause would read it once more, in every segment that the range cuts).
    pub within: Option<(i64, i64)>,
}

impl HistogramSpec {
    fn buckets(&self) -> usize {
        (self.last - self.first + 1).max(0) as usize
    }
}

/// Counts of the documents of one thread's segments.
#[derive(Default)]
pub(super) struct Counts {
    /// Documents matched (with a time or not).
    pub total: u64,
    /// Documents per bucket.
    pub buckets: Vec<u64>,
    /// Index of each value in `values`.
    index: HashMap<Box<[u8]>, u32>,
    /// The values, with their count per bucket.
    values: Vec<(Box<[u8]>, Vec<u64>)>,
    /// Bytes held by `index` and `values` (about).
    bytes: u64,
}

impl Counts {
    fn new(buckets: usize) -> Counts {
        Counts {
            buckets: vec![0; buckets],
            ..Counts::default()
        }
    }

    /// The index of `value` (added with zero counts if new).
    fn value(&mut self, value: &[u8], buckets: usize) -> u32 {
        if let Some(i) = self.index.get(value) {
            return *i;
        }
        let i = self.values.len() as u32;
        self.bytes += 2 * value.len() as u64 + 64 + 8 * buckets as u64;
        self.index.insert(value.into(), i);
        self.values.push((value.into(), vec![0; buckets]));
        i
    }

    fn merge(&mut self, other: Counts) {
        self.total += other.total;
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        let n = self.buckets.len();
        for (value, counts) in other.values {
            let i = self.value(&value, n) as usize;
            for (a, b) in self.values[i].1.iter_mut().zip(&counts) {
                *a += b;
            }
        }
    }

    /// The `size` most frequent values over all buckets.
    pub fn top(&self, size: usize) -> Vec<TermBucket> {
        top_of(
            self.values
                .iter()
                .map(|(v, c)| (c.iter().sum::<u64>(), v.as_ref())),
            size,
        )
    }

    /// The `size` most frequent values of bucket `b` (an index from the first bucket).
    pub fn top_in(&self, b: usize, size: usize) -> Vec<TermBucket> {
        top_of(
            self.values
                .iter()
                .map(|(v, c)| (c.get(b).copied().unwrap_or(0), v.as_ref())),
            size,
        )
    }
}

/// The `size` greatest counts (count descending, then value ascending), zero counts left out.
fn top_of<'a>(counts: impl Iterator<Item = (u64, &'a [u8])>, size: usize) -> Vec<TermBucket> {
    // Ordered so that the weakest is the greatest: the root of the heap.
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Weak<'a>(std::cmp::Reverse<u64>, &'a [u8]);
    let mut heap: BinaryHeap<Weak<'a>> = BinaryHeap::with_capacity(size + 1);
    for (count, value) in counts {
        if count == 0 || size == 0 {
            continue;
        }
        let w = Weak(std::cmp::Reverse(count), value);
        if heap.len() < size {
            heap.push(w);
        } else if let Some(mut root) = heap.peek_mut() {
            if w < *root {
                *root = w;
            }
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .map(|Weak(std::cmp::Reverse(count), value)| TermBucket {
            key: serde_json::Value::String(String::from_utf8_lossy(value).into_owned()),
            count,
        })
        .collect()
}

/// Counts the matches of `query` in the segments of `searchers` (one per partition, each with
/// its query) by bucket and value, refusing (an error naming the limit) beyond
/// `memory_limit` bytes of values. Checks `budget` as it goes.
pub(super) fn count(
    searchers: &[(Searcher, &dyn Query)],
    spec: &HistogramSpec,
    memory_limit: u64,
    budget: &Budget,
) -> Result<Counts, StoreError> {
    let mut weights = Vec::with_capacity(searchers.len());
    for (searcher, query) in searchers {
        weights.push(query.weight(EnableScoring::disabled_from_searcher(searcher))?);
    }
    // Every segment of every partition, the largest first (they take longest).
    let mut segs: Vec<(usize, &SegmentReader)> = searchers
        .iter()
        .enumerate()
        .flat_map(|(p, (s, _))| s.segment_readers().iter().map(move |r| (p, r)))
        .collect();
    segs.sort_by_key(|(_, r)| std::cmp::Reverse(r.max_doc()));
    let next = AtomicUsize::new(0);
    // Each thread may use its share of the memory limit.
    let threads = super::spread::threads(MAX_THREADS);
    let share = memory_limit / threads as u64;
    let work = |tick: &mut dyn FnMut()| -> Result<Counts, StoreError> {
        let mut counts = Counts::new(spec.buckets());
        let mut scratch = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(p, reader)) = segs.get(i) else {
                break;
            };
            if budget.stopped().is_some() {
                break;
            }
            count_segment(weights[p].as_ref(), reader, spec, &mut counts, &mut scratch)?;
            if counts.bytes > share {
                return Err(too_big(memory_limit));
            }
            tick();
        }
        Ok(counts)
    };
    let results = super::spread::spread(threads, work);
    let mut merged = Counts::new(spec.buckets());
    for r in results {
        merged.merge(
            r.ok_or_else(|| StoreError::Engine("an aggregation thread panicked".to_string()))??,
        );
        if merged.bytes > memory_limit {
            return Err(too_big(memory_limit));
        }
    }
    if let Some(e) = budget.stopped() {
        return Err(e);
    }
    Ok(merged)
}

fn too_big(memory_limit: u64) -> StoreError {
    StoreError::BadRequest(format!(
        "counting the values exactly needs more than {} MiB of memory (limit); narrow the \
         query or the time range",
        memory_limit >> 20
    ))
}

/// The bucket of a time, without a division per document: an estimate by multiplication,
/// corrected by one step (the estimate is off by at most one).
struct Bucketer {
    /// Start of the first bucket and width of one, in nanoseconds.
    start: i128,
    /// `start` when it is an `i64` (times are): the common case, without 128-bit arithmetic.
    start_i64: Option<i64>,
    width: u64,
    inverse: f64,
    buckets: u64,
}

impl Bucketer {
    fn new(spec: &HistogramSpec) -> Bucketer {
        let width = (spec.interval_ms.max(1) as u64).saturating_mul(1_000_000);
        let start = i128::from(spec.first) * i128::from(width);
        Bucketer {
            start,
            start_i64: i64::try_from(start).ok(),
            width,
            inverse: 1.0 / width as f64,
            buckets: spec.buckets() as u64,
        }
    }

    /// The bucket (from the first) of a time in nanoseconds, if it is one of the buckets.
    #[inline]
    fn bucket(&self, t: i64) -> Option<usize> {
        let off = match self.start_i64 {
            Some(start) if t >= start => t.wrapping_sub(start) as u64,
            Some(_) => return None,
            None => {
                let off = i128::from(t) - self.start;
                if off < 0 {
                    return None;
                }
                u64::try_from(off).ok()?
            }
        };
        let mut b = (off as f64 * self.inverse) as u64;
        if b.saturating_mul(self.width) > off {
            b -= 1;
        } else if (b + 1).saturating_mul(self.width) <= off {
            b += 1;
        }
        (b < self.buckets).then_some(b as usize)
    }
}

/// Counts of one segment by (term ordinal, bucket).
enum Cells {
    /// `terms × buckets` counters, ordinal-major.
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32>),
}

/// No bucket: the document is not counted by value.
const NO_BUCKET: u32 = u32::MAX;

/// Whether `docs` (sorted) are consecutive documents.
#[inline]
fn is_run(docs: &[DocId]) -> bool {
    let n = docs.len();
    n > 0 && docs[n - 1] - docs[0] + 1 == n as u32
}

/// The first value of each of `docs` (sorted) in `out`: a run of consecutive documents of a
/// column every document has a value in is decoded as one range (sequentially), others one by
/// one.
fn read_block<T>(col: &Column<T>, docs: &[DocId], out: &mut [Option<T>], raw: &mut [T])
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
{
    let n = docs.len();
    if is_run(docs) && col.get_cardinality() == Cardinality::Full {
        let raw = &mut raw[..n];
        col.values.get_range(u64::from(docs[0]), raw);
        for (o, v) in out.iter_mut().zip(raw.iter()) {
            *o = Some(*v);
        }
    } else {
        out.fill(None);
        col.first_vals(docs, out);
    }
}

/// Adds one to the dense counter of (`ord`, bucket `b`).
#[inline]
fn add_dense(v: &mut [u32], ord: u64, b: u32, buckets: usize) {
    if let Some(c) = v.get_mut(ord as usize * buckets + b as usize) {
        *c += 1;
    }
}

impl Cells {
    /// Counters for a segment of `num_terms` terms: dense up to [`MAX_DENSE_CELLS`].
    fn for_segment(num_terms: usize, buckets: usize) -> Cells {
        if num_terms.saturating_mul(buckets) <= MAX_DENSE_CELLS {
            Cells::Dense(vec![0; num_terms * buckets])
        } else {
            Cells::Sparse(HashMap::new())
        }
    }

    #[inline]
    fn add(&mut self, ord: u64, b: usize, buckets: usize) {
        match self {
            Cells::Dense(v) => add_dense(v, ord, b as u32, buckets),
            Cells::Sparse(m) => *m.entry(ord * buckets as u64 + b as u64).or_insert(0) += 1,
        }
    }

    /// The counted cells as (ordinal, bucket, count), sorted.
    fn counted(self, buckets: usize) -> Vec<(u64, usize, u32)> {
        let mut by_ord: Vec<(u64, usize, u32)> = match self {
            Cells::Dense(v) => v
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| ((i / buckets) as u64, i % buckets, *c))
                .collect(),
            Cells::Sparse(m) => m
                .into_iter()
                .map(|(k, c)| (k / buckets as u64, (k % buckets as u64) as usize, c))
                .collect(),
        };
        by_ord.sort_unstable();
        by_ord
    }
}

/// Whether every time of the segment's column `col` falls outside `within` (milliseconds,
/// inclusive): then the segment holds nothing to count.
fn all_outside(col: &Column<DateTime>, within: Option<(i64, i64)>) -> bool {
    let Some((lo, hi)) = within else {
        return false;
    };
    let ms = |t: DateTime| t.into_timestamp_nanos().div_euclid(1_000_000);
    col.values.num_vals() == 0 || ms(col.max_value()) < lo || ms(col.min_value()) > hi
}

/// The buckets of the documents of a segment, a block at a time, from its time column; counts
/// the documents in the time bounds and those of each bucket.
struct BlockBuckets<'a> {
    times: Option<&'a Column<DateTime>>,
    /// Every document has a time.
    times_full: bool,
    alive: Option<&'a tantivy::fastfield::AliveBitSet>,
    bucketer: Bucketer,
    /// The time bounds in nanoseconds: the bounds' milliseconds, whole.
    lo_ns: i64,
    hi_ns: i64,
    /// Documents without a time count in the total when there are no time bounds.
    count_untimed: bool,
    /// Documents matched (in the time bounds, when there are some).
    total: u64,
    /// The bucket of each document of the block, [`NO_BUCKET`] for none.
    bk: [u32; COLLECT_BLOCK_BUFFER_LEN],
    tbuf: [Option<DateTime>; COLLECT_BLOCK_BUFFER_LEN],
    traw: [DateTime; COLLECT_BLOCK_BUFFER_LEN],
}

impl<'a> BlockBuckets<'a> {
    fn new(
        spec: &HistogramSpec,
        times: Option<&'a Column<DateTime>>,
        alive: Option<&'a tantivy::fastfield::AliveBitSet>,
    ) -> BlockBuckets<'a> {
        let (lo_ns, hi_ns) = match spec.within {
            Some((lo, hi)) => (
                lo.saturating_mul(1_000_000),
                hi.saturating_mul(1_000_000).saturating_add(999_999),
            ),
            None => (i64::MIN, i64::MAX),
        };
        BlockBuckets {
            times,
            times_full: times.is_some_and(|t| t.get_cardinality() == Cardinality::Full),
            alive,
            bucketer: Bucketer::new(spec),
            lo_ns,
            hi_ns,
            count_untimed: spec.within.is_none(),
            total: 0,
            bk: [NO_BUCKET; COLLECT_BLOCK_BUFFER_LEN],
            tbuf: [None; COLLECT_BLOCK_BUFFER_LEN],
            traw: [DateTime::MIN; COLLECT_BLOCK_BUFFER_LEN],
        }
    }

    /// Counts the documents of a block (sorted; `run` when consecutive) into the total and
    /// `buckets`; answers the bucket of each.
    #[inline]
    fn bucket(&mut self, docs: &[DocId], run: bool, buckets: &mut [u64]) -> &[u32] {
        match (run && self.times_full, self.alive, self.times) {
            // The common block (every document matches, none deleted, each has a time): the
            // times are decoded as one range and used as they are.
            (true, None, Some(t)) => self.bucket_run(t, docs, buckets),
            _ => self.bucket_each(docs, buckets),
        }
        &self.bk[..docs.len()]
    }

    #[inline]
    fn bucket_run(&mut self, times: &Column<DateTime>, docs: &[DocId], buckets: &mut [u64]) {
        let n = docs.len();
        let raw = &mut self.traw[..n];
        times.values.get_range(u64::from(docs[0]), raw);
        for (b, t) in self.bk[..n].iter_mut().zip(raw.iter()) {
            *b = Self::bucket_of(
                t.into_timestamp_nanos(),
                (self.lo_ns, self.hi_ns),
                &self.bucketer,
                &mut self.total,
                buckets,
            );
        }
    }

    #[inline]
    fn bucket_each(&mut self, docs: &[DocId], buckets: &mut [u64]) {
        let tb = &mut self.tbuf[..docs.len()];
        tb.fill(None);
        if let Some(t) = self.times {
            t.first_vals(docs, tb);
        }
        for (i, &doc) in docs.iter().enumerate() {
            self.bk[i] = NO_BUCKET;
            if self.alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let Some(t) = tb[i] else {
                self.total += u64::from(self.count_untimed);
                continue;
            };
            self.bk[i] = Self::bucket_of(
                t.into_timestamp_nanos(),
                (self.lo_ns, self.hi_ns),
                &self.bucketer,
                &mut self.total,
                buckets,
            );
        }
    }

    /// Counts a document of time `t` (nanoseconds) when it is within `bounds`; answers its
    /// bucket.
    #[inline(always)]
    fn bucket_of(
        t: i64,
        (lo_ns, hi_ns): (i64, i64),
        bucketer: &Bucketer,
        total: &mut u64,
        buckets: &mut [u64],
    ) -> u32 {
        if t < lo_ns || t > hi_ns {
            return NO_BUCKET;
        }
        *total += 1;
        match bucketer.bucket(t) {
            Some(k) => {
                buckets[k] += 1;
                k as u32
            }
            None => NO_BUCKET,
        }
    }
}

/// The values of the documents of a segment, a block at a time, from its string column;
/// counts them by (term ordinal, bucket).
struct BlockTerms<'a> {
    col: &'a StrColumn,
    /// A document may have several values.
    multi: bool,
    /// Every document has a value.
    ords_full: bool,
    buckets: usize,
    obuf: [Option<u64>; COLLECT_BLOCK_BUFFER_LEN],
    oraw: [u64; COLLECT_BLOCK_BUFFER_LEN],
}

impl<'a> BlockTerms<'a> {
    fn new(col: &'a StrColumn, buckets: usize) -> BlockTerms<'a> {
        let cardinality = col.ords().get_cardinality();
        BlockTerms {
            col,
            multi: cardinality == Cardinality::Multivalued,
            ords_full: cardinality == Cardinality::Full,
            buckets,
            obuf: [None; COLLECT_BLOCK_BUFFER_LEN],
            oraw: [0; COLLECT_BLOCK_BUFFER_LEN],
        }
    }

    /// Counts the values of a block's documents (sorted; `run` when consecutive) that have a
    /// bucket in `bk`.
    #[inline]
    fn count(&mut self, docs: &[DocId], run: bool, bk: &[u32], cells: &mut Cells) {
        if self.multi {
            self.count_multi(docs, bk, cells);
        } else if let (true, Cells::Dense(v)) = (run && self.ords_full, &mut *cells) {
            let raw = &mut self.oraw[..docs.len()];
            self.col.ords().values.get_range(u64::from(docs[0]), raw);
            for (b, ord) in bk.iter().zip(raw.iter()) {
                if *b != NO_BUCKET {
                    add_dense(v, *ord, *b, self.buckets);
                }
            }
        } else {
            self.count_each(docs, bk, cells);
        }
    }

    #[inline]
    fn count_multi(&self, docs: &[DocId], bk: &[u32], cells: &mut Cells) {
        for (i, &doc) in docs.iter().enumerate() {
            if bk[i] == NO_BUCKET {
                continue;
            }
            // A document counts once per distinct value (ordinals come sorted).
            let mut last = None;
            for ord in self.col.term_ords(doc as DocId) {
                if last != Some(ord) {
                    cells.add(ord, bk[i] as usize, self.buckets);
                    last = Some(ord);
                }
            }
        }
    }

    #[inline]
    fn count_each(&mut self, docs: &[DocId], bk: &[u32], cells: &mut Cells) {
        let ob = &mut self.obuf[..docs.len()];
        read_block(self.col.ords(), docs, ob, &mut self.oraw);
        match cells {
            Cells::Dense(v) => {
                for (b, ord) in bk.iter().zip(ob.iter()) {
                    if let (true, Some(ord)) = (*b != NO_BUCKET, ord) {
                        add_dense(v, *ord, *b, self.buckets);
                    }
                }
            }
            Cells::Sparse(_) => {
                for (b, ord) in bk.iter().zip(ob.iter()) {
                    if let (true, Some(ord)) = (*b != NO_BUCKET, ord) {
                        cells.add(*ord, *b as usize, self.buckets);
                    }
                }
            }
        }
    }
}

/// Counts one segment's matches into `counts`: per block of documents, their buckets first,
/// then their values, each a tight loop; then the counted ordinals by value.
fn count_segment(
    weight: &dyn tantivy::query::Weight,
    reader: &SegmentReader,
    spec: &HistogramSpec,
    counts: &mut Counts,
    scratch: &mut Vec<u8>,
) -> Result<(), StoreError> {
    let times: Option<Column<DateTime>> = reader.fast_fields().date(&spec.time_field).ok();
    if times.as_ref().is_some_and(|t| all_outside(t, spec.within)) {
        return Ok(());
    }
    let terms: Option<StrColumn> = match &spec.terms_field {
        Some(f) => reader.fast_fields().str(f)?,
        None => None,
    };
    let nb = spec.buckets();
    let mut cells = Cells::for_segment(terms.as_ref().map_or(0, |t| t.num_terms()), nb);
    let mut block_buckets = BlockBuckets::new(spec, times.as_ref(), reader.alive_bitset());
    let mut block_terms = terms.as_ref().map(|col| BlockTerms::new(col, nb));
    let buckets = &mut counts.buckets;
    weight.for_each_no_score(reader, &mut |docs| {
        let run = is_run(docs);
        let bk = block_buckets.bucket(docs, run, buckets);
        if let Some(t) = &mut block_terms {
            t.count(docs, run, bk, &mut cells);
        }
    })?;
    counts.total += block_buckets.total;
    match &terms {
        Some(col) => add_by_value(cells.counted(nb), col, nb, counts, scratch),
        None => Ok(()),
    }
}

/// Adds a segment's counts by (ordinal, bucket), sorted, to `counts` by value: the ordinals
/// are turned into strings by one read of the segment's dictionary.
fn add_by_value(
    by_ord: Vec<(u64, usize, u32)>,
    col: &StrColumn,
    nb: usize,
    counts: &mut Counts,
    scratch: &mut Vec<u8>,
) -> Result<(), StoreError> {
    if by_ord.is_empty() {
        return Ok(());
    }
    let mut stream = col
        .dictionary()
        .stream()
        .map_err(|e| StoreError::Engine(format!("reading a term dictionary: {e}")))?;
    let mut more = stream.advance();
    let mut i = 0;
    while i < by_ord.len() {
        let ord = by_ord[i].0;
        let end = i + by_ord[i..].iter().take_while(|x| x.0 == ord).count();
        while more && stream.term_ord() < ord {
            more = stream.advance();
        }
        // An ordinal the dictionary does not hold (not expected) has its counts dropped
        // rather than given to another value.
        if more && stream.term_ord() == ord {
            scratch.clear();
            scratch.extend_from_slice(stream.key());
            let v = counts.value(scratch, nb) as usize;
            for &(_, b, c) in &by_ord[i..end] {
                counts.values[v].1[b] += u64::from(c);
            }
        }
        i = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_floor_of_time_by_interval_at_every_edge() {
        for interval_ms in [1, 7, 1000, 3_600_000, 86_400_000, 3_650 * 86_400_000] {
            let first = 1_795_000_000_000i64.div_euclid(interval_ms) - 3;
            let spec = HistogramSpec {
                time_field: String::new(),
                terms_field: None,
                interval_ms,
                first,
                last: first + 9,
                within: None,
            };
            let b = Bucketer::new(&spec);
            let ns = |ms: i64| ms * 1_000_000;
            for k in 0..10i64 {
                let start = (first + k) * interval_ms;
                for (t, want) in [
                    (ns(start), Some(k as usize)),
                    (ns(start) + 999_999, Some(k as usize)),
                    (ns(start + interval_ms) - 1, Some(k as usize)),
                    (ns(start) - 1, (k > 0).then(|| k as usize - 1)),
                ] {
                    assert_eq!(b.bucket(t), want, "interval {interval_ms} ms, bucket {k}");
                }
            }
            assert_eq!(b.bucket(ns((first + 10) * interval_ms)), None);
            assert_eq!(b.bucket(i64::MIN), None);
            assert_eq!(b.bucket(i64::MAX), None);
        }
    }
}
