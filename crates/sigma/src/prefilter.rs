//! The literal prefilter: before a rule variant is evaluated, one of the literals its
//! detection needs (see [`Detection::requirement`]) must occur in the event, in the right
//! place (a field's value, or the keyword texts). Every source (field or keyword texts) has one
//! Aho-Corasick automaton over all rules' literals for it, run at most once per event and
//! only when a candidate set of the event (see `ruleset::Candidates`: its variants' first
//! clauses) or a candidate variant's further clause needs it; its hits are kept in a bit set,
//! so variants are reached through their found literals and rejecting one costs a few bit
//! tests, with no allocation.
//!
//! An ASCII text is searched with an ASCII-case-insensitive automaton (a superset of what
//! both case-insensitive and `cased` comparisons need); a non-ASCII text lets every literal
//! of its source through, so Unicode case folding never makes the prefilter wrong.

use std::cell::RefCell;
use std::collections::HashMap;

use aho_corasick::automaton::Automaton;
use aho_corasick::{dfa, AhoCorasick, Anchored, MatchKind};
use serde_json::Value;

use crate::detection::{Clause, Requirement, Source};
use crate::fields::{EventView, MAX_KEYWORD_DEPTH};

/// Most literals of one source compiled to a DFA.
const DFA_LITERALS: usize = 2000;

/// One source's automaton.
#[derive(Debug, Clone)]
struct SourceAc {
    source: Source,
    ac: Matcher,
    /// Automaton pattern index → literal id.
    ids: Vec<u32>,
    /// A byte no literal of the source contains (and no ASCII text does): the source's
    /// texts joined with it are searched in one pass, no match spanning two texts. `None`:
    /// each text is searched on its own.
    sep: Option<u8>,
}

/// A source's automaton: a DFA stepped byte by byte here (no per-search set-up, no
/// iterator), or the crate's choice when a DFA would be too large.
#[derive(Debug, Clone)]
enum Matcher {
    Dfa(Box<dfa::DFA>),
    Other(AhoCorasick),
}

