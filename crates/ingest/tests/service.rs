//! The ingest service in-process over a real tantivy store: limits, re-dating of future events,
//! custom stream limits, recovery of a failing partition from the log, shutdown.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ferrodef_ingest::{IngestError, Limits};
use ferrodef_store::{
    AggRequest, AggResponse, PartitionFailure, PartitionInfo, SearchRequest, SearchResponse, Store,
    StoreError, StoredDoc, TantivyStore,
};
use parking_lot::Mutex;
use support::{count, eventually, metric, ndjson, start, store_in};

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
async fn documents_nested_deeper_than_max_depth_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let limits = Limits {
        max_depth: 4,
        ..Limits::default()
    };
    let svc = start(dir.path(), store.clone(), limits);
    // The event is depth 1: `details.a.b` holding an object is depth 4, one more is 5.
    let ok = r#"{"summary":"shallow","category":"depth","details":{"a":{"b":{"c":1}}}}"#;
    let deep = r#"{"summary":"deep","details":{"a":{"b":{"c":{"d":1}}}}}"#;
    let body = format!("{ok}\n{deep}\n");
    // Bulk and NDJSON: the deep document alone, named with its line and column.
    let out = svc.events("test", body.as_bytes(), None).await.unwrap();
    assert_eq!((out.accepted, out.rejected), (1, 1));
    assert_eq!((out.errors[0].line, out.errors[0].reason), (2, "too_deep"));
    assert_eq!(
        out.errors[0].message,
        "JSON nested deeper than the limit of 4 (max_depth) at line 2, column 44"
    );
    // Deeper than serde_json's own limit (128): the same limit is named.
    let abyss = "{\"a\":".repeat(200) + "1" + &"}".repeat(200);
    let out = svc
        .events("test", format!("{ok}\n{abyss}\n").as_bytes(), None)
        .await
        .unwrap();
    assert_eq!((out.accepted, out.rejected), (1, 1));
    assert!(
        out.errors[0]
            .message
            .contains("limit of 4 (max_depth) at line 2"),
        "{:?}",
        out.errors
    );
    // One event (`/events`): the body is refused.
    match svc.event("test", deep.as_bytes()).await {
        Err(IngestError::BadBody { message, line }) => {
            assert_eq!(line, Some(1));
            assert!(message.contains("limit of 4 (max_depth)"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Custom documents (stored as sent): a whole-body object, and NDJSON.
    match svc.custom("app", deep.as_bytes()).await {
        Err(IngestError::AllRejected(o)) => {
            assert_eq!(o.errors[0].line, 1);
            assert!(
                o.errors[0]
                    .message
                    .contains("nested 5 deep, more than the limit of 4 (max_depth)"),
                "{:?}",
                o.errors
            );
        }
        other => panic!("{other:?}"),
    }
    let out = svc.custom("app", body.as_bytes()).await.unwrap();
    assert_eq!((out.accepted, out.rejected, out.errors[0].line), (1, 1, 2));
    eventually("the shallow events", || {
        count(&*store, "category:depth") == 2
    });
    assert_eq!(
        metric(
            &svc,
            "ferrodef_events_rejected_total{source=\"test\",reason=\"too_deep\"}"
        ),
        2.0
    );
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
