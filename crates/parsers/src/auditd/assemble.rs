//! Joining the records of one audit event (same node, time stamp and serial): the one joiner
//! of ferrodef, bounded in open events, records per event and time.
//!
//! [`AuditJoiner`] carries any item with each record (the ingest service attaches the syslog
//! event each record came in, to keep every raw line); [`AuditAssembler`] is the same joiner
//! for bare lines, giving [`Parsed`] events.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use super::event::build;
use super::{parse_auditd_record, AuditRecord};
use crate::Parsed;

/// Identity of an audit event: node, time stamp, serial.
type Key = (Option<String>, DateTime<Utc>, u64);

fn key(r: &AuditRecord) -> Key {
    (r.node.clone(), r.timestamp, r.serial)
}

/// The records of one event, with what came with each.
#[derive(Debug)]
pub struct Joined<T> {
    /// The records in arrival order (without the closing `EOE`); empty for a stray `EOE`.
    pub records: Vec<AuditRecord>,
    /// The item of each record, in the same order, and of the closing `EOE` when one came.
    pub items: Vec<T>,
}

struct Open<T> {
    joined: Joined<T>,
    /// Opening number, to tell a live entry of `order` from a stale one.
    id: u64,
    /// Time stamp of the event (its records').
    at: DateTime<Utc>,
}

/// Joins the records of audit events.
///
/// An event goes out when its `EOE` or its `PROCTITLE` (always the last record before `EOE`)
/// arrives; when a record stamped `timeout` (audit time, 2 s by default, auditd's
/// `end_of_event_timeout`) or more after it arrives; when more than `max_open` events are open
/// (the oldest goes out); when it reaches `max_records`; by [`flush_expired`](Self::flush_expired)
/// and [`finish`](Self::finish). One-record types (`USER_*`, `CRED_*`, `ADD_USER`,
/// `DAEMON_*`...) go out at once. Nothing is dropped for want of room: an incomplete event goes
/// out with what it has, and a stray `EOE` (its event already out) comes back alone. Records
/// are found by key in a hash map: any number of serials costs linear time.
pub struct AuditJoiner<T> {
    open: HashMap<Key, Open<T>>,
    order: VecDeque<(Key, u64)>,
    next_id: u64,
    max_open: usize,
    max_records: usize,
    timeout: TimeDelta,
    proctitle_ends: bool,
}

impl<T> Default for AuditJoiner<T> {
    fn default() -> Self {
        AuditJoiner {
            open: HashMap::new(),
            order: VecDeque::new(),
            next_id: 0,
            max_open: 1024,
            max_records: 512,
            timeout: TimeDelta::seconds(2),
            proctitle_ends: true,
        }
    }
}

impl<T> AuditJoiner<T> {
    /// Whether a `PROCTITLE` ends its event (default) or the event waits for its `EOE` (to
    /// keep the `EOE` line with the event).
    pub fn with_proctitle_ending(mut self, ends: bool) -> AuditJoiner<T> {
        self.proctitle_ends = ends;
        self
    }

    /// A joiner with the default limits (1024 open events, 512 records per event, 2 s).
    pub fn new() -> AuditJoiner<T> {
        AuditJoiner::default()
    }

    /// Open events kept at most (at least 1).
    pub fn with_max_open(mut self, n: usize) -> AuditJoiner<T> {
        self.max_open = n.max(1);
        self
    }

    /// Records kept per event at most (at least 1); a full event goes out.
    pub fn with_max_records(mut self, n: usize) -> AuditJoiner<T> {
        self.max_records = n.max(1);
        self
    }

