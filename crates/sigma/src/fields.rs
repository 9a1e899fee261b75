//! Field resolution at match time: the interned table of Sigma fields (with the renames of a
//! log-source variant) → candidate paths per event format, and the view of one event.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use ferrodef_event::{FieldSlot, Node as Field};
use serde_json::Value;

use crate::mapping::Mapping;
use crate::path::JsonPath;

/// Index into [`FieldTable`].
pub(crate) type FieldId = usize;

/// One interned field: its candidate paths for each format of the mapping and, for formats
/// with exact keys, the nodes of those paths in the format's [`PathTrie`].
#[derive(Debug, Clone)]
struct FieldEntry {
    per_format: Vec<Vec<JsonPath>>,
    per_format_nodes: Vec<Box<[u32]>>,
}

/// The fields every compiled rule refers to.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldTable {
    entries: Vec<FieldEntry>,
    index: HashMap<Vec<String>, FieldId>,
    /// Per format: the trie of every interned path (`None`: a format whose keys are looked
    /// up loosely, resolved path by path).
    tries: Vec<Option<PathTrie>>,
    /// Per format with a trie: the nodes of its keyword paths.
    keyword_nodes: Vec<Box<[u32]>>,
}

/// A hash of short texts (event field names, log-source values) from their length and a few
/// of their bytes: a few instructions whatever the length. Texts that collide are told apart
/// by the map's comparison; a table's chains are fixed by the rules, not by events.
#[derive(Default)]
pub(crate) struct ShortHash(u64);

impl Hasher for ShortHash {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
        let x = (n as u64)
            ^ (at(0) << 8)
            ^ (at(1) << 16)
            ^ (at(n / 2) << 24)
            ^ (at(n.wrapping_sub(2)) << 32)
            ^ (at(n.wrapping_sub(1)) << 40);
        self.0 = (self.0.rotate_left(23) ^ x).wrapping_mul(0x0100_0000_01b3);
    }
}

/// A hash map keyed by short texts.
pub(crate) type ShortMap<K, V> = HashMap<K, V, BuildHasherDefault<ShortHash>>;

/// Children of a node with more than this many are found by hashing the event's keys.
const FORWARD_CHILDREN: usize = 2;

/// One node of a [`PathTrie`]: a path prefix; its children by next segment.
#[derive(Debug, Clone, Default)]
struct TrieNode {
    /// `(segment, the segment as an array index, child)`.
    children: Vec<(Box<str>, Option<usize>, u32)>,
    /// `segment → index into children` (when there are more than [`FORWARD_CHILDREN`]).
    by_key: ShortMap<Box<str>, u32>,
    /// The children that are top-level fields of opened events, by their slot (an opened
    /// event is filled from these, no key compared).
    open_children: Vec<(FieldSlot, u32)>,
}

/// Every path interned for an exact-keys format, as a trie whose node 0 is the event itself.
/// One walk over the event resolves every path at once: at a node with many children, each
/// of the event object's keys is looked up among the children (one hash each), instead of
/// each path being looked up in the event (a scan of the object's keys per absent path).
#[derive(Debug, Clone)]
pub(crate) struct PathTrie {
    nodes: Vec<TrieNode>,
}

impl PathTrie {
    fn new() -> PathTrie {
        PathTrie {
            nodes: vec![TrieNode::default()],
        }
    }

    /// The node of `path`, added if new.
    fn add(&mut self, path: &JsonPath) -> u32 {
        let mut cur = 0usize;
        for seg in path.segments() {
            let found = self
                .nodes
                .get(cur)
                .and_then(|n| n.children.iter().find(|(k, _, _)| &**k == seg.as_str()))
                .map(|(_, _, c)| *c as usize);
            cur = match found {
                Some(c) => c,
                None => {
                    let id = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    if let Some(n) = self.nodes.get_mut(cur) {
                        let at = n.children.len() as u32;
                        n.children.push((
                            seg.as_str().into(),
                            seg.parse::<usize>().ok(),
                            id as u32,
                        ));
                        n.by_key.insert(seg.as_str().into(), at);
                        if let Some(slot) = FieldSlot::of(seg) {
                            n.open_children.push((slot, id as u32));
                        }
                    }
                    id
                }
            };
        }
        cur as u32
    }

