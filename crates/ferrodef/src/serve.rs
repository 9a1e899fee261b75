//! `ferrodef serve`: the platform in one process.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrodef_api::{router, ApiConfig, AppState, BodyBudget};
use ferrodef_ingest::{IngestConfig, IngestService, Metrics};
use ferrodef_sources::syslog::{CancellationToken, RawSink, TcpListener, TlsListener, UdpListener};
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{Store, TantivyStore};

use crate::config::Config;
use crate::detection::Detection;
use ferrodef_event::Alert;
use ferrodef_ingest::detect::AlertSink;

/// Files ferrodef creates are its owner's only: events are sensitive.
pub fn private_files() {
    // SAFETY: umask only changes the process's file creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Takes an exclusive lock on the data directory so that two servers never share it.
fn lock_data_dir(cfg: &Config) -> anyhow::Result<File> {
    ferrodef_ingest::create_private_dir(&cfg.data_dir)
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

/// The store and the ingest service on a data directory (what `serve` and `ingest
/// --data-dir` both run).
pub struct Core {
    pub store: Arc<dyn Store>,
    pub ingest: IngestService,
    pub metrics: Arc<Metrics>,
    /// Who hears about stored alerts (the console's live feed, notifications).
    pub alerts: Arc<AlertFanout>,
    /// The console's watchlist and blocklist as the `watchlist` transform reads them (the
    /// API's lists publish to it).
    pub list_feed: Arc<ferrodef_transforms::lists::ListFeed>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    _lock: File,
}

/// One listener of stored alerts.
type AlertListener = Box<dyn Fn(&[Alert]) + Send + Sync>;

/// Hands stored alerts to every listener added.
#[derive(Default)]
pub struct AlertFanout {
    listeners: parking_lot::RwLock<Vec<AlertListener>>,
}

impl AlertFanout {
    /// Adds a listener.
    pub fn listen(&self, f: impl Fn(&[Alert]) + Send + Sync + 'static) {
        self.listeners.write().push(Box::new(f));
    }
}

impl AlertSink for AlertFanout {
    fn accepted(&self, alerts: &[Alert]) {
        for l in self.listeners.read().iter() {
            l(alerts);
        }
    }
}

/// Runs the detector's time-driven rules every second.
fn spawn_ticker(ingest: IngestService) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = ingest.detect_tick().await {
                tracing::warn!("alerts of time-driven rules not written yet (retried): {e}");
            }
        }
    })
}

impl Core {
    /// Locks the data directory, opens the store, replays the write-ahead log and starts the
    /// ingest service.
    pub async fn start(cfg: &Config) -> anyhow::Result<Core> {
        private_files();
        let lock = lock_data_dir(cfg)?;
        let opts = TantivyOptions {
            writer_memory_bytes: cfg.writer_memory_mb << 20,
            writer_threads: cfg.writer_threads,
            max_merged_docs: cfg.max_segment_docs,
            max_open_writers: cfg.limits.max_open_writers,
            max_open_partitions: cfg.limits.max_open_partitions,
            aggregation_memory_bytes: cfg.limits.aggregation_memory_bytes as u64,
            ..TantivyOptions::default()
        };
        let index_dir = cfg.data_dir.join("index");
        let store: Arc<dyn Store> = Arc::new(
            TantivyStore::open(&index_dir, opts)
                .with_context(|| format!("opening the store in {}", index_dir.display()))?,
        );
        let list_feed = Arc::new(ferrodef_transforms::lists::ListFeed::default());
        let (transforms, warnings) = ferrodef_transforms::pipeline::Pipeline::with_lists(
            &cfg.transforms,
            Some(list_feed.clone()),
        )
        .map_err(|e| anyhow::anyhow!("config: {e}"))?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        tracing::info!(transforms = ?transforms.names(), "transform pipeline");
        let metrics = Arc::new(Metrics::new());
        // The rules first: their saved state says from which log record to keep the log.
        let detection = if cfg.detection.enabled {
            let d = Arc::new(Detection::start(&cfg.detection, &cfg.data_dir)?);
            let (mozdef, sigma) = d.counts();
            tracing::info!(mozdef, sigma, "detection rules loaded");
            Some(d)
        } else {
            None
        };
        let ingest_cfg = IngestConfig {
            data_dir: cfg.data_dir.clone(),
            max_segment_bytes: 128 << 20,
            commit_interval: Duration::from_millis(cfg.commit_interval_ms),
            mozdefhostname: cfg.mozdefhostname.clone(),
            default_tz: cfg.default_timezone,
            max_message_bytes: cfg.syslog.max_message_bytes,
            limits: cfg.limits.ingest.clone(),
            keep_log_after: detection.as_ref().map(|d| d.saved_seq()),
        };
        let (ingest, replay) = {
            let (store, metrics) = (store.clone(), metrics.clone());
            let transforms = Arc::new(transforms);
            tokio::task::spawn_blocking(move || {
                IngestService::start(store, transforms, ingest_cfg, metrics)
            })
            .await?
            .context("starting the ingest service")?
        };
        if replay.records > 0 {
            tracing::info!(
                records = replay.records,
                indexed = replay.indexed,
                "replayed the write-ahead log"
            );
        }
        let alerts = Arc::new(AlertFanout::default());
        if let Some(d) = &detection {
            ingest.set_detection(d.clone(), alerts.clone());
            // After a crash the saved state is older than the log: what the rules saw since
            // goes through them again (alerts were written then and are not repeated).
            let after = d.saved_seq();
            let replaying = ingest.clone();
            let n = tokio::task::spawn_blocking(move || replaying.replay_detection(after))
                .await?
                .context("replaying the write-ahead log into the rules")?;
            if n > 0 {
                tracing::info!(events = n, "rules' state rebuilt from the write-ahead log");
            }
        }
        let ticker = detection.map(|_| spawn_ticker(ingest.clone()));
        Ok(Core {
            store,
            ingest,
            metrics,
            alerts,
            list_feed,
            ticker,
            _lock: lock,
        })
    }

