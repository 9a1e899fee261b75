//! The ingest endpoints (MozDef `loginput` compatible).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use ferrodef_event::{Event, Incoming};
use ferrodef_sinks::{Pending, SubmitError};
use ferrodef_sources::http_body::{self, BodyItem};
use ferrodef_transforms::normalize::{normalize_incoming, NormalizeContext};
use serde_json::{json, Map, Value};

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

pub(crate) async fn read_body(
    s: &AppState,
    headers: &HeaderMap,
    body: Body,
    source: &str,
) -> Result<Bytes, ApiError> {
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
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large(s));
        }
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
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
    }
}

pub(crate) async fn permit(s: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    s.ingest_permits
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ferrodef is shutting down"))
}

pub(crate) fn context(s: &AppState, source: &str, now: DateTime<Utc>) -> NormalizeContext {
    NormalizeContext {
        now,
        mozdefhostname: s.config.mozdefhostname.clone(),
        default_tz: s.config.default_tz,
        source: Some(source.to_string()),
    }
}

/// Normalizes one raw event and runs the transforms: a document for the `events` stream (or
/// the stream a transform routed it to), or `None` when a transform dropped it (counted).
fn normalized(
    s: &AppState,
    raw: Incoming,
    ctx: &NormalizeContext,
) -> Result<Option<Pending>, String> {
    let ev = normalize_incoming(raw, ctx).map_err(|e| e.to_string())?;
    Ok(transformed(
        s,
        ev,
        ctx.source.as_deref().unwrap_or_default(),
    ))
}

/// Runs the transforms on a normalized event: its document, or `None` when a transform
/// dropped it (counted under `source`).
pub(crate) fn transformed(s: &AppState, mut ev: Event, source: &str) -> Option<Pending> {
    let verdict = s.transforms.run(&mut ev);
    if let Some((transform, _reason)) = verdict.dropped {
        s.metrics
            .dropped
            .get_or_create(&ferrodef_sinks::metrics::RejectLabel {
                source: source.to_string(),
                reason: transform,
            })
            .inc();
        return None;
    }
    let utc = ev.utctimestamp;
    let received = ev.receivedtimestamp;
    let stream = verdict
        .stream
        .unwrap_or_else(|| ferrodef_store::EVENTS_STREAM.to_string());
    Some(Pending::new(stream, utc, received, ev))
}

/// One bad document of a body.
pub(crate) struct Rejected {
    pub(crate) line: usize,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

pub(crate) async fn submit(
    s: &AppState,
    source: &str,
    docs: Vec<Pending>,
    rejected: Vec<Rejected>,
    dropped: usize,
    single: bool,
) -> Result<Response, ApiError> {
    let accepted = docs.len();
    s.metrics
        .received(source, (accepted + dropped + rejected.len()) as u64);
    for r in &rejected {
        s.metrics.rejected(source, r.reason, 1);
    }
    if accepted == 0 && dropped == 0 {
        if let Some(first) = rejected.first() {
            let mut e = ApiError::new(StatusCode::BAD_REQUEST, first.message.clone());
            if !single {
                e = e
                    .with("line", first.line)
                    .with("accepted", 0)
                    .with("rejected", rejected.len())
                    .with("errors", errors_json(&rejected));
            }
            return Err(e);
        }
        if !single {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "the body holds no event",
            ));
        }
    }
    match s.ingest.submit(source, docs).await {
        Ok(()) => {}
        Err(e @ SubmitError::ShuttingDown) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                e.to_string(),
            ))
        }
        Err(e) => {
            s.metrics.rejected(source, "persist", accepted as u64);
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                e.to_string(),
            ));
        }
    }
    Ok((
        StatusCode::OK,
        Json(json!({
            "result": if rejected.is_empty() { "ok" } else { "partial" },
            "accepted": accepted,
            "dropped": dropped,
            "rejected": rejected.len(),
            "errors": errors_json(&rejected),
        })),
    )
        .into_response())
}

fn errors_json(rejected: &[Rejected]) -> Value {
    Value::Array(
        rejected
            .iter()
            .map(|r| json!({"line": r.line, "error": r.message}))
            .collect(),
    )
}

/// The documents of a body that were not valid JSON, as rejections.
fn json_errors(errors: Vec<http_body::ItemError>) -> Vec<Rejected> {
    errors
        .into_iter()
        .map(|e| Rejected {
            line: e.line,
            reason: "invalid_json",
            message: e.message,
        })
        .collect()
}

fn body_error(s: &AppState, source: &str, e: http_body::BodyError) -> ApiError {
    s.metrics.rejected(source, "invalid_body", 1);
    s.metrics.received(source, 1);
    ApiError::new(StatusCode::BAD_REQUEST, e.to_string())
}

