//! The audit-record joiner: the records of one Linux audit event (SYSCALL, EXECVE, CWD,
//! PATH..., PROCTITLE, EOE share node, time and serial) arrive as separate syslog messages;
//! they are joined into one event.
//!
//! Bounded in memory: at most `max_open` events wait for more records (the oldest goes out,
//! with what it has, when another opens) and at most `max_records` records are kept per event
//! (a full event goes out). Records are found by key in a hash map, so any number of serials
//! costs linear time. Events still open when the input ends (the end of a body or of a
//! listener's batch) go out with what arrived. Nothing is dropped.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use ferrodef_parsers::AuditRecord;

/// Identity of an audit event: node, time, serial.
type Key = (Option<String>, DateTime<Utc>, u64);

/// The records of one event with what the caller attached to each (e.g. its syslog event).
#[derive(Debug)]
pub struct Joined<T> {
    /// The records, in arrival order (without the closing `EOE`).
    pub records: Vec<AuditRecord>,
    /// What came with each record, in the same order; the `EOE`'s too, when it closed it.
    pub items: Vec<T>,
}

struct Group<T> {
    joined: Joined<T>,
    /// Arrival number of the group, to tell a live entry of `order` from a stale one.
    id: u64,
}

/// Joins audit records into events. See the module documentation.
pub struct AuditJoiner<T> {
    open: HashMap<Key, Group<T>>,
    /// Keys in opening order (with ids); entries of groups already gone are skipped.
    order: VecDeque<(Key, u64)>,
    next_id: u64,
    max_open: usize,
    max_records: usize,
}

impl<T> Default for AuditJoiner<T> {
    fn default() -> Self {
        AuditJoiner::new(1024, 512)
    }
}

impl<T> AuditJoiner<T> {
    /// A joiner keeping at most `max_open` open events of at most `max_records` records.
    pub fn new(max_open: usize, max_records: usize) -> AuditJoiner<T> {
        AuditJoiner {
            open: HashMap::new(),
            order: VecDeque::new(),
            next_id: 0,
            max_open: max_open.max(1),
            max_records: max_records.max(1),
        }
    }

    /// Events waiting for more records.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// Adds a record (of a multi-record event) with its item; returns the events it completes
    /// or pushes out. A lone `EOE` (its event already out, or never seen) comes back alone.
    pub fn push(&mut self, rec: AuditRecord, item: T) -> Vec<Joined<T>> {
        let key: Key = (rec.node.clone(), rec.timestamp, rec.serial);
        let mut out = Vec::new();
        let eoe = rec.record_type == "EOE";
        if let Some(g) = self.open.get_mut(&key) {
            g.joined.items.push(item);
            if !eoe {
                g.joined.records.push(rec);
            }
            if eoe || g.joined.records.len() >= self.max_records {
                if let Some(g) = self.open.remove(&key) {
                    out.push(g.joined);
                }
            }
            return out;
        }
        if eoe {
            out.push(Joined {
                records: Vec::new(),
                items: vec![item],
            });
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
        let joined = Joined {
            records: vec![rec],
            items: vec![item],
        };
        if self.max_records <= 1 {
            out.push(joined);
            return out;
        }
        self.order.push_back((key.clone(), id));
        self.open.insert(key, Group { joined, id });
        self.compact();
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

    fn pop_oldest(&mut self) -> Option<Joined<T>> {
        while let Some((key, id)) = self.order.pop_front() {
            if self.open.get(&key).is_some_and(|g| g.id == id) {
                return self.open.remove(&key).map(|g| g.joined);
            }
        }
        None
    }

    /// Drops stale entries of `order` once they outnumber the open events (amortized O(1)).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.open.len() + 64 {
            let open = &self.open;
            self.order
                .retain(|(k, id)| open.get(k).is_some_and(|g| g.id == *id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrodef_parsers::parse_auditd_record;

    fn rec(s: &str) -> AuditRecord {
        parse_auditd_record(s).expect("audit record")
    }

    fn line(t: &str, serial: u64, extra: &str) -> String {
        format!("type={t} msg=audit(1364481363.243:{serial}): {extra}")
    }

    #[test]
    fn joins_until_eoe() {
        let mut j = AuditJoiner::default();
        assert!(j
            .push(
                rec(&line(
                    "SYSCALL",
                    24287,
                    "arch=c000003e syscall=2 success=no"
                )),
                1
            )
            .is_empty());
        assert!(j
            .push(rec(&line("CWD", 24287, "cwd=\"/root\"")), 2)
            .is_empty());
        let out = j.push(rec(&line("EOE", 24287, "")), 3);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].records.len(), 2);
        assert_eq!(out[0].items, vec![1, 2, 3]);
        assert_eq!(j.open(), 0);
        // A stray EOE comes back alone.
        let out = j.push(rec(&line("EOE", 24287, "")), 4);
        assert_eq!(out.len(), 1);
        assert!(out[0].records.is_empty());
    }

    #[test]
    fn bounded_open_events_oldest_out_first() {
        let mut j = AuditJoiner::new(3, 512);
        let mut out = Vec::new();
        for serial in 0..10u64 {
            out.extend(j.push(rec(&line("SYSCALL", serial, "syscall=2")), serial));
            assert!(j.open() <= 3);
        }
        out.extend(j.finish());
        let order: Vec<u64> = out.iter().map(|o| o.items[0]).collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn full_event_goes_out() {
        let mut j = AuditJoiner::new(16, 3);
        let mut out = Vec::new();
        for i in 0..7 {
            out.extend(j.push(rec(&line("PATH", 7, &format!("item={i}"))), i));
        }
        out.extend(j.finish());
        let sizes: Vec<usize> = out.iter().map(|o| o.records.len()).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
    }

    #[test]
    fn many_serials_in_linear_time() {
        // 50,000 interleaved open events with the default bound: each push is O(1).
        let mut j = AuditJoiner::default();
        let mut emitted = 0usize;
        for serial in 0..50_000u64 {
            emitted += j.push(rec(&line("SYSCALL", serial, "syscall=2")), ()).len();
        }
        emitted += j.finish().len();
        assert_eq!(emitted, 50_000);
    }
}
