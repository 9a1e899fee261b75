//! Incidents: what analysts make of alerts. An incident has a title, a summary, a severity, a
//! status (`open` → `investigating` → `contained` → `closed`, see [`IncidentStatus::next`]),
//! an assignee, VERIS tags (`action.hacking.variety.Brute force`, checked against the
//! enumeration shipped in `data/veris.json`), linked alerts and notes (docs/incidents.md).
//!
//! Endpoints: `GET/POST /api/incidents`, `GET/PATCH /api/incidents/{id}`, `POST
//! /api/incidents/{id}/notes`, `/status`, `/tags`, `/alerts`, `/assign`, and `GET
//! /api/incidents/veris` (the tags accepted).
//!
//! Like alert triage and the lists, an incident is a history: each change (created, note
//! added, status changed, tags changed, alerts linked or unlinked, assigned, edited) is a
//! [`Record`] of the `incidents` stream written through the ingest service (durable,
//! searchable, an audit trail of who did what and when), folded into the [`IncidentBook`],
//! which is rebuilt from the stream at start. Records carry a sequence number: the book
//! applies them in that order, whatever the store's order of records written in the same
//! millisecond. Retention drops old records: an incident whose oldest needed record gets old
//! is written again whole (a snapshot record, see [`IncidentBook::refresh`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use ferrodef_event::{format_timestamp, Severity};
use ferrodef_ingest::IngestService;
use ferrodef_store::Store;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// The stream of incident records.
pub const INCIDENTS_STREAM: &str = "incidents";

/// Most incidents kept (bounded memory; a creation beyond it is refused).
pub const MAX_INCIDENTS: usize = 100_000;
/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest summary, in bytes.
pub const MAX_SUMMARY: usize = 8 * 1024;
/// Longest note, in bytes (as an alert comment).
pub const MAX_NOTE: usize = 16 * 1024;
/// Most tags on one incident.
pub const MAX_TAGS: usize = 50;
/// Most alerts linked to one incident.
pub const MAX_ALERTS: usize = 1000;
/// Most alerts one request links or unlinks.
pub const MAX_ALERTS_PER_REQUEST: usize = 100;
/// Most records (changes) of one incident.
pub const MAX_RECORDS: usize = 5000;
/// Longest assignee name, in bytes.
pub const MAX_ASSIGNEE: usize = 128;
/// Incidents listed by default, and at most.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;
/// Who writes the snapshot records.
const SYSTEM_USER: &str = "ferrodef";

// ---- the model ----

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Declared, nobody works on it yet.
    #[default]
    Open,
    /// Someone is finding out what happened.
    Investigating,
    /// The damage is stopped (hosts isolated, accounts locked); clean-up may go on.
    Contained,
    /// Done (how it ended: the closing note).
    Closed,
}

impl IncidentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Open,
        IncidentStatus::Investigating,
        IncidentStatus::Contained,
        IncidentStatus::Closed,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Closed => "closed",
        }
    }

    /// Reads a status name (case-insensitive).
    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The statuses an incident in this one may move to: forward through the lifecycle
    /// (a step may be skipped), back from `contained` to `investigating` when containment
    /// did not hold, and from `closed` to `investigating` (reopened). Nothing returns to
    /// `open`: once someone has worked on an incident it is not new any more.
    pub fn next(self) -> &'static [IncidentStatus] {
        use IncidentStatus::{Closed, Contained, Investigating};
        match self {
            IncidentStatus::Open => &[Investigating, Contained, Closed],
            Investigating => &[Contained, Closed],
            Contained => &[Investigating, Closed],
            Closed => &[Investigating],
        }
    }
}

/// An alert as an incident keeps it: enough to show it once the alert itself is gone from
/// the store (alerts follow the retention of events; incidents are kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRef {
    /// The alert's id.
    pub id: String,
    /// When it fired.
    #[serde(default)]
    pub utctimestamp: String,
    /// Its severity.
    #[serde(default)]
    pub severity: String,
    /// Its summary.
    #[serde(default)]
    pub summary: String,
    /// Its category.
    #[serde(default)]
    pub category: String,
    /// Its rule.
    #[serde(default)]
    pub rule: String,
    /// What it is about (source address, user…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// How many events fed it.
    #[serde(default)]
    pub count: u64,
}

impl AlertRef {
    /// The reference of an alert document.
    fn of(alert: &Value) -> AlertRef {
        let s = |k: &str| {
            alert
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        AlertRef {
            id: s("id"),
            utctimestamp: s("utctimestamp"),
            severity: s("severity"),
            summary: s("summary"),
            category: s("category"),
            rule: s("rule"),
            key: alert.get("key").and_then(Value::as_str).map(str::to_string),
            count: alert.get("count").and_then(Value::as_u64).unwrap_or(0),
        }
    }
}

/// An alert linked to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedAlert {
    /// The alert.
    #[serde(flatten)]
    pub alert: AlertRef,
    /// When it was linked.
    pub linked_at: String,
    /// By whom.
    pub linked_by: String,
}

/// The state of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `INC-<n>`, numbered from 1.
    pub id: String,
    /// One line.
    pub title: String,
    /// What is known.
    pub summary: String,
    /// How bad (MozDef's severities).
    pub severity: Severity,
    /// Where it stands.
    pub status: IncidentStatus,
    /// Who works on it.
    pub assignee: Option<String>,
    /// VERIS tags, in the order added.
    pub tags: Vec<String>,
    /// Linked alerts, in the order linked.
    pub alerts: Vec<LinkedAlert>,
    /// How many notes it has.
    pub notes: usize,
    /// When it was created.
    pub created: String,
    /// By whom.
    pub created_by: String,
    /// When it last changed.
    pub updated: String,
    /// By whom.
    pub updated_by: String,
    /// When it was (last) contained.
    pub contained_at: Option<String>,
    /// When it was (last) closed.
    pub closed_at: Option<String>,
}

