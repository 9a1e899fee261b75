//! `ferrodef bench console`: the web console's requests over a large store, timed as the
//! console sends them.
//!
//! With `--load` it first fills the data directory with `bench ingest`'s mix (10 M events over
//! seven days by default, in time order as live ingest sends them; detection off while loading,
//! as only the store matters here). Then it starts `ferrodef serve` on the data directory, logs
//! in as a console user (a session cookie, the `X-Requested-With` header the console sends) and
//! issues what each console screen issues at once (`crates/console/web/src/pages`), waiting, as
//! the console does, for all of a screen's requests:
//!
//! * `search_page`: the search page as it opens (last 24 h, empty query): the newest 100 events
//!   and the histogram (`interval=30m`, what `pickInterval` gives for 24 h);
//! * `needle_page`: the same with the query `details.sourceipaddress:203.0.113.7`;
//! * `top_<field>`: a field of the sidebar opened: its top 10 values over the 24 h;
//! * `dashboard`: the five panels of the overview, all at once.
//!
//! Cold: the server is started anew (`--drop-caches` also empties the kernel's page cache)
//! and the screens are opened once, in that order, as an analyst would. Warm: every screen
//! `--runs` times more on the last server.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, COOKIE, SET_COOKIE};
use serde_json::{json, Map, Value};

use crate::bench::{ingest_run, percentile, IngestArgs};
use crate::client_auth::ClientAuth;
use crate::local::{local_actor, open_auth, spawn_server, LocalServer};

/// Options of `bench console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Data directory to measure (and to fill with --load)
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Fill the data directory first (it must hold no store yet)
    #[arg(long)]
    pub load: bool,
    /// Events to load
    #[arg(long, short = 'n', default_value_t = 10_000_000)]
    pub events: usize,
    /// Loaded events cover the last N hours (7 days: the last 24 h hold a seventh)
    #[arg(long, default_value_t = 168)]
    pub spread_hours: u32,
    /// Events per bulk request while loading
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Events whose source address is the needle 203.0.113.7
    #[arg(long, default_value_t = 20)]
    pub needles: usize,
    /// Cold runs: each starts the server anew and opens every screen once
    #[arg(long, default_value_t = 3)]
    pub cold_runs: usize,
    /// Warm runs of every screen, after the cold ones
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Empty the kernel's page cache before each cold start (needs root)
    #[arg(long)]
    pub drop_caches: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// The needle the loader plants and the console looks for.
const NEEDLE: &str = "details.sourceipaddress:203.0.113.7";
/// The console's default range (`DEFAULT_RANGE` in `time.ts`).
const FROM: &str = "now-24h";
const TO: &str = "now";
/// `pickInterval` of 24 h: 80 bars at most on the search page, 60 on the dashboard; both 30m.
const INTERVAL: &str = "30m";
/// The sidebar's common fields (`COMMON_FIELDS` of `search.tsx`) but `summary`, which is text
/// and has no top values.
const SIDEBAR_FIELDS: [&str; 10] = [
    "category",
    "hostname",
    "severity",
    "source",
    "processname",
    "tags",
    "details.sourceipaddress",
    "details.destinationipaddress",
    "details.username",
    "details.success",
];
/// The console user the bench logs in as.
const BENCH_USER: &str = "console-bench";

/// One request: label, path, query parameters.
type Req = (String, &'static str, Vec<(&'static str, String)>);

fn search_page(q: &str) -> Vec<Req> {
    let base = |extra: Vec<(&'static str, String)>| {
        let mut p = vec![
            ("q", q.to_string()),
            ("from", FROM.to_string()),
            ("to", TO.to_string()),
        ];
        p.extend(extra);
        p
    };
    vec![
        (
            "search".into(),
            "/api/search",
            base(vec![
                ("size", "100".into()),
                ("sort", "utctimestamp:desc".into()),
            ]),
        ),
        (
            "histogram".into(),
            "/api/aggregate",
            base(vec![("interval", INTERVAL.into())]),
        ),
    ]
}

fn top_values(field: &str) -> Vec<Req> {
    vec![(
        "terms".into(),
        "/api/aggregate",
        vec![
            ("q", String::new()),
            ("from", FROM.into()),
            ("to", TO.into()),
            ("terms", field.into()),
            ("size", "10".into()),
        ],
    )]
}

