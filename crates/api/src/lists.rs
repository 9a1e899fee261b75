//! The blocklist and the watchlist: entries of kind `ip`, `cidr`, `hostname` or `username`,
//! each with a reason, an optional expiry, its creator and creation time.
//!
//! Endpoints: `GET/POST /api/blocklist`, `DELETE /api/blocklist/{id}`, the same under
//! `/api/watchlist`, `GET /api/blocklist.txt` (the addresses and networks, one a line, for
//! firewalls), and MozDef's `POST /blockip`, `POST /watchitem`, `GET /getwatchlist`
//! (docs/lists.md).
//!
//! Like alert triage, a list is a history: each addition and removal is a document of the
//! list's stream (`blocklist`, `watchlist`) written through the ingest service (durable,
//! searchable, an audit trail of who did what), folded into a [`ListBook`] rebuilt from the
//! stream at start. Expired entries are left out of every answer and forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use ferrodef_event::format_timestamp;
use ferrodef_store::Store;
use ferrodef_transforms::clock::{Clock, SystemClock};
use ferrodef_transforms::lists::{FeedEntry, ListFeed, ListName as FeedList, Watched};
use ipnet::IpNet;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{ApiError, AppState};

/// The stream of blocklist changes.
pub const BLOCKLIST_STREAM: &str = "blocklist";
/// The stream of watchlist changes.
pub const WATCHLIST_STREAM: &str = "watchlist";

/// Most entries a list holds (bounded memory; an addition beyond it is refused).
pub const MAX_ENTRIES: usize = 100_000;
/// Longest reason accepted, in bytes.
const MAX_REASON: usize = 1024;
/// Longest value accepted, in bytes (a host name is at most 253).
const MAX_VALUE: usize = 256;
/// Latest expiry accepted: ten years ahead.
const MAX_EXPIRY_DAYS: i64 = 3653;

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// One address (IPv4 or IPv6).
    Ip,
    /// A network (`192.0.2.0/24`).
    Cidr,
    /// A host name.
    Hostname,
    /// A user name.
    Username,
}

impl EntryKind {
    fn parse(s: &str) -> Option<EntryKind> {
        match s {
            "ip" => Some(EntryKind::Ip),
            "cidr" => Some(EntryKind::Cidr),
            "hostname" => Some(EntryKind::Hostname),
            "username" => Some(EntryKind::Username),
            _ => None,
        }
    }
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its id (`bl-…` or `wl-…`).
    pub id: String,
    /// What it holds.
    pub kind: EntryKind,
    /// The address, network, host or user, normalized (`192.0.2.0/24`, lower-case host).
    pub value: String,
    /// Why it is there.
    pub reason: String,
    /// When it leaves the list (RFC 3339, UTC); never when absent.
    pub expires: Option<String>,
    /// Who put it there.
    pub creator: String,
    /// When (RFC 3339, UTC).
    pub created: String,
}

impl Entry {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires
            .as_deref()
            .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
            .is_some_and(|e| e <= now)
    }
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Adds an entry, or replaces the entry with the same id.
    Add,
    /// Removes the entry.
    Remove,
}

/// One change, as stored in a list's stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// When.
    pub utctimestamp: String,
    /// Who.
    pub user: String,
    /// What.
    pub action: Action,
    /// The entry's id.
    pub id: String,
    /// The entry (additions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
}

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListName {
    /// The blocklist.
    Block,
    /// The watchlist.
    Watch,
}

impl ListName {
    /// Its stream.
    pub fn stream(self) -> &'static str {
        match self {
            ListName::Block => BLOCKLIST_STREAM,
            ListName::Watch => WATCHLIST_STREAM,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            ListName::Block => "blocklist",
            ListName::Watch => "watchlist",
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            ListName::Block => "bl",
            ListName::Watch => "wl",
        }
    }
}

/// The entries of one list.
#[derive(Default)]
pub struct ListBook {
    entries: RwLock<HashMap<String, Entry>>,
    /// When each entry's latest record was written (retention drops old records: entries
    /// in force are written again before that, see [`Lists::refresh`]).
    written: RwLock<HashMap<String, DateTime<Utc>>>,
    /// Where the entries are published for the `watchlist` transform, once set.
    feed: std::sync::OnceLock<(Arc<ListFeed>, FeedList)>,
}

/// The entry as the `watchlist` transform matches it (`None` for a value that does not read
/// as its kind, which validation never lets in).
fn feed_entry(e: &Entry, list: FeedList) -> Option<FeedEntry> {
    let watched = match e.kind {
        EntryKind::Ip => Watched::Net(e.value.parse::<IpAddr>().ok()?.into()),
        EntryKind::Cidr => Watched::Net(e.value.parse::<IpNet>().ok()?),
        EntryKind::Hostname => Watched::Host(e.value.to_ascii_lowercase()),
        EntryKind::Username => Watched::User(e.value.clone()),
    };
    let expires = match &e.expires {
        Some(t) => Some(DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc)),
        None => None,
    };
    Some(FeedEntry {
        list,
        watched,
        term: e.value.clone(),
        expires,
    })
}

