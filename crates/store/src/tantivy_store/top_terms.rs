//! Exact top values of a string field, for fields with many distinct values (addresses,
//! user names): per segment, the matching documents are counted by term ordinal in a plain
//! array; then each segment's term dictionary is read once, in order, its counted terms copied
//! into one arena with their hash; sorting those by hash brings equal terms of different
//! segments together, their counts are summed, and a small heap keeps the `size` most
//! frequent.
//!
//! tantivy's terms aggregation, asked for exact counts (every segment reports every value),
//! turns each counted ordinal into its string by a dictionary lookup (decoding a block each
//! time) and merges per-segment maps of strings, which takes seconds for a field with millions
//! of distinct values (BENCHMARKS.md). This reads each dictionary once, sequentially, and
//! allocates nothing per term. It answers the same buckets (count descending, then value
//! ascending). Memory: 4 bytes per term of each segment's dictionary for the counts, then ~24
//! bytes and the term's bytes per counted term and segment, within the aggregation memory
//! limit (in several passes over the dictionaries when they do not fit at once). Used when the
//! field holds only strings in every segment searched (a field with numbers or booleans
//! somewhere goes through tantivy, which merges the types).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde_json::Value;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{ColumnType, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::{Budget, StoreError, TermBucket};

/// Whether `column` (a fast field name, a JSON path as `f.details.x`) holds only strings in
/// every segment of `searcher` (and exists in at least one).
pub(super) fn only_strings(searcher: &tantivy::Searcher, column: &str) -> tantivy::Result<bool> {
    for seg in searcher.segment_readers() {
        for h in seg.fast_fields().dynamic_column_handles(column)? {
            if h.column_type() != ColumnType::Str {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Counts matching documents by term ordinal of one string column, per segment.
pub(super) struct OrdCounts {
    pub column: String,
}

/// One segment's counts and its dictionary.
pub(super) struct SegmentCounts {
    column: Option<StrColumn>,
    counts: Vec<u32>,
}

pub(super) struct OrdCounter {
    seg: SegmentCounts,
}

impl Collector for OrdCounts {
    type Fruit = Vec<SegmentCounts>;
    type Child = OrdCounter;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<OrdCounter> {
        let column = reader.fast_fields().str(&self.column)?;
        let terms = column.as_ref().map_or(0, |c| c.num_terms());
        Ok(OrdCounter {
            seg: SegmentCounts {
                column,
                counts: vec![0; terms],
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<SegmentCounts>) -> tantivy::Result<Vec<SegmentCounts>> {
        Ok(fruits)
    }
}

impl SegmentCollector for OrdCounter {
    type Fruit = SegmentCounts;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(col) = &self.seg.column else {
            return;
        };
        // A document counts once per distinct value (ordinals come sorted).
        let mut last = None;
        for ord in col.term_ords(doc) {
            if last != Some(ord) {
                if let Some(c) = self.seg.counts.get_mut(ord as usize) {
                    *c += 1;
                }
                last = Some(ord);
            }
        }
    }

    fn harvest(self) -> SegmentCounts {
        self.seg
    }
}

/// A counted term of one segment: where its bytes are in the arena, their hash, its count.
struct Item {
    hash: u64,
    off: u32,
    len: u32,
    count: u32,
}

/// FNV-1a: keys are short, and equal hashes are checked by comparing the keys.
fn hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Most passes over the dictionaries one request may make (each holds 1/passes of the
/// counted terms in memory); a request that would need more is refused.
const MAX_PASSES: u64 = 64;

/// Memory of one counted term besides its bytes.
const ITEM_BYTES: u64 = std::mem::size_of::<Item>() as u64;

/// The `size` most frequent values over all the segments' counts (count descending, then
/// value ascending), using at most about `memory_limit` bytes. Checks `budget` as it goes.
///
/// When the counted terms do not fit at once (a near-unique field such as the source
/// addresses of a day), the terms are split by hash into passes: each pass reads every
/// dictionary again and keeps only its share, so every value is summed whole within one
/// pass and the answer stays exact; the best `size` of each pass compete at the end. Beyond
/// [`MAX_PASSES`] the request is refused with an error naming the limit.
pub(super) fn top(
    segments: &[Vec<SegmentCounts>],
    size: usize,
    memory_limit: u64,
    budget: &Budget,
) -> Result<Vec<TermBucket>, StoreError> {
    let counted: u64 = segments
        .iter()
        .flat_map(|s| s.iter())
        .map(|s| s.counts.iter().filter(|c| **c > 0).count() as u64)
        .sum();
    // First guess: 16 bytes per term (an IPv4 address or a user name); a pass that finds
    // longer terms than that starts over with twice as many passes.
    let mut passes = (counted.saturating_mul(ITEM_BYTES + 16) / memory_limit.max(1) + 1).max(1);
    loop {
        if passes > MAX_PASSES {
            return Err(StoreError::BadRequest(format!(
                "counting the values exactly needs more than {MAX_PASSES} passes of {} of \
                 memory (the aggregation memory limit); narrow the query or the time range",
                if memory_limit >= 1 << 20 {
                    format!("{} MiB", memory_limit >> 20)
                } else {
                    format!("{memory_limit} bytes")
                }
            )));
        }
        let mut best: Vec<Counted> = Vec::new();
        let mut fitted = true;
        for pass in 0..passes {
            match top_of_share(
                segments,
                size,
                memory_limit,
                budget,
                counted,
                (pass, passes),
            )? {
                Some(mut found) => best.append(&mut found),
                None => {
                    fitted = false;
                    break;
                }
            }
        }
        if fitted {
            best.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            best.truncate(size);
            return Ok(best
                .into_iter()
                .map(|(count, k)| TermBucket {
                    key: Value::String(String::from_utf8_lossy(&k).into_owned()),
                    count,
                })
                .collect());
        }
        passes *= 2;
    }
}

/// A value's bytes with its count.
type Counted = (u64, Vec<u8>);

/// Which of `passes` shares a term of this hash belongs to (from the hash's high bits).
fn share_of(hash: u64, passes: u64) -> u64 {
    ((u128::from(hash) * u128::from(passes)) >> 64) as u64
}

/// The `size` most frequent values among the terms of share `pass.0` of `pass.1`; `None`
/// when they do not fit in `memory_limit`.
fn top_of_share(
    segments: &[Vec<SegmentCounts>],
    size: usize,
    memory_limit: u64,
    budget: &Budget,
    counted: u64,
    (pass, passes): (u64, u64),
) -> Result<Option<Vec<Counted>>, StoreError> {
    // This share's counted terms of every segment, their bytes in one arena (no allocation
    // per term), then sorted by hash so that equal terms of different segments meet. The
    // items are reserved for about this share's part of the counted terms.
    let expected = (counted / passes).saturating_add(counted / passes / 16 + 1024);
    let mut arena: Vec<u8> = Vec::new();
    let mut items: Vec<Item> = Vec::with_capacity(expected.min(memory_limit / ITEM_BYTES) as usize);
    for seg in segments.iter().flat_map(|s| s.iter()) {
        let Some(col) = &seg.column else { continue };
        if !seg.counts.iter().any(|c| *c > 0) {
            continue;
        }
        let mut stream = col
            .dictionary()
            .stream()
            .map_err(|e| StoreError::Engine(format!("reading a term dictionary: {e}")))?;
        while stream.advance() {
            let count = seg
                .counts
                .get(stream.term_ord() as usize)
                .copied()
                .unwrap_or(0);
            if count == 0 {
                continue;
            }
            let key = stream.key();
            let h = hash(key);
            if passes > 1 && share_of(h, passes) != pass {
                continue;
            }
            let (Ok(off), Ok(len)) = (u32::try_from(arena.len()), u32::try_from(key.len())) else {
                return Ok(None);
            };
            arena.extend_from_slice(key);
            items.push(Item {
                hash: h,
                off,
                len,
                count,
            });
            if items.len().is_multiple_of(65_536) {
                if let Some(e) = budget.stopped() {
                    return Err(e);
                }
                if arena.capacity() as u64 + items.capacity() as u64 * ITEM_BYTES > memory_limit {
                    return Ok(None);
                }
            }
        }
    }
    if let Some(e) = budget.stopped() {
        return Err(e);
    }
    if arena.len() as u64 + items.len() as u64 * ITEM_BYTES > memory_limit {
        return Ok(None);
    }
    let out = most_frequent(&mut items, &arena, size);
    if let Some(e) = budget.stopped() {
        return Err(e);
    }
    Ok(Some(out))
}

/// Sums the counts of equal terms among `items` (their bytes in `arena`) and answers the
/// `size` most frequent, count descending, then term ascending.
fn most_frequent(items: &mut [Item], arena: &[u8], size: usize) -> Vec<Counted> {
    let key = |i: &Item| &arena[i.off as usize..(i.off + i.len) as usize];
    items.sort_unstable_by_key(|i| i.hash);
    // Different terms of equal hash (rare) are ordered by term within their run, so that
    // equal terms stand together.
    let mut i = 0;
    while i < items.len() {
        let mut j = i + 1;
        while j < items.len() && items[j].hash == items[i].hash {
            j += 1;
        }
        if j - i > 1 {
            items[i..j].sort_unstable_by(|a, b| key(a).cmp(key(b)));
        }
        i = j;
    }
    // (count, value) of the best so far; the root is the weakest: the smallest count, and of
    // equal counts the greatest value.
    let mut best: BinaryHeap<Reverse<(u64, Reverse<Vec<u8>>)>> = BinaryHeap::new();
    let mut i = 0;
    while i < items.len() {
        let first = &items[i];
        let mut count = u64::from(first.count);
        let mut j = i + 1;
        while j < items.len() && items[j].hash == first.hash && key(&items[j]) == key(first) {
            count += u64::from(items[j].count);
            j += 1;
        }
        let k = key(first);
        let stronger = match best.peek() {
            _ if best.len() < size => true,
            Some(Reverse((c, Reverse(v)))) => count > *c || (count == *c && k < v.as_slice()),
            None => true,
        };
        if stronger {
            if best.len() >= size {
                best.pop();
            }
            best.push(Reverse((count, Reverse(k.to_vec()))));
        }
        i = j;
    }
    let mut out: Vec<Counted> = best
        .into_iter()
        .map(|Reverse((c, Reverse(k)))| (c, k))
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_terms_are_summed_even_among_different_terms_of_equal_hash() {
        // Terms of three segments; "b" and "c" given the same hash (a collision), interleaved.
        let mut arena = Vec::new();
        let mut items = Vec::new();
        for (term, hash, count) in [
            ("a", 1, 2),
            ("b", 7, 1),
            ("c", 7, 3),
            ("b", 7, 2),
            ("d", 9, 3),
            ("c", 7, 1),
            ("e", 2, 1),
        ] {
            items.push(Item {
                hash,
                off: arena.len() as u32,
                len: 1,
                count,
            });
            arena.extend_from_slice(term.as_bytes());
        }
        let got = most_frequent(&mut items, &arena, 3);
        // c 4, b 3, d 3 (b before d: equal counts by term), then a 2 and e 1 are left out.
        assert_eq!(
            got,
            vec![(4, b"c".to_vec()), (3, b"b".to_vec()), (3, b"d".to_vec())]
        );
        assert_eq!(most_frequent(&mut items, &arena, 10).len(), 5);
        assert!(most_frequent(&mut [], &arena, 10).is_empty());
    }
}
