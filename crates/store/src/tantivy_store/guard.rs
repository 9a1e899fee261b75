//! Queries that stop: a wrapper that ends the scan of documents when the [`Budget`]'s deadline
//! passes or it is cancelled, and a regular-expression query that refuses to expand to more
//! dictionary terms than the budget allows.
//!
//! Both check the budget as they work (every few thousand documents or a few hundred terms), so
//! a stopped query stops using the CPU, not just its client waiting. The caller asks
//! [`Budget::stopped`] after the search: a result computed by a stopped scan is partial and is
//! never returned.

use std::fmt;
use std::sync::Arc;

use tantivy::query::{
    BitSetDocSet, ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TantivyError, TERMINATED};
use tantivy_fst::Regex;

use crate::Budget;

/// Documents scanned between two checks of the budget.
const DOCS_PER_CHECK: u32 = 4096;
/// `fill_buffer` calls (up to 64 documents each) between two checks of the budget.
const BUFFERS_PER_CHECK: u32 = 64;
/// Dictionary terms visited between two checks of the deadline.
const TERMS_PER_CHECK: usize = 256;

/// `inner`, stopped when `budget` runs out.
pub struct GuardedQuery {
    inner: Box<dyn Query>,
    budget: Budget,
}

impl GuardedQuery {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Query>, budget: Budget) -> GuardedQuery {
        GuardedQuery { inner, budget }
    }
}

impl Clone for GuardedQuery {
    fn clone(&self) -> Self {
        GuardedQuery {
            inner: self.inner.box_clone(),
            budget: self.budget.clone(),
        }
    }
}

impl fmt::Debug for GuardedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedQuery")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Query for GuardedQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(GuardedWeight {
            inner: self.inner.weight(enable_scoring)?,
            budget: self.budget.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        self.inner.query_terms(visitor)
    }
}

struct GuardedWeight {
    inner: Box<dyn Weight>,
    budget: Budget,
}

impl Weight for GuardedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        if self.budget.stopped().is_some() {
            return Ok(Box::new(EmptyScorer));
        }
        Ok(Box::new(GuardedScorer {
            inner: self.inner.scorer(reader, boost)?,
            budget: self.budget.clone(),
            countdown: DOCS_PER_CHECK,
            stopped: false,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }

    /// Counting keeps the inner weight's shortcuts (a term's or all documents' count is read,
    /// not scanned); the budget is checked once per segment, and segments are bounded in size
    /// by the merge policy.
    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        if self.budget.stopped().is_some() {
            return Ok(0);
        }
        self.inner.count(reader)
    }
}

struct GuardedScorer {
    inner: Box<dyn Scorer>,
    budget: Budget,
    countdown: u32,
    stopped: bool,
}

impl GuardedScorer {
    /// Counts `work` units down; when the count is used up, checks the budget. True when the
    /// scan must stop.
    fn must_stop(&mut self, work: u32, period: u32) -> bool {
        if self.stopped {
            return true;
        }
        self.countdown = self.countdown.saturating_sub(work);
        if self.countdown == 0 {
            self.countdown = period;
            self.stopped = self.budget.stopped().is_some();
        }
        self.stopped
    }
}

impl DocSet for GuardedScorer {
    fn advance(&mut self) -> DocId {
        if self.must_stop(1, DOCS_PER_CHECK) {
            return TERMINATED;
        }
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.must_stop(1, DOCS_PER_CHECK) {
            return TERMINATED;
        }
        self.inner.seek(target)
    }

    fn fill_buffer(&mut self, buffer: &mut [DocId; tantivy::COLLECT_BLOCK_BUFFER_LEN]) -> usize {
        if self.must_stop(DOCS_PER_CHECK / BUFFERS_PER_CHECK, DOCS_PER_CHECK) {
            return 0;
        }
        self.inner.fill_buffer(buffer)
    }

    fn doc(&self) -> DocId {
        if self.stopped {
            TERMINATED
        } else {
            self.inner.doc()
        }
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn count_including_deleted(&mut self) -> u32 {
        let mut buffer = [0; tantivy::COLLECT_BLOCK_BUFFER_LEN];
        let mut count = 0u32;
        loop {
            let n = self.fill_buffer(&mut buffer);
            count += n as u32;
            if n < buffer.len() {
                return count;
            }
        }
    }
}

impl Scorer for GuardedScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

/// A regular expression over the terms of `field` (within one path of a JSON field when
/// `prefix` is given: the term bytes every matching term starts with), refused with a clear
/// message when it matches more than the budget's `max_expansions` terms in one segment.
#[derive(Clone)]
pub struct LimitedRegexQuery {
    field: Field,
    regex: Arc<Regex>,
    prefix: Option<Vec<u8>>,
    budget: Budget,
    /// How the query names the pattern in errors (`field:pattern`).
    what: String,
}

impl fmt::Debug for LimitedRegexQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LimitedRegexQuery({})", self.what)
    }
}

