//! Alerts: `GET /api/alerts` (search the `alerts` stream with the query language, filter by
//! status, severity, category, rule), `GET /api/alerts/stream` (server-sent events: each new
//! alert as it is stored), `GET /api/alerts/{id}`, triage (`POST /api/alerts/{id}/status`,
//! `/assign`, `/comment`) and MozDef's `POST /alertstatus`.
//!
//! Alert documents are immutable; their triage state is a history of changes written as
//! documents of the `alert-status` stream through the ingest service (durable like events,
//! searchable, an audit trail of who did what and when) and folded into [`AlertBook`], which
//! is rebuilt from that stream at start.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use ferrodef_event::{format_timestamp, Alert, AlertStatus, ALERTS_STREAM};
use ferrodef_store::{SearchRequest, SortOrder, Store};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::{ApiError, AppState};

/// The stream of triage changes.
pub const ALERT_STATUS_STREAM: &str = "alert-status";

/// Most alerts one listing looks at (newest first) before status filtering.
const MAX_SCAN: usize = 10_000;

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Who wrote it.
    pub user: String,
    /// When.
    pub at: String,
    /// The text.
    pub text: String,
}

/// The triage state of one alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// Status.
    pub status: AlertStatus,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// Who changed it last.
    pub updated_by: Option<String>,
    /// When it was changed last.
    pub updated_at: Option<String>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
}

/// One triage change, as stored in the `alert-status` stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Change {
    /// Its number: changes are numbered in the order they are applied, so that the book is
    /// rebuilt in that order and a change read twice (at a page boundary) is applied once.
    /// 0 in records written before changes were numbered (applied in the order read).
    #[serde(default)]
    pub seq: u64,
    /// The alert.
    pub alert_id: String,
    /// When.
    pub utctimestamp: String,
    /// Who.
    pub user: String,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    /// New assignee (empty: unassigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Alerts announced lately, kept until the store surely has them searchable.
const RECENT: usize = 1024;

/// The triage state of every alert, and the live feed of new alerts.
pub struct AlertBook {
    states: RwLock<HashMap<String, AlertState>>,
    live: broadcast::Sender<Arc<Value>>,
    /// The latest alerts announced (at most [`RECENT`]): the store makes a stored alert
    /// searchable a moment after it is announced, and an analyst may open or triage it from
    /// the live feed before that.
    recent: parking_lot::Mutex<std::collections::VecDeque<Arc<Value>>>,
    /// The next change's number; held from numbering a change to applying it, so that
    /// numbers follow the order of application.
    writer: tokio::sync::Mutex<u64>,
}

impl Default for AlertBook {
    fn default() -> Self {
        AlertBook {
            states: RwLock::new(HashMap::new()),
            live: broadcast::channel(1024).0,
            recent: parking_lot::Mutex::new(std::collections::VecDeque::new()),
            writer: tokio::sync::Mutex::new(1),
        }
    }
}

impl AlertBook {
    /// Rebuilds the book from the `alert-status` stream of `store`: every change, in the
    /// order of its number (read in pages of the store's largest search).
    pub fn load(store: &dyn Store) -> AlertBook {
        let mut numbered = std::collections::BTreeMap::new();
        let mut unnumbered = Vec::new();
        let read = crate::history::read_stream(store, ALERT_STATUS_STREAM, |hit| {
            match serde_json::from_value::<Change>(hit) {
                Ok(c) if c.seq == 0 => unnumbered.push(c),
                Ok(c) => {
                    numbered.insert(c.seq, c);
                }
                Err(e) => tracing::warn!("an alert status record is unreadable: {e}"),
            }
        });
        if let Err(e) = read {
            tracing::warn!("alert statuses could not be read: {e}");
        }
        let book = AlertBook {
            writer: tokio::sync::Mutex::new(numbered.keys().next_back().map_or(1, |n| n + 1)),
            ..AlertBook::default()
        };
        for c in unnumbered.iter().chain(numbered.values()) {
            book.apply(c);
        }
        book
    }

    /// How many alerts have a triage state.
    pub fn len(&self) -> usize {
        self.states.read().len()
    }

    /// Whether no alert has one.
    pub fn is_empty(&self) -> bool {
        self.states.read().is_empty()
    }

    /// Folds a change into the state of its alert.
    pub fn apply(&self, c: &Change) {
        let mut states = self.states.write();
        let st = states.entry(c.alert_id.clone()).or_default();
        if let Some(s) = c.status {
            st.status = s;
        }
        if let Some(a) = &c.assignee {
            st.assignee = (!a.is_empty()).then(|| a.clone());
        }
        if let Some(text) = &c.comment {
            st.comments.push(Comment {
                user: c.user.clone(),
                at: c.utctimestamp.clone(),
                text: text.clone(),
            });
        }
        st.updated_by = Some(c.user.clone());
        st.updated_at = Some(c.utctimestamp.clone());
    }