impl ListBook {
    /// Publishes the entries to `feed` as list `list`, now and at every change from here on.
    fn publish_to(&self, feed: Arc<ListFeed>, list: FeedList) {
        // Under the entries' lock: no change slips between the copy and the hook.
        let entries = self.entries.write();
        for (id, e) in entries.iter() {
            match feed_entry(e, list) {
                Some(f) => feed.upsert(id, f),
                None => tracing::warn!(
                    "list entry {id} ({:?} {:?}) is not matchable",
                    e.kind,
                    e.value
                ),
            }
        }
        let _ = self.feed.set((feed, list));
    }

    /// Tells the feed about entry `id` (now `entry`, or gone). Called under the entries' lock.
    fn publish(&self, id: &str, entry: Option<&Entry>) {
        let Some((feed, list)) = self.feed.get() else {
            return;
        };
        match entry.and_then(|e| feed_entry(e, *list)) {
            Some(f) => feed.upsert(id, f),
            None => feed.remove(id),
        }
    }
}

impl ListBook {
    /// Rebuilds a list from its stream in `store` (oldest change first, read in pages of the
    /// store's largest search), forgetting the entries expired at `now`.
    pub fn load(store: &dyn Store, list: ListName, now: DateTime<Utc>) -> ListBook {
        let book = ListBook::default();
        // Changes at a page boundary are read twice, which is harmless (an addition
        // replaces, a removal removes).
        let read = crate::history::read_stream(store, list.stream(), |hit| {
            match serde_json::from_value::<Change>(hit) {
                Ok(c) => book.apply(&c),
                Err(e) => tracing::warn!("a {} record is unreadable: {e}", list.noun()),
            }
        });
        if let Err(e) = read {
            tracing::warn!("the {} could not be read: {e}", list.noun());
        }
        book.purge(now);
        book
    }

    /// Folds a change in.
    pub fn apply(&self, c: &Change) {
        let at = DateTime::parse_from_rfc3339(&c.utctimestamp)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        match c.action {
            Action::Add => self.written.write().insert(c.id.clone(), at),
            Action::Remove => self.written.write().remove(&c.id),
        };
        let mut entries = self.entries.write();
        match (c.action, &c.entry) {
            (Action::Add, Some(e)) => {
                entries.insert(c.id.clone(), e.clone());
                self.publish(&c.id, Some(e));
            }
            (Action::Add, None) => {}
            (Action::Remove, _) => {
                entries.remove(&c.id);
                self.publish(&c.id, None);
            }
        }
    }

    /// Forgets expired entries.
    fn purge(&self, now: DateTime<Utc>) {
        let mut entries = self.entries.write();
        if entries.values().any(|e| e.expired(now)) {
            entries.retain(|id, e| {
                let keep = !e.expired(now);
                if !keep {
                    self.publish(id, None);
                }
                keep
            });
            self.written
                .write()
                .retain(|id, _| entries.contains_key(id));
        }
    }

    /// Entries in force whose latest record is older than `age` (and that do not expire
    /// within it): the ones to write again before retention drops their record.
    pub fn stale(&self, now: DateTime<Utc>, age: Duration) -> Vec<Entry> {
        let written = self.written.read();
        self.entries(now)
            .into_iter()
            .filter(|e| written.get(&e.id).is_none_or(|t| *t < now - age))
            .filter(|e| !e.expired(now + age))
            .collect()
    }

    /// The entries in force, newest first.
    pub fn entries(&self, now: DateTime<Utc>) -> Vec<Entry> {
        self.purge(now);
        let mut list: Vec<Entry> = self.entries.read().values().cloned().collect();
        list.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        list
    }

    /// The entry in force for this kind and value.
    pub fn find(&self, kind: EntryKind, value: &str, now: DateTime<Utc>) -> Option<Entry> {
        self.entries
            .read()
            .values()
            .find(|e| e.kind == kind && e.value == value && !e.expired(now))
            .cloned()
    }

    /// The entry with this id, in force.
    pub fn get(&self, id: &str, now: DateTime<Utc>) -> Option<Entry> {
        self.entries
            .read()
            .get(id)
            .filter(|e| !e.expired(now))
            .cloned()
    }

    fn len(&self) -> usize {
        self.entries.read().len()
    }
}

/// Both lists, and the clock that says which of their entries are in force.
pub struct Lists {
    /// The blocklist.
    pub block: ListBook,
    /// The watchlist.
    pub watch: ListBook,
    clock: Arc<dyn Clock>,
}

impl Default for Lists {
    /// Empty lists on the real clock.
    fn default() -> Lists {
        Lists::with_clock(Arc::new(SystemClock))
    }
}