/// What a record does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The incident is declared.
    Created {
        /// Title.
        title: String,
        /// Summary.
        summary: String,
        /// Severity.
        severity: Severity,
        /// Tags given at creation.
        #[serde(default)]
        tags: Vec<String>,
        /// Alerts it was made from.
        #[serde(default)]
        alerts: Vec<AlertRef>,
        /// Assignee given at creation.
        #[serde(default)]
        assignee: Option<String>,
    },
    /// A note.
    Note {
        /// Its text.
        text: String,
    },
    /// A status change.
    Status {
        /// The status before.
        from: IncidentStatus,
        /// The status after.
        to: IncidentStatus,
        /// Why (required when closing).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Tags added and removed.
    Tags {
        /// Added.
        #[serde(default)]
        added: Vec<String>,
        /// Removed.
        #[serde(default)]
        removed: Vec<String>,
    },
    /// Alerts linked.
    AlertsLinked {
        /// The alerts.
        alerts: Vec<AlertRef>,
    },
    /// Alerts unlinked.
    AlertsUnlinked {
        /// The alerts.
        alerts: Vec<AlertRef>,
    },
    /// Assigned (or unassigned: no assignee).
    Assigned {
        /// The new assignee.
        assignee: Option<String>,
        /// The one before.
        #[serde(default)]
        previous: Option<String>,
    },
    /// Title, summary or severity edited (only what changed is set).
    Edited {
        /// New title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// New summary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
        /// New severity.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
    },
    /// The whole incident and its history, written again before retention drops its
    /// oldest records (not a change: left out of the timeline).
    Snapshot {
        /// The state (not `incident`: the record's own field names the incident).
        state: Box<Incident>,
        /// Its records.
        history: Vec<Record>,
    },
}

/// One record of the `incidents` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The incident.
    pub incident: String,
    /// Order of application (increasing over the whole stream).
    pub seq: u64,
    /// When.
    pub utctimestamp: String,
    /// Who.
    pub user: String,
    /// What.
    #[serde(flatten)]
    pub change: Change,
}

/// An incident in the book: its state, its records, and when the oldest record it needs was
/// written (creation or latest snapshot).
struct Entry {
    incident: Incident,
    history: Vec<Record>,
    base: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    incidents: HashMap<String, Entry>,
    next_seq: u64,
    next_number: u64,
}

