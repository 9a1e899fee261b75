//! The field-mapping layer, defined as data (`data/mapping.yml`, overridable by a YAML file of
//! the same shape): where a Sigma field is in an event of each known shape ("format"), and
//! which events a rule's log source applies to.
//!
//! * `formats` (tried in order; the first whose `detect` path is present describes the event):
//!   `fields` maps a Sigma field to candidate paths (the first present wins); a field not
//!   listed is looked up through `default`, where `{}` stands for the field name.
//!   `keywords` lists the paths keyword searches look at (empty: every string value).
//! * `logsources`: each entry's `match` (`product`/`category`/`service`) selects rules; of the
//!   entries that match a rule's log source, those naming the most keys apply, each one a
//!   variant of the rule: `conditions` (a Sigma selection, in Sigma field names) that an event
//!   must meet, `fieldmappings` (Sigma field → other Sigma field name(s), first present wins)
//!   and optionally `formats` (the variant only applies to events of these formats).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrodef_event::Node as Field;
use serde::Deserialize;

use crate::error::Error;
use crate::path::JsonPath;

/// The built-in mapping.
pub const BUILTIN_MAPPING: &str = include_str!("../data/mapping.yml");

/// One event shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatSpec {
    /// Name used in `logsources[].formats` and in messages.
    pub name: String,
    /// Paths of which one must be present for an event to be of this format (empty: always).
    #[serde(default)]
    pub detect: Vec<String>,
    /// Sigma field → candidate paths.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
    /// Candidate path templates for fields not in `fields` (`{}` = the field name).
    #[serde(default)]
    pub default: Vec<String>,
    /// Paths keyword searches look at; empty: every string value in the event.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Keys are looked up exactly (default false: a key absent in the event is then looked up
    /// ignoring case and spaces, as raw Windows event shapes need).
    #[serde(default)]
    pub exact_keys: bool,
}

/// The `match` of a log-source entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogSourceKey {
    /// `logsource.product`.
    pub product: Option<String>,
    /// `logsource.category`.
    pub category: Option<String>,
    /// `logsource.service`.
    pub service: Option<String>,
}

impl LogSourceKey {
    fn keys(&self) -> usize {
        [&self.product, &self.category, &self.service]
            .iter()
            .filter(|k| k.is_some())
            .count()
    }

    /// Whether every key this entry names equals the rule's (case-insensitive).
    fn selects(&self, rule: &LogSourceKey) -> bool {
        fn eq(want: &Option<String>, have: &Option<String>) -> bool {
            match (want, have) {
                (None, _) => true,
                (Some(w), Some(h)) => w.eq_ignore_ascii_case(h),
                (Some(_), None) => false,
            }
        }
        eq(&self.product, &rule.product)
            && eq(&self.category, &rule.category)
            && eq(&self.service, &rule.service)
    }
}

/// Field renames of a log-source entry: one name or a list of alternatives.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Rename {
    /// One target field.
    One(String),
    /// Alternatives, first present wins.
    Many(Vec<String>),
}

impl Rename {
    /// The target names.
    pub fn names(&self) -> Vec<String> {
        match self {
            Rename::One(s) => vec![s.clone()],
            Rename::Many(v) => v.clone(),
        }
    }
}

/// One log-source entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceSpec {
    /// Which rules it applies to.
    #[serde(rename = "match")]
    pub key: LogSourceKey,
    /// A Sigma selection (field → value or list of values) events must meet.
    #[serde(default)]
    pub conditions: BTreeMap<String, serde_yaml_ng::Value>,
    /// Sigma field → field name(s) where this source keeps it.
    #[serde(default)]
    pub fieldmappings: BTreeMap<String, Rename>,
    /// Formats this variant applies to (empty: all).
    #[serde(default)]
    pub formats: Vec<String>,
}

/// The whole mapping document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// Event shapes, in detection order.
    pub formats: Vec<FormatSpec>,
    /// Log-source entries.
    #[serde(default)]
    pub logsources: Vec<LogSourceSpec>,
}

