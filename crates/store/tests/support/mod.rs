//! What the store's integration tests share: building a document, counting matches.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use ferrodef_query::Expr;
use ferrodef_store::{SearchRequest, SortOrder, Store, StoredDoc};
use serde_json::Value;

/// A document of the `events` stream at `t` with the JSON object `v`.
pub fn doc(seq: u64, t: DateTime<Utc>, v: Value) -> StoredDoc {
    let Value::Object(map) = v else {
        panic!("object")
    };
    StoredDoc {
        seq,
        stream: "events".into(),
        utctimestamp: t,
        receivedtimestamp: t,
        source: serde_json::to_vec(&map).unwrap(),
        doc: map.into(),
    }
}

/// How many `events` match `query` between `from` and `to`.
pub fn count(
    store: &dyn Store,
    query: Expr,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> u64 {
    store
        .search(&SearchRequest {
            stream: "events".into(),
            query,
            from,
            to,
            size: 10,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Desc,
            now: Utc::now(),
            budget: Default::default(),
        })
        .unwrap()
        .total
}