    /// Stops the ingest service: everything accepted is written and committed.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(t) = &self.ticker {
            t.abort();
        }
        let ingest = self.ingest.clone();
        tokio::task::spawn_blocking(move || {
            ingest.shutdown();
            ingest.final_checkpoint_detection()
        })
        .await?
        .map_err(|e| anyhow::anyhow!("saving the rules' state: {e}"))?;
        Ok(())
    }
}

/// Serves until SIGINT/SIGTERM, then stops within a bounded time: stop accepting, let requests
/// and connections in progress hand over what they have (at most the grace period), then
/// commit everything accepted and exit.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let core = Core::start(&cfg).await?;
    spawn_retention(core.store.clone(), cfg.retention_days, core.metrics.clone());
    let book = Arc::new(ferrodef_api::alerts::AlertBook::load(&*core.store));
    {
        let book = book.clone();
        core.alerts.listen(move |a| book.publish(a));
    }
    let notify = start_notify(&cfg, &core)?;
    let auth = start_auth(&cfg, &core).await?;
    let state = app_state(&cfg, &core, started, book, notify.clone(), auth.clone());
    let stop = CancellationToken::new();
    let listeners = start_syslog(&cfg, core.ingest.clone(), &stop).await?;
    let http = start_http(&cfg, router(state), core.metrics.clone(), &stop).await?;
    shutdown_signal().await;
    tracing::info!("stopping: no new connections; finishing requests in progress");
    stop.cancel();
    let grace = cfg.limits.http.grace;
    let drained = tokio::time::timeout(grace + Duration::from_secs(1), async {
        let _ = http.await;
        for l in listeners {
            let _ = l.await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the grace period are dropped");
    }
    tracing::info!("committing accepted events");
    let stopped = core.stop().await;
    // The last uses of sessions not written yet.
    let _ = tokio::task::spawn_blocking(move || auth.save_sessions(true)).await;
    if let Some(d) = notify {
        flush_notifications(d, grace).await;
    }
    stopped
}

/// What the API's handlers share: the core's store and ingest service, the alerts' book, the
/// lists and incidents (loaded from the store, refreshed before retention would drop them),
/// users and notifications.
fn app_state(
    cfg: &Config,
    core: &Core,
    started: Instant,
    alerts: Arc<ferrodef_api::alerts::AlertBook>,
    notify: Option<Arc<ferrodef_notify::Dispatcher>>,
    auth: Arc<ferrodef_auth::Auth>,
) -> Arc<AppState> {
    let lists = Arc::new(ferrodef_api::lists::Lists::load(&*core.store));
    lists.publish_to(core.list_feed.clone());
    let incidents = Arc::new(ferrodef_api::incidents::IncidentBook::load(&*core.store));
    spawn_list_refresh(
        lists.clone(),
        incidents.clone(),
        core.ingest.clone(),
        cfg.retention_days,
    );
    Arc::new(AppState {
        store: core.store.clone(),
        ingest: core.ingest.clone(),
        metrics: core.metrics.clone(),
        config: ApiConfig {
            mozdefhostname: cfg.mozdefhostname.clone(),
            max_body_bytes: cfg.max_body_bytes,
            body_timeout: cfg.limits.body_timeout,
        },
        started,
        body_budget: BodyBudget::new(cfg.limits.body_memory_bytes, Duration::from_secs(1)),
        search: ferrodef_api::search::SearchGate::new(
            cfg.max_concurrent_searches,
            Duration::from_millis(cfg.search_timeout_ms),
        ),
        alerts,
        notify,
        lists,
        incidents,
        auth,
        auth_config: ferrodef_api::auth::AuthConfig {
            require_ingest_token: cfg.auth.require_ingest_token,
        },
    })
}

/// Binds the HTTP(S) listener of `cfg` and serves `app` on it until `stop`.
async fn start_http(
    cfg: &Config,
    app: axum::Router,
    metrics: Arc<Metrics>,
    stop: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let tls = match &cfg.http_tls {
        Some(t) => Some(Arc::new(
            ferrodef_sources::syslog::server_config(t).context("HTTPS listener")?,
        )),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        data_dir = %cfg.data_dir.display(),
        require_ingest_token = cfg.auth.require_ingest_token,
        "ferrodef listening on {scheme}://{addr}"
    );
    println!("ferrodef listening on {scheme}://{addr}");
    Ok(tokio::spawn(ferrodef_api::server::serve_tls(
        listener,
        app,
        cfg.limits.http,
        tls,
        stop.clone(),
        move || metrics.connection_problem("http", "too_many_connections"),
    )))
}

/// Delivers the notifications still queued, for at most `grace`.
async fn flush_notifications(d: Arc<ferrodef_notify::Dispatcher>, grace: Duration) {
    // The listener holds it weakly; the API state is gone with the HTTP server.
    match Arc::try_unwrap(d) {
        Ok(d) => {
            let r = d.shutdown(grace).await;
            if r.abandoned > 0 {
                tracing::warn!(
                    abandoned = r.abandoned,
                    "notifications not delivered before the grace period ended"
                );
            }
        }
        Err(_) => tracing::warn!("notifications still in use at shutdown; not flushed"),
    }
}

/// Opens the users and tokens of the data directory, sends the security events to the store
/// (and syslog when configured), and creates the first admin on first start.
async fn start_auth(cfg: &Config, core: &Core) -> anyhow::Result<Arc<ferrodef_auth::Auth>> {
    let log = ferrodef_auth::SecurityLog::new();
    log.add_sink(Arc::new(ferrodef_api::security_sink::IngestSink::start(
        core.ingest.clone(),
        &cfg.mozdefhostname,
    )));
    if let Some((transport, facility)) = &cfg.auth.cef_syslog {
        log.add_sink(Arc::new(ferrodef_auth::SyslogSink::new(
            transport.clone(),
            *facility,
        )));
    }
    let (dir, settings, password) = (
        cfg.data_dir.clone(),
        cfg.auth.settings.clone(),
        cfg.auth.admin_password.clone().map(|s| s.0),
    );
    let auth = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let auth =
            ferrodef_auth::Auth::open(&dir, settings, Arc::new(ferrodef_auth::SystemClock), log)?;
        if let Some(generated) = auth.bootstrap_admin(password.as_deref())? {
            crate::user_cmd::announce_generated_admin(&generated);
        }
        match auth.keep_sessions(&dir) {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "console sessions restored"),
            Err(e) => tracing::warn!("console sessions not restored (everyone logs in again): {e}"),
        }
        Ok(Arc::new(auth))
    })
    .await??;
    // Events of `ferrodef user`/`token` commands run meanwhile, spooled in the data directory.
    let drain = auth.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            let a = drain.clone();
            match tokio::task::spawn_blocking(move || {
                // Last uses of sessions, written at most every 30 s.
                a.save_sessions(false);
                a.drain_spool()
            })
            .await
            {
                Ok(Err(e)) => tracing::error!("security event spool: {e}"),
                Err(e) => tracing::error!("security event spool task: {e}"),
                Ok(Ok(_)) => {}
            }
        }
    });
    Ok(auth)
}

