//! ferrodef's event model: the normalized MozDef schema, severities and timestamp parsing.

pub mod alert;
pub mod bench_mix;
pub mod details;
mod event;
pub mod incoming;
mod ip_fields;
mod lookup;
mod open;
mod severity;
mod stream;
mod time;

pub use alert::{Alert, AlertStatus, RuleKind, ALERTS_STREAM};
pub use details::Details;
pub use event::Event;
pub use incoming::Incoming;
pub use ip_fields::{is_ip_field, IpField, DESTINATION_IP, IP_FIELDS, SOURCE_IP};
pub use lookup::{get_key, LINEAR_LOOKUP};
pub use open::{FieldSlot, Node, Open, Subject};
pub use severity::Severity;
pub use stream::{is_valid_stream_name, MAX_STREAM_NAME};
pub use time::{format_timestamp, parse_timestamp, read_rfc3339, write_timestamp, TimeError};
