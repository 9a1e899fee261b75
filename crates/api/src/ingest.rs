//! The ingest endpoints (MozDef `loginput` compatible): thin adapters that read the body (with
//! its limits) and hand it to the ingest service, then turn its outcome into an answer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrodef_ingest::{IngestError, LineError, Outcome};
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// Content types an ingest body may have. `application/x-www-form-urlencoded` is what
/// `curl -d` sends: MozDef's own examples post JSON that way, so it is read as JSON too.
const ACCEPTED_TYPES: [&str; 7] = [
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonlines",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
];

/// Reads a request body: checks its content type and size, and reserves memory for it from
/// the budget of all bodies being read at once (a full budget answers 503 with Retry-After).
pub(crate) async fn read_body(
    s: &AppState,
    headers: &HeaderMap,
    body: Body,
    source: &str,
) -> Result<(Bytes, tokio::sync::OwnedSemaphorePermit), ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !ACCEPTED_TYPES.contains(&mime.as_str()) {
            s.metrics.rejected(source, "content_type", 1);
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported content type '{ct}': send JSON (application/json) or NDJSON (application/x-ndjson)"
                ),
            ));
        }
    }
    let limit = s.config.max_body_bytes;
    let too_large = |s: &AppState| {
        s.metrics.rejected(source, "body_too_large", 1);
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the limit of {limit} bytes (max_body_bytes)"),
        )
        .with("limit", limit)
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(s));
    }
    let permit = s
        .body_budget
        .reserve(declared.unwrap_or(limit))
        .await
        .map_err(|()| {
            s.metrics.rejected(source, "overloaded", 1);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ferrodef is reading too many request bodies at once; retry shortly",
            )
            .retry_after(1)
        })?;
    let read = tokio::time::timeout(s.config.body_timeout, axum::body::to_bytes(body, limit));
    match read.await {
        Ok(Ok(b)) => Ok((b, permit)),
        Ok(Err(e)) => {
            // to_bytes fails on the limit or on a broken connection.
            let msg = e.to_string();
            if msg.contains("length limit") {
                Err(too_large(s))
            } else {
                s.metrics.rejected(source, "body_read", 1);
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("reading the request body: {msg}"),
                ))
            }
        }
        Err(_) => {
            s.metrics.rejected(source, "body_timeout", 1);
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s",
                    s.config.body_timeout.as_secs()
                ),
            ))
        }
    }
}

fn errors_json(errors: &[LineError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|r| json!({"line": r.line, "error": r.message}))
            .collect(),
    )
}

/// The answer to an ingest request.
pub(crate) fn answer(
    res: Result<Outcome, IngestError>,
    single: bool,
) -> Result<Response, ApiError> {
    match res {
        Ok(o) => {
            let mut body = json!({
                "result": if o.rejected == 0 { "ok" } else { "partial" },
                "accepted": o.accepted,
                "dropped": o.dropped,
                "rejected": o.rejected,
                "errors": errors_json(&o.errors),
            });
            if o.errors_omitted > 0 {
                body["errors_omitted"] = json!(o.errors_omitted);
            }
            Ok((StatusCode::OK, Json(body)).into_response())
        }
        Err(e) => Err(ingest_error(e, single)),
    }
}

fn ingest_error(e: IngestError, single: bool) -> ApiError {
    let status = match &e {
        IngestError::BadBody { .. } | IngestError::AllRejected(_) | IngestError::Empty => {
            StatusCode::BAD_REQUEST
        }
        IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        IngestError::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
        IngestError::Overloaded(_) => StatusCode::TOO_MANY_REQUESTS,
        IngestError::Backlog(_) | IngestError::Persist(_) | IngestError::ShuttingDown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    let mut err = ApiError::new(status, e.to_string());
    if let Some(s) = e.retry_after() {
        err = err.retry_after(s);
    }
    match e {
        IngestError::BadBody {
            line: Some(line), ..
        } => err.with("line", line),
        IngestError::AllRejected(o) if !single => {
            let mut err = err;
            if let Some(first) = o.errors.first() {
                err = err.with("line", first.line);
            }
            err = err
                .with("accepted", 0)
                .with("rejected", o.rejected)
                .with("errors", errors_json(&o.errors));
            if o.errors_omitted > 0 {
                err = err.with("errors_omitted", o.errors_omitted);
            }
            err
        }
        IngestError::TooLarge { limit, found, .. } => err.with("limit", limit).with("found", found),
        _ => err,
    }
}

/// `POST /events`: one JSON event.
pub async fn events(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (bytes, _budget) = read_body(&s, &headers, body, "http_events").await?;
    answer(s.ingest.event("http_events", &bytes).await, true)
}

async fn many(
    s: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    source: &str,
    endpoint: Option<&str>,
) -> Result<Response, ApiError> {
    let (bytes, _budget) = read_body(&s, &headers, body, source).await?;
    answer(s.ingest.events(source, &bytes, endpoint).await, false)
}

/// `POST /_bulk`: Elasticsearch bulk body, JSON array or NDJSON.
pub async fn bulk(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    many(s, headers, body, "http_bulk", None).await
}

/// `POST /cef`: JSON events from CEF forwarders (MozDef tags them `endpoint: cef`), or raw
/// CEF lines (one per line, with or without a syslog header), which are parsed as CEF.
pub async fn cef(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = "http_cef";
    let (bytes, _budget) = read_body(&s, &headers, body, source).await?;
    let first = bytes.iter().find(|c| !c.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{' | b'[')) {
        return answer(s.ingest.events(source, &bytes, Some("cef")).await, false);
    }
    answer(s.ingest.lines(source, &bytes).await, false)
}

/// `POST /nxlog`: JSON events from nxlog (MozDef tags them `endpoint: nxlog`).
pub async fn nxlog(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    many(s, headers, body, "http_nxlog", Some("nxlog")).await
}

/// `POST /syslog`: raw syslog lines (RFC 5424, RFC 3164, CEF, or any text), one per line.
pub async fn syslog(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = "http_syslog";
    let (bytes, _budget) = read_body(&s, &headers, body, source).await?;
    answer(s.ingest.lines(source, &bytes).await, false)
}

/// `POST /custom/<app>`: documents stored as sent (no normalization) in the stream
/// `custom-<app>`; one JSON object, a JSON array, NDJSON or an Elasticsearch bulk body.
pub async fn custom(
    State(s): State<Arc<AppState>>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if let Err(m) = ferrodef_ingest::custom_stream(&app) {
        s.metrics.rejected("http_custom", "bad_application", 1);
        return Err(ApiError::new(StatusCode::BAD_REQUEST, m));
    }
    let (bytes, _budget) = read_body(&s, &headers, body, "http_custom").await?;
    answer(s.ingest.custom(&app, &bytes).await, false)
}

/// The `Retry-After` header value for `secs`.
pub(crate) fn retry_after_header(secs: u64) -> HeaderValue {
    HeaderValue::from(secs)
}
