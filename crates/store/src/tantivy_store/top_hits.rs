//! The first page of a search sorted by a time field, and its exact total, visiting the
//! segments best first.
//!
//! Every segment knows the smallest and largest time of its column (stored with the column,
//! free to read). Segments are visited in the order of the best time they may hold (the newest
//! first for a descending sort); once `size` hits are held and a segment's best time is worse
//! than the worst of them, nothing in it can enter the page: it is only counted
//! (`Weight::count`: no time column read, no ranking; tantivy answers a term's count from its
//! document frequency and drops a time-range clause that covers the whole segment). When
//! events arrive roughly in time order (live ingest), only the newest segments are ranked.
//! When every segment spans all times (an import out of order), every segment is ranked, but
//! the worst time held so far is known before each block of documents is read, so a document
//! costs one time read and one comparison.
//!
//! Segments are visited by a few threads; each keeps its own page and publishes the worst time
//! of a full page (a valid bound for all: `size` hits at least that good exist), so that every
//! thread skips what another has already beaten. The pages are merged at the end.
//!
//! Ties: hits of equal time are ordered by partition, segment and document, so the page is the
//! same whatever the threads' timing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering as AtomicOrdering};

use tantivy::columnar::{Cardinality, Column};
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{DateTime, DocId, Searcher, SegmentReader, COLLECT_BLOCK_BUFFER_LEN};

use crate::{Budget, StoreError};

/// Most threads one search uses.
const MAX_THREADS: usize = 4;

/// A hit: its sort key (greater is better: see [`encode`]) and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hit {
    pub key: i64,
    pub part: u32,
    pub seg: u32,
    pub doc: DocId,
}

/// Ordered from the best to the worst: the greater key first, then the first place.
impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .cmp(&self.key)
            .then_with(|| (self.part, self.seg, self.doc).cmp(&(other.part, other.seg, other.doc)))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The sort of a search: on which date fast field, which way.
#[derive(Clone, Debug)]
pub(super) struct SortSpec {
    pub field: String,
    pub desc: bool,
}

impl SortSpec {
    /// The key of a time: greater is better. Documents without a time come last in a
    /// descending sort and first in an ascending one (as tantivy's sort orders them).
    fn encode(&self, t: Option<DateTime>) -> i64 {
        match (t, self.desc) {
            (Some(t), true) => t.into_timestamp_nanos(),
            (Some(t), false) => !t.into_timestamp_nanos(),
            (None, true) => i64::MIN,
            (None, false) => i64::MAX,
        }
    }

    /// The best key a segment may hold, from its column's bounds.
    fn best_in(&self, col: Option<&Column<DateTime>>, max_doc: u32) -> i64 {
        let Some(col) = col.filter(|c| c.values.num_vals() > 0) else {
            return self.encode(None);
        };
        let every_doc_has_one =
            col.get_cardinality() == Cardinality::Full && col.num_docs() == max_doc;
        if self.desc {
            self.encode(Some(col.max_value()))
        } else if every_doc_has_one {
            self.encode(Some(col.min_value()))
        } else {
            self.encode(None)
        }
    }
}

/// The best `size` hits seen.
#[derive(Debug)]
pub(super) struct Page {
    size: usize,
    /// The worst at the top.
    heap: BinaryHeap<Hit>,
}

impl Page {
    pub fn new(size: usize) -> Page {
        Page {
            size,
            heap: BinaryHeap::with_capacity(size.min(10_000) + 1),
        }
    }

    /// The key of the worst hit of a full page: no worse key can enter.
    pub fn threshold(&self) -> Option<i64> {
        if self.size > 0 && self.heap.len() >= self.size {
            self.heap.peek().map(|h| h.key)
        } else {
            None
        }
    }

    fn offer(&mut self, hit: Hit) {
        if self.heap.len() < self.size {
            self.heap.push(hit);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if hit < *worst {
                *worst = hit;
            }
        }
    }

