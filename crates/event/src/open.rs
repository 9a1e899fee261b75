//! An event as the rules read it, without making it a JSON object first.
//!
//! The rules are written against JSON (a query's path, a Sigma field, a template): an event
//! is read through [`Node`], which walks a JSON value, a JSON object, or an [`Open`] event
//! (its top-level strings moved into JSON values, its details as they are) alike. Opening an
//! event and closing it again moves its strings and hashes nothing, where making it a JSON
//! object built a hash table and a key for each of its details.

use std::cell::{OnceCell, RefCell};

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{format_timestamp, get_key, Details, Event, Severity};

/// The top-level strings of an [`Open`] event, in [`Event::into_map`]'s order.
const STRS: [&str; 7] = [
    "mozdefhostname",
    "category",
    "hostname",
    "processname",
    "processid",
    "source",
    "summary",
];

/// The fields every opened event has, in order.
const FIXED_KEYS: [&str; 13] = [
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

/// Where a top-level field of an [`Open`] event is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    /// `texts[i]`: a time, or (3) the severity.
    Text(usize),
    /// `strs[i]`.
    Str(usize),
    Tags,
    Details,
    Type,
    EventSource,
    Plugins,
    AlertNames,
}

impl Slot {
    /// The slot of field `key`: told apart by length and first byte, then compared once
    /// (the rules look fields up by name for every event).
    #[inline]
    fn of(key: &str) -> Option<Slot> {
        let b = key.as_bytes();
        let (slot, name) = match (b.len(), b.first()?) {
            (12, b'u') => (Slot::Text(0), "utctimestamp"),
            (17, b'r') => (Slot::Text(1), "receivedtimestamp"),
            (9, b't') => (Slot::Text(2), "timestamp"),
            (8, b's') => (Slot::Text(3), "severity"),
            (14, b'm') => (Slot::Str(0), "mozdefhostname"),
            (8, b'c') => (Slot::Str(1), "category"),
            (8, b'h') => (Slot::Str(2), "hostname"),
            (11, b'p') => (Slot::Str(3), "processname"),
            (9, b'p') => (Slot::Str(4), "processid"),
            (6, b's') => (Slot::Str(5), "source"),
            (7, b's') => (Slot::Str(6), "summary"),
            (4, b't') if b.get(1) == Some(&b'a') => (Slot::Tags, "tags"),
            (4, b't') => (Slot::Type, "type"),
            (7, b'd') => (Slot::Details, "details"),
            (11, b'e') => (Slot::EventSource, "eventsource"),
            (7, b'p') => (Slot::Plugins, "plugins"),
            (11, b'a') => (Slot::AlertNames, "alert_names"),
            _ => return None,
        };
        // Same length: compared byte by byte inline (shorter than calling the comparison).
        name.bytes().zip(b).all(|(x, y)| x == *y).then_some(slot)
    }
}

/// An event opened for the rules (see the module's text): read with [`Open::node`], given
/// back with [`Open::close`]. Its JSON form ([`Open::to_map`], its serialization) is the
/// event's ([`Event::into_map`]) with the `alert_names` the rules added, last.
#[derive(Debug)]
pub struct Open {
    /// `utctimestamp`, `receivedtimestamp`, `timestamp`.
    times: [DateTime<Utc>; 3],
    severity: Severity,
    /// The texts of the times and of the severity, written when first read.
    texts: [OnceCell<Value>; 4],
    /// The strings of [`STRS`], as JSON strings.
    strs: [Value; 7],
    /// The tags, a JSON array of strings.
    tags: Value,
    /// The tags' list, emptied (its room reused when closed).
    tags_room: Vec<String>,
    details: Details,
    /// `type`, `eventsource` (JSON strings) and `plugins` (a JSON array), when set.
    r#type: Option<Value>,
    eventsource: Option<Value>,
    plugins: Option<Value>,
    /// The plugins' list, emptied (its room reused when closed).
    plugins_room: Vec<String>,
    /// Names of the rules the event fed, as the rules added them (a JSON array).
    alert_names: Option<Value>,
}

/// Takes the string out of a JSON string this module made.
fn take_str(v: Value) -> String {
    match v {
        Value::String(s) => s,
        _ => String::new(),
    }
}

thread_local! {
    /// Emptied lists of JSON arrays [`take_strs`] took the strings of, for [`array_of`] to
    /// fill again (an event's tags are opened and closed for every event).
    static ARRAYS: RefCell<Vec<Vec<Value>>> = const { RefCell::new(Vec::new()) };
}

