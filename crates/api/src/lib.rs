//! ferrodef's HTTP API.
//!
//! Ingest, as MozDef's `loginput` took it: `POST /events` (one JSON event), `POST /_bulk`
//! (Elasticsearch bulk, JSON array or NDJSON), `POST /cef` and `POST /nxlog` (JSON events tagged
//! with their endpoint), `POST /custom/<app>` (stored as sent, in the stream `custom-<app>`).
//! Search: `GET /api/search`, `GET /api/aggregate`. Operations: `GET /status`, `GET /health`,
//! `GET /metrics`. Every error answer is JSON: `{"error": "...", ...}` with the line, column or
//! position of the problem where there is one.
//!
//! Users and access: `POST /api/login`, `POST /api/logout`, `GET /api/me`, `GET/POST
//! /api/users`, `PATCH /api/users/{name}`, `POST /api/users/{name}/password`, `GET/POST
//! /api/tokens`, `DELETE /api/tokens/{id}`. Lists: `GET/POST /api/blocklist`, `DELETE
//! /api/blocklist/{id}`, `GET /api/blocklist.txt`, the same for `/api/watchlist`, and MozDef's
//! `POST /blockip`, `POST /watchitem`, `GET /getwatchlist` ([`lists`]). Who may call what is one table,
//! [`policy::POLICY`]; the [`auth`] middleware applies it to every request (see
//! `docs/auth.md`). Every route is described in the OpenAPI document `crates/api/openapi.yaml`,
//! served at `GET /api/openapi.json` ([`openapi`], `docs/api.md`).

pub mod alerts;
pub mod attackers;
pub mod auth;
pub mod history;
pub mod incidents;
mod ingest;
pub mod lists;
pub mod openapi;
pub mod policy;
pub mod search;
pub mod security_sink;
pub mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use ferrodef_auth::{Auth, Principal};
use ferrodef_ingest::{IngestService, Metrics};
use ferrodef_store::Store;
use serde_json::json;

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The name this ferrodef gives itself in events (`mozdefhostname`).
    pub mozdefhostname: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest time a request body may take to arrive.
    pub body_timeout: Duration,
}

/// Memory for request bodies being read, all requests together: a body reserves its declared
/// length (or the body limit when it declares none) before it is read.
pub struct BodyBudget {
    units: Arc<tokio::sync::Semaphore>,
    total_units: usize,
    wait: Duration,
}

const BUDGET_UNIT: usize = 64 * 1024;

impl BodyBudget {
    /// A budget of `bytes`; a body waits at most `wait` for room.
    pub fn new(bytes: usize, wait: Duration) -> BodyBudget {
        let total_units = bytes.div_ceil(BUDGET_UNIT).max(1);
        BodyBudget {
            units: Arc::new(tokio::sync::Semaphore::new(total_units)),
            total_units,
            wait,
        }
    }

    async fn reserve(&self, bytes: usize) -> Result<tokio::sync::OwnedSemaphorePermit, ()> {
        let units = bytes.div_ceil(BUDGET_UNIT).clamp(1, self.total_units) as u32;
        match tokio::time::timeout(self.wait, self.units.clone().acquire_many_owned(units)).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(()),
        }
    }
}

/// What the handlers share.
pub struct AppState {
    /// The store searched by the API.
    pub store: Arc<dyn Store>,
    /// The ingest service every ingest endpoint hands its body to.
    pub ingest: IngestService,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub config: ApiConfig,
    /// When the server started.
    pub started: Instant,
    /// Memory for request bodies being read.
    pub body_budget: BodyBudget,
    /// Bounds searches and aggregations: how many at once, and for how long.
    pub search: search::SearchGate,
    /// Users, tokens, sessions.
    pub auth: Arc<Auth>,
    /// How the API applies authentication.
    pub auth_config: auth::AuthConfig,
    /// Triage state of the alerts and their live feed.
    pub alerts: Arc<alerts::AlertBook>,
    /// Where alerts are sent (their delivery records, the notification metrics).
    pub notify: Option<Arc<ferrodef_notify::Dispatcher>>,
    /// The blocklist and the watchlist.
    pub lists: Arc<lists::Lists>,
    /// The incidents.
    pub incidents: Arc<incidents::IncidentBook>,
}

/// Who makes a request (the authenticated user or token), for the records it leaves (alert
/// triage changes).
pub struct Actor(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let name = parts
            .extensions
            .get::<ferrodef_auth::Principal>()
            .map_or_else(|| "anonymous".to_string(), |p| p.name.clone());
        Ok(Actor(name))
    }
}

