//! ferrodef's own security events into its own store: each CEF line is wrapped in an RFC 5424
//! syslog header (facility LOCAL4, the severity from the CEF severity, the exact UTC time) and
//! handed to the ingest service as a raw line, like any CEF source, so it is parsed, stored
//! and searchable like the rest (`category:cef AND details.cef.product:ferrodef`).
//!
//! Records are queued (at most 10000) and sent in batches by one task: a flood of failed logins
//! never grows memory without bound nor holds up the requests; what does not fit is counted in
//! the server log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferrodef_auth::{SecurityRecord, SecuritySink};
use ferrodef_ingest::IngestService;
use tokio::sync::mpsc;

/// The ingest source name of these events (`/metrics` counts them under it).
pub const SOURCE: &str = "ferrodef_security";

const QUEUE: usize = 10_000;
const BATCH: usize = 1_000;

/// Sends security records to the ingest service.
pub struct IngestSink {
    tx: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
    hostname: String,
}

/// The syslog line holding `r`, as the store receives it.
pub fn syslog_line(r: &SecurityRecord, hostname: &str) -> String {
    let pri = 20 * 8 + u16::from(cef::syslog_severity(r.severity));
    format!(
        "<{pri}>1 {} {hostname} ferrodef {} - - {}",
        r.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        std::process::id(),
        r.cef
    )
}

impl IngestSink {
    /// A sink feeding `ingest`, on the current tokio runtime; `hostname` goes into the syslog
    /// header (ferrodef's `mozdefhostname`).
    pub fn start(ingest: IngestService, hostname: &str) -> IngestSink {
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let body = batch.join("\n");
                batch.clear();
                if let Err(e) = ingest.lines(SOURCE, body.as_bytes()).await {
                    tracing::error!("storing ferrodef's own security events: {e}");
                }
            }
        });
        IngestSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            hostname: hostname.replace(|c: char| c.is_whitespace(), "_"),
        }
    }
}

impl SecuritySink for IngestSink {
    fn record(&self, r: &SecurityRecord) {
        if self.tx.try_send(syslog_line(r, &self.hostname)).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(dropped = n, "security event queue full: event not stored");
        }
    }
}
