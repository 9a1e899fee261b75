//! Searches: the query of each partition, the hits in sort order, the total.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{Term, Value as _};
use tantivy::{DocAddress, Order, TantivyDocument};

use super::guard::GuardedQuery;
use super::query::{to_tantivy_date, Translator};
use super::schema::Fields;
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
        let queries =
            self.part_queries(&parts, &req.query, req.from, req.to, req.now, &req.budget)?;
        let by_utc = req.sort_field == "utctimestamp";
        let mut total = 0u64;
        let mut hits: Vec<(Option<tantivy::DateTime>, usize, DocAddress)> = Vec::new();
        // Searchers are held only for the partitions that supply hits of the current top
        // `size` (a searcher keeps its segments mapped: holding one per day of a long range
        // would not be bounded); counting-only partitions are searched and let go.
        let mut held: std::collections::HashMap<usize, tantivy::Searcher> = Default::default();
        for (i, (part, query)) in parts.iter().zip(&queries).enumerate() {
            let searcher = part.reader.try_searcher()?;
            if by_utc && hits.len() >= req.size {
                total += guarded(&req.budget, searcher.search(query, &Count))? as u64;
                continue;
            }
            let top = TopDocs::with_limit(req.size.max(1))
                .order_by_fast_field::<tantivy::DateTime>(req.sort_field.clone(), order);
            let (count, top) = guarded(&req.budget, searcher.search(query, &(Count, top)))?;
            total += count as u64;
            if top.is_empty() {
                continue;
            }
            hits.extend(top.into_iter().map(|(k, a)| (k, i, a)));
            hits.sort_by(|a, b| match order {
                Order::Desc => b.0.cmp(&a.0),
                Order::Asc => a.0.cmp(&b.0),
            });
            hits.truncate(req.size);
            held.insert(i, searcher);
            held.retain(|p, _| hits.iter().any(|h| h.1 == *p));
        }
        if let Some(e) = req.budget.stopped() {
            return Err(e);
        }
        let hits = hits
            .into_iter()
            .filter_map(|(_, i, addr)| hit_source(held.get(&i)?, addr, &parts[i].fields))
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
