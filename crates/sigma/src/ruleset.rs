//! [`SigmaRules`]: loading a rule set (files, directories, text), compiling every rule for
//! each log-source variant of the mapping, the index by log-source condition, and matching.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrodef_event::Node as Field;
use serde_json::Value;
use serde_yaml_ng::{Mapping as YamlMap, Value as Yaml};

use crate::correlation::rule::{self as corr_rule, CorrelationRule};
use crate::detection::{Commonness, Detection, DetectionCtx, Source};
use crate::document::{self, Document};
use crate::error::{CompileError, Error, LoadProblem, ProblemSeverity};
use crate::fields::{EventView, FieldId, FieldTable, ShortMap};
use crate::mapping::{LogSourceSpec, Mapping, Rename};
use crate::prefilter::{ClauseIds, Prefilter, PrefilterBuilder, Scan};
use crate::rule::{self, RuleInfo, RuleKind};

/// How rules are loaded: the field mapping and the `expand` placeholders.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The field mapping (default: the built-in one).
    pub mapping: Mapping,
    /// Values of `%placeholder%`s for the `expand` modifier.
    pub placeholders: HashMap<String, Vec<String>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            mapping: Mapping::builtin(),
            placeholders: HashMap::new(),
        }
    }
}

/// One rule compiled for one log-source variant.
#[derive(Debug, Clone)]
struct Variant {
    rule: usize,
    /// Formats it applies to (empty: all).
    formats: Vec<usize>,
    /// The log source's conditions.
    conds: Option<Detection>,
    det: Detection,
    /// The condition field and values it is indexed by.
    key: Option<(String, Vec<String>)>,
    /// Prefilter: ids of literals (in `SigmaRules::prefilter`) one of which the event must
    /// contain where the detection looks (`None`: no prefilter).
    lits: Option<Box<[ClauseIds]>>,
}

/// Per event format, the variants that apply to it: by the value of one condition field
/// (EventID, Channel...), lower-cased, and those with no indexed condition.
#[derive(Debug, Clone, Default)]
struct Index {
    by_field: Vec<(FieldId, ShortMap<String, Candidates>)>,
    always: Candidates,
}

/// A set of variants an event may match. Those with a prefilter are reached through the
/// literals of their first clause: the sources of those clauses are searched, and only the
/// variants one of whose first-clause literals was found are checked (not every variant's
/// clauses tested in turn).
#[derive(Debug, Clone, Default)]
struct Candidates {
    /// Variants with no prefilter: always checked.
    plain: Vec<usize>,
    /// The prefilter sources of the first clauses.
    sources: Vec<u32>,
    /// The first clauses' literals as bit-set words and masks (ascending words).
    words: Vec<(u32, u64)>,
    /// Literal id → the variants whose first clause has it.
    by_lit: ShortMap<u32, Vec<usize>>,
}

impl Candidates {
    fn new(variants: &[Variant], list: &[usize]) -> Candidates {
        let mut c = Candidates::default();
        let mut words: std::collections::BTreeMap<u32, u64> = Default::default();
        for &vi in list {
            let first = variants
                .get(vi)
                .and_then(|v| v.lits.as_deref())
                .and_then(<[ClauseIds]>::first);
            let Some(first) = first else {
                if !c.plain.contains(&vi) {
                    c.plain.push(vi);
                }
                continue;
            };
            for &id in first.ids() {
                *words.entry(id / 64).or_default() |= 1u64 << (id % 64);
                let l = c.by_lit.entry(id).or_default();
                if !l.contains(&vi) {
                    l.push(vi);
                }
            }
            for &si in first.sources() {
                if !c.sources.contains(&si) {
                    c.sources.push(si);
                }
            }
        }
        c.sources.sort_unstable();
        c.words = words.into_iter().collect();
        c
    }
}

/// A compiled Sigma rule set.
#[derive(Debug, Clone)]
pub struct SigmaRules {
    mapping: Arc<Mapping>,
    table: FieldTable,
    infos: Vec<RuleInfo>,
    variants: Vec<Variant>,
    /// One index per format of the mapping.
    index: Vec<Index>,
    /// Per detection rule, the field names' renames of each of its variants (to resolve
    /// correlation fields the same way).
    renames: Vec<Vec<BTreeMap<String, Rename>>>,
    pub(crate) correlations: Vec<CorrelationRule>,
    /// The literal prefilter's automata.
    prefilter: Prefilter,
}

