//! The document tantivy indexes: a view over a [`StoredDoc`] (implements tantivy's
//! [`Document`]), so that the indexing threads read the event where it is instead of a copy of
//! it built field by field into a `TantivyDocument` (a copy per event costs CPU on the hot path;
//! BENCHMARKS.md).
//!
//! What it presents is exactly what a `TantivyDocument` built from the document's JSON object
//! would hold: `_source`, the time fields, `summary` as text, the IP-typed fields, and the
//! JSON field `f` with every other top-level field (`timestamp` has a date field of its own
//! when it is a date and the partition's schema has the field; see `schema.rs`). Strings in
//! `f` follow tantivy's rule for JSON strings (one that parses as an RFC 3339 time is indexed
//! as a date). A test checks that an event and the JSON object it serializes to give the same
//! document.

use std::net::{IpAddr, Ipv6Addr};

use ferrodef_event::{details, get_key, Details, Event, DESTINATION_IP, SOURCE_IP};
use serde_json::{Map, Value};
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{Document, Field};
use tantivy::time::format_description::well_known::Rfc3339;
use tantivy::time::OffsetDateTime;

use super::query::{to_tantivy_date, to_v6};
use super::schema::Fields;
use crate::{BodyRef, DocBody, StoredDoc};

/// Top-level fields that have their own tantivy field and are not repeated in `f`.
const OWN_FIELDS: [&str; 3] = ["summary", "utctimestamp", "receivedtimestamp"];

/// A document as tantivy indexes it. Boxed: tantivy's indexing channel, re-allocated at every
/// commit, holds 10,000 batches of up to four documents inline, so the document's size decides
/// how many megabytes of fresh pages each commit faults in (a pointer each instead of the whole
/// document).
#[derive(Debug)]
pub(crate) struct IndexDoc(Box<Parts>);

/// What an [`IndexDoc`] holds.
#[derive(Debug)]
pub(crate) struct Parts {
    source_field: Field,
    utc_field: Field,
    received_field: Field,
    summary_field: Field,
    json_field: Field,
    ip_src_field: Field,
    ip_dst_field: Field,
    timestamp_field: Option<Field>,
    summary_pairs_field: Option<Field>,
    source: Vec<u8>,
    utc: tantivy::DateTime,
    received: tantivy::DateTime,
    ip_src: Option<Ipv6Addr>,
    ip_dst: Option<Ipv6Addr>,
    /// An event's `timestamp` as its JSON string, only when it is not a date tantivy can hold
    /// (see [`event_time`]); otherwise it is presented as a date without formatting it.
    timestamp_text: Option<String>,
    /// `timestamp` as a date for the schema's `timestamp` field (then left out of `f`).
    timestamp_date: Option<tantivy::DateTime>,
    body: DocBody,
}

fn ip_of(v: Option<&Value>) -> Option<Ipv6Addr> {
    v.and_then(Value::as_str)
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
        .map(to_v6)
}

/// `Some(date)` when the time, written as the event's JSON does (RFC 3339, exact fraction),
/// would be read back by tantivy as that date: within tantivy's range (i64 nanoseconds, years
/// 1677 to 2262) and not a leap second. Otherwise the string itself must be indexed.
fn event_time(t: &chrono::DateTime<chrono::Utc>) -> Option<tantivy::DateTime> {
    use chrono::Timelike;
    if t.nanosecond() >= 1_000_000_000 {
        return None;
    }
    t.timestamp_nanos_opt()
        .map(tantivy::DateTime::from_timestamp_nanos)
}

