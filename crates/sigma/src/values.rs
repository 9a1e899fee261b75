//! One field's values with their modifiers (`Field|mod1|mod2: value or list`), compiled to
//! [`ValueSet`], and its evaluation against an event value.

use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use ipnet::IpNet;
use memchr::memmem::Finder;
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

use crate::error::CompileError;
use crate::fields::{EventView, FieldId};
use crate::pattern::{self, Pat, StrKind, StrMatch};

/// Most values one field item may expand to (windash/expand/base64offset products).
const MAX_VARIANTS: usize = 4096;

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// A part of a timestamp (`minute`...`year` modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// One compiled value.
#[derive(Debug, Clone)]
pub(crate) enum Atom {
    /// A case-insensitive literal comparison (text lower-cased; compared to the lower-cased
    /// event value; `Contains` has its precompiled finder).
    Lower {
        kind: StrKind,
        text: Vec<u8>,
        finder: Option<Box<Finder<'static>>>,
    },
    /// Any other string comparison (cased, wildcards inside, byte values), with the longest
    /// literal part of the value (which every matching text contains, up to ASCII case).
    Str(StrMatch, Option<Vec<u8>>),
    /// `null`: the field is absent or null.
    Null,
    /// `exists`.
    Exists(bool),
    /// `lt`/`lte`/`gt`/`gte`.
    Num(Cmp, f64),
    /// `cidr`.
    Cidr(IpNet),
    /// `re` (with its `i`/`m`/`s` flags).
    Re(regex::Regex),
    /// `fieldref`: compared with another field of the same event.
    FieldRef {
        other: FieldId,
        kind: StrKind,
        cased: bool,
    },
    /// `minute`...`year`.
    Time(TimePart, i64),
    /// `neq`: the negation.
    Not(Box<Atom>),
}

/// The values of one field item.
#[derive(Debug, Clone)]
pub(crate) struct ValueSet {
    /// `all`: every value must match (else any).
    pub(crate) all: bool,
    pub(crate) atoms: Vec<Atom>,
}

/// Parsed modifiers of a key.
#[derive(Debug, Default)]
struct Mods {
    transforms: Vec<String>,
    kind: Option<StrKind>,
    re: Option<(bool, bool, bool)>,
    cidr: bool,
    cmp: Option<Cmp>,
    exists: bool,
    fieldref: bool,
    time: Option<TimePart>,
    all: bool,
    cased: bool,
    neq: bool,
}

fn parse_mods(mods: &[&str]) -> Result<Mods, String> {
    let mut m = Mods::default();
    for &raw in mods {
        let md = raw.to_ascii_lowercase();
        match md.as_str() {
            "contains" => m.kind = Some(StrKind::Contains),
            "startswith" => m.kind = Some(StrKind::Prefix),
            "endswith" => m.kind = Some(StrKind::Suffix),
            "all" => m.all = true,
            "cased" => m.cased = true,
            "neq" => m.neq = true,
            "exists" => m.exists = true,
            "re" => m.re = Some((false, false, false)),
            "i" | "ignorecase" | "m" | "multiline" | "s" | "dotall" => {
                let Some((i, ml, s)) = m.re.as_mut() else {
                    return Err(format!("modifier `{raw}` only follows `re`"));
                };
                match md.as_str() {
                    "i" | "ignorecase" => *i = true,
                    "m" | "multiline" => *ml = true,
                    _ => *s = true,
                }
            }
            "cidr" => m.cidr = true,
            "lt" => m.cmp = Some(Cmp::Lt),
            "lte" => m.cmp = Some(Cmp::Lte),
            "gt" => m.cmp = Some(Cmp::Gt),
            "gte" => m.cmp = Some(Cmp::Gte),
            "fieldref" => m.fieldref = true,
            "minute" => m.time = Some(TimePart::Minute),
            "hour" => m.time = Some(TimePart::Hour),
            "day" => m.time = Some(TimePart::Day),
            "week" => m.time = Some(TimePart::Week),
            "month" => m.time = Some(TimePart::Month),
            "year" => m.time = Some(TimePart::Year),
            "windash" | "base64" | "base64offset" | "utf16le" | "utf16be" | "utf16" | "wide"
            | "expand" => m.transforms.push(md),
            other => return Err(format!("unsupported modifier `{other}`")),
        }
    }
    Ok(m)
}

/// What a value compiler needs besides the value.
pub(crate) struct ValueCtx<'a> {
    /// Placeholder values for `expand` (`%name%` → values).
    pub(crate) placeholders: &'a HashMap<String, Vec<String>>,
    /// Interns the field of a `fieldref`.
    pub(crate) field: &'a mut dyn FnMut(&str) -> FieldId,
}

