//! SigmaHQ-style regression tests (`ferrodef rules test --sigma-regression DIR`).
//!
//! `DIR` is laid out like SigmaHQ's repository: rule files anywhere (folders named
//! `regression_data` excepted), a rule with tests has `regression_tests_path` pointing at an
//! `info.yml` (relative to the folder root, found by walking up from the rule's folder as
//! SigmaHQ's runner does), whose `regression_tests_info[]` entries name a sample (`path`,
//! an `.evtx` upstream; its JSON rendering `<same name>.json` is read, else the `.json` files
//! next to `info.yml`). A sample holds one or more JSON events, possibly concatenated.
//!
//! Each test is one case. The rule set is the whole directory loaded at once; a case runs
//! every event of its sample through it and counts the events the rule matches.
//! A case passes when the rule matched at least `match_count` events (at least one when
//! `match_count` is unset). SigmaHQ's runner (`tests/regression_tests_runner.py`) passes a
//! test when the rule's id appears in the checker's output at all, and its data relies on
//! that: e.g. `registry_set_disable_administrative_share` says `match_count: 1` for a sample
//! of two events that both meet the rule. A lower bound keeps `match_count` meaningful
//! (too few matches fail) without failing samples upstream accepts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

use crate::error::{Error, LoadProblem, ProblemSeverity};
use crate::ruleset::SigmaRules;

/// Largest sample file read (hostile input).
const MAX_SAMPLE_BYTES: u64 = 64 * 1024 * 1024;

/// One regression test of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegressionCase {
    /// The rule file.
    pub rule_path: PathBuf,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The test's `name`.
    pub test_name: String,
    /// The sample read.
    pub sample: Option<PathBuf>,
    /// `match_count` (`None`: at least one).
    pub expected: Option<usize>,
    /// Events of the sample the rule matched.
    pub actual: usize,
    /// Events in the sample.
    pub events: usize,
    /// Why the case could not run (rule did not load, sample missing or invalid...).
    pub error: Option<String>,
}

impl RegressionCase {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.actual >= self.expected.unwrap_or(1).max(1)
    }
}

/// The outcome of a regression run.
#[derive(Debug, Clone, Default)]
pub struct RegressionReport {
    /// Every case, in rule path order.
    pub cases: Vec<RegressionCase>,
    /// Problems loading the directory's rules (also reported in the failing cases of the
    /// rules concerned).
    pub load_problems: Vec<LoadProblem>,
}

impl RegressionReport {
    /// The failing cases.
    pub fn failed(&self) -> Vec<&RegressionCase> {
        self.cases.iter().filter(|c| !c.passed()).collect()
    }

    /// Number of passing cases.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// Text output: each failing case with the difference, then one line
    /// `passed N of M cases`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in self.failed() {
            let _ = write!(
                out,
                "FAIL {} ({} \"{}\") test \"{}\"",
                c.rule_path.display(),
                c.rule_id,
                c.title,
                c.test_name
            );
            if let Some(s) = &c.sample {
                let _ = write!(out, " sample {}", s.display());
            }
            match &c.error {
                Some(e) => {
                    let _ = writeln!(out, ": {e}");
                }
                None => {
                    let want = format!("at least {}", c.expected.unwrap_or(1).max(1));
                    let _ = writeln!(
                        out,
                        ": expected {want} match(es), got {} (of {} event(s))",
                        c.actual, c.events
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "passed {} of {} cases",
            self.passed(),
            self.cases.len()
        );
        out
    }
}

/// Runs the regression tests of a directory laid out like SigmaHQ's.
pub fn run_regression(dir: &Path) -> Result<RegressionReport, Error> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let (rules, problems) = SigmaRules::load_dir(dir);
    let mut report = RegressionReport {
        cases: Vec::new(),
        load_problems: problems.clone(),
    };
    let mut files = Vec::new();
    collect_rule_files(dir, &mut files, 0);
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        // Only the rule's own keys are needed here; a file that is not YAML was reported
        // by the loader.
        let Ok(doc) = serde_yaml_ng::from_str::<Yaml>(&text) else {
            continue;
        };
        let Some(info_rel) = doc.get("regression_tests_path").and_then(Yaml::as_str) else {
            continue;
        };
        let rule_id = doc
            .get("id")
            .and_then(Yaml::as_str)
            .unwrap_or("?")
            .to_string();
        let title = doc
            .get("title")
            .and_then(Yaml::as_str)
            .unwrap_or("?")
            .to_string();
        let rule_dir = file.parent().unwrap_or(dir);
        let base = Case {
            rule_path: file.clone(),
            rule_id: rule_id.clone(),
            title,
        };
        let load_error = problems
            .iter()
            .filter(|p| p.path == file && p.severity == ProblemSeverity::Error)
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        let Some(info_path) = resolve(rule_dir, info_rel) else {
            report
                .cases
                .push(base.error("?", format!("regression_tests_path {info_rel} not found")));
            continue;
        };
        let tests = match read_tests(&info_path) {
            Ok(t) => t,
            Err(e) => {
                report.cases.push(base.error("?", e));
                continue;
            }
        };
        for t in tests {
            if !load_error.is_empty() {
                report.cases.push(base.error(
                    &t.name,
                    format!("rule did not load: {}", load_error.join("; ")),
                ));
                continue;
            }
            report
                .cases
                .push(run_case(&rules, &base, &t, rule_dir, &info_path));
        }
    }
    Ok(report)
}

