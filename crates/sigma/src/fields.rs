//! Field resolution at match time: the interned table of Sigma fields (with the renames of a
//! log-source variant) → candidate paths per event format, and the view of one event.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

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
pub(crate) const MAX_KEYWORD_DEPTH: usize = 32;

/// One event as the matcher sees it, with the per-event caches of lower-cased values (so
/// a value many rules compare is lower-cased once).
pub(crate) struct EventView<'a> {
    pub(crate) event: &'a Value,
    pub(crate) fmt: usize,
    pub(crate) table: &'a FieldTable,
    pub(crate) mapping: &'a Mapping,
    /// Whether keys are looked up exactly (the format's `exact_keys`).
    exact: bool,
    /// The fields resolved so far, each resolved once per event.
    values: RefCell<FieldCache<'a>>,
    lower: RefCell<HashMap<FieldId, Rc<[u8]>>>,
    keywords: OnceCell<Rc<KeywordTexts<'a>>>,
    /// The event's `details`, once looked up.
    details: OnceCell<Option<&'a Value>>,
}

/// The texts keyword searches look at, each with its lower-cased form.
pub(crate) type KeywordTexts<'a> = Vec<(&'a str, Rc<[u8]>)>;

impl<'a> EventView<'a> {
    /// A view of `event`, of format `fmt`.
    pub(crate) fn new(
        event: &'a Value,
        fmt: usize,
        table: &'a FieldTable,
        mapping: &'a Mapping,
    ) -> EventView<'a> {
        EventView {
            event,
            fmt,
            table,
            mapping,
            exact: mapping.formats.get(fmt).is_some_and(|f| f.exact_keys),
            values: RefCell::new(FieldCache::default()),
            lower: RefCell::new(HashMap::new()),
            keywords: OnceCell::new(),
            details: OnceCell::new(),
        }
    }

    /// The lower-cased text of field `id` whose value is `s`.
    pub(crate) fn lower_field(&self, id: FieldId, s: &str) -> Rc<[u8]> {
        if let Some(l) = self.lower.borrow().get(&id) {
            return Rc::clone(l);
        }
        let l = crate::values::lower(s);
        self.lower.borrow_mut().insert(id, Rc::clone(&l));
        l
    }

    /// The keyword texts of the event, lower-cased once.
    pub(crate) fn keyword_texts(&self) -> Rc<KeywordTexts<'a>> {
        Rc::clone(self.keywords.get_or_init(|| {
            let mut out: KeywordTexts<'a> = Vec::new();
            let event: &'a Value = self.event;
            let paths = self
                .mapping
                .formats
                .get(self.fmt)
                .map(|f| f.keywords.as_slice())
                .unwrap_or(&[]);
            if paths.is_empty() {
                collect(event, 0, &mut out);
            } else {
                for p in paths {
                    if let Some(v) = self.get_path(p) {
                        collect(v, 0, &mut out);
                    }
                }
            }
            Rc::new(out)
        }))
    }

    /// The value of a field (first present candidate), resolved once per event.
    pub(crate) fn get(&self, id: FieldId) -> Option<&'a Value> {
        if let Some(v) = self.values.borrow().find(id) {
            return v;
        }
        let v = self.resolve(id);
        self.values.borrow_mut().push(id, v);
        v
    }

    /// The value at a path of the event, with the format's key lookup.
    pub(crate) fn get_path(&self, p: &JsonPath) -> Option<&'a Value> {
        if self.exact {
            // Most paths are under `details`: looked up once per event.
            if p.first() == Some("details") {
                let event = self.event;
                let details = *self
                    .details
                    .get_or_init(|| event.as_object().and_then(|m| m.get("details")));
                return p.get_exact_under(details);
            }
            p.get_exact(self.event)
        } else {
            p.get(self.event)
        }
    }

    fn resolve(&self, id: FieldId) -> Option<&'a Value> {
        self.table
            .entries
            .get(id)?
            .per_format
            .get(self.fmt)?
            .iter()
            .find_map(|p| self.get_path(p))
    }
}

/// Fields resolved in one event (`None`: absent). An event needs few, so the first ones are
/// kept inline (no allocation), the rest in a list.
struct FieldCache<'a> {
    inline: [(FieldId, Option<&'a Value>); FieldCache::INLINE],
    len: usize,
    spill: Vec<(FieldId, Option<&'a Value>)>,
}

impl Default for FieldCache<'_> {
    fn default() -> Self {
        FieldCache {
            inline: [(FieldId::MAX, None); FieldCache::INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }
}

impl<'a> FieldCache<'a> {
    const INLINE: usize = 24;

    fn find(&self, id: FieldId) -> Option<Option<&'a Value>> {
        self.inline
            .get(..self.len)
            .unwrap_or_default()
            .iter()
            .chain(self.spill.iter())
            .find(|(f, _)| *f == id)
            .map(|(_, v)| *v)
    }

    fn push(&mut self, id: FieldId, v: Option<&'a Value>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = (id, v);
                self.len += 1;
            }
            None => self.spill.push((id, v)),
        }
    }
}

fn collect<'a>(v: &'a Value, depth: usize, out: &mut KeywordTexts<'a>) {
    if depth > MAX_KEYWORD_DEPTH {
        return;
    }
    match v {
        Value::String(s) => out.push((s.as_str(), crate::values::lower(s))),
        Value::Array(items) => items.iter().for_each(|i| collect(i, depth + 1, out)),
        Value::Object(map) => map.values().for_each(|i| collect(i, depth + 1, out)),
        _ => {}
    }
}