impl Lists {
    /// Empty lists whose entries expire by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Lists {
        Lists {
            block: ListBook::default(),
            watch: ListBook::default(),
            clock,
        }
    }

    /// Rebuilds both lists from `store`, on the real clock.
    pub fn load(store: &dyn Store) -> Lists {
        Lists::load_with_clock(store, Arc::new(SystemClock))
    }

    /// Rebuilds both lists from `store`; their entries expire by `clock`.
    pub fn load_with_clock(store: &dyn Store, clock: Arc<dyn Clock>) -> Lists {
        let now = clock.utc();
        Lists {
            block: ListBook::load(store, ListName::Block, now),
            watch: ListBook::load(store, ListName::Watch, now),
            clock,
        }
    }

    /// The time by the lists' clock: entries expired at it are not in force.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.utc()
    }

    /// The blocked addresses and networks in force, one a line (a single address as itself,
    /// networks as `a.b.c.d/n`), sorted; host names and user names are not in it.
    pub fn blocklist_txt(&self) -> String {
        let mut lines: Vec<String> = self
            .block
            .entries(self.now())
            .into_iter()
            .filter(|e| matches!(e.kind, EntryKind::Ip | EntryKind::Cidr))
            .map(|e| e.value)
            .collect();
        lines.sort();
        lines.dedup();
        let mut body = lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        body
    }

    /// Writes again (same entry, user `ferrodef`) every entry in force whose latest record is
    /// older than `age`, so that retention, which drops whole days of every stream, never
    /// takes the only record of an entry still in force. Run periodically with half the
    /// retention period; answers how many were written.
    pub async fn refresh(
        &self,
        ingest: &ferrodef_ingest::IngestService,
        age: Duration,
    ) -> Result<usize, String> {
        let now = self.now();
        let mut n = 0;
        for list in [ListName::Block, ListName::Watch] {
            let book = self.book(list);
            let changes: Vec<Change> = book
                .stale(now, age)
                .into_iter()
                .map(|e| Change {
                    utctimestamp: format_timestamp(&now),
                    user: "ferrodef".into(),
                    action: Action::Add,
                    id: e.id.clone(),
                    entry: Some(e),
                })
                .collect();
            for chunk in changes.chunks(1000) {
                let docs = chunk.iter().map(crate::history::to_doc).collect();
                ingest
                    .write_internal(list.stream(), docs)
                    .await
                    .map_err(|e| format!("{}: {e}", list.noun()))?;
                for c in chunk {
                    book.apply(c);
                }
                n += chunk.len();
            }
        }
        Ok(n)
    }

    /// Publishes both lists to `feed` (the `watchlist` transform's), now and at every change:
    /// events are tagged by the entries in force from the next one on.
    pub fn publish_to(&self, feed: Arc<ListFeed>) {
        self.watch.publish_to(feed.clone(), FeedList::Watch);
        self.block.publish_to(feed, FeedList::Block);
    }

    /// One of them.
    pub fn book(&self, list: ListName) -> &ListBook {
        match list {
            ListName::Block => &self.block,
            ListName::Watch => &self.watch,
        }
    }
}

// ---- validation ----

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The kind a value has when none is given: an address, a network, else unknown.
fn infer_kind(value: &str) -> Option<EntryKind> {
    if value.parse::<IpAddr>().is_ok() {
        Some(EntryKind::Ip)
    } else if value.parse::<IpNet>().is_ok() {
        Some(EntryKind::Cidr)
    } else {
        None
    }
}

/// Checks and normalizes a value of `kind`. On the blocklist, addresses a firewall must never
/// drop (unspecified, loopback) and networks wider than a /8 (IPv4) or /16 (IPv6) are refused.
pub fn normalize(kind: EntryKind, value: &str, list: ListName) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("value: empty".into());
    }
    if v.len() > MAX_VALUE {
        return Err(format!("value: longer than {MAX_VALUE} bytes"));
    }
    let blocking = list == ListName::Block;
    match kind {
        EntryKind::Ip => {
            let ip: IpAddr = v
                .parse()
                .map_err(|_| format!("value: {v:?} is not an IP address"))?;
            if blocking && (ip.is_unspecified() || ip.is_loopback()) {
                return Err(format!(
                    "value: {ip} is a loopback or unspecified address, never blocked"
                ));
            }
            Ok(ip.to_string())
        }
        EntryKind::Cidr => {
            let net: IpNet = v
                .parse()
                .map_err(|_| format!("value: {v:?} is not a network (e.g. 192.0.2.0/24)"))?;
            let net = net.trunc();
            let widest = if net.addr().is_ipv4() { 8 } else { 16 };
            if blocking && net.prefix_len() < widest {
                return Err(format!(
                    "value: {net} is wider than a /{widest}; block smaller networks"
                ));
            }
            if blocking && (net.addr().is_loopback() || net.addr().is_unspecified()) {
                return Err(format!(
                    "value: {net} holds loopback or unspecified addresses, never blocked"
                ));
            }
            Ok(net.to_string())
        }
        EntryKind::Hostname => {
            let h = v.trim_end_matches('.').to_ascii_lowercase();
            let ok = h.len() <= 253
                && !h.is_empty()
                && h.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            if ok {
                Ok(h)
            } else {
                Err(format!(
                    "value: {v:?} is not a host name (letters, digits, '-', '_', dot-separated labels)"
                ))
            }
        }
        EntryKind::Username => {
            if v.chars().any(char::is_control) {
                Err("value: a user name without control characters".into())
            } else {
                Ok(v.to_string())
            }
        }
    }
}

