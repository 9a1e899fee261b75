//! `ferrodef bench store`: the embedded store alone. Generates the `bench ingest` event mix,
//! normalizes and transforms it as the server does (outside the timed part), then indexes it
//! into a fresh tantivy store in batches, committing after each, and reports events/s and the
//! CPU time the process spent per event while indexing (all threads: indexing, merges,
//! compression). It isolates what the HTTP path does not: the cost of the index itself.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use ferrodef_ingest::Pending;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{Store, StoredDoc, TantivyStore};
use ferrodef_transforms::normalize::{normalize, NormalizeContext};
use ferrodef_transforms::pipeline::{Pipeline, TransformsConfig};

/// Options of `bench store`.
#[derive(Debug, Args)]
pub struct StoreBenchArgs {
    /// Number of events
    #[arg(long, short = 'n', default_value_t = 200_000)]
    pub events: usize,
    /// Events per commit (the server commits about every 500 ms: 25,000 events at 50,000/s)
    #[arg(long, default_value_t = 25_000)]
    pub batch: usize,
    /// Spread event times over the last N hours
    #[arg(long, default_value_t = 24)]
    pub spread_hours: u32,
    /// Store directory (default: a temporary one, removed after)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Indexing threads of the writer (as `serve --writer-threads`)
    #[arg(long)]
    pub writer_threads: Option<usize>,
    /// Segments of a size class merged at once
    #[arg(long)]
    pub merge_min_segments: Option<usize>,
    /// Largest segment a merge makes (as `serve --max-segment-docs`)
    #[arg(long)]
    pub max_segment_docs: Option<u32>,
    /// Only prepare the documents; do not index (to subtract preparation in profiles)
    #[arg(long)]
    pub prepare_only: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// CPU time (user + system, all threads) of this process so far, in seconds.
pub(crate) fn cpu_seconds() -> f64 {
    // Fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second on Linux).
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let Some(after_comm) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// Runs `bench store`.
pub fn run(a: StoreBenchArgs) -> anyhow::Result<()> {
    let (pipeline, _) = Pipeline::from_config(&TransformsConfig::default())
        .map_err(|e| anyhow::anyhow!("transforms: {e}"))?;
    let ctx = NormalizeContext {
        now: Utc::now(),
        mozdefhostname: "bench".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    let now_ms = Utc::now().timestamp_millis();
    let spread_ms = i64::from(a.spread_hours) * 3_600_000;
    let mut docs = Vec::with_capacity(a.events);
    for i in 0..a.events {
        let raw = crate::bench::generate(i, "storebench", spread_ms, i % 100_000 == 0, now_ms);
        let mut ev = normalize(raw, &ctx).map_err(|e| anyhow::anyhow!("event {i}: {e}"))?;
        pipeline.run(&mut ev);
        let p = Pending::new(
            ferrodef_store::EVENTS_STREAM,
            ev.utctimestamp,
            ev.receivedtimestamp,
            ev,
        );
        docs.push(StoredDoc {
            seq: i as u64 + 1,
            stream: p.stream,
            utctimestamp: p.utctimestamp,
            receivedtimestamp: p.receivedtimestamp,
            doc: p.doc,
            source: p.source,
        });
    }
    if a.prepare_only {
        println!("prepared {} documents", docs.len());
        return Ok(());
    }
    let tmp;
    let dir = match &a.data_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut opts = TantivyOptions::default();
    if let Some(t) = a.writer_threads {
        opts.writer_threads = t;
    }
    if let Some(m) = a.merge_min_segments {
        opts.merge_min_segments = m;
    }
    if let Some(m) = a.max_segment_docs {
        opts.max_merged_docs = m;
    }
    let store = TantivyStore::open(&dir, opts).context("opening the store")?;
    let n = docs.len();
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut docs = docs.into_iter();
    loop {
        let batch: Vec<StoredDoc> = docs.by_ref().take(a.batch.max(1)).collect();
        let Some(last_seq) = batch.last().map(|d| d.seq) else {
            break;
        };
        store.index(batch)?;
        store.commit(last_seq)?;
    }
    // Merges triggered by the commits are part of the cost of indexing: wait for them.
    store.finish_merges()?;
    drop(store);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let rate = n as f64 / elapsed;
    let cpu_us = cpu * 1e6 / n as f64;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"events": n, "seconds": elapsed, "events_per_s": rate,
                "cpu_us_per_event": cpu_us})
        );
    } else {
        println!(
            "events indexed:     {n} in batches of {} (commit after each)",
            a.batch
        );
        println!("indexing events/s:  {rate:.0}  ({elapsed:.2} s)");
        println!("CPU per event:      {cpu_us:.1} µs (all threads)");
    }
    Ok(())
}
