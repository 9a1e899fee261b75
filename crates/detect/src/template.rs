//! Summary templates: text with `{source|filter:arg|…}` placeholders (`{{`/`}}` for braces).
//!
//! Sources: `count` (events in the group), `value` (the aggregation value), `event.PATH` (the
//! first event's field), `all.PATH` / `samples.PATH` (the field over every event of the group /
//! over the sampled ones, as a list), `top.PATH` (`(value, count)` pairs over every event, most
//! common first, ties in arrival order: MozDef's `mostCommon`), `var.NAME` (configuration or
//! instance value), `x.NAME` (a value a built-in rule kind computed), `"literal"`.
//! A field that is present with a `null` value reads as `None` (MozDef's classes test presence
//! with `'key' in details` and Python prints `None`); `default:`, `or:` and `when:` look at
//! presence only.
//!
//! Filters: `unique`, `sorted`, `first:N`, `join:SEP`, `len`, `default:TEXT`, `or:PATH` (the
//! first event's PATH when there is no value), `each:FMT` (`{0}` value, `{1}` count),
//! `ifmore:N` (the list, or nothing when it has N items or fewer), `atleast:N:TEXT` (TEXT when
//! the number or list length is at least N), `word:N` (the Nth space-separated word),
//! `capture:REGEX` (first group), `when:PATH` (nothing unless the first event has PATH),
//! `rdns:FMT[:internal]` (MozDef's `add_hostname_to_ip`:
//! `{0}` address, `{1}` name, through the engine's resolver), `prefix:TEXT`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferrodef_event::get_key;
use regex::Regex;
use serde_json::{Map, Value};

/// A reverse-DNS lookup: the name of an address, if any.
pub type Resolver = dyn Fn(IpAddr) -> Option<String> + Send + Sync;

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Expr(Source, Vec<Filter>),
}

#[derive(Debug, Clone)]
enum Source {
    Count,
    Value,
    Event(String),
    All(String),
    Samples(String),
    Top(String),
    Var(String),
    Extra(String),
    Literal(String),
}

#[derive(Debug, Clone)]
enum Filter {
    Unique,
    Sorted,
    First(usize),
    Join(String),
    Len,
    Default(String),
    Or(String),
    Each(String),
    IfMore(usize),
    AtLeast(usize, String),
    Word(usize),
    Capture(Regex),
    Rdns(String, bool),
    Prefix(String),
    When(String),
}

/// A value while a placeholder is evaluated.
#[derive(Debug, Clone)]
enum TV {
    None,
    Str(String),
    Num(u64),
    Pair(String, u64),
    List(Vec<TV>),
}

impl TV {
    fn render(&self) -> String {
        match self {
            TV::None => "None".into(),
            TV::Str(s) => s.clone(),
            TV::Num(n) => n.to_string(),
            TV::Pair(v, n) => format!("{v} ({n})"),
            TV::List(l) => l.iter().map(TV::render).collect::<Vec<_>>().join(","),
        }
    }
    fn list(self) -> Vec<TV> {
        match self {
            TV::List(l) => l,
            TV::None => Vec::new(),
            other => vec![other],
        }
    }
    fn key(&self) -> String {
        match self {
            TV::Pair(v, _) => v.clone(),
            other => other.render(),
        }
    }
}

/// What a template is evaluated against.
pub struct Ctx<'a> {
    /// Events in the group (or 1).
    pub count: u64,
    /// The aggregation value.
    pub value: Option<&'a str>,
    /// Every event of the group.
    pub all: &'a [&'a Map<String, Value>],
    /// The sampled events (the alert's evidence).
    pub samples: &'a [&'a Map<String, Value>],
    /// Configuration and instance values.
    pub vars: &'a BTreeMap<String, Value>,
    /// Values computed by built-in rule kinds.
    pub extra: &'a BTreeMap<String, String>,
    /// Reverse DNS.
    pub resolver: Option<&'a Resolver>,
}

