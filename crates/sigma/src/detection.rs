//! A rule's `detection` block compiled for one log-source variant: named selections
//! (maps AND, lists OR, keyword lists) and the condition over them.

use std::collections::HashMap;

use serde_json::Value;
use serde_yaml_ng::{Mapping as YamlMap, Value as Yaml};

use crate::condition::{self, Cond, Quantity};
use crate::error::CompileError;
use crate::fields::{EventView, FieldId};
use crate::values::{self, ValueCtx, ValueSet};

/// One `field|modifiers: values` item (`field` `None`: a keyword item, `|all: [...]`).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    field: Option<FieldId>,
    values: ValueSet,
}

/// A named selection.
#[derive(Debug, Clone)]
pub(crate) enum Selection {
    /// A map: every item matches.
    And(Vec<Item>),
    /// A list of maps (or mixed): any matches.
    Or(Vec<Selection>),
    /// A list of plain values: keyword search.
    Keywords(ValueSet),
}

/// The compiled condition, identifiers resolved to selection indexes.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Sel(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    AtLeast(usize, Vec<usize>),
    /// Always true / false (`all of` / `1 of` an empty set of selections).
    Const(bool),
}

/// A compiled detection.
#[derive(Debug, Clone)]
pub(crate) struct Detection {
    selections: Vec<Selection>,
    expr: Expr,
}

/// Compile-time context for a detection.
pub(crate) struct DetectionCtx<'a> {
    pub(crate) placeholders: &'a HashMap<String, Vec<String>>,
    /// Interns a Sigma field (applying the variant's renames).
    pub(crate) field: &'a mut dyn FnMut(&str) -> FieldId,
}

/// Keys of `detection` that are not selections.
const RESERVED: [&str; 2] = ["condition", "timeframe"];

impl Detection {
    /// Compiles a `detection` map. `conditions` overrides the map's own `condition`
    /// (used for filters' extra conditions).
    pub(crate) fn compile(
        detection: &YamlMap,
        ctx: &mut DetectionCtx<'_>,
    ) -> Result<Detection, CompileError> {
        let mut names = Vec::new();
        let mut selections = Vec::new();
        for (k, v) in detection {
            let Some(name) = k.as_str() else {
                return Err(CompileError::new("a detection key is not a string"));
            };
            if RESERVED.contains(&name) {
                continue;
            }
            selections.push(compile_selection(name, v, ctx, 0)?);
            names.push(name.to_string());
        }
        let cond_value = detection
            .get("condition")
            .ok_or_else(|| CompileError::near("detection", "detection has no `condition`"))?;
        let conds: Vec<String> = match cond_value {
            Yaml::String(s) => vec![s.clone()],
            Yaml::Sequence(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| CompileError::near("condition", "a condition is not a string"))?,
            _ => return Err(CompileError::near("condition", "condition is not a string")),
        };
        let mut exprs = Vec::new();
        for c in &conds {
            let parsed = condition::parse(c).map_err(|e| CompileError::near("condition", e))?;
            exprs.push(resolve(&parsed, &names)?);
        }
        // Several conditions (a list) are alternatives.
        let expr = if exprs.len() == 1 {
            exprs.remove(0)
        } else {
            Expr::Or(exprs)
        };
        Ok(Detection { selections, expr })
    }

    /// Whether the event matches.
    pub(crate) fn matches(&self, view: &EventView<'_>) -> bool {
        self.eval(&self.expr, view)
    }

    fn eval(&self, e: &Expr, view: &EventView<'_>) -> bool {
        match e {
            Expr::Sel(i) => self.selections.get(*i).is_some_and(|s| s.matches(view)),
            Expr::Not(x) => !self.eval(x, view),
            Expr::And(xs) => xs.iter().all(|x| self.eval(x, view)),
            Expr::Or(xs) => xs.iter().any(|x| self.eval(x, view)),
            Expr::AtLeast(n, sels) => {
                let mut hits = 0;
                for i in sels {
                    if self.selections.get(*i).is_some_and(|s| s.matches(view)) {
                        hits += 1;
                        if hits >= *n {
                            return true;
                        }
                    }
                }
                false
            }
            Expr::Const(b) => *b,
        }
    }

    /// A prefilter: clauses that must all hold for the detection to match, each a list of
    /// (source, literal) alternatives one of which holds (the source's text contains the
    /// literal, up to ASCII case); empty when the condition needs no literal (negations,
    /// regexes, numbers...). Ordered most selective first.
    /// `common` tells how many rules need a literal (a literal many rules need, such as the
    /// auditd record type `EXECVE`, is likely common in events too, so it selects less).
    pub(crate) fn requirement(&self, common: &Commonness) -> Requirement {
        let mut r = self.required(&self.expr, common);
        r.sort_by_key(|c| std::cmp::Reverse(selectivity(c, common)));
        r
    }

