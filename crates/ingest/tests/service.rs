//! The ingest service in-process over a real tantivy store: limits, re-dating of future events,
//! custom stream limits, recovery of a failing partition from the log, shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ferrodef_ingest::{IngestConfig, IngestError, IngestService, Limits, Metrics};
use ferrodef_store::{
    AggRequest, AggResponse, PartitionFailure, PartitionInfo, SearchRequest, SearchResponse,
    SortOrder, Store, StoreError, StoredDoc, TantivyStore,
};
use parking_lot::Mutex;

/// A store that refuses the documents of chosen days (as a broken partition would), and
/// keeps refusing them until `reopen_failed` once the fault is cleared.
struct FlakyStore {
    inner: TantivyStore,
    failing_days: Mutex<HashSet<String>>,
    broken: Mutex<HashSet<String>>,
}

fn day(d: &StoredDoc) -> String {
    d.utctimestamp.format("%Y%m%d").to_string()
}

impl Store for FlakyStore {
    fn index(&self, docs: Vec<StoredDoc>) -> Result<usize, StoreError> {
        let failing = self.failing_days.lock().clone();
        let mut broken = self.broken.lock();
        let mut ok = Vec::new();
        let mut failures: Vec<PartitionFailure> = Vec::new();
        for d in docs {
            let day = day(&d);
            if failing.contains(&day) || broken.contains(&day) {
                broken.insert(day.clone());
                let name = format!("{}/{day}", d.stream);
                match failures.iter_mut().find(|f| f.partition == name) {
                    Some(f) => f.from_seq = f.from_seq.min(d.seq),
                    None => failures.push(PartitionFailure {
                        partition: name,
                        from_seq: d.seq,
                        doc_seq: None,
                        error: "injected failure".into(),
                    }),
                }
            } else {
                ok.push(d);
            }
        }
        let n = self.inner.index(ok)?;
        if failures.is_empty() {
            Ok(n)
        } else {
            Err(StoreError::Partitions(failures))
        }
    }
    fn commit(&self, seq: u64) -> Result<(), StoreError> {
        self.inner.commit(seq)
    }
    fn search(&self, req: &SearchRequest) -> Result<SearchResponse, StoreError> {
        self.inner.search(req)
    }
    fn aggregate(&self, req: &AggRequest) -> Result<AggResponse, StoreError> {
        self.inner.aggregate(req)
    }
    fn apply_retention(
        &self,
        keep_days: u32,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.apply_retention(keep_days, now)
    }
    fn partitions(&self) -> Vec<PartitionInfo> {
        self.inner.partitions()
    }
    fn reopen_failed(&self) -> Vec<String> {
        let failing = self.failing_days.lock().clone();
        let mut broken = self.broken.lock();
        let names: Vec<String> = broken.iter().cloned().collect();
        broken.retain(|d| failing.contains(d));
        names
    }
}

