//! `GET /api/search` and `GET /api/aggregate`.
//!
//! Parameters are read by [`SearchParams`] (shared with `ferrodef search --data-dir`). Every
//! search runs within a [`SearchGate`]: at most a few at once (more wait briefly, then get 503
//! with `Retry-After`), each stopped at its timeout (504) or when its client goes away.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use ferrodef_store::params::{ParamError, SearchParams};
use ferrodef_store::{Budget, SearchRequest, Store, StoreError};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::{ApiError, AppState};

/// Bounds the searches and aggregations of the API: how many run at once and for how long.
#[derive(Debug)]
pub struct SearchGate {
    permits: Arc<Semaphore>,
    /// How long one search or aggregation may run before it is stopped.
    pub timeout: Duration,
    /// How long a request waits for one of the running searches to finish before it is
    /// refused with 503.
    pub queue_wait: Duration,
}

impl SearchGate {
    /// At most `max_concurrent` searches at once, each stopped after `timeout`.
    pub fn new(max_concurrent: usize, timeout: Duration) -> SearchGate {
        SearchGate {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            timeout,
            queue_wait: Duration::from_secs(1),
        }
    }

    /// Runs `work` on a blocking thread with a budget of [`SearchGate::timeout`], once a slot
    /// is free. If the request is dropped (its client went away), the work is cancelled.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Budget) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Response> {
        let permit = tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let budget = Budget::with_timeout(self.timeout);
        let cancel = budget.cancel_on_drop();
        let res = tokio::task::spawn_blocking(move || {
            // The slot is held until the work has stopped, even if its client left.
            let _permit = permit;
            work(budget)
        })
        .await;
        cancel.disarm();
        res.map_err(|e| ApiError::internal("the search task", e).into_response())?
            .map_err(|e| store_error(e).into_response())
    }
}

impl SearchGate {
    /// Runs `req` on `store` within the gate (its budget set by the gate).
    pub async fn search(
        &self,
        store: &Arc<dyn Store>,
        mut req: SearchRequest,
    ) -> Result<ferrodef_store::SearchResponse, Response> {
        let store = store.clone();
        self.run(move |budget| {
            req.budget = budget;
            store.search(&req)
        })
        .await
    }
}

/// Every search slot is taken.
fn busy() -> Response {
    let mut resp = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many searches running at once (limit max_concurrent_searches); retry shortly",
    )
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    resp
}

fn param_error(e: ParamError) -> ApiError {
    let mut err = ApiError::new(StatusCode::BAD_REQUEST, e.message).with("parameter", e.param);
    if let Some(p) = e.position {
        err = err.with("position", p);
    }
    err
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
        e @ StoreError::Timeout(_) => ApiError::new(StatusCode::GATEWAY_TIMEOUT, e.to_string()),
        e @ StoreError::Cancelled => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        other => ApiError::internal("the search", other),
    }
}

fn read_params(
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<SearchParams, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

/// `GET /api/search`.
pub async fn search(
    State(s): State<Arc<AppState>>,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let p = read_params(params).map_err(IntoResponse::into_response)?;
    let req = p
        .search_request(Utc::now(), Budget::unlimited())
        .map_err(|e| param_error(e).into_response())?;
    let started = Instant::now();
    let res = s.search.search(&s.store, req).await?;
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
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let p = read_params(params).map_err(IntoResponse::into_response)?;
    let mut req = p
        .agg_request(Utc::now(), Budget::unlimited())
        .map_err(|e| param_error(e).into_response())?;
    let started = Instant::now();
    let store: Arc<dyn Store> = s.store.clone();
    let res = s
        .search
        .run(move |budget| {
            req.budget = budget;
            store.aggregate(&req)
        })
        .await?;
    let mut body = serde_json::to_value(&res)
        .map_err(|e| ApiError::internal("encoding the aggregation", e).into_response())?;
    body["took_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Works until its budget stops it; returns how it was stopped.
    fn spin(budget: Budget) -> Result<(), StoreError> {
        loop {
            if let Some(e) = budget.stopped() {
                return Err(e);
            }
            std::thread::yield_now();
        }
    }

    #[tokio::test]
    async fn work_past_the_timeout_is_stopped_and_answers_504() {
        let gate = SearchGate::new(1, Duration::from_millis(20));
        let resp = gate.run(spin).await.unwrap_err();
        assert_eq!(resp.status(), StatusCode::GATEWAY_TIMEOUT);
        // The slot is free again.
        assert_eq!(gate.permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn a_full_gate_answers_503_with_retry_after() {
        let mut gate = SearchGate::new(1, Duration::from_secs(30));
        gate.queue_wait = Duration::from_millis(10);
        let held = gate.permits.clone().acquire_owned().await.unwrap();
        let resp = gate.run(|_| Ok(())).await.unwrap_err();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        drop(held);
        assert!(gate.run(|_| Ok(())).await.is_ok());
    }

    #[tokio::test]
    async fn a_dropped_request_cancels_its_work() {
        let gate = Arc::new(SearchGate::new(1, Duration::from_secs(60)));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let g = gate.clone();
        let request = tokio::spawn(async move {
            g.run(move |budget| {
                let r = spin(budget);
                let _ = tx.send(matches!(r, Err(StoreError::Cancelled)));
                r
            })
            .await
        });
        // Wait until the work runs (it holds the only slot), then drop the request.
        let deadline = Instant::now() + Duration::from_secs(10);
        while gate.permits.available_permits() > 0 {
            assert!(Instant::now() < deadline, "the work never started");
            tokio::task::yield_now().await;
        }
        request.abort();
        assert!(rx.await.unwrap(), "the work ends cancelled");
    }
}
