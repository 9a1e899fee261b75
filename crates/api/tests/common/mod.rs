//! What the tests on a real store and ingest service share.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ferrodef_ingest::{IngestConfig, IngestService, Limits, Metrics};
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{SearchRequest, SortOrder, Store, TantivyStore};

/// A store under `dir` and an ingest service writing to it.
pub fn start(dir: &std::path::Path) -> (Arc<dyn Store>, IngestService) {
    let store: Arc<dyn Store> =
        Arc::new(TantivyStore::open(dir.join("index"), TantivyOptions::default()).unwrap());
    let transforms = Arc::new(ferrodef_transforms::pipeline::Pipeline::new(Vec::new()));
    let cfg = IngestConfig {
        data_dir: dir.to_path_buf(),
        max_segment_bytes: 8 << 20,
        commit_interval: Duration::from_millis(50),
        mozdefhostname: "test".into(),
        default_tz: chrono_tz::UTC,
        max_message_bytes: 64 * 1024,
        limits: Limits::default(),
        keep_log_after: None,
    };
    let (svc, _) =
        IngestService::start(store.clone(), transforms, cfg, Arc::new(Metrics::new())).unwrap();
    (store, svc)
}

/// Waits until `q` matches `n` documents of `stream`.
pub fn wait_count(store: &dyn Store, stream: &str, q: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let total = store
            .search(&SearchRequest {
                stream: stream.into(),
                query: ferrodef_query::parse(q).unwrap(),
                from: None,
                to: None,
                size: 0,
                sort_field: "utctimestamp".into(),
                order: SortOrder::Asc,
                now: Utc::now(),
                budget: Default::default(),
            })
            .unwrap()
            .total;
        if total == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{total} records match {q}, not {n}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
