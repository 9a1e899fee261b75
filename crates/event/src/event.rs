//! The normalized event (MozDef's schema).

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::details::Key;
use crate::{format_timestamp, write_timestamp, Details, Severity};

/// A normalized event, serialized in MozDef's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When the event happened (UTC).
    #[serde(with = "crate::time::ts")]
    pub utctimestamp: DateTime<Utc>,
    /// When ferrodef received it.
    #[serde(with = "crate::time::ts")]
    pub receivedtimestamp: DateTime<Utc>,
    /// The event's own time as sent (normalized to UTC), like MozDef.
    #[serde(with = "crate::time::ts")]
    pub timestamp: DateTime<Utc>,
    /// The ferrodef server that received the event.
    pub mozdefhostname: String,
    /// Kind of event (`authentication`, `syslog`, `proxy`...).
    pub category: String,
    /// Host the event is about.
    pub hostname: String,
    /// Program that logged it.
    pub processname: String,
    /// Its process id (a string, as in MozDef).
    pub processid: String,
    /// Severity.
    pub severity: Severity,
    /// Where it came from (syslog facility, shipper...).
    pub source: String,
    /// The message.
    pub summary: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Free-form fields.
    pub details: Details,
    /// MozDef's legacy document type (`event`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Where the event was read from (file, logger), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eventsource: Option<String>,
    /// Transforms that changed the event (MozDef's `plugins`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
}

