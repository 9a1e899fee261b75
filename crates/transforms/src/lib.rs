//! Transforms of the ferrodef pipeline: normalization to the MozDef schema, the mapping of
//! syslog and CEF messages to MozDef events, and the configurable transform pipeline
//! ([`pipeline`]; each transform in [`transforms`]: parsers, ip fix-up, GeoIP, watchlists, drop
//! rules).

pub mod cef;
pub mod clock;
pub mod geoip;
pub mod lists;
pub mod normalize;
pub mod pipeline;
pub mod syslog;
pub mod transforms;
pub mod windows;