    fn merge(&mut self, other: Page) {
        for hit in other.heap {
            self.offer(hit);
        }
    }

    /// Whether a hit of partition `part` is on the page.
    pub fn holds_part(&self, part: u32) -> bool {
        self.heap.iter().any(|h| h.part == part)
    }

    /// The hits, best first.
    pub fn into_sorted(self) -> Vec<Hit> {
        self.heap.into_sorted_vec()
    }
}

/// Counts the matches of `query` in one partition (`searcher`, numbered `part`) and offers
/// them to `page`, skipping the segments that cannot improve it. Checks `budget` as it goes.
pub(super) fn collect_partition(
    searcher: &Searcher,
    query: &dyn Query,
    part: u32,
    sort: &SortSpec,
    page: &mut Page,
    budget: &Budget,
) -> Result<u64, StoreError> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let readers = searcher.segment_readers();
    // Segments best first.
    let mut order: Vec<(usize, i64)> = readers
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let col = r.fast_fields().date(&sort.field).ok();
            (i, sort.best_in(col.as_ref(), r.max_doc()))
        })
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // The worst key of some full page (any thread's, or the pages of partitions before): no
    // worse key can enter. `i64::MIN` bounds nothing.
    let shared = AtomicI64::new(page.threshold().unwrap_or(i64::MIN));
    let next = AtomicUsize::new(0);
    let work = |tick: &mut dyn FnMut()| -> Result<(u64, Page), StoreError> {
        let mut local = Page::new(page.size);
        let mut count = 0u64;
        loop {
            let i = next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(&(seg, best)) = order.get(i) else {
                break;
            };
            if budget.stopped().is_some() {
                break;
            }
            let reader = &readers[seg];
            if page.size == 0 || best < shared.load(AtomicOrdering::Relaxed) {
                count += u64::from(weight.count(reader)?);
            } else {
                count += rank_segment(
                    weight.as_ref(),
                    reader,
                    (part, seg as u32),
                    sort,
                    &mut local,
                    &shared,
                )?;
            }
            tick();
        }
        Ok((count, local))
    };
    let results = super::spread::spread(super::spread::threads(MAX_THREADS), work);
    let mut total = 0u64;
    for r in results {
        let (count, local) =
            r.ok_or_else(|| StoreError::Engine("a search thread panicked".to_string()))??;
        total += count;
        page.merge(local);
    }
    Ok(total)
}

/// Counts the matches in one segment and offers those that can enter the page to `local`,
/// publishing the worst key of a full page in `shared`.
fn rank_segment(
    weight: &dyn Weight,
    reader: &SegmentReader,
    (part, seg): (u32, u32),
    sort: &SortSpec,
    local: &mut Page,
    shared: &AtomicI64,
) -> Result<u64, StoreError> {
    let col = reader.fast_fields().date(&sort.field).ok();
    let alive = reader.alive_bitset();
    let mut count = 0u64;
    let mut times: [Option<DateTime>; COLLECT_BLOCK_BUFFER_LEN] = [None; COLLECT_BLOCK_BUFFER_LEN];
    weight.for_each_no_score(reader, &mut |docs| {
        // The bound to beat: the best known by any thread.
        let mut bound = shared
            .load(AtomicOrdering::Relaxed)
            .max(local.threshold().unwrap_or(i64::MIN));
        let times = &mut times[..docs.len()];
        times.fill(None);
        if let Some(col) = &col {
            col.first_vals(docs, times);
        }
        for (&doc, &t) in docs.iter().zip(times.iter()) {
            if let Some(alive) = alive {
                if !alive.is_alive(doc) {
                    continue;
                }
            }
            count += 1;
            let key = sort.encode(t);
            if key < bound {
                continue;
            }
            local.offer(Hit {
                key,
                part,
                seg,
                doc,
            });
            if let Some(t) = local.threshold() {
                if t > bound {
                    bound = t;
                    shared.fetch_max(t, AtomicOrdering::Relaxed);
                }
            }
        }
    })?;
    Ok(count)
}