impl std::ops::Deref for IndexDoc {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl IndexDoc {
    pub(crate) fn new(f: &Fields, doc: StoredDoc) -> IndexDoc {
        let own_timestamp = f.timestamp.is_some();
        let (ip_src, ip_dst, timestamp_text, timestamp_date) = match doc.doc.as_ref() {
            BodyRef::Event(e) => {
                let date = event_time(&e.timestamp);
                (
                    ip_of(e.details.get(SOURCE_IP.key)),
                    ip_of(e.details.get(DESTINATION_IP.key)),
                    match date {
                        Some(_) => None,
                        None => Some(ferrodef_event::format_timestamp(&e.timestamp)),
                    },
                    date.filter(|_| own_timestamp),
                )
            }
            BodyRef::Map(m) => {
                let details = get_key(m, "details").and_then(Value::as_object);
                let date = match get_key(m, "timestamp") {
                    Some(Value::String(t)) if own_timestamp => match json_str(t) {
                        ReferenceValueLeaf::Date(d) => Some(d),
                        _ => None,
                    },
                    _ => None,
                };
                (
                    ip_of(details.and_then(|d| get_key(d, SOURCE_IP.key))),
                    ip_of(details.and_then(|d| get_key(d, DESTINATION_IP.key))),
                    None,
                    date,
                )
            }
        };
        IndexDoc(Box::new(Parts {
            source_field: f.source,
            utc_field: f.utctimestamp,
            received_field: f.receivedtimestamp,
            summary_field: f.summary,
            json_field: f.json,
            ip_src_field: f.ip_src,
            ip_dst_field: f.ip_dst,
            timestamp_field: f.timestamp,
            summary_pairs_field: f.summary_pairs,
            source: doc.source,
            utc: to_tantivy_date(doc.utctimestamp),
            received: to_tantivy_date(doc.receivedtimestamp),
            ip_src,
            ip_dst,
            timestamp_text,
            timestamp_date,
            body: doc.doc,
        }))
    }
}

impl Parts {
    fn summary(&self) -> Option<&str> {
        match self.body.as_ref() {
            BodyRef::Event(e) => Some(&e.summary),
            BodyRef::Map(m) => get_key(m, "summary").and_then(Value::as_str),
        }
    }
}

/// Tantivy's reading of a JSON string: a time when it parses as RFC 3339, else text (as
/// tantivy does for a `serde_json::Value`).
fn json_str(text: &str) -> ReferenceValueLeaf<'_> {
    // The shortest RFC 3339 time is `YYYY-MM-DDTHH:MM:SSZ`: anything shorter, or without the
    // date's first dash, cannot parse (IPs, numbers as text...), and is not tried.
    let b = text.as_bytes();
    if b.len() >= 20 && b[0].is_ascii_digit() && b[4] == b'-' {
        if let Some(dt) = OffsetDateTime::parse(text, &Rfc3339).ok().and_then(|dt| {
            tantivy::DateTime::try_from_utc(dt.to_offset(tantivy::time::UtcOffset::UTC))
        }) {
            return ReferenceValueLeaf::Date(dt);
        }
    }
    ReferenceValueLeaf::Str(text)
}