    fn required(&self, e: &Expr, w: &Commonness) -> Requirement {
        match e {
            Expr::Sel(i) => self
                .selections
                .get(*i)
                .map(|s| s.required(w))
                .unwrap_or_default(),
            Expr::And(xs) => xs.iter().flat_map(|x| self.required(x, w)).collect(),
            Expr::Or(xs) => union(xs.iter().map(|x| self.required(x, w)), w),
            Expr::AtLeast(n, sels) if *n >= 1 => {
                union(sels.iter().map(|s| self.required(&Expr::Sel(*s), w)), w)
            }
            _ => Vec::new(),
        }
    }

    /// The conjunction of two detections (a filter applied to a rule).
    pub(crate) fn and(mut self, other: Detection) -> Detection {
        let offset = self.selections.len();
        self.selections.extend(other.selections);
        let shifted = shift(other.expr, offset);
        self.expr = Expr::And(vec![self.expr, shifted]);
        self
    }
}

fn shift(e: Expr, by: usize) -> Expr {
    match e {
        Expr::Sel(i) => Expr::Sel(i + by),
        Expr::Not(x) => Expr::Not(Box::new(shift(*x, by))),
        Expr::And(xs) => Expr::And(xs.into_iter().map(|x| shift(x, by)).collect()),
        Expr::Or(xs) => Expr::Or(xs.into_iter().map(|x| shift(x, by)).collect()),
        Expr::AtLeast(n, s) => Expr::AtLeast(n, s.into_iter().map(|i| i + by).collect()),
        Expr::Const(b) => Expr::Const(b),
    }
}

fn resolve(c: &Cond, names: &[String]) -> Result<Expr, CompileError> {
    Ok(match c {
        Cond::Ident(n) => Expr::Sel(names.iter().position(|x| x == n).ok_or_else(|| {
            CompileError::near(
                "condition",
                format!("condition names `{n}`, which is not a selection"),
            )
        })?),
        Cond::Not(x) => Expr::Not(Box::new(resolve(x, names)?)),
        Cond::And(xs) => Expr::And(
            xs.iter()
                .map(|x| resolve(x, names))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(xs) => Expr::Or(
            xs.iter()
                .map(|x| resolve(x, names))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Of { quantity, pattern } => {
            let sels: Vec<usize> = names
                .iter()
                .enumerate()
                // `them` leaves out selections whose name starts with `_` (specification).
                .filter(|(_, n)| match pattern {
                    Some(p) => condition::name_matches(p, n),
                    None => !n.starts_with('_'),
                })
                .map(|(i, _)| i)
                .collect();
            if sels.is_empty() {
                return Err(CompileError::near(
                    "condition",
                    format!(
                        "`of {}` matches no selection",
                        pattern.as_deref().unwrap_or("them")
                    ),
                ));
            }
            match quantity {
                Quantity::All => Expr::And(sels.into_iter().map(Expr::Sel).collect()),
                Quantity::AtLeast(0) => Expr::Const(true),
                Quantity::AtLeast(n) => Expr::AtLeast(*n, sels),
            }
        }
    })
}

/// Deepest nesting of lists inside a selection.
const MAX_SELECTION_DEPTH: usize = 8;

fn compile_selection(
    name: &str,
    v: &Yaml,
    ctx: &mut DetectionCtx<'_>,
    depth: usize,
) -> Result<Selection, CompileError> {
    if depth > MAX_SELECTION_DEPTH {
        return Err(CompileError::near(
            name,
            format!("selection `{name}` nested too deep"),
        ));
    }
    match v {
        Yaml::Mapping(map) => {
            let mut items = Vec::with_capacity(map.len());
            for (k, val) in map {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    _ => {
                        return Err(CompileError::near(
                            name,
                            format!("selection `{name}`: a field name is not a string"),
                        ))
                    }
                };
                items.push(compile_item(&key, val, ctx)?);
            }
            Ok(Selection::And(items))
        }
        Yaml::Sequence(list) => {
            if list
                .iter()
                .all(|i| !matches!(i, Yaml::Mapping(_) | Yaml::Sequence(_)))
            {
                return keywords(name, v, ctx).map(Selection::Keywords);
            }
            let mut alts = Vec::with_capacity(list.len());
            for i in list {
                alts.push(match i {
                    Yaml::Mapping(_) | Yaml::Sequence(_) => {
                        compile_selection(name, i, ctx, depth + 1)?
                    }
                    scalar => Selection::Keywords(keywords(name, scalar, ctx)?),
                });
            }
            Ok(Selection::Or(alts))
        }
        Yaml::Tagged(_) => Err(CompileError::near(
            name,
            format!("selection `{name}`: YAML tags are not supported"),
        )),
        scalar => keywords(name, scalar, ctx).map(Selection::Keywords),
    }
}

fn keywords(name: &str, v: &Yaml, ctx: &mut DetectionCtx<'_>) -> Result<ValueSet, CompileError> {
    // Keywords match anywhere in the event's text.
    let mut vctx = ValueCtx {
        placeholders: ctx.placeholders,
        field: ctx.field,
    };
    values::compile(name, &["contains"], v, &mut vctx)
}

fn compile_item(key: &str, v: &Yaml, ctx: &mut DetectionCtx<'_>) -> Result<Item, CompileError> {
    let mut parts = key.split('|');
    let field_name = parts.next().unwrap_or_default().to_string();
    let mods: Vec<&str> = parts.collect();
    let mut vctx = ValueCtx {
        placeholders: ctx.placeholders,
        field: ctx.field,
    };
    if field_name.is_empty() {
        // `|all: [...]` / `|contains: x`: keyword search with modifiers (contains by default).
        let mut with_contains = mods.clone();
        if !mods.iter().any(|m| {
            ["contains", "startswith", "endswith", "re", "cased"]
                .contains(&m.to_ascii_lowercase().as_str())
        }) {
            with_contains.push("contains");
        }
        let values = values::compile(key, &with_contains, v, &mut vctx)?;
        return Ok(Item {
            field: None,
            values,
        });
    }
    let values = values::compile(key, &mods, v, &mut vctx)?;
    let field = Some((ctx.field)(&field_name));
    Ok(Item { field, values })
}

/// Where a prefilter literal is looked for: the keyword texts, or one field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Source {
    Keywords,
    Field(FieldId),
}