    /// How long after an event's time stamp a newer record closes it.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> AuditJoiner<T> {
        self.timeout = TimeDelta::from_std(timeout).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Events waiting for more records.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// Adds a record with its item; returns the events it completes or pushes out.
    pub fn push(&mut self, rec: AuditRecord, item: T) -> Vec<Joined<T>> {
        let mut out = Vec::new();
        self.expire(rec.timestamp, &mut out);
        if rec.is_standalone() {
            out.push(Joined {
                records: vec![rec],
                items: vec![item],
            });
            return out;
        }
        let k = key(&rec);
        let eoe = rec.record_type == "EOE";
        if let Some(o) = self.open.get_mut(&k) {
            if eoe {
                o.joined.items.push(item);
                self.close(&k, &mut out);
                return out;
            }
            if o.joined.records.len() < self.max_records {
                let last = self.proctitle_ends && rec.record_type == "PROCTITLE";
                o.joined.records.push(rec);
                o.joined.items.push(item);
                if last {
                    self.close(&k, &mut out);
                }
                return out;
            }
            // Full: out with it; the record starts afresh.
            self.close(&k, &mut out);
        }
        let joined = Joined {
            records: vec![rec],
            items: vec![item],
        };
        if eoe {
            out.push(Joined {
                records: Vec::new(),
                items: joined.items,
            });
            return out;
        }
        let last = self.proctitle_ends && joined.records[0].record_type == "PROCTITLE";
        if last || self.max_records <= 1 {
            out.push(joined);
            return out;
        }
        while self.open.len() >= self.max_open {
            match self.pop_oldest() {
                Some(j) => out.push(j),
                None => break,
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let at = joined.records[0].timestamp;
        self.order.push_back((k.clone(), id));
        self.open.insert(k, Open { joined, id, at });
        self.compact();
        out
    }

    /// The events stamped `timeout` or more before `now` (for an idle source).
    pub fn flush_expired(&mut self, now: DateTime<Utc>) -> Vec<Joined<T>> {
        let mut out = Vec::new();
        self.expire(now, &mut out);
        out
    }

    /// Every open event, oldest first.
    pub fn finish(&mut self) -> Vec<Joined<T>> {
        let mut out = Vec::with_capacity(self.open.len());
        while let Some(j) = self.pop_oldest() {
            out.push(j);
        }
        self.order.clear();
        out
    }

    /// Closes the oldest events while they are `timeout` or more older than `now`.
    fn expire(&mut self, now: DateTime<Utc>, out: &mut Vec<Joined<T>>) {
        while let Some((k, id)) = self.order.front() {
            let live = self.open.get(k).filter(|o| o.id == *id);
            match live {
                Some(o) if now.signed_duration_since(o.at) >= self.timeout => {
                    let k = k.clone();
                    self.order.pop_front();
                    self.close(&k, out);
                }
                Some(_) => break,
                None => {
                    self.order.pop_front();
                }
            }
        }
    }

    fn close(&mut self, k: &Key, out: &mut Vec<Joined<T>>) {
        if let Some(o) = self.open.remove(k) {
            out.push(o.joined);
        }
    }

    fn pop_oldest(&mut self) -> Option<Joined<T>> {
        while let Some((k, id)) = self.order.pop_front() {
            if self.open.get(&k).is_some_and(|o| o.id == id) {
                return self.open.remove(&k).map(|o| o.joined);
            }
        }
        None
    }

    /// Drops stale entries of `order` once they outnumber the open events (amortized O(1)).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.open.len() + 64 {
            let open = &self.open;
            self.order
                .retain(|(k, id)| open.get(k).is_some_and(|o| o.id == *id));
        }
    }
}

/// The joiner for bare audit lines: each event comes out as one [`Parsed`]; a stray `EOE` is
/// ignored. Same limits and rules as [`AuditJoiner`].
#[derive(Default)]
pub struct AuditAssembler {
    joiner: AuditJoiner<()>,
}

fn parsed(joined: Vec<Joined<()>>) -> Vec<Parsed> {
    joined
        .into_iter()
        .filter(|j| !j.records.is_empty())
        .filter_map(|j| build(&j.records))
        .collect()
}

impl AuditAssembler {
    /// An assembler with the default limits (1024 open events, 512 records per event, 2 s).
    pub fn new() -> AuditAssembler {
        AuditAssembler::default()
    }

    /// Open events kept at most (at least 1).
    pub fn with_max_pending(mut self, n: usize) -> AuditAssembler {
        self.joiner = self.joiner.with_max_open(n);
        self
    }

    /// Records kept per event at most (at least 1); a full event is emitted.
    pub fn with_max_records(mut self, n: usize) -> AuditAssembler {
        self.joiner = self.joiner.with_max_records(n);
        self
    }

    /// How long after an event's time stamp a newer record closes it.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> AuditAssembler {
        self.joiner = self.joiner.with_timeout(timeout);
        self
    }

    /// Events waiting for more records.
    pub fn pending(&self) -> usize {
        self.joiner.open()
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
        parsed(self.joiner.push(rec, ()))
    }

    /// Emits the events whose time stamp is `timeout` or more before `now`.
    pub fn flush_expired(&mut self, now: DateTime<Utc>) -> Vec<Parsed> {
        parsed(self.joiner.flush_expired(now))
    }

    /// Emits every open event, oldest first.
    pub fn flush(&mut self) -> Vec<Parsed> {
        parsed(self.joiner.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: &str, serial: u64, extra: &str) -> AuditRecord {
        parse_auditd_record(&format!(
            "type={t} msg=audit(1364481363.243:{serial}): {extra}"
        ))
        .expect("audit record")
    }

    #[test]
    fn items_follow_their_records_and_a_stray_eoe_comes_back_alone() {
        let mut j = AuditJoiner::new();
        assert!(j.push(rec("SYSCALL", 1, "syscall=2"), 1).is_empty());
        assert!(j.push(rec("CWD", 1, "cwd=\"/\""), 2).is_empty());
        let out = j.push(rec("EOE", 1, ""), 3);
        assert_eq!(
            (out[0].records.len(), out[0].items.clone()),
            (2, vec![1, 2, 3])
        );
        let out = j.push(rec("EOE", 1, ""), 4);
        assert!(out[0].records.is_empty());
        assert_eq!(out[0].items, vec![4]);
    }

    #[test]
    fn many_serials_in_linear_time_and_bounded() {
        let mut j = AuditJoiner::new().with_max_open(100);
        let mut out = 0usize;
        for serial in 0..50_000u64 {
            out += j.push(rec("SYSCALL", serial, "syscall=2"), serial).len();
            assert!(j.open() <= 100);
        }
        out += j.finish().len();
        assert_eq!(out, 50_000);
    }
}
