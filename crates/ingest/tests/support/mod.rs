//! What the ingest service's tests share: a service over a real store in a temporary
//! directory, searches, polling with a deadline, bodies, and `/metrics` as the server renders it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ferrodef_ingest::{IngestConfig, IngestService, Limits, Metrics};
use ferrodef_store::{SearchRequest, SortOrder, Store, TantivyStore};

pub fn config(dir: &std::path::Path, limits: Limits) -> IngestConfig {
    IngestConfig {
        data_dir: dir.to_path_buf(),
        max_segment_bytes: 1 << 20,
        commit_interval: Duration::from_millis(50),
        mozdefhostname: "test".into(),
        default_tz: chrono_tz::UTC,
        max_message_bytes: 64 * 1024,
        limits,
        keep_log_after: None,
    }
}

pub fn start(dir: &std::path::Path, store: Arc<dyn Store>, limits: Limits) -> IngestService {
    let transforms = Arc::new(ferrodef_transforms::pipeline::Pipeline::new(Vec::new()));
    let (svc, _) = IngestService::start(
        store,
        transforms,
        config(dir, limits),
        Arc::new(Metrics::new()),
    )
    .expect("start");
    svc
}

pub fn count(store: &dyn Store, q: &str) -> u64 {
    count_in(store, "events", q)
}

/// How many documents of `stream` match `q`.
pub fn count_in(store: &dyn Store, stream: &str, q: &str) -> u64 {
    store
        .search(&SearchRequest {
            stream: stream.into(),
            query: ferrodef_query::parse(q).expect("query"),
            from: None,
            to: None,
            size: 0,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Desc,
            now: Utc::now(),
            budget: Default::default(),
        })
        .expect("search")
        .total
}

/// Polls `f` until it is true or 20 s pass.
pub fn eventually(what: &str, f: impl FnMut() -> bool) {
    eventually_within(what, Duration::from_secs(20), f)
}

/// Polls `f` until it is true or `limit` passes.
pub fn eventually_within(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn ndjson(days: &[u32], tag: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let t =
            Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + chrono::Duration::days(*d as i64);
        out.extend(
            format!(
                "{{\"summary\":\"{tag} {i}\",\"category\":\"{tag}\",\"utctimestamp\":\"{}\"}}\n",
                t.to_rfc3339()
            )
            .bytes(),
        );
    }
    out
}

pub fn store_in(dir: &std::path::Path) -> TantivyStore {
    TantivyStore::open(dir.join("index"), Default::default()).expect("store")
}

/// The text of `/metrics` (which sets the backlog and degraded gauges first, as the server does).
pub fn metrics_text(svc: &IngestService) -> String {
    let _ = svc.health();
    svc.metrics().render()
}

/// The value of the metric line starting with `name` (name and labels), 0 when absent.
pub fn metric(svc: &IngestService, name: &str) -> f64 {
    metrics_text(svc)
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}