fn time_of(ts: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn number_of(id: &str) -> Option<u64> {
    id.strip_prefix("INC-")?.parse().ok()
}

impl Inner {
    fn apply(&mut self, r: &Record) {
        self.next_seq = self.next_seq.max(r.seq + 1);
        if let Some(n) = number_of(&r.incident) {
            self.next_number = self.next_number.max(n + 1);
        }
        let at = time_of(&r.utctimestamp).unwrap_or_else(Utc::now);
        match &r.change {
            Change::Created {
                title,
                summary,
                severity,
                tags,
                alerts,
                assignee,
            } => {
                let incident = Incident {
                    id: r.incident.clone(),
                    title: title.clone(),
                    summary: summary.clone(),
                    severity: *severity,
                    status: IncidentStatus::Open,
                    assignee: assignee.clone(),
                    tags: tags.clone(),
                    alerts: alerts
                        .iter()
                        .map(|a| LinkedAlert {
                            alert: a.clone(),
                            linked_at: r.utctimestamp.clone(),
                            linked_by: r.user.clone(),
                        })
                        .collect(),
                    notes: 0,
                    created: r.utctimestamp.clone(),
                    created_by: r.user.clone(),
                    updated: r.utctimestamp.clone(),
                    updated_by: r.user.clone(),
                    contained_at: None,
                    closed_at: None,
                };
                self.incidents.insert(
                    r.incident.clone(),
                    Entry {
                        incident,
                        history: vec![r.clone()],
                        base: at,
                    },
                );
                return;
            }
            Change::Snapshot { state, history } => {
                self.incidents.insert(
                    r.incident.clone(),
                    Entry {
                        incident: (**state).clone(),
                        history: history.clone(),
                        base: at,
                    },
                );
                return;
            }
            _ => {}
        }
        let Some(e) = self.incidents.get_mut(&r.incident) else {
            tracing::warn!(
                incident = %r.incident,
                seq = r.seq,
                "an incident record names an incident that does not exist"
            );
            return;
        };
        let inc = &mut e.incident;
        match &r.change {
            Change::Created { .. } | Change::Snapshot { .. } => {}
            Change::Note { .. } => inc.notes += 1,
            Change::Status { to, .. } => {
                inc.status = *to;
                match to {
                    IncidentStatus::Contained => inc.contained_at = Some(r.utctimestamp.clone()),
                    IncidentStatus::Closed => inc.closed_at = Some(r.utctimestamp.clone()),
                    _ => {}
                }
            }
            Change::Tags { added, removed } => {
                inc.tags.retain(|t| !removed.contains(t));
                for t in added {
                    if !inc.tags.contains(t) {
                        inc.tags.push(t.clone());
                    }
                }
            }
            Change::AlertsLinked { alerts } => {
                for a in alerts {
                    if !inc.alerts.iter().any(|l| l.alert.id == a.id) {
                        inc.alerts.push(LinkedAlert {
                            alert: a.clone(),
                            linked_at: r.utctimestamp.clone(),
                            linked_by: r.user.clone(),
                        });
                    }
                }
            }
            Change::AlertsUnlinked { alerts } => {
                inc.alerts
                    .retain(|l| !alerts.iter().any(|a| a.id == l.alert.id));
            }
            Change::Assigned { assignee, .. } => inc.assignee = assignee.clone(),
            Change::Edited {
                title,
                summary,
                severity,
            } => {
                if let Some(t) = title {
                    inc.title = t.clone();
                }
                if let Some(s) = summary {
                    inc.summary = s.clone();
                }
                if let Some(s) = severity {
                    inc.severity = *s;
                }
            }
        }
        inc.updated = r.utctimestamp.clone();
        inc.updated_by = r.user.clone();
        e.history.push(r.clone());
    }
}

/// Every incident, and the one writer of their records.
#[derive(Default)]
pub struct IncidentBook {
    inner: RwLock<Inner>,
    /// Held from the check of a change to its application: records are numbered, checked
    /// against the state and applied in one order.
    writer: tokio::sync::Mutex<()>,
}

impl IncidentBook {
    /// Rebuilds the book from the `incidents` stream of `store`.
    pub fn load(store: &dyn Store) -> IncidentBook {
        let mut records = BTreeMap::new();
        let read = crate::history::read_stream(store, INCIDENTS_STREAM, |hit| {
            match serde_json::from_value::<Record>(hit) {
                // Records at a page boundary are read twice: the sequence number keeps one.
                Ok(r) => {
                    records.insert(r.seq, r);
                }
                Err(e) => tracing::warn!("an incident record is unreadable: {e}"),
            }
        });
        if let Err(e) = read {
            tracing::warn!("incidents could not be read: {e}");
        }
        let mut inner = Inner {
            next_number: 1,
            ..Default::default()
        };
        for r in records.values() {
            inner.apply(r);
        }
        IncidentBook {
            inner: RwLock::new(inner),
            writer: Default::default(),
        }
    }

    /// How many incidents there are.
    pub fn len(&self) -> usize {
        self.inner.read().incidents.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An incident's state.
    pub fn get(&self, id: &str) -> Option<Incident> {
        self.inner
            .read()
            .incidents
            .get(id)
            .map(|e| e.incident.clone())
    }

    /// Checks a change against the current state (`check` answers the incident and the
    /// change, or nothing to do), then writes it durably and applies it. Answers the record
    /// written, if any.
    async fn change(
        &self,
        ingest: &IngestService,
        user: &str,
        check: impl FnOnce(&Inner) -> Result<Option<(String, Change)>, ApiError>,
    ) -> Result<Option<Record>, ApiError> {
        let _writing = self.writer.lock().await;
        let record = {
            let inner = self.inner.read();
            let Some((incident, change)) = check(&inner)? else {
                return Ok(None);
            };
            if let Some(e) = inner.incidents.get(&incident) {
                if e.history.len() >= MAX_RECORDS {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        format!(
                            "{incident} has {MAX_RECORDS} records, the most one incident may have"
                        ),
                    ));
                }
            }
            Record {
                incident,
                seq: inner.next_seq,
                utctimestamp: format_timestamp(&Utc::now()),
                user: user.to_string(),
                change,
            }
        };
        {
            // The sequence number and the incident's number are used up even if the write
            // fails: a failed write may still have reached the log (a failed fsync), and two
            // records must never share a number.
            let mut inner = self.inner.write();
            inner.next_seq = inner.next_seq.max(record.seq + 1);
            if let Some(n) = number_of(&record.incident) {
                inner.next_number = inner.next_number.max(n + 1);
            }
        }
        let doc = crate::history::to_doc(&record);
        crate::history::write_records(ingest, INCIDENTS_STREAM, vec![doc]).await?;
        self.inner.write().apply(&record);
        Ok(Some(record))
    }

    /// Writes again, whole, every incident whose oldest needed record is older than `age`
    /// (retention would drop it); answers how many.
    pub async fn refresh(&self, ingest: &IngestService, age: Duration) -> Result<usize, String> {
        let _writing = self.writer.lock().await;
        let now = Utc::now();
        let records: Vec<Record> = {
            let inner = self.inner.read();
            let mut stale: Vec<&Entry> = inner
                .incidents
                .values()
                .filter(|e| e.base < now - age)
                .collect();
            stale.sort_by(|a, b| a.incident.id.cmp(&b.incident.id));
            stale
                .into_iter()
                .zip(inner.next_seq..)
                .map(|(e, seq)| Record {
                    incident: e.incident.id.clone(),
                    seq,
                    utctimestamp: format_timestamp(&now),
                    user: SYSTEM_USER.into(),
                    change: Change::Snapshot {
                        state: Box::new(e.incident.clone()),
                        history: e.history.clone(),
                    },
                })
                .collect()
        };
        if let Some(last) = records.last() {
            let mut inner = self.inner.write();
            inner.next_seq = inner.next_seq.max(last.seq + 1);
        }
        for chunk in records.chunks(100) {
            let docs = chunk.iter().map(crate::history::to_doc).collect();
            crate::history::write_records(ingest, INCIDENTS_STREAM, docs)
                .await
                .map_err(|e| format!("incidents: {}", e.message()))?;
            let mut inner = self.inner.write();
            for r in chunk {
                inner.apply(r);
            }
        }
        Ok(records.len())
    }
}

// ---- VERIS ----

/// The VERIS enumeration subset shipped (CC BY-SA 4.0, from vz-risk/veris).
pub const VERIS_JSON: &str = include_str!("../data/veris.json");

#[derive(Deserialize)]
struct VerisFile {
    categories: BTreeMap<String, String>,
    enumerations: Vec<VerisEnum>,
}

#[derive(Deserialize)]
struct VerisEnum {
    path: String,
    values: Vec<VerisValue>,
}

#[derive(Deserialize)]
struct VerisValue {
    value: String,
}

/// The tags accepted: every category (`actor.external`) and every enumerated value under its
/// path (`action.hacking.variety.Brute force`).
pub struct Veris {
    tags: HashSet<String>,
    /// Lower-case tag to tag, for suggestions.
    folded: HashMap<String, String>,
    paths: HashSet<String>,
}

impl Veris {
    fn parse(text: &str) -> Result<Veris, serde_json::Error> {
        let file: VerisFile = serde_json::from_str(text)?;
        let mut tags: HashSet<String> = file.categories.keys().cloned().collect();
        let mut paths = HashSet::new();
        for e in &file.enumerations {
            paths.insert(e.path.clone());
            for v in &e.values {
                tags.insert(format!("{}.{}", e.path, v.value));
            }
        }
        let folded = tags.iter().map(|t| (t.to_lowercase(), t.clone())).collect();
        Ok(Veris {
            tags,
            folded,
            paths,
        })
    }

