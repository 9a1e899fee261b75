//! ferrodef's HTTP API: MozDef-compatible ingest endpoints, search, aggregations, status and metrics