fn config(dir: &std::path::Path, limits: Limits) -> IngestConfig {
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

fn start(dir: &std::path::Path, store: Arc<dyn Store>, limits: Limits) -> IngestService {
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

fn count(store: &dyn Store, q: &str) -> u64 {
    store
        .search(&SearchRequest {
            stream: "events".into(),
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
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ndjson(days: &[u32], tag: &str) -> Vec<u8> {
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

fn store_in(dir: &std::path::Path) -> TantivyStore {
    TantivyStore::open(dir.join("index"), Default::default()).expect("store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_partition_is_retried_from_the_log_and_nothing_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FlakyStore {
        inner: store_in(dir.path()),
        failing_days: Mutex::new(HashSet::from(["20260103".to_string()])),
        broken: Mutex::new(HashSet::new()),
    });
    let svc = start(dir.path(), store.clone(), Limits::default());
    // Days 0..5, 10 events each; day 2 (20260103) fails.
    let days: Vec<u32> = (0..50).map(|i| i % 5).collect();
    let out = svc
        .events("test", &ndjson(&days, "flaky"), None)
        .await
        .unwrap();
    assert_eq!(out.accepted, 50);
    eventually("the other partitions to be searchable", || {
        count(&*store, "category:flaky") == 40
    });
    // The checkpoint moves (after the commit that made them searchable) up to just before the
    // first lost event, seq 3, and no further.
    eventually("the checkpoint", || svc.health().backlog == 50 - 2);
    let h = svc.health();
    assert_eq!(h.status, "degraded", "{h:?}");
    assert!(h.reasons[0].contains("events/20260103"), "{h:?}");
    // More events for the broken day and others keep being accepted.
    let out = svc
        .events("test", &ndjson(&[2, 3], "later"), None)
        .await
        .unwrap();
    assert_eq!(out.accepted, 2);
    eventually("healthy days to go on", || {
        count(&*store, "category:later") == 1
    });
    assert_eq!(
        svc.health().backlog,
        52 - 2,
        "the checkpoint does not pass the lost events while they are not indexed"
    );
    // The fault goes away: the indexer re-reads the lost range from the log.
    store.failing_days.lock().clear();
    eventually("recovery", || svc.health().status == "ok");
    eventually("every event once", || {
        count(&*store, "category:flaky") == 50 && count(&*store, "category:later") == 2
    });
    assert_eq!(svc.health().backlog, 0);
    svc.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_of_a_failed_partition_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Arc::new(FlakyStore {
            inner: store_in(dir.path()),
            failing_days: Mutex::new(HashSet::from(["20260102".to_string()])),
            broken: Mutex::new(HashSet::new()),
        });
        let svc = start(dir.path(), store.clone(), Limits::default());
        let days: Vec<u32> = (0..30).map(|i| i % 3).collect();
        svc.events("test", &ndjson(&days, "restart"), None)
            .await
            .unwrap();
        eventually("the healthy days", || {
            count(&*store, "category:restart") == 20
        });
        svc.shutdown();
    }
    // A healthy store on the same directory: the log still holds the lost events.
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let svc = start(dir.path(), store.clone(), Limits::default());
    eventually("all events after the restart", || {
        count(&*store, "category:restart") == 30
    });
    assert_eq!(svc.health().status, "ok");
    svc.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_far_in_the_future_are_kept_at_their_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let svc = start(dir.path(), store.clone(), Limits::default());
    let soon = Utc::now() + chrono::Duration::hours(2);
    let body = format!(
        "{{\"summary\":\"far\",\"category\":\"skew\",\"utctimestamp\":\"2999-01-01T00:00:00Z\"}}\n\
         {{\"summary\":\"near\",\"category\":\"skew\",\"utctimestamp\":\"{}\"}}\n",
        soon.to_rfc3339()
    );
    assert_eq!(
        svc.events("test", body.as_bytes(), None)
            .await
            .unwrap()
            .accepted,
        2
    );
    eventually("both", || count(&*store, "category:skew") == 2);
    assert_eq!(count(&*store, "category:skew AND tags:future_timestamp"), 1);
    assert_eq!(
        count(
            &*store,
            "details.originalutctimestamp:\"2999-01-01T00:00:00+00:00\""
        ),
        1
    );
    // No partition was made for the year 2999.
    assert!(store
        .partitions()
        .iter()
        .all(|p| !p.day.starts_with("2999")));
    svc.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_request_limits_name_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let limits = Limits {
        max_documents: 10,
        max_lines: 10,
        max_fields: 20,
        max_errors: 3,
        max_streams: 2,
        ..Limits::default()
    };
    let svc = start(dir.path(), store, limits);
    // Documents per body.
    let many = ndjson(&[0; 11], "many");
    match svc.events("test", &many, None).await {
        Err(IngestError::TooLarge { limit, found, .. }) => assert_eq!((limit, found), (10, 11)),
        other => panic!("{other:?}"),
    }
    // Lines per raw body.
    let lines = "x\n".repeat(11);
    assert!(matches!(
        svc.lines("test", lines.as_bytes()).await,
        Err(IngestError::TooLarge { .. })
    ));
    // Fields per event: refused with its line, the others kept.
    let wide: String = (0..30).map(|i| format!("\"k{i}\":{i},")).collect();
    let body = format!("{{\"summary\":\"ok\"}}\n{{{wide}\"summary\":\"wide\"}}\n");
    let out = svc.events("test", body.as_bytes(), None).await.unwrap();
    assert_eq!((out.accepted, out.rejected), (1, 1));
    assert_eq!(out.errors[0].line, 2);
    assert!(
        out.errors[0].message.contains("more than 20 fields"),
        "{:?}",
        out.errors
    );
    // Errors echoed: 3 listed, the rest counted.
    let bad = "{\"summary\": 1\n".repeat(8) + "{\"summary\":\"good\"}\n";
    let out = svc.events("test", bad.as_bytes(), None).await.unwrap();
    assert_eq!(
        (
            out.accepted,
            out.rejected,
            out.errors.len(),
            out.errors_omitted
        ),
        (1, 8, 3, 5)
    );
    // Custom streams.
    assert!(svc.custom("one", b"{\"a\":1}").await.is_ok());
    assert!(svc.custom("two", b"{\"a\":1}").await.is_ok());
    assert!(svc.custom("one", b"{\"a\":2}").await.is_ok());
    assert!(matches!(
        svc.custom("three", b"{\"a\":1}").await,
        Err(IngestError::TooManyStreams(2))
    ));
    svc.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_overloaded_and_shutdown_refuses_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let limits = Limits {
        max_queued_events: 1,
        queue_wait: Duration::from_millis(1),
        ..Limits::default()
    };
    let svc = start(dir.path(), store.clone(), limits);
    // Many concurrent submissions through a queue of one event: some must be refused with a
    // retry hint, none lost among those acknowledged.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            svc.events("test", &ndjson(&[0, 0, 0], &format!("q{i}")), None)
                .await
        }));
    }
    let (mut ok, mut overloaded) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(o) => ok += o.accepted,
            Err(e @ IngestError::Overloaded(_)) => {
                assert_eq!(e.retry_after(), Some(1));
                overloaded += 1
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(overloaded > 0, "the queue never filled");
    let ok = ok as u64;
    eventually("acknowledged events", || {
        count(&*store, "_exists_:summary") == ok
    });
    svc.shutdown();
    assert!(matches!(
        svc.events("test", &ndjson(&[0], "late"), None).await,
        Err(IngestError::ShuttingDown)
    ));
}