    /// The shipped enumeration.
    pub fn get() -> &'static Veris {
        static VERIS: OnceLock<Veris> = OnceLock::new();
        VERIS.get_or_init(|| {
            Veris::parse(VERIS_JSON).unwrap_or_else(|e| {
                // A test parses the file: this does not happen in a build that passed them.
                tracing::error!("data/veris.json is unreadable: {e}");
                Veris {
                    tags: HashSet::new(),
                    folded: HashMap::new(),
                    paths: HashSet::new(),
                }
            })
        })
    }

    /// Whether `tag` is known.
    pub fn knows(&self, tag: &str) -> bool {
        self.tags.contains(tag)
    }

    /// Why `tag` is refused, with the tag meant when only its case differs.
    fn refusal(&self, tag: &str) -> ApiError {
        let mut msg = format!("tags: unknown VERIS tag {tag:?}");
        let suggestion = self.folded.get(&tag.to_lowercase());
        if let Some(s) = suggestion {
            msg.push_str(&format!(" (did you mean {s:?}?)"));
        } else if let Some((path, value)) = tag.rsplit_once('.') {
            if self.paths.contains(path) {
                msg.push_str(&format!(" ({path} has no value {value:?})"));
            }
        }
        msg.push_str("; GET /api/incidents/veris lists the tags accepted");
        let mut err = bad_field("tags", msg).with("tag", tag);
        if let Some(s) = suggestion {
            err = err.with("suggestion", s.as_str());
        }
        err
    }
}

// ---- checks ----

fn bad_field(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message).with("field", field)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no incident with id {id:?}"))
}

fn body<T>(b: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

fn check_title(t: &str) -> Result<String, ApiError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(bad_field("title", "title: empty"));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(bad_field(
            "title",
            format!("title: longer than {MAX_TITLE} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(bad_field(
            "title",
            "title: one line, without control characters",
        ));
    }
    Ok(t.to_string())
}

fn check_text(field: &str, t: &str, max: usize, empty_ok: bool) -> Result<String, ApiError> {
    let t = t.trim();
    if t.is_empty() && !empty_ok {
        return Err(bad_field(field, format!("{field}: empty")));
    }
    if t.len() > max {
        return Err(bad_field(
            field,
            format!("{field}: longer than {max} bytes ({} bytes)", t.len()),
        ));
    }
    Ok(t.to_string())
}

fn check_severity(s: &str) -> Result<Severity, ApiError> {
    Severity::parse(s).ok_or_else(|| {
        bad_field(
            "severity",
            format!("severity: unknown severity {s:?} (DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY)"),
        )
    })
}

fn check_assignee(a: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(a) = a.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if a.len() > MAX_ASSIGNEE {
        return Err(bad_field(
            "assignee",
            format!("assignee: longer than {MAX_ASSIGNEE} bytes"),
        ));
    }
    if a.chars().any(char::is_control) {
        return Err(bad_field("assignee", "assignee: control characters"));
    }
    Ok(Some(a.to_string()))
}

/// Checks tags to add (known, at most [`MAX_TAGS`]); answers them trimmed, without repeats.
fn check_tags(tags: &[String]) -> Result<Vec<String>, ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(bad_field(
            "tags",
            format!(
                "tags: {} given, at most {MAX_TAGS} per incident",
                tags.len()
            ),
        ));
    }
    let veris = Veris::get();
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if !veris.knows(t) {
            return Err(veris.refusal(t));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// Checks alert ids (at most [`MAX_ALERTS_PER_REQUEST`], not empty) and reads each alert.
async fn read_alerts(s: &AppState, field: &str, ids: &[String]) -> Result<Vec<AlertRef>, Response> {
    if ids.len() > MAX_ALERTS_PER_REQUEST {
        return Err(bad_field(
            field,
            format!(
                "{field}: {} alerts given, at most {MAX_ALERTS_PER_REQUEST} per request",
                ids.len()
            ),
        )
        .into_response());
    }
    let mut out: Vec<AlertRef> = Vec::new();
    for id in ids {
        let id = id.trim();
        if out.iter().any(|a| a.id == id) {
            continue;
        }
        if id.is_empty() || id.len() > 256 {
            return Err(bad_field(field, format!("{field}: bad alert id {id:?}")).into_response());
        }
        match crate::alerts::lookup(s, id).await? {
            Some(a) => out.push(AlertRef::of(&a)),
            None => {
                return Err(
                    bad_field(field, format!("{field}: no alert with id {id:?}"))
                        .with("alert", id)
                        .into_response(),
                )
            }
        }
    }
    Ok(out)
}

fn entry<'a>(inner: &'a Inner, id: &str) -> Result<&'a Entry, ApiError> {
    inner.incidents.get(id).ok_or_else(|| not_found(id))
}

// ---- views ----

/// An incident as listed: its alerts counted, not listed.
fn brief(i: &Incident) -> Value {
    let mut v = serde_json::to_value(i).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("alerts");
        m.insert("alert_count".into(), json!(i.alerts.len()));
    }
    v
}

/// An incident whole, its alerts with their current triage status.
fn full(s: &AppState, i: &Incident) -> Value {
    let mut v = serde_json::to_value(i).unwrap_or(Value::Null);
    if let Some(Value::Array(alerts)) = v.get_mut("alerts") {
        for a in alerts.iter_mut() {
            let id = a.get("id").and_then(Value::as_str).unwrap_or_default();
            let status = s.alerts.state(id).status;
            if let Value::Object(m) = a {
                m.insert("status".into(), json!(status));
            }
        }
    }
    v
}

