//! The ingest service over a real store that fails on purpose (the failpoints
//! `store-add-document` and `store-commit` of ferrodef-store): the backlog limit on every entry
//! point, a document that never indexes, failing commits and a restart, TCP back-pressure.
//!
//! Failpoints are global to the process: each test runs in a process of its own under
//! `cargo nextest` (the workspace's test runner).

mod support;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ferrodef_event::{Alert, RuleKind, Severity};
use ferrodef_ingest::detect::{AlertSink, Detector};
use ferrodef_ingest::{IngestError, IngestService, Limits};
use ferrodef_sources::syslog::{CancellationToken, ListenerLimits, RawBatch, RawSink, TcpListener};
use ferrodef_store::Store;
use serde_json::{Map, Value};
use support::{
    count, count_in, eventually, eventually_within, metric, metrics_text, ndjson, start, store_in,
};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// NDJSON events `tag n` for `n` in `range`, each with its number in `details.n`.
fn numbered(range: std::ops::Range<u32>, tag: &str) -> Vec<u8> {
    range
        .map(|n| {
            format!(
                "{{\"summary\":\"{tag} {n}\",\"category\":\"{tag}\",\"details\":{{\"n\":{n}}}}}\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// A syslog batch of `n` messages `tag i`, as a listener hands it over.
fn syslog_batch(n: usize, tag: &str) -> RawBatch {
    let mut batch = RawBatch::default();
    for i in 0..n {
        let line = format!("<13>Nov 30 10:00:00 host app: {tag} {i}");
        batch.push(line.as_bytes(), PEER, false);
    }
    batch
}

/// The backlog is `n` and over the limit, which `/health` reports.
fn assert_backlog_over_limit(svc: &IngestService, n: u64) {
    let h = svc.health();
    assert_eq!((h.status, h.backlog), ("degraded", n), "{h:?}");
    assert!(
        h.reasons.iter().any(|r| r
            .contains(&format!("{n} events are accepted but not yet indexed"))
            && r.contains("(max_backlog)")),
        "{h:?}"
    );
}

/// A service over a store in `dir` whose commits fail, with its backlog over its limit of 5:
/// the 10 events `held` accepted (the backlog was 0), none committed.
async fn backlogged(dir: &std::path::Path) -> (IngestService, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(store_in(dir));
    let limits = Limits {
        max_backlog: 5,
        ..Limits::default()
    };
    let svc = start(dir, store.clone(), limits);
    fail::cfg("store-commit", "return").unwrap();
    let out = svc.events("test", &ndjson(&[0; 10], "held"), None).await;
    assert_eq!(out.unwrap().accepted, 10);
    eventually("indexing to fail", || svc.health().status == "degraded");
    (svc, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_backlog_limit_requests_are_refused_and_syslog_batches_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, store) = backlogged(dir.path()).await;
    assert_backlog_over_limit(&svc, 10);

    // Every request entry point refuses, with a retry hint (HTTP: 503 and Retry-After).
    let one = br#"{"summary":"refused"}"#;
    let answers = [
        svc.event("http_events", one).await,
        svc.events("http_bulk", one, None).await,
        svc.lines("http_syslog", b"<13>Nov 30 10:00:00 host app: refused")
            .await,
        svc.custom("app", one).await,
    ];
    for a in answers {
        match a {
            Err(e @ IngestError::Backlog(10)) => {
                assert_eq!(e.retry_after(), Some(10));
                assert!(
                    e.to_string()
                        .contains("10 events accepted but not yet indexed"),
                    "{e}"
                );
            }
            other => panic!("expected a backlog refusal, got {other:?}"),
        }
    }
    assert_eq!(
        metric(
            &svc,
            "ferrodef_events_rejected_total{source=\"http_bulk\",reason=\"backlog\"}"
        ),
        1.0
    );

    // A syslog batch is neither refused nor lost: it waits, through more failed commit rounds.
    let waiting = {
        let svc = svc.clone();
        tokio::spawn(async move { svc.batch("syslog_tcp", &syslog_batch(3, "waiting")).await })
    };
    let errors = svc.metrics().index_errors.get();
    eventually("two more failed commit rounds", || {
        svc.metrics().index_errors.get() >= errors + 2
    });
    assert!(
        !waiting.is_finished(),
        "a syslog batch passed the backlog limit"
    );
    assert_eq!(svc.health().backlog, 10);

    // Commits work again: the backlog drains, the batch goes in.
    fail::remove("store-commit");
    let out = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("the syslog batch still waits after the backlog drained")
        .unwrap()
        .unwrap();
    assert_eq!(out.accepted, 3);
    eventually("everything accepted to be searchable", || {
        count(&*store, "category:held") == 10 && count(&*store, "summary:waiting") == 3
    });
    eventually("health", || svc.health().status == "ok");
    assert_eq!(count(&*store, "summary:refused"), 0);
    assert!(svc.events("test", one, None).await.is_ok());
    svc.shutdown();
}

/// Alerts every tick while armed; sees nothing else.
#[derive(Default)]
struct TickAlerts(AtomicBool);

impl Detector for TickAlerts {
    fn detect(&self, _: &mut [Map<String, Value>], _: DateTime<Utc>) -> Vec<Alert> {
        Vec::new()
    }

    fn tick(&self, now: DateTime<Utc>) -> Vec<Alert> {
        if !self.0.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        vec![Alert {
            id: Alert::new_id(now, 7),
            utctimestamp: now,
            severity: Severity::Warning,
            summary: "deadman".into(),
            category: "test".into(),
            tags: vec![],
            rule: "deadman_rule".into(),
            rule_kind: RuleKind::Mozdef,
            classname: "deadman_rule".into(),
            channel: None,
            notify_mozdefbot: false,
            url: None,
            key: None,
            count: 0,
            events: vec![],
            details: Map::new(),
        }]
    }

    fn checkpoint(&self, _: u64) -> Box<dyn FnOnce() -> Result<(), String> + Send> {
        Box::new(|| Ok(()))
    }
}

struct NoSink;

impl AlertSink for NoSink {
    fn accepted(&self, _: &[Alert]) {}
}

/// The backlog limit holds back the flood of events, not ferrodef's own few writes: an
/// analyst's triage change and an alert from the time-driven rules are written past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_writes_and_tick_alerts_pass_the_backlog_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, store) = backlogged(dir.path()).await;
    let rules = Arc::new(TickAlerts::default());
    assert!(svc.set_detection(rules.clone(), Arc::new(NoSink)));
    assert!(matches!(
        svc.event("http_events", br#"{"summary":"refused"}"#).await,
        Err(IngestError::Backlog(10))
    ));
    let mut change = Map::new();
    change.insert("summary".into(), Value::from("acknowledged by analyst"));
    svc.write_internal("alert-status", vec![change])
        .await
        .expect("a triage change refused by the backlog");
    rules.0.store(true, Ordering::Release);
    assert_eq!(svc.detect_tick().await.unwrap(), 1);
    assert_eq!(svc.health().backlog, 12);
    fail::remove("store-commit");
    eventually("everything to be committed", || svc.health().backlog == 0);
    assert_eq!(count_in(&*store, "alert-status", "*"), 1);
    assert_eq!(count_in(&*store, "alerts", "*"), 1);
    svc.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syslog_batch_held_back_by_the_backlog_gives_up_when_the_service_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let limits = Limits {
        max_backlog: 0,
        ..Limits::default()
    };
    let svc = start(dir.path(), store, limits);
    fail::cfg("store-commit", "return").unwrap();
    assert_eq!(
        svc.events("test", &ndjson(&[0], "held"), None)
            .await
            .unwrap()
            .accepted,
        1
    );
    eventually("indexing to fail", || svc.health().status == "degraded");
    let waiting = {
        let svc = svc.clone();
        tokio::spawn(async move { svc.batch("syslog_tcp", &syslog_batch(1, "late")).await })
    };
    let stopping = svc.clone();
    tokio::task::spawn_blocking(move || stopping.shutdown())
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the held-back batch did not notice the stop")
        .unwrap();
    assert!(
        matches!(answer, Err(IngestError::ShuttingDown)),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_never_indexes_is_quarantined_and_the_others_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let svc = start(dir.path(), store.clone(), Limits::default());
    // The log numbers records from 1: `quar 3` is record 4, and it always fails.
    fail::cfg("store-add-document", "return(seq=4)").unwrap();
    let out = svc.events("test", &numbered(0..10, "quar"), None).await;
    assert_eq!(out.unwrap().accepted, 10);
    eventually("the nine others to be searchable", || {
        count(&*store, "category:quar") == 9
    });
    // Retried from the log (with back-off) until it has failed three times, then set aside;
    // the checkpoint then passes it.
    eventually_within("the quarantine", Duration::from_secs(60), || {
        let h = svc.health();
        h.quarantined == 1 && h.backlog == 0
    });
    let h = svc.health();
    assert_eq!(h.status, "degraded", "{h:?}");
    assert_eq!(h.reasons.len(), 1, "indexing no longer fails: {h:?}");
    assert!(
        h.reasons[0].contains("1 event(s) could not be indexed")
            && h.reasons[0].contains("quarantine.ndjson"),
        "{h:?}"
    );
    // Nothing acknowledged is lost: the event is kept, whole, in the quarantine file.
    let q = std::fs::read_to_string(dir.path().join("quarantine.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = q
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{q}");
    assert_eq!(lines[0]["seq"], 4);
    assert_eq!(lines[0]["stream"], "events");
    assert_eq!(lines[0]["document"]["summary"], "quar 3");
    assert_eq!(lines[0]["document"]["details"]["n"], 3);
    assert_eq!(count(&*store, "details.n:3"), 0);
    // `/metrics` says so.
    let text = metrics_text(&svc);
    for line in [
        "ferrodef_events_quarantined_total 1",
        "ferrodef_degraded 1",
        "ferrodef_ingest_backlog_events 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    assert!(
        metric(&svc, "ferrodef_indexer_errors_total") >= 3.0,
        "{text}"
    );
    // Indexing goes on.
    fail::remove("store-add-document");
    let out = svc.events("test", &numbered(10..12, "quar"), None).await;
    assert_eq!(out.unwrap().accepted, 2);
    eventually("later events", || count(&*store, "category:quar") == 11);
    svc.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_commits_lose_nothing_acknowledged_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
        let svc = start(dir.path(), store.clone(), Limits::default());
        let out = svc.events("test", &numbered(0..10, "commit"), None).await;
        assert_eq!(out.unwrap().accepted, 10);
        eventually("the first events", || {
            count(&*store, "category:commit") == 10
        });
        fail::cfg("store-commit", "return").unwrap();
        let out = svc.events("test", &numbered(10..30, "commit"), None).await;
        assert_eq!(out.unwrap().accepted, 20);
        eventually("the failure to show", || svc.health().status == "degraded");
        let h = svc.health();
        assert_eq!(h.backlog, 20, "{h:?}");
        assert!(
            h.reasons[0].contains("indexing is failing") && h.reasons[0].contains("store-commit"),
            "{h:?}"
        );
        let text = metrics_text(&svc);
        for line in ["ferrodef_degraded 1", "ferrodef_ingest_backlog_events 20"] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        svc.shutdown();
    }
    // Restarted with a store that commits: the log gives back what was never committed.
    fail::remove("store-commit");
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let svc = start(dir.path(), store.clone(), Limits::default());
    eventually("every event", || count(&*store, "category:commit") == 30);
    for n in 0..30 {
        assert_eq!(count(&*store, &format!("details.n:{n}")), 1, "event {n}");
    }
    let h = svc.health();
    assert_eq!((h.status, h.backlog), ("ok", 0), "{h:?}");
    svc.shutdown();
}

/// Writes syslog lines `pressure i` to `addr` as fast as the connection takes them, until its
/// writes have blocked (`blocked` set) and `release` is set, then `extra` more lines; returns
/// the number of lines written. Partial writes are resumed: every line is sent whole.
fn flood(
    addr: std::net::SocketAddr,
    blocked: Arc<AtomicBool>,
    release: Arc<AtomicBool>,
    extra: usize,
) -> usize {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (mut lines, mut after_release) = (0usize, 0usize);
    let mut chunk = String::new();
    while !release.load(Ordering::Acquire) || after_release < extra {
        chunk.clear();
        for _ in 0..1000 {
            chunk.push_str(&format!("<13>Nov 30 10:00:00 host app: pressure {lines}\n"));
            lines += 1;
            if release.load(Ordering::Acquire) {
                after_release += 1;
            }
        }
        let mut rest = chunk.as_bytes();
        while !rest.is_empty() {
            match c.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    blocked.store(true, Ordering::Release)
                }
                Err(e) => panic!("writing to the syslog listener: {e}"),
            }
        }
    }
    c.flush().unwrap();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_syslog_holds_back_a_fast_sender_while_the_service_is_blocked_and_then_stores_every_line(
) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store_in(dir.path()));
    let limits = Limits {
        max_backlog: 100,
        ..Limits::default()
    };
    let svc = start(dir.path(), store.clone(), limits);
    // The service is blocked: nothing commits, and the backlog is over its limit.
    fail::cfg("store-commit", "return").unwrap();
    let out = svc.events("test", &ndjson(&[0; 200], "before"), None).await;
    assert_eq!(out.unwrap().accepted, 200);
    eventually("indexing to fail", || svc.health().status == "degraded");
    let listener = TcpListener::bind(
        "127.0.0.1:0".parse().unwrap(),
        64 * 1024,
        ListenerLimits::default(),
    )
    .await
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let sink: Arc<dyn RawSink> = Arc::new(svc.clone());
    let running = tokio::spawn(listener.run(sink, stop.clone()));

    let (blocked, release) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let sender = {
        let (blocked, release) = (blocked.clone(), release.clone());
        std::thread::spawn(move || flood(addr, blocked, release, 20_000))
    };
    // The sender is held back once the kernel's buffers and the listener's few batches are
    // full: the service took nothing from the connection meanwhile.
    eventually("the sender's writes to block", || {
        blocked.load(Ordering::Acquire)
    });
    let received = "ferrodef_events_received_total{source=\"syslog_tcp\"}";
    assert_eq!(metric(&svc, received), 0.0);
    assert_eq!(svc.health().backlog, 200);

    // The service drains: every line that was sent is stored, once.
    fail::remove("store-commit");
    release.store(true, Ordering::Release);
    let sent = tokio::task::spawn_blocking(move || sender.join().unwrap())
        .await
        .unwrap();
    eventually_within("every line sent", Duration::from_secs(120), || {
        count(&*store, "summary:pressure") == sent as u64
    });
    assert_eq!(metric(&svc, received), sent as f64);
    assert!(sent > 20_000);
    stop.cancel();
    running.await.unwrap();
    svc.shutdown();
}
