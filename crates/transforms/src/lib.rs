//! Transforms of the ferrodef pipeline: normalization to the MozDef schema, parsers, enrichment.

pub mod geoip;
pub mod normalize;
