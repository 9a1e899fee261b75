//! What the integration tests share: alerts, a capturing HTTP receiver, waiting, and the
//! rule for tests that need an outside service.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use ferrodef_event::{Alert, RuleKind, Severity};
use parking_lot::Mutex;

/// The sample alert with its own id, severity, category and rule.
pub fn alert(n: u64, severity: Severity, category: &str, rule: &str) -> Alert {
    let mut a = ferrodef_notify::sample_alert();
    a.id = Alert::new_id(a.utctimestamp, n);
    a.severity = severity;
    a.category = category.into();
    a.rule = rule.into();
    a.rule_kind = RuleKind::Mozdef;
    a
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Requests still to answer with `fail_status`.
    failures_left: AtomicUsize,
    fail_status: StatusCode,
    /// Requests seen (including failed ones).
    hits: AtomicUsize,
    delay: Duration,
}

/// A local HTTP server recording every POST; it can fail the first N requests.
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Receiver {
        Receiver::failing(0, StatusCode::OK).await
    }

    /// Answers `status` to the first `failures` requests, then 200.
    pub async fn failing(failures: usize, status: StatusCode) -> Receiver {
        Receiver::with(failures, status, Duration::ZERO).await
    }

    /// Like [`failing`], and waits `delay` before answering any request.
    pub async fn with(failures: usize, status: StatusCode, delay: Duration) -> Receiver {
        let state = Arc::new(ReceiverState {
            received: Mutex::new(Vec::new()),
            failures_left: AtomicUsize::new(failures),
            fail_status: status,
            hits: AtomicUsize::new(0),
            delay,
        });
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    /// The successful requests so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().clone()
    }

    /// All requests so far, failed ones included.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }
}

async fn receive(
    State(st): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    st.hits.fetch_add(1, Ordering::SeqCst);
    if !st.delay.is_zero() {
        tokio::time::sleep(st.delay).await;
    }
    let fail = st
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if fail {
        return st.fail_status;
    }
    st.received.lock().push(Received {
        headers,
        body,
        at: Instant::now(),
    });
    StatusCode::OK
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// For tests that need an outside service (RabbitMQ, the SMTP server): `Ok` runs the test;
/// an error fails it under CI (`CI=true`) and skips it, saying why, otherwise.
pub fn require(service: &str, available: Result<(), String>) -> bool {
    match available {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{service} is needed under CI and is not available: {why}");
            }
            eprintln!(
                "SKIPPED: {service} is not available ({why}); set it up as scripts/test does"
            );
            false
        }
    }
}

/// A configuration from TOML text.
pub fn config(toml_text: &str) -> ferrodef_notify::NotifyConfig {
    ferrodef_notify::NotifyConfig::from_toml_str(toml_text)
        .unwrap_or_else(|e| panic!("bad test configuration: {e}\n{toml_text}"))
}
