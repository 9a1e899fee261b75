//! ferrodef's event model: the normalized MozDef schema, severities and timestamp parsing.

pub mod alert;
pub mod details;
mod event;
pub mod incoming;
mod severity;
mod time;

pub use alert::{Alert, AlertStatus, RuleKind, ALERTS_STREAM};
pub use details::Details;
pub use event::{Event, Lent};
pub use incoming::Incoming;
pub use severity::Severity;
pub use time::{format_timestamp, parse_timestamp, TimeError};