/// The timeline: the incident's records and its linked alerts (at their firing time), oldest
/// first.
fn timeline(e: &Entry) -> Vec<Value> {
    let mut items: Vec<(Option<DateTime<Utc>>, Value)> = e
        .history
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.remove("incident");
            }
            (time_of(&r.utctimestamp), v)
        })
        .collect();
    for a in &e.incident.alerts {
        items.push((
            time_of(&a.alert.utctimestamp),
            json!({
                "kind": "alert",
                "utctimestamp": a.alert.utctimestamp,
                "alert": a.alert,
            }),
        ));
    }
    // Stable: records keep their order among equal times.
    items.sort_by_key(|(t, _)| *t);
    items.into_iter().map(|(_, v)| v).collect()
}

fn changed(s: &AppState, record: Option<Record>, id: &str, status: StatusCode) -> Response {
    let incident = s.incidents.get(id);
    let v = json!({
        "incident": incident.as_ref().map(|i| full(s, i)),
        "record": record,
    });
    (status, Json(v)).into_response()
}

// ---- handlers ----

/// Parameters of `GET /api/incidents`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Only these statuses (comma-separated).
    pub status: Option<String>,
    /// Words to find (case-insensitive) in the id, title, summary, assignee, tags, notes and
    /// linked alerts.
    pub q: Option<String>,
    /// Only incidents with this tag, or a tag under it (`action.hacking`); comma-separated:
    /// all of them.
    pub tag: Option<String>,
    /// Only incidents assigned to this user.
    pub assignee: Option<String>,
    /// Only incidents linking this alert.
    pub alert: Option<String>,
    /// Order: `updated` (default), `created`, `severity` (all newest or worst first).
    pub sort: Option<String>,
    /// How many to skip.
    pub offset: Option<usize>,
    /// How many (default 50, at most 500).
    pub size: Option<usize>,
}

fn has_tag(i: &Incident, want: &str) -> bool {
    i.tags.iter().any(|t| {
        t == want
            || t.strip_prefix(want)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

fn matches_text(e: &Entry, words: &[String]) -> bool {
    let i = &e.incident;
    words.iter().all(|w| {
        let has = |s: &str| s.to_lowercase().contains(w.as_str());
        has(&i.id)
            || has(&i.title)
            || has(&i.summary)
            || i.assignee.as_deref().is_some_and(has)
            || i.tags.iter().any(|t| has(t))
            || i.alerts.iter().any(|a| {
                has(&a.alert.id) || has(&a.alert.summary) || a.alert.key.as_deref().is_some_and(has)
            })
            || e.history.iter().any(|r| match &r.change {
                Change::Note { text } => has(text),
                Change::Status { note: Some(n), .. } => has(n),
                _ => false,
            })
    })
}

/// `GET /api/incidents`.
pub async fn list(
    State(s): State<Arc<AppState>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let mut statuses = Vec::new();
    for v in p.status.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if v.is_empty() {
            continue;
        }
        statuses.push(IncidentStatus::parse(v).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("status: unknown status {v:?} (open, investigating, contained, closed)"),
            )
            .with("parameter", "status")
        })?);
    }
    let tags: Vec<&str> = p
        .tag
        .iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let words: Vec<String> =
        p.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
    let sort = p.sort.as_deref().unwrap_or("updated");
    if !["updated", "created", "severity"].contains(&sort) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("sort: unknown order {sort:?} (updated, created, severity)"),
        )
        .with("parameter", "sort"));
    }
    let size = p.size.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let offset = p.offset.unwrap_or(0);
    let inner = s.incidents.inner.read();
    // Every filter but the status: the counts per status are of these.
    let candidates: Vec<&Entry> = inner
        .incidents
        .values()
        .filter(|e| tags.iter().all(|t| has_tag(&e.incident, t)))
        .filter(|e| {
            p.assignee
                .as_deref()
                .filter(|a| !a.is_empty())
                .is_none_or(|a| e.incident.assignee.as_deref() == Some(a))
        })
        .filter(|e| {
            p.alert
                .as_deref()
                .filter(|a| !a.is_empty())
                .is_none_or(|a| e.incident.alerts.iter().any(|l| l.alert.id == a))
        })
        .filter(|e| words.is_empty() || matches_text(e, &words))
        .collect();
    let mut counts: BTreeMap<&str, usize> = IncidentStatus::ALL
        .iter()
        .map(|st| (st.as_str(), 0))
        .collect();
    for e in &candidates {
        *counts.entry(e.incident.status.as_str()).or_default() += 1;
    }
    let mut found: Vec<&Incident> = candidates
        .into_iter()
        .map(|e| &e.incident)
        .filter(|i| statuses.is_empty() || statuses.contains(&i.status))
        .collect();
    let time = |t: &str| time_of(t).unwrap_or_default();
    match sort {
        "created" => found.sort_by_key(|i| std::cmp::Reverse((time(&i.created), number_of(&i.id)))),
        "severity" => found.sort_by_key(|i| std::cmp::Reverse((i.severity, time(&i.updated)))),
        _ => found.sort_by_key(|i| std::cmp::Reverse((time(&i.updated), number_of(&i.id)))),
    }
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(offset)
        .take(size)
        .map(brief)
        .collect();
    Ok(Json(json!({
        "total": total,
        "offset": offset,
        "counts": counts,
        "incidents": page,
    }))
    .into_response())
}

/// `GET /api/incidents/{id}`: the incident, its alerts (with their triage status) and its
/// timeline.
pub async fn get_one(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let inner = s.incidents.inner.read();
    let e = entry(&inner, &id)?;
    Ok(Json(json!({
        "incident": full(&s, &e.incident),
        "timeline": timeline(e),
        "next": e.incident.status.next(),
    }))
    .into_response())
}

/// `GET /api/incidents/veris`: the VERIS tags accepted.
pub async fn veris() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], VERIS_JSON).into_response()
}

/// Body of `POST /api/incidents`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Title (default: the first alert's summary).
    pub title: Option<String>,
    /// Summary (default: what the alerts say).
    pub summary: Option<String>,
    /// Severity (default: the highest of the alerts', else WARNING).
    pub severity: Option<String>,
    /// Alerts to link.
    #[serde(default)]
    pub alerts: Vec<String>,
    /// VERIS tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Assignee.
    pub assignee: Option<String>,
}

