//! Storage behind one trait.
//!
//! [`Store`] is what the rest of ferrodef talks to: the indexer writes batches of documents and
//! commits them; the API searches and aggregates with the ferrodef query language
//! ([`ferrodef_query`]). [`tantivy_store::TantivyStore`] is the embedded default backend: one
//! tantivy index per stream and UTC day (`<data>/index/<stream>/<YYYYMMDD>`), like MozDef's
//! `events-YYYYMMDD` indices, so that retention drops whole days.

pub mod params;
pub mod tantivy_store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use tantivy_store::TantivyStore;

/// The stream normalized MozDef events go to.
pub const EVENTS_STREAM: &str = "events";

/// A document ready to be indexed.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// Position of the document in the write-ahead log (strictly increasing, starts at 1).
    pub seq: u64,
    /// The stream (index family) the document belongs to, e.g. `events` or `custom-myapp`.
    pub stream: String,
    /// The time the document is partitioned and sorted by.
    pub utctimestamp: DateTime<Utc>,
    /// The time ferrodef received the document.
    pub receivedtimestamp: DateTime<Utc>,
    /// The document itself; returned as is by searches.
    pub doc: DocBody,
    /// `doc` serialized (kept to avoid serializing it twice).
    pub source: Vec<u8>,
}

/// The body of a document: a normalized event as the pipeline made it, or a JSON object (a
/// `/custom/<app>` document, or any document read back from the write-ahead log).
///
/// Both index the same: an event indexes exactly as the JSON object it serializes to (tested),
/// so a document replayed from the log after a crash is indexed as it would have been. Keeping
/// the event as is spares building and dropping a JSON object per event on the ingest path.
#[derive(Debug, Clone, PartialEq)]
pub enum DocBody {
    /// A normalized event.
    Event(Box<ferrodef_event::Event>),
    /// A JSON object.
    Map(serde_json::Map<String, serde_json::Value>),
}

impl DocBody {
    /// The document as a JSON object.
    pub fn into_map(self) -> serde_json::Map<String, serde_json::Value> {
        match self {
            DocBody::Event(e) => e.into_map(),
            DocBody::Map(m) => m,
        }
    }

    /// A copy of the document as a JSON object.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        match self {
            DocBody::Event(e) => e.as_ref().clone().into_map(),
            DocBody::Map(m) => m.clone(),
        }
    }

    /// The document, borrowed: an event or a JSON object.
    pub fn as_ref(&self) -> BodyRef<'_> {
        match self {
            DocBody::Event(e) => BodyRef::Event(e),
            DocBody::Map(m) => BodyRef::Map(m),
        }
    }

    /// The document serialized as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let out = match self {
            DocBody::Event(e) => serde_json::to_vec(e),
            DocBody::Map(m) => serde_json::to_vec(m),
        };
        // Serializing a map with string keys, or an event (strings, numbers, times), cannot
        // fail; an empty source would only make the hit unreadable, never lose the event.
        out.unwrap_or_default()
    }
}

/// A [`DocBody`], borrowed.
#[derive(Debug, Clone, Copy)]
pub enum BodyRef<'a> {
    /// A normalized event.
    Event(&'a ferrodef_event::Event),
    /// A JSON object.
    Map(&'a serde_json::Map<String, serde_json::Value>),
}

impl From<ferrodef_event::Event> for DocBody {
    fn from(e: ferrodef_event::Event) -> DocBody {
        DocBody::Event(Box::new(e))
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for DocBody {
    fn from(m: serde_json::Map<String, serde_json::Value>) -> DocBody {
        DocBody::Map(m)
    }
}

/// Sort order of search hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Newest first.
    #[default]
    Desc,
    /// Oldest first.
    Asc,
}

/// A search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The stream to search.
    pub stream: String,
    /// The parsed query.
    pub query: ferrodef_query::Expr,
    /// Only documents with `from <= utctimestamp`.
    pub from: Option<DateTime<Utc>>,
    /// Only documents with `utctimestamp <= to`.
    pub to: Option<DateTime<Utc>>,
    /// Maximum number of hits returned.
    pub size: usize,
    /// Field to sort on (`utctimestamp` or `receivedtimestamp`).
    pub sort_field: String,
    /// Sort direction.
    pub order: SortOrder,
    /// The time `now` in relative time expressions of the query.
    pub now: DateTime<Utc>,
    /// When the search must stop, and how much a pattern may expand.
    pub budget: Budget,
}

/// The answer to a search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    /// Number of matching documents (all of them, not just the returned hits).
    pub total: u64,
    /// The returned documents.
    pub hits: Vec<serde_json::Value>,
}

