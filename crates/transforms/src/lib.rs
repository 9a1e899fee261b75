//! Transforms of the ferrodef pipeline: normalization to the MozDef schema, the configurable
//! transform pipeline (ip fix-up, GeoIP, watchlists, drop rules; parsers next), enrichment.

pub mod cef;
pub mod geoip;
pub mod normalize;
pub mod pipeline;
pub mod syslog;