/// The panels of `dashboards.tsx`, with the parameters it sends.
fn dashboard() -> Vec<Req> {
    let range = |mut p: Vec<(&'static str, String)>| {
        p.push(("from", FROM.into()));
        p.push(("to", TO.into()));
        p
    };
    vec![
        (
            "categories".into(),
            "/api/aggregate",
            range(vec![
                ("interval", INTERVAL.into()),
                ("terms", "category".into()),
                ("size", "8".into()),
            ]),
        ),
        (
            "sources".into(),
            "/api/aggregate",
            range(vec![
                ("terms", "details.sourceipaddress".into()),
                ("size", "10".into()),
            ]),
        ),
        (
            "hosts".into(),
            "/api/aggregate",
            range(vec![("terms", "hostname".into()), ("size", "10".into())]),
        ),
        (
            "alerts".into(),
            "/api/aggregate",
            range(vec![
                ("stream", "alerts".into()),
                ("terms", "severity".into()),
                ("size", "10".into()),
            ]),
        ),
        (
            "auth".into(),
            "/api/aggregate",
            range(vec![
                ("q", "category:authentication".into()),
                ("interval", INTERVAL.into()),
                ("terms", "details.success".into()),
                ("size", "5".into()),
            ]),
        ),
    ]
}

/// Every screen, in the order an analyst opens them.
fn screens() -> Vec<(String, Vec<Req>)> {
    let mut s = vec![
        ("search_page".to_string(), search_page("")),
        ("needle_page".to_string(), search_page(NEEDLE)),
    ];
    for f in SIDEBAR_FIELDS {
        s.push((format!("top_{f}"), top_values(f)));
    }
    s.push(("dashboard".into(), dashboard()));
    s
}

/// What one screen took: all of it, and each request (milliseconds, status, total).
struct Timing {
    all_ms: f64,
    requests: Vec<(String, f64, u16, u64)>,
}

/// Issues a screen's requests at once and waits for all of them.
async fn open(client: &reqwest::Client, server: &str, reqs: &[Req]) -> anyhow::Result<Timing> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (label, path, params) in reqs.iter().cloned() {
        let (client, url) = (client.clone(), format!("{server}{path}"));
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let resp = client.get(url).query(&params).send().await?;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if status != 200 {
                eprintln!("{label}: {status} {body}");
            }
            let total = body["total"].as_u64().unwrap_or(0);
            Ok::<_, anyhow::Error>((label, ms, status, total))
        }));
    }
    let mut requests = Vec::new();
    for t in tasks {
        requests.push(t.await??);
    }
    Ok(Timing {
        all_ms: start.elapsed().as_secs_f64() * 1000.0,
        requests,
    })
}

/// Logs in as the bench's console user: a client that sends the session cookie and the
/// console's headers.
async fn login(server: &str, password: &str) -> anyhow::Result<reqwest::Client> {
    let resp = reqwest::Client::new()
        .post(format!("{server}/api/login"))
        .json(&json!({"username": BENCH_USER, "password": password}))
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("login as {BENCH_USER} answered {}", resp.status());
    }
    let cookie = resp
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("the login answer set no cookie")?
        .to_string();
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&cookie)?);
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        "x-requested-with",
        HeaderValue::from_static("ferrodef-console"),
    );
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .build()?)
}

/// Makes (or resets) the bench's viewer user with a new random password.
fn bench_user(dir: &std::path::Path) -> anyhow::Result<String> {
    let auth = open_auth(dir)?;
    let password = ferrodef_auth::secret::random_token(18);
    let req = ferrodef_auth::RequestInfo::cli("ferrodef bench console");
    match auth.add_user(
        &local_actor(),
        BENCH_USER,
        ferrodef_auth::Role::Viewer,
        &password,
        &req,
    ) {
        Ok(_) => {}
        Err(ferrodef_auth::AuthError::Conflict(_)) => {
            auth.set_password(&local_actor(), BENCH_USER, None, &password, &req)?
        }
        Err(e) => return Err(e.into()),
    }
    Ok(password)
}

fn drop_caches() -> anyhow::Result<()> {
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .context("emptying the page cache (--drop-caches needs root)")
}

