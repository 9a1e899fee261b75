//! Dotted paths into a JSON event (`details.TargetUserName`, `Event.System.EventID`,
//! `details.args.0`): a segment is an object key, or an index into an array.

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
    /// absent is then looked up without regard to case (Windows field names are
    /// case-insensitive and writers differ: `Commandline`/`CommandLine`).
    pub fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut cur = root;
        for seg in &self.segments {
            cur = match cur {
                Value::Object(map) => match map.get(seg.as_str()) {
                    Some(v) => v,
                    None => map
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                        .map(|(_, v)| v)?,
                },
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The path as written.
    pub fn text(&self) -> String {
        self.segments.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_array_indexes_and_case() {
        let v = serde_json::json!({"details": {"args": ["a", "b"], "TargetUserName": "x"}});
        assert_eq!(
            JsonPath::parse("details.args.1").get(&v),
            Some(&Value::from("b"))
        );
        assert_eq!(
            JsonPath::parse("details.targetusername").get(&v),
            Some(&Value::from("x"))
        );
        assert_eq!(JsonPath::parse("details.args.5").get(&v), None);
        assert_eq!(JsonPath::parse("").get(&v), Some(&v));
    }
}
