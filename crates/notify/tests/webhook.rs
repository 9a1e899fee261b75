//! The generic webhook and the dispatcher's delivery rules, against a real HTTP server on
//! loopback: signatures (checked by Python's own hmac module), retries with backoff,
//! permanent errors, queue overflow, routing and shutdown.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use common::{alert, config, wait_until, Receiver};
use ferrodef_event::Severity;
use ferrodef_notify::{DeliveryStatus, Dispatcher, NotifyMetrics};

const SECRET: &str = "s3cr3t-key";

/// HMAC-SHA256 by Python's standard library, a second implementation.
fn python_hmac(key: &str, message: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; \
             print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn delivers_signed_json_verified_independently() {
    let rx = Receiver::start().await;
    let cfg = config(&format!(
        r#"
        [[notifiers]]
        name = "hook"
        [notifiers.webhook]
        url = "{}"
        secret = "{SECRET}"
        headers = {{ "X-Team" = "soc" }}
        "#,
        rx.url("hooks/ferrodef")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(1, Severity::Warning, "bruteforce", "bruteforce_ssh");
    let submitted = d.submit(&a);
    assert_eq!(submitted.queued, vec!["hook".to_string()]);
    assert!(wait_until(Duration::from_secs(10), || rx.received().len() == 1).await);

    let req = &rx.received()[0];
    let body: ferrodef_event::Alert = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body, a, "the body is the alert's JSON");
    assert_eq!(
        req.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(req.header("x-team").as_deref(), Some("soc"));
    assert_eq!(
        req.header("x-ferrodef-alert-id").as_deref(),
        Some(a.id.as_str())
    );

    let ts = req
        .header("x-ferrodef-timestamp")
        .expect("timestamp header");
    let ts_num: i64 = ts.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts_num).abs() < 60);
    let mut signed = ts.clone().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&req.body);
    let expected = format!("sha256={}", python_hmac(SECRET, &signed));
    assert_eq!(req.header("x-ferrodef-signature"), Some(expected.clone()));
    // And our verifier agrees, and refuses a replay an hour later.
    let now = chrono::Utc::now().timestamp();
    assert!(ferrodef_notify::notifier::verify(
        SECRET.as_bytes(),
        &ts,
        &req.body,
        &expected,
        now,
        300
    )
    .is_ok());
    assert!(ferrodef_notify::notifier::verify(
        SECRET.as_bytes(),
        &ts,
        &req.body,
        &expected,
        now + 3600,
        300
    )
    .is_err());

    assert!(
        wait_until(Duration::from_secs(5), || d
            .deliveries(&a.id)
            .first()
            .is_some_and(|r| r.status == DeliveryStatus::Delivered))
        .await
    );
    let r = &d.deliveries(&a.id)[0];
    assert_eq!((r.attempts, r.last_error.as_deref()), (1, None));
    assert!(r.delivered_at.is_some());
    let c = d.metrics().counts("hook");
    assert_eq!((c.sent, c.failed, c.retried, c.dropped), (1, 0, 0, 0));
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unsigned_without_secret() {
    let rx = Receiver::start().await;
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"hook\"\n[notifiers.webhook]\nurl = \"{}\"\ninclude_events = false\n",
        rx.url("h")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    d.submit(&alert(2, Severity::Notice, "c", "r"));
    assert!(wait_until(Duration::from_secs(10), || rx.received().len() == 1).await);
    let req = &rx.received()[0];
    assert!(req.header("x-ferrodef-signature").is_none());
    assert_eq!(req.json()["events"], serde_json::json!([]));
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn retries_with_backoff_until_the_receiver_recovers() {
    let rx = Receiver::failing(3, StatusCode::SERVICE_UNAVAILABLE).await;
    let cfg = config(&format!(
        r#"
        [[notifiers]]
        name = "flaky"
        [notifiers.retry]
        max_attempts = 6
        initial_backoff = "100ms"
        max_backoff = "1s"
        jitter = false
        [notifiers.webhook]
        url = "{}"
        "#,
        rx.url("h")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(3, Severity::Error, "c", "r");
    let start = std::time::Instant::now();
    d.submit(&a);
    // While retrying, the record says so.
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&a.id)[0].status
            == DeliveryStatus::Retrying)
        .await
    );
    let r = d.deliveries(&a.id)[0].clone();
    assert!(r.last_error.as_deref().unwrap().contains("503"), "{r:?}");
    assert!(r.next_attempt_at.is_some());

    assert!(wait_until(Duration::from_secs(10), || rx.received().len() == 1).await);
    let elapsed = start.elapsed();
    // Waits of 100 + 200 + 400 ms before the fourth attempt.
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert_eq!(rx.hits(), 4);
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&a.id)[0].status
            == DeliveryStatus::Delivered)
        .await
    );
    let r = &d.deliveries(&a.id)[0];
    assert_eq!(r.attempts, 4);
    assert!(
        r.last_error.as_deref().unwrap().contains("503"),
        "the last error stays visible"
    );
    let c = d.metrics().counts("flaky");
    assert_eq!((c.sent, c.retried, c.failed), (1, 3, 0));
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_on_permanent_errors() {
    let down = Receiver::failing(usize::MAX, StatusCode::BAD_GATEWAY).await;
    let refused = Receiver::failing(usize::MAX, StatusCode::UNAUTHORIZED).await;
    let cfg = config(&format!(
        r#"
        [[notifiers]]
        name = "down"
        retry = {{ max_attempts = 3, initial_backoff = "10ms", max_backoff = "20ms" }}
        webhook = {{ url = "{}" }}
        [[notifiers]]
        name = "refused"
        retry = {{ max_attempts = 3, initial_backoff = "10ms", max_backoff = "20ms" }}
        webhook = {{ url = "{}" }}
        "#,
        down.url("h"),
        refused.url("h")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(4, Severity::Error, "c", "r");
    assert_eq!(d.submit(&a).queued.len(), 2);
    assert!(
        wait_until(Duration::from_secs(10), || d
            .deliveries(&a.id)
            .iter()
            .all(|r| r.status.is_final()))
        .await
    );
    let recs = d.deliveries(&a.id);
    let down_rec = recs.iter().find(|r| r.notifier == "down").unwrap();
    assert_eq!(
        (down_rec.status, down_rec.attempts),
        (DeliveryStatus::Failed, 3)
    );
    assert!(down_rec.last_error.as_deref().unwrap().contains("502"));
    assert!(down_rec
        .last_error
        .as_deref()
        .unwrap()
        .contains("3 attempts"));
    let refused_rec = recs.iter().find(|r| r.notifier == "refused").unwrap();
    assert_eq!(
        (refused_rec.status, refused_rec.attempts),
        (DeliveryStatus::Failed, 1)
    );
    assert!(refused_rec.last_error.as_deref().unwrap().contains("401"));
    assert_eq!(down.hits(), 3);
    assert_eq!(refused.hits(), 1);
    assert_eq!(d.metrics().counts("down").failed, 1);
    assert_eq!(d.metrics().counts("down").retried, 2);
    assert_eq!(d.metrics().counts("refused").retried, 0);
    let text = d.metrics().render();
    assert!(
        text.contains("ferrodef_notify_failed_total{notifier=\"down\"} 1"),
        "{text}"
    );
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn connection_refused_is_retried_and_recorded() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"nobody\"\nretry = {{ max_attempts = 2, initial_backoff = \"10ms\" }}\nwebhook = {{ url = \"http://127.0.0.1:{port}/x\", timeout = \"2s\" }}\n"
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(5, Severity::Error, "c", "r");
    d.submit(&a);
    assert!(
        wait_until(Duration::from_secs(10), || d.deliveries(&a.id)[0]
            .status
            .is_final())
        .await
    );
    let r = &d.deliveries(&a.id)[0];
    assert_eq!((r.status, r.attempts), (DeliveryStatus::Failed, 2));
    assert!(
        r.last_error.as_deref().unwrap().contains("cannot connect"),
        "{r:?}"
    );
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn overflow_is_counted_and_recorded_never_silent() {
    // A slow receiver, one delivery at a time, a queue of 2: of 10 alerts submitted at once,
    // 1 is in flight, 2 wait, 7 are dropped.
    let rx = Receiver::with(0, StatusCode::OK, Duration::from_millis(300)).await;
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"slow\"\nqueue_size = 2\nmax_in_flight = 1\nwebhook = {{ url = \"{}\" }}\n",
        rx.url("h")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let first = alert(100, Severity::Error, "c", "r");
    d.submit(&first);
    // Let the worker take the first one.
    assert!(wait_until(Duration::from_secs(5), || rx.hits() == 1).await);
    let mut dropped = Vec::new();
    for n in 101..110 {
        let a = alert(n, Severity::Error, "c", "r");
        let s = d.submit(&a);
        if !s.dropped.is_empty() {
            dropped.push(a.id.clone());
        }
    }
    assert_eq!(dropped.len(), 7, "2 fit in the queue");
    let c = d.metrics().counts("slow");
    assert_eq!((c.dropped, c.dropped_queue_full), (7, 7));
    let r = &d.deliveries(&dropped[0])[0];
    assert_eq!(r.status, DeliveryStatus::Dropped);
    assert!(r.last_error.as_deref().unwrap().contains("queue full"));
    assert!(d
        .metrics()
        .render()
        .contains("ferrodef_notify_dropped_total{notifier=\"slow\",reason=\"queue_full\"} 7"));
    assert!(wait_until(Duration::from_secs(10), || rx.received().len() == 3).await);
    assert_eq!(d.metrics().counts("slow").sent, 3);
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn routes_by_severity_category_rule_and_kind() {
    let all = Receiver::start().await;
    let pager = Receiver::start().await;
    let ssh = Receiver::start().await;
    let cfg = config(&format!(
        r#"
        [[notifiers]]
        name = "all"
        webhook = {{ url = "{}" }}

        [[notifiers]]
        name = "pager"
        route = {{ min_severity = "CRITICAL" }}
        webhook = {{ url = "{}" }}

        [[notifiers]]
        name = "ssh"
        route = {{ categories = ["bruteforce"], rules = ["*ssh*"], rule_kinds = ["mozdef"] }}
        webhook = {{ url = "{}" }}

        [[notifiers]]
        name = "off"
        enabled = false
        webhook = {{ url = "{}" }}
        "#,
        all.url("h"),
        pager.url("h"),
        ssh.url("h"),
        all.url("off")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    assert_eq!(d.notifiers(), vec!["all", "pager", "ssh"]);
    let low_ssh = alert(200, Severity::Notice, "bruteforce", "bruteforce_ssh");
    let critical_other = alert(201, Severity::Critical, "deadman", "deadman_host1");
    let mut sigma_ssh = alert(202, Severity::Critical, "bruteforce", "sigma_ssh_brute");
    sigma_ssh.rule_kind = ferrodef_event::RuleKind::Sigma;
    assert_eq!(d.submit(&low_ssh).queued, vec!["all", "ssh"]);
    assert_eq!(d.submit(&critical_other).queued, vec!["all", "pager"]);
    assert_eq!(d.submit(&sigma_ssh).queued, vec!["all", "pager"]);
    assert!(
        wait_until(Duration::from_secs(10), || all.received().len() == 3
            && pager.received().len() == 2
            && ssh.received().len() == 1)
        .await
    );
    let ids = |r: &Receiver| {
        let mut v: Vec<String> = r
            .received()
            .iter()
            .map(|q| q.json()["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&ssh), vec![low_ssh.id.clone()]);
    let mut want = vec![critical_other.id.clone(), sigma_ssh.id.clone()];
    want.sort();
    assert_eq!(ids(&pager), want);
    assert_eq!(
        d.deliveries(&low_ssh.id).len(),
        2,
        "one record per routed notifier"
    );
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn submit_never_waits_on_a_hung_receiver() {
    // The receiver takes 5 s per request; submitting 50 alerts must take next to no time.
    let rx = Receiver::with(0, StatusCode::OK, Duration::from_secs(5)).await;
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"hung\"\nmax_in_flight = 2\nqueue_size = 100\nwebhook = {{ url = \"{}\", timeout = \"10s\" }}\n",
        rx.url("h")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let start = std::time::Instant::now();
    for n in 0..50 {
        assert_eq!(
            d.submit(&alert(300 + n, Severity::Error, "c", "r"))
                .queued
                .len(),
            1
        );
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    // Shutdown is bounded by its grace period even so; what was not delivered is recorded.
    let start = std::time::Instant::now();
    let report = d.shutdown(Duration::from_millis(300)).await;
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(!report.flushed);
    assert_eq!(report.abandoned, 50);
}

#[tokio::test]
async fn shutdown_flushes_queued_alerts_and_cuts_retry_waits() {
    let rx = Receiver::failing(1, StatusCode::SERVICE_UNAVAILABLE).await;
    let cfg = config(&format!(
        r#"
        [[notifiers]]
        name = "hook"
        max_in_flight = 1
        retry = {{ initial_backoff = "1h", max_backoff = "1h", max_age = "2h" }}
        webhook = {{ url = "{}" }}
        "#,
        rx.url("h")
    ));
    let metrics = NotifyMetrics::new();
    let d = Dispatcher::start(cfg, metrics.clone()).unwrap();
    let first = alert(400, Severity::Error, "c", "r");
    d.submit(&first);
    // The first attempt fails and waits an hour to retry; the others queue behind it.
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&first.id)[0].status
            == DeliveryStatus::Retrying)
        .await
    );
    let rest: Vec<_> = (401..404)
        .map(|n| alert(n, Severity::Error, "c", "r"))
        .collect();
    for a in &rest {
        d.submit(a);
    }
    let start = std::time::Instant::now();
    let report = d.shutdown(Duration::from_secs(10)).await;
    assert!(report.flushed, "{report:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the hour-long wait was cut short"
    );
    assert_eq!(
        rx.received().len(),
        4,
        "the retried alert and the queued ones went out"
    );
    assert_eq!(metrics.counts("hook").sent, 4);
    assert_eq!(metrics.counts("hook").pending, 0);
}

#[test]
fn config_errors_say_which_notifier_and_field() {
    let bad = |text: &str| {
        ferrodef_notify::NotifyConfig::from_toml_str(text)
            .unwrap_err()
            .to_string()
    };
    let e = bad("[[notifiers]]\nname = \"a\"\nwebhook = { url = \"http://x\" }\n[[notifiers]]\nname = \"a\"\nwebhook = { url = \"http://y\" }\n");
    assert!(e.contains("'a'") && e.contains("name"), "{e}");
    let e = bad("[[notifiers]]\nname = \"two\"\nwebhook = { url = \"http://x\" }\nslack = { url = \"http://y\" }\n");
    assert!(
        e.contains("exactly one") && e.contains("webhook, slack"),
        "{e}"
    );
    let e = bad("[[notifiers]]\nname = \"none\"\n");
    assert!(e.contains("exactly one") && e.contains("none"), "{e}");
    let e = bad("[[notifiers]]\nname = \"q\"\nqueue_size = 0\nwebhook = { url = \"http://x\" }\n");
    assert!(e.contains("queue_size"), "{e}");
    let e = bad("[[notifiers]]\nname = \"r\"\nretry = { max_attempts = 0 }\nwebhook = { url = \"http://x\" }\n");
    assert!(e.contains("retry.max_attempts"), "{e}");
    let e = bad("[[notifiers]]\nname = \"u\"\nwebhook = { url = \"not a url\" }\n");
    assert!(e.contains("webhook.url"), "{e}");
    let e = bad("[[notifiers]]\nname = \"k\"\nwebhook = { url = \"http://x\", sekret = \"a\" }\n");
    assert!(e.contains("sekret") && e.contains("line 3"), "{e}");
}