/// Most lists a thread keeps.
const ARRAYS_MAX: usize = 256;

/// A JSON array of `strings` (moved; the list keeps its room).
fn array_of(strings: &mut Vec<String>) -> Value {
    if strings.is_empty() {
        return Value::Array(Vec::new());
    }
    let mut a = ARRAYS
        .with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(strings.len()));
    a.extend(strings.drain(..).map(Value::String));
    Value::Array(a)
}

/// The strings of a JSON array this module made, into `room`.
fn take_strs(v: Value, mut room: Vec<String>) -> Vec<String> {
    room.clear();
    if let Value::Array(mut a) = v {
        room.extend(a.drain(..).map(take_str));
        if a.capacity() > 0 {
            ARRAYS.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < ARRAYS_MAX {
                    p.push(a);
                }
            });
        }
    }
    room
}

impl Event {
    /// The event opened for the rules (its strings moved, nothing copied or hashed).
    pub fn open(self) -> Open {
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
            mut plugins,
        } = self;
        let strs = [
            mozdefhostname,
            category,
            hostname,
            processname,
            processid,
            source,
            summary,
        ]
        .map(Value::String);
        let tag_values = array_of(&mut tags);
        Open {
            times: [utctimestamp, receivedtimestamp, timestamp],
            severity,
            texts: Default::default(),
            strs,
            tags: tag_values,
            tags_room: tags,
            details,
            r#type: r#type.map(Value::String),
            eventsource: eventsource.map(Value::String),
            plugins: (!plugins.is_empty()).then(|| array_of(&mut plugins)),
            plugins_room: plugins,
            alert_names: None,
        }
    }
}

impl Open {
    /// The event to read.
    pub fn node(&self) -> Node<'_> {
        Node::Open(self)
    }

    /// When the event happened.
    pub fn utctimestamp(&self) -> DateTime<Utc> {
        self.times[0]
    }

    /// When ferrodef received it.
    pub fn receivedtimestamp(&self) -> DateTime<Utc> {
        self.times[1]
    }

    /// The text of time `i` (of `times`) or, for 3, of the severity.
    fn text(&self, i: usize) -> &Value {
        let Some(cell) = self.texts.get(i) else {
            return &Value::Null;
        };
        cell.get_or_init(|| match self.times.get(i) {
            Some(t) => Value::String(format_timestamp(t)),
            None => Value::String(self.severity.as_str().into()),
        })
    }

    /// A top-level field.
    #[inline]
    fn field(&self, key: &str) -> Option<Node<'_>> {
        self.at(Slot::of(key)?)
    }

    /// The top-level field in `slot`.
    #[inline]
    fn at(&self, slot: Slot) -> Option<Node<'_>> {
        let v = match slot {
            Slot::Text(i) => self.text(i),
            Slot::Str(i) => self.strs.get(i)?,
            Slot::Tags => &self.tags,
            Slot::Details => return Some(Node::Details(&self.details)),
            Slot::Type => self.r#type.as_ref()?,
            Slot::EventSource => self.eventsource.as_ref()?,
            Slot::Plugins => self.plugins.as_ref()?,
            Slot::AlertNames => self.alert_names.as_ref()?,
        };
        Some(Node::Value(v))
    }

    /// The names of its top-level fields, in order.
    fn for_each_key<'s>(&'s self, mut f: impl FnMut(&'s str)) {
        FIXED_KEYS.iter().for_each(|k| f(k));
        let optional = [
            ("type", self.r#type.is_some()),
            ("eventsource", self.eventsource.is_some()),
            ("plugins", self.plugins.is_some()),
            ("alert_names", self.alert_names.is_some()),
        ];
        for (k, set) in optional {
            if set {
                f(k);
            }
        }
    }

    /// Its fields in order, `details` as [`Node::Details`].
    fn for_each<'a>(&'a self, mut f: impl FnMut(&'a str, Node<'a>)) {
        f("utctimestamp", Node::Value(self.text(0)));
        f("receivedtimestamp", Node::Value(self.text(1)));
        f("timestamp", Node::Value(self.text(2)));
        let mut strs = STRS.iter().zip(&self.strs);
        for (k, v) in strs.by_ref().take(5) {
            f(k, Node::Value(v));
        }
        f("severity", Node::Value(self.text(3)));
        for (k, v) in strs {
            f(k, Node::Value(v));
        }
        f("tags", Node::Value(&self.tags));
        f("details", Node::Details(&self.details));
        let optional = [
            ("type", &self.r#type),
            ("eventsource", &self.eventsource),
            ("plugins", &self.plugins),
            ("alert_names", &self.alert_names),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                f(k, Node::Value(v));
            }
        }
    }

    /// Number of top-level fields.
    fn len(&self) -> usize {
        13 + [
            &self.r#type,
            &self.eventsource,
            &self.plugins,
            &self.alert_names,
        ]
        .iter()
        .filter(|v| v.is_some())
        .count()
    }

    /// Adds `name` to the event's `alert_names` (once).
    pub fn add_alert_name(&mut self, name: &str) {
        match &mut self.alert_names {
            Some(Value::Array(a)) => {
                if !a.iter().any(|v| v.as_str() == Some(name)) {
                    a.push(Value::String(name.to_string()));
                }
            }
            slot => *slot = Some(Value::Array(vec![Value::String(name.to_string())])),
        }
    }

    /// The event as a JSON object (a copy).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::with_capacity(self.len());
        self.for_each(|k, v| {
            let v = match v {
                Node::Details(d) => Value::Object(d.clone().into_map()),
                other => other.to_value(),
            };
            m.insert(k.to_string(), v);
        });
        m
    }

    /// The event back: as it was opened, or, when the rules added `alert_names`, as a JSON
    /// object with them.
    pub fn close(self) -> Result<Event, Map<String, Value>> {
        if self.alert_names.is_some() {
            return Err(self.into_map());
        }
        let Open {
            times: [utctimestamp, receivedtimestamp, timestamp],
            severity,
            strs,
            tags,
            tags_room,
            details,
            r#type,
            eventsource,
            plugins,
            plugins_room,
            ..
        } = self;
        let [mozdefhostname, category, hostname, processname, processid, source, summary] =
            strs.map(take_str);
        Ok(Event {
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
            tags: take_strs(tags, tags_room),
            details,
            r#type: r#type.map(take_str),
            eventsource: eventsource.map(take_str),
            plugins: match plugins {
                Some(p) => take_strs(p, plugins_room),
                None => plugins_room,
            },
        })
    }

    /// The event as a JSON object, its values moved.
    pub fn into_map(self) -> Map<String, Value> {
        let mut open = self;
        let alert_names = open.alert_names.take();
        let mut m = match open.close() {
            Ok(e) => e.into_map(),
            Err(m) => m,
        };
        if let Some(a) = alert_names {
            m.insert("alert_names".into(), a);
        }
        m
    }
}