    /// The state of an alert (open if nobody touched it).
    pub fn state(&self, id: &str) -> AlertState {
        self.states.read().get(id).cloned().unwrap_or_default()
    }

    /// Announces stored alerts to the live feed.
    pub fn publish(&self, alerts: &[Alert]) {
        for a in alerts {
            let v = Arc::new(a.to_value());
            {
                let mut recent = self.recent.lock();
                if recent.len() >= RECENT {
                    recent.pop_front();
                }
                recent.push_back(v.clone());
            }
            // Nobody listening is fine (and then no copy is made for the feed).
            if self.live.receiver_count() > 0 {
                let pushed = with_state((*v).clone(), &AlertState::default());
                let _ = self.live.send(Arc::new(pushed));
            }
        }
    }

    /// An alert announced lately, by id.
    pub fn recent(&self, id: &str) -> Option<Value> {
        self.recent
            .lock()
            .iter()
            .rev()
            .find(|a| a.get("id").and_then(Value::as_str) == Some(id))
            .map(|a| (**a).clone())
    }

    /// A receiver of new alerts.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Value>> {
        self.live.subscribe()
    }
}

/// An alert document with its triage state merged in.
fn with_state(mut alert: Value, st: &AlertState) -> Value {
    if let Value::Object(m) = &mut alert {
        m.insert("status".into(), json!(st.status));
        m.insert("assignee".into(), json!(st.assignee));
        m.insert("updated_by".into(), json!(st.updated_by));
        m.insert("updated_at".into(), json!(st.updated_at));
        m.insert("comments".into(), json!(st.comments));
    }
    alert
}

/// Parameters of `GET /api/alerts`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// A query over the alert documents.
    #[serde(default)]
    pub q: String,
    /// Only alerts with this status (`open`, `acknowledged`, `escalated`, `closed`).
    pub status: Option<String>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
    /// Lower time bound.
    pub from: Option<String>,
    /// Upper time bound.
    pub to: Option<String>,
    /// How many (default 100, at most 1000).
    pub size: Option<usize>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The query of a listing: `q` and the field filters, all required.
fn list_query(p: &ListParams) -> Result<ferrodef_query::Expr, ApiError> {
    use ferrodef_query::Expr;
    let mut parts = Vec::new();
    if !p.q.trim().is_empty() {
        let q = ferrodef_query::parse(&p.q).map_err(|e| {
            bad(format!("q: {e}"))
                .with("parameter", "q")
                .with("position", e.offset)
        })?;
        parts.push(q);
    }
    for (field, value) in [
        ("severity", &p.severity),
        ("category", &p.category),
        ("rule", &p.rule),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            let value = if field == "severity" {
                v.to_ascii_uppercase()
            } else {
                v.to_string()
            };
            parts.push(Expr::Term {
                field: Some(field.into()),
                value,
            });
        }
    }
    Ok(match parts.len() {
        0 => Expr::MatchAll,
        1 => parts.remove(0),
        _ => Expr::And(parts),
    })
}

fn time_param(name: &'static str, v: &Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            ferrodef_query::time::parse_time(s, Utc::now())
                .map_err(|e| bad(format!("{name}: {e}")).with("parameter", name))
        })
        .transpose()
}

/// `GET /api/alerts`.
pub async fn list(
    State(s): State<Arc<AppState>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let Query(p) = params.map_err(|e| bad(e.body_text()).into_response())?;
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            AlertStatus::parse(v)
                .ok_or_else(|| bad(format!("status: unknown status {v:?}")).into_response())?,
        ),
    };
    let size = p.size.unwrap_or(100).clamp(1, 1000);
    let req = SearchRequest {
        stream: ALERTS_STREAM.into(),
        query: list_query(&p).map_err(IntoResponse::into_response)?,
        from: time_param("from", &p.from).map_err(IntoResponse::into_response)?,
        to: time_param("to", &p.to).map_err(IntoResponse::into_response)?,
        size: if status.is_some() { MAX_SCAN } else { size },
        sort_field: "utctimestamp".into(),
        order: SortOrder::Desc,
        now: Utc::now(),
        budget: Default::default(),
    };
    let res = s.search.search(&s.store, req).await?;
    let book = &s.alerts;
    let mut total = res.total;
    let mut alerts: Vec<Value> = Vec::new();
    let mut matched = 0u64;
    for hit in res.hits {
        let id = hit.get("id").and_then(Value::as_str).unwrap_or_default();
        let st = book.state(id);
        if status.is_some_and(|want| want != st.status) {
            continue;
        }
        matched += 1;
        if alerts.len() < size {
            alerts.push(with_state(hit, &st));
        }
    }
    if status.is_some() {
        total = matched;
    }
    Ok(Json(json!({ "total": total, "alerts": alerts })).into_response())
}