/// Reads an expiry: RFC 3339, or a duration from now (`30d`, `12h`, `1w`, `90m`, MozDef's
/// `12hr`); empty or `never`: none. It must lie in the future, at most ten years ahead.
pub fn parse_expiry(s: Option<&str>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
    let s = match s.map(str::trim) {
        None | Some("") | Some("never") => return Ok(None),
        Some(s) => s,
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let is_duration =
        digits > 0 && digits < s.len() && s[digits..].bytes().all(|b| b.is_ascii_alphabetic());
    let t = if is_duration && digits <= 6 {
        // A duration: MozDef's `hr` is the query language's `h`.
        let unit = match &s[digits..] {
            "hr" => "h",
            u @ ("s" | "m" | "h" | "d" | "w") => u,
            u => {
                return Err(format!(
                    "expires: unknown unit {u:?} in {s:?} (s, m, h, d, w; or an RFC 3339 time)"
                ))
            }
        };
        ferrodef_query::parse_time(&format!("now+{}{unit}", &s[..digits]), now)
    } else {
        ferrodef_query::parse_time(s, now)
    }
    .map_err(|e| format!("expires: {e}"))?;
    if t <= now {
        return Err(format!(
            "expires: {} is not in the future",
            format_timestamp(&t)
        ));
    }
    if t > now + Duration::days(MAX_EXPIRY_DAYS) {
        return Err("expires: more than ten years ahead".into());
    }
    Ok(Some(t))
}

/// Body of `POST /api/blocklist` and `/api/watchlist`.
#[derive(Debug, Default, Deserialize)]
pub struct NewEntry {
    /// `ip`, `cidr`, `hostname`, `username`; inferred for addresses and networks.
    pub kind: Option<String>,
    /// The value.
    pub value: String,
    /// Why.
    #[serde(default, alias = "comment")]
    pub reason: String,
    /// RFC 3339 or a duration (`30d`); none: never.
    pub expires: Option<String>,
}

/// A checked new entry.
struct Checked {
    kind: EntryKind,
    value: String,
    reason: String,
    expires: Option<DateTime<Utc>>,
}

fn check(list: ListName, n: NewEntry, now: DateTime<Utc>) -> Result<Checked, ApiError> {
    let value = n.value.trim();
    let kind = match n.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => EntryKind::parse(k).ok_or_else(|| {
            bad(format!(
                "kind: unknown kind {k:?} (ip, cidr, hostname, username)"
            ))
            .with("parameter", "kind")
        })?,
        None => infer_kind(value).ok_or_else(|| {
            bad("kind: missing (ip, cidr, hostname, username; only addresses and networks are recognized without it)")
                .with("parameter", "kind")
        })?,
    };
    let value = normalize(kind, value, list).map_err(|m| bad(m).with("parameter", "value"))?;
    let reason = n.reason.trim().to_string();
    if reason.is_empty() {
        return Err(bad("reason: say why the entry is added").with("parameter", "reason"));
    }
    if reason.len() > MAX_REASON || reason.chars().any(|c| c.is_control() && c != '\t') {
        return Err(bad(format!(
            "reason: at most {MAX_REASON} bytes, without control characters"
        ))
        .with("parameter", "reason"));
    }
    let expires =
        parse_expiry(n.expires.as_deref(), now).map_err(|m| bad(m).with("parameter", "expires"))?;
    Ok(Checked {
        kind,
        value,
        reason,
        expires,
    })
}

// ---- writing ----

/// Writes a change durably, then applies it.
async fn record(s: &AppState, list: ListName, change: Change) -> Result<(), ApiError> {
    let doc = crate::history::to_doc(&change);
    crate::history::write_records(&s.ingest, list.stream(), vec![doc]).await?;
    s.lists.book(list).apply(&change);
    Ok(())
}