/// The summary of an incident made from alerts.
fn alerts_summary(alerts: &[AlertRef]) -> String {
    let mut lines: Vec<String> = alerts
        .iter()
        .take(20)
        .map(|a| {
            let at = time_of(&a.utctimestamp).map_or_else(
                || a.utctimestamp.clone(),
                |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            );
            let mut l = format!("- {at} {} {}", a.severity, a.summary);
            if !a.rule.is_empty() {
                l.push_str(&format!(" (rule {})", a.rule));
            }
            l
        })
        .collect();
    if alerts.len() > 20 {
        lines.push(format!("- and {} more", alerts.len() - 20));
    }
    let mut s = format!(
        "Created from {} alert{}:\n{}",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" },
        lines.join("\n")
    );
    if s.len() > MAX_SUMMARY {
        let mut cut = MAX_SUMMARY;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// What a new incident is: title, summary, severity, tags, assignee.
type NewIncident = (String, String, Severity, Vec<String>, Option<String>);

/// Checks a creation; what the body leaves out comes from the alerts.
fn check_create(b: &CreateBody, alerts: &[AlertRef]) -> Result<NewIncident, ApiError> {
    let title = match (&b.title, alerts.first()) {
        (Some(t), _) => check_title(t)?,
        (None, Some(a)) => {
            let t: String = a.summary.trim().chars().take(MAX_TITLE).collect();
            check_title(&t)?
        }
        (None, None) => {
            return Err(bad_field(
                "title",
                "title: missing (give a title, or alerts to make the incident from)",
            ))
        }
    };
    let summary = match &b.summary {
        Some(t) => check_text("summary", t, MAX_SUMMARY, true)?,
        None if !alerts.is_empty() => alerts_summary(alerts),
        None => String::new(),
    };
    let severity = match &b.severity {
        Some(v) => check_severity(v)?,
        None => alerts
            .iter()
            .filter_map(|a| Severity::parse(&a.severity))
            .max()
            .unwrap_or(Severity::Warning),
    };
    Ok((
        title,
        summary,
        severity,
        check_tags(&b.tags)?,
        check_assignee(b.assignee.as_deref())?,
    ))
}

/// `POST /api/incidents`.
pub async fn create(
    State(s): State<Arc<AppState>>,
    user: crate::Actor,
    b: Result<Json<CreateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    let b = body(b).map_err(IntoResponse::into_response)?;
    let alerts = read_alerts(&s, "alerts", &b.alerts).await?;
    let (title, summary, severity, tags, assignee) =
        check_create(&b, &alerts).map_err(IntoResponse::into_response)?;
    let record = s
        .incidents
        .change(&s.ingest, &user.0, |inner| {
            if inner.incidents.len() >= MAX_INCIDENTS {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("there are {MAX_INCIDENTS} incidents, the most ferrodef keeps"),
                ));
            }
            Ok(Some((
                format!("INC-{}", inner.next_number),
                Change::Created {
                    title,
                    summary,
                    severity,
                    tags,
                    alerts,
                    assignee,
                },
            )))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    let id = record
        .as_ref()
        .map(|r| r.incident.clone())
        .unwrap_or_default();
    let mut resp = changed(&s, record, &id, StatusCode::CREATED);
    if let Ok(v) = header::HeaderValue::from_str(&format!("/api/incidents/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Body of `PATCH /api/incidents/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// New title.
    pub title: Option<String>,
    /// New summary.
    pub summary: Option<String>,
    /// New severity.
    pub severity: Option<String>,
}

/// `PATCH /api/incidents/{id}`: title, summary, severity.
pub async fn edit(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    b: Result<Json<EditBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    if b.title.is_none() && b.summary.is_none() && b.severity.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "nothing to change: give title, summary or severity",
        ));
    }
    let title = b.title.as_deref().map(check_title).transpose()?;
    let summary = b
        .summary
        .as_deref()
        .map(|t| check_text("summary", t, MAX_SUMMARY, true))
        .transpose()?;
    let severity = b.severity.as_deref().map(check_severity).transpose()?;
    let record = s
        .incidents
        .change(&s.ingest, &user.0, |inner| {
            let i = &entry(inner, &id)?.incident;
            let change = Change::Edited {
                title: title.filter(|t| *t != i.title),
                summary: summary.filter(|t| *t != i.summary),
                severity: severity.filter(|t| *t != i.severity),
            };
            Ok(match &change {
                Change::Edited {
                    title: None,
                    summary: None,
                    severity: None,
                } => None,
                _ => Some((id.clone(), change)),
            })
        })
        .await?;
    Ok(changed(&s, record, &id, StatusCode::OK))
}

/// Body of `POST /api/incidents/{id}/notes`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// The note (also `note`).
    #[serde(alias = "note")]
    pub text: Option<String>,
}

/// `POST /api/incidents/{id}/notes`.
pub async fn add_note(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    b: Result<Json<NoteBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let text = check_text("text", b.text.as_deref().unwrap_or(""), MAX_NOTE, false)?;
    let record = s
        .incidents
        .change(&s.ingest, &user.0, |inner| {
            entry(inner, &id)?;
            Ok(Some((id.clone(), Change::Note { text })))
        })
        .await?;
    Ok(changed(&s, record, &id, StatusCode::CREATED))
}

/// Body of `POST /api/incidents/{id}/status`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// The new status.
    pub status: Option<String>,
    /// Why (required to close).
    #[serde(alias = "comment")]
    pub note: Option<String>,
}