/// A JSON leaf as MozDef's Python `format` prints it.
pub fn leaf_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// The value at a dotted path (objects only); `null` counts as no value, as for the store
/// (`exists`, aggregation keys).
pub fn get_path<'v>(m: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    lookup(m, path).filter(|v| !v.is_null())
}

/// The value at a dotted path (objects only), `null` included: a key that is present with a
/// `null` value is there for MozDef's Python (`'key' in details` holds and `format` prints
/// `None`), which is how alert classes build their summaries.
pub fn lookup<'v>(m: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = get_key(m, parts.next()?)?;
    for p in parts {
        cur = get_key(cur.as_object()?, p)?;
    }
    Some(cur)
}

fn field(m: &Map<String, Value>, path: &str) -> TV {
    match lookup(m, path) {
        Some(v) => TV::Str(leaf_text(v)),
        None => TV::None,
    }
}

impl Template {
    /// Parses a template; the error names the byte offset.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let b: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut byte = 0;
        while i < b.len() {
            let c = b[i];
            if c == '{' && b.get(i + 1) == Some(&'{') {
                text.push('{');
                i += 2;
                byte += 2;
                continue;
            }
            if c == '}' && b.get(i + 1) == Some(&'}') {
                text.push('}');
                i += 2;
                byte += 2;
                continue;
            }
            if c == '}' {
                return Err(format!("unmatched '}}' at offset {byte}"));
            }
            if c == '{' {
                let start = byte;
                let mut j = i + 1;
                let mut inner = String::new();
                let mut in_q = false;
                while j < b.len() {
                    let d = b[j];
                    if d == '\\' && in_q {
                        inner.push(d);
                        if let Some(&n) = b.get(j + 1) {
                            inner.push(n);
                        }
                        j += 2;
                        continue;
                    }
                    if d == '"' {
                        in_q = !in_q;
                    }
                    if d == '}' && !in_q {
                        break;
                    }
                    inner.push(d);
                    j += 1;
                }
                if j >= b.len() {
                    return Err(format!("unclosed '{{' at offset {start}"));
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                let (src, filters) = parse_expr(&inner)
                    .map_err(|e| format!("{e} in placeholder at offset {start}"))?;
                parts.push(Part::Expr(src, filters));
                byte += inner.len() + 2;
                i = j + 1;
                continue;
            }
            text.push(c);
            byte += c.len_utf8();
            i += 1;
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// Whether the template reads every event of a group (`all.*`, `top.*`), not only the
    /// samples.
    pub fn uses_all(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Expr(Source::All(_) | Source::Top(_), _)))
    }

    /// Renders the template.
    pub fn render(&self, ctx: &Ctx<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Expr(src, filters) => {
                    let mut v = source(src, ctx);
                    for f in filters {
                        v = apply(f, v, ctx);
                    }
                    out.push_str(&v.render());
                }
            }
        }
        out
    }
}

/// Splits `a|b:"x|y":c` into pipeline stages and their arguments (quotes group, `\"` escapes).
fn split_stages(s: &str) -> Result<Vec<Vec<String>>, String> {
    let mut stages = vec![vec![String::new()]];
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let stage = stages.last_mut().ok_or("empty")?;
        let arg = stage.last_mut().ok_or("empty")?;
        match c {
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    arg.push(n);
                }
            }
            '"' => quoted = !quoted,
            '|' if !quoted => stages.push(vec![String::new()]),
            ':' if !quoted => stage.push(String::new()),
            c => arg.push(c),
        }
    }
    if quoted {
        return Err("unclosed quote".into());
    }
    Ok(stages)
}

