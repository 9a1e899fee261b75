//! Compiling rule files: checking every field, expanding configuration into queries, and
//! reporting each problem with its file and line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveTime};
use ferrodef_event::Severity;
use ferrodef_query::Matcher;
use serde_json::Value;

use crate::builtin::SshPolicy;
use crate::spec::{KindSpec, RuleSpec};
use crate::template::Template;

/// Largest rule file, in bytes (a rule is a page of YAML; this bounds parsing work).
pub const MAX_RULE_BYTES: usize = 1024 * 1024;

/// A problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file (or embedded name).
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for RuleError {}

/// How a compiled rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One alert per event.
    Event,
    /// Grouped by a field.
    Aggregation,
    /// On absence.
    Deadman,
    /// Grouped by host, kept only outside the SSH policy.
    SshLateral,
}

/// Compiled aggregation.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// Group-by field.
    pub field: String,
    /// Events a group needs.
    pub threshold: u64,
    /// Events carried.
    pub samples: usize,
    /// Distinct values of a field the group needs.
    pub distinct: Option<(String, u64)>,
    /// Keep only events whose field is an IP literal; carry every kept event.
    pub keep_ip_literal: Option<String>,
}

/// One runnable instance of a rule (a rule without `instances` has one).
#[derive(Debug, Clone)]
pub struct Instance {
    /// The query.
    pub query: Matcher,
    /// Exclusions.
    pub exclude: Vec<Matcher>,
    /// Window.
    pub window: Duration,
    /// Deduplication period.
    pub suppress: Duration,
    /// Configuration merged with the instance's values.
    pub vars: BTreeMap<String, Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Summary.
    pub summary: Template,
    /// Daily excluded times.
    pub exclude_time_of_day: Vec<(NaiveTime, NaiveTime)>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule id.
    pub id: String,
    /// MozDef class name.
    pub classname: String,
    /// Description.
    pub description: String,
    /// Whether `serve` runs it (`enabled: false` rules are still validated, listed and run by
    /// `rules test`).
    pub enabled: bool,
    /// Kind.
    pub kind: Kind,
    /// Aggregation.
    pub aggregate: Option<Aggregate>,
    /// Severity.
    pub severity: Severity,
    /// Conditional severities (aggregation value in list → severity).
    pub severity_when: Vec<(Vec<String>, Severity)>,
    /// Category.
    pub category: String,
    /// Channel.
    pub channel: Option<String>,
    /// Url.
    pub url: Option<String>,
    /// Instances.
    pub instances: Vec<Instance>,
    /// The SSH policy of `ssh_lateral` rules.
    pub ssh_policy: Option<SshPolicy>,
    /// Where it came from.
    pub source: String,
    /// The original file text.
    pub text: String,
}

/// 1-based line of the first `key:` in the text (0 when absent).
pub fn line_of(src: &str, key: &str) -> usize {
    let pat = format!("{key}:");
    for (i, l) in src.lines().enumerate() {
        let t = l.trim_start().trim_start_matches("- ");
        if t.starts_with(&pat) {
            return i + 1;
        }
    }
    0
}

/// Reads a duration: `90s`, `2m`, `6h`, `1d`, `1w` (also `5 minutes`, `20 hours`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration '{s}' needs a unit (s, m, h, d, w)"))?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("duration '{s}' does not start with a number"))?;
    if n > 10_000_000 {
        return Err(format!("duration '{s}' is too long"));
    }
    Ok(match unit.trim() {
        "s" | "sec" | "second" | "seconds" => Duration::seconds(n),
        "m" | "min" | "minute" | "minutes" => Duration::minutes(n),
        "h" | "hour" | "hours" => Duration::hours(n),
        "d" | "day" | "days" => Duration::days(n),
        "w" | "week" | "weeks" => Duration::weeks(n),
        u => {
            return Err(format!(
                "duration '{s}': unknown unit '{u}' (s, m, h, d, w)"
            ))
        }
    })
}

