//! [`Details`]: the free-form fields of an event.
//!
//! An event has a handful of details (typically 5–20), set by normalization and by parsers
//! whose key names are string literals. A vector searched linearly is cheaper here than a hash
//! map (no hashing of the key on every lookup and insert), keeps the order fields were set in
//! (as MozDef's documents do), and keys that are literals are borrowed, not allocated. Past
//! [`SCAN_MAX`] fields (untrusted input can send thousands) the keys are also indexed in a
//! hash map, so that every operation stays constant time and an event of n keys costs O(n),
//! not O(n²).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Index;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A key of [`Details`]: a literal, or an owned name (from incoming JSON).
pub type Key = Cow<'static, str>;

/// The free-form fields of an event: an ordered map with unique keys.
#[derive(Default)]
pub struct Details {
    fields: Vec<(Key, Value)>,
    /// Position of each key, kept once there are more than [`SCAN_MAX`] fields (boxed: 8
    /// bytes in every event instead of a map's 48, for the rare event that needs it).
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<Key, usize>>>,
}

/// Room an event's details are created with: what normalization, a parser and the enrichment
/// transforms typically set, so that they are not reallocated on the way.
pub const TYPICAL_FIELDS: usize = 16;

/// Up to this many fields, a key is looked up by scanning them; past it, through the index.
pub const SCAN_MAX: usize = 32;

/// A copy has the same room as the original (so that copies of an event grow as it would).
impl Clone for Details {
    fn clone(&self) -> Details {
        let mut v = Vec::with_capacity(self.fields.capacity());
        v.extend(self.fields.iter().cloned());
        Details {
            fields: v,
            index: self.index.clone(),
        }
    }
}

static NULL: Value = Value::Null;

impl Details {
    /// No fields.
    pub fn new() -> Details {
        Details::default()
    }

    /// No fields, with room for `n`.
    pub fn with_capacity(n: usize) -> Details {
        Details {
            fields: Vec::with_capacity(n),
            index: None,
        }
    }

    /// Fields whose keys the caller knows are unique.
    fn from_unique(fields: Vec<(Key, Value)>) -> Details {
        let mut d = Details {
            fields,
            index: None,
        };
        d.reindex();
        d
    }

    /// Indexes the keys when there are many (or drops the index when there are few).
    fn reindex(&mut self) {
        self.index = (self.fields.len() > SCAN_MAX).then(|| {
            Box::new(
                self.fields
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect(),
            )
        });
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            // Length, then first and last bytes, before the bytes (as `get_key`): keys of
            // one length mostly differ there, and the test costs less than the comparison.
            None => {
                let want = key.as_bytes();
                let (first, last) = (want.first(), want.last());
                self.fields.iter().position(|(k, _)| {
                    let b = k.as_bytes();
                    b.len() == want.len() && b.first() == first && b.last() == last && b == want
                })
            }
        }
    }

    /// Adds a field whose key is not set.
    fn push(&mut self, key: Key, value: Value) {
        match &mut self.index {
            Some(index) => {
                index.insert(key.clone(), self.fields.len());
                self.fields.push((key, value));
            }
            None => {
                self.fields.push((key, value));
                if self.fields.len() > SCAN_MAX {
                    self.reindex();
                }
            }
        }
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.fields[i].1)
    }

    /// The value of `key`, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position(key).map(|i| &mut self.fields[i].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` (in place when it is already set, else last); returns the replaced value.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.fields[i].1, value)),
            None => {
                self.push(key, value);
                None
            }
        }
    }

    /// Adds `key`, which the caller knows is not set yet (checked in debug builds only).
    pub fn push_new(&mut self, key: impl Into<Key>, value: Value) {
        let key = key.into();
        debug_assert!(!self.contains_key(&key), "{key} set twice");
        self.push(key, value);
    }

    /// Sets `key` only when it is not set yet; returns whether it was set.
    pub fn insert_if_absent(&mut self, key: impl Into<Key>, value: Value) -> bool {
        let key = key.into();
        if self.contains_key(&key) {
            return false;
        }
        self.push(key, value);
        true
    }

    /// Removes `key`, keeping the order of the others; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        let (_, v) = self.fields.remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(v)
    }

    /// The fields in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.fields.iter())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(k, _)| k.as_ref())
    }

    /// As a JSON object, in the same order.
    pub fn into_map(self) -> Map<String, Value> {
        let mut m = Map::with_capacity(self.fields.len());
        for (k, v) in self.fields {
            m.insert(k.into_owned(), v);
        }
        m
    }
}

