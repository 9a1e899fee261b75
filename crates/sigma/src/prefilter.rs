//! The literal prefilter: before a rule variant is evaluated, one of the literals its
//! detection needs (see [`Detection::requirement`]) must occur in the event, in the right
//! place (a field's value, or the keyword texts). Every source (field or keyword texts) has one
//! Aho-Corasick automaton over all rules' literals for it, run at most once per event and
//! only when a candidate variant asks; its hits are kept in a bit set, so rejecting a rule
//! costs a few bit tests and no allocation.
//!
//! An ASCII text is searched with an ASCII-case-insensitive automaton (a superset of what
//! both case-insensitive and `cased` comparisons need); a non-ASCII text lets every literal
//! of its source through, so Unicode case folding never makes the prefilter wrong.

use std::cell::RefCell;
use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde_json::Value;

use crate::detection::{Clause, Requirement, Source};
use crate::fields::{EventView, MAX_KEYWORD_DEPTH};

/// Most literals of one source compiled to a DFA.
const DFA_LITERALS: usize = 2000;

/// One source's automaton.
#[derive(Debug, Clone)]
struct SourceAc {
    source: Source,
    ac: AhoCorasick,
    /// Automaton pattern index → literal id.
    ids: Vec<u32>,
}

/// The automata of every source, built once per rule set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prefilter {
    sources: Vec<SourceAc>,
    /// Literal id → index into `sources`.
    lit_source: Vec<u32>,
}

/// A literal with its id.
type IdLit = (u32, Vec<u8>);

/// Collects literals while rules are compiled.
#[derive(Default)]
pub(crate) struct PrefilterBuilder {
    ids: HashMap<(Source, Vec<u8>), u32>,
    lits: Vec<(Source, Vec<u8>)>,
}

impl PrefilterBuilder {
    /// Registers a requirement; returns its clauses (`None`: no clause). Literal ids are
    /// final only after [`PrefilterBuilder::build`], which gives each clause its sources.
    pub(crate) fn add(&mut self, req: Requirement) -> Option<Box<[ClauseIds]>> {
        let clauses: Vec<ClauseIds> = req
            .into_iter()
            .map(|c| ClauseIds {
                ids: self.clause(c),
                sources: Box::new([]),
                words: Box::new([]),
            })
            .collect();
        (!clauses.is_empty()).then(|| clauses.into_boxed_slice())
    }