/// Compiles the values of one key. `field_display` names the key in errors.
pub(crate) fn compile(
    key: &str,
    mods: &[&str],
    value: &Yaml,
    ctx: &mut ValueCtx<'_>,
) -> Result<ValueSet, CompileError> {
    let m = parse_mods(mods).map_err(|e| CompileError::near(key, e))?;
    let values: Vec<&Yaml> = match value {
        Yaml::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut atoms = Vec::new();
    for v in values {
        for a in compile_one(key, &m, v, ctx)? {
            atoms.push(if m.neq { Atom::Not(Box::new(a)) } else { a });
        }
        if atoms.len() > MAX_VARIANTS {
            return Err(CompileError::near(
                key,
                format!("`{key}` expands to more than {MAX_VARIANTS} values"),
            ));
        }
    }
    Ok(ValueSet { all: m.all, atoms })
}

fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compile_one(
    key: &str,
    m: &Mods,
    v: &Yaml,
    ctx: &mut ValueCtx<'_>,
) -> Result<Vec<Atom>, CompileError> {
    let err = |r: String| CompileError::near(key, r);
    if m.exists {
        return match v {
            Yaml::Bool(b) => Ok(vec![Atom::Exists(*b)]),
            Yaml::String(s) if s.eq_ignore_ascii_case("true") => Ok(vec![Atom::Exists(true)]),
            Yaml::String(s) if s.eq_ignore_ascii_case("false") => Ok(vec![Atom::Exists(false)]),
            _ => Err(err(format!("`{key}`: `exists` needs true or false"))),
        };
    }
    if matches!(v, Yaml::Null) {
        return Ok(vec![Atom::Null]);
    }
    let text = scalar_text(v).ok_or_else(|| {
        err(format!(
            "`{key}`: a value must be a string, number, boolean or null"
        ))
    })?;
    if let Some(cmp) = m.cmp {
        let n: f64 = text
            .parse()
            .map_err(|_| err(format!("`{key}`: `{text}` is not a number")))?;
        return Ok(vec![Atom::Num(cmp, n)]);
    }
    if m.cidr {
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| err(format!("`{key}`: `{text}` is not a CIDR network")))?;
        return Ok(vec![Atom::Cidr(net)]);
    }
    if let Some((i, ml, s)) = m.re {
        let re = regex::RegexBuilder::new(&text)
            .case_insensitive(i)
            .multi_line(ml)
            .dot_matches_new_line(s)
            .size_limit(pattern::REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| err(format!("`{key}`: regex not supported: {e}")))?;
        return Ok(vec![Atom::Re(re)]);
    }
    if let Some(part) = m.time {
        let n: i64 = text
            .parse()
            .map_err(|_| err(format!("`{key}`: `{text}` is not a whole number")))?;
        return Ok(vec![Atom::Time(part, n)]);
    }
    if m.fieldref {
        let other = (ctx.field)(&text);
        return Ok(vec![Atom::FieldRef {
            other,
            kind: m.kind.unwrap_or(StrKind::Exact),
            cased: m.cased,
        }]);
    }
    // String matching: expand, wildcards, transformations in the order written, then the kind.
    let texts = if m.transforms.iter().any(|t| t == "expand") {
        expand(&text, ctx.placeholders).map_err(err)?
    } else {
        vec![text]
    };
    let is_string = matches!(v, Yaml::String(_));
    let mut pats: Vec<Pat> = texts
        .iter()
        .map(|t| {
            if is_string {
                pattern::parse_wildcards(t)
            } else {
                pattern::literal(t.as_bytes())
            }
        })
        .collect();
    let mut binary = false;
    for t in &m.transforms {
        pats = transform(t, pats, key).map_err(err)?;
        binary |= t.starts_with("base64");
    }
    let cased = m.cased || binary;
    let mut atoms = Vec::with_capacity(pats.len());
    for p in pats {
        let p = match m.kind {
            Some(StrKind::Contains) => pattern::surround(p, true, true),
            Some(StrKind::Prefix) => pattern::surround(p, false, true),
            Some(StrKind::Suffix) => pattern::surround(p, true, false),
            _ => p,
        };
        atoms.push(str_atom(&p, cased).map_err(|e| err(format!("`{key}`: {e}")))?);
    }
    Ok(atoms)
}

fn str_atom(p: &Pat, cased: bool) -> Result<Atom, String> {
    Ok(match pattern::compile(p, cased)? {
        StrMatch::Plain {
            kind,
            text,
            cased: false,
        } => {
            let finder =
                (kind == StrKind::Contains).then(|| Box::new(Finder::new(&text).into_owned()));
            Atom::Lower { kind, text, finder }
        }
        other => {
            let need = p
                .iter()
                .filter_map(|t| match t {
                    pattern::Tok::Lit(b) => Some(b),
                    _ => None,
                })
                .max_by_key(|b| b.len())
                .filter(|b| !b.is_empty())
                .cloned();
            Atom::Str(other, need)
        }
    })
}

