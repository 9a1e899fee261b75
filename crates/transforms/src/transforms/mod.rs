//! The transforms of the pipeline, one file each (the pipeline itself: [`crate::pipeline`]).

mod drop;
mod geoip;
mod ipfixup;
mod parsers;
mod watchlist;

pub use drop::{field_text, DropRules};
pub use geoip::geo_transform;
pub use ipfixup::IpFixup;
pub use parsers::{apply_parsed, Parsers};
pub use watchlist::Watchlist;

/// An event normalized from `v` at the current time, for the transforms' tests.
#[cfg(test)]
pub(crate) fn test_event(v: serde_json::Value) -> ferrodef_event::Event {
    crate::normalize::normalize(
        v,
        &crate::normalize::NormalizeContext {
            now: chrono::Utc::now(),
            mozdefhostname: "t".into(),
            default_tz: chrono_tz::UTC,
            source: None,
        },
    )
    .unwrap()
}