fn parse_expr(s: &str) -> Result<(Source, Vec<Filter>), String> {
    let trimmed = s.trim();
    let literal = trimmed.starts_with('"');
    let stages = split_stages(trimmed)?;
    let mut it = stages.into_iter();
    let head = it.next().ok_or("empty placeholder")?;
    let name = head.join(":");
    let src = if literal {
        Source::Literal(name)
    } else {
        let name = name.trim().to_string();
        match name.split_once('.') {
            _ if name == "count" => Source::Count,
            _ if name == "value" => Source::Value,
            Some(("event", p)) => Source::Event(p.into()),
            Some(("all", p)) => Source::All(p.into()),
            Some(("samples", p)) => Source::Samples(p.into()),
            Some(("top", p)) => Source::Top(p.into()),
            Some(("var", p)) => Source::Var(p.into()),
            Some(("x", p)) => Source::Extra(p.into()),
            _ => return Err(format!("unknown source '{name}'")),
        }
    };
    let mut filters = Vec::new();
    for stage in it {
        filters.push(parse_filter(&stage)?);
    }
    Ok((src, filters))
}

fn parse_filter(stage: &[String]) -> Result<Filter, String> {
    let name = stage.first().map(|s| s.trim()).unwrap_or("");
    let arg = |i: usize| -> Result<String, String> {
        stage
            .get(i)
            .cloned()
            .ok_or_else(|| format!("filter '{name}' needs argument {i}"))
    };
    let num = |i: usize| -> Result<usize, String> {
        let a = arg(i)?;
        a.trim()
            .parse::<usize>()
            .map_err(|_| format!("filter '{name}': '{a}' is not a number"))
    };
    Ok(match name {
        "unique" => Filter::Unique,
        "sorted" => Filter::Sorted,
        "first" => Filter::First(num(1)?),
        "join" => Filter::Join(arg(1)?),
        "len" => Filter::Len,
        "default" => Filter::Default(arg(1)?),
        "or" => Filter::Or(arg(1)?),
        "each" => Filter::Each(arg(1)?),
        "ifmore" => Filter::IfMore(num(1)?),
        "atleast" => Filter::AtLeast(num(1)?, arg(2)?),
        "word" => Filter::Word(num(1)?),
        "capture" => {
            let r = arg(1)?;
            ferrodef_query::check_regex(&r).map_err(|e| format!("filter 'capture': {e}"))?;
            Filter::Capture(Regex::new(&r).map_err(|e| format!("filter 'capture': {e}"))?)
        }
        "rdns" => Filter::Rdns(
            arg(1)?,
            stage
                .get(2)
                .map(|s| s.trim() == "internal")
                .unwrap_or(false),
        ),
        "prefix" => Filter::Prefix(arg(1)?),
        "when" => Filter::When(arg(1)?),
        other => return Err(format!("unknown filter '{other}'")),
    })
}

fn source(src: &Source, ctx: &Ctx<'_>) -> TV {
    match src {
        Source::Count => TV::Num(ctx.count),
        Source::Value => ctx.value.map(|v| TV::Str(v.into())).unwrap_or(TV::None),
        Source::Event(p) => ctx
            .samples
            .first()
            .or(ctx.all.first())
            .map(|e| field(e, p))
            .unwrap_or(TV::None),
        Source::All(p) => TV::List(
            ctx.all
                .iter()
                .map(|e| field(e, p))
                .filter(is_some)
                .collect(),
        ),
        Source::Samples(p) => TV::List(
            ctx.samples
                .iter()
                .map(|e| field(e, p))
                .filter(is_some)
                .collect(),
        ),
        Source::Top(p) => {
            let mut counts: Vec<(String, u64)> = Vec::new();
            for e in ctx.all {
                if let TV::Str(s) = field(e, p) {
                    match counts.iter_mut().find(|(v, _)| *v == s) {
                        Some(c) => c.1 += 1,
                        None => counts.push((s, 1)),
                    }
                }
            }
            counts.sort_by_key(|c| std::cmp::Reverse(c.1));
            TV::List(counts.into_iter().map(|(v, n)| TV::Pair(v, n)).collect())
        }
        Source::Var(n) => match ctx.vars.get(n) {
            Some(Value::Array(a)) => TV::List(a.iter().map(|v| TV::Str(leaf_text(v))).collect()),
            Some(v) => TV::Str(leaf_text(v)),
            None => TV::None,
        },
        Source::Extra(n) => ctx
            .extra
            .get(n)
            .map(|s| TV::Str(s.clone()))
            .unwrap_or(TV::None),
        Source::Literal(s) => TV::Str(s.clone()),
    }
}