/// A value of an [`IndexDoc`].
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    /// Analysed or binary leaves of the document's own fields.
    Str(&'a str),
    Bytes(&'a [u8]),
    Date(tantivy::DateTime),
    Ip(Ipv6Addr),
    /// A string inside the JSON field.
    JsonStr(&'a str),
    /// Any JSON value inside the JSON field.
    Json(&'a Value),
    /// An array of strings inside the JSON field (tags, plugins).
    Strings(&'a [String]),
    /// The JSON field of an event.
    EventRoot(&'a Parts, &'a Event),
    /// The JSON field of a JSON object document.
    MapRoot(&'a Parts, &'a Map<String, Value>),
    /// An event's details.
    Details(&'a Details),
}

impl<'a> tantivy::schema::Value<'a> for Val<'a> {
    type ArrayIter = ArrayIter<'a>;
    type ObjectIter = ObjectIter<'a>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        match *self {
            Val::Str(s) => ReferenceValue::Leaf(ReferenceValueLeaf::Str(s)),
            Val::Bytes(b) => ReferenceValue::Leaf(ReferenceValueLeaf::Bytes(b)),
            Val::Date(d) => ReferenceValue::Leaf(ReferenceValueLeaf::Date(d)),
            Val::Ip(ip) => ReferenceValue::Leaf(ReferenceValueLeaf::IpAddr(ip)),
            Val::JsonStr(s) => ReferenceValue::Leaf(json_str(s)),
            Val::Json(v) => match v {
                Value::Null => ReferenceValue::Leaf(ReferenceValueLeaf::Null),
                Value::Bool(b) => ReferenceValue::Leaf(ReferenceValueLeaf::Bool(*b)),
                Value::Number(n) => ReferenceValue::Leaf(if let Some(i) = n.as_i64() {
                    ReferenceValueLeaf::I64(i)
                } else if let Some(u) = n.as_u64() {
                    ReferenceValueLeaf::U64(u)
                } else if let Some(f) = n.as_f64() {
                    ReferenceValueLeaf::F64(f)
                } else {
                    ReferenceValueLeaf::Null
                }),
                Value::String(s) => ReferenceValue::Leaf(json_str(s)),
                Value::Array(a) => ReferenceValue::Array(ArrayIter::Json(a.iter())),
                Value::Object(m) => ReferenceValue::Object(ObjectIter::Map(m.iter(), None)),
            },
            Val::Strings(s) => ReferenceValue::Array(ArrayIter::Strings(s.iter())),
            Val::EventRoot(d, e) => ReferenceValue::Object(ObjectIter::Event(d, e, 0)),
            Val::MapRoot(d, m) => ReferenceValue::Object(ObjectIter::Map(m.iter(), Some(d))),
            Val::Details(d) => ReferenceValue::Object(ObjectIter::Details(d.iter())),
        }
    }
}

/// The elements of an array of an [`IndexDoc`].
#[derive(Debug, Clone)]
pub(crate) enum ArrayIter<'a> {
    Json(std::slice::Iter<'a, Value>),
    Strings(std::slice::Iter<'a, String>),
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Val<'a>;

    fn next(&mut self) -> Option<Val<'a>> {
        match self {
            ArrayIter::Json(i) => i.next().map(Val::Json),
            ArrayIter::Strings(i) => i.next().map(|s| Val::JsonStr(s)),
        }
    }
}

/// The fields of an object of an [`IndexDoc`].
#[derive(Debug, Clone)]
pub(crate) enum ObjectIter<'a> {
    /// A JSON object; for a document's top level, its document, whose own fields
    /// ([`OWN_FIELDS`], and `timestamp` when it has a field of its own) are left out.
    Map(serde_json::map::Iter<'a>, Option<&'a Parts>),
    Details(details::Iter<'a>),
    /// An event's top-level fields (those not in [`OWN_FIELDS`]) in the order of its JSON.
    Event(&'a Parts, &'a Event, u8),
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = (&'a str, Val<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ObjectIter::Map(i, top) => loop {
                let (k, v) = i.next()?;
                let own = top.is_some_and(|d| {
                    OWN_FIELDS.contains(&k.as_str())
                        || (k == "timestamp" && d.timestamp_date.is_some())
                });
                if !own {
                    return Some((k.as_str(), Val::Json(v)));
                }
            },
            ObjectIter::Details(i) => i.next().map(|(k, v)| (k, Val::Json(v))),
            ObjectIter::Event(d, e, i) => loop {
                let field = *i;
                *i = i.saturating_add(1);
                let item = match field {
                    0 if d.timestamp_date.is_some() => None,
                    0 => Some((
                        "timestamp",
                        match (&d.timestamp_text, event_time(&e.timestamp)) {
                            (Some(text), _) => Val::JsonStr(text),
                            (None, Some(t)) => Val::Date(t),
                            // `timestamp_text` is set whenever `event_time` is `None`.
                            (None, None) => continue,
                        },
                    )),
                    1 => Some(("mozdefhostname", Val::JsonStr(&e.mozdefhostname))),
                    2 => Some(("category", Val::JsonStr(&e.category))),
                    3 => Some(("hostname", Val::JsonStr(&e.hostname))),
                    4 => Some(("processname", Val::JsonStr(&e.processname))),
                    5 => Some(("processid", Val::JsonStr(&e.processid))),
                    6 => Some(("severity", Val::JsonStr(e.severity.as_str()))),
                    7 => Some(("source", Val::JsonStr(&e.source))),
                    8 => Some(("tags", Val::Strings(&e.tags))),
                    9 => Some(("details", Val::Details(&e.details))),
                    10 => e.r#type.as_deref().map(|t| ("type", Val::JsonStr(t))),
                    11 => e
                        .eventsource
                        .as_deref()
                        .map(|s| ("eventsource", Val::JsonStr(s))),
                    12 if !e.plugins.is_empty() => Some(("plugins", Val::Strings(&e.plugins))),
                    12 => None,
                    _ => return None,
                };
                if item.is_some() {
                    return item;
                }
            },
        }
    }
}

