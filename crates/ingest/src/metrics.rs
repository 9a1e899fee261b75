//! Counters exported at `/metrics` in the Prometheus text format.

use ferrodef_event::{Alert, RuleKind};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels naming the source of events (`http_events`, `http_bulk`, `syslog_udp`...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// The source.
    pub source: String,
}

/// Labels of a rejection: the source and the kind of problem.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabel {
    /// The source.
    pub source: String,
    /// What was wrong (`invalid_json`, `bad_timestamp`, `body_too_large`...).
    pub reason: String,
}

/// Labels of an alert count: the kind of rule that raised it (`mozdef`, `sigma`,
/// `correlation`, `geomodel`, `system`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The rule kind.
    pub kind: String,
}

/// All of ferrodef's counters.
pub struct Metrics {
    registry: Registry,
    /// Events received (accepted or not).
    pub received: Family<SourceLabel, Counter>,
    /// Events accepted (durably written to the write-ahead log).
    pub accepted: Family<SourceLabel, Counter>,
    /// Events rejected, by reason.
    pub rejected: Family<RejectLabel, Counter>,
    /// Events indexed into the store.
    pub indexed: Family<SourceLabel, Counter>,
    /// Events dropped on purpose by a transform (`reason` is the transform).
    pub dropped: Family<RejectLabel, Counter>,
    /// Events accepted with a problem flagged by a tag (`truncated`, `invalid_utf8`,
    /// `unparsed`), by source and problem.
    pub flagged: Family<RejectLabel, Counter>,
    /// Connection-level problems that are not events (`tls_handshake`, `read_error`,
    /// `too_many_connections`), by source and problem.
    pub connection_problems: Family<RejectLabel, Counter>,
    /// Events accepted but not yet committed to the store.
    pub pending: Gauge,
    /// Store commits.
    pub commits: Counter,
    /// Errors of the indexer (each is retried).
    pub index_errors: Counter,
    /// Duration of store commits.
    pub commit_seconds: Histogram,
    /// For each commit, how long its oldest document waited between its acknowledgement and
    /// being searchable.
    pub searchable_lag_seconds: Histogram,
    /// Failed appends to the write-ahead log (disk full, I/O errors).
    pub log_errors: Counter,
    /// Events set aside in the quarantine file because they could never be indexed.
    pub quarantined: Counter,
    /// Events accepted but not committed (set when rendered).
    pub backlog: Gauge,
    /// Syslog events held for a log that cannot write them (set when rendered).
    pub held: Gauge,
    /// 1 while the service is degraded (indexing failing, disk full...), set when rendered.
    pub degraded: Gauge,
    /// Bytes of corrupt write-ahead log records skipped at start.
    pub log_corrupt_bytes: Counter,
    /// Datagrams the kernel dropped on the UDP syslog socket (receive buffer full), as the
    /// kernel counts them.
    pub udp_kernel_drops: Gauge,
    /// Messages the UDP syslog listener shed because the ingest queue was full.
    pub udp_shed: Counter,
    /// Events the rules evaluated (each event of each batch handed to the detect stage; the
    /// replay of the log after a crash is not counted).
    pub rules_evaluated: Counter,
    /// CPU seconds the rules took on the ingest path.
    pub rules_cpu: Counter<f64, AtomicU64>,
    /// Ticks of the time-driven rules done: each counted once its alerts were written (or
    /// kept for the next tick), so that a test can wait for ticks instead of sleeping.
    pub rules_ticks: Counter,
    /// Retention runs done (at start, then hourly).
    pub retention_runs: Counter,
    /// Alerts written to the log, by the kind of rule that raised them.
    pub alerts_raised: Family<KindLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates the counters, registered under the `ferrodef_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ferrodef");
        let received = Family::<SourceLabel, Counter>::default();
        let accepted = Family::<SourceLabel, Counter>::default();
        let rejected = Family::<RejectLabel, Counter>::default();
        let indexed = Family::<SourceLabel, Counter>::default();
        let dropped = Family::<RejectLabel, Counter>::default();
        let pending = Gauge::default();
        let flagged = Family::<RejectLabel, Counter>::default();
        let connection_problems = Family::<RejectLabel, Counter>::default();
        registry.register(
            "events_flagged",
            "Events accepted with a problem tagged (truncated, invalid_utf8, unparsed), by source and reason",
            flagged.clone(),
        );
        registry.register(
            "connection_problems",
            "Connection problems (TLS handshake failures, read errors, refused connections), by source and reason",
            connection_problems.clone(),
        );
        let commits = Counter::default();
        let index_errors = Counter::default();
        registry.register(
            "events_received",
            "Events received, by source",
            received.clone(),
        );
        registry.register(
            "events_accepted",
            "Events durably accepted, by source",
            accepted.clone(),
        );
        registry.register(
            "events_rejected",
            "Events rejected, by source and reason",
            rejected.clone(),
        );
        registry.register(
            "events_indexed",
            "Events indexed into the store, by source",
            indexed.clone(),
        );
        registry.register(
            "events_dropped",
            "Events dropped by a transform, by source and transform",
            dropped.clone(),
        );
        registry.register(
            "events_pending",
            "Events accepted but not yet searchable",
            pending.clone(),
        );
        registry.register("store_commits", "Store commits", commits.clone());
        registry.register(
            "indexer_errors",
            "Indexer errors (retried)",
            index_errors.clone(),
        );
        let buckets = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0];
        let commit_seconds = Histogram::new(buckets);
        let searchable_lag_seconds = Histogram::new(buckets);
        registry.register(
            "store_commit_seconds",
            "Duration of store commits",
            commit_seconds.clone(),
        );
        registry.register(
            "searchable_lag_seconds",
            "Per commit: time from the acknowledgement of its oldest event to the event being searchable",
            searchable_lag_seconds.clone(),
        );
        let log_errors = Counter::default();
        let quarantined = Counter::default();
        let backlog = Gauge::default();
        let held = Gauge::default();
        let degraded = Gauge::default();
        let log_corrupt_bytes = Counter::default();
        let udp_kernel_drops = Gauge::default();
        let udp_shed = Counter::default();
        registry.register(
            "log_errors",
            "Failed appends to the write-ahead log (disk full, I/O errors)",
            log_errors.clone(),
        );
        registry.register(
            "events_quarantined",
            "Events set aside in quarantine.ndjson because they could never be indexed",
            quarantined.clone(),
        );
        registry.register(
            "ingest_backlog_events",
            "Events accepted but not yet committed to the store",
            backlog.clone(),
        );
        registry.register(
            "ingest_held_events",
            "Syslog events held for a write-ahead log that cannot write them (disk full, I/O errors), retried",
            held.clone(),
        );
        registry.register(
            "degraded",
            "1 while ferrodef is degraded (see /health for the reasons)",
            degraded.clone(),
        );
        registry.register(
            "log_corrupt_bytes",
            "Bytes of corrupt write-ahead log records skipped at start",
            log_corrupt_bytes.clone(),
        );
        registry.register(
            "syslog_udp_kernel_drops",
            "Datagrams dropped by the kernel on the UDP syslog socket (receive buffer overflow)",
            udp_kernel_drops.clone(),
        );
        registry.register(
            "syslog_udp_shed",
            "UDP syslog messages shed because the ingest queue was full",
            udp_shed.clone(),
        );
        let rules_evaluated = Counter::default();
        let rules_cpu = Counter::<f64, AtomicU64>::default();
        registry.register(
            "rules_cpu_seconds",
            "CPU time the rules took on the ingest path (converting events for them, \
             evaluating them, taking the events back), in seconds",
            rules_cpu.clone(),
        );
        let rules_ticks = Counter::default();
        let retention_runs = Counter::default();
        registry.register(
            "retention_runs",
            "Retention runs done (at start, then hourly)",
            retention_runs.clone(),
        );
        let alerts_raised = Family::<KindLabel, Counter>::default();
        registry.register(
            "rules_evaluated_events",
            "Events evaluated by the rules",
            rules_evaluated.clone(),
        );
        registry.register(
            "rules_ticks",
            "Ticks of the time-driven rules done",
            rules_ticks.clone(),
        );
        registry.register(
            "alerts_raised",
            "Alerts written, by the kind of rule that raised them",
            alerts_raised.clone(),
        );
        for kind in RuleKind::ALL {
            let _ = alerts_raised.get_or_create(&KindLabel {
                kind: kind.as_str().to_string(),
            });
        }
        Metrics {
            registry,
            rules_evaluated,
            rules_cpu,
            rules_ticks,
            retention_runs,
            alerts_raised,
            log_errors,
            quarantined,
            backlog,
            held,
            degraded,
            log_corrupt_bytes,
            udp_kernel_drops,
            udp_shed,
            commit_seconds,
            searchable_lag_seconds,
            received,
            accepted,
            rejected,
            indexed,
            dropped,
            flagged,
            connection_problems,
            pending,
            commits,
            index_errors,
        }
    }

    /// Counts `n` received events from `source`.
    pub fn received(&self, source: &str, n: u64) {
        self.received
            .get_or_create(&SourceLabel {
                source: source.to_string(),
            })
            .inc_by(n);
    }

    /// Counts `n` accepted events from `source`.
    pub fn accepted(&self, source: &str, n: u64) {
        self.accepted
            .get_or_create(&SourceLabel {
                source: source.to_string(),
            })
            .inc_by(n);
    }

    /// Counts `n` events from `source` accepted with problem `reason` flagged.
    pub fn flagged(&self, source: &str, reason: &str, n: u64) {
        self.flagged
            .get_or_create(&RejectLabel {
                source: source.to_string(),
                reason: reason.to_string(),
            })
            .inc_by(n);
    }

    /// Counts a connection problem of `source`.
    pub fn connection_problem(&self, source: &str, reason: &str) {
        self.connection_problems
            .get_or_create(&RejectLabel {
                source: source.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts `n` rejected events from `source` for `reason`.
    pub fn rejected(&self, source: &str, reason: &str, n: u64) {
        self.rejected
            .get_or_create(&RejectLabel {
                source: source.to_string(),
                reason: reason.to_string(),
            })
            .inc_by(n);
    }

    /// Counts alerts written to the log, each under its rule's kind.
    pub fn alerts_raised(&self, alerts: &[Alert]) {
        for a in alerts {
            self.alerts_raised
                .get_or_create(&KindLabel {
                    kind: a.rule_kind.as_str().to_string(),
                })
                .inc();
        }
    }

    /// The alerts written so far, by rule kind (every kind, zeros included).
    pub fn alerts_by_kind(&self) -> Vec<(&'static str, u64)> {
        RuleKind::ALL
            .into_iter()
            .map(|k| {
                let n = self
                    .alerts_raised
                    .get_or_create(&KindLabel {
                        kind: k.as_str().to_string(),
                    })
                    .get();
                (k.as_str(), n)
            })
            .collect()
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