fn is_some(v: &TV) -> bool {
    !matches!(v, TV::None)
}

fn map_items(v: TV, f: &dyn Fn(TV) -> TV) -> TV {
    match v {
        TV::List(l) => TV::List(l.into_iter().map(f).collect()),
        other => f(other),
    }
}

fn apply(f: &Filter, v: TV, ctx: &Ctx<'_>) -> TV {
    match f {
        Filter::Unique => {
            let mut seen: Vec<String> = Vec::new();
            let mut out = Vec::new();
            for x in v.list() {
                let k = x.key();
                if !seen.contains(&k) {
                    seen.push(k);
                    out.push(x);
                }
            }
            TV::List(out)
        }
        Filter::Sorted => {
            let mut l = v.list();
            l.sort_by_key(|a| a.key());
            TV::List(l)
        }
        Filter::First(n) => {
            let mut l = v.list();
            l.truncate(*n);
            TV::List(l)
        }
        Filter::Join(sep) => TV::Str(
            v.list()
                .iter()
                .map(TV::render)
                .collect::<Vec<_>>()
                .join(sep),
        ),
        Filter::Len => TV::Num(v.list().len() as u64),
        Filter::Default(d) => match v {
            TV::None => TV::Str(d.clone()),
            other => other,
        },
        Filter::Or(path) => match v {
            TV::None => ctx
                .samples
                .first()
                .map(|e| field(e, path))
                .unwrap_or(TV::None),
            other => other,
        },
        Filter::Each(fmt) => map_items(v, &|x| {
            let (a, b) = match &x {
                TV::Pair(v, n) => (v.clone(), n.to_string()),
                other => (other.render(), String::new()),
            };
            TV::Str(fmt.replace("{0}", &a).replace("{1}", &b))
        }),
        Filter::IfMore(n) => {
            let l = v.list();
            TV::List(if l.len() > *n { l } else { Vec::new() })
        }
        Filter::AtLeast(n, text) => {
            let k = match v {
                TV::Num(k) => k as usize,
                other => other.list().len(),
            };
            TV::Str(if k >= *n { text.clone() } else { String::new() })
        }
        Filter::Word(n) => map_items(v, &|x| match x {
            TV::Str(s) => TV::Str(s.split(' ').nth(*n).unwrap_or("").to_string()),
            other => other,
        }),
        Filter::Capture(re) => map_items(v, &|x| match x {
            TV::Str(s) => re
                .captures(&s)
                .and_then(|c| c.get(1))
                .map(|m| TV::Str(m.as_str().to_string()))
                .unwrap_or(TV::None),
            other => other,
        }),
        Filter::Rdns(fmt, internal) => map_items(v, &|x| match x {
            TV::Str(s) => TV::Str(add_hostname(&s, fmt, *internal, ctx.resolver)),
            other => other,
        }),
        Filter::When(path) => {
            let present = ctx
                .samples
                .first()
                .is_some_and(|e| lookup(e, path).is_some());
            if present {
                v
            } else {
                TV::None
            }
        }
        Filter::Prefix(p) => match v {
            TV::None => TV::Str(String::new()),
            TV::Str(s) if s.is_empty() => TV::Str(String::new()),
            other => TV::Str(format!("{p}{}", other.render())),
        },
    }
}