/// Adds a checked entry, or renews the entry in force with the same kind and value (new
/// reason and expiry, same id and creation). Answers the entry and whether it is new.
async fn upsert(
    s: &AppState,
    list: ListName,
    c: Checked,
    user: &str,
) -> Result<(Entry, bool), ApiError> {
    let now = s.lists.now();
    let book = s.lists.book(list);
    let existing = book.find(c.kind, &c.value, now);
    if existing.is_none() && book.len() >= MAX_ENTRIES {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            format!("the {} is full ({MAX_ENTRIES} entries)", list.noun()),
        ));
    }
    let created = existing.is_none();
    let entry = Entry {
        id: existing.as_ref().map_or_else(
            || {
                format!(
                    "{}-{}",
                    list.id_prefix(),
                    ferrodef_auth::secret::random_hex(8)
                )
            },
            |e| e.id.clone(),
        ),
        kind: c.kind,
        value: c.value,
        reason: c.reason,
        expires: c.expires.map(|t| format_timestamp(&t)),
        creator: existing
            .as_ref()
            .map_or_else(|| user.to_string(), |e| e.creator.clone()),
        created: existing
            .as_ref()
            .map_or_else(|| format_timestamp(&now), |e| e.created.clone()),
    };
    let change = Change {
        utctimestamp: format_timestamp(&now),
        user: user.to_string(),
        action: Action::Add,
        id: entry.id.clone(),
        entry: Some(entry.clone()),
    };
    record(s, list, change).await?;
    Ok((entry, created))
}

// ---- handlers ----

/// Parameters of the list endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only values containing this text.
    pub q: Option<String>,
}

fn list_entries(s: &AppState, list: ListName, p: ListParams) -> Result<Response, ApiError> {
    let kind =
        match p.kind.as_deref().filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(EntryKind::parse(k).ok_or_else(|| {
                bad(format!("kind: unknown kind {k:?}")).with("parameter", "kind")
            })?),
        };
    let q = p.q.unwrap_or_default().trim().to_lowercase();
    let entries: Vec<Entry> = s
        .lists
        .book(list)
        .entries(s.lists.now())
        .into_iter()
        .filter(|e| kind.is_none_or(|k| e.kind == k))
        .filter(|e| {
            q.is_empty()
                || e.value.to_lowercase().contains(&q)
                || e.reason.to_lowercase().contains(&q)
        })
        .collect();
    Ok(Json(json!({ "total": entries.len(), "entries": entries })).into_response())
}

fn add_answer(entry: Entry, created: bool) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(json!({ "entry": entry, "created": created }))).into_response()
}

async fn add(
    s: &AppState,
    list: ListName,
    user: &str,
    body: Result<Json<NewEntry>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(n) = body.map_err(|e| bad(e.body_text()))?;
    let c = check(list, n, s.lists.now())?;
    let (entry, created) = upsert(s, list, c, user).await?;
    Ok(add_answer(entry, created))
}

async fn remove(s: &AppState, list: ListName, id: &str, user: &str) -> Result<Response, ApiError> {
    let now = s.lists.now();
    let Some(entry) = s.lists.book(list).get(id, now) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no entry {id:?} on the {}", list.noun()),
        ));
    };
    let change = Change {
        utctimestamp: format_timestamp(&now),
        user: user.to_string(),
        action: Action::Remove,
        id: id.to_string(),
        entry: None,
    };
    record(s, list, change).await?;
    Ok(Json(json!({ "removed": entry })).into_response())
}

/// `GET /api/blocklist`.
pub async fn get_blocklist(
    State(s): State<Arc<AppState>>,
    p: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = p.map_err(|e| bad(e.body_text()))?;
    list_entries(&s, ListName::Block, p)
}

/// `GET /api/watchlist`.
pub async fn get_watchlist(
    State(s): State<Arc<AppState>>,
    p: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = p.map_err(|e| bad(e.body_text()))?;
    list_entries(&s, ListName::Watch, p)
}

/// `POST /api/blocklist`: `{kind, value, reason, expires}`; 201 with a new entry, 200 when an
/// entry in force with the same kind and value is renewed.
pub async fn post_blocklist(
    State(s): State<Arc<AppState>>,
    user: crate::Actor,
    body: Result<Json<NewEntry>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    add(&s, ListName::Block, &user.0, body).await
}

/// `POST /api/watchlist`: as [`post_blocklist`].
pub async fn post_watchlist(
    State(s): State<Arc<AppState>>,
    user: crate::Actor,
    body: Result<Json<NewEntry>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    add(&s, ListName::Watch, &user.0, body).await
}

/// `DELETE /api/blocklist/{id}`.
pub async fn delete_blocklist(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
) -> Result<Response, ApiError> {
    remove(&s, ListName::Block, &id, &user.0).await
}

/// `DELETE /api/watchlist/{id}`.
pub async fn delete_watchlist(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    user: crate::Actor,
) -> Result<Response, ApiError> {
    remove(&s, ListName::Watch, &id, &user.0).await
}

/// `GET /api/blocklist.txt`: the blocked addresses and networks in force, one a line (a single
/// address as itself, networks as `a.b.c.d/n`), sorted; host names and user names are not in
/// it. Plain text, as firewalls read external block lists.
pub async fn blocklist_txt(State(s): State<Arc<AppState>>) -> Response {
    let body = s.lists.blocklist_txt();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

// ---- MozDef's endpoints ----

/// MozDef's request bodies: an object, or (as MozDef's console sent them) a list of one-field
/// objects; the fields are merged, later ones winning.
fn mozdef_fields(body: &Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m.clone()),
        Value::Array(items) => {
            let mut out = Map::new();
            for (i, item) in items.iter().enumerate() {
                let Value::Object(m) = item else {
                    return Err(bad(format!(
                        "item {i}: expected an object like {{\"ipaddress\": ...}}"
                    )));
                };
                out.extend(m.clone());
            }
            Ok(out)
        }
        _ => Err(bad("expected a JSON object")),
    }
}

