//! Searches: the query of each partition, the hits in sort order, the total.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{Term, Value as _};
use tantivy::{DocAddress, TantivyDocument};

use super::guard::GuardedQuery;
use super::query::{to_tantivy_date, Translator};
use super::schema::Fields;
use super::top_hits::{collect_partition, Page, SortSpec};
use super::{Partition, TantivyStore};
use crate::{Budget, SearchRequest, SearchResponse, SortOrder, StoreError};

impl TantivyStore {
    /// The query for each partition, following its schema (one translation for all partitions
    /// of the current schema). Translates once even without partitions, so that a bad query
    /// is an error whether or not there is data.
    pub(super) fn part_queries(
        &self,
        parts: &[Arc<Partition>],
        expr: &ferrodef_query::Expr,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Vec<Box<dyn Query>>, StoreError> {
        let current = Self::filtered_query(&self.fields, expr, from, to, now, budget)?;
        parts
            .iter()
            .map(|p| {
                if p.fields.schema == self.fields.schema {
                    Ok(current.box_clone())
                } else {
                    Self::filtered_query(&p.fields, expr, from, to, now, budget)
                }
            })
            .collect()
    }

    /// The query for one partition's schema (`fields`), limited to times from `from` to `to`,
    /// stopped when `budget` runs out.
    fn filtered_query(
        fields: &Fields,
        expr: &ferrodef_query::Expr,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Box<dyn Query>, StoreError> {
        let q = Translator::new(fields, now, budget.clone()).translate(expr)?;
        let guard = |q| Ok(Box::new(GuardedQuery::new(q, budget.clone())) as Box<dyn Query>);
        if from.is_none() && to.is_none() {
            return guard(q);
        }
        let f = fields.utctimestamp;
        // Times are indexed to the millisecond: a bound is taken to the millisecond too, or a
        // document of the bound's own millisecond (indexed at its start) would fall before it.
        let bound = |t: Option<DateTime<Utc>>| match t {
            Some(t) => std::ops::Bound::Included(Term::from_field_date(
                f,
                to_tantivy_date(t).truncate(tantivy::schema::DateTimePrecision::Milliseconds),
            )),
            None => std::ops::Bound::Unbounded,
        };
        let range = RangeQuery::new(bound(from), bound(to));
        guard(Box::new(BooleanQuery::new(vec![
            (Occur::Must, q),
            (Occur::Must, Box::new(range) as Box<dyn Query>),
        ])))
    }

    pub(super) fn run_search(&self, req: &SearchRequest) -> Result<SearchResponse, StoreError> {
        if req.sort_field != "utctimestamp" && req.sort_field != "receivedtimestamp" {
            return Err(StoreError::BadRequest(format!(
                "cannot sort on '{}': sort on utctimestamp or receivedtimestamp",
                req.sort_field
            )));
        }
        let mut parts = self.parts_in_range(&req.stream, req.from, req.to);
        // Partitions are whole days: visited newest first for a newest-first page, the page
        // fills from the first and the later ones are only counted (see `top_hits`).
        if req.order == SortOrder::Desc {
            parts.reverse();
        }
        let queries =
            self.part_queries(&parts, &req.query, req.from, req.to, req.now, &req.budget)?;
        let sort = SortSpec {
            field: req.sort_field.clone(),
            desc: req.order == SortOrder::Desc,
        };
        let mut total = 0u64;
        let mut page = Page::new(req.size);
        // Searchers are held only for the partitions that supply hits of the current page
        // (a searcher keeps its segments mapped: holding one per day of a long range would not
        // be bounded); counting-only partitions are searched and let go.
        let mut held: std::collections::HashMap<u32, tantivy::Searcher> = Default::default();
        for (i, (part, query)) in parts.iter().zip(&queries).enumerate() {
            let i = i as u32;
            let searcher = part.reader.try_searcher()?;
            // An error after the budget stopped the work is the budget's (a refused pattern, a
            // timeout), not the engine's.
            total += collect_partition(&searcher, query.as_ref(), i, &sort, &mut page, &req.budget)
                .map_err(|e| req.budget.stopped().unwrap_or(e))?;
            if page.holds_part(i) {
                held.insert(i, searcher);
            }
            held.retain(|p, _| page.holds_part(*p));
        }
        if let Some(e) = req.budget.stopped() {
            return Err(e);
        }
        let hits = page
            .into_sorted()
            .into_iter()
            .filter_map(|h| {
                let searcher = held.get(&h.part)?;
                let addr = DocAddress::new(h.seg, h.doc);
                hit_source(searcher, addr, &parts[h.part as usize].fields)
            })
            .collect();
        Ok(SearchResponse { total, hits })
    }
}

fn hit_source(searcher: &tantivy::Searcher, addr: DocAddress, f: &Fields) -> Option<Value> {
    let doc: TantivyDocument = searcher.doc(addr).ok()?;
    let bytes = doc.get_first(f.source)?.as_leaf()?.as_bytes()?;
    serde_json::from_slice(bytes).ok()
}

/// The result of a search on one partition, or the reason its budget stopped it (a partial
/// result is never used).
pub(super) fn guarded<T>(budget: &Budget, r: tantivy::Result<T>) -> Result<T, StoreError> {
    if let Some(e) = budget.stopped() {
        return Err(e);
    }
    Ok(r?)
}
