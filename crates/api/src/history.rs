//! Reading back a stream of change records (alert triage, lists, incidents): the books these
//! records fold into are rebuilt from their stream at start.

use chrono::{DateTime, Utc};
use ferrodef_store::{SearchRequest, SortOrder, Store, StoreError};
use serde_json::Value;

/// Reads every document of `stream` in `store`, oldest first, in pages of the store's largest
/// search, handing each to `f`. The next page starts at the time of the last document read,
/// so documents at that very time are handed over twice: the caller's folding must be
/// idempotent or skip what it has seen (records with a sequence number). The time read is the
/// document's own `utctimestamp`, so it must not be later than the time it was written at
/// (records stamped just before they are written), or a page could skip documents.
pub fn read_stream(
    store: &dyn Store,
    stream: &str,
    mut f: impl FnMut(Value),
) -> Result<(), StoreError> {
    let mut from: Option<DateTime<Utc>> = None;
    loop {
        let req = SearchRequest {
            stream: stream.into(),
            query: ferrodef_query::Expr::MatchAll,
            from,
            to: None,
            size: ferrodef_store::params::MAX_SEARCH_SIZE,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Asc,
            now: Utc::now(),
            budget: Default::default(),
        };
        let hits = store.search(&req)?.hits;
        let full = hits.len() == ferrodef_store::params::MAX_SEARCH_SIZE;
        let last = hits
            .last()
            .and_then(|h| h.get("utctimestamp"))
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        for hit in hits {
            f(hit);
        }
        match (full, last) {
            (true, Some(t)) if Some(t) != from => from = Some(t),
            _ => return Ok(()),
        }
    }
}

/// Writes change records durably to `stream` through the ingest service (like any event: the
/// log, then the store); a refusal (overload, full disk, shutdown) is a 503 with the reason and,
/// when the service names one, `Retry-After`.
pub async fn write_records(
    ingest: &ferrodef_ingest::IngestService,
    stream: &str,
    docs: Vec<serde_json::Map<String, Value>>,
) -> Result<(), crate::ApiError> {
    ingest.write_internal(stream, docs).await.map_err(|e| {
        let mut err =
            crate::ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        if let Some(secs) = e.retry_after() {
            err = err.retry_after(secs);
        }
        err
    })
}

/// A record as the JSON object stored.
pub fn to_doc(record: &impl serde::Serialize) -> serde_json::Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}