impl LimitedRegexQuery {
    /// Compiles `pattern` (matched against whole terms, `prefix` included).
    pub fn new(
        field: Field,
        pattern: &str,
        prefix: Option<Vec<u8>>,
        budget: Budget,
        what: String,
    ) -> Result<LimitedRegexQuery, String> {
        let regex = Regex::new(pattern).map_err(|e| e.to_string())?;
        Ok(LimitedRegexQuery {
            field,
            regex: Arc::new(regex),
            prefix,
            budget,
            what,
        })
    }
}

impl Query for LimitedRegexQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

/// The first byte string greater than every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Weight for LimitedRegexQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inverted_index = reader.inverted_index(self.field)?;
        let dict = inverted_index.terms();
        let mut builder = dict.search(&*self.regex);
        if let Some(prefix) = &self.prefix {
            builder = builder.ge(prefix);
            if let Some(end) = prefix_end(prefix) {
                builder = builder.lt(end);
            }
        }
        let mut stream = builder.into_stream()?;
        let mut docs = BitSet::with_max_value(reader.max_doc());
        let mut matched = 0usize;
        while stream.advance() {
            matched += 1;
            if matched > self.budget.max_expansions {
                let msg = format!(
                    "the pattern {} matches more than {} distinct values (limit of terms a \
                     wildcard or regular expression may expand to); make it more specific",
                    self.what, self.budget.max_expansions
                );
                self.budget.refuse(msg.clone());
                return Err(TantivyError::InvalidArgument(msg));
            }
            if matched.is_multiple_of(TERMS_PER_CHECK) && self.budget.stopped().is_some() {
                return Ok(Box::new(EmptyScorer));
            }
            let mut postings = inverted_index
                .read_block_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
            loop {
                let block = postings.docs();
                if block.is_empty() {
                    break;
                }
                for &doc in block {
                    docs.insert(doc);
                }
                postings.advance();
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("LimitedRegexQuery", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(
                "document does not match".to_string(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Collector, SegmentCollector};
    use tantivy::query::AllQuery;
    use tantivy::schema::{Schema, STRING};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    /// Counts the documents it sees and cancels the budget at the `cancel_at`-th.
    struct CancelAt {
        budget: Budget,
        cancel_at: u32,
    }

    struct CancelAtSegment {
        budget: Budget,
        cancel_at: u32,
        seen: u32,
    }

    impl Collector for CancelAt {
        type Fruit = u32;
        type Child = CancelAtSegment;
        fn for_segment(&self, _: u32, _: &SegmentReader) -> tantivy::Result<CancelAtSegment> {
            Ok(CancelAtSegment {
                budget: self.budget.clone(),
                cancel_at: self.cancel_at,
                seen: 0,
            })
        }
        fn requires_scoring(&self) -> bool {
            false
        }
        fn merge_fruits(&self, fruits: Vec<u32>) -> tantivy::Result<u32> {
            Ok(fruits.into_iter().sum())
        }
    }

    impl SegmentCollector for CancelAtSegment {
        type Fruit = u32;
        fn collect(&mut self, _: DocId, _: Score) {
            self.seen += 1;
            if self.seen == self.cancel_at {
                self.budget.cancel();
            }
        }
        fn harvest(self) -> u32 {
            self.seen
        }
    }

    #[test]
    fn a_cancelled_scan_stops_within_one_check_period() {
        let mut schema = Schema::builder();
        let f = schema.add_text_field("f", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..100_000u32 {
            writer.add_document(doc!(f => (i % 7).to_string())).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        for query in [
            Box::new(AllQuery) as Box<dyn Query>,
            Box::new(tantivy::query::TermQuery::new(
                tantivy::Term::from_field_text(f, "3"),
                IndexRecordOption::Basic,
            )),
        ] {
            let budget = Budget::unlimited();
            let guarded = GuardedQuery::new(query, budget.clone());
            let collector = CancelAt {
                budget: budget.clone(),
                cancel_at: 1_000,
            };
            let seen = searcher.search(&guarded, &collector).unwrap();
            assert!(
                (1_000..1_000 + DOCS_PER_CHECK + 64).contains(&seen),
                "the scan went on after the cancel: {seen} documents"
            );
            assert!(matches!(
                budget.stopped(),
                Some(crate::StoreError::Cancelled)
            ));
            // Not cancelled: every document.
            let all = searcher
                .search(
                    &GuardedQuery::new(Box::new(AllQuery), Budget::unlimited()),
                    &tantivy::collector::Count,
                )
                .unwrap();
            assert_eq!(all, 100_000);
        }
    }
}