/// A compiled format.
#[derive(Debug, Clone)]
pub(crate) struct Format {
    pub(crate) name: String,
    detect: Vec<JsonPath>,
    fields: BTreeMap<String, Vec<JsonPath>>,
    /// Same as `fields`, keys lower-cased (Sigma field names are matched case-insensitively).
    fields_lower: BTreeMap<String, Vec<JsonPath>>,
    default: Vec<String>,
    pub(crate) keywords: Vec<JsonPath>,
    /// See [`FormatSpec::exact_keys`].
    pub(crate) exact_keys: bool,
}

/// The compiled mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(crate) formats: Vec<Format>,
    pub(crate) logsources: Vec<LogSourceSpec>,
    /// Tells mappings apart in the thread's cache of [`Mapping::detect`] (copies share it:
    /// they detect alike).
    id: u64,
}

/// The distinct ids of mappings.
static NEXT_MAPPING_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The last few event shapes [`Mapping::detect`] decided from top-level keys alone. The
    /// ingest service's events have few shapes (its normalized schema, with or without its
    /// optional fields), which then detect with one pass of key comparisons rather than a
    /// failed (case- and space-insensitive) scan per format tried before theirs.
    static SHAPES: RefCell<Shapes> = const { RefCell::new(Shapes { seen: Vec::new(), next: 0 }) };
}

/// How many event shapes a thread remembers.
const SHAPES_KEPT: usize = 4;

/// Events of more top-level keys than this are not remembered (the normalized schema has 17
/// at most; a hostile event's thousands of keys are not kept).
const SHAPE_KEYS_MAX: usize = 64;

/// A mapping's id, an event's top-level keys in order, and the format they detect.
struct Shape {
    mapping: u64,
    keys: Vec<String>,
    fmt: Option<usize>,
}

/// The shapes a thread remembers; `next` is the one a new shape replaces.
struct Shapes {
    seen: Vec<Shape>,
    next: usize,
}

impl Shapes {
    fn find(&self, mapping: u64, event: Field<'_>) -> Option<Option<usize>> {
        let n = event.len();
        self.seen
            .iter()
            .find(|s| {
                if s.mapping != mapping || s.keys.len() != n {
                    return false;
                }
                let (mut i, mut same) = (0, true);
                event.for_each_key(|k| {
                    same = same && s.keys.get(i).is_some_and(|x| x == k);
                    i += 1;
                });
                same
            })
            .map(|s| s.fmt)
    }

    /// Remembers a shape, in the place of the oldest when full (its strings' room reused).
    fn remember(&mut self, mapping: u64, event: Field<'_>, fmt: Option<usize>) {
        let n = event.len();
        let at = if self.seen.len() < SHAPES_KEPT {
            self.seen.push(Shape {
                mapping,
                keys: Vec::with_capacity(n),
                fmt,
            });
            self.seen.len() - 1
        } else {
            let at = self.next % SHAPES_KEPT;
            self.next = at + 1;
            at
        };
        if let Some(s) = self.seen.get_mut(at) {
            s.mapping = mapping;
            s.fmt = fmt;
            s.keys.truncate(n);
            let mut i = 0;
            event.for_each_key(|k| {
                match s.keys.get_mut(i) {
                    Some(slot) => {
                        slot.clear();
                        slot.push_str(k);
                    }
                    None => s.keys.push(k.to_string()),
                }
                i += 1;
            });
        }
    }
}

impl Mapping {
    /// The built-in mapping.
    pub fn builtin() -> Mapping {
        // The built-in table is part of the program; a unit test proves it parses.
        match Mapping::from_yaml(BUILTIN_MAPPING) {
            Ok(m) => m,
            Err(e) => panic!("built-in Sigma mapping is invalid: {e}"),
        }
    }

    /// A mapping from YAML text (the shape of `data/mapping.yml`).
    pub fn from_yaml(text: &str) -> Result<Mapping, Error> {
        let spec: MappingSpec = serde_yaml_ng::from_str(text).map_err(|e| Error::Mapping {
            line: e.location().map(|l| l.line()),
            reason: e.to_string(),
        })?;
        Ok(Mapping::compile(spec))
    }