/// Written as its JSON object ([`Open::to_map`]).
impl Serialize for Open {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        let mut result = Ok(());
        self.for_each(|k, v| {
            if result.is_ok() {
                result = match v {
                    Node::Details(d) => m.serialize_entry(k, d),
                    Node::Value(v) => m.serialize_entry(k, v),
                    Node::Map(x) => m.serialize_entry(k, x),
                    Node::Open(x) => m.serialize_entry(k, x),
                };
            }
        });
        result?;
        m.end()
    }
}

/// A JSON value as the rules read it: a JSON value, a JSON object, an [`Open`] event or its
/// details. Only objects are other than [`Node::Value`]: every leaf is a JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Node<'a> {
    /// An opened event (an object).
    Open(&'a Open),
    /// A JSON object.
    Map(&'a Map<String, Value>),
    /// An event's details (an object).
    Details(&'a Details),
    /// A JSON value.
    Value(&'a Value),
}

impl<'a> From<&'a Value> for Node<'a> {
    fn from(v: &'a Value) -> Node<'a> {
        Node::Value(v)
    }
}

impl<'a> From<&'a Map<String, Value>> for Node<'a> {
    fn from(m: &'a Map<String, Value>) -> Node<'a> {
        Node::Map(m)
    }
}

/// A top-level field of opened events, found by its name once (see [`Node::get_slot`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldSlot(Slot);

impl FieldSlot {
    /// The slot of top-level field `name`, if opened events have one.
    pub fn of(name: &str) -> Option<FieldSlot> {
        Slot::of(name).map(FieldSlot)
    }
}

impl<'a> Node<'a> {
    /// The member in `slot` of an opened event (no name compared); `None` for anything
    /// else, including objects that are not opened events (look those up by name).
    #[inline]
    pub fn get_slot(self, slot: FieldSlot) -> Option<Node<'a>> {
        match self {
            Node::Open(e) => e.at(slot.0),
            _ => None,
        }
    }

    /// The member `key` of an object (`None` for anything else).
    #[inline(always)]
    pub fn get(self, key: &str) -> Option<Node<'a>> {
        match self {
            Node::Open(e) => e.field(key),
            Node::Map(m) => get_key(m, key).map(Node::Value),
            Node::Details(d) => d.get(key).map(Node::Value),
            Node::Value(Value::Object(m)) => get_key(m, key).map(Node::Value),
            Node::Value(_) => None,
        }
    }

    /// The JSON value, when it is one (an object of an [`Open`] event is not).
    #[inline]
    pub fn value(self) -> Option<&'a Value> {
        match self {
            Node::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The string, when it is one.
    #[inline]
    pub fn as_str(self) -> Option<&'a str> {
        self.value().and_then(Value::as_str)
    }

    /// Whether it is an object.
    pub fn is_object(self) -> bool {
        !matches!(self, Node::Value(v) if !v.is_object())
    }

    /// The members of an object, in order (nothing for anything else).
    pub fn for_each(self, mut f: impl FnMut(&'a str, Node<'a>)) {
        match self {
            Node::Open(e) => e.for_each(f),
            Node::Map(m) | Node::Value(Value::Object(m)) => {
                m.iter().for_each(|(k, v)| f(k, Node::Value(v)));
            }
            Node::Details(d) => d.iter().for_each(|(k, v)| f(k, Node::Value(v))),
            Node::Value(_) => {}
        }
    }

    /// The names of the members of an object, in order (nothing for anything else): as
    /// [`Node::for_each`] without reading the values (an opened event's times are written
    /// as text only when read).
    pub fn for_each_key(self, mut f: impl FnMut(&'a str)) {
        match self {
            Node::Open(e) => e.for_each_key(f),
            Node::Map(m) | Node::Value(Value::Object(m)) => m.keys().for_each(|k| f(k)),
            Node::Details(d) => d.iter().for_each(|(k, _)| f(k)),
            Node::Value(_) => {}
        }
    }

    /// Whether it is an opened event (whose fields are found by name faster than by going
    /// through them).
    pub fn is_open(self) -> bool {
        matches!(self, Node::Open(_))
    }

    /// Number of members of an object (0 for anything else).
    pub fn len(self) -> usize {
        match self {
            Node::Open(e) => e.len(),
            Node::Map(m) | Node::Value(Value::Object(m)) => m.len(),
            Node::Details(d) => d.len(),
            Node::Value(_) => 0,
        }
    }

    /// Whether it is an object without members, or not an object.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// A copy as a JSON value.
    pub fn to_value(self) -> Value {
        match self {
            Node::Open(e) => Value::Object(e.to_map()),
            Node::Map(m) => Value::Object(m.clone()),
            Node::Details(d) => Value::Object(d.clone().into_map()),
            Node::Value(v) => v.clone(),
        }
    }
}

/// An event the rules evaluate: an opened event, or a JSON object (an event read back from
/// the log, a document of another shape).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a batch's events, evaluated in place
pub enum Subject {
    /// A normalized event, opened.
    Open(Open),
    /// A JSON object.
    Map(Map<String, Value>),
}

impl Subject {
    /// The event to read.
    pub fn node(&self) -> Node<'_> {
        match self {
            Subject::Open(e) => Node::Open(e),
            Subject::Map(m) => Node::Map(m),
        }
    }

    /// A copy as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        match self {
            Subject::Open(e) => e.to_map(),
            Subject::Map(m) => m.clone(),
        }
    }

    /// Adds `name` to the event's `alert_names` (once).
    pub fn add_alert_name(&mut self, name: &str) {
        match self {
            Subject::Open(e) => e.add_alert_name(name),
            Subject::Map(m) => match m.get_mut("alert_names") {
                Some(Value::Array(a)) => {
                    if !a.iter().any(|v| v.as_str() == Some(name)) {
                        a.push(Value::String(name.to_string()));
                    }
                }
                _ => {
                    m.insert(
                        "alert_names".into(),
                        Value::Array(vec![Value::String(name.to_string())]),
                    );
                }
            },
        }
    }

    /// Appends the JSON text of the event to `out` (as [`Subject::to_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let written = match self {
            Subject::Open(e) => serde_json::to_writer(&mut *out, e),
            Subject::Map(m) => serde_json::to_writer(&mut *out, m),
        };
        // An object of strings, numbers and booleans always serializes.
        if written.is_err() {
            out.extend_from_slice(b"{}");
        }
    }

    /// The JSON text of the event (as `serde_json` writes its object).
    pub fn to_json(&self) -> String {
        // An object of strings, numbers and booleans always serializes.
        match self {
            Subject::Open(e) => serde_json::to_string(e),
            Subject::Map(m) => serde_json::to_string(m),
        }
        .unwrap_or_else(|_| "{}".into())
    }
}

