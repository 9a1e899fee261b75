//! `ferrodef serve`: the platform in one process.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrodef_api::{router, ApiConfig, AppState};
use ferrodef_sinks::{Metrics, Pipeline, PipelineConfig};
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{Store, TantivyStore};

use crate::config::Config;

/// Takes an exclusive lock on the data directory so that two servers never share it.
fn lock_data_dir(cfg: &Config) -> anyhow::Result<File> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data directory {}", cfg.data_dir.display()))?;
    let path = cfg.data_dir.join("ferrodef.lock");
    let f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    f.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "data directory {} is in use by another ferrodef (lock {})",
            cfg.data_dir.display(),
            path.display()
        )
    })?;
    Ok(f)
}

/// Opens the store and the pipeline (replaying the write-ahead log), then serves until
/// SIGINT/SIGTERM, and shuts down cleanly (everything accepted is committed).
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let _lock = lock_data_dir(&cfg)?;
    let started = Instant::now();
    let opts = TantivyOptions {
        writer_memory_bytes: cfg.writer_memory_mb << 20,
        writer_threads: cfg.writer_threads,
        max_merged_docs: cfg.max_segment_docs,
        ..TantivyOptions::default()
    };
    let index_dir = cfg.data_dir.join("index");
    let store: Arc<dyn Store> = Arc::new(
        TantivyStore::open(&index_dir, opts)
            .with_context(|| format!("opening the store in {}", index_dir.display()))?,
    );
    let metrics = Arc::new(Metrics::new());
    let pipeline_cfg = PipelineConfig {
        wal_dir: cfg.data_dir.join("wal"),
        max_segment_bytes: 128 << 20,
        commit_interval: Duration::from_millis(cfg.commit_interval_ms),
    };
    let (pipeline, replay) = {
        let store = store.clone();
        let metrics = metrics.clone();
        tokio::task::spawn_blocking(move || Pipeline::start(store, pipeline_cfg, metrics))
            .await?
            .context("starting the ingest pipeline")?
    };
    if replay.records > 0 {
        tracing::info!(
            records = replay.records,
            indexed = replay.indexed,
            "replayed the write-ahead log"
        );
    }
    spawn_retention(store.clone(), cfg.retention_days);
    let (transforms, warnings) =
        ferrodef_transforms::pipeline::Pipeline::from_config(&cfg.transforms)
            .map_err(|e| anyhow::anyhow!("config: {e}"))?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(transforms = ?transforms.names(), "transform pipeline");

    let state = Arc::new(AppState {
        store,
        ingest: pipeline.handle(),
        metrics,
        transforms: Arc::new(transforms),
        config: ApiConfig {
            mozdefhostname: cfg.mozdefhostname.clone(),
            max_body_bytes: cfg.max_body_bytes,
            default_tz: cfg.default_timezone,
            max_message_bytes: cfg.syslog.max_message_bytes,
        },
        started,
        ingest_permits: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        ),
        search: ferrodef_api::search::SearchGate::new(
            cfg.max_concurrent_searches,
            std::time::Duration::from_millis(cfg.search_timeout_ms),
        ),
    });
    let listeners = start_syslog(&cfg, state.clone()).await?;
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(data_dir = %cfg.data_dir.display(), "ferrodef listening on http://{addr}");
    println!("ferrodef listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    for l in listeners {
        l.abort();
    }
    tracing::info!("shutting down: committing accepted events");
    tokio::task::spawn_blocking(move || pipeline.shutdown()).await?;
    Ok(())
}

/// Binds the syslog listeners (printing where, for scripts and tests) and runs them.
async fn start_syslog(
    cfg: &Config,
    state: Arc<AppState>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    use ferrodef_sources::syslog::{RawSink, TcpListener, TlsListener, UdpListener};
    let sink: Arc<dyn RawSink> = ferrodef_api::raw::SyslogSink::new(state);
    let max = cfg.syslog.max_message_bytes;
    let mut tasks = Vec::new();
    if let Some(addr) = cfg.syslog.udp {
        let l = UdpListener::bind(addr, max)
            .await
            .with_context(|| format!("syslog udp: binding {addr}"))?;
        announce("udp", l.local_addr()?);
        tasks.push(tokio::spawn(l.run(sink.clone())));
    }
    if let Some(addr) = cfg.syslog.tcp {
        let l = TcpListener::bind(addr, max)
            .await
            .with_context(|| format!("syslog tcp: binding {addr}"))?;
        announce("tcp", l.local_addr()?);
        tasks.push(tokio::spawn(l.run(sink.clone())));
    }
    if let Some((addr, tls)) = &cfg.syslog.tls {
        let l = TlsListener::bind(*addr, tls, max)
            .await
            .with_context(|| format!("syslog tls on {addr}"))?;
        announce("tls", l.local_addr()?);
        tasks.push(tokio::spawn(l.run(sink.clone())));
    }
    Ok(tasks)
}

fn announce(proto: &str, addr: std::net::SocketAddr) {
    tracing::info!("syslog {proto} listening on {addr}");
    println!("ferrodef syslog {proto} on {addr}");
}

fn spawn_retention(store: Arc<dyn Store>, days: u32) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let store = store.clone();
            let res = tokio::task::spawn_blocking(move || {
                store.apply_retention(days, chrono::Utc::now())
            })
            .await;
            match res {
                Ok(Ok(dropped)) if !dropped.is_empty() => {
                    tracing::info!(
                        ?dropped,
                        retention_days = days,
                        "retention dropped partitions"
                    )
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("retention: {e}"),
                Err(e) => tracing::error!("retention task: {e}"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
