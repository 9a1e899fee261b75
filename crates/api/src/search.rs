//! `GET /api/search` and `GET /api/aggregate`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use ferrodef_store::{AggRequest, SearchRequest, SortOrder, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::{ApiError, AppState};

/// Query-string parameters of `/api/search`.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    /// The query (empty: everything).
    #[serde(default)]
    q: String,
    /// Lower time bound (RFC 3339 or relative such as `now-15m`).
    from: Option<String>,
    /// Upper time bound.
    to: Option<String>,
    /// Number of hits (default 100, at most 10000).
    size: Option<usize>,
    /// `utctimestamp:desc` (default), `utctimestamp:asc`, `receivedtimestamp:desc`...
    sort: Option<String>,
    /// Stream (default `events`).
    stream: Option<String>,
}

/// Query-string parameters of `/api/aggregate`.
#[derive(Debug, Deserialize)]
pub struct AggParams {
    #[serde(default)]
    q: String,
    from: Option<String>,
    to: Option<String>,
    /// Field whose top values are counted.
    terms: Option<String>,
    /// How many top values (default 10).
    size: Option<usize>,
    /// Date histogram interval (`1m`, `1h`, `1d`...).
    interval: Option<String>,
    stream: Option<String>,
}

/// Largest number of hits one search returns.
pub const MAX_SIZE: usize = 10_000;

fn parse_query(q: &str) -> Result<ferrodef_query::Expr, ApiError> {
    ferrodef_query::parse(q).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("query syntax error: {e}"))
            .with("position", e.offset)
            .with("query", q)
    })
}

fn time(
    name: &str,
    v: &Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => ferrodef_query::parse_time(s, now).map(Some).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("parameter '{name}': '{s}' is not a time ({e}); use RFC 3339 or now-15m"),
            )
        }),
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

fn parse_sort(sort: Option<&str>) -> Result<(String, SortOrder), ApiError> {
    let Some(sort) = sort.filter(|s| !s.is_empty()) else {
        return Ok(("utctimestamp".into(), SortOrder::Desc));
    };
    let (field, dir) = sort.split_once(':').unwrap_or((sort, "desc"));
    let order = match dir {
        "desc" => SortOrder::Desc,
        "asc" => SortOrder::Asc,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("parameter 'sort': '{dir}' is not asc or desc"),
            ))
        }
    };
    Ok((field.to_string(), order))
}

/// `GET /api/search`.
pub async fn search(
    State(s): State<Arc<AppState>>,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let now = Utc::now();
    let query = parse_query(&p.q)?;
    let (sort_field, order) = parse_sort(p.sort.as_deref())?;
    let req = SearchRequest {
        stream: p
            .stream
            .unwrap_or_else(|| ferrodef_store::EVENTS_STREAM.to_string()),
        query,
        from: time("from", &p.from, now)?,
        to: time("to", &p.to, now)?,
        size: p.size.unwrap_or(100).min(MAX_SIZE),
        sort_field,
        order,
        now,
    };
    let started = Instant::now();
    let store = s.store.clone();
    let res = tokio::task::spawn_blocking(move || store.search(&req))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(store_error)?;
    Ok(Json(json!({
        "total": res.total,
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
        "hits": res.hits,
    }))
    .into_response())
}

/// `GET /api/aggregate`.
pub async fn aggregate(
    State(s): State<Arc<AppState>>,
    params: Result<Query<AggParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let now = Utc::now();
    let query = parse_query(&p.q)?;
    let req = AggRequest {
        stream: p
            .stream
            .unwrap_or_else(|| ferrodef_store::EVENTS_STREAM.to_string()),
        query,
        from: time("from", &p.from, now)?,
        to: time("to", &p.to, now)?,
        terms: p.terms.filter(|t| !t.is_empty()),
        size: p.size.unwrap_or(10),
        interval: p.interval.filter(|i| !i.is_empty()),
        now,
    };
    let started = Instant::now();
    let store = s.store.clone();
    let res = tokio::task::spawn_blocking(move || store.aggregate(&req))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(store_error)?;
    let mut body = serde_json::to_value(&res)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    body["took_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
    Ok(Json(body).into_response())
}