/// Binds the syslog listeners (printing where, for scripts and tests) and runs them until
/// `stop`.
async fn start_syslog(
    cfg: &Config,
    ingest: IngestService,
    stop: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let sink: Arc<dyn RawSink> = Arc::new(ingest);
    let max = cfg.syslog.max_message_bytes;
    let limits = cfg.limits.syslog;
    let mut tasks = Vec::new();
    if let Some(addr) = cfg.syslog.udp {
        let l = UdpListener::bind(addr, max)
            .await
            .with_context(|| format!("syslog udp: binding {addr}"))?;
        announce("udp", l.local_addr()?);
        tasks.push(tokio::spawn(l.run(sink.clone(), stop.child_token())));
    }
    if let Some(addr) = cfg.syslog.tcp {
        let l = TcpListener::bind(addr, max, limits)
            .await
            .with_context(|| format!("syslog tcp: binding {addr}"))?;
        announce("tcp", l.local_addr()?);
        tasks.push(tokio::spawn(l.run(sink.clone(), stop.child_token())));
    }
    if let Some((addr, tls)) = &cfg.syslog.tls {
        let l = TlsListener::bind(*addr, tls, max, limits)
            .await
            .with_context(|| format!("syslog tls on {addr}"))?;
        announce("tls", l.local_addr()?);
        tasks.push(tokio::spawn(l.run(sink.clone(), stop.child_token())));
    }
    Ok(tasks)
}