fn stats(mut v: Vec<f64>) -> Value {
    v.sort_by(|a, b| a.total_cmp(b));
    json!({"runs": v.len(), "p50_ms": round(percentile(&v, 0.5)), "p95_ms": round(percentile(&v, 0.95)),
           "max_ms": round(percentile(&v, 1.0))})
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Runs `bench console`.
pub async fn run(a: ConsoleArgs) -> anyhow::Result<()> {
    let mut out = Map::new();
    if a.load {
        if a.data_dir.join("index").exists() {
            bail!(
                "{} already holds a store; --load fills an empty data directory",
                a.data_dir.display()
            );
        }
        std::fs::create_dir_all(&a.data_dir)
            .with_context(|| format!("creating {}", a.data_dir.display()))?;
        let cfg = tempfile::NamedTempFile::new()?;
        std::fs::write(cfg.path(), "[detection]\nenabled = false\n")?;
        let cfg_path = cfg.path().to_string_lossy().to_string();
        let server = spawn_server(Some(a.data_dir.clone()), &["--config", &cfg_path])?;
        let load = ingest_run(
            IngestArgs {
                server: Some(server.url.clone()),
                data_dir: None,
                events: a.events,
                batch: a.batch,
                concurrency: 4,
                spread_hours: a.spread_hours,
                needles: a.needles,
                time_ordered: true,
                json: true,
                keep: false,
                auth: ClientAuth::token(&server.token),
            },
            false,
        )
        .await?;
        server.stop()?;
        eprintln!("loaded: {load}");
        out.insert("load".into(), load);
    }
    let password = bench_user(&a.data_dir)?;
    let screens = screens();
    // Per screen: the whole screen's times, and each request's, cold and warm.
    let mut cold: Vec<Vec<Timing>> = screens.iter().map(|_| Vec::new()).collect();
    let mut warm: Vec<Vec<Timing>> = screens.iter().map(|_| Vec::new()).collect();
    let mut last: Option<LocalServer> = None;
    for _ in 0..a.cold_runs.max(1) {
        if let Some(s) = last.take() {
            s.stop()?;
        }
        if a.drop_caches {
            drop_caches()?;
        }
        let server = spawn_server(Some(a.data_dir.clone()), &[])?;
        let client = login(&server.url, &password).await?;
        for (i, (_, reqs)) in screens.iter().enumerate() {
            cold[i].push(open(&client, &server.url, reqs).await?);
        }
        last = Some(server);
    }
    let server = last.context("no server")?;
    let client = login(&server.url, &password).await?;
    for _ in 0..a.runs {
        for (i, (_, reqs)) in screens.iter().enumerate() {
            warm[i].push(open(&client, &server.url, reqs).await?);
        }
    }
    let status: Value = client
        .get(format!("{}/status", server.url))
        .send()
        .await?
        .json()
        .await?;
    server.stop()?;
    out.insert("events_stored".into(), status["events_stored"].clone());
    let mut table = Vec::new();
    for (i, (name, reqs)) in screens.iter().enumerate() {
        let mut per_req = Map::new();
        for (j, (label, _, _)) in reqs.iter().enumerate() {
            let pick = |ts: &[Timing]| ts.iter().map(|t| t.requests[j].1).collect::<Vec<_>>();
            let failed = cold[i]
                .iter()
                .chain(&warm[i])
                .filter(|t| t.requests[j].2 != 200)
                .map(|t| t.requests[j].2)
                .collect::<Vec<_>>();
            let total = warm[i]
                .iter()
                .chain(&cold[i])
                .map(|t| t.requests[j].3)
                .next_back()
                .unwrap_or(0);
            per_req.insert(
                label.clone(),
                json!({"matches": total, "cold": stats(pick(&cold[i])), "warm": stats(pick(&warm[i])),
                       "failed": failed}),
            );
        }
        let all = |ts: &[Timing]| ts.iter().map(|t| t.all_ms).collect::<Vec<_>>();
        let entry = json!({"cold": stats(all(&cold[i])), "warm": stats(all(&warm[i])),
                           "requests": per_req});
        table.push((name.clone(), entry));
    }
    if a.json {
        out.insert("screens".into(), Value::Object(table.into_iter().collect()));
        println!("{}", Value::Object(out));
        return Ok(());
    }
    println!(
        "stored events: {}   (cold: server started anew{}, {} runs; warm: {} runs)",
        out["events_stored"],
        if a.drop_caches {
            ", page cache emptied"
        } else {
            ""
        },
        a.cold_runs.max(1),
        a.runs
    );
    println!(
        "{:<36} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10} {:>12}",
        "screen / request",
        "cold p50",
        "cold max",
        "",
        "warm p50",
        "warm p95",
        "warm max",
        "matches"
    );
    let ms = |v: &Value, k: &str| format!("{:.1}", v[k].as_f64().unwrap_or(0.0));
    for (name, e) in &table {
        println!(
            "{:<36} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10}",
            name,
            ms(&e["cold"], "p50_ms"),
            ms(&e["cold"], "max_ms"),
            "",
            ms(&e["warm"], "p50_ms"),
            ms(&e["warm"], "p95_ms"),
            ms(&e["warm"], "max_ms"),
        );
        if let Some(reqs) = e["requests"].as_object() {
            for (label, r) in reqs {
                let failed = r["failed"].as_array().map_or(0, Vec::len);
                println!(
                    "  {:<34} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10} {:>12}{}",
                    label,
                    ms(&r["cold"], "p50_ms"),
                    ms(&r["cold"], "max_ms"),
                    "",
                    ms(&r["warm"], "p50_ms"),
                    ms(&r["warm"], "p95_ms"),
                    ms(&r["warm"], "max_ms"),
                    r["matches"],
                    if failed > 0 {
                        format!("  ({failed} failed: {})", r["failed"])
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    Ok(())
}