impl Event {
    /// The event as a JSON object, exactly as it serializes, without serializing: strings and
    /// detail values are moved, not copied.
    pub fn into_map(self) -> Map<String, Value> {
        // Room for every top-level field, so that the map is never rehashed while filled.
        let mut m = Map::with_capacity(17);
        m.insert(
            "utctimestamp".into(),
            Value::String(format_timestamp(&self.utctimestamp)),
        );
        m.insert(
            "receivedtimestamp".into(),
            Value::String(format_timestamp(&self.receivedtimestamp)),
        );
        m.insert(
            "timestamp".into(),
            Value::String(format_timestamp(&self.timestamp)),
        );
        m.insert("mozdefhostname".into(), Value::String(self.mozdefhostname));
        m.insert("category".into(), Value::String(self.category));
        m.insert("hostname".into(), Value::String(self.hostname));
        m.insert("processname".into(), Value::String(self.processname));
        m.insert("processid".into(), Value::String(self.processid));
        m.insert(
            "severity".into(),
            Value::String(self.severity.as_str().into()),
        );
        m.insert("source".into(), Value::String(self.source));
        m.insert("summary".into(), Value::String(self.summary));
        m.insert(
            "tags".into(),
            Value::Array(self.tags.into_iter().map(Value::String).collect()),
        );
        m.insert("details".into(), Value::Object(self.details.into_map()));
        if let Some(t) = self.r#type {
            m.insert("type".into(), Value::String(t));
        }
        if let Some(e) = self.eventsource {
            m.insert("eventsource".into(), Value::String(e));
        }
        if !self.plugins.is_empty() {
            m.insert(
                "plugins".into(),
                Value::Array(self.plugins.into_iter().map(Value::String).collect()),
            );
        }
        m
    }

    /// The event as a JSON object (as [`Event::into_map`], values moved), and what
    /// [`Event::take_back`] needs to make it the event again without parsing its times.
    ///
    /// The object is one a previous [`Event::take_back`] on this thread emptied, when there
    /// is one (its keys, hash table and the buffers of its times are reused: no key is
    /// allocated or hashed), preferably one whose details had the same keys; else a new one.
    pub fn lend(self) -> (Map<String, Value>, Lent) {
        let Event {
            utctimestamp,
            receivedtimestamp,
            timestamp,
            mozdefhostname,
            category,
            hostname,
            processname,
            processid,
            severity,
            source,
            summary,
            mut tags,
            details,
            r#type,
            eventsource,
            plugins,
        } = self;
        // The details' keys stay here (their values go into the object), for the values to
        // come back to in `take_back`.
        let mut details: Vec<(Key, Value)> = details.into_iter().collect();
        let mut m = POOL
            .with(|p| p.borrow_mut().take(&details))
            .unwrap_or_else(|| Map::with_capacity(MAP_FIELDS.len() + MAP_OPTIONAL.len() + 1));
        if m.len() < MAP_FIELDS.len() {
            // A new object: every fixed field, in order (values set below).
            for k in MAP_FIELDS {
                let v = match k {
                    "tags" => Value::Array(Vec::new()),
                    "details" => Value::Object(Map::with_capacity(details.len())),
                    _ => Value::Null,
                };
                m.insert(String::from(k), v);
            }
        }
        // The optional fields, when the object's are not the event's.
        let optional: [(&str, bool); 3] = [
            ("type", r#type.is_some()),
            ("eventsource", eventsource.is_some()),
            ("plugins", !plugins.is_empty()),
        ];
        let wanted = optional.iter().filter(|(_, set)| *set).map(|(k, _)| *k);
        if !m
            .keys()
            .skip(MAP_FIELDS.len())
            .map(String::as_str)
            .eq(wanted.clone())
        {
            let mut i = 0;
            m.retain(|_, _| {
                i += 1;
                i <= MAP_FIELDS.len()
            });
            for k in wanted {
                m.insert(String::from(k), Value::Null);
            }
        }
        // The fixed fields, in `MAP_FIELDS` order, then the optional ones.
        let mut it = m.values_mut();
        // The times: a time equal to `utctimestamp` (an event's own `timestamp`, mostly) or
        // to the last `receivedtimestamp` written on this thread (a request's events were
        // received together) is copied as text rather than formatted again.
        let (v_utc, v_recv, v_ts) = (it.next(), it.next(), it.next());
        if let Some(v) = v_utc {
            set_time(v, &utctimestamp);
            let utc_text = v.as_str();
            let same_as_utc = |v: &mut Value, t: &DateTime<Utc>| match utc_text {
                Some(text) if *t == utctimestamp => {
                    copy_time(v, text);
                    true
                }
                _ => false,
            };
            if let Some(v) = v_recv {
                if !same_as_utc(v, &receivedtimestamp) {
                    LAST_RECEIVED.with(|last| {
                        let mut last = last.borrow_mut();
                        match &mut *last {
                            Some((t, text)) if *t == receivedtimestamp => copy_time(v, text),
                            _ => {
                                set_time(v, &receivedtimestamp);
                                *last = v.as_str().map(|s| (receivedtimestamp, s.to_string()));
                            }
                        }
                    });
                }
            }
            if let Some(v) = v_ts {
                if !same_as_utc(v, &timestamp) {
                    set_time(v, &timestamp);
                }
            }
        }
        for s in [mozdefhostname, category, hostname, processname, processid] {
            if let Some(v) = it.next() {
                put_string(v, s);
            }
        }
        if let Some(v) = it.next() {
            match v {
                Value::String(s) => {
                    s.clear();
                    s.push_str(severity.as_str());
                }
                v => *v = Value::String(severity.as_str().into()),
            }
        }
        for s in [source, summary] {
            if let Some(v) = it.next() {
                put_string(v, s);
            }
        }
        if let Some(v) = it.next() {
            fill_array(v, &mut tags);
        }
        if let Some(v) = it.next() {
            if !v.is_object() {
                *v = Value::Object(Map::with_capacity(details.len()));
            }
            if let Value::Object(d) = v {
                let same_keys = d.len() == details.len()
                    && d.keys().zip(&details).all(|(a, (b, _))| a == b.as_ref());
                if same_keys {
                    for (slot, (_, x)) in d.values_mut().zip(details.iter_mut()) {
                        // Swapped: the event's list keeps the object's emptied values
                        // (nothing dropped on either side).
                        std::mem::swap(slot, x);
                    }
                } else {
                    d.clear();
                    for (k, x) in details.iter_mut() {
                        d.insert(String::from(k.as_ref()), std::mem::take(x));
                    }
                }
            }
        }
        // The optional fields set, in `MAP_OPTIONAL` order (the object's keys were made so).
        let (mut r#type, mut eventsource, mut plugins) = (r#type, eventsource, plugins);
        for (k, _) in optional.iter().filter(|(_, set)| *set) {
            let Some(v) = it.next() else {
                break;
            };
            match *k {
                "type" => put_string(v, r#type.take().unwrap_or_default()),
                "eventsource" => put_string(v, eventsource.take().unwrap_or_default()),
                _ => fill_array(v, &mut plugins),
            }
        }
        let lent = Lent {
            utctimestamp,
            receivedtimestamp,
            timestamp,
            severity,
            details: Some(details),
            tags,
            plugins,
        };
        (m, lent)
    }

    /// The event [`Event::lend`] made into `m`, its values moved back, when `m` still has
    /// exactly the fields `lend` gave it, in the same order and of the same types (so that
    /// the event serializes as `m` does); otherwise (e.g. the rules added `alert_names`) `m`
    /// is handed back unchanged. The times and the severity are `lent`'s, not read from `m`:
    /// whoever held `m` must not have changed them. The emptied object is kept for the
    /// thread's next [`Event::lend`].
    pub fn take_back(mut m: Map<String, Value>, lent: Lent) -> Result<Event, Map<String, Value>> {
        if !lent_shape(&m) {
            return Err(m);
        }
        let Lent {
            utctimestamp,
            receivedtimestamp,
            timestamp,
            severity,
            mut details,
            mut tags,
            mut plugins,
        } = lent;
        // The object keeps an empty string where each string was (no value to drop when the
        // next `lend` fills it again).
        let take_string = |v: &mut Value| match v {
            Value::String(s) => std::mem::take(s),
            _ => String::new(),
        };
        let mut ev = Event {
            utctimestamp,
            receivedtimestamp,
            timestamp,
            mozdefhostname: String::new(),
            category: String::new(),
            hostname: String::new(),
            processname: String::new(),
            processid: String::new(),
            severity,
            source: String::new(),
            summary: String::new(),
            tags: Vec::new(),
            details: Details::new(),
            r#type: None,
            eventsource: None,
            plugins: Vec::new(),
        };
        // `lent_shape` checked the fixed fields' names and order: they are told apart by
        // position (`MAP_FIELDS`), the optional ones by name.
        for (i, (k, v)) in m.iter_mut().enumerate() {
            match i {
                F_MOZDEFHOSTNAME => ev.mozdefhostname = take_string(v),
                F_CATEGORY => ev.category = take_string(v),
                F_HOSTNAME => ev.hostname = take_string(v),
                F_PROCESSNAME => ev.processname = take_string(v),
                F_PROCESSID => ev.processid = take_string(v),
                F_SOURCE => ev.source = take_string(v),
                F_SUMMARY => ev.summary = take_string(v),
                F_TAGS => take_strings(v, &mut tags, &mut ev.tags),
                F_DETAILS => {
                    if let Value::Object(d) = v {
                        ev.details = match details.take() {
                            Some(mut fields)
                                if fields.len() == d.len()
                                    && d.keys().zip(&fields).all(|(a, (b, _))| a == b.as_ref()) =>
                            {
                                for ((_, slot), v) in fields.iter_mut().zip(d.values_mut()) {
                                    std::mem::swap(slot, v);
                                }
                                Details::from_fields(fields)
                            }
                            _ => Details::from(std::mem::take(d)),
                        };
                    }
                }
                _ if i >= MAP_FIELDS.len() => match k.as_str() {
                    "type" => ev.r#type = Some(take_string(v)),
                    "eventsource" => ev.eventsource = Some(take_string(v)),
                    "plugins" => take_strings(v, &mut plugins, &mut ev.plugins),
                    _ => {}
                },
                // The times and the severity: `lent`'s (their strings stay, to be reused).
                _ => {}
            }
        }
        POOL.with(|p| p.borrow_mut().put(m));
        Ok(ev)
    }
}

/// Objects [`Event::take_back`] emptied, for [`Event::lend`] to fill again: per thread, by
/// the number of details they had (events of one kind have the same details), each with the
/// [`keys_print`] of its details' keys.
#[derive(Default)]
struct Pool {
    by_len: Vec<Vec<(u64, Map<String, Value>)>>,
    count: usize,
}

/// Most objects a thread keeps.
const POOL_MAX: usize = 512;

/// Details counts past this share one list.
const POOL_LENS: usize = 32;

/// How many of the most recently emptied objects of a list [`Event::lend`] looks through for
/// one whose details had the event's keys.
const POOL_SEARCH: usize = 8;

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
    /// The last `receivedtimestamp` [`Event::lend`] formatted on the thread, with its text.
    static LAST_RECEIVED: RefCell<Option<(DateTime<Utc>, String)>> = const { RefCell::new(None) };
}

/// A cheap print of a sequence of keys (their lengths and a few of their bytes): objects
/// whose details had other keys almost always differ in it, without comparing the keys.
/// Equal prints do not prove equal keys: [`Event::lend`] compares them before reusing them.
fn keys_print<'k>(keys: impl Iterator<Item = &'k str>) -> u64 {
    keys.fold(0xcbf2_9ce4_8422_2325, |h, k| {
        let b = k.as_bytes();
        let at = |i: usize| u64::from(b.get(i).copied().unwrap_or(0));
        let x = b.len() as u64
            | at(0) << 16
            | at(b.len() / 2) << 24
            | at(b.len().wrapping_sub(1)) << 32;
        (h ^ x).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Pool {
    /// The details of an object the pool holds (the last fixed field).
    fn details(m: &Map<String, Value>) -> Option<&Map<String, Value>> {
        m.values()
            .nth(MAP_FIELDS.len() - 1)
            .and_then(Value::as_object)
    }

    /// An emptied object: preferably one whose details had the keys of `details` (by their
    /// print), in order; else one with as many details; else any.
    fn take(&mut self, details: &[(Key, Value)]) -> Option<Map<String, Value>> {
        if self.count == 0 {
            return None;
        }
        let list = details.len().min(POOL_LENS);
        let taken = match self.by_len.get_mut(list) {
            Some(l) if !l.is_empty() => {
                let print = keys_print(details.iter().map(|(k, _)| k.as_ref()));
                let n = l.len();
                match (n.saturating_sub(POOL_SEARCH)..n)
                    .rev()
                    .find(|&i| l.get(i).is_some_and(|(p, _)| *p == print))
                {
                    Some(i) => Some(l.swap_remove(i)),
                    None => l.pop(),
                }
            }
            _ => self.by_len.iter_mut().rev().find_map(Vec::pop),
        };
        if taken.is_some() {
            self.count -= 1;
        }
        taken.map(|(_, m)| m)
    }

    /// Keeps an emptied object (unless the pool is full).
    fn put(&mut self, m: Map<String, Value>) {
        if self.count >= POOL_MAX {
            return;
        }
        let (list, print) = match Pool::details(&m) {
            Some(d) => (
                d.len().min(POOL_LENS),
                keys_print(d.keys().map(String::as_str)),
            ),
            None => (0, 0),
        };
        if self.by_len.len() <= list {
            self.by_len.resize_with(list + 1, Vec::new);
        }
        if let Some(l) = self.by_len.get_mut(list) {
            l.push((print, m));
            self.count += 1;
        }
    }
}

/// Sets `v` to the text of `t`, reusing its string's buffer.
/// Sets `v` to an array of `items`' strings (which it empties), reusing `v`'s list.
fn fill_array(v: &mut Value, items: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            a.clear();
            a.extend(items.drain(..).map(Value::String));
        }
        v => *v = Value::Array(items.drain(..).map(Value::String).collect()),
    }
}

/// Moves the strings of array `v` into `room` (emptied first, its buffer reused) and `room`
/// into `out`; `v` keeps its emptied list for the next [`Event::lend`].
fn take_strings(v: &mut Value, room: &mut Vec<String>, out: &mut Vec<String>) {
    if let Value::Array(a) = v {
        room.clear();
        room.extend(a.drain(..).filter_map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        }));
        *out = std::mem::take(room);
    }
}