/// A parsed but not yet compiled rule set.
struct Pending {
    detections: Vec<Document>,
    filters: Vec<Document>,
    correlations: Vec<Document>,
}

fn problem(doc: &Document, e: CompileError) -> LoadProblem {
    LoadProblem {
        path: doc.path.clone(),
        line: Some(doc.line_of(e.near.as_deref())),
        reason: match doc.str("title") {
            Some(t) => format!("rule `{t}`: {}", e.reason),
            None => e.reason,
        },
        severity: ProblemSeverity::Error,
    }
}

impl SigmaRules {
    /// Loads every `*.yml`/`*.yaml` file under `dir` (recursively, in path order; folders
    /// named `regression_data` hold test data, not rules, and are skipped) with the
    /// built-in mapping. Rules that fail to load are reported, never skipped silently.
    pub fn load_dir(dir: &Path) -> (SigmaRules, Vec<LoadProblem>) {
        SigmaRules::load_dir_with(dir, &LoadOptions::default())
    }

    /// [`SigmaRules::load_dir`] with options.
    pub fn load_dir_with(dir: &Path, opts: &LoadOptions) -> (SigmaRules, Vec<LoadProblem>) {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        if let Err(e) = rule_files(dir, &mut files, 0) {
            problems.push(e);
        }
        files.sort();
        let mut texts = Vec::new();
        for f in files {
            match std::fs::read(&f) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => texts.push((f, t)),
                    Err(e) => problems.push(LoadProblem {
                        path: f,
                        line: None,
                        reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
                        severity: ProblemSeverity::Error,
                    }),
                },
                Err(e) => problems.push(LoadProblem {
                    path: f,
                    line: None,
                    reason: e.to_string(),
                    severity: ProblemSeverity::Error,
                }),
            }
        }
        let (rules, more) = SigmaRules::from_texts(&texts, opts);
        problems.extend(more);
        (rules, problems)
    }

    /// Loads the rules of one YAML text; `origin` names it in problems and in
    /// [`RuleInfo::path`].
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(yaml: &str, origin: &str) -> (SigmaRules, Vec<LoadProblem>) {
        SigmaRules::from_texts(
            &[(PathBuf::from(origin), yaml.to_string())],
            &LoadOptions::default(),
        )
    }

    /// Loads several texts `(origin, yaml)` as one rule set (filters and correlations may
    /// refer to rules of any of them).
    pub fn from_texts(
        texts: &[(PathBuf, String)],
        opts: &LoadOptions,
    ) -> (SigmaRules, Vec<LoadProblem>) {
        let mut problems = Vec::new();
        let mut pending = Pending {
            detections: Vec::new(),
            filters: Vec::new(),
            correlations: Vec::new(),
        };
        for (path, text) in texts {
            let (docs, read_problems) = document::read_documents(path, text);
            problems.extend(read_problems.into_iter().map(|(line, reason)| LoadProblem {
                path: path.clone(),
                line,
                reason,
                severity: ProblemSeverity::Error,
            }));
            for d in docs {
                if d.map.contains_key("correlation") {
                    pending.correlations.push(d);
                } else if d.map.contains_key("filter") {
                    pending.filters.push(d);
                } else if d.map.contains_key("detection") {
                    pending.detections.push(d);
                } else {
                    problems.push(problem(
                        &d,
                        CompileError::new("document has no `detection`, `correlation` or `filter`"),
                    ));
                }
            }
        }
        let rules = SigmaRules::compile(pending, opts, &mut problems);
        (rules, problems)
    }

    fn compile(p: Pending, opts: &LoadOptions, problems: &mut Vec<LoadProblem>) -> SigmaRules {
        let mut rules = SigmaRules {
            mapping: Arc::new(opts.mapping.clone()),
            table: FieldTable::default(),
            infos: Vec::new(),
            variants: Vec::new(),
            index: Vec::new(),
            renames: Vec::new(),
            correlations: Vec::new(),
            prefilter: Prefilter::default(),
        };
        let filters: Vec<(Vec<String>, &Document)> = p
            .filters
            .iter()
            .filter_map(|d| match filter_targets(d) {
                Ok(t) => Some((t, d)),
                Err(e) => {
                    problems.push(problem(d, e));
                    None
                }
            })
            .collect();
        let mut seen_ids: HashMap<String, PathBuf> = HashMap::new();
        for doc in &p.detections {
            match rules.compile_detection_rule(doc, &filters, opts, problems) {
                Ok(()) => {
                    let info = rules.infos.last().map(|i| i.id.clone()).unwrap_or_default();
                    if let Some(prev) = seen_ids.insert(info.clone(), doc.path.clone()) {
                        problems.push(LoadProblem {
                            path: doc.path.clone(),
                            line: Some(doc.line_of(Some("id"))),
                            reason: format!("rule id {info} is also used by {}", prev.display()),
                            severity: ProblemSeverity::Warning,
                        });
                    }
                }
                Err(e) => problems.push(problem(doc, e)),
            }
        }
        rules.build_index();
        for doc in &p.correlations {
            match corr_rule::parse(doc, &mut rules) {
                Ok(c) => rules.correlations.push(c),
                Err(e) => problems.push(problem(doc, e)),
            }
        }
        corr_rule::mark_generate(&mut rules);
        rules
    }

    fn compile_detection_rule(
        &mut self,
        doc: &Document,
        filters: &[(Vec<String>, &Document)],
        opts: &LoadOptions,
        problems: &mut Vec<LoadProblem>,
    ) -> Result<(), CompileError> {
        let info = rule::info(doc, RuleKind::Detection)?;
        let detection = match doc.map.get("detection") {
            Some(Yaml::Mapping(m)) => m.clone(),
            _ => return Err(CompileError::near("detection", "`detection` must be a map")),
        };
        let my_filters: Vec<&Document> = filters
            .iter()
            .filter(|(targets, _)| {
                targets
                    .iter()
                    .any(|t| *t == info.id || Some(t) == info.name.as_ref() || *t == info.title)
            })
            .map(|(_, d)| *d)
            .collect();
        let specs: Vec<LogSourceSpec> = self
            .mapping
            .variants(&info.logsource.key())
            .into_iter()
            .cloned()
            .collect();
        let unmapped = specs.is_empty();
        let specs = if unmapped {
            vec![LogSourceSpec {
                key: Default::default(),
                conditions: Default::default(),
                fieldmappings: Default::default(),
                formats: Vec::new(),
            }]
        } else {
            specs
        };
        let rule_idx = self.infos.len();
        let mut variants = Vec::new();
        let mut renames = Vec::new();
        for spec in &specs {
            let det = self.compile_detection(&detection, &spec.fieldmappings, opts)?;
            let mut det = det;
            for f in &my_filters {
                let fmap = filter_detection(f)?;
                let fdet = self
                    .compile_detection(&fmap, &spec.fieldmappings, opts)
                    .map_err(|e| CompileError {
                        near: e.near,
                        reason: format!(
                            "filter `{}` ({}): {}",
                            f.str("title").unwrap_or("?"),
                            f.path.display(),
                            e.reason
                        ),
                    })?;
                det = det.and(fdet);
            }
            let conds = if spec.conditions.is_empty() {
                None
            } else {
                let mut m = YamlMap::new();
                let sel: YamlMap = spec
                    .conditions
                    .iter()
                    .map(|(k, v)| (Yaml::String(k.clone()), v.clone()))
                    .collect();
                m.insert(Yaml::String("logsource".into()), Yaml::Mapping(sel));
                m.insert(
                    Yaml::String("condition".into()),
                    Yaml::String("logsource".into()),
                );
                Some(self.compile_detection(&m, &BTreeMap::new(), opts)?)
            };
            let mut formats = Vec::new();
            for name in &spec.formats {
                formats.push(self.mapping.format_index(name).ok_or_else(|| {
                    CompileError::new(format!("mapping names an unknown format `{name}`"))
                })?);
            }
            variants.push(Variant {
                rule: rule_idx,
                formats,
                conds,
                det,
                key: index_key(&spec.conditions),
                lits: None,
            });
            renames.push(spec.fieldmappings.clone());
        }
        if unmapped {
            problems.push(LoadProblem {
                path: doc.path.clone(),
                line: Some(doc.line_of(Some("logsource"))),
                reason: format!(
                    "rule `{}`: log source `{}` has no mapping: the rule is evaluated on every event, with its fields looked up as named",
                    info.title, info.logsource
                ),
                severity: ProblemSeverity::Warning,
            });
        }
        self.infos.push(info);
        self.variants.extend(variants);
        self.renames.push(renames);
        Ok(())
    }

    fn compile_detection(
        &mut self,
        detection: &YamlMap,
        renames: &BTreeMap<String, Rename>,
        opts: &LoadOptions,
    ) -> Result<Detection, CompileError> {
        let mapping = Arc::clone(&self.mapping);
        let table = &mut self.table;
        let mut intern = |name: &str| -> FieldId {
            let names = renamed(renames, name);
            table.intern(&mapping, &names)
        };
        let mut ctx = DetectionCtx {
            placeholders: &opts.placeholders,
            field: &mut intern,
        };
        Detection::compile(detection, &mut ctx)
    }

    /// Interns a field of detection rule `rule` for every one of its variants' renames.
    pub(crate) fn rule_field(&mut self, rule: usize, name: &str) -> Vec<FieldId> {
        let mapping = Arc::clone(&self.mapping);
        let variants = self.renames.get(rule).cloned().unwrap_or_default();
        let mut ids: Vec<FieldId> = variants
            .iter()
            .map(|r| self.table.intern(&mapping, &renamed(r, name)))
            .collect();
        ids.dedup();
        ids
    }

    /// The text of a field in an event, resolved with the ids of [`Self::rule_field`].
    pub(crate) fn field_text<'e>(
        &self,
        event: impl Into<Field<'e>>,
        ids: &[FieldId],
    ) -> Option<String> {
        let event = event.into();
        let fmt = self.mapping.detect(event)?;
        let view = self.view(event, fmt);
        ids.iter().find_map(|id| {
            view.get(*id).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
        })
    }

    fn view<'a>(&'a self, event: Field<'a>, fmt: usize) -> EventView<'a> {
        EventView::new(event, fmt, &self.table, &self.mapping)
    }

    /// Builds the literal prefilter from every variant's detection requirement.
    fn build_prefilter(&mut self) {
        // First pass: how many variants need each literal (with no commonness known);
        // second pass: requirements preferring the literals few rules need.
        let mut common = Commonness::new();
        for v in &self.variants {
            let mut mine: Vec<(Source, Vec<u8>)> =
                v.det.requirement(&common).into_iter().flatten().collect();
            mine.sort();
            mine.dedup();
            for k in mine {
                *common.entry(k).or_default() += 1;
            }
        }
        let mut b = PrefilterBuilder::default();
        for v in &mut self.variants {
            v.lits = b.add(v.det.requirement(&common));
        }
        match b.build() {
            Some(p) => {
                for c in self
                    .variants
                    .iter_mut()
                    .flat_map(|v| v.lits.iter_mut().flatten())
                {
                    c.finish(&p);
                }
                self.prefilter = p;
            }
            // An automaton too large to build: no prefilter, every candidate is evaluated.
            None => self.variants.iter_mut().for_each(|v| v.lits = None),
        }
    }

    fn build_index(&mut self) {
        self.build_prefilter();
        let mapping = Arc::clone(&self.mapping);
        type Lists = (Vec<(FieldId, ShortMap<String, Vec<usize>>)>, Vec<usize>);
        let mut lists: Vec<Lists> = vec![Default::default(); mapping.formats.len()];
        for (vi, v) in self.variants.iter().enumerate() {
            let key = v
                .key
                .clone()
                .map(|(field, values)| (self.table.intern(&mapping, &[field]), values));
            for (fmt, (by_field, always)) in lists.iter_mut().enumerate() {
                if !v.formats.is_empty() && !v.formats.contains(&fmt) {
                    continue;
                }
                match &key {
                    Some((id, values)) => {
                        let pos = match by_field.iter().position(|(f, _)| f == id) {
                            Some(p) => p,
                            None => {
                                by_field.push((*id, ShortMap::default()));
                                by_field.len() - 1
                            }
                        };
                        for val in values {
                            let list = by_field[pos].1.entry(val.clone()).or_default();
                            if !list.contains(&vi) {
                                list.push(vi);
                            }
                        }
                    }
                    None => always.push(vi),
                }
            }
        }
        let variants = &self.variants;
        self.index = lists
            .into_iter()
            .map(|(by_field, always)| Index {
                by_field: by_field
                    .into_iter()
                    .map(|(f, buckets)| {
                        let b = buckets
                            .into_iter()
                            .map(|(k, list)| (k, Candidates::new(variants, &list)))
                            .collect();
                        (f, b)
                    })
                    .collect(),
                always: Candidates::new(variants, &always),
            })
            .collect();
    }

    /// The rules `event` matches (each once, in load order).
    pub fn matches(&self, event: &Value) -> Vec<&RuleInfo> {
        let mut out = Vec::new();
        self.for_each_match(event, |r| out.push(r));
        out
    }

    /// Calls `f` for every rule `event` matches (each once, in load order), without
    /// allocating for events that match nothing.
    pub fn for_each_match<'s, 'e>(
        &'s self,
        event: impl Into<Field<'e>>,
        mut f: impl FnMut(&'s RuleInfo),
    ) {
        let event = event.into();
        let Some(fmt) = self.mapping.detect(event) else {
            return;
        };
        let Some(index) = self.index.get(fmt) else {
            return;
        };
        let view = self.view(event, fmt);
        let mut scan = Scan::take(&self.prefilter, self.variants.len());
        let mut matched: Vec<usize> = Vec::new();
        let mut check = |scan: &mut Scan, vi: usize| {
            let Some(v) = self.variants.get(vi) else {
                return;
            };
            if matched.contains(&v.rule) || !scan.visit(vi) {
                return;
            }
            if let Some(clauses) = &v.lits {
                if !clauses.iter().all(|c| scan.any(&self.prefilter, c, &view)) {
                    return;
                }
            }
            if v.conds.as_ref().is_some_and(|c| !c.matches(&view)) {
                return;
            }
            if v.det.matches(&view) {
                matched.push(v.rule);
            }
        };
        let mut visit = |scan: &mut Scan, c: &Candidates| {
            c.plain.iter().for_each(|vi| check(scan, *vi));
            for &si in &c.sources {
                scan.search_source(&self.prefilter, si, &view);
            }
            // Checks search further sources, but the first-clause literals' sources were all
            // searched above (a literal has one source): their bits are final.
            for &(w, mask) in &c.words {
                let mut bits = scan.found_word(w as usize) & mask;
                while bits != 0 {
                    let lit = w * 64 + bits.trailing_zeros();
                    bits &= bits - 1;
                    if let Some(list) = c.by_lit.get(&lit) {
                        list.iter().for_each(|vi| check(scan, *vi));
                    }
                }
            }
        };
        for (field, buckets) in &index.by_field {
            let Some(value) = view.get(*field) else {
                continue;
            };
            let mut probe = |v: &Value| {
                if let Some(c) = bucket(buckets, v) {
                    visit(&mut scan, c);
                }
            };
            match value {
                Value::Array(items) => items.iter().for_each(&mut probe),
                other => probe(other),
            }
        }
        visit(&mut scan, &index.always);
        scan.put_back();
        matched.sort_unstable();
        for r in matched {
            if let Some(info) = self.infos.get(r) {
                f(info);
            }
        }
    }

    /// The rules `event` matches, every variant of the event's format evaluated (no index,
    /// no prefilter) with its fields resolved path by path: the reference of the fast paths.
    #[cfg(test)]
    pub(crate) fn matches_unindexed(&self, event: &Value) -> Vec<usize> {
        let event = Field::Value(event);
        let Some(fmt) = self.mapping.detect(event) else {
            return Vec::new();
        };
        let view = EventView::new_unindexed(event, fmt, &self.table, &self.mapping);
        let mut out: Vec<usize> = self
            .variants
            .iter()
            .filter(|v| v.formats.is_empty() || v.formats.contains(&fmt))
            .filter(|v| v.conds.as_ref().is_none_or(|c| c.matches(&view)) && v.det.matches(&view))
            .map(|v| v.rule)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The field table and mapping (tests).
    #[cfg(test)]
    pub(crate) fn table_and_mapping(&self) -> (&FieldTable, &Mapping) {
        (&self.table, &self.mapping)
    }

    /// The detection rules, in load order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// The correlation rules' metadata, in load order.
    pub fn correlation_rules(&self) -> impl Iterator<Item = &RuleInfo> {
        self.correlations.iter().map(|c| &c.info)
    }

    /// Number of detection rules.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether the set holds no rule at all.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty() && self.correlations.is_empty()
    }

    /// Index of a detection rule by id or name.
    pub(crate) fn rule_index(&self, reference: &str) -> Option<usize> {
        self.infos
            .iter()
            .position(|i| i.id == reference || i.name.as_deref() == Some(reference))
    }

    pub(crate) fn info_mut(&mut self, rule: usize) -> Option<&mut RuleInfo> {
        self.infos.get_mut(rule)
    }
}