impl From<Event> for Subject {
    fn from(e: Event) -> Subject {
        Subject::Open(e.open())
    }
}

impl From<Map<String, Value>> for Subject {
    fn from(m: Map<String, Value>) -> Subject {
        Subject::Map(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(ty: Option<&str>, plugins: Vec<String>, tags: Vec<String>) -> Event {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let mut details = Details::new();
        details.insert("username", Value::from("alice"));
        details.insert("n", Value::from(3));
        details.insert("nested", serde_json::json!({"a": [1, {"b": "c"}]}));
        Event {
            utctimestamp: t,
            receivedtimestamp: t + chrono::Duration::milliseconds(1500),
            timestamp: t - chrono::Duration::seconds(2),
            mozdefhostname: "fd".into(),
            category: "authentication".into(),
            hostname: "h1".into(),
            processname: "sshd".into(),
            processid: "12".into(),
            severity: Severity::Warning,
            source: "authpriv".into(),
            summary: "Failed password".into(),
            tags,
            details,
            r#type: ty.map(String::from),
            eventsource: ty.map(|_| "/var/log/auth.log".to_string()),
            plugins,
        }
    }

    fn variants() -> Vec<Event> {
        vec![
            event(None, vec![], vec![]),
            event(
                Some("event"),
                vec!["p1".into()],
                vec!["a".into(), "b".into()],
            ),
        ]
    }

    #[test]
    fn an_opened_event_reads_as_its_json_object() {
        for e in variants() {
            let map = e.clone().into_map();
            let open = e.clone().open();
            let (a, b) = (open.node(), Node::Map(&map));
            assert_eq!(a.len(), b.len());
            let mut keys = Vec::new();
            a.for_each(|k, v| {
                keys.push(k.to_string());
                assert_eq!(v.to_value(), b.get(k).map(Node::to_value).unwrap(), "{k}");
                assert_eq!(v.is_object(), b.get(k).unwrap().is_object(), "{k}");
            });
            assert_eq!(keys, map.keys().cloned().collect::<Vec<_>>());
            let mut names = Vec::new();
            a.for_each_key(|k| names.push(k.to_string()));
            assert_eq!(names, keys);
            let misses = [
                "",
                "nope",
                "tagz",
                "typo",
                "Category",
                "details ",
                "alert_name",
            ];
            for k in keys.iter().map(String::as_str) {
                let slot = FieldSlot::of(k).unwrap_or_else(|| panic!("{k} has no slot"));
                assert_eq!(
                    a.get_slot(slot).map(Node::to_value),
                    b.get(k).map(Node::to_value),
                    "{k}"
                );
            }
            for k in misses {
                assert_eq!(FieldSlot::of(k), None, "{k}");
            }
            for k in keys
                .iter()
                .map(String::as_str)
                .chain(misses)
                .chain(["alert_names"])
            {
                assert_eq!(
                    a.get(k).map(Node::to_value),
                    b.get(k).map(Node::to_value),
                    "{k}"
                );
            }
            let d = a.get("details").unwrap();
            assert_eq!(d.get("username").and_then(Node::as_str), Some("alice"));
            assert_eq!(
                d.get("nested").and_then(|n| n.get("a")).map(Node::to_value),
                Some(serde_json::json!([1, {"b": "c"}]))
            );
            assert_eq!(open.to_map(), map);
            assert_eq!(
                serde_json::to_string(&open).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
            assert_eq!(open.close().unwrap(), e);
        }
    }

    #[test]
    fn alert_names_make_the_event_an_object_with_them() {
        for e in variants() {
            let mut s = Subject::from(e.clone());
            s.add_alert_name("bruteforce");
            s.add_alert_name("bruteforce");
            s.add_alert_name("other");
            let mut want = Subject::Map(e.into_map());
            want.add_alert_name("bruteforce");
            want.add_alert_name("other");
            assert_eq!(s.to_map(), want.to_map());
            assert_eq!(s.to_json(), want.to_json());
            assert_eq!(
                s.node().get("alert_names").map(Node::to_value),
                Some(serde_json::json!(["bruteforce", "other"]))
            );
            let Subject::Open(open) = s else {
                panic!("opened")
            };
            assert_eq!(open.close().unwrap_err(), want.to_map());
        }
    }
}