    /// The value of every node in `event` (absent: none), as [`JsonPath::get_exact`] finds
    /// it.
    pub(crate) fn resolve<'a>(&self, event: Field<'a>) -> Resolved<'a> {
        let mut out = Resolved {
            values: vec![None; self.nodes.len()],
            objects: Vec::new(),
        };
        self.fill(0, event, &mut out);
        out
    }

    fn fill<'a>(&self, node: usize, v: Field<'a>, out: &mut Resolved<'a>) {
        match v {
            Field::Value(x) => {
                if let Some(slot) = out.values.get_mut(node) {
                    *slot = Some(x);
                }
            }
            obj => out.objects.push((node as u32, obj)),
        }
        let Some(n) = self.nodes.get(node) else {
            return;
        };
        if n.children.is_empty() {
            return;
        }
        match v {
            Field::Value(Value::Array(items)) => {
                for (_, i, c) in &n.children {
                    if let Some(x) = i.and_then(|i| items.get(i)) {
                        self.fill(*c as usize, Field::Value(x), out);
                    }
                }
            }
            obj if !obj.is_object() => {}
            // An opened event's fields, by their slots (its times are written as text only
            // when the trie has them).
            obj if obj.is_open() => {
                for (slot, c) in &n.open_children {
                    if let Some(x) = obj.get_slot(*slot) {
                        self.fill(*c as usize, x, out);
                    }
                }
            }
            obj if n.children.len() > FORWARD_CHILDREN => {
                obj.for_each(|k, x| {
                    if let Some((_, _, c)) =
                        n.by_key.get(k).and_then(|i| n.children.get(*i as usize))
                    {
                        self.fill(*c as usize, x, out);
                    }
                });
            }
            obj => {
                for (k, _, c) in &n.children {
                    if let Some(x) = obj.get(k) {
                        self.fill(*c as usize, x, out);
                    }
                }
            }
        }
    }
}

impl FieldTable {
    /// Number of interned fields.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Interns a field known under `names` (alternatives, first present wins).
    pub(crate) fn intern(&mut self, mapping: &Mapping, names: &[String]) -> FieldId {
        if let Some(id) = self.index.get(names) {
            return *id;
        }
        if self.tries.len() != mapping.formats.len() {
            self.tries = mapping
                .formats
                .iter()
                .map(|f| f.exact_keys.then(PathTrie::new))
                .collect();
            self.keyword_nodes = mapping
                .formats
                .iter()
                .zip(self.tries.iter_mut())
                .map(|(f, t)| match t {
                    Some(t) => f.keywords.iter().map(|p| t.add(p)).collect(),
                    None => Box::default(),
                })
                .collect();
        }
        let per_format: Vec<Vec<JsonPath>> = (0..mapping.formats.len())
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
        let per_format_nodes = per_format
            .iter()
            .zip(self.tries.iter_mut())
            .map(|(paths, trie)| match trie {
                Some(t) => paths.iter().map(|p| t.add(p)).collect(),
                None => Box::default(),
            })
            .collect();
        let id = self.entries.len();
        self.entries.push(FieldEntry {
            per_format,
            per_format_nodes,
        });
        self.index.insert(names.to_vec(), id);
        id
    }
}

/// Nesting depth up to which keyword search walks an event (hostile input).
pub(crate) const MAX_KEYWORD_DEPTH: usize = 32;

/// One event as the matcher sees it, with the per-event caches of lower-cased values (so
/// a value many rules compare is lower-cased once).
pub(crate) struct EventView<'a> {
    pub(crate) event: Field<'a>,
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
    details: OnceCell<Option<Field<'a>>>,
    /// The format's trie, if it has one (exact keys), and every trie node's value in the
    /// event, resolved at the first field look-up.
    trie: Option<&'a PathTrie>,
    nodes: OnceCell<Resolved<'a>>,
}

/// The texts keyword searches look at, each with its lower-cased form.
pub(crate) type KeywordTexts<'a> = Vec<(&'a str, Rc<[u8]>)>;