fn mozdef_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(format!("{key}: expected a string")).with("parameter", key)),
    }
}

/// MozDef's expiry: its durations (`12hr`, `1d`, `2d`, `3d`, `1w`, `30d`, or ours), one hour
/// when none is given.
fn mozdef_expiry(m: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    Ok(Some(mozdef_str(m, "duration")?.unwrap_or("1h").to_string()))
}

fn mozdef_reason(m: &Map<String, Value>, endpoint: &str) -> Result<String, ApiError> {
    let comment = mozdef_str(m, "comment")?.unwrap_or("").trim();
    let reference = mozdef_str(m, "referenceid")?.unwrap_or("").trim();
    Ok(match (comment.is_empty(), reference.is_empty()) {
        (true, true) => format!("added through {endpoint}"),
        (false, true) => comment.to_string(),
        (true, false) => format!("reference {reference}"),
        (false, false) => format!("{comment} (reference {reference})"),
    })
}

/// MozDef's `POST /blockip`: `{ipaddress, duration, comment, referenceid}` (or MozDef's list
/// of one-field objects). As MozDef: the address may be a network, private and reserved
/// addresses are refused, one hour when no duration is given, an address already blocked has
/// its expiry and comment renewed. Unlike MozDef, which answered 200 whatever happened, a
/// refusal is a 400 naming the problem.
pub async fn mozdef_blockip(
    State(s): State<Arc<AppState>>,
    user: crate::Actor,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| bad(e.body_text()))?;
    let m = mozdef_fields(&body)?;
    let ip = mozdef_str(&m, "ipaddress")?
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad("ipaddress: missing").with("parameter", "ipaddress"))?;
    let kind = if ip.contains('/') {
        EntryKind::Cidr
    } else {
        EntryKind::Ip
    };
    let value = normalize(kind, ip, ListName::Block)
        .map_err(|e| bad(e.replacen("value", "ipaddress", 1)).with("parameter", "ipaddress"))?;
    let addr = value
        .split('/')
        .next()
        .and_then(|a| a.parse::<IpAddr>().ok());
    if addr.is_some_and(not_public) {
        return Err(bad(format!(
            "ipaddress: {value} is a private or reserved address; MozDef's /blockip never blocks those (use /api/blocklist)"
        ))
        .with("parameter", "ipaddress"));
    }
    let n = NewEntry {
        kind: Some(if kind == EntryKind::Ip { "ip" } else { "cidr" }.into()),
        value,
        reason: mozdef_reason(&m, "/blockip")?,
        expires: mozdef_expiry(&m)?,
    };
    let c = check(ListName::Block, n, s.lists.now())?;
    let (entry, created) = upsert(&s, ListName::Block, c, &user.0).await?;
    Ok(add_answer(entry, created))
}

/// The private, loopback, link-local and reserved addresses MozDef's plugin refused (netaddr's
/// `is_private`, `is_loopback`, `is_reserved`).
fn not_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] >= 240
                // 100.64.0.0/10, shared address space.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// MozDef's `POST /watchitem`: `{watchcontent, duration, comment, referenceid}`. The content
/// (at least 2 characters) is watched as an address, a network, else a user name when it has
/// no dot and a host name when it has one (or the given `kind`). As MozDef, content already
/// watched is left as it is: 409.
pub async fn mozdef_watchitem(
    State(s): State<Arc<AppState>>,
    user: crate::Actor,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| bad(e.body_text()))?;
    let m = mozdef_fields(&body)?;
    let content = mozdef_str(&m, "watchcontent")?.map(str::trim).unwrap_or("");
    if content.chars().count() < 2 {
        return Err(bad("watchcontent: at least 2 characters").with("parameter", "watchcontent"));
    }
    let kind = match mozdef_str(&m, "kind")? {
        Some(k) => k.to_string(),
        None => match infer_kind(content) {
            Some(EntryKind::Ip) => "ip".into(),
            Some(EntryKind::Cidr) => "cidr".into(),
            _ if content.contains('.') => "hostname".into(),
            _ => "username".into(),
        },
    };
    let n = NewEntry {
        kind: Some(kind),
        value: content.to_string(),
        reason: mozdef_reason(&m, "/watchitem")?,
        expires: mozdef_expiry(&m)?,
    };
    let c = check(ListName::Watch, n, s.lists.now())?;
    if let Some(e) = s.lists.watch.find(c.kind, &c.value, s.lists.now()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{} is already on the watchlist (entry {})", e.value, e.id),
        ));
    }
    let (entry, created) = upsert(&s, ListName::Watch, c, &user.0).await?;
    Ok(add_answer(entry, created))
}

