//! `ferrodef bench`: the end-to-end load tool. It sends generated MozDef-style events (a
//! realistic mix of sshd, sudo, proxy and web events) over HTTP bulk to a running server (or one
//! it starts), and reports accepted events/s, the time until all are searchable, and the
//! server's peak RSS; `bench query` times a needle search and a histogram aggregation.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// `ferrodef bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Sends generated events over HTTP bulk and measures ingest.
    Ingest(IngestArgs),
    /// Times a needle query and a date histogram with a terms sub-aggregation.
    Query(QueryArgs),
    /// Loads a store (10 M events over days by default) and times the web console's requests
    /// (search page, needle, field top values, dashboard) as it sends them, cold and warm.
    Console(crate::bench_console::ConsoleArgs),
    /// Sends generated syslog lines over TCP and measures until all are searchable.
    Syslog(crate::bench_syslog::SyslogBenchArgs),
    /// Indexes generated events straight into a fresh embedded store (no HTTP) and measures
    /// the store alone.
    Store(crate::bench_store::StoreBenchArgs),
    /// Kills the server with SIGKILL at random moments under mixed load, then checks that every
    /// acknowledged event is stored exactly once.
    Chaos(crate::bench_chaos::ChaosArgs),
    /// Runs the configured rules over the generated mix on one thread (no HTTP, no store) and
    /// measures the detect stage alone.
    Detect(crate::bench_detect::DetectBenchArgs),
}

/// Options of `bench ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Server to load; without it a server is started on a temporary data directory
    #[arg(long)]
    pub server: Option<String>,
    /// Data directory of the started server (default: a temporary one, removed after)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Number of events
    #[arg(long, short = 'n', default_value_t = 200_000)]
    pub events: usize,
    /// Events per bulk request
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Concurrent requests
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Spread event times over the last N hours
    #[arg(long, default_value_t = 24)]
    pub spread_hours: u32,
    /// Events whose source IP is the needle 203.0.113.7
    #[arg(long, default_value_t = 10)]
    pub needles: usize,
    /// Event times in the order of the events (oldest first, as live ingest sends them)
    /// instead of random within the spread; the needles are then spread evenly in time
    #[arg(long)]
    pub time_ordered: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Keep the started server running after the run (prints its address)
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub auth: crate::client_auth::ClientAuth,
}

/// Options of `bench query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Server to query
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Runs of each query after its first (the first is reported apart: cold caches)
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: crate::client_auth::ClientAuth,
}

/// Runs a bench subcommand.
pub async fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Ingest(a) => ingest(a).await,
        BenchCmd::Query(a) => query(a).await,
        BenchCmd::Console(a) => crate::bench_console::run(a).await,
        BenchCmd::Syslog(a) => crate::bench_syslog::run(a).await,
        BenchCmd::Chaos(a) => crate::bench_chaos::run(a).await,
        BenchCmd::Detect(a) => {
            tokio::task::spawn_blocking(move || crate::bench_detect::run(a)).await?
        }
        BenchCmd::Store(a) => {
            tokio::task::spawn_blocking(move || crate::bench_store::run(a)).await?
        }
    }
}

pub use ferrodef_event::bench_mix::{generate, generate_at, Times};

async fn ingest(a: IngestArgs) -> anyhow::Result<()> {
    ingest_run(a, true).await.map(|_| ())
}