/// Normalizes parsed documents, keeping every failure with its line; returns the documents
/// and how many a transform dropped.
fn normalize_items(
    s: &AppState,
    items: Vec<BodyItem<Incoming>>,
    ctx: &NormalizeContext,
    tag: Option<&str>,
    rejected: &mut Vec<Rejected>,
) -> (Vec<Pending>, usize) {
    let mut docs = Vec::with_capacity(items.len());
    let mut dropped = 0;
    for item in items {
        let mut raw = item.doc;
        if let Some(endpoint) = tag {
            raw.insert("endpoint", Value::String(endpoint.into()));
        }
        match normalized(s, raw, ctx) {
            Ok(Some(p)) => docs.push(p),
            Ok(None) => dropped += 1,
            Err(message) => rejected.push(Rejected {
                line: item.line,
                reason: "invalid_event",
                message: format!("line {}: {message}", item.line),
            }),
        }
    }
    (docs, dropped)
}

/// `POST /events`: one JSON event.
pub async fn events(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = "http_events";
    let bytes = read_body(&s, &headers, body, source).await?;
    let _permit = permit(&s).await?;
    let raw = http_body::parse_single(&bytes).map_err(|e| body_error(&s, source, e))?;
    let ctx = context(&s, source, Utc::now());
    let mut rejected = Vec::new();
    let (docs, dropped) = normalize_items(
        &s,
        vec![BodyItem {
            line: 1,
            doc: Incoming::from(raw),
        }],
        &ctx,
        None,
        &mut rejected,
    );
    if let Some(r) = rejected.first_mut() {
        r.message = r.message.trim_start_matches("line 1: ").to_string();
    }
    submit(&s, source, docs, rejected, dropped, true).await
}

async fn many(
    s: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    source: &str,
    tag: Option<&str>,
) -> Result<Response, ApiError> {
    let bytes = read_body(&s, &headers, body, source).await?;
    let _permit = permit(&s).await?;
    many_bytes(&s, bytes, source, tag).await
}

async fn many_bytes(
    s: &AppState,
    bytes: Bytes,
    source: &str,
    tag: Option<&str>,
) -> Result<Response, ApiError> {
    let parsed =
        http_body::parse_bulk_as::<Incoming>(&bytes).map_err(|e| body_error(s, source, e))?;
    let ctx = context(s, source, Utc::now());
    let mut rejected = json_errors(parsed.errors);
    let (docs, dropped) = normalize_items(s, parsed.items, &ctx, tag, &mut rejected);
    rejected.sort_by_key(|r| r.line);
    submit(s, source, docs, rejected, dropped, false).await
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
    let bytes = read_body(&s, &headers, body, source).await?;
    let first = bytes.iter().find(|c| !c.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{' | b'[')) {
        let _permit = permit(&s).await?;
        return many_bytes(&s, bytes, source, Some("cef")).await;
    }
    crate::raw::lines(s, bytes, source).await
}

/// `POST /nxlog`: JSON events from nxlog (MozDef tags them `endpoint: nxlog`).
pub async fn nxlog(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    many(s, headers, body, "http_nxlog", Some("nxlog")).await
}

/// Checks an application name of `/custom/<app>`.
fn custom_stream(app: &str) -> Result<String, String> {
    let ok = !app.is_empty()
        && app.len() <= 64
        && app
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(format!("custom-{app}"))
    } else {
        Err(format!(
            "invalid application name '{app}' in /custom/<app>: use 1 to 64 of a-z, 0-9, '-', '_'"
        ))
    }
}

/// `POST /custom/<app>`: documents stored as sent (no normalization) in the stream
/// `custom-<app>`; one JSON object, a JSON array, NDJSON or an Elasticsearch bulk body.
pub async fn custom(
    State(s): State<Arc<AppState>>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let source = "http_custom";
    let stream = custom_stream(&app).map_err(|m| {
        s.metrics.rejected(source, "bad_application", 1);
        ApiError::new(StatusCode::BAD_REQUEST, m)
    })?;
    let bytes = read_body(&s, &headers, body, source).await?;
    let _permit = permit(&s).await?;
    // A whole-body object or array first (pretty-printed documents span lines), else lines.
    let (items, errors) = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(docs)) => (
            docs.into_iter()
                .enumerate()
                .map(|(i, doc)| BodyItem { line: i + 1, doc })
                .collect(),
            Vec::new(),
        ),
        Ok(doc @ Value::Object(_)) => (vec![BodyItem { line: 1, doc }], Vec::new()),
        _ => {
            let parsed = http_body::parse_bulk(&bytes).map_err(|e| body_error(&s, source, e))?;
            (parsed.items, parsed.errors)
        }
    };
    let mut rejected = json_errors(errors);
    let now = Utc::now();
    let mut docs = Vec::with_capacity(items.len());
    for item in items {
        match item.doc {
            Value::Object(map) => docs.push(custom_doc(&stream, map, now)),
            other => rejected.push(Rejected {
                line: item.line,
                reason: "invalid_event",
                message: format!(
                    "line {}: a document must be a JSON object, not {}",
                    item.line,
                    ferrodef_transforms::normalize::json_kind(&other)
                ),
            }),
        }
    }
    submit(&s, source, docs, rejected, 0, false).await
}

fn custom_doc(stream: &str, map: Map<String, Value>, now: DateTime<Utc>) -> Pending {
    Pending::new(stream, now, now, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_stream_names() {
        assert_eq!(custom_stream("vulns").unwrap(), "custom-vulns");
        assert!(custom_stream("Vulns").is_err());
        assert!(custom_stream("a/b").is_err());
        assert!(custom_stream("").is_err());
    }
}