/// Sets `v` to the string `s` (a string `v` holds is replaced in place: no value to drop).
fn put_string(v: &mut Value, s: String) {
    match v {
        Value::String(slot) => *slot = s,
        v => *v = Value::String(s),
    }
}

/// Sets `v` to `text` (a time's text), reusing its string's buffer.
fn copy_time(v: &mut Value, text: &str) {
    match v {
        Value::String(s) => {
            s.clear();
            s.push_str(text);
        }
        v => *v = Value::String(text.to_string()),
    }
}

fn set_time(v: &mut Value, t: &DateTime<Utc>) {
    match v {
        Value::String(s) => {
            s.clear();
            write_timestamp(s, t);
        }
        v => *v = Value::String(format_timestamp(t)),
    }
}

/// What [`Event::lend`] keeps of an event to take it back from its JSON object.
#[derive(Debug, Clone)]
pub struct Lent {
    utctimestamp: DateTime<Utc>,
    receivedtimestamp: DateTime<Utc>,
    timestamp: DateTime<Utc>,
    severity: Severity,
    /// The details' keys in order (values moved into the object), for the values to come
    /// back to.
    details: Option<Vec<(Key, Value)>>,
    /// The tags' list, emptied (its room reused).
    tags: Vec<String>,
    /// The plugins' list, emptied (its room reused).
    plugins: Vec<String>,
}

