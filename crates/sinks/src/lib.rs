//! Sinks of the ferrodef pipeline: the write-ahead log, the indexer that feeds the store, and
//! the counters every stage updates.

pub mod metrics;
pub mod pipeline;
pub mod wal;

pub use metrics::Metrics;
pub use pipeline::{IngestHandle, Pending, Pipeline, PipelineConfig, ReplayStats, SubmitError};