/// `POST /api/incidents/{id}/status`.
pub async fn set_status(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    b: Result<Json<StatusBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let Some(v) = b.status.as_deref() else {
        return Err(bad_field("status", "status: missing"));
    };
    let to = IncidentStatus::parse(v).ok_or_else(|| {
        bad_field(
            "status",
            format!("status: unknown status {v:?} (open, investigating, contained, closed)"),
        )
    })?;
    let note = b
        .note
        .as_deref()
        .map(|n| check_text("note", n, MAX_NOTE, true))
        .transpose()?
        .filter(|n| !n.is_empty());
    if to == IncidentStatus::Closed && note.is_none() {
        return Err(bad_field(
            "note",
            "note: closing an incident needs a note saying how it ended",
        ));
    }
    let record = s
        .incidents
        .change(&s.ingest, &user.0, |inner| {
            let from = entry(inner, &id)?.incident.status;
            if !from.next().contains(&to) {
                let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "status: {id} is {}; it can become {}",
                        from.as_str(),
                        allowed.join(" or ")
                    ),
                )
                .with("field", "status")
                .with("allowed", allowed));
            }
            Ok(Some((id.clone(), Change::Status { from, to, note })))
        })
        .await?;
    Ok(changed(&s, record, &id, StatusCode::OK))
}

/// Body of `POST /api/incidents/{id}/tags`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagsBody {
    /// Tags to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `POST /api/incidents/{id}/tags`.
pub async fn set_tags(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    b: Result<Json<TagsBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    if b.add.is_empty() && b.remove.is_empty() {
        return Err(bad_field("add", "nothing to change: give add or remove"));
    }
    let add = check_tags(&b.add)?;
    if b.remove.len() > MAX_TAGS {
        return Err(bad_field(
            "remove",
            format!("remove: {} given, at most {MAX_TAGS}", b.remove.len()),
        ));
    }
    let remove: Vec<String> = b.remove.iter().map(|t| t.trim().to_string()).collect();
    let record = s
        .incidents
        .change(&s.ingest, &user.0, |inner| {
            let i = &entry(inner, &id)?.incident;
            let removed: Vec<String> = i
                .tags
                .iter()
                .filter(|t| remove.contains(*t))
                .cloned()
                .collect();
            if let Some(t) = add.iter().find(|t| remove.contains(*t)) {
                return Err(bad_field("add", format!("add: {t:?} is also in remove")));
            }
            let added: Vec<String> = add.into_iter().filter(|t| !i.tags.contains(t)).collect();
            let after = i.tags.len() - removed.len() + added.len();
            if after > MAX_TAGS {
                return Err(bad_field(
                    "add",
                    format!("add: {id} would have {after} tags, at most {MAX_TAGS}"),
                ));
            }
            Ok((!added.is_empty() || !removed.is_empty())
                .then(|| (id.clone(), Change::Tags { added, removed })))
        })
        .await?;
    Ok(changed(&s, record, &id, StatusCode::OK))
}

/// Body of `POST /api/incidents/{id}/alerts`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsBody {
    /// Alerts to link.
    #[serde(default)]
    pub link: Vec<String>,
    /// Alerts to unlink.
    #[serde(default)]
    pub unlink: Vec<String>,
}

/// `POST /api/incidents/{id}/alerts`: link and unlink alerts.
pub async fn set_alerts(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    b: Result<Json<AlertsBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Response> {
    let b = body(b).map_err(IntoResponse::into_response)?;
    if b.link.is_empty() && b.unlink.is_empty() {
        return Err(bad_field("link", "nothing to change: give link or unlink").into_response());
    }
    if b.unlink.len() > MAX_ALERTS_PER_REQUEST {
        return Err(bad_field(
            "unlink",
            format!(
                "unlink: {} given, at most {MAX_ALERTS_PER_REQUEST}",
                b.unlink.len()
            ),
        )
        .into_response());
    }
    if s.incidents.get(&id).is_none() {
        return Err(not_found(&id).into_response());
    }
    // Alerts already linked need not be read again.
    let linked = s.incidents.get(&id).map(|i| i.alerts).unwrap_or_default();
    let to_read: Vec<String> = b
        .link
        .iter()
        .filter(|l| !linked.iter().any(|a| a.alert.id == l.trim()))
        .cloned()
        .collect();
    let link = read_alerts(&s, "link", &to_read).await?;
    let user = user.0;
    let mut records = Vec::new();
    if !link.is_empty() {
        let r = s
            .incidents
            .change(&s.ingest, &user, |inner| {
                let i = &entry(inner, &id)?.incident;
                let new: Vec<AlertRef> = link
                    .into_iter()
                    .filter(|a| !i.alerts.iter().any(|l| l.alert.id == a.id))
                    .collect();
                if i.alerts.len() + new.len() > MAX_ALERTS {
                    return Err(bad_field(
                        "link",
                        format!(
                            "link: {id} would link {} alerts, at most {MAX_ALERTS}",
                            i.alerts.len() + new.len()
                        ),
                    ));
                }
                Ok((!new.is_empty()).then(|| (id.clone(), Change::AlertsLinked { alerts: new })))
            })
            .await
            .map_err(IntoResponse::into_response)?;
        records.extend(r);
    }
    if !b.unlink.is_empty() {
        let r = s
            .incidents
            .change(&s.ingest, &user, |inner| {
                let i = &entry(inner, &id)?.incident;
                let gone: Vec<AlertRef> = i
                    .alerts
                    .iter()
                    .filter(|l| b.unlink.iter().any(|u| u.trim() == l.alert.id))
                    .map(|l| l.alert.clone())
                    .collect();
                Ok((!gone.is_empty())
                    .then(|| (id.clone(), Change::AlertsUnlinked { alerts: gone })))
            })
            .await
            .map_err(IntoResponse::into_response)?;
        records.extend(r);
    }
    let incident = s.incidents.get(&id);
    Ok(Json(json!({
        "incident": incident.as_ref().map(|i| full(&s, i)),
        "records": records,
    }))
    .into_response())
}

/// Body of `POST /api/incidents/{id}/assign`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The assignee (empty or null: nobody).
    pub assignee: Option<String>,
}