fn quote(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// Expands `${name}` in a query: a list becomes `("a" OR "b")`, a value is inserted as is.
pub fn expand(q: &str, vars: &BTreeMap<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed '${{' in query '{q}'"))?;
        let name = &after[..end];
        match vars.get(name) {
            Some(Value::Array(a)) => {
                if a.is_empty() {
                    return Err(format!("configuration list '{name}' is empty"));
                }
                let items: Vec<String> = a
                    .iter()
                    .map(|v| quote(&crate::template::leaf_text(v)))
                    .collect();
                out.push('(');
                out.push_str(&items.join(" OR "));
                out.push(')');
            }
            Some(v) => out.push_str(&crate::template::leaf_text(v)),
            None => {
                return Err(format!(
                    "query names '${{{name}}}', which is not configured"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("unknown severity '{s}'"))
}

fn time_of_day(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M:%S")
        .map_err(|_| format!("time of day '{s}' is not HH:MM:SS"))
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(crate::template::leaf_text).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Compiles a rule file's text; `name` is used for errors and as the default id. Returns
/// every problem found.
pub fn compile(name: &str, text: &str) -> Result<Rule, Vec<RuleError>> {
    let err = |line: usize, message: String| RuleError {
        file: name.to_string(),
        line,
        message,
    };
    if text.len() > MAX_RULE_BYTES {
        return Err(vec![err(
            0,
            format!(
                "rule file of {} bytes is larger than the limit of {MAX_RULE_BYTES} bytes",
                text.len()
            ),
        )]);
    }
    let spec: RuleSpec = match serde_yaml_ng::from_str(text) {
        Ok(s) => s,
        Err(e) => {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            return Err(vec![err(line, e.to_string())]);
        }
    };
    let mut errors = Vec::new();
    let at = |key: &str| line_of(text, key);
    let id = spec.id.clone().unwrap_or_else(|| {
        Path::new(name)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| name.to_string())
    });
    let kind = match spec.kind.unwrap_or(if spec.aggregate.is_some() {
        KindSpec::Aggregation
    } else {
        KindSpec::Event
    }) {
        KindSpec::Event => Kind::Event,
        KindSpec::Aggregation => Kind::Aggregation,
        KindSpec::Deadman => Kind::Deadman,
        KindSpec::SshLateral => Kind::SshLateral,
    };
    if matches!(kind, Kind::Aggregation | Kind::SshLateral) && spec.aggregate.is_none() {
        errors.push(err(
            at("kind"),
            format!("a {kind:?} rule needs 'aggregate'"),
        ));
    }
    if matches!(kind, Kind::Event | Kind::Deadman) && spec.aggregate.is_some() {
        errors.push(err(
            at("aggregate"),
            format!("'aggregate' does not apply to a {kind:?} rule"),
        ));
    }
    let aggregate = spec.aggregate.as_ref().map(|a| Aggregate {
        field: a.field.clone(),
        threshold: a.threshold.max(1),
        samples: a.samples,
        distinct: a.distinct.as_ref().map(|d| (d.field.clone(), d.min)),
        keep_ip_literal: a.keep_ip_literal.clone(),
    });
    let sev = severity(&spec.severity).unwrap_or_else(|e| {
        errors.push(err(at("severity"), e));
        Severity::Notice
    });
    let mut severity_when = Vec::new();
    for w in &spec.severity_when {
        match (severity(&w.severity), spec.config.get(&w.key_in)) {
            (Ok(s), Some(list)) => severity_when.push((string_list(Some(list)), s)),
            (Err(e), _) => errors.push(err(at("severity_when"), e)),
            (_, None) => errors.push(err(
                at("key_in"),
                format!(
                    "severity_when names the list '{}', which is not configured",
                    w.key_in
                ),
            )),
        }
    }
    let ssh_policy = if kind == Kind::SshLateral {
        match SshPolicy::from_config(&spec.config) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(err(at("config"), e));
                None
            }
        }
    } else {
        None
    };
    let mut tod = Vec::new();
    for t in &spec.exclude_time_of_day {
        match (time_of_day(&t.start), time_of_day(&t.end)) {
            (Ok(a), Ok(b)) => tod.push((a, b)),
            (Err(e), _) | (_, Err(e)) => errors.push(err(at("exclude_time_of_day"), e)),
        }
    }
    let base_instances = spec
        .instances
        .clone()
        .unwrap_or_else(|| vec![BTreeMap::new()]);
    let mut instances = Vec::new();
    for inst in &base_instances {
        let mut vars = spec.config.clone();
        vars.extend(inst.iter().map(|(k, v)| (k.clone(), v.clone())));
        let window_text = match inst.get("window") {
            Some(w) => crate::template::leaf_text(w),
            None => spec.window.clone(),
        };
        let window = parse_duration(&window_text).unwrap_or_else(|e| {
            errors.push(err(at("window"), e));
            Duration::minutes(1)
        });
        let suppress = match &spec.suppress {
            Some(s) => parse_duration(s).unwrap_or_else(|e| {
                errors.push(err(at("suppress"), e));
                window
            }),
            None => window,
        };
        let mut compile_q = |key: &str, q: &str| -> Option<Matcher> {
            let expanded = match expand(q, &vars) {
                Ok(x) => x,
                Err(e) => {
                    errors.push(err(at(key), e));
                    return None;
                }
            };
            match Matcher::parse(&expanded) {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(err(at(key), format!("query '{expanded}': {e}")));
                    None
                }
            }
        };
        let query = compile_q("query", &spec.query);
        let exclude: Vec<Option<Matcher>> = spec
            .exclude
            .iter()
            .map(|q| compile_q("exclude", q))
            .collect();
        let summary = Template::parse(&spec.summary).map_err(|e| err(at("summary"), e));
        let mut tags = spec.tags.clone();
        tags.extend(string_list(inst.get("tags")));
        match (query, summary) {
            (Some(query), Ok(summary)) => instances.push(Instance {
                query,
                exclude: exclude.into_iter().flatten().collect(),
                window,
                suppress,
                vars,
                tags,
                summary,
                exclude_time_of_day: tod.clone(),
            }),
            (_, Err(e)) => errors.push(e),
            _ => {}
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Err(errors);
    }
    Ok(Rule {
        id,
        classname: spec.classname.clone(),
        description: spec.description.clone(),
        enabled: spec.enabled,
        kind,
        aggregate,
        severity: sev,
        severity_when,
        category: spec.category.clone(),
        channel: spec.channel.clone().filter(|c| !c.is_empty()),
        url: spec.url.clone(),
        instances,
        ssh_policy,
        source: name.to_string(),
        text: text.to_string(),
    })
}

/// A summary of a rule for `rules list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// Id.
    pub id: String,
    /// MozDef class name.
    pub classname: String,
    /// Kind.
    pub kind: String,
    /// Window(s), e.g. `2m`.
    pub window: String,
    /// Severity.
    pub severity: String,
    /// Category.
    pub category: String,
    /// Description.
    pub description: String,
    /// Where it came from.
    pub source: String,
    /// Whether `serve` runs it.
    pub enabled: bool,
}

/// A set of compiled rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
}

