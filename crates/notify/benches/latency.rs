//! Alert latency: from `Dispatcher::submit` to the alert's arrival at a local webhook.
//!
//! Two measurements:
//! - criterion, `submit_to_webhook/idle`: one alert at a time, round trip to the receiver;
//! - a load run (printed as `latency under load: …`): alerts submitted at a steady rate
//!   (default 2,000/s for 10 s; `FERRODEF_NOTIFY_BENCH_RATE`, `FERRODEF_NOTIFY_BENCH_SECONDS`),
//!   each alert's latency taken when the receiver gets it; p50, p99 and max. The target is
//!   p99 < 1 s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use criterion::{criterion_group, Criterion};
use ferrodef_event::Alert;
use ferrodef_notify::{Dispatcher, NotifyConfig, NotifyMetrics};
use parking_lot::Mutex;
use tokio::sync::Notify;

type Arrivals = Arc<(Mutex<HashMap<String, Instant>>, Notify)>;

async fn receive(State(arrivals): State<Arrivals>, headers: HeaderMap, _body: Bytes) -> StatusCode {
    let now = Instant::now();
    if let Some(id) = headers
        .get("x-ferrodef-alert-id")
        .and_then(|v| v.to_str().ok())
    {
        arrivals.0.lock().insert(id.to_string(), now);
        arrivals.1.notify_waiters();
    }
    StatusCode::OK
}

struct Rig {
    rt: tokio::runtime::Runtime,
    dispatcher: Dispatcher,
    arrivals: Arrivals,
}

fn rig() -> Rig {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let arrivals: Arrivals = Arc::new((Mutex::new(HashMap::new()), Notify::new()));
    let addr = rt.block_on(async {
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&arrivals));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    });
    let config = NotifyConfig::from_toml_str(&format!(
        r#"
        [[notifiers]]
        name = "bench"
        queue_size = 100000
        max_in_flight = 64
        [notifiers.webhook]
        url = "http://{addr}/hook"
        secret = "bench-secret"
        "#
    ))
    .expect("config");
    let dispatcher = rt
        .block_on(async { Dispatcher::start(config, NotifyMetrics::new()) })
        .expect("dispatcher");
    Rig {
        rt,
        dispatcher,
        arrivals,
    }
}

fn alert(n: u64) -> Alert {
    let mut a = ferrodef_notify::sample_alert();
    a.id = Alert::new_id(a.utctimestamp, n);
    a
}

fn idle(c: &mut Criterion) {
    let rig = rig();
    let mut n = 0u64;
    c.bench_function("submit_to_webhook/idle", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let a = alert(n);
                let start = Instant::now();
                rig.dispatcher.submit(&a);
                rig.rt.block_on(async {
                    loop {
                        let notified = rig.arrivals.1.notified();
                        if rig.arrivals.0.lock().contains_key(&a.id) {
                            break;
                        }
                        let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Steady load: `rate` alerts/s for `seconds`, submitted in 10 ms batches.
fn under_load(rate: u64, seconds: u64) {
    let rig = rig();
    let total = rate * seconds;
    let per_batch = (rate / 100).max(1);
    let mut submitted: HashMap<String, Instant> = HashMap::with_capacity(total as usize);
    let start = Instant::now();
    let mut n = 1_000_000u64;
    let mut batch = 0u64;
    while (submitted.len() as u64) < total {
        let due = start + Duration::from_millis(10 * batch);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        for _ in 0..per_batch.min(total - submitted.len() as u64) {
            n += 1;
            let a = alert(n);
            let t = Instant::now();
            rig.dispatcher.submit(&a);
            submitted.insert(a.id, t);
        }
        batch += 1;
    }
    let submit_secs = start.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rig.arrivals.0.lock().len() < submitted.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let arrivals = rig.arrivals.0.lock().clone();
    let mut lat: Vec<Duration> = submitted
        .iter()
        .filter_map(|(id, t)| arrivals.get(id).map(|a| a.duration_since(*t)))
        .collect();
    lat.sort();
    let counts = rig.dispatcher.metrics().counts("bench");
    println!(
        "latency under load: {} alerts at {:.0}/s: delivered {}, dropped {}, failed {}; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total,
        total as f64 / submit_secs,
        lat.len(),
        counts.dropped,
        counts.failed,
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    let Rig { rt, dispatcher, .. } = rig;
    rt.block_on(dispatcher.shutdown(Duration::from_secs(5)));
}

criterion_group!(benches, idle);

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then a short run.
    let full = std::env::args().any(|a| a == "--bench");
    let (rate, seconds) = if full {
        (
            env_num("FERRODEF_NOTIFY_BENCH_RATE", 2_000),
            env_num("FERRODEF_NOTIFY_BENCH_SECONDS", 10),
        )
    } else {
        (200, 1)
    };
    under_load(rate, seconds);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