/// Reads one alert document by id: `None` when there is none.
pub(crate) async fn lookup(s: &AppState, id: &str) -> Result<Option<Value>, Response> {
    let req = SearchRequest {
        stream: ALERTS_STREAM.into(),
        query: ferrodef_query::Expr::Term {
            field: Some("id".into()),
            value: id.to_string(),
        },
        from: None,
        to: None,
        size: 1,
        sort_field: "utctimestamp".into(),
        order: SortOrder::Desc,
        now: Utc::now(),
        budget: Default::default(),
    };
    let res = s.search.search(&s.store, req).await?;
    // Not searchable yet: an alert just announced.
    Ok(res.hits.into_iter().next().or_else(|| s.alerts.recent(id)))
}

/// Reads one alert document by id (404 when there is none).
async fn find(s: &AppState, id: &str) -> Result<Value, Response> {
    lookup(s, id).await?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, format!("no alert with id {id:?}")).into_response()
    })
}

/// `GET /api/alerts/{id}`.
pub async fn get_one(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let hit = find(&s, &id).await?;
    let mut v = with_state(hit, &s.alerts.state(&id));
    if let (Some(d), Value::Object(m)) = (&s.notify, &mut v) {
        m.insert("deliveries".into(), json!(d.deliveries(&id)));
    }
    Ok(Json(v).into_response())
}

/// Body of the triage endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct TriageBody {
    /// New status.
    pub status: Option<String>,
    /// New assignee (empty string: unassign).
    pub assignee: Option<String>,
    /// A comment (also `text`).
    #[serde(alias = "text")]
    pub comment: Option<String>,
}

/// Longest comment accepted.
const MAX_COMMENT: usize = 16 * 1024;

/// Writes a triage change durably, then applies it.
async fn record(
    s: &AppState,
    id: &str,
    user: &str,
    body: TriageBody,
) -> Result<Response, Response> {
    let status = match body.status.as_deref() {
        None => None,
        Some(v) => Some(AlertStatus::parse(v).ok_or_else(|| {
            bad(format!(
                "status: unknown status {v:?} (open, acknowledged, escalated, closed)"
            ))
            .into_response()
        })?),
    };
    if body.comment.as_ref().is_some_and(|c| c.len() > MAX_COMMENT) {
        return Err(bad(format!("comment: longer than {MAX_COMMENT} bytes")).into_response());
    }
    if status.is_none() && body.assignee.is_none() && body.comment.is_none() {
        return Err(bad("nothing to change: give status, assignee or comment").into_response());
    }
    find(s, id).await?;
    let mut next = s.alerts.writer.lock().await;
    let change = Change {
        seq: *next,
        alert_id: id.to_string(),
        utctimestamp: format_timestamp(&Utc::now()),
        user: user.to_string(),
        status,
        assignee: body.assignee,
        comment: body.comment,
    };
    let doc = crate::history::to_doc(&change);
    // The number is used up even if the write fails (it may be in the log).
    *next += 1;
    crate::history::write_records(&s.ingest, ALERT_STATUS_STREAM, vec![doc])
        .await
        .map_err(IntoResponse::into_response)?;
    s.alerts.apply(&change);
    drop(next);
    Ok(Json(json!({ "id": id, "state": s.alerts.state(id) })).into_response())
}

/// `POST /api/alerts/{id}/status`, `/assign`, `/comment`: one triage change.
pub async fn triage(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    body: Result<Json<TriageBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    let Json(body) = body.map_err(|e| bad(e.body_text()).into_response())?;
    record(&s, &id, &user.0, body).await
}

/// MozDef's `POST /alertstatus` body.
#[derive(Debug, Deserialize)]
pub struct MozdefStatus {
    /// The alert.
    pub alertid: String,
    /// The new status.
    pub status: String,
}

/// MozDef's `POST /alertstatus`.
pub async fn mozdef_status(
    State(s): State<Arc<AppState>>,
    user: crate::Actor,
    body: Result<Json<MozdefStatus>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    let Json(body) = body.map_err(|e| bad(e.body_text()).into_response())?;
    let triage = TriageBody {
        status: Some(body.status),
        ..Default::default()
    };
    record(&s, &body.alertid, &user.0, triage).await
}

/// `GET /api/alerts/stream`: each new alert as a server-sent event `alert` (`lagged` with the
/// number missed when the client reads too slowly).
pub async fn stream(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    let rx = s.alerts.subscribe();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let ev = match rx.recv().await {
            Ok(v) => SseEvent::default().event("alert").data(v.to_string()),
            Err(broadcast::error::RecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(json!({ "missed": n }).to_string()),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(ev), rx))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
