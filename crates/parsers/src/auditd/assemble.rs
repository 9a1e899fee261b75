//! Joining the records of one event (same node, time stamp and serial), bounded in pending
//! events, records per event and time.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use super::event::build;
use super::{parse_auditd_record, AuditRecord};
use crate::Parsed;

struct Pending {
    records: Vec<AuditRecord>,
}

impl Pending {
    fn head(&self) -> Option<&AuditRecord> {
        self.records.first()
    }
}

/// Joins the records of an event and emits it as one [`Parsed`].
///
/// An event is emitted when its `EOE` or `PROCTITLE` (always the last record before `EOE`)
/// arrives; when a record of another event of the same node arrives more than `timeout`
/// (audit time, 2 s by default, auditd's `end_of_event_timeout`) after it; when more than
/// `max_pending` events are open (the oldest goes out); when it reaches `max_records`; by
/// [`flush_expired`](Self::flush_expired) and [`flush`](Self::flush). One-record types
/// (`USER_*`, `CRED_*`, `ADD_USER`, `DAEMON_*`...) are emitted at once. Nothing is dropped
/// for want of room: an incomplete event goes out with what it has. A stray `EOE` (its event
/// already out) is ignored.
#[derive(Default)]
pub struct AuditAssembler {
    pending: VecDeque<Pending>,
    limits: Limits,
}

struct Limits {
    max_pending: usize,
    max_records: usize,
    timeout: TimeDelta,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pending: 1024,
            max_records: 512,
            timeout: TimeDelta::seconds(2),
        }
    }
}

impl AuditAssembler {
    /// An assembler with the default limits (1024 open events, 512 records per event, 2 s).
    pub fn new() -> AuditAssembler {
        AuditAssembler::default()
    }

    /// Open events kept at most (at least 1).
    pub fn with_max_pending(mut self, n: usize) -> AuditAssembler {
        self.limits.max_pending = n.max(1);
        self
    }

    /// Records kept per event at most (at least 1); a full event is emitted.
    pub fn with_max_records(mut self, n: usize) -> AuditAssembler {
        self.limits.max_records = n.max(1);
        self
    }

    /// How long after an event's time stamp a newer event of its node closes it.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> AuditAssembler {
        self.limits.timeout = TimeDelta::from_std(timeout).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Events waiting for more records.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds a line; returns the events it completes. A line that is no audit record is
    /// ignored (use [`parse_auditd_record`] and [`push_record`](Self::push_record) to tell).
    pub fn push(&mut self, line: &str) -> Vec<Parsed> {
        match parse_auditd_record(line) {
            Some(rec) => self.push_record(rec),
            None => Vec::new(),
        }
    }

    /// Adds a parsed record; returns the events it completes.
    pub fn push_record(&mut self, rec: AuditRecord) -> Vec<Parsed> {
        let mut out = Vec::new();
        if rec.is_standalone() {
            self.expire(&rec, &mut out);
            out.extend(build(std::slice::from_ref(&rec)));
            return out;
        }
        let idx = self
            .pending
            .iter()
            .position(|p| p.head().is_some_and(|h| h.same_event(&rec)));
        if rec.record_type == "EOE" {
            if let Some(i) = idx {
                self.emit_at(i, &mut out);
            }
            return out;
        }
        if let Some(i) = idx {
            if self.pending[i].records.len() < self.limits.max_records {
                let last = rec.record_type == "PROCTITLE";
                self.pending[i].records.push(rec);
                if last {
                    self.emit_at(i, &mut out);
                }
                return out;
            }
            // full: out with it, the record starts afresh
            self.emit_at(i, &mut out);
        }
        self.expire(&rec, &mut out);
        if rec.record_type == "PROCTITLE" {
            out.extend(build(std::slice::from_ref(&rec)));
            return out;
        }
        while self.pending.len() >= self.limits.max_pending {
            match self.pending.pop_front() {
                Some(p) => out.extend(build(&p.records)),
                None => break,
            }
        }
        self.pending.push_back(Pending { records: vec![rec] });
        out
    }

    /// Emits the events whose time stamp is `timeout` or more before `now` (for an idle
    /// source).
    pub fn flush_expired(&mut self, now: DateTime<Utc>) -> Vec<Parsed> {
        let timeout = self.limits.timeout;
        let mut out = Vec::new();
        self.drain_where(
            |p| {
                p.head()
                    .is_some_and(|h| now.signed_duration_since(h.timestamp) >= timeout)
            },
            &mut out,
        );
        out
    }

    /// Emits every open event, oldest first.
    pub fn flush(&mut self) -> Vec<Parsed> {
        self.pending
            .drain(..)
            .filter_map(|p| build(&p.records))
            .collect()
    }

    fn emit_at(&mut self, i: usize, out: &mut Vec<Parsed>) {
        if let Some(p) = self.pending.remove(i) {
            out.extend(build(&p.records));
        }
    }

    /// Closes the events of `rec`'s node that are `timeout` or more older than it.
    fn expire(&mut self, rec: &AuditRecord, out: &mut Vec<Parsed>) {
        let timeout = self.limits.timeout;
        self.drain_where(
            |p| {
                p.head().is_some_and(|h| {
                    h.node == rec.node
                        && rec.timestamp.signed_duration_since(h.timestamp) >= timeout
                })
            },
            out,
        );
    }

    fn drain_where(&mut self, mut pred: impl FnMut(&Pending) -> bool, out: &mut Vec<Parsed>) {
        if !self.pending.iter().any(&mut pred) {
            return;
        }
        let mut keep = VecDeque::with_capacity(self.pending.len());
        for p in self.pending.drain(..) {
            if pred(&p) {
                out.extend(build(&p.records));
            } else {
                keep.push_back(p);
            }
        }
        self.pending = keep;
    }
}
