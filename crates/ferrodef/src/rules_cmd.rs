//! `ferrodef rules`: validate, list, test and backtest detection rules.
//!
//! - `validate PATH…`: every problem of ferrodef rule files and Sigma rule files, with file
//!   and line; exit status 1 when there is one.
//! - `list`: the rules `serve` would run with this configuration.
//! - `test --mozdef-cases FILE`: MozDef's alert test cases (docs/rules.md);
//!   `test --sigma-regression DIR`: SigmaHQ-style regression data (docs/sigma.md); both print
//!   each failing case with the difference and end with `passed N of M cases`.
//!   `test --events FILE`: runs the rules over the events of FILE (NDJSON or a JSON array) and
//!   prints the alerts as JSON lines.
//! - `backtest RULE --from --to`: runs one rule over stored events, without notifying.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Args, Subcommand};
use ferrodef_detect::RuleSet;
use ferrodef_ingest::detect::Detector;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{SearchRequest, SortOrder, Store, TantivyStore};
use serde_json::{Map, Value};

use crate::config::{Config, ServeArgs};
use crate::detection::{load_rules, Detection};

/// Some cases failed or some rules have problems; what failed was printed already.
#[derive(Debug)]
pub struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

impl std::error::Error for Failed {}

/// `ferrodef rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Checks rule files (ferrodef or Sigma format) and prints every problem with its line.
    Validate {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Lists the rules of this configuration (ON: whether `serve` runs it).
    List(ConfigArgs),
    /// Runs rule test cases.
    Test(TestArgs),
    /// Runs one rule over stored events (no notification, nothing stored).
    Backtest(BacktestArgs),
}