/// The fields [`Event::into_map`] always writes, in its order.
const MAP_FIELDS: [&str; 13] = [
    "utctimestamp",
    "receivedtimestamp",
    "timestamp",
    "mozdefhostname",
    "category",
    "hostname",
    "processname",
    "processid",
    "severity",
    "source",
    "summary",
    "tags",
    "details",
];

/// Position of a fixed field in `MAP_FIELDS`.
const fn field_pos(name: &str) -> usize {
    let mut i = 0;
    while i < MAP_FIELDS.len() {
        let (a, b) = (MAP_FIELDS[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a fixed field")
}

const F_MOZDEFHOSTNAME: usize = field_pos("mozdefhostname");
const F_CATEGORY: usize = field_pos("category");
const F_HOSTNAME: usize = field_pos("hostname");
const F_PROCESSNAME: usize = field_pos("processname");
const F_PROCESSID: usize = field_pos("processid");
const F_SOURCE: usize = field_pos("source");
const F_SUMMARY: usize = field_pos("summary");
const F_TAGS: usize = field_pos("tags");
const F_DETAILS: usize = field_pos("details");

/// The fields it writes when set, in its order.
const MAP_OPTIONAL: [&str; 3] = ["type", "eventsource", "plugins"];

/// Whether `m` has exactly the shape [`Event::into_map`] gives: its fields in its order,
/// strings where it writes strings, arrays of strings, details an object, and `plugins` only
/// when not empty.
fn lent_shape(m: &Map<String, Value>) -> bool {
    let all_strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    let right_type = |k: &str, v: &Value| match k {
        "tags" => all_strings(v),
        "plugins" => all_strings(v) && v.as_array().is_some_and(|a| !a.is_empty()),
        "details" => v.is_object(),
        _ => v.is_string(),
    };
    if m.len() < MAP_FIELDS.len() || m.len() > MAP_FIELDS.len() + MAP_OPTIONAL.len() {
        return false;
    }
    let mut fields = m.iter();
    for want in MAP_FIELDS {
        match fields.next() {
            Some((k, v)) if k == want && right_type(k, v) => {}
            _ => return false,
        }
    }
    let mut optional = MAP_OPTIONAL.iter();
    for (k, v) in fields {
        if !optional.any(|o| o == k) || !right_type(k, v) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::details::SCAN_MAX;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    #[test]
    fn into_map_equals_serialization() {
        let mut details = Map::new();
        details.insert("n".into(), Value::from(1));
        let t = now();
        for (ty, es, plugins) in [
            (Some("event"), Some("/var/log/x"), vec!["sshd".to_string()]),
            (None, None, vec![]),
        ] {
            let ev = Event {
                utctimestamp: t,
                receivedtimestamp: t + chrono::Duration::milliseconds(5),
                timestamp: t,
                mozdefhostname: "m".into(),
                category: "c".into(),
                hostname: "h".into(),
                processname: "p".into(),
                processid: "1".into(),
                severity: Severity::Notice,
                source: "s".into(),
                summary: "x".into(),
                tags: vec!["a".into()],
                details: details.clone().into(),
                r#type: ty.map(Into::into),
                eventsource: es.map(Into::into),
                plugins,
            };
            let via_serde = serde_json::to_value(&ev).unwrap();
            let (m, lent) = ev.clone().lend();
            assert_eq!(Value::Object(m.clone()), via_serde);
            assert_eq!(Event::take_back(m, lent).ok(), Some(ev.clone()));
            assert_eq!(Value::Object(ev.into_map()), via_serde);
        }
    }

    /// Events of varied shapes lent and taken back in turn on one thread (so that objects are
    /// reused across shapes): each object equals the event's `into_map`, each event comes back
    /// equal, whatever object it was lent in.
    #[test]
    fn reused_objects_lend_as_new_ones() {
        let t = now();
        let shape = |i: usize| {
            let mut details = Details::new();
            let n = [0, 3, 3, 5, SCAN_MAX + 3][i % 5];
            for k in 0..n {
                // Same number of keys, other names, every other time.
                let key = if i.is_multiple_of(2) {
                    format!("k{k}")
                } else {
                    format!("x{k}")
                };
                details.insert(key, Value::from(i * 100 + k));
            }
            if i % 7 == 3 {
                details.insert("nested", serde_json::json!({"a": [1, "b"], "n": null}));
            }
            Event {
                utctimestamp: t + chrono::Duration::milliseconds(i as i64),
                // Runs of events received together; some whose own time is their time.
                receivedtimestamp: t + chrono::Duration::microseconds((i / 4) as i64 * 7),
                timestamp: if i % 3 == 1 {
                    t + chrono::Duration::milliseconds(i as i64)
                } else {
                    t - chrono::Duration::seconds(i as i64)
                },
                mozdefhostname: format!("m{i}"),
                category: ["syslog", "proxy"][i % 2].into(),
                hostname: format!("h{i}"),
                processname: "p".into(),
                processid: i.to_string(),
                severity: [Severity::Info, Severity::Critical][i % 2],
                source: "s".into(),
                summary: format!("summary {i}"),
                tags: (0..i % 3).map(|k| format!("t{k}")).collect(),
                details,
                r#type: i.is_multiple_of(3).then(|| "event".to_string()),
                eventsource: (i % 4 == 1).then(|| "/var/log/x".to_string()),
                plugins: (0..i % 3).map(|k| format!("plugin{k}")).collect(),
            }
        };
        let mut held = Vec::new();
        for i in 0..200 {
            let ev = shape(i);
            let (m, lent) = ev.clone().lend();
            assert_eq!(m, ev.clone().into_map(), "event {i}");
            assert_eq!(
                Value::Object(m.clone()),
                serde_json::to_value(&ev).unwrap(),
                "event {i}"
            );
            if i % 11 == 5 {
                // Some objects are kept (a rule's window) or changed: not reused.
                held.push(m);
                continue;
            }
            let mut m = m;
            if i % 13 == 7 {
                // The details changed in place (same shape at the top): taken back from the
                // object's own keys.
                if let Some(Value::Object(d)) = m.get_mut("details") {
                    d.insert("added".into(), Value::from(1));
                }
                let mut want = ev.clone();
                want.details.insert("added", Value::from(1));
                assert_eq!(Event::take_back(m, lent).ok(), Some(want), "event {i}");
                continue;
            }
            assert_eq!(Event::take_back(m, lent).ok(), Some(ev), "event {i}");
        }
        assert!(!held.is_empty());
    }

    /// Details whose keys differ only where the pool's print does not look (the same
    /// length, first, middle and last bytes): an object is reused for the other keys only
    /// after they are compared, so each lent object still has its event's keys.
    #[test]
    fn objects_with_keys_of_the_same_print_lend_their_own_keys() {
        let t = now();
        let ev = |keys: &[&str]| {
            let mut details = Details::new();
            for (i, k) in keys.iter().enumerate() {
                details.insert(k.to_string(), Value::from(i));
            }
            Event {
                utctimestamp: t,
                receivedtimestamp: t,
                timestamp: t,
                mozdefhostname: "m".into(),
                category: "syslog".into(),
                hostname: "h".into(),
                processname: "p".into(),
                processid: "1".into(),
                severity: Severity::Info,
                source: "s".into(),
                summary: "x".into(),
                tags: Vec::new(),
                details,
                r#type: None,
                eventsource: None,
                plugins: vec!["parsers".into()],
            }
        };
        let (a, b) = (["abcde", "v1"], ["axcde", "v1"]);
        assert_eq!(keys_print(a.iter().copied()), keys_print(b.iter().copied()));
        for keys in [a, b, a, b, b, a] {
            let e = ev(&keys);
            let (m, lent) = e.clone().lend();
            assert_eq!(m, e.clone().into_map(), "{keys:?}");
            assert_eq!(Event::take_back(m, lent).ok(), Some(e), "{keys:?}");
        }
    }

    #[test]
    fn a_lent_event_changed_in_shape_is_not_taken_back() {
        let t = now();
        let ev = Event {
            utctimestamp: t,
            receivedtimestamp: t,
            timestamp: t,
            mozdefhostname: "m".into(),
            category: "c".into(),
            hostname: "h".into(),
            processname: "p".into(),
            processid: "1".into(),
            severity: Severity::Info,
            source: "s".into(),
            summary: "x".into(),
            tags: vec![],
            details: Map::new().into(),
            r#type: Some("event".into()),
            eventsource: None,
            plugins: vec![],
        };
        // A field added (what the rules do), a type changed, a field moved: the map stays.
        let changes: [fn(&mut Map<String, Value>); 4] = [
            |m| {
                m.insert("alert_names".into(), Value::Array(vec!["a".into()]));
            },
            |m| {
                m.insert("hostname".into(), Value::from(1));
            },
            |m| {
                m.insert("tags".into(), Value::Array(vec![Value::from(1)]));
            },
            |m| {
                let v = m.shift_remove("category").unwrap_or_default();
                m.insert("category".into(), v);
            },
        ];
        for change in changes {
            let (mut m, lent) = ev.clone().lend();
            change(&mut m);
            let changed = m.clone();
            assert_eq!(Event::take_back(m, lent).err(), Some(changed));
        }
        // Unchanged: the event again.
        let (m, lent) = ev.clone().lend();
        assert_eq!(Event::take_back(m, lent).ok(), Some(ev));
    }
}
