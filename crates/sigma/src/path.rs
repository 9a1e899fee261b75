//! Dotted paths into a JSON event (`details.TargetUserName`, `Event.System.EventID`,
//! `details.args.0`): a segment is an object key, or an index into an array.

use ferrodef_event::Node as Field;
use serde_json::Value;

/// A pre-split path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPath {
    segments: Vec<String>,
}

impl JsonPath {
    /// Splits `a.b.c` on dots; an empty text is the event itself.
    pub fn parse(text: &str) -> JsonPath {
        JsonPath {
            segments: if text.is_empty() {
                Vec::new()
            } else {
                text.split('.').map(str::to_string).collect()
            },
        }
    }

    /// The value at this path, if present. A key is looked up exactly first; a key that is
    /// absent is then looked up without regard to case and to spaces in the event's key
    /// (Windows field names are case-insensitive and writers differ: `Commandline` /
    /// `CommandLine`; Defender's EventData names have spaces, `Source Name`, which Sigma
    /// rules write `SourceName`, as the evtx checkers SigmaHQ tests with do).
    pub fn get<'a>(&self, root: impl Into<Field<'a>>) -> Option<Field<'a>> {
        let mut cur = root.into();
        for seg in &self.segments {
            cur = loose_step(cur, seg)?;
        }
        Some(cur)
    }

    /// Whether the path's first segment is in `root` (as [`JsonPath::get`] looks it up).
    pub(crate) fn first_present<'a>(&self, root: impl Into<Field<'a>>) -> bool {
        let root = root.into();
        self.segments
            .first()
            .is_none_or(|seg| loose_step(root, seg).is_some())
    }

    /// The value at this path, keys compared exactly (events whose keys are known, such as
    /// ferrodef's normalized events: no scan of an object's keys for a key it lacks).
    pub fn get_exact<'a>(&self, root: impl Into<Field<'a>>) -> Option<Field<'a>> {
        get_exact_in(root.into(), &self.segments)
    }

    /// [`JsonPath::get_exact`] with the value at the path's first segment already looked up
    /// (`at_first`; `None`: absent): the value at the rest of the path. Callers that resolve
    /// many paths under one key (`details.*`) look that key up once.
    pub(crate) fn get_exact_under<'a>(&self, at_first: Option<Field<'a>>) -> Option<Field<'a>> {
        get_exact_in(at_first?, self.segments.get(1..)?)
    }

    /// The path's first segment (`None`: the empty path, the event itself).
    pub(crate) fn first(&self) -> Option<&str> {
        self.segments.first().map(String::as_str)
    }

    /// The path's segments.
    pub(crate) fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path as written.
    pub fn text(&self) -> String {
        self.segments.join(".")
    }
}

/// The value at `segments` under `root`, keys compared exactly.
/// One step of [`JsonPath::get`].
fn loose_step<'a>(cur: Field<'a>, seg: &str) -> Option<Field<'a>> {
    match cur {
        Field::Value(Value::Array(items)) => {
            items.get(seg.parse::<usize>().ok()?).map(Field::Value)
        }
        obj => match obj.get(seg) {
            Some(v) => Some(v),
            None => {
                let mut found = None;
                obj.for_each(|k, v| {
                    if found.is_none() && loose_eq(k, seg) {
                        found = Some(v);
                    }
                });
                found
            }
        },
    }
}

fn get_exact_in<'a>(root: Field<'a>, segments: &[String]) -> Option<Field<'a>> {
    let mut cur = root;
    for seg in segments {
        cur = match cur {
            Field::Value(Value::Array(items)) => {
                Field::Value(items.get(seg.parse::<usize>().ok()?)?)
            }
            obj => obj.get(seg)?,
        };
    }
    Some(cur)
}

/// Case-insensitive equality that ignores spaces in the event's key.
fn loose_eq(key: &str, seg: &str) -> bool {
    // Without its spaces the key is never longer than it is: lengths decide most keys.
    match key.len().cmp(&seg.len()) {
        std::cmp::Ordering::Less => return false,
        std::cmp::Ordering::Equal => return key.eq_ignore_ascii_case(seg) && !key.contains(' '),
        // Longer: equal only without some spaces (compared below, which ends at the first
        // difference: a key without spaces differs at the latest where `seg` ends).
        std::cmp::Ordering::Greater => {
            // The first byte decides most keys: unless it is a space, it must be `seg`'s.
            if let (Some(k), Some(s)) = (key.as_bytes().first(), seg.as_bytes().first()) {
                if *k != b' ' && !k.eq_ignore_ascii_case(s) {
                    return false;
                }
            }
        }
    }
    let mut k = key.bytes().filter(|b| *b != b' ');
    let mut s = seg.bytes();
    loop {
        match (k.next(), s.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Case-insensitive equality ignoring the key's spaces, as it was written first.
    fn loose_eq_reference(key: &str, seg: &str) -> bool {
        if !key.contains(' ') {
            return key.eq_ignore_ascii_case(seg);
        }
        let k: Vec<u8> = key.bytes().filter(|b| *b != b' ').collect();
        k.eq_ignore_ascii_case(seg.as_bytes())
    }

    #[test]
    fn loose_equality_by_length_first_is_the_same() {
        let words = [
            "",
            " ",
            "a",
            "A",
            "a ",
            " a",
            "ab",
            "a b",
            "A B",
            "AB",
            "Source Name",
            "SourceName",
            "sourcename",
            "Source  Name",
            "SourceNam",
            "Source Names",
            "x y z",
            "xyz",
            "x yz",
            " xyz",
            "  Source Name ",
            "Xy z",
            "yx z",
        ];
        for k in words {
            for s in words {
                assert_eq!(loose_eq(k, s), loose_eq_reference(k, s), "{k:?} {s:?}");
            }
        }
    }

    #[test]
    fn a_path_under_its_first_key_is_the_path() {
        let v = serde_json::json!({"details": {"args": ["a", "b"], "n": {"m": 1}}, "x": 2});
        for p in [
            "details.args.1",
            "details.n.m",
            "details.n",
            "details.nope",
            "details",
            "x",
        ] {
            let p = JsonPath::parse(p);
            let first = p.first().and_then(|f| v.get(f)).map(Field::Value);
            let want = p.get_exact(&v).map(Field::to_value);
            if p.text().contains('.') {
                assert_eq!(
                    p.get_exact_under(first).map(Field::to_value),
                    want,
                    "{}",
                    p.text()
                );
            }
        }
        assert_eq!(JsonPath::parse("").first(), None);
    }

    #[test]
    fn object_keys_array_indexes_and_case() {
        let v = serde_json::json!({"details": {"args": ["a", "b"], "TargetUserName": "x"}});
        assert_eq!(
            JsonPath::parse("details.args.1")
                .get(&v)
                .and_then(Field::value),
            Some(&Value::from("b"))
        );
        assert_eq!(
            JsonPath::parse("details.targetusername")
                .get(&v)
                .and_then(Field::value),
            Some(&Value::from("x"))
        );
        assert_eq!(
            JsonPath::parse("details.args.5")
                .get(&v)
                .and_then(Field::value),
            None
        );
        let d = serde_json::json!({"Source Name": "RTP"});
        assert_eq!(
            JsonPath::parse("SourceName").get(&d).and_then(Field::value),
            Some(&Value::from("RTP"))
        );
        assert!(JsonPath::parse("SourceNam").get(&d).is_none());
        assert_eq!(JsonPath::parse("").get(&v).and_then(Field::value), Some(&v));
    }
}