/// Iterator over the fields of [`Details`] in order (a named type, so that other crates can
/// hold it, e.g. in a storage backend's view of an event).
#[derive(Debug, Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, (Key, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_ref(), v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl From<Map<String, Value>> for Details {
    fn from(m: Map<String, Value>) -> Details {
        // A JSON object's keys are unique already.
        Details::from_unique(m.into_iter().map(|(k, v)| (Key::Owned(k), v)).collect())
    }
}

/// Sets many fields: each replaces the value of a key already set (in place) or is added last,
/// as [`Details::insert`].
impl<K: Into<Key>> Extend<(K, Value)> for Details {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.fields.reserve(iter.size_hint().0);
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl Details {
    /// Adds the fields whose keys are not set yet (as [`Details::insert_if_absent`] on each).
    pub fn extend_if_absent<K: Into<Key>>(&mut self, iter: impl IntoIterator<Item = (K, Value)>) {
        for (k, v) in iter {
            self.insert_if_absent(k, v);
        }
    }
}

impl<K: Into<Key>> FromIterator<(K, Value)> for Details {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Details {
        let mut d = Details::new();
        d.extend(iter);
        d
    }
}

impl IntoIterator for Details {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.into_iter()
    }
}

/// `details["key"]`: the value, or `null` when it is not set (as `serde_json::Map`).
impl Index<&str> for Details {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

/// Equal when both hold the same fields, in any order (as `serde_json::Map`).
impl PartialEq for Details {
    fn eq(&self, other: &Details) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

/// Reads a JSON object's entries into [`Details`]: a repeated key keeps its first place and its
/// last value, as serde_json (linear time however many keys).
pub(crate) fn read_map<'de, A: MapAccess<'de>>(mut a: A) -> Result<Details, A::Error> {
    let mut d = Details::with_capacity(a.size_hint().unwrap_or(0).min(4096));
    while let Some((k, v)) = a.next_entry::<String, Value>()? {
        d.insert(Key::Owned(k), v);
    }
    Ok(d)
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Details, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Details;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Details, A::Error> {
                read_map(a)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn many_keys_merge_as_few_do() {
        // Past SCAN_MAX keys the keys are indexed: same results as with few keys.
        for n in [3, SCAN_MAX - 1, SCAN_MAX, SCAN_MAX + 1, 500] {
            let incoming: Vec<(String, Value)> = (0..n)
                .map(|i| (format!("k{}", i % (n / 2 + 1)), json!(i)))
                .collect();
            let mut one_by_one = Details::new();
            one_by_one.insert("k1", json!("before"));
            let mut kept = one_by_one.clone();
            let mut bulk = one_by_one.clone();
            let mut bulk_kept = one_by_one.clone();
            for (k, v) in incoming.clone() {
                one_by_one.insert(k.clone(), v.clone());
                kept.insert_if_absent(k, v);
            }
            bulk.extend(incoming.clone());
            bulk_kept.extend_if_absent(incoming);
            let order = |d: &Details| {
                d.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(order(&bulk), order(&one_by_one), "{n} keys");
            assert_eq!(order(&bulk_kept), order(&kept), "{n} keys, if absent");
            assert_eq!(bulk_kept["k1"], "before");
        }
        let text = format!(
            "{{{}}}",
            (0..300)
                .map(|i| format!("\"k{}\": {i}", i % 200))
                .collect::<Vec<_>>()
                .join(",")
        );
        let d: Details = serde_json::from_str(&text).expect("parses");
        let m: Map<String, Value> = serde_json::from_str(&text).expect("parses");
        assert_eq!(d.len(), 200);
        assert_eq!(
            d.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Vec<_>>(),
            m.into_iter().collect::<Vec<_>>(),
            "first place, last value, as serde_json"
        );
    }

    /// The index that keeps many keys linear: present exactly past `SCAN_MAX` fields and
    /// naming each key's position, whatever the operations.
    fn check_index(d: &Details) {
        match &d.index {
            Some(index) => {
                assert!(d.len() > SCAN_MAX, "indexed at {} fields", d.len());
                assert_eq!(index.len(), d.len());
                for (i, (k, _)) in d.fields.iter().enumerate() {
                    assert_eq!(index.get(k.as_ref()), Some(&i), "{k}");
                }
            }
            None => assert!(d.len() <= SCAN_MAX, "not indexed at {} fields", d.len()),
        }
    }

    #[test]
    fn many_keys_are_indexed_through_every_operation() {
        let mut d = Details::new();
        for i in 0..100 {
            d.insert(format!("k{i}"), json!(i));
            check_index(&d);
        }
        assert!(d.index.is_some());
        d.push_new("new", json!(1));
        assert!(d.insert_if_absent("other", json!(2)));
        assert!(!d.insert_if_absent("k7", json!(0)));
        assert_eq!(d.insert("k3", json!("x")), Some(json!(3)));
        check_index(&d);
        for i in (0..100).step_by(3) {
            assert_eq!(
                d.remove(&format!("k{i}")),
                Some(if i == 3 { json!("x") } else { json!(i) })
            );
            check_index(&d);
        }
        assert_eq!(d["k7"], 7);
        assert_eq!(d.get("k6"), None);
        let copy = d.clone();
        check_index(&copy);
        assert_eq!(copy, d);
        let keys: Vec<String> = d.keys().map(str::to_string).collect();
        for k in keys {
            d.remove(&k);
            check_index(&d);
        }
        let many: Map<String, Value> = (0..50).map(|i| (format!("m{i}"), json!(i))).collect();
        let from = Details::from(many);
        check_index(&from);
        assert_eq!(from["m49"], 49);
        let parsed: Details = serde_json::from_str(&serde_json::to_string(&from).unwrap()).unwrap();
        check_index(&parsed);
    }

    #[test]
    fn insert_replaces_in_place_and_remove_keeps_order() {
        let mut d = Details::new();
        assert_eq!(d.insert("a", json!(1)), None);
        assert_eq!(d.insert("b", json!(2)), None);
        assert_eq!(d.insert(String::from("c"), json!(3)), None);
        assert_eq!(d.insert("a", json!(10)), Some(json!(1)));
        assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(!d.insert_if_absent("b", json!(20)));
        assert!(d.insert_if_absent("d", json!(4)));
        assert_eq!(d["b"], 2);
        assert_eq!(d["missing"], Value::Null);
        assert_eq!(d.remove("b"), Some(json!(2)));
        assert_eq!(d.remove("b"), None);
        assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "c", "d"]);
        *d.get_mut("c").expect("set") = json!("x");
        assert_eq!(
            serde_json::to_string(&d).expect("serializes"),
            r#"{"a":10,"c":"x","d":4}"#
        );
    }

    #[test]
    fn json_round_trip_keeps_order_and_last_duplicate() {
        let d: Details = serde_json::from_str(r#"{"z":1,"a":{"n":[1,2]},"z":3}"#).expect("parses");
        assert_eq!(d.keys().collect::<Vec<_>>(), ["z", "a"]);
        assert_eq!(d["z"], 3);
        let m = d.clone().into_map();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["z", "a"]);
        assert_eq!(Details::from(m), d);
        assert!(serde_json::from_str::<Details>("[1]").is_err());
    }

    #[test]
    fn equality_ignores_order() {
        let a: Details = [("x", json!(1)), ("y", json!(2))].into_iter().collect();
        let b: Details = [("y", json!(2)), ("x", json!(1))].into_iter().collect();
        let c: Details = [("y", json!(2)), ("x", json!(5))].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, Details::new());
    }
}