/// An error answer: a status and a JSON body naming the problem.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
            retry_after: None,
        }
    }

    /// A failure inside ferrodef (500): `detail` goes to the server log, the client is told
    /// only what failed (`what`), never the detail (which may name files or internals).
    pub fn internal(what: &str, detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("{what}: {detail}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{what} failed inside ferrodef (the server log says why)"),
        )
    }

    /// Adds a `Retry-After` header (seconds).
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        self.body
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    /// Adds a field to the JSON body (e.g. `line`, `position`).
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> ApiError {
        if let Some(obj) = self.body.as_object_mut() {
            obj.insert(key.to_string(), value.into());
        }
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, ingest::retry_after_header(s));
        }
        r
    }
}

/// The router with every endpoint.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/events", post(ingest::events).put(ingest::events))
        .route("/events/", post(ingest::events).put(ingest::events))
        .route("/_bulk", post(ingest::bulk).put(ingest::bulk))
        .route("/cef", post(ingest::cef).put(ingest::cef))
        .route("/nxlog", post(ingest::nxlog).put(ingest::nxlog))
        .route("/syslog", post(ingest::syslog).put(ingest::syslog))
        .route("/custom/{app}", post(ingest::custom).put(ingest::custom))
        .route("/api/search", get(search::search))
        .route("/api/aggregate", get(search::aggregate))
        .route("/api/alerts", get(alerts::list))
        .route("/api/alerts/stream", get(alerts::stream))
        .route("/api/alerts/{id}", get(alerts::get_one))
        .route("/api/alerts/{id}/status", post(alerts::triage))
        .route("/api/alerts/{id}/assign", post(alerts::triage))
        .route("/api/alerts/{id}/comment", post(alerts::triage))
        .route("/alertstatus", post(alerts::mozdef_status))
        .route(
            "/api/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route("/api/incidents/veris", get(incidents::veris))
        .route(
            "/api/incidents/{id}",
            get(incidents::get_one).patch(incidents::edit),
        )
        .route("/api/incidents/{id}/notes", post(incidents::add_note))
        .route("/api/incidents/{id}/status", post(incidents::set_status))
        .route("/api/incidents/{id}/tags", post(incidents::set_tags))
        .route("/api/incidents/{id}/alerts", post(incidents::set_alerts))
        .route("/api/incidents/{id}/assign", post(incidents::assign))
        .route("/api/attackers", get(attackers::list))
        .route("/api/attackers/{ip}", get(attackers::get_one))
        .route(
            "/api/blocklist",
            get(lists::get_blocklist).post(lists::post_blocklist),
        )
        .route("/api/blocklist/{id}", delete(lists::delete_blocklist))
        .route("/api/blocklist.txt", get(lists::blocklist_txt))
        .route(
            "/api/watchlist",
            get(lists::get_watchlist).post(lists::post_watchlist),
        )
        .route("/api/watchlist/{id}", delete(lists::delete_watchlist))
        .route("/blockip", post(lists::mozdef_blockip))
        .route("/blockip/", post(lists::mozdef_blockip))
        .route("/watchitem", post(lists::mozdef_watchitem))
        .route("/watchitem/", post(lists::mozdef_watchitem))
        .route("/getwatchlist", get(lists::mozdef_getwatchlist))
        .route("/getwatchlist/", get(lists::mozdef_getwatchlist))
        .route("/status", get(status))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/users", get(auth::list_users).post(auth::add_user))
        .route("/api/users/{name}", patch(auth::patch_user))
        .route("/api/users/{name}/password", post(auth::set_password))
        .route(
            "/api/tokens",
            get(auth::list_tokens).post(auth::create_token),
        )
        .route("/api/tokens/{id}", delete(auth::revoke_token))
        .merge(ferrodef_console::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::layer,
        ))
        .with_state(state)
}

/// Gives the answers axum makes itself the JSON error shape of every other error: the
/// plain-text refusals of its extractors (a path segment that is not UTF-8, a query string or a
/// body that does not deserialize, in any handler) and the empty 405 of a method a route does
/// not have. The console's pages (`/ui/`) keep their own.
async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let console = req.uri().path().starts_with(ferrodef_console::UI_PREFIX);
    let what = format!("{} {}", req.method(), req.uri().path());
    let resp = next.run(req).await;
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if console || !resp.status().is_client_error() || !plain {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // axum's refusals are one short line.
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        format!(
            "{what}: {}",
            parts
                .status
                .canonical_reason()
                .unwrap_or("refused")
                .to_lowercase()
        )
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Response::from_parts(
        parts,
        axum::body::Body::from(json!({ "error": message }).to_string()),
    )
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {}", uri.path()),
    )
}

