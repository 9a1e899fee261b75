//! Field resolution at match time: the interned table of Sigma fields (with the renames of a
//! log-source variant) → candidate paths per event format, and the view of one event.

use std::collections::HashMap;

use serde_json::Value;

use crate::mapping::Mapping;
use crate::path::JsonPath;

/// Index into [`FieldTable`].
pub(crate) type FieldId = usize;

/// One interned field: its candidate paths for each format of the mapping.
#[derive(Debug, Clone)]
struct FieldEntry {
    per_format: Vec<Vec<JsonPath>>,
}

/// The fields every compiled rule refers to.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldTable {
    entries: Vec<FieldEntry>,
    index: HashMap<Vec<String>, FieldId>,
}

impl FieldTable {
    /// Interns a field known under `names` (alternatives, first present wins).
    pub(crate) fn intern(&mut self, mapping: &Mapping, names: &[String]) -> FieldId {
        if let Some(id) = self.index.get(names) {
            return *id;
        }
        let per_format = (0..mapping.formats.len())
            .map(|fmt| {
                let mut paths: Vec<JsonPath> = Vec::new();
                for n in names {
                    for p in mapping.paths(fmt, n) {
                        if !paths.contains(&p) {
                            paths.push(p);
                        }
                    }
                }
                paths
            })
            .collect();
        let id = self.entries.len();
        self.entries.push(FieldEntry { per_format });
        self.index.insert(names.to_vec(), id);
        id
    }
}

/// Nesting depth up to which keyword search walks an event (hostile input).
const MAX_KEYWORD_DEPTH: usize = 32;

/// One event as the matcher sees it.
pub(crate) struct EventView<'a> {
    pub(crate) event: &'a Value,
    pub(crate) fmt: usize,
    pub(crate) table: &'a FieldTable,
    pub(crate) mapping: &'a Mapping,
}

impl<'a> EventView<'a> {
    /// The value of a field (first present candidate).
    pub(crate) fn get(&self, id: FieldId) -> Option<&'a Value> {
        let event = self.event;
        self.table
            .entries
            .get(id)?
            .per_format
            .get(self.fmt)?
            .iter()
            .find_map(|p| p.get(event))
    }

    /// Calls `f` with every text keyword searches look at, until it returns true.
    pub(crate) fn any_keyword_text(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        let paths = self
            .mapping
            .formats
            .get(self.fmt)
            .map(|f| f.keywords.as_slice())
            .unwrap_or(&[]);
        if paths.is_empty() {
            return walk(self.event, 0, f);
        }
        paths
            .iter()
            .filter_map(|p| p.get(self.event))
            .any(|v| walk(v, 0, f))
    }
}

fn walk(v: &Value, depth: usize, f: &mut dyn FnMut(&str) -> bool) -> bool {
    if depth > MAX_KEYWORD_DEPTH {
        return false;
    }
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().any(|i| walk(i, depth + 1, f)),
        Value::Object(map) => map.values().any(|i| walk(i, depth + 1, f)),
        _ => false,
    }
}
