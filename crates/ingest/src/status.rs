//! What the ingest service knows about its own health, shared by the log writer, the indexer
//! and the service (which refuses new events while the backlog is over its limit) and shown at
//! `/health`.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::writer::PersistError;
use serde::Serialize;

/// The service's health, as `/health` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// Why it is degraded (empty when ok).
    pub reasons: Vec<String>,
    /// Events accepted (in the log) but not yet committed to the store.
    pub backlog: u64,
    /// Events that could not be indexed and were set aside in the quarantine file.
    pub quarantined: u64,
    /// Syslog events held for a log that cannot write them.
    pub held: u64,
}

/// Shared state of the running service.
#[derive(Debug, Default)]
pub struct Status {
    /// Highest sequence number appended to the log.
    accepted: AtomicU64,
    /// Every event up to this sequence number is committed to the store.
    checkpoint: AtomicU64,
    /// Why indexing is failing, when it is.
    indexing_error: Mutex<Option<String>>,
    /// When the last append failed, and why (cleared by the next one that succeeds).
    log_failure: Mutex<Option<(std::time::Instant, PersistError)>>,
    /// Events set aside because they could never be indexed.
    quarantined: AtomicU64,
    /// Syslog events held for a log that cannot write them (retried).
    held: AtomicU64,
    /// What the log scan at start skipped.
    log_corruption: Mutex<Option<String>>,
    /// The log keeps the records after this one whatever the checkpoint (the rules' saved
    /// state covers only up to here: a crash replays the rest into it).
    keep_after: AtomicU64,
    /// Woken when the checkpoint moves (the backlog shrinks) and when the service stops: what
    /// syslog batches held back by the backlog limit wait for.
    progress: tokio::sync::Notify,
}

impl Status {
    pub(crate) fn new(checkpoint: u64) -> Status {
        let s = Status::default();
        s.accepted.store(checkpoint, Ordering::Relaxed);
        s.checkpoint.store(checkpoint, Ordering::Relaxed);
        s.keep_after.store(u64::MAX, Ordering::Relaxed);
        s
    }

    pub(crate) fn keep_after(&self) -> u64 {
        self.keep_after.load(Ordering::Acquire)
    }

    pub(crate) fn set_keep_after(&self, seq: u64) {
        self.keep_after.store(seq, Ordering::Release);
    }

    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Acquire)
    }

    pub(crate) fn set_accepted(&self, seq: u64) {
        self.accepted.fetch_max(seq, Ordering::AcqRel);
    }

    pub(crate) fn set_checkpoint(&self, seq: u64) {
        self.checkpoint.fetch_max(seq, Ordering::AcqRel);
        self.progress.notify_waiters();
    }

    /// Resolves at the next [`wake`](Self::wake) or checkpoint move after it is enabled.
    pub(crate) fn progress(&self) -> tokio::sync::futures::Notified<'_> {
        self.progress.notified()
    }

    /// Wakes whoever waits for [`progress`](Self::progress) (the service is stopping).
    pub(crate) fn wake(&self) {
        self.progress.notify_waiters();
    }

    /// Sets why indexing fails (shown at `/health`, which anyone may read: file-system paths
    /// in it are replaced by `<path>`; the server log has them).
    pub(crate) fn set_indexing_error(&self, e: Option<String>) {
        *self.indexing_error.lock() = e.map(|e| without_paths(&e));
    }

    /// Records the outcome of an append to the log.
    pub(crate) fn set_log_result(&self, failure: Option<&PersistError>) {
        *self.log_failure.lock() = failure.map(|e| (std::time::Instant::now(), e.clone()));
    }

    /// Why the log refused an append within the last `within`, if it did and none has
    /// succeeded since.
    pub(crate) fn log_refusing(&self, within: std::time::Duration) -> Option<PersistError> {
        match &*self.log_failure.lock() {
            Some((at, e)) if at.elapsed() < within => Some(e.clone()),
            _ => None,
        }
    }

    pub(crate) fn add_held(&self, n: u64) {
        self.held.fetch_add(n, Ordering::AcqRel);
    }

    pub(crate) fn sub_held(&self, n: u64) {
        self.held.fetch_sub(n, Ordering::AcqRel);
    }

    /// Syslog events held for a log that cannot write them.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Acquire)
    }

    pub(crate) fn add_quarantined(&self, n: u64) {
        self.quarantined.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn set_log_corruption(&self, what: Option<String>) {
        *self.log_corruption.lock() = what;
    }

    /// Events accepted but not yet committed.
    pub fn backlog(&self) -> u64 {
        self.accepted
            .load(Ordering::Acquire)
            .saturating_sub(self.checkpoint.load(Ordering::Acquire))
    }

    /// The current health; `max_backlog` is the limit beyond which new events are refused.
    pub fn health(&self, max_backlog: u64) -> Health {
        let mut reasons = Vec::new();
        let backlog = self.backlog();
        if backlog > max_backlog {
            reasons.push(format!(
                "{backlog} events are accepted but not yet indexed, more than the limit of {max_backlog} (max_backlog): new events are refused (HTTP 503) or held back (syslog TCP/TLS waits, UDP sheds)"
            ));
        }
        if let Some(e) = self.indexing_error.lock().as_ref() {
            reasons.push(format!("indexing is failing (accepted events are kept in the write-ahead log and retried): {e}"));
        }
        let disk_full = matches!(&*self.log_failure.lock(), Some((_, PersistError::DiskFull)));
        if disk_full {
            reasons.push("the data directory's disk is full: new events are refused".to_string());
        }
        let held = self.held();
        if held > 0 {
            reasons.push(format!(
                "{held} syslog event(s) wait for the write-ahead log, which cannot write them: they are retried every second and their senders held back (TCP/TLS) or shed (UDP)"
            ));
        }
        let quarantined = self.quarantined.load(Ordering::Relaxed);
        if quarantined > 0 {
            reasons.push(format!(
                "{quarantined} event(s) could not be indexed and were set aside in quarantine.ndjson in the data directory"
            ));
        }
        if let Some(c) = self.log_corruption.lock().as_ref() {
            reasons.push(c.clone());
        }
        Health {
            status: if reasons.is_empty() { "ok" } else { "degraded" },
            reasons,
            backlog,
            quarantined,
            held,
        }
    }
}

/// `text` with each absolute file-system path (a `/` that starts a word or follows a quote,
/// up to the next space, quote, comma or closing parenthesis) replaced by `<path>`; a colon
/// that ends the path is kept.
pub(crate) fn without_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('/') {
        let starts_word = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | '='));
        if !starts_word {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            continue;
        }
        out.push_str(&rest[..i]);
        let path = &rest[i..];
        let end = path
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')'))
            .unwrap_or(path.len());
        let kept_colon = path[..end].ends_with(':');
        out.push_str("<path>");
        if kept_colon {
            out.push(':');
        }
        rest = &path[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::without_paths;

    #[test]
    fn paths_are_left_out_of_what_health_shows() {
        let e = "events/20261130: storage error: creating an index in /tmp/.tmpbK/data/index/events/20261130: An IO error occurred: 'No space left on device (os error 28) at path \"/tmp/.tmpbK/x/.tmp8j\"'";
        assert_eq!(
            without_paths(e),
            "events/20261130: storage error: creating an index in <path>: An IO error occurred: 'No space left on device (os error 28) at path \"<path>\"'"
        );
        assert_eq!(without_paths("(/var/lib/ferrodef)"), "(<path>)");
        assert_eq!(without_paths("a/b and 1/2"), "a/b and 1/2");
        assert_eq!(without_paths("/"), "<path>");
    }
}