/// The variants indexed under an event value (compared lower-cased; no allocation for
/// lower-case ASCII text and numbers).
fn bucket<'b>(buckets: &'b ShortMap<String, Candidates>, v: &Value) -> Option<&'b Candidates> {
    match v {
        Value::String(s) if !s.bytes().any(|b| b.is_ascii_uppercase()) && s.is_ascii() => {
            buckets.get(s.as_str())
        }
        Value::String(s) => buckets.get(&s.to_lowercase()),
        Value::Number(n) => {
            use std::io::Write;
            let mut buf = [0u8; 40];
            let mut cur = std::io::Cursor::new(&mut buf[..]);
            write!(cur, "{n}").ok()?;
            let len = cur.position() as usize;
            buckets.get(std::str::from_utf8(buf.get(..len)?).ok()?)
        }
        Value::Bool(b) => buckets.get(if *b { "true" } else { "false" }),
        _ => None,
    }
}

/// The candidate field names of `name` under a variant's renames.
fn renamed(renames: &BTreeMap<String, Rename>, name: &str) -> Vec<String> {
    renames
        .get(name)
        .or_else(|| {
            renames
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .map(Rename::names)
        .unwrap_or_else(|| vec![name.to_string()])
}

/// The condition field a variant is indexed by (EventID first) with its lower-cased values;
/// `None` when no condition is a plain value list.
fn index_key(conds: &BTreeMap<String, Yaml>) -> Option<(String, Vec<String>)> {
    let plain = |v: &Yaml| -> Option<Vec<String>> {
        let one = |x: &Yaml| match x {
            Yaml::String(s) if !s.contains(['*', '?', '\\']) => Some(s.to_lowercase()),
            Yaml::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match v {
            Yaml::Sequence(items) => items.iter().map(one).collect(),
            other => one(other).map(|s| vec![s]),
        }
    };
    let mut keys: Vec<&String> = conds.keys().filter(|k| !k.contains('|')).collect();
    keys.sort_by_key(|k| (k.as_str() != "EventID", k.to_string()));
    keys.into_iter()
        .find_map(|k| plain(&conds[k]).map(|v| (k.clone(), v)))
}

/// A filter's targets (`filter.rules`: ids or names).
fn filter_targets(d: &Document) -> Result<Vec<String>, CompileError> {
    let f = match d.map.get("filter") {
        Some(Yaml::Mapping(m)) => m,
        _ => return Err(CompileError::near("filter", "`filter` must be a map")),
    };
    let rules = match f.get("rules") {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => {
            return Err(CompileError::near(
                "rules",
                "a filter needs `rules`: the ids or names of the rules it applies to",
            ))
        }
    };
    filter_detection(d)?;
    Ok(rules)
}

/// A filter's selections and condition, as a detection map.
fn filter_detection(d: &Document) -> Result<YamlMap, CompileError> {
    match d.map.get("filter") {
        Some(Yaml::Mapping(m)) => {
            let mut m = m.clone();
            m.remove("rules");
            if !m.contains_key("condition") {
                return Err(CompileError::near("filter", "filter has no `condition`"));
            }
            Ok(m)
        }
        _ => Err(CompileError::near("filter", "`filter` must be a map")),
    }
}

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), LoadProblem> {
    const MAX_DEPTH: usize = 32;
    let io = |e: std::io::Error| LoadProblem {
        path: dir.to_path_buf(),
        line: None,
        reason: e.to_string(),
        severity: ProblemSeverity::Error,
    };
    if depth > MAX_DEPTH {
        return Ok(());
    }
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "regression_data" && !name.starts_with('.') {
                rule_files(&path, out, depth + 1)?;
            }
        } else if (name.ends_with(".yml") || name.ends_with(".yaml")) && name != "info.yml" {
            out.push(path);
        }
    }
    Ok(())
}

/// The mapping errors of [`LoadOptions`] construction from a file.
pub fn load_options(mapping_file: Option<&Path>) -> Result<LoadOptions, Error> {
    Ok(LoadOptions {
        mapping: match mapping_file {
            Some(p) => Mapping::from_file(p)?,
            None => Mapping::builtin(),
        },
        placeholders: HashMap::new(),
    })
}