    /// Registers one clause; returns its literal ids (sorted, deduplicated).
    fn clause(&mut self, c: Clause) -> Box<[u32]> {
        let mut out: Vec<u32> = c
            .into_iter()
            .map(|key| {
                let next = self.lits.len() as u32;
                *self.ids.entry(key.clone()).or_insert_with(|| {
                    self.lits.push(key);
                    next
                })
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out.into_boxed_slice()
    }

    /// Builds the automata; `None` when one cannot be built (then no prefilter is used).
    pub(crate) fn build(self) -> Option<Prefilter> {
        let mut by_source: Vec<(Source, Vec<IdLit>)> = Vec::new();
        for (id, (src, lit)) in self.lits.into_iter().enumerate() {
            match by_source.iter_mut().find(|(s, _)| *s == src) {
                Some((_, v)) => v.push((id as u32, lit)),
                None => by_source.push((src, vec![(id as u32, lit)])),
            }
        }
        let mut lit_source = vec![0u32; self.ids.len()];
        let mut sources = Vec::with_capacity(by_source.len());
        for (si, (source, lits)) in by_source.into_iter().enumerate() {
            // A DFA searches fastest but its memory grows with the literals: up to
            // `DFA_LITERALS` literals a DFA, beyond (or if it cannot be built) the crate's
            // choice (a contiguous NFA).
            let mut builder = AhoCorasick::builder();
            builder
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true);
            let dfa = (lits.len() <= DFA_LITERALS).then(|| {
                builder
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(lits.iter().map(|(_, l)| l))
            });
            let ac = match dfa {
                Some(Ok(ac)) => ac,
                _ => builder.kind(None).build(lits.iter().map(|(_, l)| l)).ok()?,
            };
            for (id, _) in &lits {
                lit_source[*id as usize] = si as u32;
            }
            sources.push(SourceAc {
                source,
                ac,
                ids: lits.into_iter().map(|(id, _)| id).collect(),
            });
        }
        Some(Prefilter {
            sources,
            lit_source,
        })
    }
}

/// One clause of a variant's requirement: its literal ids, the sources they are looked for in
/// and, for the test, the bit-set words and masks of its literals.
#[derive(Debug, Clone)]
pub(crate) struct ClauseIds {
    ids: Box<[u32]>,
    sources: Box<[u32]>,
    words: Box<[(u32, u64)]>,
}

impl ClauseIds {
    /// Fills in the sources and bit-set words (after the literals' sources are known).
    pub(crate) fn finish(&mut self, pf: &Prefilter) {
        let mut sources: Vec<u32> = self
            .ids
            .iter()
            .filter_map(|id| pf.lit_source.get(*id as usize).copied())
            .collect();
        sources.sort_unstable();
        sources.dedup();
        self.sources = sources.into_boxed_slice();
        let mut words: Vec<(u32, u64)> = Vec::new();
        for &id in self.ids.iter() {
            let (w, bit) = (id / 64, 1u64 << (id % 64));
            match words.last_mut() {
                Some((lw, m)) if *lw == w => *m |= bit,
                _ => words.push((w, bit)),
            }
        }
        self.words = words.into_boxed_slice();
    }
}

/// Per-event state: which sources were searched and which literals were found.
#[derive(Default)]
pub(crate) struct Scan {
    scanned: Vec<u64>,
    found: Vec<u64>,
}

thread_local! {
    /// Reused between events of a thread (taken out while in use, so re-entrant calls work).
    static SCRATCH: RefCell<Scan> = RefCell::new(Scan::default());
}

fn test(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

impl Scan {
    /// The thread's scan state, cleared for a new event of `pf`.
    pub(crate) fn take(pf: &Prefilter) -> Scan {
        let mut s = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
        s.scanned.clear();
        s.scanned.resize(pf.sources.len().div_ceil(64), 0);
        s.found.clear();
        s.found.resize(pf.lit_source.len().div_ceil(64), 0);
        s
    }

    /// Gives the state back for the thread's next event.
    pub(crate) fn put_back(self) {
        SCRATCH.with(|c| *c.borrow_mut() = self);
    }

    /// Whether one of the clause's literals occurs in its source (searching sources lazily).
    pub(crate) fn any(&mut self, pf: &Prefilter, c: &ClauseIds, view: &EventView<'_>) -> bool {
        for &si in c.sources.iter() {
            let si = si as usize;
            if !test(&self.scanned, si) {
                set(&mut self.scanned, si);
                if let Some(src) = pf.sources.get(si) {
                    self.search(src, view);
                }
            }
        }
        c.words
            .iter()
            .any(|&(w, m)| self.found.get(w as usize).is_some_and(|f| f & m != 0))
    }

    fn search(&mut self, src: &SourceAc, view: &EventView<'_>) {
        match src.source {
            Source::Field(f) => match view.get(f) {
                Some(Value::Array(items)) => {
                    for i in items {
                        self.scalar(src, i);
                    }
                }
                Some(v) => self.scalar(src, v),
                None => {}
            },
            Source::Keywords => {
                let paths = view
                    .mapping
                    .formats
                    .get(view.fmt)
                    .map(|f| f.keywords.as_slice())
                    .unwrap_or(&[]);
                if paths.is_empty() {
                    self.walk(src, view.event, 0);
                } else {
                    for p in paths {
                        if let Some(v) = view.get_path(p) {
                            self.walk(src, v, 0);
                        }
                    }
                }
            }
        }
    }

    /// The keyword texts, walked as [`EventView::keyword_texts`] collects them.
    fn walk(&mut self, src: &SourceAc, v: &Value, depth: usize) {
        if depth > MAX_KEYWORD_DEPTH {
            return;
        }
        match v {
            Value::String(s) => self.text(src, s),
            Value::Array(items) => items.iter().for_each(|i| self.walk(src, i, depth + 1)),
            Value::Object(map) => map.values().for_each(|i| self.walk(src, i, depth + 1)),
            _ => {}
        }
    }

    /// A scalar field value as the evaluation sees it (numbers and booleans as text).
    fn scalar(&mut self, src: &SourceAc, v: &Value) {
        match v {
            Value::String(s) => self.text(src, s),
            Value::Bool(b) => self.text(src, if *b { "true" } else { "false" }),
            Value::Number(n) => {
                use std::io::Write;
                let mut buf = [0u8; 40];
                let mut cur = std::io::Cursor::new(&mut buf[..]);
                if write!(cur, "{n}").is_ok() {
                    let len = cur.position() as usize;
                    if let Ok(t) = std::str::from_utf8(&buf[..len]) {
                        self.text(src, t);
                    }
                } else {
                    self.text(src, &n.to_string());
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, src: &SourceAc, s: &str) {
        if s.is_ascii() {
            self.hits(src, s.as_bytes());
        } else {
            // Case-insensitive comparisons of non-ASCII text follow Unicode case rules (a
            // Kelvin sign matches `k`): such a text lets every literal of its source through.
            for &id in &src.ids {
                set(&mut self.found, id as usize);
            }
        }
    }

    fn hits(&mut self, src: &SourceAc, hay: &[u8]) {
        for m in src.ac.find_overlapping_iter(hay) {
            if let Some(&id) = src.ids.get(m.pattern().as_usize()) {
                set(&mut self.found, id as usize);
            }
        }
    }
}