struct Case {
    rule_path: PathBuf,
    rule_id: String,
    title: String,
}

impl Case {
    fn error(&self, test: &str, e: String) -> RegressionCase {
        RegressionCase {
            rule_path: self.rule_path.clone(),
            rule_id: self.rule_id.clone(),
            title: self.title.clone(),
            test_name: test.to_string(),
            sample: None,
            expected: None,
            actual: 0,
            events: 0,
            error: Some(e),
        }
    }
}

struct TestInfo {
    name: String,
    path: Option<String>,
    match_count: Option<usize>,
}

fn read_tests(info: &Path) -> Result<Vec<TestInfo>, String> {
    let text = std::fs::read_to_string(info).map_err(|e| format!("{}: {e}", info.display()))?;
    let doc: Yaml = serde_yaml_ng::from_str(&text).map_err(|e| {
        format!(
            "{}{}: invalid YAML: {e}",
            info.display(),
            e.location()
                .map(|l| format!(":{}", l.line()))
                .unwrap_or_default()
        )
    })?;
    let Some(Yaml::Sequence(items)) = doc.get("regression_tests_info") else {
        return Err(format!("{}: no regression_tests_info", info.display()));
    };
    let mut out = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let match_count = match t.get("match_count") {
            None | Some(Yaml::Null) => None,
            Some(v) => Some(v.as_u64().map(|n| n as usize).ok_or_else(|| {
                format!(
                    "{}: test {}: match_count is not a whole number",
                    info.display(),
                    i + 1
                )
            })?),
        };
        out.push(TestInfo {
            name: t
                .get("name")
                .and_then(Yaml::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("Test {}", i + 1)),
            path: t.get("path").and_then(Yaml::as_str).map(str::to_string),
            match_count,
        });
    }
    Ok(out)
}

fn run_case(
    rules: &SigmaRules,
    base: &Case,
    t: &TestInfo,
    rule_dir: &Path,
    info_path: &Path,
) -> RegressionCase {
    let mut case = base.error(&t.name, String::new());
    case.error = None;
    case.expected = t.match_count;
    let sample = match find_sample(t.path.as_deref(), rule_dir, info_path) {
        Some(s) => s,
        None => {
            case.error = Some(format!(
                "sample {} (or its .json rendering) not found",
                t.path.as_deref().unwrap_or("?")
            ));
            return case;
        }
    };
    case.sample = Some(sample.clone());
    let events = match read_events(&sample) {
        Ok(e) => e,
        Err(e) => {
            case.error = Some(e);
            return case;
        }
    };
    case.events = events.len();
    case.actual = events
        .iter()
        .filter(|e| rules.matches(e).iter().any(|r| r.id == base.rule_id))
        .count();
    case
}

/// Resolves a path relative to the folder root: tried from `start` and each parent.
fn resolve(start: &Path, rel: &str) -> Option<PathBuf> {
    let rel = rel.replace('\\', "/");
    let mut dir = Some(start);
    while let Some(d) = dir {
        let p = d.join(&rel);
        if p.exists() {
            return Some(p);
        }
        dir = d.parent();
    }
    None
}

fn find_sample(path: Option<&str>, rule_dir: &Path, info: &Path) -> Option<PathBuf> {
    if let Some(p) = path {
        let json = Path::new(p).with_extension("json");
        if let Some(found) = json.to_str().and_then(|j| resolve(rule_dir, j)) {
            return Some(found);
        }
        if p.ends_with(".json") {
            if let Some(found) = resolve(rule_dir, p) {
                return Some(found);
            }
        }
    }
    let dir = info.parent()?;
    let mut jsons: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    jsons.sort();
    (jsons.len() == 1).then(|| jsons.remove(0))
}

/// Reads a stream of JSON values (one or several concatenated objects; a top-level array
/// is taken as its elements).
pub fn read_events(path: &Path) -> Result<Vec<Value>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_SAMPLE_BYTES {
        return Err(format!(
            "{}: larger than {MAX_SAMPLE_BYTES} bytes",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_event_stream(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses concatenated JSON values.
pub fn parse_event_stream(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let offset = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(Value::Array(items))) => out.extend(items),
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => {
                return Err(format!(
                    "invalid JSON after byte {offset}: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            }
        }
    }
    Ok(out)
}

fn collect_rule_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if p.is_dir() {
            if name != "regression_data" && !name.starts_with('.') {
                collect_rule_files(&p, out, depth + 1);
            }
        } else if (name.ends_with(".yml") || name.ends_with(".yaml")) && name != "info.yml" {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concatenated_json_stream() {
        let v = parse_event_stream("{\"a\":1}\n{\"a\":2}{\"a\":3}").unwrap_or_default();
        assert_eq!(v.len(), 3);
        let err = parse_event_stream("{\"a\":1}\n{\"a\":")
            .err()
            .unwrap_or_default();
        assert!(err.contains("after byte 7"), "{err}");
    }
}