impl<'a> EventView<'a> {
    /// A view of `event`, of format `fmt`.
    pub(crate) fn new(
        event: Field<'a>,
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
            trie: table.tries.get(fmt).and_then(Option::as_ref),
            nodes: OnceCell::new(),
        }
    }

    /// A view that resolves every field path by path (the reference the trie is tested
    /// against).
    #[cfg(test)]
    pub(crate) fn new_unindexed(
        event: Field<'a>,
        fmt: usize,
        table: &'a FieldTable,
        mapping: &'a Mapping,
    ) -> EventView<'a> {
        let mut v = EventView::new(event, fmt, table, mapping);
        v.trie = None;
        v
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
            self.keyword_roots(|v| collect_field(v, 0, &mut out));
            Rc::new(out)
        }))
    }

    /// Calls `f` with each value keyword searches walk: the values at the format's keyword
    /// paths, or the whole event when it has none.
    pub(crate) fn keyword_roots(&self, mut f: impl FnMut(Field<'a>)) {
        let paths = self
            .mapping
            .formats
            .get(self.fmt)
            .map(|f| f.keywords.as_slice())
            .unwrap_or(&[]);
        if paths.is_empty() {
            f(self.event);
            return;
        }
        if let Some(trie) = self.trie {
            let nodes = self.nodes.get_or_init(|| trie.resolve(self.event));
            if let Some(kw) = self.table.keyword_nodes.get(self.fmt) {
                if kw.len() == paths.len() {
                    kw.iter().filter_map(|n| nodes.field(*n)).for_each(f);
                    return;
                }
            }
        }
        for p in paths {
            if let Some(v) = self.get_field(p) {
                f(v);
            }
        }
    }

    /// The value of a field (first present candidate), resolved once per event.
    pub(crate) fn get(&self, id: FieldId) -> Option<&'a Value> {
        if let Some(trie) = self.trie {
            let nodes = self.nodes.get_or_init(|| trie.resolve(self.event));
            return self
                .table
                .entries
                .get(id)?
                .per_format_nodes
                .get(self.fmt)?
                .iter()
                .find_map(|n| nodes.value(*n));
        }
        if let Some(v) = self.values.borrow().find(id) {
            return v;
        }
        let v = self.resolve(id);
        self.values.borrow_mut().push(id, v);
        v
    }

    /// The value at a path of the event, with the format's key lookup.
    pub(crate) fn get_path(&self, p: &JsonPath) -> Option<&'a Value> {
        self.get_field(p).and_then(Field::value)
    }

    /// [`EventView::get_path`], an object of an opened event included.
    fn get_field(&self, p: &JsonPath) -> Option<Field<'a>> {
        if self.exact {
            // Most paths are under `details`: looked up once per event.
            if p.first() == Some("details") {
                let event = self.event;
                let details = *self.details.get_or_init(|| event.get("details"));
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

/// What [`PathTrie::resolve`] found of every trie node in an event: JSON values by node (a
/// table of one word per node, cleared for every event), and the few nodes that are objects
/// of an opened event (the event, its details) apart.
pub(crate) struct Resolved<'a> {
    values: Vec<Option<&'a Value>>,
    objects: Vec<(u32, Field<'a>)>,
}

impl<'a> Resolved<'a> {
    /// The JSON value of node `n`, if any.
    fn value(&self, n: u32) -> Option<&'a Value> {
        self.values.get(n as usize).copied().flatten()
    }

    /// What is at node `n`, if anything.
    fn field(&self, n: u32) -> Option<Field<'a>> {
        match self.value(n) {
            Some(v) => Some(Field::Value(v)),
            None => self.objects.iter().find(|(m, _)| *m == n).map(|(_, f)| *f),
        }
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

fn collect_field<'a>(v: Field<'a>, depth: usize, out: &mut KeywordTexts<'a>) {
    match v {
        Field::Value(v) => collect(v, depth, out),
        obj if depth <= MAX_KEYWORD_DEPTH => obj.for_each(|_, x| collect_field(x, depth + 1, out)),
        _ => {}
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