/// Alternatives, one of which must hold: the source's text contains the literal.
pub(crate) type Clause = Vec<(Source, Vec<u8>)>;

/// Clauses that must all hold.
pub(crate) type Requirement = Vec<Clause>;

/// How many rule variants need each literal (see [`Detection::requirement`]).
pub(crate) type Commonness = std::collections::HashMap<(Source, Vec<u8>), u32>;

/// How selective a clause is (higher: rejects more events): its most common literal needed by
/// few rules, then its shortest literal long (up to 8), then few alternatives.
fn selectivity(
    c: &Clause,
    common: &Commonness,
) -> (std::cmp::Reverse<u32>, usize, std::cmp::Reverse<usize>) {
    let most = c
        .iter()
        .map(|k| common.get(k).copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let shortest = c.iter().map(|(_, l)| l.len()).min().unwrap_or(0);
    (
        std::cmp::Reverse(most),
        shortest.min(8),
        std::cmp::Reverse(c.len()),
    )
}

/// Most clauses an OR of alternatives yields.
const MAX_OR_CLAUSES: usize = 3;

/// Of alternatives (OR): clause `i` is the union of each alternative's `i`-th most selective
/// clause (every such choice is implied by the OR: whichever alternative holds, its clause
/// holds), for `i` up to the fewest clauses an alternative has; nothing when one alternative
/// has no clause.
fn union(reqs: impl Iterator<Item = Requirement>, w: &Commonness) -> Requirement {
    let mut alts: Vec<Requirement> = Vec::new();
    for mut r in reqs {
        if r.is_empty() {
            return Vec::new();
        }
        r.sort_by_key(|c| std::cmp::Reverse(selectivity(c, w)));
        alts.push(r);
    }
    let n = alts
        .iter()
        .map(Vec::len)
        .min()
        .unwrap_or(0)
        .min(MAX_OR_CLAUSES);
    (0..n)
        .map(|i| alts.iter().flat_map(|a| a[i].iter().cloned()).collect())
        .filter(|c: &Clause| !c.is_empty())
        .collect()
}

impl Selection {
    fn required(&self, w: &Commonness) -> Requirement {
        match self {
            Selection::And(items) => items.iter().filter_map(Item::required).collect(),
            Selection::Or(alts) => union(alts.iter().map(|a| a.required(w)), w),
            Selection::Keywords(vs) => keyword_req(vs).into_iter().collect(),
        }
    }

    fn matches(&self, view: &EventView<'_>) -> bool {
        match self {
            Selection::And(items) => items.iter().all(|i| i.matches(view)),
            Selection::Or(alts) => alts.iter().any(|a| a.matches(view)),
            Selection::Keywords(vs) => vs.matches_keywords(view),
        }
    }
}

fn keyword_req(vs: &ValueSet) -> Option<Clause> {
    let lits = vs.required_literals()?;
    Some(lits.into_iter().map(|l| (Source::Keywords, l)).collect())
}

impl Item {
    fn required(&self) -> Option<Clause> {
        match self.field {
            Some(f) => {
                let lits = self.values.required_literals()?;
                Some(lits.into_iter().map(|l| (Source::Field(f), l)).collect())
            }
            None => keyword_req(&self.values),
        }
    }

    fn matches(&self, view: &EventView<'_>) -> bool {
        match self.field {
            Some(f) => {
                let v = view.get(f);
                let lower = match v {
                    Some(Value::String(s)) => values::LowerCache::with(view.lower_field(f, s)),
                    _ => values::LowerCache::default(),
                };
                self.values.matches_field(view, v, lower)
            }
            None => self.values.matches_keywords(view),
        }
    }
}
