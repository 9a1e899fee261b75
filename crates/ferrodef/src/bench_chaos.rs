//! `ferrodef bench chaos`: kills the server with SIGKILL at random moments under mixed load
//! (HTTP bulk and TCP syslog), restarts it on the same data directory each time, and then checks
//! that every acknowledged event is stored exactly once.
//!
//! HTTP batches are acknowledged (a 200 means durable): each acknowledged batch must be found
//! whole. TCP syslog has no acknowledgement: a message in flight at the kill may be lost, but
//! none may be stored twice. Every event carries a unique number (`details.chaosid` for HTTP,
//! in the message for syslog), and the checks are searches and exact terms aggregations.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// Options of `bench chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Number of kill -9 rounds
    #[arg(long, default_value_t = 20)]
    pub kills: u32,
    /// Data directory (default: a temporary one)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Longest load before a kill, in milliseconds (each round picks a random moment up to it)
    #[arg(long, default_value_t = 3000)]
    pub max_round_ms: u64,
    /// Events per HTTP batch
    #[arg(long, default_value_t = 200)]
    pub batch: u64,
    /// Seed of the random moments
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Default)]
struct Tally {
    /// Acknowledged HTTP batches (their first id).
    acked: parking_lot::Mutex<Vec<u64>>,
    /// HTTP batches sent without an answer (killed in flight).
    unanswered: AtomicU64,
    /// Syslog messages written to the socket.
    syslog_sent: AtomicU64,
}

/// Runs the rounds and the checks; prints the result.
pub async fn run(a: ChaosArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = a
        .data_dir
        .clone()
        .unwrap_or_else(|| tmp.path().join("data"));
    let tally = Arc::new(Tally::default());
    let next_id = Arc::new(AtomicU64::new(0));
    let mut rng = a.seed.max(1);
    let started = Instant::now();
    for round in 0..a.kills {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait = Duration::from_millis(200 + rng % a.max_round_ms.max(1));
        let server = crate::local::spawn_server(Some(dir.clone()), &[])?;
        let url = server.url.clone();
        let tcp = server
            .syslog_addr("tcp")
            .context("no syslog tcp listener")?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut load = tokio::task::JoinSet::new();
        for _ in 0..3 {
            load.spawn(http_load(
                url.clone(),
                a.batch,
                next_id.clone(),
                tally.clone(),
                stop.clone(),
            ));
        }
        load.spawn(syslog_load(tcp, round, tally.clone(), stop.clone()));
        tokio::time::sleep(wait).await;
        server.kill9()?;
        stop.store(true, Ordering::Relaxed);
        while load.join_next().await.is_some() {}
        eprintln!(
            "round {:>2}: killed after {:>4} ms; {} batches acknowledged so far",
            round + 1,
            wait.as_millis(),
            tally.acked.lock().len()
        );
    }
    let server = crate::local::spawn_server(Some(dir.clone()), &[])?;
    let client = server.client()?;
    let base = server.url.clone();
    // Wait for the replay to be searchable: the total stops moving.
    let mut last = u64::MAX;
    loop {
        let t = total(&client, &base, "category:chaos").await?;
        if t == last {
            break;
        }
        last = t;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let acked = tally.acked.lock().clone();
    let mut missing = 0u64;
    for first in &acked {
        let q = format!("details.chaosid:[{first} TO {}]", first + a.batch - 1);
        let n = total(&client, &base, &q).await?;
        if n != a.batch {
            missing += a.batch.saturating_sub(n);
            eprintln!("batch {first}: {n} of {} found", a.batch);
        }
    }
    let http_dups = top_count(
        &client,
        &base,
        "category:chaos AND _exists_:details.chaosid",
        "details.chaosid",
    )
    .await?;
    let syslog_dups = top_count(
        &client,
        &base,
        "_exists_:details.sd.chaos.id",
        "details.sd.chaos.id",
    )
    .await?;
    let syslog_stored = total(&client, &base, "_exists_:details.sd.chaos.id").await?;
    let http_stored = total(
        &client,
        &base,
        "category:chaos AND _exists_:details.chaosid",
    )
    .await?;
    server.stop()?;
    println!(
        "chaos: {} kill -9 in {:.0} s; HTTP: {} batches acknowledged ({} events), {} unanswered, {} events stored, {} acknowledged missing, most copies of one event {}; syslog: {} sent, {} stored, most copies of one message {}",
        a.kills,
        started.elapsed().as_secs_f64(),
        acked.len(),
        acked.len() as u64 * a.batch,
        tally.unanswered.load(Ordering::Relaxed),
        http_stored,
        missing,
        http_dups,
        tally.syslog_sent.load(Ordering::Relaxed),
        syslog_stored,
        syslog_dups,
    );
    if missing > 0 || http_dups > 1 || syslog_dups > 1 {
        bail!("acknowledged events were lost or stored twice");
    }
    println!("chaos: OK: every acknowledged event stored exactly once");
    Ok(())
}

async fn http_load(
    url: String,
    batch: u64,
    next_id: Arc<AtomicU64>,
    tally: Arc<Tally>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let client = reqwest::Client::new();
    while !stop.load(Ordering::Relaxed) {
        let first = next_id.fetch_add(batch, Ordering::Relaxed);
        let body: String = (first..first + batch)
            .map(|id| {
                format!(
                    "{{\"summary\":\"chaos http {id}\",\"category\":\"chaos\",\"details\":{{\"chaosid\":{id}}}}}\n"
                )
            })
            .collect();
        match client
            .post(format!("{url}/_bulk"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 200 => tally.acked.lock().push(first),
            Ok(_) => {}
            Err(_) => {
                tally.unanswered.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

async fn syslog_load(
    addr: std::net::SocketAddr,
    round: u32,
    tally: Arc<Tally>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut chunk = String::new();
        for _ in 0..100 {
            chunk.push_str(&format!(
                "<13>1 2026-11-30T10:00:00Z host chaos - - [chaos id=\"r{round}n{n}\"] chaos syslog r{round}n{n}\n"
            ));
            n += 1;
        }
        if s.write_all(chunk.as_bytes()).await.is_err() {
            return;
        }
        tally.syslog_sent.fetch_add(100, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn total(client: &reqwest::Client, base: &str, q: &str) -> anyhow::Result<u64> {
    let v: Value = client
        .get(format!("{base}/api/search"))
        .query(&[("q", q), ("size", "0")])
        .send()
        .await?
        .json()
        .await?;
    v["total"]
        .as_u64()
        .with_context(|| format!("search {q}: {v}"))
}

/// The count of the most frequent value of `field` among `q`'s events (1 when no value repeats).
async fn top_count(
    client: &reqwest::Client,
    base: &str,
    q: &str,
    field: &str,
) -> anyhow::Result<u64> {
    let v: Value = client
        .get(format!("{base}/api/aggregate"))
        .query(&[("q", q), ("terms", field), ("size", "1")])
        .send()
        .await?
        .json()
        .await?;
    Ok(v["terms"][0]["count"].as_u64().unwrap_or(0))
}
