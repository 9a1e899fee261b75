//! [`Incoming`]: a JSON document as received, parsed the way normalization reads it.
//!
//! Normalization reads each top-level field of an incoming object once, in order, and merges
//! its `details` (or `fields`) object into the event's [`Details`]. Parsing such a document
//! into a `serde_json::Value` first builds a hash map per object (and hashes every key) only to
//! take it apart again, a large share of the HTTP side's CPU (BENCHMARKS.md). An [`Incoming`]
//! holds the top-level fields in a vector and a `details`/`fields` object directly as
//! [`Details`].
//!
//! It reads as `serde_json::Value` would: a repeated key keeps its first place and its last
//! value, numbers are the same numbers (tested).

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::Details;

/// A JSON document as received.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A JSON object: its fields in order, keys unique.
    Object(Vec<(String, Field)>),
    /// Anything else (normalization rejects it, naming what it is).
    Other(Value),
}

/// A top-level field of an [`Incoming`] object.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Any JSON value.
    Json(Value),
    /// The object of a `details` or `fields` key (`@` prefix and case ignored).
    Details(Details),
}

impl Field {
    /// The field as a JSON value.
    pub fn into_value(self) -> Value {
        match self {
            Field::Json(v) => v,
            Field::Details(d) => Value::Object(d.into_map()),
        }
    }
}

/// Whether the value of top-level `key` is read as [`Field::Details`].
pub fn is_details_key(key: &str) -> bool {
    let k = key.trim_start_matches('@');
    k.eq_ignore_ascii_case("details") || k.eq_ignore_ascii_case("fields")
}

impl Incoming {
    /// Whether it is a JSON object.
    pub fn is_object(&self) -> bool {
        matches!(self, Incoming::Object(_))
    }

    /// Sets a top-level field (in place when the key is set, else last), as
    /// `serde_json::Map::insert`.
    pub fn insert(&mut self, key: &str, value: Value) {
        if let Incoming::Object(fields) = self {
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = Field::Json(value),
                None => fields.push((key.to_string(), Field::Json(value))),
            }
        }
    }

    /// The action of an Elasticsearch bulk action line (`{"index": {...}}`), if it is one.
    pub fn bulk_action(&self) -> Option<&str> {
        let Incoming::Object(fields) = self else {
            return None;
        };
        let [(k, Field::Json(Value::Object(_)))] = fields.as_slice() else {
            return None;
        };
        matches!(k.as_str(), "index" | "create" | "delete" | "update").then_some(k.as_str())
    }
}

impl From<Value> for Incoming {
    fn from(v: Value) -> Incoming {
        match v {
            Value::Object(m) => Incoming::from(m),
            other => Incoming::Other(other),
        }
    }
}

impl From<Map<String, Value>> for Incoming {
    fn from(m: Map<String, Value>) -> Incoming {
        Incoming::Object(m.into_iter().map(|(k, v)| (k, Field::Json(v))).collect())
    }
}

/// Removes repeated keys: the first place, the last value (as `serde_json::Map`). Linear in
/// time: keys are indexed when there are many.
fn dedup(fields: &mut Vec<(String, Field)>) {
    let n = fields.len();
    if n < 2 {
        return;
    }
    // Where each key is first, and whether any repeats.
    let mut first: Vec<usize> = Vec::with_capacity(n);
    let mut repeated = false;
    if n <= 32 {
        for i in 0..n {
            let at = fields[..i]
                .iter()
                .position(|(k, _)| *k == fields[i].0)
                .unwrap_or(i);
            repeated |= at != i;
            first.push(at);
        }
    } else {
        let mut index: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(n);
        for (i, (k, _)) in fields.iter().enumerate() {
            let at = *index.entry(k.as_str()).or_insert(i);
            repeated |= at != i;
            first.push(at);
        }
    }
    if !repeated {
        return;
    }
    let mut slots: Vec<Option<(String, Field)>> = fields.drain(..).map(Some).collect();
    for i in 0..n {
        if first[i] != i {
            let later = slots[i].take();
            if let (Some(slot), Some((_, v))) = (slots[first[i]].as_mut(), later) {
                slot.1 = v;
            }
        }
    }
    fields.extend(slots.into_iter().flatten());
}