/// An aggregation request.
#[derive(Debug, Clone)]
pub struct AggRequest {
    /// The stream to aggregate over.
    pub stream: String,
    /// The documents to aggregate.
    pub query: ferrodef_query::Expr,
    /// Lower time bound (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Upper time bound (inclusive).
    pub to: Option<DateTime<Utc>>,
    /// Top values of this field (a terms aggregation).
    pub terms: Option<String>,
    /// How many top values.
    pub size: usize,
    /// Date histogram over `utctimestamp` with this fixed interval (`30s`, `15m`, `1h`, `1d`).
    pub interval: Option<String>,
    /// The time `now` in relative time expressions of the query.
    pub now: DateTime<Utc>,
    /// When the aggregation must stop, and how much a pattern may expand.
    pub budget: Budget,
}

/// One bucket of a terms aggregation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TermBucket {
    /// The field value.
    pub key: serde_json::Value,
    /// Number of matching documents with that value.
    pub count: u64,
}

/// One bucket of a date histogram.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistogramBucket {
    /// Start of the bucket (RFC 3339).
    pub key: String,
    /// Start of the bucket in milliseconds since the epoch.
    pub key_ms: i64,
    /// Number of matching documents in the bucket.
    pub count: u64,
    /// Top values of the `terms` field within the bucket, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<Vec<TermBucket>>,
}

/// The answer to an aggregation request.
#[derive(Debug, Clone, Serialize)]
pub struct AggResponse {
    /// Number of matching documents.
    pub total: u64,
    /// Top values of the `terms` field over all matching documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<Vec<TermBucket>>,
    /// The date histogram, when an interval was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Vec<HistogramBucket>>,
}

/// How many terms of the dictionary one wildcard or regular expression may match in one segment
/// by default: beyond, the query is refused (a pattern such as `*a*` over millions of distinct
/// values would otherwise read the postings of all of them).
pub const DEFAULT_MAX_EXPANSIONS: usize = 100_000;

/// The limits a running search or aggregation works within: a deadline, a cancel flag (set when
/// the client goes away) and how many terms a pattern may expand to. The store checks them while
/// it scans documents and stops the scan when the deadline passes or the flag is set.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    cancelled: Arc<AtomicBool>,
    refused: Arc<OnceLock<String>>,
    /// How many dictionary terms one wildcard, regular expression may match in one segment.
    pub max_expansions: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::unlimited()
    }
}

impl Budget {
    /// No deadline, the default expansion limit.
    pub fn unlimited() -> Budget {
        Budget {
            deadline: None,
            timeout: None,
            cancelled: Arc::new(AtomicBool::new(false)),
            refused: Arc::new(OnceLock::new()),
            max_expansions: DEFAULT_MAX_EXPANSIONS,
        }
    }

    /// Stops the work `timeout` from now.
    pub fn with_timeout(timeout: Duration) -> Budget {
        Budget {
            deadline: Instant::now().checked_add(timeout),
            timeout: Some(timeout),
            ..Budget::unlimited()
        }
    }

    /// The timeout this budget was made with.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Asks the work to stop (e.g. the client disconnected); shared by every clone.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Budget::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// A guard that cancels the work when dropped (e.g. with the future of a request handler
    /// whose client went away), unless [`CancelOnDrop::disarm`] was called.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.cancelled.clone()))
    }

    /// Stops the work because the request asks too much (`why` names the limit); the caller
    /// answers [`StoreError::BadRequest`] with it.
    pub fn refuse(&self, why: String) {
        let _ = self.refused.set(why);
        self.cancel();
    }

    /// The error to answer when the work was stopped, if it was.
    pub fn stopped(&self) -> Option<StoreError> {
        if let Some(why) = self.refused.get() {
            Some(StoreError::BadRequest(why.clone()))
        } else if self.is_cancelled() {
            Some(StoreError::Cancelled)
        } else if self.expired() {
            Some(StoreError::Timeout(self.timeout.unwrap_or_default()))
        } else {
            None
        }
    }
}