/// Runs `bench ingest` and answers its result (as printed with `--json`); prints it when
/// `print`.
pub(crate) async fn ingest_run(a: IngestArgs, print: bool) -> anyhow::Result<Value> {
    if a.batch == 0 || a.concurrency == 0 {
        bail!("--batch and --concurrency must be at least 1");
    }
    let (server, spawned) = match &a.server {
        Some(s) => (s.trim_end_matches('/').to_string(), None),
        None => {
            let s = crate::local::spawn_server(a.data_dir.clone(), &[])?;
            (s.url.clone(), Some(s))
        }
    };
    let client = match &spawned {
        Some(s) => s.client()?,
        None => a.auth.client()?,
    };
    // The run reads the server's status and searches its events: fail now, before generating
    // and sending anything, when the credentials do not allow that.
    answer(
        client.get(format!("{server}/status")),
        &format!("GET {server}/status"),
    )
    .await?;
    // Nor ingest: a refusal of a megabyte body may reach the client only as a closed
    // connection (the server answers before reading the body it refuses), so the server's
    // refusal is asked for with an empty body, whose answer is always read.
    let me = answer(
        client.get(format!("{server}/api/me")),
        &format!("GET {server}/api/me"),
    )
    .await?;
    if me["permissions"]["ingest"] != Value::Bool(true) {
        let what = format!("POST {server}/_bulk");
        answer(client.post(format!("{server}/_bulk")).body(""), &what).await?;
        bail!("{what}: the credentials given do not allow ingest");
    }
    let run = format!("run{}", Utc::now().timestamp_millis());
    let now_ms = Utc::now().timestamp_millis();
    let spread_ms = i64::from(a.spread_hours) * 3_600_000;
    let batches = a.events.div_ceil(a.batch);
    let needle_every = a
        .events
        .checked_div(a.needles)
        .map_or(usize::MAX, |n| n.max(1));
    // Bodies are generated before the clock starts (on every core), so that the measurement is
    // the server's: the load tool shares the machine. Only when they would not fit in half the
    // available memory are they generated during the run, which the result says.
    let (events, batch) = (a.events, a.batch);
    let times = if a.time_ordered {
        Times::Ordered {
            spread_ms,
            now_ms,
            events,
        }
    } else {
        Times::Random { spread_ms, now_ms }
    };
    let make_body = {
        let run = run.clone();
        move |b: usize| -> anyhow::Result<bytes::Bytes> {
            let mut body = Vec::with_capacity(batch * 600);
            for i in b * batch..((b + 1) * batch).min(events) {
                body.extend_from_slice(b"{\"index\":{}}\n");
                serde_json::to_writer(
                    &mut body,
                    &generate_at(i, &run, times, i % needle_every == 0),
                )?;
                body.push(b'\n');
            }
            Ok(body.into())
        }
    };
    let pregenerate = (a.events as u64).saturating_mul(BODY_BYTES_PER_EVENT)
        <= mem_available_bytes().unwrap_or(0) / 2;
    let bodies: Arc<Vec<bytes::Bytes>> = Arc::new(if pregenerate {
        generate_all(batches, &make_body)?
    } else {
        Vec::new()
    });
    let make_body = Arc::new(make_body);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (next, accepted, rejected) = (next.clone(), accepted.clone(), rejected.clone());
        let (client, server) = (client.clone(), server.clone());
        let (bodies, make_body) = (bodies.clone(), make_body.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    return Ok::<(), anyhow::Error>(());
                }
                let body = match bodies.get(b) {
                    Some(body) => body.clone(),
                    None => make_body(b)?,
                };
                let v = answer(
                    client
                        .post(format!("{server}/_bulk"))
                        .header("content-type", "application/x-ndjson")
                        .body(body),
                    &format!("POST {server}/_bulk"),
                )
                .await?;
                accepted.fetch_add(v["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
                rejected.fetch_add(v["rejected"].as_u64().unwrap_or(0), Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let send_secs = started.elapsed().as_secs_f64();
    let acked = Instant::now();
    let total_accepted = accepted.load(Ordering::Relaxed);
    // Wait until every accepted event of this run is searchable.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let v = answer(
            client.get(format!("{server}/api/search")).query(&[
                ("q", format!("details.benchrun:{run}")),
                ("size", "0".into()),
            ]),
            &format!("GET {server}/api/search"),
        )
        .await?;
        if v["total"].as_u64() == Some(total_accepted) {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {total_accepted} events searchable after 600 s",
                v["total"]
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let searchable_secs = started.elapsed().as_secs_f64();
    let lag_ms = acked.elapsed().as_secs_f64() * 1000.0;
    let status = answer(
        client.get(format!("{server}/status")),
        &format!("GET {server}/status"),
    )
    .await?;
    let peak = status["peak_rss_bytes"].as_u64().unwrap_or(0);
    let result = json!({
        "events": a.events, "batch": a.batch, "concurrency": a.concurrency,
        "accepted": total_accepted, "rejected": rejected.load(Ordering::Relaxed),
        "send_seconds": send_secs,
        "accepted_per_second": total_accepted as f64 / send_secs,
        "all_searchable_seconds": searchable_secs,
        "searchable_lag_after_last_ack_ms": lag_ms,
        "end_to_end_per_second": total_accepted as f64 / searchable_secs,
        "server_peak_rss_mib": peak as f64 / 1048576.0,
        "bodies_pregenerated": pregenerate,
        "server": server,
    });
    if print && a.json {
        println!("{result}");
    } else if print {
        println!(
            "events sent:             {} in batches of {} ({} concurrent)",
            a.events, a.batch, a.concurrency
        );
        println!(
            "accepted / rejected:     {} / {}",
            total_accepted, result["rejected"]
        );
        println!(
            "accepted events/s:       {:.0}  ({send_secs:.2} s)",
            result["accepted_per_second"].as_f64().unwrap_or(0.0)
        );
        println!(
            "all searchable after:    {searchable_secs:.2} s  ({lag_ms:.0} ms after the last ack)"
        );
        println!(
            "end-to-end events/s:     {:.0}",
            result["end_to_end_per_second"].as_f64().unwrap_or(0.0)
        );
        println!(
            "server peak RSS:         {:.0} MiB",
            peak as f64 / 1048576.0
        );
        if !pregenerate {
            println!("(bodies were generated during the run: not enough memory to hold them)");
        }
    }
    if a.keep {
        if let Some(s) = spawned {
            println!("server kept running at {server} (pid {})", s.pid());
            println!("its token (read and ingest, not revoked): {}", s.token);
            std::mem::forget(s);
        }
    }
    Ok(result)
}

/// Sends a request and reads its JSON answer. A refusal fails with the server's message and,
/// for 401 and 403, which credentials to give; `what` names the request in errors.
async fn answer(req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let resp = req
        .send()
        .await
        .with_context(|| format!("{what}: sending"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    let parsed = serde_json::from_str::<Value>(&text);
    if !status.is_success() {
        let msg = parsed
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
            .unwrap_or(text);
        match crate::client_auth::explain_refusal(status) {
            Some(hint) => bail!("{what} answered {status}: {msg}\n  {hint}"),
            None => bail!("{what} answered {status}: {msg}"),
        }
    }
    parsed.with_context(|| format!("{what}: the answer is not JSON"))
}

/// Upper bound of a generated event's size in a bulk body (action line included), in bytes.
const BODY_BYTES_PER_EVENT: u64 = 700;

/// `MemAvailable` of /proc/meminfo, in bytes.
fn mem_available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Generates every bulk body, on as many threads as there are cores.
fn generate_all(
    batches: usize,
    make_body: &(dyn Fn(usize) -> anyhow::Result<bytes::Bytes> + Sync),
) -> anyhow::Result<Vec<bytes::Bytes>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = batches.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..batches)
            .step_by(per)
            .map(|first| {
                s.spawn(move || {
                    (first..(first + per).min(batches))
                        .map(make_body)
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(batches);
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("a body generator thread panicked"))??;
            all.extend(part);
        }
        Ok(all)
    })
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A named request: (name, path, query parameters).
type QueryCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

async fn query(a: QueryArgs) -> anyhow::Result<()> {
    let client = a.auth.client()?;
    let server = a.server.trim_end_matches('/');
    // The scaling curve's queries (BENCHMARKS.md): a needle, a phrase's first page, 24 h
    // histograms with exact top values, and exact top values of a frequent and of a
    // near-unique field.
    let failures = "details.success:false";
    let cases: Vec<QueryCase> = vec![
        (
            "needle",
            "/api/search",
            vec![
                ("q", "details.sourceipaddress:203.0.113.7"),
                ("size", "100"),
            ],
        ),
        (
            "phrase_first_page",
            "/api/search",
            vec![("q", "summary:\"failed password\""), ("size", "100")],
        ),
        (
            "phrase_first_page_24h",
            "/api/search",
            vec![
                ("q", "summary:\"failed password\""),
                ("size", "100"),
                ("from", "now-24h"),
                ("to", "now"),
            ],
        ),
        (
            "histogram_24h_1h_terms",
            "/api/aggregate",
            vec![
                ("q", "*"),
                ("from", "now-24h"),
                ("to", "now"),
                ("interval", "1h"),
                ("terms", "category"),
            ],
        ),
        (
            "failures_histogram_24h_1h_users",
            "/api/aggregate",
            vec![
                ("q", failures),
                ("from", "now-24h"),
                ("to", "now"),
                ("interval", "1h"),
                ("terms", "details.username"),
            ],
        ),
        (
            "failures_top_users",
            "/api/aggregate",
            vec![("q", failures), ("terms", "details.username")],
        ),
        (
            "top_source_ips_24h",
            "/api/aggregate",
            vec![
                ("q", "*"),
                ("from", "now-24h"),
                ("to", "now"),
                ("terms", "details.sourceipaddress"),
            ],
        ),
    ];
    let status = answer(
        client.get(format!("{server}/status")),
        &format!("GET {server}/status"),
    )
    .await?;
    let mut out = serde_json::Map::new();
    out.insert("events_stored".into(), status["events_stored"].clone());
    for (name, path, params) in cases {
        let mut times = Vec::with_capacity(a.runs + 1);
        let mut total = 0;
        for _ in 0..=a.runs.max(1) {
            let t = Instant::now();
            let v = answer(
                client.get(format!("{server}{path}")).query(&params),
                &format!("{name} (GET {server}{path})"),
            )
            .await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = v["total"].as_u64().unwrap_or(0);
        }
        // The first run reads what is not cached yet; the percentiles are of the others.
        let first = times.remove(0);
        times.sort_by(|x, y| x.total_cmp(y));
        out.insert(
            name.into(),
            json!({"matches": total, "first_ms": first, "p50_ms": percentile(&times, 0.5),
                   "p90_ms": percentile(&times, 0.9), "max_ms": percentile(&times, 1.0),
                   "runs": times.len()}),
        );
    }
    let out = Value::Object(out);
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