/// Resident set size now and at its peak, from `/proc/self/status` (Linux).
pub fn rss_bytes() -> (Option<u64>, Option<u64>) {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How many days of partitions `/status` lists in `storage` (the newest ones; `storage_bytes`
/// counts every partition).
pub const STATUS_STORAGE_DAYS: usize = 31;

async fn status(axum::extract::State(s): axum::extract::State<Arc<AppState>>) -> Response {
    let (rss, peak) = rss_bytes();
    // Measuring the partitions' sizes reads the file system.
    let store = s.store.clone();
    let parts = match tokio::task::spawn_blocking(move || store.partitions()).await {
        Ok(p) => p,
        Err(e) => return ApiError::internal("listing the store's partitions", e).into_response(),
    };
    let docs: u64 = parts.iter().map(|p| p.docs).sum();
    let storage_bytes: u64 = parts.iter().map(|p| p.bytes).sum();
    let m = &s.metrics;
    let alerts: serde_json::Map<String, serde_json::Value> = m
        .alerts_by_kind()
        .into_iter()
        .map(|(k, n)| (k.to_string(), n.into()))
        .collect();
    let notifications: Vec<serde_json::Value> = s
        .notify
        .as_ref()
        .map(|d| {
            let names = d.notifiers();
            d.metrics()
                .snapshot(names.iter().map(String::as_str))
                .into_iter()
                .map(|(name, c)| {
                    json!({
                        "notifier": name,
                        "sent": c.sent,
                        "failed": c.failed,
                        "retried": c.retried,
                        "dropped": c.dropped,
                        "pending": c.pending,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "mozdefhostname": s.config.mozdefhostname,
        "uptime_seconds": s.started.elapsed().as_secs(),
        "events_pending": m.pending.get(),
        "health": s.ingest.health(),
        "events_stored": docs,
        "partitions": parts.len(),
        "storage_bytes": storage_bytes,
        "storage": recent_storage(parts),
        "rules": {
            "events_evaluated": m.rules_evaluated.get(),
            "ticks": m.rules_ticks.get(),
            "alerts": alerts,
        },
        "notifications": notifications,
        "rss_bytes": rss,
        "peak_rss_bytes": peak,
    }))
    .into_response()
}

/// The partitions of the newest [`STATUS_STORAGE_DAYS`] days, newest day first, then by
/// stream.
fn recent_storage(mut parts: Vec<ferrodef_store::PartitionInfo>) -> Vec<serde_json::Value> {
    parts.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.stream.cmp(&b.stream)));
    let mut days: Vec<&str> = parts.iter().map(|p| p.day.as_str()).collect();
    days.dedup();
    let Some(oldest) = days.get(STATUS_STORAGE_DAYS.min(days.len()).saturating_sub(1)) else {
        return Vec::new();
    };
    let oldest = oldest.to_string();
    parts
        .into_iter()
        .filter(|p| p.day >= oldest)
        .map(|p| json!({ "stream": p.stream, "day": p.day, "docs": p.docs, "bytes": p.bytes }))
        .collect()
}

/// `GET /health`: open to load balancers, so only `status` for anonymous callers; the reasons
/// and counters for authenticated ones.
async fn health(
    axum::extract::State(s): axum::extract::State<Arc<AppState>>,
    who: Option<Extension<Principal>>,
) -> Response {
    let h = s.ingest.health();
    if who.is_some() {
        Json(h).into_response()
    } else {
        Json(json!({ "status": h.status })).into_response()
    }
}

async fn metrics(axum::extract::State(s): axum::extract::State<Arc<AppState>>) -> Response {
    // Sets the backlog and degraded gauges.
    let _ = s.ingest.health();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let mut text = s.metrics.render();
            if let Some(d) = &s.notify {
                // Both are complete Prometheus texts; the notification families follow.
                let extra = d.metrics().render();
                text = text.trim_end_matches("# EOF\n").to_string();
                text.push_str(&extra);
            }
            text
        },
    )
        .into_response()
}
