//! The ingest service: the one path by which events enter ferrodef.
//!
//! ```text
//!  sources (thin adapters)         the ingest service (this crate)
//!  HTTP handlers  ─┐
//!  syslog UDP/TCP ─┼─► decode ─► transform ─► accept: write-ahead log ─► index ─► store
//!  file import    ─┘   (bodies,  (normalize,   (fsync, then the client   (commit every
//!  (AMQP, later)        lines,    parsers,      is answered)              500 ms, checkpoint)
//!                       frames)   enrich, detect)
//! ```
//!
//! - [`service`]: [`IngestService`], what every source calls; limits and back-pressure.
//! - [`transform`], `raw`: the transform stage (JSON documents; raw syslog and CEF messages,
//!   with multi-record audit events joined by `ferrodef_parsers::AuditJoiner`).
//! - [`record`]: accepted documents as write-ahead log records (the log itself is the
//!   `ferrodef-wal` crate); `writer`: the thread that appends
//!   (group commit); `indexer`: the thread that feeds the store, commits, moves the
//!   checkpoint, and recovers from store failures by re-reading the log.
//! - [`detect`]: the detect stage's interface (rules run by the binary's detector, alerts
//!   written to the log with the events that caused them, then announced).
//! - [`status`]: health (`/health`); [`metrics`]: counters (`/metrics`).
//!
//! See `docs/architecture.md` and `docs/durability.md`.

pub mod detect;
mod fsutil;
mod indexer;
pub mod metrics;
mod raw;
pub mod record;
pub mod service;
pub mod status;
pub mod transform;
mod writer;

pub use fsutil::create_private_dir;
pub use metrics::Metrics;
pub use record::Pending;
pub use service::{
    custom_stream, IngestConfig, IngestError, IngestService, Limits, LineError, Outcome,
    ReplayStats, StartError, DETECT_CHUNK,
};
pub use status::Health;
pub use writer::PersistError;