fn transform(t: &str, pats: Vec<Pat>, key: &str) -> Result<Vec<Pat>, String> {
    let mut out = Vec::new();
    for p in pats {
        match t {
            "expand" => out.push(p),
            "windash" => out.extend(
                pattern::windash_expand(&p, MAX_VARIANTS)
                    .ok_or_else(|| format!("`{key}`: windash expands to too many values"))?,
            ),
            "utf16le" | "wide" => out.push(pattern::map_lits(&p, pattern::utf16le)),
            "utf16be" => out.push(pattern::map_lits(&p, pattern::utf16be)),
            "utf16" => out.push(pattern::map_lits(&p, pattern::utf16bom)),
            "base64" | "base64offset" => {
                if pattern::has_wildcards(&p) {
                    return Err(format!(
                        "`{key}`: {t} of a value with wildcards is not defined"
                    ));
                }
                let b = pattern::lit_bytes(&p);
                if t == "base64" {
                    out.push(pattern::literal(&pattern::base64(&b)));
                } else {
                    out.extend(
                        pattern::base64offset(&b)
                            .iter()
                            .map(|e| pattern::literal(e)),
                    );
                }
            }
            other => return Err(format!("unsupported modifier `{other}`")),
        }
    }
    Ok(out)
}

/// `expand`: replaces every `%name%` with each of its configured values.
fn expand(text: &str, placeholders: &HashMap<String, Vec<String>>) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        let values = placeholders.get(name).ok_or_else(|| {
            format!("unresolved placeholder `%{name}%` (expand): configure its values")
        })?;
        let prefix = &rest[..start];
        let mut next = Vec::new();
        for o in &out {
            for v in values {
                next.push(format!("{o}{prefix}{v}"));
            }
        }
        if next.len() > MAX_VARIANTS {
            return Err(format!("placeholder `%{name}%` expands to too many values"));
        }
        out = next;
        rest = &rest[start + 2 + len..];
    }
    Ok(out.into_iter().map(|o| o + rest).collect())
}