/// Fields and values of an [`IndexDoc`], in schema order.
pub(crate) type FieldsIter<'a> =
    std::iter::Flatten<std::array::IntoIter<Option<(Field, Val<'a>)>, 9>>;

impl Document for IndexDoc {
    type Value<'a> = Val<'a>;
    type FieldsValuesIter<'a> = FieldsIter<'a>;

    fn iter_fields_and_values(&self) -> FieldsIter<'_> {
        let json = match self.body.as_ref() {
            BodyRef::Event(e) => Val::EventRoot(&self.0, e),
            BodyRef::Map(m) => Val::MapRoot(&self.0, m),
        };
        [
            Some((self.source_field, Val::Bytes(&self.source))),
            Some((self.utc_field, Val::Date(self.utc))),
            Some((self.received_field, Val::Date(self.received))),
            self.timestamp_field
                .zip(self.timestamp_date)
                .map(|(f, t)| (f, Val::Date(t))),
            self.summary().map(|s| (self.summary_field, Val::Str(s))),
            self.ip_src.map(|ip| (self.ip_src_field, Val::Ip(ip))),
            self.ip_dst.map(|ip| (self.ip_dst_field, Val::Ip(ip))),
            Some((self.json_field, json)),
            self.summary_pairs_field
                .zip(self.summary())
                .map(|(f, s)| (f, Val::Str(s))),
        ]
        .into_iter()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use ferrodef_event::Severity;
    use serde_json::json;
    use tantivy::schema::OwnedValue;
    use tantivy::TantivyDocument;

    use super::*;

    #[test]
    fn a_document_is_one_pointer() {
        // See `IndexDoc`: tantivy's indexing channel holds 40,000 of them inline.
        assert_eq!(
            std::mem::size_of::<IndexDoc>(),
            std::mem::size_of::<usize>()
        );
    }

    /// The document as ferrodef built it before [`IndexDoc`]: a `TantivyDocument` filled from
    /// the JSON object, with tantivy's own reading of `serde_json` values.
    fn reference(f: &Fields, doc: &StoredDoc, mut map: Map<String, Value>) -> TantivyDocument {
        let mut out = TantivyDocument::new();
        out.add_bytes(f.source, &doc.source);
        out.add_date(f.utctimestamp, to_tantivy_date(doc.utctimestamp));
        out.add_date(f.receivedtimestamp, to_tantivy_date(doc.receivedtimestamp));
        if let Some(Value::String(s)) = map.get("summary") {
            out.add_text(f.summary, s);
            if let Some(pairs) = f.summary_pairs {
                out.add_text(pairs, s);
            }
        }
        for k in OWN_FIELDS {
            map.shift_remove(k);
        }
        // `timestamp` has a field of its own where tantivy reads it as a date.
        if let (Some(field), Some(t)) = (f.timestamp, map.get("timestamp")) {
            if let ReferenceValue::Leaf(ReferenceValueLeaf::Date(d)) =
                tantivy::schema::Value::as_value(&t)
            {
                out.add_date(field, d);
                map.shift_remove("timestamp");
            }
        }
        if let Some(Value::Object(details)) = map.get("details") {
            for (ip_field, field) in f.ip_fields() {
                if let Some(ip) = details
                    .get(ip_field.key)
                    .and_then(Value::as_str)
                    .and_then(|s| s.trim().parse::<IpAddr>().ok())
                {
                    out.add_ip_addr(field, to_v6(ip));
                }
            }
        }
        out.add_field_value(f.json, &Value::Object(map));
        out
    }

    /// Field values with object keys sorted (key order does not change what is indexed).
    fn canonical(doc: &impl Document, f: &Fields) -> Vec<(String, Vec<OwnedValue>)> {
        fn sort(v: OwnedValue) -> OwnedValue {
            match v {
                OwnedValue::Object(mut o) => {
                    o.sort_by(|a, b| a.0.cmp(&b.0));
                    OwnedValue::Object(o.into_iter().map(|(k, v)| (k, sort(v))).collect())
                }
                OwnedValue::Array(a) => OwnedValue::Array(a.into_iter().map(sort).collect()),
                v => v,
            }
        }
        doc.to_named_doc(&f.schema)
            .0
            .into_iter()
            .map(|(k, vs)| (k, vs.into_iter().map(sort).collect()))
            .collect()
    }

    fn stored(doc: DocBody, t: chrono::DateTime<Utc>) -> StoredDoc {
        StoredDoc {
            seq: 1,
            stream: "events".into(),
            utctimestamp: t,
            receivedtimestamp: t + chrono::Duration::milliseconds(3),
            source: doc.to_json(),
            doc,
        }
    }

    fn event(timestamp: chrono::DateTime<Utc>, details: Value, optional: bool) -> Event {
        let Value::Object(details) = details else {
            panic!("details are an object")
        };
        Event {
            utctimestamp: Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap(),
            receivedtimestamp: Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 1).unwrap(),
            timestamp,
            mozdefhostname: "mozdef1".into(),
            category: "authentication".into(),
            hostname: "10.1.2.3".into(),
            processname: "sshd".into(),
            processid: "2026".into(),
            severity: Severity::Warning,
            source: "authpriv".into(),
            summary: "Failed password for root from 203.0.113.7 port 22 ssh2".into(),
            tags: if optional {
                vec!["ssh".into(), "2026-11-27T08:00:00Z".into()]
            } else {
                vec![]
            },
            details: details.into(),
            r#type: optional.then(|| "event".into()),
            eventsource: optional.then(|| "/var/log/auth.log".into()),
            plugins: if optional {
                vec!["geoip".into()]
            } else {
                vec![]
            },
        }
    }

    /// The current schema, and how partitions without a `timestamp` field index.
    fn schemas() -> [Fields; 2] {
        let f = Fields::new();
        let legacy = Fields {
            timestamp: None,
            ..f.clone()
        };
        [f, legacy]
    }

    #[test]
    fn an_event_indexes_as_its_json_object() {
        for f in schemas() {
            event_as_json_object(&f);
        }
    }

    fn event_as_json_object(f: &Fields) {
        let details = json!({
            "sourceipaddress": " 203.0.113.7 ",
            "destinationipaddress": "2001:db8::1",
            "sourceport": 51234,
            "big": u64::MAX,
            "negative": -5,
            "ratio": 0.25,
            "success": false,
            "nothing": null,
            "when": "2026-11-27T08:00:00.123456+01:00",
            "not_a_time": "2026-13-45T99:00:00Z",
            "version": "9.1",
            "list": [1, "two", "2026-11-27T08:00:00Z", [3], {"x": "y"}],
            "nested": {"user": "root", "at": "2026-11-27T08:00:00Z", "deep": {"n": 1}},
            "summary": "a detail may be called summary",
        });
        let times = [
            Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap(),
            Utc.timestamp_opt(1_795_000_000, 123_000_000).unwrap(),
            Utc.timestamp_opt(1_795_000_000, 123_456_000).unwrap(),
            Utc.timestamp_opt(1_795_000_000, 123_456_789).unwrap(),
            // A leap second, and times beyond tantivy's range: indexed as the string.
            Utc.timestamp_opt(1_795_000_799, 1_500_000_000).unwrap(),
            Utc.with_ymd_and_hms(1500, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(12000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap(),
        ];
        let mut checked = 0;
        for t in times {
            for optional in [true, false] {
                for d in [details.clone(), json!({})] {
                    let ev = event(t, d, optional);
                    let map = ev.clone().into_map();
                    let by_event = stored(DocBody::from(ev), t);
                    let by_map = stored(DocBody::Map(map.clone()), t);
                    assert_eq!(by_event.source, by_map.source, "same JSON at {t}");
                    let want = canonical(&reference(f, &by_map, map), f);
                    assert_eq!(
                        canonical(&IndexDoc::new(f, by_event), f),
                        want,
                        "event at {t}"
                    );
                    assert_eq!(canonical(&IndexDoc::new(f, by_map), f), want, "map at {t}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, times.len() * 4);
    }

    #[test]
    fn a_json_document_indexes_as_before() {
        for f in schemas() {
            json_document_as_before(&f);
        }
    }

    fn json_document_as_before(f: &Fields) {
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap();
        for v in [
            json!({"summary": 42, "utctimestamp": "x", "app": "vulns", "details": {"sourceipaddress": "not an ip"}}),
            json!({"timestamp": "2026-11-27T08:00:00.5+01:00", "n": 1}),
            json!({"timestamp": "Nov 27 08:00:00", "details": {"timestamp": "2026-11-27T08:00:00Z"}}),
            json!({"timestamp": 1_795_000_000, "summary": "epoch seconds"}),
            json!({"summary": "only a summary"}),
            json!({}),
            json!({"details": "not an object", "receivedtimestamp": 1, "n": [null, true]}),
        ] {
            let Value::Object(map) = v else {
                panic!("object")
            };
            let doc = stored(DocBody::Map(map.clone()), t);
            let want = canonical(&reference(f, &doc, map), f);
            assert_eq!(canonical(&IndexDoc::new(f, doc), f), want);
        }
    }

    #[test]
    fn event_times_are_dates_only_where_tantivy_reads_them_so() {
        assert!(event_time(&Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).is_some());
        assert!(event_time(&Utc.with_ymd_and_hms(1500, 1, 1, 0, 0, 0).unwrap()).is_none());
        assert!(event_time(&Utc.timestamp_opt(59, 1_500_000_000).unwrap()).is_none());
        assert!(matches!(
            json_str("2026-11-27T08:00:00Z"),
            ReferenceValueLeaf::Date(_)
        ));
        assert!(matches!(
            json_str("203.0.113.7"),
            ReferenceValueLeaf::Str(_)
        ));
        assert!(matches!(
            json_str("x2026-11-27T08:00:00Z"),
            ReferenceValueLeaf::Str(_)
        ));
    }
}