/// A byte of 0x80..=0xFF that none of `lits` contains.
fn separator<'l>(lits: impl Iterator<Item = &'l [u8]>) -> Option<u8> {
    let mut used = [false; 256];
    for l in lits {
        for b in l {
            used[usize::from(*b)] = true;
        }
    }
    (0x80u8..=0xFF).find(|b| !used[usize::from(*b)])
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
            let dfa = (lits.len() <= DFA_LITERALS).then(|| {
                dfa::DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .prefilter(false)
                    .build(lits.iter().map(|(_, l)| l))
            });
            let ac = match dfa {
                Some(Ok(d)) => Matcher::Dfa(Box::new(d)),
                _ => Matcher::Other(
                    AhoCorasick::builder()
                        .match_kind(MatchKind::Standard)
                        .ascii_case_insensitive(true)
                        .build(lits.iter().map(|(_, l)| l))
                        .ok()?,
                ),
            };
            for (id, _) in &lits {
                lit_source[*id as usize] = si as u32;
            }
            let sep = separator(lits.iter().map(|(_, l)| l.as_slice()));
            sources.push(SourceAc {
                source,
                ac,
                ids: lits.into_iter().map(|(id, _)| id).collect(),
                sep,
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
    /// The clause's literal ids.
    pub(crate) fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The sources its literals are looked for in (after [`ClauseIds::finish`]).
    pub(crate) fn sources(&self) -> &[u32] {
        &self.sources
    }

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

/// Per-event state: which sources were searched, which literals were found and which
/// variants were checked.
#[derive(Default)]
pub(crate) struct Scan {
    scanned: Vec<u64>,
    found: Vec<u64>,
    visited: Vec<u64>,
    /// The texts of the source being searched.
    texts: Texts,
}

/// Where a source's texts go: the automaton directly, or a buffer joining them.
trait Sink {
    /// One text (any bytes: a non-ASCII text lets every literal of the source through).
    fn text(&mut self, s: &[u8]);
}

/// The texts of one source (ASCII only: a non-ASCII text lets every literal through),
/// joined in one buffer with `sep` (see [`SourceAc::sep`]).
#[derive(Default)]
struct Texts {
    buf: Vec<u8>,
    /// Where each text ends in `buf`.
    ends: Vec<usize>,
    non_ascii: bool,
    sep: Option<u8>,
}

impl Texts {
    fn clear(&mut self, sep: Option<u8>) {
        self.buf.clear();
        self.ends.clear();
        self.non_ascii = false;
        self.sep = sep;
    }
}

impl Sink for Texts {
    fn text(&mut self, s: &[u8]) {
        if self.non_ascii {
            return;
        }
        if !s.is_ascii() {
            self.non_ascii = true;
            return;
        }
        if let (Some(b), false) = (self.sep, self.ends.is_empty()) {
            self.buf.push(b);
        }
        self.buf.extend_from_slice(s);
        self.ends.push(self.buf.len());
    }
}

/// A DFA run over a source's texts one by one (from the start state at each text: no match
/// spans two texts), setting the found literals' bits; a non-ASCII text ends it and lets
/// every literal through.
struct DfaRun<'s> {
    dfa: &'s dfa::DFA,
    start: aho_corasick::automaton::StateID,
    ids: &'s [u32],
    found: &'s mut Vec<u64>,
    /// Whether a byte of 0x80 or above is a non-ASCII text (texts fed one by one), not a
    /// separator of texts already checked.
    check_ascii: bool,
    non_ascii: bool,
}

impl<'s> DfaRun<'s> {
    /// A run of `src`'s DFA setting bits in `found`; `None` if the DFA has no unanchored start.
    fn new(src: &'s SourceAc, found: &'s mut Vec<u64>, check_ascii: bool) -> Option<DfaRun<'s>> {
        let Matcher::Dfa(dfa) = &src.ac else {
            return None;
        };
        let start = dfa.start_state(Anchored::No).ok()?;
        Some(DfaRun {
            dfa,
            start,
            ids: &src.ids,
            found,
            check_ascii,
            non_ascii: false,
        })
    }

    fn report(&mut self, sid: aho_corasick::automaton::StateID) {
        for i in 0..self.dfa.match_len(sid) {
            let p = self.dfa.match_pattern(sid, i).as_usize();
            if let Some(&id) = self.ids.get(p) {
                set(self.found, id as usize);
            }
        }
    }
}

impl Sink for DfaRun<'_> {
    fn text(&mut self, s: &[u8]) {
        if self.non_ascii {
            return;
        }
        let d = self.dfa;
        let mut sid = self.start;
        if d.is_match(sid) {
            self.report(sid);
        }
        for &b in s {
            if b >= 0x80 && self.check_ascii {
                self.non_ascii = true;
                return;
            }
            sid = d.next_state(Anchored::No, sid, b);
            if d.is_special(sid) {
                if d.is_dead(sid) {
                    break;
                }
                if d.is_match(sid) {
                    self.report(sid);
                }
            }
        }
    }
}

/// A scalar field value as the evaluation sees it (numbers and booleans as text).
fn scalar(sink: &mut impl Sink, v: &Value) {
    match v {
        Value::String(s) => sink.text(s.as_bytes()),
        Value::Bool(b) => sink.text(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            use std::io::Write;
            let mut buf = [0u8; 40];
            let mut cur = std::io::Cursor::new(&mut buf[..]);
            if write!(cur, "{n}").is_ok() {
                let len = cur.position() as usize;
                if let Some(t) = buf.get(..len) {
                    sink.text(t);
                }
            } else {
                sink.text(n.to_string().as_bytes());
            }
        }
        _ => {}
    }
}

/// [`walk`] from a field of an event (an object of an opened event is not a JSON value).
fn walk_field(sink: &mut impl Sink, v: ferrodef_event::Node<'_>, depth: usize) {
    match v {
        ferrodef_event::Node::Value(v) => walk(sink, v, depth),
        obj if depth <= MAX_KEYWORD_DEPTH => obj.for_each(|_, x| walk_field(sink, x, depth + 1)),
        _ => {}
    }
}

