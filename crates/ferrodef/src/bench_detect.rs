//! `ferrodef bench detect`: the detect stage alone, on one thread. Generates the `bench
//! ingest` event mix, normalizes and transforms it as the server does (outside the timed part),
//! then runs the configured rules (the shipped MozDef set, the configured Sigma rules and
//! correlations, impossible travel: the same `Detection` as `serve`) over it in batches, each
//! batch at its receive time, and reports events/s and the CPU time per event. Opening the
//! events for the rules and closing them again (`Event::open`, `Open::close`, as the ingest
//! service does) is timed apart from the rules themselves.

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use ferrodef_event::Subject;
use ferrodef_ingest::detect::Detector;
use ferrodef_transforms::normalize::{normalize, NormalizeContext};
use ferrodef_transforms::pipeline::{Pipeline, TransformsConfig};

use crate::bench_store::cpu_seconds;
use crate::detection::Detection;
use crate::rules_cmd::ConfigArgs;

/// Options of `bench detect`.
#[derive(Debug, Args)]
pub struct DetectBenchArgs {
    /// Number of events
    #[arg(long, short = 'n', default_value_t = 200_000)]
    pub events: usize,
    /// Events the rules take at a time (the ingest service takes a request's events this
    /// many at a time)
    #[arg(long, default_value_t = ferrodef_ingest::DETECT_CHUNK)]
    pub batch: usize,
    /// Spread event times over the last N hours
    #[arg(long, default_value_t = 24)]
    pub spread_hours: u32,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `bench detect`.
pub fn run(a: DetectBenchArgs) -> anyhow::Result<()> {
    let cfg = crate::rules_cmd::config(&a.config)?;
    let (pipeline, _) = Pipeline::from_config(&TransformsConfig::default())
        .map_err(|e| anyhow::anyhow!("transforms: {e}"))?;
    let start = Utc::now();
    let ctx = NormalizeContext {
        now: start,
        mozdefhostname: "bench".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    let spread_ms = i64::from(a.spread_hours) * 3_600_000;
    let now_ms = start.timestamp_millis();
    let mut events = Vec::with_capacity(a.events);
    for i in 0..a.events {
        let raw = crate::bench::generate(i, "detectbench", spread_ms, i % 100_000 == 0, now_ms);
        let mut ev = normalize(raw, &ctx).map_err(|e| anyhow::anyhow!("event {i}: {e}"))?;
        pipeline.run(&mut ev);
        events.push(ev);
    }
    let tmp = tempfile::tempdir()?;
    let d = Detection::start(&cfg.detection, tmp.path())?;
    let n = events.len();
    let batch = a.batch.max(1);
    let (mut convert, mut detect) = (Duration::ZERO, Duration::ZERO);
    let mut alerts = 0usize;
    let mut texts = Vec::new();
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut events = events.into_iter();
    // The clock advances as the events would arrive at 50,000 events/s.
    let mut now = start;
    loop {
        // As the ingest service: each event opened for the rules and closed afterwards
        // (unless the rules changed it).
        let t = Instant::now();
        let mut subjects: Vec<Subject> = events
            .by_ref()
            .take(batch)
            .map(|e| Subject::Open(e.open()))
            .collect();
        if subjects.is_empty() {
            break;
        }
        convert += t.elapsed();
        let t = Instant::now();
        alerts += d.detect_subjects(&mut subjects, now, &mut texts).len();
        detect += t.elapsed();
        now += chrono::Duration::microseconds(20 * subjects.len() as i64);
        let t = Instant::now();
        // The service stores the rules' texts instead of writing those events again.
        let reused: Vec<Vec<u8>> = texts
            .drain(..)
            .flatten()
            .map(|t| t.as_bytes().to_vec())
            .collect();
        drop(reused);
        let back: Vec<_> = subjects
            .into_iter()
            .map(|s| match s {
                Subject::Open(o) => o.close(),
                Subject::Map(m) => Err(m),
            })
            .collect();
        drop(back);
        convert += t.elapsed();
    }
    alerts += d.tick(now).len();
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let rate = n as f64 / detect.as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "events": n, "alerts": alerts, "elapsed_s": elapsed,
                "detect_s": detect.as_secs_f64(), "convert_s": convert.as_secs_f64(),
                "detect_events_per_s": rate, "cpu_us_per_event": cpu * 1e6 / n as f64,
            })
        );
    } else {
        println!(
            "{n} events in batches of {batch}: {alerts} alerts; rules {:.0} events/s \
             ({:.2} µs/event), conversion for the rules {:.2} µs/event; {:.2} µs CPU/event in all",
            rate,
            detect.as_secs_f64() * 1e6 / n as f64,
            convert.as_secs_f64() * 1e6 / n as f64,
            cpu * 1e6 / n as f64
        );
    }
    Ok(())
}