    /// A mapping file.
    pub fn from_file(path: &Path) -> Result<Mapping, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Mapping::from_yaml(&text)
    }

    fn compile(spec: MappingSpec) -> Mapping {
        let formats = spec
            .formats
            .into_iter()
            .map(|f| {
                let fields: BTreeMap<String, Vec<JsonPath>> = f
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.iter().map(|p| JsonPath::parse(p)).collect()))
                    .collect();
                Format {
                    fields_lower: fields
                        .iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                        .collect(),
                    fields,
                    name: f.name,
                    detect: f.detect.iter().map(|p| JsonPath::parse(p)).collect(),
                    default: f.default,
                    keywords: f.keywords.iter().map(|p| JsonPath::parse(p)).collect(),
                    exact_keys: f.exact_keys,
                }
            })
            .collect();
        Mapping {
            formats,
            logsources: spec.logsources,
            id: NEXT_MAPPING_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The index of the format of `event` (`None`: no format matches).
    pub(crate) fn detect<'a>(&self, event: impl Into<Field<'a>>) -> Option<usize> {
        let event = event.into();
        if !event.is_object() {
            return self.detect_by_paths(event).0;
        }
        if let Some(fmt) = SHAPES.with(|c| c.borrow().find(self.id, event)) {
            return fmt;
        }
        let (fmt, by_keys) = self.detect_by_paths(event);
        if by_keys && event.len() <= SHAPE_KEYS_MAX {
            SHAPES.with(|c| c.borrow_mut().remember(self.id, event, fmt));
        }
        fmt
    }

    /// The format of `event`, its detect paths tried in order; and whether the answer
    /// follows from the event's top-level keys alone (every path tried has one segment, or
    /// its first segment is absent), so that an event of the same keys has the same format.
    fn detect_by_paths<'a>(&self, event: impl Into<Field<'a>>) -> (Option<usize>, bool) {
        let event = event.into();
        let mut by_keys = true;
        let fmt = self.formats.iter().position(|f| {
            f.detect.is_empty()
                || f.detect.iter().any(|p| {
                    let found = p.get(event).is_some();
                    if p.segments().len() > 1 && (found || p.first_present(event)) {
                        by_keys = false;
                    }
                    found
                })
        });
        (fmt, by_keys)
    }

    /// Format index by name.
    pub(crate) fn format_index(&self, name: &str) -> Option<usize> {
        self.formats.iter().position(|f| f.name == name)
    }

    /// Candidate paths of a Sigma field in format `fmt`.
    pub(crate) fn paths(&self, fmt: usize, field: &str) -> Vec<JsonPath> {
        let Some(f) = self.formats.get(fmt) else {
            return Vec::new();
        };
        if let Some(p) = f.fields.get(field) {
            return p.clone();
        }
        if let Some(p) = f.fields_lower.get(&field.to_ascii_lowercase()) {
            return p.clone();
        }
        f.default
            .iter()
            .map(|t| JsonPath::parse(&t.replace("{}", field)))
            .collect()
    }

    /// The log-source entries (variants) that apply to a rule's log source: those that
    /// select it and name the most keys. Empty: the log source has no mapping.
    pub(crate) fn variants(&self, rule: &LogSourceKey) -> Vec<&LogSourceSpec> {
        let selecting: Vec<&LogSourceSpec> = self
            .logsources
            .iter()
            .filter(|l| l.key.selects(rule))
            .collect();
        let best = selecting.iter().map(|l| l.key.keys()).max().unwrap_or(0);
        selecting
            .into_iter()
            .filter(|l| l.key.keys() == best)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_remembered_by_keys_is_detection_by_paths() {
        use serde_json::json;
        let m = Mapping::builtin();
        // Same top-level keys, different shapes below them; a mapping of its own whose
        // first format is detected by a nested path.
        let events = [
            json!({"utctimestamp": "t", "receivedtimestamp": "t", "details": {}}),
            json!({"Event": {"System": {"EventID": 1}}, "utctimestamp": "t"}),
            json!({"Event": "text", "utctimestamp": "t"}),
            json!({"event": {"system": 1}, "utctimestamp": "t"}),
            json!({"Event": {"Other": 1}}),
            json!({"Event": {"System": 1}}),
            json!({"winlog": 1, "utctimestamp": "t"}),
            json!({"EventID": 4625}),
            json!({"EventID": 4625, "Event": {"System": 1}}),
            json!([1, 2]),
            json!("text"),
        ];
        let other = Mapping::from_yaml(
            "formats:\n  - name: nested\n    detect: [details.kind]\n  - name: rest\n",
        )
        .expect("mapping");
        // Every order of pairs, so that each event follows each other one.
        for mapping in [&m, &other] {
            for a in &events {
                for b in &events {
                    for e in [a, b, a] {
                        assert_eq!(mapping.detect(e), mapping.detect_by_paths(e).0, "{e}");
                    }
                }
            }
        }
        let nested = json!({"details": {"kind": 1}});
        let flat = json!({"details": {"other": 1}});
        for e in [&nested, &flat, &nested, &flat] {
            assert_eq!(other.detect(e), other.detect_by_paths(e).0, "{e}");
        }
        // More shapes than a thread keeps, of growing and shrinking key lists, each also
        // without the key that makes it a ferrodef event.
        let mut shapes = Vec::new();
        for n in 0..(2 * SHAPES_KEPT + 1) {
            let mut e = serde_json::Map::new();
            for i in 0..(n % 5) {
                e.insert(format!("k{i}"), json!(i));
            }
            let mut with = e.clone();
            with.insert("utctimestamp".into(), json!("t"));
            e.insert("utctimestamp_".into(), json!("t"));
            shapes.push(serde_json::Value::Object(with));
            shapes.push(serde_json::Value::Object(e));
        }
        for _ in 0..3 {
            for (i, e) in shapes.iter().enumerate() {
                let want = if i % 2 == 0 { "ferrodef" } else { "flat" };
                assert_eq!(m.detect(e), m.format_index(want), "{e}");
            }
        }
        // An event of many keys is detected (not remembered) alike, before and after.
        let mut wide: serde_json::Map<String, serde_json::Value> = (0..SHAPE_KEYS_MAX + 1)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        assert_eq!(m.detect(&json!(wide.clone())), m.format_index("flat"));
        wide.insert("utctimestamp".into(), json!("t"));
        for _ in 0..2 {
            assert_eq!(m.detect(&json!(wide.clone())), m.format_index("ferrodef"));
        }
        // Alternating between the two mappings on events of the same keys.
        let fd = &events[0];
        assert_eq!(m.detect(fd), m.format_index("ferrodef"));
        assert_eq!(other.detect(fd), other.format_index("rest"));
        assert_eq!(m.detect(fd), m.format_index("ferrodef"));
    }

    #[test]
    fn builtin_mapping_parses_and_detects_formats() {
        let m = Mapping::builtin();
        let raw = serde_json::json!({"Event": {"System": {"EventID": 1}}});
        let beat = serde_json::json!({"winlog": {"event_id": 1}});
        let fd = serde_json::json!({"utctimestamp": "2026-01-01T00:00:00Z", "details": {}});
        let flat = serde_json::json!({"EventID": 4625});
        let name = |e: &serde_json::Value| m.detect(e).map(|i| m.formats[i].name.clone());
        assert_eq!(name(&raw).as_deref(), Some("windows_xml"));
        assert_eq!(name(&beat).as_deref(), Some("winlogbeat"));
        assert_eq!(name(&fd).as_deref(), Some("ferrodef"));
        assert_eq!(name(&flat).as_deref(), Some("flat"));
    }

    #[test]
    fn most_specific_log_source_entries_win() {
        let m = Mapping::builtin();
        let key = LogSourceKey {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            service: None,
        };
        assert_eq!(m.variants(&key).len(), 2);
        let auditd = LogSourceKey {
            product: Some("linux".into()),
            category: None,
            service: Some("auditd".into()),
        };
        // One variant for ferrodef events (auditd parser fields), one for flat events.
        let v = m.variants(&auditd);
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|s| s.key.service.as_deref() == Some("auditd")));
        assert_eq!(v[0].formats, vec!["ferrodef".to_string()]);
        assert!(v[0].conditions.contains_key("tags"));
    }
}