/// MozDef's `GET /getwatchlist`: the watched contents in force, newest first, as a JSON list
/// of strings.
pub async fn mozdef_getwatchlist(State(s): State<Arc<AppState>>) -> Response {
    let list: Vec<String> = s
        .lists
        .watch
        .entries(s.lists.now())
        .into_iter()
        .map(|e| e.value)
        .collect();
    Json(list).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn values_are_checked_and_normalized() {
        let b = ListName::Block;
        assert_eq!(
            normalize(EntryKind::Ip, " 203.0.113.9 ", b).unwrap(),
            "203.0.113.9"
        );
        assert_eq!(
            normalize(EntryKind::Ip, "2001:DB8::1", b).unwrap(),
            "2001:db8::1"
        );
        assert_eq!(
            normalize(EntryKind::Cidr, "198.51.100.77/24", b).unwrap(),
            "198.51.100.0/24"
        );
        assert!(normalize(EntryKind::Cidr, "10.0.0.0/7", b)
            .unwrap_err()
            .contains("wider"));
        assert!(normalize(EntryKind::Ip, "127.0.0.1", b)
            .unwrap_err()
            .contains("loopback"));
        assert!(normalize(EntryKind::Ip, "0.0.0.0", b).is_err());
        assert_eq!(
            normalize(EntryKind::Ip, "127.0.0.1", ListName::Watch).unwrap(),
            "127.0.0.1"
        );
        assert!(normalize(EntryKind::Ip, "example.com", b).is_err());
        assert_eq!(
            normalize(EntryKind::Hostname, "Evil.Example.COM.", b).unwrap(),
            "evil.example.com"
        );
        assert!(normalize(EntryKind::Hostname, "a..b", b).is_err());
        assert!(normalize(EntryKind::Hostname, "a b", b).is_err());
        assert_eq!(
            normalize(EntryKind::Username, "mallory", b).unwrap(),
            "mallory"
        );
        assert!(normalize(EntryKind::Username, "a\nb", b).is_err());
        assert!(normalize(EntryKind::Username, "", b).is_err());
        assert!(normalize(EntryKind::Username, &"x".repeat(300), b).is_err());
    }

    #[test]
    fn expiries() {
        let now = at("2026-01-01T00:00:00Z");
        let p = |s| parse_expiry(Some(s), now);
        assert_eq!(p("30d").unwrap(), Some(at("2026-01-31T00:00:00Z")));
        assert_eq!(p("12hr").unwrap(), Some(at("2026-01-01T12:00:00Z")));
        assert_eq!(p("1w").unwrap(), Some(at("2026-01-08T00:00:00Z")));
        assert_eq!(p("90m").unwrap(), Some(at("2026-01-01T01:30:00Z")));
        assert_eq!(
            p("2026-02-01T10:00:00+01:00").unwrap(),
            Some(at("2026-02-01T09:00:00Z"))
        );
        assert_eq!(p("never").unwrap(), None);
        assert_eq!(parse_expiry(None, now).unwrap(), None);
        assert!(p("2025-01-01T00:00:00Z")
            .unwrap_err()
            .contains("not in the future"));
        assert!(p("3x").unwrap_err().contains("unknown unit"));
        assert!(p("soon").is_err());
        assert!(p("20000d").unwrap_err().contains("ten years"));
        assert!(p("9999999999999d").is_err());
        assert!(p("1000000d").is_err());
    }

    #[test]
    fn the_book_folds_changes_and_forgets_expired_entries() {
        let book = ListBook::default();
        let entry = |id: &str, value: &str, expires: Option<&str>| Entry {
            id: id.into(),
            kind: EntryKind::Ip,
            value: value.into(),
            reason: "r".into(),
            expires: expires.map(str::to_string),
            creator: "ann".into(),
            created: "2026-01-01T00:00:00+00:00".into(),
        };
        let add = |e: Entry| Change {
            utctimestamp: "2026-01-01T00:00:00+00:00".into(),
            user: "ann".into(),
            action: Action::Add,
            id: e.id.clone(),
            entry: Some(e),
        };
        book.apply(&add(entry("a", "192.0.2.1", None)));
        book.apply(&add(entry(
            "b",
            "192.0.2.2",
            Some("2026-01-02T00:00:00+00:00"),
        )));
        book.apply(&add(entry("c", "192.0.2.3", None)));
        book.apply(&Change {
            utctimestamp: "2026-01-01T00:00:01+00:00".into(),
            user: "bob".into(),
            action: Action::Remove,
            id: "c".into(),
            entry: None,
        });
        let ids = |now| {
            book.entries(at(now))
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("2026-01-01T12:00:00Z"), vec!["a", "b"]);
        assert_eq!(ids("2026-01-03T00:00:00Z"), vec!["a"]);
        assert!(book
            .find(EntryKind::Ip, "192.0.2.1", at("2026-01-03T00:00:00Z"))
            .is_some());
        assert!(book.get("b", at("2026-01-03T00:00:00Z")).is_none());
        // Retention: "a" (never expires) was written long ago and is due to be written again;
        // once it is, it is not.
        let now = at("2026-03-01T00:00:00Z");
        let stale: Vec<String> = book
            .stale(now, Duration::days(15))
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(stale, vec!["a"]);
        book.apply(&Change {
            utctimestamp: "2026-02-28T00:00:00+00:00".into(),
            ..add(entry("a", "192.0.2.1", None))
        });
        assert!(book.stale(now, Duration::days(15)).is_empty());
    }

    #[test]
    fn the_lists_in_force_feed_the_watchlist_transform() {
        let lists = Lists::default();
        let add = |id: &str, kind, value: &str, expires: Option<&str>| Change {
            utctimestamp: "2026-01-01T00:00:00+00:00".into(),
            user: "ann".into(),
            action: Action::Add,
            id: id.into(),
            entry: Some(Entry {
                id: id.into(),
                kind,
                value: value.into(),
                reason: "r".into(),
                expires: expires.map(str::to_string),
                creator: "ann".into(),
                created: "2026-01-01T00:00:00+00:00".into(),
            }),
        };
        // Entries before the feed is set are published with it; later changes as they come.
        lists
            .watch
            .apply(&add("wl-1", EntryKind::Username, "mallory", None));
        let feed = Arc::new(ListFeed::default());
        lists.publish_to(feed.clone());
        let now = at("2026-01-01T12:00:00Z");
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            feed.lookup(&[], "", ["mallory"], now).watch.as_deref(),
            Some("mallory")
        );
        lists.block.apply(&add(
            "bl-1",
            EntryKind::Cidr,
            "198.51.100.0/24",
            Some("2026-01-02T00:00:00+00:00"),
        ));
        assert_eq!(
            feed.lookup(&[ip], "", [], now).block.as_deref(),
            Some("198.51.100.0/24")
        );
        lists.watch.apply(&Change {
            action: Action::Remove,
            entry: None,
            ..add("wl-1", EntryKind::Username, "mallory", None)
        });
        assert_eq!(feed.lookup(&[], "", ["mallory"], now).watch, None);
        // An expired entry does not match, and leaves the feed when the book forgets it.
        let later = at("2026-01-03T00:00:00Z");
        assert_eq!(feed.lookup(&[ip], "", [], later).block, None);
        assert_eq!(feed.len(), 1);
        lists.block.entries(later);
        assert_eq!(feed.len(), 0);
    }

    #[test]
    fn entries_expire_by_the_clock_of_the_lists() {
        let clock = ferrodef_transforms::clock::ManualClock::new();
        let lists = Lists::with_clock(clock.clone());
        let now = lists.now();
        let expires = parse_expiry(Some("2s"), now).unwrap();
        lists.block.apply(&Change {
            utctimestamp: format_timestamp(&now),
            user: "ann".into(),
            action: Action::Add,
            id: "bl-1".into(),
            entry: Some(Entry {
                id: "bl-1".into(),
                kind: EntryKind::Ip,
                value: "192.0.2.10".into(),
                reason: "short".into(),
                expires: expires.map(|t| format_timestamp(&t)),
                creator: "ann".into(),
                created: format_timestamp(&now),
            }),
        });
        assert_eq!(lists.blocklist_txt(), "192.0.2.10\n");
        assert_eq!(lists.block.entries(lists.now()).len(), 1);
        clock.advance(std::time::Duration::from_millis(1999));
        assert_eq!(lists.blocklist_txt(), "192.0.2.10\n", "not yet");
        clock.advance(std::time::Duration::from_millis(1));
        assert_eq!(lists.blocklist_txt(), "");
        assert!(lists.block.entries(lists.now()).is_empty());
        // Nothing in force holds the value: adding it again makes a new entry.
        assert!(lists
            .block
            .find(EntryKind::Ip, "192.0.2.10", lists.now())
            .is_none());
    }

    #[test]
    fn mozdef_bodies_as_objects_or_lists_of_fields() {
        let a = mozdef_fields(&json!({"ipaddress": "203.0.113.9", "duration": "1d"})).unwrap();
        let b = mozdef_fields(
            &json!([{"ipaddress": "203.0.113.9"}, {"duration": "1d"}, {"IPBlockList": true}]),
        )
        .unwrap();
        assert_eq!(a["ipaddress"], b["ipaddress"]);
        assert_eq!(a["duration"], b["duration"]);
        assert!(mozdef_fields(&json!([1])).is_err());
        assert!(mozdef_fields(&json!("x")).is_err());
        assert!(not_public("10.1.2.3".parse().unwrap()));
        assert!(not_public("fd00::1".parse().unwrap()));
        assert!(!not_public("81.2.69.160".parse().unwrap()));
    }
}