/// The configuration whose rules are used.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file (its `[detection]` section)
    #[arg(long, env = "FERRODEF_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `rules test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// A MozDef alert case file (the format of MozDef's alert_cases.json)
    #[arg(long, conflicts_with_all = ["sigma_regression", "events"])]
    pub mozdef_cases: Option<PathBuf>,
    /// A directory laid out like SigmaHQ's: rules and regression_data/**/info.yml
    #[arg(long, conflicts_with = "events")]
    pub sigma_regression: Option<PathBuf>,
    /// Events (NDJSON or a JSON array) to run the configured rules over
    #[arg(long)]
    pub events: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `rules backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The rule's id (`ferrodef rules list`)
    pub rule: String,
    /// From (RFC 3339 or relative, e.g. now-7d)
    #[arg(long)]
    pub from: String,
    /// To (default now)
    #[arg(long, default_value = "now")]
    pub to: String,
    /// The data directory whose events are read
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub(crate) fn config(args: &ConfigArgs) -> anyhow::Result<Config> {
    let serve = ServeArgs {
        config: args.config.clone(),
        ..Default::default()
    };
    Config::resolve(&serve)
}

/// Runs a `rules` command.
pub async fn run(cmd: RulesCmd) -> anyhow::Result<()> {
    match cmd {
        RulesCmd::Validate { paths } => validate(&paths),
        RulesCmd::List(args) => list(&config(&args)?),
        RulesCmd::Test(args) => test(args),
        RulesCmd::Backtest(args) => backtest(args).await,
    }
}

/// Whether a YAML text is a Sigma rule (or collection) rather than a ferrodef rule.
fn is_sigma(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("logsource:") || l.starts_with("correlation:") || l.starts_with("action:")
    })
}

fn yaml_files(p: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("reading {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.file_name().is_some_and(|n| n == "regression_data") {
                continue;
            }
            yaml_files(&e, out)?;
        }
    } else if p.exists() {
        if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yml") | Some("yaml")
        ) {
            out.push(p.to_path_buf());
        }
    } else {
        bail!("{}: no such file or directory", p.display());
    }
    Ok(())
}

fn validate(paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in paths {
        yaml_files(p, &mut files)?;
    }
    let (mut sigma, mut ours) = (Vec::new(), Vec::new());
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        if is_sigma(&text) {
            sigma.push((f, text));
        } else {
            ours.push(f);
        }
    }
    let mut problems: Vec<String> = RuleSet::validate(&ours)
        .iter()
        .map(ToString::to_string)
        .collect();
    let (loaded, sigma_problems) =
        ferrodef_sigma::SigmaRules::from_texts(&sigma, &ferrodef_sigma::LoadOptions::default());
    let mut warnings = 0;
    for p in sigma_problems {
        if p.severity == ferrodef_sigma::ProblemSeverity::Error {
            problems.push(p.to_string());
        } else {
            warnings += 1;
            println!("warning: {p}");
        }
    }
    for p in &problems {
        println!("{p}");
    }
    println!(
        "{} ferrodef rule file(s), {} Sigma file(s) ({} rules loaded): {} problem(s), {} warning(s)",
        ours.len(),
        sigma.len(),
        loaded.len(),
        problems.len(),
        warnings
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failed.into())
    }
}

fn list(cfg: &Config) -> anyhow::Result<()> {
    let rules = load_rules(&cfg.detection)?;
    println!(
        "{:<36} {:<3} {:<10} {:<8} {:<9} {:<16} SOURCE",
        "ID", "ON", "KIND", "WINDOW", "SEVERITY", "CATEGORY"
    );
    for r in rules.mozdef.list() {
        println!(
            "{:<36} {:<3} {:<10} {:<8} {:<9} {:<16} {}",
            r.id,
            if r.enabled { "yes" } else { "no" },
            r.kind,
            r.window,
            r.severity,
            r.category,
            r.source
        );
    }
    if let Some(s) = &rules.sigma {
        for r in s.rules() {
            println!(
                "{:<36} {:<3} {:<10} {:<8} {:<9} {:<16} {}",
                r.id,
                "yes",
                "sigma",
                "-",
                r.severity().as_str(),
                r.title.chars().take(16).collect::<String>(),
                r.path.display()
            );
        }
    }
    Ok(())
}

fn test(args: TestArgs) -> anyhow::Result<()> {
    if let Some(file) = &args.mozdef_cases {
        let cfg = config(&args.config)?;
        let rules = load_rules(&cfg.detection)?;
        let report =
            ferrodef_detect::run_mozdef_cases(file, &rules.mozdef).map_err(anyhow::Error::msg)?;
        print!("{}", report.render());
        return if report.all_passed() {
            Ok(())
        } else {
            Err(Failed.into())
        };
    }
    if let Some(dir) = &args.sigma_regression {
        let report = ferrodef_sigma::run_regression(dir)
            .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        print!("{}", report.render());
        return if report.failed().is_empty() {
            Ok(())
        } else {
            Err(Failed.into())
        };
    }
    if let Some(file) = &args.events {
        let cfg = config(&args.config)?;
        return run_events(&cfg, file);
    }
    bail!("rules test: give --mozdef-cases FILE, --sigma-regression DIR or --events FILE")
}

/// Reads events: NDJSON, a JSON array, or concatenated JSON objects.
fn read_events(file: &Path) -> anyhow::Result<Vec<Map<String, Value>>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    for (i, v) in stream.enumerate() {
        let v = v.map_err(|e| {
            anyhow::anyhow!(
                "{}: line {}, column {}: {e}",
                file.display(),
                e.line(),
                e.column()
            )
        })?;
        match v {
            Value::Object(m) => out.push(m),
            Value::Array(items) => {
                for (j, item) in items.into_iter().enumerate() {
                    match item {
                        Value::Object(m) => out.push(m),
                        _ => bail!(
                            "{}: item {} of the array is not an object",
                            file.display(),
                            j + 1
                        ),
                    }
                }
            }
            _ => bail!("{}: value {} is not an object", file.display(), i + 1),
        }
    }
    Ok(out)
}

/// Runs the configured rules over events, in their order, each batch at its own time, and
/// prints the alerts (nothing is stored, the detection state is a temporary one).
/// Events a backtest reads per search.
const BACKTEST_PAGE: usize = 10_000;

/// Hands every stored event that `query` matches with `utctimestamp` in `[from, to]` to `f`,
/// oldest received first, reading pages of [`BACKTEST_PAGE`]; returns how many.
///
/// A page starts at the `receivedtimestamp` of the last event handed (as the store keeps it,
/// to the millisecond) and skips the events at that time already handed: the store orders
/// events of equal time the same way on every search of an unchanged index, and one request's
/// events, which share their time, can outnumber a page.
fn read_received_order(
    store: &dyn Store,
    query: &ferrodef_query::Expr,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
    mut f: impl FnMut(Map<String, Value>),
) -> anyhow::Result<u64> {
    use ferrodef_query::Expr;
    let received =
        |m: &Map<String, Value>| time_field(m, "receivedtimestamp").map(|t| t.timestamp_millis());
    let mut n = 0u64;
    // The time of the last event handed, and how many were handed at that time.
    let mut cursor: Option<(i64, usize)> = None;
    loop {
        let (query, skip) = match cursor {
            None => (query.clone(), 0),
            Some((ms, seen)) => {
                let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or(from);
                let since = Expr::Range {
                    field: "receivedtimestamp".into(),
                    lower: std::ops::Bound::Included(ferrodef_event::format_timestamp(&at)),
                    upper: std::ops::Bound::Unbounded,
                };
                (Expr::And(vec![query.clone(), since]), seen)
            }
        };
        let size = skip + BACKTEST_PAGE;
        let res = store.search(&SearchRequest {
            stream: ferrodef_store::EVENTS_STREAM.into(),
            query,
            from: Some(from),
            to: Some(to),
            size,
            sort_field: "receivedtimestamp".into(),
            order: SortOrder::Asc,
            now,
            budget: Default::default(),
        })?;
        let full = res.hits.len() == size;
        for hit in res.hits.into_iter().skip(skip) {
            let Value::Object(m) = hit else { continue };
            let t = received(&m).unwrap_or(i64::MIN);
            cursor = match cursor {
                Some((c, seen)) if c == t => Some((c, seen + 1)),
                _ => Some((t, 1)),
            };
            n += 1;
            f(m);
        }
        if !full {
            return Ok(n);
        }
    }
}

fn run_events(cfg: &Config, file: &Path) -> anyhow::Result<()> {
    let events = read_events(file)?;
    let tmp = tempfile::tempdir()?;
    let d = Detection::start(&cfg.detection, tmp.path())?;
    let mut alerts = Vec::new();
    let mut last = None;
    for e in events {
        let now = time_field(&e, "receivedtimestamp")
            .or_else(|| time_field(&e, "utctimestamp"))
            .unwrap_or_else(Utc::now);
        let mut batch = [e];
        alerts.extend(d.detect(&mut batch, now));
        last = Some(now);
    }
    if let Some(t) = last {
        alerts.extend(d.tick(t));
    }
    for a in &alerts {
        println!("{}", serde_json::to_string(a)?);
    }
    eprintln!("{} alert(s)", alerts.len());
    Ok(())
}

async fn backtest(args: BacktestArgs) -> anyhow::Result<()> {
    let cfg = config(&args.config)?;
    let rules = load_rules(&cfg.detection)?;
    let sigma = rules.sigma.as_ref().is_some_and(|s| {
        s.rules()
            .iter()
            .chain(s.correlation_rules())
            .any(|r| r.id == args.rule)
    });
    let mozdef = rules.mozdef.by_id(&args.rule).cloned();
    if mozdef.is_none() && !sigma {
        bail!(
            "no rule with id {:?} (see `ferrodef rules list`)",
            args.rule
        );
    }
    let now = Utc::now();
    let from =
        ferrodef_query::parse_time(&args.from, now).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = ferrodef_query::parse_time(&args.to, now).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if from >= to {
        bail!("--from must be before --to");
    }
    let dir = args.data_dir.clone().unwrap_or(cfg.data_dir.clone());
    let index = dir.join("index");
    if !index.is_dir() {
        bail!(
            "{} holds no ferrodef store (no index/ directory)",
            dir.display()
        );
    }
    let id = args.rule.clone();
    let detection = cfg.detection.clone();
    let (n, alerts) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let store = TantivyStore::open(&index, TantivyOptions::default())?;
        match mozdef {
            Some(rule) => {
                // Only what the rule's queries match can change its state: the store runs them.
                let query = ferrodef_query::Expr::Or(
                    rule.instances
                        .iter()
                        .map(|i| i.query.expr().clone())
                        .collect(),
                );
                let one = RuleSet { rules: vec![rule] };
                let mut run = ferrodef_detect::Backtest::new(&one, from, to);
                let n = read_received_order(&store, &query, from, to, now, |e| run.push(e))?;
                Ok((n, run.finish()))
            }
            None => sigma_backtest(&store, detection, &id, from, to, now),
        }
    })
    .await??;
    for a in &alerts {
        println!("{}", serde_json::to_string(a)?);
    }
    eprintln!("{} alert(s) from {n} event(s)", alerts.len());
    Ok(())
}

/// A Sigma rule or correlation over stored events: the configured Sigma rules (a correlation
/// needs the rules it counts) run on a temporary state over every event of the range, oldest
/// received first, each at its receive time, the clock ticking with them; the alerts of rule
/// `id` are kept.
fn sigma_backtest(
    store: &dyn Store,
    mut cfg: crate::config::DetectionConfig,
    id: &str,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<(u64, Vec<ferrodef_event::Alert>)> {
    cfg.mozdef_rules = false;
    cfg.rules_dirs.clear();
    cfg.geomodel = false;
    let tmp = tempfile::tempdir()?;
    let d = Detection::start(&cfg, tmp.path())?;
    let mut alerts = Vec::new();
    let mut ticked: Option<chrono::DateTime<Utc>> = None;
    let n = read_received_order(store, &ferrodef_query::Expr::MatchAll, from, to, now, |e| {
        let at = time_field(&e, "receivedtimestamp")
            .or_else(|| time_field(&e, "utctimestamp"))
            .unwrap_or(now);
        if ticked.is_none_or(|t| at - t >= chrono::Duration::seconds(1)) {
            alerts.extend(d.tick(at));
            ticked = Some(at);
        }
        alerts.extend(d.detect(&mut [e], at));
    })?;
    alerts.extend(d.tick(to.min(now)));
    alerts.retain(|a| a.rule == id);
    Ok((n, alerts))
}

/// A time field of a stored event.
fn time_field(e: &Map<String, Value>, field: &str) -> Option<chrono::DateTime<Utc>> {
    e.get(field)
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}