fn announce(proto: &str, addr: std::net::SocketAddr) {
    tracing::info!("syslog {proto} listening on {addr}");
    println!("ferrodef syslog {proto} on {addr}");
}

/// Every hour, writes again the list entries in force whose latest record is older than half
/// the retention period, so that retention never drops the only record of one.
/// Writes again, every hour, the list entries in force and the incidents whose records are
/// half way to retention.
fn spawn_list_refresh(
    lists: Arc<ferrodef_api::lists::Lists>,
    incidents: Arc<ferrodef_api::incidents::IncidentBook>,
    ingest: IngestService,
    retention_days: u32,
) {
    let age = chrono::Duration::days(i64::from((retention_days / 2).max(1)));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match lists.refresh(&ingest, age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "list entries written again (retention)"),
                Err(e) => tracing::warn!("list entries could not be written again: {e}"),
            }
            match incidents.refresh(&ingest, age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(incidents = n, "incidents written again (retention)"),
                Err(e) => tracing::warn!("incidents could not be written again: {e}"),
            }
        }
    });
}

/// Runs retention at start and every hour; each run is counted (`retention_runs`).
fn spawn_retention(store: Arc<dyn Store>, days: u32, metrics: Arc<Metrics>) {
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
            metrics.retention_runs.inc();
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

/// Starts the notification dispatcher of `[notify]` (none when no notifier is configured) and
/// hands it every stored alert.
fn start_notify(
    cfg: &Config,
    core: &Core,
) -> anyhow::Result<Option<Arc<ferrodef_notify::Dispatcher>>> {
    if cfg.notify.notifiers.is_empty() {
        return Ok(None);
    }
    // A delivery given up raises an alert (once per notifier per 15 minutes), written like
    // the rules' time-driven alerts and sent to the other notifiers.
    let ingest = core.ingest.clone();
    let watch = ferrodef_notify::FailureWatch::new(Duration::from_secs(15 * 60), move |a| {
        tracing::error!(rule = %a.rule, "{}", a.summary);
        ingest.raise_alert(a);
    });
    let d = Arc::new(
        ferrodef_notify::Dispatcher::start_with_sink(
            cfg.notify.clone(),
            ferrodef_notify::NotifyMetrics::new(),
            Some(Arc::new(watch)),
        )
        .map_err(|e| anyhow::anyhow!("[notify]: {e}"))?,
    );
    tracing::info!(notifiers = ?d.notifiers(), "notifications");
    let sender = Arc::downgrade(&d);
    core.alerts.listen(move |alerts| {
        let Some(sender) = sender.upgrade() else {
            return;
        };
        for a in alerts {
            let s = sender.submit(a);
            if !s.dropped.is_empty() {
                tracing::warn!(alert = %a.id, dropped = ?s.dropped, "notification queue full");
            }
        }
    });
    Ok(Some(d))
}