/// The visits of a JSON value that is not an object, as `serde_json::Value` reads it, wrapped
/// by `$wrap` (the same for [`Incoming`] and [`Field`]).
macro_rules! non_object_visits {
    ($out:ty, $wrap:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<$out, A::Error> {
            json_array(a).map($wrap)
        }
        fn visit_bool<E>(self, b: bool) -> Result<$out, E> {
            Ok($wrap(Value::Bool(b)))
        }
        fn visit_i64<E>(self, n: i64) -> Result<$out, E> {
            Ok($wrap(Value::from(n)))
        }
        fn visit_u64<E>(self, n: u64) -> Result<$out, E> {
            Ok($wrap(Value::from(n)))
        }
        fn visit_f64<E>(self, n: f64) -> Result<$out, E> {
            Ok($wrap(Value::from(n)))
        }
        fn visit_str<E>(self, s: &str) -> Result<$out, E> {
            Ok($wrap(Value::String(s.to_string())))
        }
        fn visit_string<E>(self, s: String) -> Result<$out, E> {
            Ok($wrap(Value::String(s)))
        }
        fn visit_unit<E>(self) -> Result<$out, E> {
            Ok($wrap(Value::Null))
        }
    };
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Incoming, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Incoming;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Incoming, A::Error> {
                let mut fields = Vec::with_capacity(a.size_hint().unwrap_or(0).min(64));
                while let Some(k) = a.next_key::<String>()? {
                    let v = if is_details_key(&k) {
                        a.next_value_seed(DetailsOrJson)?
                    } else {
                        Field::Json(a.next_value::<Value>()?)
                    };
                    fields.push((k, v));
                }
                dedup(&mut fields);
                Ok(Incoming::Object(fields))
            }
            non_object_visits!(Incoming, Incoming::Other);
        }
        d.deserialize_any(V)
    }
}

/// Reads a `details` value: an object as [`Details`], anything else as JSON.
struct DetailsOrJson;

impl<'de> DeserializeSeed<'de> for DetailsOrJson {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DetailsOrJson {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Field, A::Error> {
        crate::details::read_map(a).map(Field::Details)
    }
    non_object_visits!(Field, Field::Json);
}

/// Reads a JSON array as `serde_json` does.
fn json_array<'de, A: SeqAccess<'de>>(mut a: A) -> Result<Value, A::Error> {
    let mut items = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
    while let Some(v) = a.next_element::<Value>()? {
        items.push(v);
    }
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same document read as `serde_json::Value`, for comparison.
    fn via_value(text: &str) -> Incoming {
        let v: Value = serde_json::from_str(text).expect("valid JSON");
        let mut inc = Incoming::from(v);
        // `Value` reads details as a map; compare as details.
        if let Incoming::Object(fields) = &mut inc {
            for (k, f) in fields.iter_mut() {
                if let (true, Field::Json(Value::Object(m))) = (is_details_key(k), &*f) {
                    *f = Field::Details(Details::from(m.clone()));
                }
            }
        }
        inc
    }

    fn ordered(inc: &Incoming) -> Vec<(String, Value)> {
        match inc {
            Incoming::Object(fields) => fields
                .iter()
                .map(|(k, f)| (k.clone(), f.clone().into_value()))
                .collect(),
            Incoming::Other(v) => vec![(String::new(), v.clone())],
        }
    }

    #[test]
    fn reads_as_serde_json_value() {
        let many: Vec<String> = (0..100).map(|i| format!("\"k{}\": {i}", i % 40)).collect();
        for text in [
            r#"{"summary": "s", "details": {"a": 1, "b": [1, 2.5, -3], "a": "again"}, "n": 18446744073709551615}"#,
            r#"{"x": 1, "y": 2, "x": 3, "Details": {"c": null}, "@fields": "not an object", "fields": {"d": {"e": 1}}}"#,
            r#"{"details": {"z": 1}, "details": {"w": 2}}"#,
            r#"{"details": [1, {"a": 1}], "summary": true}"#,
            &format!("{{{}}}", many.join(",")),
            &format!("{{\"details\": {{{}}}}}", many.join(",")),
            "[1, 2]",
            "\"text\"",
            "-1.5e3",
            "null",
            "{}",
        ] {
            let inc: Incoming = serde_json::from_str(text).expect("parses");
            let want = via_value(text);
            assert_eq!(ordered(&inc), ordered(&want), "{text}");
            assert_eq!(inc, want, "{text}");
        }
    }

    #[test]
    fn bulk_actions_and_insert() {
        let a: Incoming = serde_json::from_str(r#"{"index": {"_index": "events"}}"#).expect("ok");
        assert_eq!(a.bulk_action(), Some("index"));
        let b: Incoming = serde_json::from_str(r#"{"index": 1}"#).expect("ok");
        assert_eq!(b.bulk_action(), None);
        let mut c: Incoming =
            serde_json::from_str(r#"{"a": 1, "endpoint": "x", "b": 2}"#).expect("ok");
        c.insert("endpoint", Value::from("cef"));
        c.insert("new", Value::from(1));
        assert_eq!(
            ordered(&c).into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "endpoint", "b", "new"]
        );
        assert_eq!(ordered(&c)[1].1, "cef");
    }
}