/// `POST /api/incidents/{id}/assign`.
pub async fn assign(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
    b: Result<Json<AssignBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(b)?;
    let assignee = check_assignee(b.assignee.as_deref())?;
    let record = s
        .incidents
        .change(&s.ingest, &user.0, |inner| {
            let previous = entry(inner, &id)?.incident.assignee.clone();
            Ok((previous != assignee)
                .then(|| (id.clone(), Change::Assigned { assignee, previous })))
        })
        .await?;
    Ok(changed(&s, record, &id, StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_veris_subset_parses_and_knows_the_usual_tags() {
        let v = Veris::parse(VERIS_JSON).expect("data/veris.json");
        for t in [
            "action.hacking.variety.Brute force",
            "action.hacking.vector.Web application",
            "action.malware.variety.Ransomware",
            "action.social.variety.Phishing",
            "actor.external",
            "actor.external.variety.Organized crime",
            "actor.internal.motive.Grudge",
            "asset.assets.variety.S - Web application",
            "attribute.confidentiality",
            "attribute.confidentiality.data.variety.Credentials",
            "attribute.integrity.variety.Software installation",
            "attribute.availability.variety.Interruption",
            "discovery_method.internal.variety.Log review",
        ] {
            assert!(v.knows(t), "{t}");
        }
        assert!(v.tags.len() > 400, "{}", v.tags.len());
        for t in [
            "action.hacking.variety.Brute forse",
            "action",
            "actor.martian",
            "",
        ] {
            assert!(!v.knows(t), "{t}");
        }
        // A VERIS value never holds a dot or a comma: the tag filter splits on commas, and
        // a tag's path is what comes before its last dot.
        let file: VerisFile = serde_json::from_str(VERIS_JSON).unwrap();
        for e in &file.enumerations {
            for val in &e.values {
                assert!(!val.value.contains(['.', ',']), "{}: {}", e.path, val.value);
            }
        }
    }

    #[test]
    fn refusals_say_what_was_meant() {
        let v = Veris::get();
        let e = v.refusal("action.hacking.variety.brute force");
        assert!(
            e.message()
                .contains("did you mean \"action.hacking.variety.Brute force\""),
            "{}",
            e.message()
        );
        let e = v.refusal("action.hacking.variety.Teleport");
        assert!(
            e.message()
                .contains("action.hacking.variety has no value \"Teleport\""),
            "{}",
            e.message()
        );
    }

    #[test]
    fn lifecycle() {
        use IncidentStatus::*;
        assert!(Open.next().contains(&Investigating));
        assert!(Open.next().contains(&Closed));
        assert!(Contained.next().contains(&Investigating));
        assert!(Closed.next().contains(&Investigating));
        for s in IncidentStatus::ALL {
            assert!(!s.next().contains(&s), "{s:?} to itself");
            assert!(!s.next().contains(&Open), "{s:?} back to open");
            assert_eq!(IncidentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(IncidentStatus::parse("Contained"), Some(Contained));
        assert_eq!(IncidentStatus::parse("resolved"), None);
    }

    fn rec(seq: u64, incident: &str, change: Change) -> Record {
        Record {
            incident: incident.into(),
            seq,
            utctimestamp: format!("2026-01-01T00:00:{:02}+00:00", seq),
            user: "ann".into(),
            change,
        }
    }

    fn created(title: &str) -> Change {
        Change::Created {
            title: title.into(),
            summary: String::new(),
            severity: Severity::Warning,
            tags: vec![],
            alerts: vec![],
            assignee: None,
        }
    }

    #[test]
    fn records_round_trip_as_stored_and_fold_into_the_state() {
        let records = vec![
            rec(0, "INC-1", created("ssh brute force")),
            rec(
                1,
                "INC-1",
                Change::Note {
                    text: "looking".into(),
                },
            ),
            rec(
                2,
                "INC-1",
                Change::Tags {
                    added: vec!["actor.external".into(), "action.hacking".into()],
                    removed: vec![],
                },
            ),
            rec(
                3,
                "INC-1",
                Change::Status {
                    from: IncidentStatus::Open,
                    to: IncidentStatus::Contained,
                    note: None,
                },
            ),
            rec(
                4,
                "INC-1",
                Change::Tags {
                    added: vec![],
                    removed: vec!["action.hacking".into()],
                },
            ),
            rec(
                5,
                "INC-1",
                Change::Edited {
                    title: Some("ssh brute force from one address".into()),
                    summary: None,
                    severity: Some(Severity::Critical),
                },
            ),
            rec(6, "INC-2", created("other")),
        ];
        let mut inner = Inner::default();
        for r in &records {
            // As the store gives them back.
            let doc = crate::history::to_doc(r);
            assert!(doc.contains_key("kind"), "{doc:?}");
            let back: Record = serde_json::from_value(Value::Object(doc)).unwrap();
            assert_eq!(&back, r);
            inner.apply(&back);
        }
        let e = &inner.incidents["INC-1"];
        assert_eq!(e.incident.title, "ssh brute force from one address");
        assert_eq!(e.incident.severity, Severity::Critical);
        assert_eq!(e.incident.status, IncidentStatus::Contained);
        assert_eq!(
            e.incident.contained_at.as_deref(),
            Some("2026-01-01T00:00:03+00:00")
        );
        assert_eq!(e.incident.tags, vec!["actor.external".to_string()]);
        assert_eq!(e.incident.notes, 1);
        assert_eq!(e.history.len(), 6);
        assert_eq!(inner.next_seq, 7);
        assert_eq!(inner.next_number, 3);
        // A snapshot replaces the state and history whole.
        let snap = rec(
            7,
            "INC-1",
            Change::Snapshot {
                state: Box::new(e.incident.clone()),
                history: e.history.clone(),
            },
        );
        let doc = crate::history::to_doc(&snap);
        // No field of a change shadows one of the record.
        assert_eq!(doc["incident"], "INC-1");
        let back: Record = serde_json::from_value(Value::Object(doc)).unwrap();
        let mut fresh = Inner::default();
        fresh.apply(&back);
        assert_eq!(
            fresh.incidents["INC-1"].incident,
            inner.incidents["INC-1"].incident
        );
        assert_eq!(
            fresh.incidents["INC-1"].history,
            inner.incidents["INC-1"].history
        );
    }
}