/// MozDef's `add_hostname_to_ip`: `fmt` with the address and its name, or the address alone
/// when it has no name (or, with `require_internal`, is not a private address).
pub fn add_hostname(
    ip: &str,
    fmt: &str,
    require_internal: bool,
    resolver: Option<&Resolver>,
) -> String {
    let Ok(addr) = ip.trim().parse::<IpAddr>() else {
        return ip.to_string();
    };
    if require_internal && !is_private(addr) {
        return ip.to_string();
    }
    match resolver.and_then(|r| r(addr)) {
        Some(name) => fmt.replace("{0}", ip).replace("{1}", &name),
        None => ip.to_string(),
    }
}

/// netaddr's `is_private`: RFC 1918, shared, link-local, unique-local and loopback-like ranges.
fn is_private(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            v.is_private() || v.is_link_local() || v.is_loopback() || {
                let o = v.octets();
                o[0] == 100 && (64..128).contains(&o[1])
            }
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 || v.is_loopback()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn renders_mozdef_summaries() {
        let e1 =
            obj(json!({"hostname": "a", "summary": "x /etc/p", "details": {"client": "2.2.2.2"}}));
        let e2 =
            obj(json!({"hostname": "b", "summary": "x /etc/q", "details": {"client": "1.1.1.1"}}));
        let e3 =
            obj(json!({"hostname": "b", "summary": "x /etc/p", "details": {"client": "1.1.1.1"}}));
        let all = [&e1, &e2, &e3];
        let vars = BTreeMap::new();
        let extra = BTreeMap::new();
        let ctx = Ctx {
            count: 3,
            value: Some("1.2.3.4"),
            all: &all,
            samples: &all[..2],
            vars: &vars,
            extra: &extra,
            resolver: None,
        };
        let t = |s: &str| match Template::parse(s) {
            Ok(t) => t.render(&ctx),
            Err(e) => panic!("{s}: {e}"),
        };
        assert_eq!(
            t("{count} by {value}{top.hostname|first:5|each:\" {0} ({1} hits)\"|join:\"\"}"),
            "3 by 1.2.3.4 b (2 hits) a (1 hits)"
        );
        assert_eq!(
            t("{all.details.client|unique|sorted|first:10|join:\", \"}{all.details.client|unique|len|atleast:2:\"...\"}"),
            "1.1.1.1, 2.2.2.2..."
        );
        assert_eq!(
            t("{samples.summary|word:1|unique|join:\", \"}"),
            "/etc/p, /etc/q"
        );
        assert_eq!(
            t("{event.details.nope|default:UNKNOWN} {{x}}"),
            "UNKNOWN {x}"
        );
        assert_eq!(t("{top.nope|ifmore:1|join:\"\"}."), ".");
        assert!(Template::parse("{bogus}").is_err());
        assert!(Template::parse("{count|nofilter}").is_err());
        assert!(Template::parse("{count").is_err());
    }

    #[test]
    fn a_null_field_is_present_and_reads_none() {
        let e1 = obj(json!({"details": {"user": null, "ip": null}}));
        let e2 = obj(json!({"details": {"ip": null}}));
        let all = [&e1, &e2];
        let (vars, extra) = (BTreeMap::new(), BTreeMap::new());
        let ctx = Ctx {
            count: 2,
            value: None,
            all: &all,
            samples: &all[..1],
            vars: &vars,
            extra: &extra,
            resolver: None,
        };
        let t = |s: &str| match Template::parse(s) {
            Ok(t) => t.render(&ctx),
            Err(e) => panic!("{s}: {e}"),
        };
        assert_eq!(t("{event.details.user|default:unknown}"), "None");
        assert_eq!(t("{event.details.cwd|default:unknown}"), "unknown");
        assert_eq!(t("{event.details.cwd|or:details.user}"), "None");
        assert_eq!(t("{event.details.ip|when:details.user}"), "None");
        assert_eq!(
            t("{top.details.ip|each:\" {0} ({1} hits)\"|join:\"\"}"),
            " None (2 hits)"
        );
        // The store's view is unchanged: null is no value.
        assert_eq!(get_path(&e1, "details.user"), None);
        assert_eq!(lookup(&e1, "details.user"), Some(&Value::Null));
    }
}