/// Cancels a [`Budget`] when dropped; see [`Budget::cancel_on_drop`].
#[derive(Debug)]
pub struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl CancelOnDrop {
    /// The work finished: dropping the guard no longer cancels anything.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request is wrong (bad field, bad value for the field's type...): the caller's fault.
    #[error("{0}")]
    BadRequest(String),
    /// The search or aggregation ran past its timeout and was stopped.
    #[error("the query ran longer than the {}s timeout and was stopped; narrow the query or the time range", .0.as_secs_f64())]
    Timeout(Duration),
    /// The search or aggregation was cancelled (its client went away).
    #[error("the query was cancelled")]
    Cancelled,
    /// The storage engine failed.
    #[error("storage error: {0}")]
    Engine(String),
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Indexing or committing failed in some partitions; every other partition went on. The
    /// documents of a failed partition from `from_seq` on are not committed and must be given
    /// again (after [`Store::reopen_failed`]).
    #[error("indexing failed in {} partition(s): {}", .0.len(), join_failures(.0))]
    Partitions(Vec<PartitionFailure>),
}

/// A partition in which indexing or committing failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionFailure {
    /// The partition, `stream/YYYYMMDD`.
    pub partition: String,
    /// The lowest sequence number of this partition that is not committed because of the
    /// failure: every document of the partition from this one on must be indexed again.
    pub from_seq: u64,
    /// The document that failed, when one document caused the failure.
    pub doc_seq: Option<u64>,
    /// What went wrong.
    pub error: String,
}

impl std::fmt::Display for PartitionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} from seq {}: {}",
            self.partition, self.from_seq, self.error
        )
    }
}

fn join_failures(failures: &[PartitionFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<tantivy::TantivyError> for StoreError {
    fn from(e: tantivy::TantivyError) -> Self {
        StoreError::Engine(e.to_string())
    }
}

/// Information about one partition (a stream's day).
#[derive(Debug, Clone, Serialize)]
pub struct PartitionInfo {
    /// Stream name.
    pub stream: String,
    /// Day, `YYYYMMDD`.
    pub day: String,
    /// Number of documents searchable in it.
    pub docs: u64,
    /// Its size on disk in bytes (the files of its directory; measured again after each
    /// commit or merge and at least every minute, so it may lag a merge by that much).
    pub bytes: u64,
}

/// A storage backend.
pub trait Store: Send + Sync {
    /// Adds documents; they become durable and searchable on the next [`Store::commit`].
    /// Documents whose `seq` is already committed in their partition are skipped (write-ahead
    /// log replay after a crash). Returns how many documents were added.
    ///
    /// When adding to a partition fails, that partition's uncommitted documents are dropped and
    /// it is *broken* from the lowest of them: it refuses documents until
    /// [`Store::reopen_failed`]. Every other partition goes on; the call then returns
    /// [`StoreError::Partitions`], naming each failed partition and the sequence number from
    /// which its documents must be indexed again.
    fn index(&self, docs: Vec<StoredDoc>) -> Result<usize, StoreError>;
    /// Makes everything added so far durable and searchable, recording that every document up
    /// to `seq` is committed. A partition whose commit fails becomes broken as in
    /// [`Store::index`]; the others are committed, and the call returns
    /// [`StoreError::Partitions`] naming the failed ones.
    fn commit(&self, seq: u64) -> Result<(), StoreError>;
    /// Clears the broken state of every failed partition, so that they accept documents again;
    /// returns their names (`stream/YYYYMMDD`). The caller then indexes again from the lowest
    /// failed `from_seq` (documents a partition already committed are skipped by sequence).
    fn reopen_failed(&self) -> Vec<String>;
    /// Runs a search.
    fn search(&self, req: &SearchRequest) -> Result<SearchResponse, StoreError>;
    /// Runs an aggregation.
    fn aggregate(&self, req: &AggRequest) -> Result<AggResponse, StoreError>;
    /// Drops the partitions whose whole day is older than `keep_days` days before `now` and
    /// whose documents were all received before then too (old events imported recently are
    /// kept for the retention period from their receipt), except those holding uncommitted
    /// documents or broken (they are dropped by a later call).
    /// Returns the dropped partitions as `stream/YYYYMMDD`.
    fn apply_retention(
        &self,
        keep_days: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;
    /// The partitions, their document counts and sizes on disk. May read the file system
    /// (the sizes): call it off the async runtime's threads.
    fn partitions(&self) -> Vec<PartitionInfo>;
}
