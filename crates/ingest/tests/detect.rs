//! The detect stage of the ingest service: the detector sees every batch of transformed
//! events before the log, its alerts are stored in the `alerts` stream with the events'
//! `alert_names`, the sink hears about them only once they are durable, and alerts from ticks
//! are written too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ferrodef_event::{Alert, RuleKind, Severity};
use ferrodef_ingest::detect::{AlertSink, Detector};
mod support;

use ferrodef_ingest::{IngestConfig, IngestService, Limits, Metrics};
use ferrodef_store::{SearchRequest, SortOrder, Store, TantivyStore};
use parking_lot::Mutex;
use serde_json::{Map, Value};

/// Fires one alert per batch holding events whose summary says "evil" (all of them in it),
/// and one alert per tick once `armed`.
#[derive(Default)]
struct EvilDetector {
    batches: Mutex<Vec<usize>>,
    armed: Mutex<bool>,
    /// Summaries of the events seen, with their `alert_names` when they had some.
    seen: Mutex<Vec<String>>,
    /// The log record of the last checkpoint written.
    saved: Arc<Mutex<Option<u64>>>,
}

fn alert(rule: &str, now: DateTime<Utc>, events: Vec<Value>) -> Alert {
    Alert {
        id: Alert::new_id(now, rand_u64()),
        utctimestamp: now,
        severity: Severity::Warning,
        summary: format!("{} evil event(s)", events.len()),
        category: "test".into(),
        tags: vec![],
        rule: rule.into(),
        rule_kind: RuleKind::Mozdef,
        classname: rule.into(),
        channel: None,
        notify_mozdefbot: true,
        url: None,
        key: None,
        count: events.len() as u64,
        events,
        details: Map::new(),
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

impl Detector for EvilDetector {
    fn detect(&self, events: &mut [Map<String, Value>], now: DateTime<Utc>) -> Vec<Alert> {
        self.batches.lock().push(events.len());
        let mut fed = Vec::new();
        for e in events.iter_mut() {
            let summary = e.get("summary").and_then(Value::as_str).unwrap_or_default();
            self.seen.lock().push(match e.get("alert_names") {
                Some(n) => format!("{summary} {n}"),
                None => summary.to_string(),
            });
            let evil = e
                .get("summary")
                .and_then(Value::as_str)
                .is_some_and(|s| s.contains("evil"));
            if evil {
                e.insert("alert_names".into(), Value::from(vec!["evil_rule"]));
                fed.push(Value::Object(e.clone()));
            }
        }
        if fed.is_empty() {
            Vec::new()
        } else {
            vec![alert("evil_rule", now, fed)]
        }
    }

    fn tick(&self, now: DateTime<Utc>) -> Vec<Alert> {
        let mut armed = self.armed.lock();
        if std::mem::take(&mut *armed) {
            vec![alert("deadman_rule", now, vec![])]
        } else {
            Vec::new()
        }
    }

    fn checkpoint(&self, log_seq: u64) -> Box<dyn FnOnce() -> Result<(), String> + Send> {
        let saved = self.saved.clone();
        Box::new(move || {
            *saved.lock() = Some(log_seq);
            Ok(())
        })
    }
}

#[derive(Default)]
struct Collect(Mutex<Vec<Alert>>);

impl AlertSink for Collect {
    fn accepted(&self, alerts: &[Alert]) {
        self.0.lock().extend_from_slice(alerts);
    }
}

fn start(dir: &std::path::Path, store: Arc<dyn Store>) -> IngestService {
    start_keeping(dir, store, None)
}

fn start_keeping(
    dir: &std::path::Path,
    store: Arc<dyn Store>,
    keep_log_after: Option<u64>,
) -> IngestService {
    let transforms = Arc::new(ferrodef_transforms::pipeline::Pipeline::new(Vec::new()));
    let cfg = IngestConfig {
        keep_log_after,
        ..support::config(dir, Limits::default())
    };
    IngestService::start(store, transforms, cfg, Arc::new(Metrics::new()))
        .expect("start")
        .0
}

fn hits(store: &dyn Store, stream: &str, q: &str) -> Vec<Value> {
    store
        .search(&SearchRequest {
            stream: stream.into(),
            query: ferrodef_query::parse(q).expect("query"),
            from: None,
            to: None,
            size: 100,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Desc,
            now: Utc::now(),
            budget: Default::default(),
        })
        .map(|r| r.hits)
        .unwrap_or_default()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_stored_with_the_events_that_fed_them_and_announced_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(TantivyStore::open(dir.path().join("index"), Default::default()).unwrap());
    let svc = start(dir.path(), store.clone());
    let detector = Arc::new(EvilDetector::default());
    let sink = Arc::new(Collect::default());
    assert!(svc.set_detection(detector.clone(), sink.clone()));
    assert!(
        !svc.set_detection(detector.clone(), sink.clone()),
        "set once"
    );

    let body = b"{\"summary\":\"fine 1\"}\n{\"summary\":\"evil 2\"}\n{\"summary\":\"evil 3\"}\n";
    let out = svc.events("test", body, None).await.expect("accepted");
    assert_eq!(out.accepted, 3, "alerts are not counted as accepted events");
    assert_eq!(
        *detector.batches.lock(),
        vec![3],
        "one batch of three events"
    );
    {
        let announced = sink.0.lock();
        assert_eq!(announced.len(), 1);
        assert_eq!(announced[0].count, 2);
    }

    // Raw lines go through the detector too.
    svc.lines("test", b"<13>Jan  1 00:00:00 host prog: evil line\n")
        .await
        .expect("accepted");
    assert_eq!(sink.0.lock().len(), 2);

    // Custom documents are stored as sent: not detected.
    svc.custom("app", b"{\"summary\":\"evil custom\"}")
        .await
        .expect("accepted");
    assert_eq!(detector.batches.lock().len(), 2);

    // Ticks write their alerts too.
    *detector.armed.lock() = true;
    assert_eq!(svc.detect_tick().await.expect("tick"), 1);
    assert_eq!(svc.detect_tick().await.expect("tick"), 0);
    assert_eq!(sink.0.lock().len(), 3);
    // Counted: the events the rules evaluated (three, then the line; not the custom
    // document) and the alerts written, by kind.
    assert_eq!(svc.metrics().rules_evaluated.get(), 4);
    let by_kind = svc.metrics().alerts_by_kind();
    assert_eq!(by_kind.len(), 5, "{by_kind:?}");
    assert!(by_kind.contains(&("mozdef", 3)), "{by_kind:?}");
    assert!(by_kind.contains(&("sigma", 0)), "{by_kind:?}");
    let text = svc.metrics().render();
    assert!(
        text.contains("ferrodef_rules_evaluated_events_total 4"),
        "{text}"
    );
    // The rules' CPU time is counted (some, however fast they were).
    assert!(svc.metrics().rules_cpu.get() > 0.0, "{text}");
    assert!(text.contains("ferrodef_rules_cpu_seconds_total "), "{text}");
    assert!(
        text.contains("ferrodef_alerts_raised_total{kind=\"mozdef\"} 3"),
        "{text}"
    );

    eventually("alerts searchable", || {
        hits(&*store, "alerts", "*").len() == 3
    });
    let alerts = hits(&*store, "alerts", "rule:evil_rule");
    assert_eq!(alerts.len(), 2);
    // The syslog line is dated in another day's partition, committed on its own.
    eventually("the events that fed alerts searchable", || {
        hits(&*store, "events", "alert_names:evil_rule").len() == 3
    });
    assert_eq!(hits(&*store, "events", "summary:fine").len(), 1);
    let first = alerts
        .iter()
        .find(|a| a["count"] == 2)
        .expect("the two-event alert");
    assert_eq!(first["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["events"][0]["alert_names"][0], "evil_rule");
    svc.shutdown();
}

/// A request larger than the detect stage's chunk reaches the rules in chunks of
/// `DETECT_CHUNK`, every event once; an event the rules changed is stored with the change and
/// the others as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_request_reaches_the_rules_in_chunks_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(TantivyStore::open(dir.path().join("index"), Default::default()).unwrap());
    let svc = start(dir.path(), store.clone());
    let detector = Arc::new(EvilDetector::default());
    let sink = Arc::new(Collect::default());
    assert!(svc.set_detection(detector.clone(), sink.clone()));
    let chunk = ferrodef_ingest::DETECT_CHUNK;
    // Two whole chunks and a part of one.
    let rest = chunk / 2 + 3;
    let n = 2 * chunk + rest;
    let evil_at = 2 * chunk + rest / 2;
    let body: String = (0..n)
        .map(|i| {
            let word = if i == evil_at { "evil" } else { "chunked" };
            format!("{{\"summary\":\"{word} {i}\"}}\n")
        })
        .collect();
    let out = svc
        .events("test", body.as_bytes(), None)
        .await
        .expect("accepted");
    assert_eq!(out.accepted, n);
    assert_eq!(*detector.batches.lock(), vec![chunk, chunk, rest]);
    let mut seen = detector.seen.lock().clone();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "every event once");
    assert_eq!(sink.0.lock().len(), 1);
    assert_eq!(svc.metrics().rules_evaluated.get(), n as u64);
    eventually("the events searchable", || {
        // All but the changed one (a search shows 100 at most).
        hits(&*store, "events", "summary:chunked").len() == (n - 1).min(100)
            && hits(&*store, "events", "alert_names:evil_rule").len() == 1
    });
    let fed = hits(&*store, "events", "alert_names:evil_rule");
    assert_eq!(fed[0]["summary"], format!("evil {evil_at}"));
    assert!(hits(&*store, "events", "summary:chunked")
        .iter()
        .all(|h| h.get("alert_names").is_none()));
    svc.shutdown();
}

/// After a crash the rules' state is rebuilt from the log: the events they saw after their
/// last checkpoint go through them again (as first received, without the `alert_names` they
/// added), those before it do not, and custom documents never; the log keeps the records
/// the checkpoint does not cover even once they are indexed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_state_is_rebuilt_from_the_log_after_their_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let open = || -> Arc<dyn Store> {
        Arc::new(TantivyStore::open(dir.path().join("index"), Default::default()).unwrap())
    };
    let saved = {
        let store = open();
        let svc = start(dir.path(), store.clone());
        let detector = Arc::new(EvilDetector::default());
        svc.set_detection(detector.clone(), Arc::new(Collect::default()));
        svc.events("test", b"{\"summary\":\"before 1\"}\n", None)
            .await
            .expect("accepted");
        svc.checkpoint_detection().await.expect("checkpoint");
        let saved = detector.saved.lock().expect("saved");
        assert!(saved >= 1, "the checkpoint covers the first batch: {saved}");
        svc.events(
            "test",
            b"{\"summary\":\"after 2\"}\n{\"summary\":\"evil 3\"}\n",
            None,
        )
        .await
        .expect("accepted");
        svc.custom("app", b"{\"summary\":\"custom 4\"}")
            .await
            .expect("accepted");
        svc.lines("test", b"<13>Jan  1 00:00:00 host prog: evil 5\n")
            .await
            .expect("accepted");
        eventually("everything indexed", || {
            hits(&*store, "events", "*").len() == 4
        });
        // A crash: no final checkpoint (shutdown only stops the threads).
        svc.shutdown();
        saved
    };
    let store = open();
    let svc = start_keeping(dir.path(), store, Some(saved));
    let detector = Arc::new(EvilDetector::default());
    svc.set_detection(detector.clone(), Arc::new(Collect::default()));
    let n = svc.replay_detection(saved).expect("replay");
    assert_eq!(n, 3, "the three events after the checkpoint");
    let seen = detector.seen.lock().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], "after 2");
    assert_eq!(
        seen[1], "evil 3",
        "without the alert_names of the first time"
    );
    assert!(
        seen[2].contains("evil 5") && !seen[2].contains("evil_rule"),
        "{seen:?}"
    );
    assert_eq!(
        *detector.batches.lock(),
        vec![2, 1],
        "batches as they were received"
    );
    svc.shutdown();
}