/// A scalar event value as text, if it has one.
fn text_of(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses the timestamps events carry (RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]`, epoch seconds).
pub(crate) fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => ferrodef_event::read_rfc3339(s).or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        }),
        Value::Number(n) => DateTime::from_timestamp(n.as_i64()?, 0),
        _ => None,
    }
}

impl Atom {
    /// Evaluates against the field's value (`None`: absent).
    fn eval(&self, view: &EventView<'_>, v: Option<&Value>, lower: &mut LowerCache) -> bool {
        match self {
            Atom::Null => matches!(v, None | Some(Value::Null)),
            Atom::Exists(b) => v.is_some() == *b,
            Atom::Not(inner) => !inner.eval(view, v, lower),
            _ => match v {
                None | Some(Value::Null) => false,
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|i| self.eval_scalar(view, i, &mut LowerCache::default())),
                Some(x) => self.eval_scalar(view, x, lower),
            },
        }
    }

    fn eval_scalar(&self, view: &EventView<'_>, v: &Value, lower: &mut LowerCache) -> bool {
        match v {
            Value::String(s) => self.eval_text(view, s, lower),
            other => self.eval_json(view, other, lower),
        }
    }

    /// Evaluates against a text (string values and keyword texts).
    fn eval_text(&self, view: &EventView<'_>, t: &str, lower: &mut LowerCache) -> bool {
        match self {
            Atom::Lower { kind, text, finder } => {
                let l = lower.get(t);
                match kind {
                    StrKind::Exact => l == text.as_slice(),
                    StrKind::Prefix => l.starts_with(text),
                    StrKind::Suffix => l.ends_with(text),
                    StrKind::Contains => finder.as_ref().is_some_and(|f| f.find(l).is_some()),
                }
            }
            Atom::Str(m, _) => m.is_match(t.as_bytes()),
            Atom::Re(re) => re.is_match(t),
            _ => self.eval_json(view, &Value::String(t.to_string()), lower),
        }
    }

    fn eval_json(&self, view: &EventView<'_>, v: &Value, lower: &mut LowerCache) -> bool {
        match self {
            Atom::Lower { kind, text, finder } => {
                let Some(t) = text_of(v) else { return false };
                let l = lower.get(&t);
                match kind {
                    StrKind::Exact => l == text.as_slice(),
                    StrKind::Prefix => l.starts_with(text),
                    StrKind::Suffix => l.ends_with(text),
                    StrKind::Contains => finder.as_ref().is_some_and(|f| f.find(l).is_some()),
                }
            }
            Atom::Str(m, _) => text_of(v).is_some_and(|t| m.is_match(t.as_bytes())),
            Atom::Num(cmp, n) => number_of(v).is_some_and(|x| match cmp {
                Cmp::Lt => x < *n,
                Cmp::Lte => x <= *n,
                Cmp::Gt => x > *n,
                Cmp::Gte => x >= *n,
            }),
            Atom::Cidr(net) => text_of(v)
                .and_then(|t| t.trim().parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(&ip)),
            Atom::Re(re) => text_of(v).is_some_and(|t| re.is_match(&t)),
            Atom::Time(part, n) => time_of(v).is_some_and(|t| {
                i64::from(match part {
                    TimePart::Minute => t.minute(),
                    TimePart::Hour => t.hour(),
                    TimePart::Day => t.day(),
                    TimePart::Week => t.iso_week().week(),
                    TimePart::Month => t.month(),
                    TimePart::Year => return i64::from(t.year()) == *n,
                }) == *n
            }),
            Atom::FieldRef { other, kind, cased } => {
                let (Some(a), Some(b)) = (text_of(v), view.get(*other).and_then(text_of)) else {
                    return false;
                };
                let (a, b) = if *cased {
                    (a.into_owned(), b.into_owned())
                } else {
                    (a.to_lowercase(), b.to_lowercase())
                };
                match kind {
                    StrKind::Exact => a == b,
                    StrKind::Prefix => a.starts_with(&b),
                    StrKind::Suffix => a.ends_with(&b),
                    StrKind::Contains => a.contains(&b),
                }
            }
            Atom::Null | Atom::Exists(_) | Atom::Not(_) => self.eval(view, Some(v), lower),
        }
    }
}

/// The lower-cased form of one event value, computed once (per event, from the view's
/// cache, or per item).
#[derive(Default)]
pub(crate) struct LowerCache {
    text: Option<Rc<[u8]>>,
}

/// Lower-cases a text (ASCII fast path).
pub(crate) fn lower(t: &str) -> Rc<[u8]> {
    if t.is_ascii() {
        t.as_bytes().to_ascii_lowercase().into()
    } else {
        t.to_lowercase().into_bytes().into()
    }
}

impl LowerCache {
    pub(crate) fn with(text: Rc<[u8]>) -> LowerCache {
        LowerCache { text: Some(text) }
    }

    fn get(&mut self, t: &str) -> &[u8] {
        self.text.get_or_insert_with(|| lower(t))
    }
}

impl ValueSet {
    /// Literals one of which the text this value set is compared with must contain (up to
    /// ASCII case) for it to match (`None`: no such set, e.g. a regex, a negation or an
    /// empty value). Every literal comparison (exact, prefix, suffix, substring, wildcard
    /// pattern) implies that the text contains its (longest) literal part; with `all`, any
    /// one value's literal is needed (the longest is taken). A non-ASCII text is not searched
    /// (the prefilter lets it through), so Unicode case folding needs no care here.
    pub(crate) fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        let lit = |a: &Atom| match a {
            Atom::Lower { text, .. } if !text.is_empty() => Some(text.clone()),
            Atom::Str(_, Some(need)) => Some(need.clone()),
            _ => None,
        };
        if self.all {
            return self
                .atoms
                .iter()
                .filter_map(lit)
                .max_by_key(Vec::len)
                .map(|l| vec![l]);
        }
        if self.atoms.is_empty() {
            return None;
        }
        self.atoms.iter().map(lit).collect()
    }

    /// Whether the field value matches; `lower` holds the value lower-cased when the caller
    /// has it.
    pub(crate) fn matches_field(
        &self,
        view: &EventView<'_>,
        v: Option<&Value>,
        mut lower: LowerCache,
    ) -> bool {
        if self.all {
            !self.atoms.is_empty() && self.atoms.iter().all(|a| a.eval(view, v, &mut lower))
        } else {
            self.atoms.iter().any(|a| a.eval(view, v, &mut lower))
        }
    }

    /// Keyword search: whether the event's texts match (any value in any text; with `all`,
    /// every value in some text).
    pub(crate) fn matches_keywords(&self, view: &EventView<'_>) -> bool {
        let texts = view.keyword_texts();
        let one = |a: &Atom| {
            texts
                .iter()
                .any(|(t, l)| a.eval_text(view, t, &mut LowerCache::with(Rc::clone(l))))
        };
        if self.all {
            !self.atoms.is_empty() && self.atoms.iter().all(one)
        } else {
            texts.iter().any(|(t, l)| {
                let mut lower = LowerCache::with(Rc::clone(l));
                self.atoms.iter().any(|a| a.eval_text(view, t, &mut lower))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_placeholders() {
        let mut p = HashMap::new();
        p.insert("dirs".to_string(), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(
            expand("x%dirs%y", &p).ok(),
            Some(vec!["xay".to_string(), "xby".to_string()])
        );
        assert!(expand("%nope%", &p).is_err());
        assert_eq!(expand("50%", &p).ok(), Some(vec!["50%".to_string()]));
    }
}