static EMBEDDED: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../rules/mozdef");

impl RuleSet {
    /// The rule set shipped in the binary (`rules/mozdef/*.yaml`).
    pub fn from_embedded() -> Result<RuleSet, Vec<RuleError>> {
        let mut files: Vec<(String, String)> = EMBEDDED
            .files()
            .filter(|f| is_rule_file(f.path()))
            .map(|f| {
                (
                    format!("rules/mozdef/{}", f.path().display()),
                    f.contents_utf8().unwrap_or("").to_string(),
                )
            })
            .collect();
        files.sort();
        RuleSet::from_texts(files)
    }

    /// Compiles named texts, collecting every error.
    pub fn from_texts(files: Vec<(String, String)>) -> Result<RuleSet, Vec<RuleError>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (name, text) in files {
            match compile(&name, &text) {
                Ok(r) => rules.push(r),
                Err(e) => errors.extend(e),
            }
        }
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for r in &rules {
            if let Some(prev) = seen.insert(r.id.clone(), r.source.clone()) {
                errors.push(RuleError {
                    file: r.source.clone(),
                    line: line_of(&r.text, "id"),
                    message: format!("rule id '{}' is also used by {prev}", r.id),
                });
            }
        }
        if errors.is_empty() {
            Ok(RuleSet { rules })
        } else {
            Err(errors)
        }
    }

    /// Loads every `*.yaml`/`*.yml` file of a directory (or one file).
    pub fn load_dir(path: &Path) -> Result<RuleSet, Vec<RuleError>> {
        let files = collect_files(path).map_err(|e| vec![e])?;
        let mut texts = Vec::new();
        let mut errors = Vec::new();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(t) => texts.push((f.display().to_string(), t)),
                Err(e) => errors.push(RuleError {
                    file: f.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        match RuleSet::from_texts(texts) {
            Ok(s) if errors.is_empty() => Ok(s),
            Ok(_) => Err(errors),
            Err(mut e) => {
                errors.append(&mut e);
                Err(errors)
            }
        }
    }

    /// Checks paths (files or directories) and returns every problem (`rules validate`).
    pub fn validate(paths: &[PathBuf]) -> Vec<RuleError> {
        let mut errors = Vec::new();
        for p in paths {
            if let Err(mut e) = RuleSet::load_dir(p) {
                errors.append(&mut e);
            }
        }
        errors
    }

    /// One line per rule, for `rules list`.
    pub fn list(&self) -> Vec<RuleInfo> {
        self.rules
            .iter()
            .map(|r| {
                let mut windows: Vec<String> =
                    r.instances.iter().map(|i| fmt_duration(i.window)).collect();
                windows.dedup();
                RuleInfo {
                    id: r.id.clone(),
                    classname: r.classname.clone(),
                    kind: format!("{:?}", r.kind).to_lowercase(),
                    window: windows.join(","),
                    severity: r.severity.as_str().to_string(),
                    category: r.category.clone(),
                    description: r.description.clone(),
                    source: r.source.clone(),
                    enabled: r.enabled,
                }
            })
            .collect()
    }

    /// The rule whose MozDef class name is `classname`.
    pub fn by_classname(&self, classname: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.classname == classname)
    }

    /// The rule with this id.
    pub fn by_id(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// `2m`, `6h`, `90s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.num_seconds();
    if s % 86400 == 0 && s > 0 {
        format!("{}d", s / 86400)
    } else if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn is_rule_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml") | Some("yml")
    )
}

fn collect_files(path: &Path) -> Result<Vec<PathBuf>, RuleError> {
    let e = |m: String| RuleError {
        file: path.display().to_string(),
        line: 0,
        message: m,
    };
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let rd = std::fs::read_dir(path).map_err(|x| e(format!("cannot read: {x}")))?;
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|x| e(format!("cannot read: {x}")))?;
        let p = ent.path();
        if p.is_dir() {
            out.extend(collect_files(&p)?);
        } else if is_rule_file(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}
