//! The merge policy of the tantivy backend: merge segments of similar size, but never into a
//! segment of more than a set number of documents.
//!
//! tantivy's `LogMergePolicy` merges a whole size class at once: on a busy day, sixteen segments
//! of a quarter million documents into one of four million, a merge whose memory (merged
//! columns and dictionaries, plus every page of the source segments it maps) grows with the
//! merged segment, and which rewrites every event again while ingest goes on. Here merged
//! segments stay small (200K events by default) and segments of more than half that are final:
//! while ingesting fast (each commit makes segments of ~10K events), sixteen of them merge once
//! into a final segment, so each event is written twice in all, and a merge's memory stays
//! bounded by the segment limit. The cost is more segments per day (50–100 for ten million
//! events): a needle search does one term lookup per segment, and aggregations cost per event,
//! not per segment, so both stay fast (BENCHMARKS.md).

use tantivy::index::SegmentMeta;
use tantivy::indexer::{MergeCandidate, MergePolicy};

/// Segments smaller than this are counted as this size when grouping sizes (as tantivy's).
const MIN_LAYER_DOCS: u32 = 10_000;
/// Segments within this factor (as log2) of the largest of their size class belong to it.
const LEVEL_LOG_SIZE: f64 = 0.75;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct BoundedMergePolicy {
    /// How many segments of a size class trigger a merge.
    pub min_segments: usize,
    /// The largest merged segment, in documents. Segments of more than half of it are final.
    pub max_merged_docs: u32,
}

impl BoundedMergePolicy {
    /// Groups of segment ids to merge, given the segments' document counts.
    fn plan(&self, segments: &[(usize, u32)]) -> Vec<Vec<usize>> {
        let max = u64::from(self.max_merged_docs.max(2));
        let mut live: Vec<(usize, u32)> = segments
            .iter()
            .copied()
            .filter(|&(_, docs)| u64::from(docs) * 2 <= max)
            .collect();
        // Largest first; ties by position for a deterministic plan.
        live.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut plan = Vec::new();
        let mut level: Vec<(usize, u32)> = Vec::new();
        let mut level_log = f64::MAX;
        for seg in live {
            let log = f64::from(seg.1.max(MIN_LAYER_DOCS)).log2();
            if log < level_log - LEVEL_LOG_SIZE {
                self.plan_level(&level, max, &mut plan);
                level.clear();
                level_log = log;
            }
            level.push(seg);
        }
        self.plan_level(&level, max, &mut plan);
        plan
    }

    /// Splits one size class into merges of at most `max` documents. A group that no other
    /// segment of the class fits into merges at once, so that large merges start one by one as
    /// their segments arrive rather than all together (their memory adds up); what is left
    /// merges once it has `min_segments` segments.
    fn plan_level(&self, level: &[(usize, u32)], max: u64, plan: &mut Vec<Vec<usize>>) {
        let Some(&(_, smallest)) = level.last() else {
            return;
        };
        let smallest = u64::from(smallest);
        let mut group: Vec<usize> = Vec::new();
        let mut docs = 0u64;
        for &(id, n) in level {
            let n = u64::from(n);
            if docs + n > max && !group.is_empty() {
                if group.len() >= 2 {
                    plan.push(std::mem::take(&mut group));
                }
                group.clear();
                docs = 0;
            }
            group.push(id);
            docs += n;
        }
        let full = docs + smallest > max;
        if group.len() >= 2 && (full || group.len() >= self.min_segments) {
            plan.push(group);
        }
    }
}

impl MergePolicy for BoundedMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let sizes: Vec<(usize, u32)> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.num_docs()))
            .collect();
        self.plan(&sizes)
            .into_iter()
            .map(|group| MergeCandidate(group.into_iter().map(|i| segments[i].id()).collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min_segments: usize, max_merged_docs: u32) -> BoundedMergePolicy {
        BoundedMergePolicy {
            min_segments,
            max_merged_docs,
        }
    }

    fn sizes(plan: &[Vec<usize>], segs: &[(usize, u32)]) -> Vec<u64> {
        plan.iter()
            .map(|g| g.iter().map(|&i| u64::from(segs[i].1)).sum())
            .collect()
    }

    fn numbered(docs: &[u32]) -> Vec<(usize, u32)> {
        docs.iter().copied().enumerate().collect()
    }

    #[test]
    fn a_size_class_merges_once_it_has_min_segments() {
        let p = policy(4, 1_000_000);
        assert!(p.plan(&numbered(&[15_000; 3])).is_empty());
        let segs = numbered(&[15_000; 4]);
        assert_eq!(p.plan(&segs), vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn merges_never_exceed_the_cap() {
        let p = policy(16, 1_000_000);
        let segs = numbered(&[240_000; 16]);
        let plan = p.plan(&segs);
        assert_eq!(sizes(&plan, &segs), vec![960_000; 4]);
        // A class that does not divide evenly: full groups merge, the rest waits.
        let segs = numbered(&[200_000; 17]);
        let plan = p.plan(&segs);
        assert_eq!(sizes(&plan, &segs), vec![1_000_000; 3]);
        let merged: Vec<usize> = plan.concat();
        assert_eq!(merged.len(), 15);
    }

    #[test]
    fn a_full_group_merges_before_its_class_has_min_segments() {
        let p = policy(16, 1_000_000);
        let segs = numbered(&[200_000; 4]);
        assert!(p.plan(&segs).is_empty());
        let segs = numbered(&[200_000; 5]);
        assert_eq!(sizes(&p.plan(&segs), &segs), vec![1_000_000]);
        // Small segments never fill a group: they wait for `min_segments`.
        assert!(p.plan(&numbered(&[12_000; 15])).is_empty());
        assert_eq!(p.plan(&numbered(&[12_000; 16])).len(), 1);
    }

    #[test]
    fn segments_over_half_the_cap_are_final() {
        let p = policy(2, 1_000_000);
        assert!(p.plan(&numbered(&[600_000, 600_000, 4_000_000])).is_empty());
        let segs = numbered(&[500_000, 500_000, 600_000]);
        assert_eq!(p.plan(&segs), vec![vec![0, 1]]);
    }

    #[test]
    fn size_classes_merge_separately() {
        let p = policy(3, 1_000_000);
        // Three small ones and three of a larger class; one segment alone in its class.
        let segs = numbered(&[20_000, 150_000, 21_000, 160_000, 19_000, 155_000, 60_000]);
        let mut plan = p.plan(&segs);
        plan.iter_mut().for_each(|g| g.sort_unstable());
        plan.sort();
        assert_eq!(plan, vec![vec![0, 2, 4], vec![1, 3, 5]]);
    }

    #[test]
    fn tiny_segments_count_as_one_class() {
        let p = policy(3, 1_000_000);
        let segs = numbered(&[10, 5_000, 1]);
        assert_eq!(p.plan(&segs).concat().len(), 3);
    }
}