/// The keyword texts, walked as [`EventView::keyword_texts`] collects them.
fn walk(sink: &mut impl Sink, v: &Value, depth: usize) {
    if depth > MAX_KEYWORD_DEPTH {
        return;
    }
    match v {
        Value::String(s) => sink.text(s.as_bytes()),
        Value::Array(items) => items.iter().for_each(|i| walk(sink, i, depth + 1)),
        Value::Object(map) => map.values().for_each(|i| walk(sink, i, depth + 1)),
        _ => {}
    }
}

/// Feeds a source's texts in `view` to `sink`.
fn feed(sink: &mut impl Sink, source: Source, view: &EventView<'_>) {
    match source {
        Source::Field(f) => match view.get(f) {
            Some(Value::Array(items)) => items.iter().for_each(|i| scalar(sink, i)),
            Some(v) => scalar(sink, v),
            None => {}
        },
        Source::Keywords => view.keyword_roots(|v| walk_field(sink, v, 0)),
    }
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
    pub(crate) fn take(pf: &Prefilter, variants: usize) -> Scan {
        let mut s = SCRATCH.with(|c| std::mem::take(&mut *c.borrow_mut()));
        s.scanned.clear();
        s.scanned.resize(pf.sources.len().div_ceil(64), 0);
        s.found.clear();
        s.found.resize(pf.lit_source.len().div_ceil(64), 0);
        s.visited.clear();
        s.visited.resize(variants.div_ceil(64), 0);
        s
    }

    /// Marks variant `vi` checked; false if it already was.
    pub(crate) fn visit(&mut self, vi: usize) -> bool {
        if test(&self.visited, vi) {
            return false;
        }
        set(&mut self.visited, vi);
        true
    }

    /// Word `w` of the found-literal bit set (literal `w * 64 + bit`).
    pub(crate) fn found_word(&self, w: usize) -> u64 {
        self.found.get(w).copied().unwrap_or(0)
    }

    /// Searches source `si` (if not yet searched for this event).
    pub(crate) fn search_source(&mut self, pf: &Prefilter, si: u32, view: &EventView<'_>) {
        let si = si as usize;
        if !test(&self.scanned, si) {
            set(&mut self.scanned, si);
            if let Some(src) = pf.sources.get(si) {
                self.search(src, view);
            }
        }
    }

    /// Gives the state back for the thread's next event.
    pub(crate) fn put_back(self) {
        SCRATCH.with(|c| *c.borrow_mut() = self);
    }

    /// Whether one of the clause's literals occurs in its source (searching sources lazily).
    pub(crate) fn any(&mut self, pf: &Prefilter, c: &ClauseIds, view: &EventView<'_>) -> bool {
        for &si in c.sources.iter() {
            self.search_source(pf, si, view);
        }
        c.words
            .iter()
            .any(|&(w, m)| self.found.get(w as usize).is_some_and(|f| f & m != 0))
    }

    #[inline(never)]
    fn search(&mut self, src: &SourceAc, view: &EventView<'_>) {
        if let Some(mut run) = DfaRun::new(src, &mut self.found, true) {
            feed(&mut run, src.source, view);
            if run.non_ascii {
                self.all(src);
            }
            return;
        }
        let mut texts = std::mem::take(&mut self.texts);
        texts.clear(src.sep);
        feed(&mut texts, src.source, view);
        self.search_texts(src, &texts);
        self.texts = texts;
    }

    /// Lets every literal of `src` through.
    fn all(&mut self, src: &SourceAc) {
        for &id in &src.ids {
            set(&mut self.found, id as usize);
        }
    }

    /// Sets the bits of the literals found in `texts`.
    fn search_texts(&mut self, src: &SourceAc, texts: &Texts) {
        if texts.non_ascii {
            // Case-insensitive comparisons of non-ASCII text follow Unicode case rules (a
            // Kelvin sign matches `k`): such a text lets every literal of its source through.
            self.all(src);
        } else if src.sep.is_some() {
            if !texts.ends.is_empty() {
                self.hits(src, &texts.buf);
            }
        } else {
            let mut start = 0;
            for &end in &texts.ends {
                if let Some(t) = texts.buf.get(start..end) {
                    self.hits(src, t);
                }
                start = end;
            }
        }
    }

    fn hits(&mut self, src: &SourceAc, hay: &[u8]) {
        match &src.ac {
            Matcher::Dfa(_) => {
                // Every pattern of every match state passed: what an overlapping search
                // reports (a standard-semantics match state lists every pattern ending there).
                if let Some(mut run) = DfaRun::new(src, &mut self.found, false) {
                    run.text(hay);
                }
            }
            Matcher::Other(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    if let Some(&id) = src.ids.get(m.pattern().as_usize()) {
                        set(&mut self.found, id as usize);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prefilter(lits: &[&[u8]]) -> Prefilter {
        let mut b = PrefilterBuilder::default();
        let clause: Clause = lits
            .iter()
            .map(|l| (Source::Keywords, l.to_vec()))
            .collect();
        assert!(b.add(vec![clause]).is_some());
        match b.build() {
            Some(p) => p,
            None => panic!("the automaton builds"),
        }
    }

    /// The literals (by text, sorted) whose bits `scan` has set.
    fn found_literals(scan: &Scan, src: &SourceAc, lits: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = src
            .ids
            .iter()
            .zip(lits)
            .filter(|(id, _)| test(&scan.found, **id as usize))
            .map(|(_, l)| l.to_vec())
            .collect();
        out.sort();
        out
    }

    /// The found literals (by text) of one search of `v`'s texts.
    fn found(pf: &Prefilter, src: &SourceAc, v: &Value, lits: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut scan = Scan::take(pf, 0);
        let mut texts = Texts::default();
        texts.clear(src.sep);
        walk(&mut texts, v, 0);
        scan.search_texts(src, &texts);
        found_literals(&scan, src, lits)
    }

    /// The found literals of a DFA run fed the texts one by one (as events are searched).
    fn direct(pf: &Prefilter, src: &SourceAc, v: &Value, lits: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut scan = Scan::take(pf, 0);
        let Some(mut run) = DfaRun::new(src, &mut scan.found, true) else {
            panic!("a DFA with an unanchored start");
        };
        walk(&mut run, v, 0);
        if run.non_ascii {
            scan.all(src);
        }
        found_literals(&scan, src, lits)
    }

    #[test]
    fn joined_texts_find_what_each_text_finds() {
        let lits: [&[u8]; 9] = [
            b"passwd", b"/bin/sh", b"a", b"ab", b"ba", b"4444", b"true", b"xyz\\", b"-e",
        ];
        let pf = prefilter(&lits);
        let src = &pf.sources[0];
        assert!(src.sep.is_some());
        let mut per_text = src.clone();
        per_text.sep = None;
        let events = [
            json!({"s": "cat /etc/PASSWD"}),
            json!({"s": "a", "t": "b"}),
            json!({"s": "xb", "t": "az"}),
            json!({"s": ["nc", "-E", "/BIN/SH", 4444, true], "n": {"deep": ["ab"]}}),
            json!({"s": "4444 true", "x": 4444, "b": true}),
            json!({"s": "XYZ\\\\"}),
            json!({"s": "", "t": ""}),
            json!({}),
            json!({"s": "Ärger a", "t": "passwd"}),
            json!({"s": "\u{212A}elvin"}),
        ];
        for e in &events {
            let joined = found(&pf, src, e, &lits);
            let each = found(&pf, &per_text, e, &lits);
            assert_eq!(joined, each, "{e}");
            assert_eq!(direct(&pf, src, e, &lits), joined, "{e}");
            // The reference: a literal is found when a text contains it up to ASCII case;
            // a non-ASCII text lets every literal through.
            let mut texts = Vec::new();
            collect_texts(e, &mut texts);
            let mut want: Vec<Vec<u8>> = if texts.iter().any(|t| !t.is_ascii()) {
                lits.iter().map(|l| l.to_vec()).collect()
            } else {
                lits.iter()
                    .filter(|l| {
                        texts.iter().any(|t| {
                            t.as_bytes()
                                .windows(l.len())
                                .any(|w| w.eq_ignore_ascii_case(l))
                        })
                    })
                    .map(|l| l.to_vec())
                    .collect()
            };
            want.sort();
            assert_eq!(joined, want, "{e}");
        }
    }

    fn collect_texts(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| collect_texts(i, out)),
            Value::Object(m) => m.values().for_each(|i| collect_texts(i, out)),
            _ => {}
        }
    }

    #[test]
    fn field_values_as_text_joined_or_not() {
        let lits: [&[u8]; 5] = [b"4444", b"1.5", b"true", b"false", b"-1"];
        let pf = prefilter(&lits);
        let src = &pf.sources[0];
        let mut per_text = src.clone();
        per_text.sep = None;
        for v in [
            json!([4444, 1.5, true]),
            json!(-1),
            json!(false),
            json!(["x", 44, 44]),
            json!([null, {"a": "4444"}]),
        ] {
            let run = |s: &SourceAc| {
                let mut scan = Scan::take(&pf, 0);
                let mut texts = Texts::default();
                texts.clear(s.sep);
                match &v {
                    Value::Array(items) => items.iter().for_each(|i| scalar(&mut texts, i)),
                    other => scalar(&mut texts, other),
                }
                scan.search_texts(s, &texts);
                scan.found
            };
            assert_eq!(run(src), run(&per_text), "{v}");
        }
        let mut scan = Scan::take(&pf, 0);
        let mut texts = Texts::default();
        texts.clear(src.sep);
        scalar(&mut texts, &json!(4444));
        scalar(&mut texts, &json!(true));
        scan.search_texts(src, &texts);
        let hits: Vec<&[u8]> = src
            .ids
            .iter()
            .zip(lits)
            .filter(|(id, _)| test(&scan.found, **id as usize))
            .map(|(_, l)| l)
            .collect();
        assert_eq!(hits, vec![&b"4444"[..], &b"true"[..]]);
    }

    #[test]
    fn stepped_dfa_finds_what_the_overlapping_search_finds() {
        let lits: [&[u8]; 12] = [
            b"a", b"ab", b"abc", b"bc", b"c", b"cab", b"bca", b"aa", b"/bin/", b"in/s", b"n/sh",
            b"SH",
        ];
        let pf = prefilter(&lits);
        let src = &pf.sources[0];
        assert!(matches!(src.ac, Matcher::Dfa(_)));
        let other = SourceAc {
            ac: match AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .build(lits)
            {
                Ok(ac) => Matcher::Other(ac),
                Err(e) => panic!("{e}"),
            },
            ..src.clone()
        };
        // Every text over a small alphabet up to length 4, and a few longer ones.
        let alphabet = [b'a', b'B', b'c', b'/', b'x'];
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4u32 {
            for n in 0..alphabet.len().pow(len) {
                let mut t = Vec::new();
                let mut k = n;
                for _ in 0..len {
                    t.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                texts.push(t);
            }
        }
        texts.push(b"/usr/bin/sh -c 'cabcab' /BIN/SH".to_vec());
        texts.push(b"aaaaaaaaabcabcabc".to_vec());
        for t in &texts {
            let run = |s: &SourceAc| {
                let mut scan = Scan::take(&pf, 0);
                scan.hits(s, t);
                scan.found
            };
            assert_eq!(run(src), run(&other), "{}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn no_free_byte_means_no_separator() {
        let all: Vec<u8> = (0x80u8..=0xFF).collect();
        assert_eq!(separator([all.as_slice()].into_iter()), None);
        assert_eq!(separator([&b"abc"[..]].into_iter()), Some(0x80));
        assert_eq!(separator([&[0x80u8, 0x81][..]].into_iter()), Some(0x82));
    }
}
