//! The detector the ingest service runs on every batch (see `ferrodef_ingest::detect`): the
//! MozDef rule engine (`ferrodef-detect`, the shipped rule set plus the operator's rule
//! directories), Sigma rules and correlations (`ferrodef-sigma`, from the operator's
//! directories) and impossible travel (`ferrodef-geomodel`). Their state is saved under
//! `<data>/detect/` every few seconds and at shutdown, and read back at start.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use ferrodef_detect::{Engine, EngineOptions, EngineState, RuleSet};
use ferrodef_event::{Alert, Node, RuleKind, Severity, Subject};
use ferrodef_geomodel::{GeoConfig, GeoModel};
use ferrodef_ingest::detect::Detector;
use ferrodef_sigma::{CorrelationHit, Correlator, CorrelatorState, RuleInfo, SigmaRules};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::DetectionConfig;

/// A random 64-bit value (alert ids).
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one((COUNTER.fetch_add(1, Ordering::Relaxed), Utc::now()))
}

/// The rules a detector runs, loaded and checked.
pub struct LoadedRules {
    /// MozDef-format rules (shipped, then the operator's: same id replaces).
    pub mozdef: RuleSet,
    /// Sigma rules, if any directory was given.
    pub sigma: Option<Arc<SigmaRules>>,
}

/// Loads the configured rules; any problem is an error naming the file and line (a rule that
/// does not load is never skipped silently).
pub fn load_rules(cfg: &DetectionConfig) -> anyhow::Result<LoadedRules> {
    let mut mozdef = if cfg.mozdef_rules {
        RuleSet::from_embedded().map_err(|errs| rule_errors("the shipped rule set", &errs))?
    } else {
        RuleSet::default()
    };
    for dir in &cfg.rules_dirs {
        let extra = RuleSet::load_dir(dir)
            .map_err(|errs| rule_errors(&dir.display().to_string(), &errs))?;
        for r in extra.rules {
            mozdef.rules.retain(|old| old.id != r.id);
            mozdef.rules.push(r);
        }
    }
    let sigma = if cfg.sigma_dirs.is_empty() {
        None
    } else {
        let opts = ferrodef_sigma::load_options(cfg.sigma_mapping.as_deref())
            .map_err(|e| anyhow::anyhow!("sigma mapping: {e}"))?;
        let mut texts = Vec::new();
        for dir in &cfg.sigma_dirs {
            texts.extend(sigma_texts(dir)?);
        }
        let (rules, problems) = SigmaRules::from_texts(&texts, &opts);
        let (errors, warnings): (Vec<_>, Vec<_>) = problems
            .iter()
            .partition(|p| p.severity == ferrodef_sigma::ProblemSeverity::Error);
        for w in warnings {
            tracing::warn!("sigma: {w}");
        }
        if !errors.is_empty() {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::bail!(
                "{} Sigma rule problem(s):\n  {}",
                list.len(),
                list.join("\n  ")
            );
        }
        Some(Arc::new(rules))
    };
    Ok(LoadedRules { mozdef, sigma })
}

fn rule_errors(what: &str, errs: &[ferrodef_detect::RuleError]) -> anyhow::Error {
    let list: Vec<String> = errs.iter().map(ToString::to_string).collect();
    anyhow::anyhow!("rules in {what}:\n  {}", list.join("\n  "))
}

/// The `.yml`/`.yaml` files under `dir` (or `dir` itself), with their text.
fn sigma_texts(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta =
            std::fs::metadata(&p).with_context(|| format!("sigma rules: {}", p.display()))?;
        if meta.is_dir() && p.file_name().is_some_and(|n| n == "regression_data") {
            // Test samples of SigmaHQ's layout, not rules.
            continue;
        }
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("sigma rules: {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            stack.extend(entries.into_iter().rev());
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yml") | Some("yaml")
        ) {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("sigma rules: reading {}", p.display()))?;
            out.push((p, text));
        }
    }
    Ok(out)
}

/// What is saved across restarts.
#[derive(Default, Serialize, Deserialize)]
struct Saved {
    mozdef: Option<EngineState>,
    correlations: Option<CorrelatorState>,
    /// Sigma suppression: `rule id \u{1f} key` → until.
    sigma_suppressed: HashMap<String, DateTime<Utc>>,
    /// Sigma suppression: `rule id \u{1f} key` → alerts suppressed in the current period.
    #[serde(default)]
    sigma_suppressed_counts: HashMap<String, u64>,
    /// The state covers the log up to this record (the ingest service replays the rest).
    #[serde(default)]
    log_seq: Option<u64>,
}

/// Sigma alerts suppressed: until when, and how many in the current period, by
/// `rule id \u{1f} key`.
#[derive(Default)]
struct SigmaSuppressed {
    until: HashMap<String, DateTime<Utc>>,
    count: HashMap<String, u64>,
}

/// The detector.
pub struct Detection {
    mozdef: Mutex<Engine>,
    sigma: Option<Arc<SigmaRules>>,
    correlator: Mutex<Option<Correlator>>,
    geomodel: Option<Mutex<GeoModel>>,
    /// Same Sigma rule and key (host): no new alert before this.
    sigma_suppressed: Mutex<SigmaSuppressed>,
    suppress_for: Duration,
    dir: PathBuf,
    /// The log record the saved state covers up to, as loaded at start.
    saved_seq: u64,
}

impl Detection {
    /// The detector of `cfg`'s rules, with the state saved in `<data_dir>/detect/`.
    pub fn start(cfg: &DetectionConfig, data_dir: &Path) -> anyhow::Result<Detection> {
        let rules = load_rules(cfg)?;
        let dir = data_dir.join("detect");
        ferrodef_ingest::create_private_dir(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let saved: Saved = match std::fs::read(dir.join("state.json")) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::error!("detection state {}: {e}; starting afresh", dir.display());
                Saved::default()
            }),
            Err(_) => Saved::default(),
        };
        let opts = EngineOptions::default();
        let mut rules = rules;
        // Rules shipped disabled (e.g. deadman checks whose sample hosts would fire on every
        // install) are validated and testable, not run.
        rules.mozdef.rules.retain(|r| r.enabled);
        let engine = match saved.mozdef {
            Some(st) => Engine::restore(rules.mozdef, opts, st),
            None => Engine::new(rules.mozdef, opts),
        };
        if engine.unreadable_on_restore() > 0 {
            tracing::warn!(
                dropped = engine.unreadable_on_restore(),
                "rules' saved state: window events that are not JSON objects were dropped \
                 (damaged state file); those windows restart without them"
            );
        }
        let correlator = rules.sigma.as_ref().map(|s| {
            Correlator::with_state(
                s.clone(),
                saved.correlations.unwrap_or_default(),
                Default::default(),
            )
        });
        let geomodel = if cfg.geomodel {
            let path = dir.join("geomodel.json");
            Some(Mutex::new(
                GeoModel::load(&path, GeoConfig::default())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            ))
        } else {
            None
        };
        Ok(Detection {
            mozdef: Mutex::new(engine),
            sigma: rules.sigma,
            correlator: Mutex::new(correlator),
            geomodel,
            sigma_suppressed: Mutex::new(SigmaSuppressed {
                until: saved.sigma_suppressed,
                count: saved.sigma_suppressed_counts,
            }),
            suppress_for: Duration::seconds(cfg.suppress_secs as i64),
            dir,
            // No state yet (or one from before states recorded this): every record the rules
            // saw is replayed (the log holds only what was not indexed, and the segment
            // being written).
            saved_seq: saved.log_seq.unwrap_or(0),
        })
    }

    /// Numbers for `/status` and the log: rules loaded.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.mozdef.lock().rules().rules.len(),
            self.sigma.as_ref().map_or(0, |s| s.len()),
        )
    }

    /// The log record the state loaded at start covers up to (0: no saved state).
    pub fn saved_seq(&self) -> u64 {
        self.saved_seq
    }

    /// Captures the state, covering the log up to `log_seq`; returns what writes it.
    fn capture(&self, log_seq: u64) -> impl FnOnce() -> anyhow::Result<()> + Send {
        let (sigma_suppressed, sigma_suppressed_counts) = {
            let s = self.sigma_suppressed.lock();
            (s.until.clone(), s.count.clone())
        };
        let saved = Saved {
            mozdef: Some(self.mozdef.lock().snapshot()),
            correlations: self.correlator.lock().as_ref().map(|c| c.state().clone()),
            sigma_suppressed,
            sigma_suppressed_counts,
            log_seq: Some(log_seq),
        };
        let geo = self.geomodel.as_ref().map(|g| g.lock().snapshot());
        let dir = self.dir.clone();
        move || {
            let bytes = serde_json::to_vec(&saved)?;
            write_atomically(&dir.join("state.json"), &bytes)?;
            if let Some(g) = geo {
                let p = dir.join("geomodel.json");
                g.save(&p)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            }
            Ok(())
        }
    }

    /// Sigma on one event: alerts of the rules it matches (suppressed per rule and host for
    /// `suppress_for`), and what the correlations make of the matches.
    fn sigma_event(
        &self,
        sigma: &SigmaRules,
        event: &mut Subject,
        now: DateTime<Utc>,
        alerts: &mut Vec<Alert>,
    ) {
        let v = event.node();
        let mut matched: Vec<&RuleInfo> = Vec::new();
        sigma.for_each_match(v, |r| matched.push(r));
        if matched.is_empty() {
            return;
        }
        let mut names = Vec::new();
        let at = event_time(v).unwrap_or(now);
        let mut corr = self.correlator.lock();
        for r in &matched {
            if r.alert {
                let key = host_of(v);
                if let Some(carried) = self.sigma_first(&r.id, &key, now) {
                    let mut a = sigma_alert(r, v, key, now);
                    if carried > 0 {
                        a.details
                            .extend(ferrodef_detect::suppressed_details(carried, carried));
                    }
                    alerts.push(a);
                    names.push(format!("sigma:{}", r.id));
                }
            }
            if let Some(c) = corr.as_mut().filter(|c| c.wants(&r.id)) {
                for hit in c.observe(r, v, at) {
                    alerts.push(correlation_alert(hit, now));
                }
            }
        }
        drop(corr);
        for n in names {
            event.add_alert_name(&n);
        }
    }

    /// Whether an alert for this Sigma rule and key may fire now (then its suppression starts,
    /// and the answer is how many alerts the period before it suppressed); else it is counted.
    fn sigma_first(&self, rule: &str, key: &Option<String>, now: DateTime<Utc>) -> Option<u64> {
        let k = format!("{rule}\u{1f}{}", key.as_deref().unwrap_or(""));
        let mut s = self.sigma_suppressed.lock();
        if s.until.get(&k).is_some_and(|until| *until > now) {
            *s.count.entry(k).or_default() += 1;
            return None;
        }
        if s.until.len() > 100_000 {
            let SigmaSuppressed { until, count } = &mut *s;
            until.retain(|_, u| *u > now);
            count.retain(|k, _| until.contains_key(k));
        }
        let carried = s.count.remove(&k).unwrap_or(0);
        s.until.insert(k, now + self.suppress_for);
        Some(carried)
    }
}

impl Detector for Detection {
    fn detect(&self, events: &mut [Map<String, Value>], now: DateTime<Utc>) -> Vec<Alert> {
        let mut subjects: Vec<Subject> = events
            .iter_mut()
            .map(|e| Subject::Map(std::mem::take(e)))
            .collect();
        let alerts = self.detect_subjects(&mut subjects, now, &mut Vec::new());
        for (e, s) in events.iter_mut().zip(subjects) {
            if let Subject::Map(m) = s {
                *e = m;
            }
        }
        alerts
    }

    /// Sigma and impossible travel first; then the MozDef rules, whose windows keep the
    /// events they match as the text the batch leaves with (`alert_names` included).
    fn detect_subjects(
        &self,
        events: &mut [Subject],
        now: DateTime<Utc>,
        texts: &mut Vec<Option<Arc<str>>>,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if let Some(sigma) = &self.sigma {
            for ev in events.iter_mut() {
                self.sigma_event(sigma, ev, now, &mut alerts);
            }
        }
        if let Some(g) = &self.geomodel {
            let mut g = g.lock();
            for ev in events.iter() {
                if let Some(a) = g.observe(ev.node(), now) {
                    alerts.push(a);
                }
            }
            let evicted = g.take_evictions();
            if evicted > 0 {
                alerts.push(system_alert(
                    "geomodel_users_limit",
                    format!("impossible travel: {evicted} user(s) forgotten (the user limit of the model was reached)"),
                    now,
                ));
            }
        }
        // Last: the texts of the events its windows keep are the events' final form.
        alerts.extend(self.mozdef.lock().process_sealing(events, now, texts));
        alerts
    }

    fn tick(&self, now: DateTime<Utc>) -> Vec<Alert> {
        let mut alerts = self.mozdef.lock().tick(now);
        if let Some(c) = self.correlator.lock().as_mut() {
            for hit in c.expire(now) {
                alerts.push(correlation_alert(hit, now));
            }
        }
        alerts
    }

    fn checkpoint(&self, log_seq: u64) -> Box<dyn FnOnce() -> Result<(), String> + Send> {
        let write = self.capture(log_seq);
        Box::new(move || write().map_err(|e| format!("{e:#}")))
    }
}

/// The event's own time.
fn event_time(v: Node<'_>) -> Option<DateTime<Utc>> {
    v.get("utctimestamp")
        .and_then(Node::as_str)
        .and_then(ferrodef_event::read_rfc3339)
}

/// The host an event is about.
fn host_of(v: Node<'_>) -> Option<String> {
    v.get("hostname")
        .and_then(Node::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

fn base_alert(
    rule: &str,
    kind: RuleKind,
    classname: &str,
    severity: Severity,
    now: DateTime<Utc>,
) -> Alert {
    Alert {
        id: Alert::new_id(now, random_u64()),
        utctimestamp: now,
        severity,
        summary: String::new(),
        category: String::new(),
        tags: Vec::new(),
        rule: rule.to_string(),
        rule_kind: kind,
        classname: classname.to_string(),
        channel: None,
        notify_mozdefbot: Alert::mozdefbot(severity, None),
        url: None,
        key: None,
        count: 0,
        events: Vec::new(),
        details: Map::new(),
    }
}

/// The alert of a Sigma rule's match.
fn sigma_alert(r: &RuleInfo, event: Node<'_>, key: Option<String>, now: DateTime<Utc>) -> Alert {
    let mut a = base_alert(&r.id, RuleKind::Sigma, &r.title, r.severity(), now);
    a.summary = match &key {
        Some(h) => format!("{} on {h}", r.title),
        None => r.title.clone(),
    };
    a.category = "sigma".into();
    a.tags = std::iter::once("sigma".to_string())
        .chain(r.tags.iter().cloned())
        .collect();
    a.url = r.references.first().cloned();
    a.key = key;
    a.count = 1;
    a.events = vec![event.to_value()];
    a.details = sigma_details(r);
    a
}

fn sigma_details(r: &RuleInfo) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert(
        "sigma".into(),
        json!({
            "id": r.id,
            "title": r.title,
            "level": r.level.map(|l| format!("{l:?}").to_lowercase()),
            "status": r.status,
            "description": r.description,
            "author": r.author,
            "falsepositives": r.falsepositives,
            "file": r.path.display().to_string(),
        }),
    );
    d
}

/// The alert of a correlation hit (or of a correlation limit reached).
fn correlation_alert(hit: CorrelationHit, now: DateTime<Utc>) -> Alert {
    match hit {
        CorrelationHit::Match(m) => {
            let r = &m.rule;
            let mut a = base_alert(&r.id, RuleKind::Correlation, &r.title, r.severity(), now);
            let group: Vec<String> = m
                .group
                .iter()
                .map(|(f, v)| format!("{f}={}", v.as_deref().unwrap_or("-")))
                .collect();
            a.summary = if group.is_empty() {
                format!("{} ({} matches)", r.title, m.count)
            } else {
                format!("{} ({} matches, {})", r.title, m.count, group.join(", "))
            };
            a.category = "correlation".into();
            a.tags = std::iter::once("sigma".to_string())
                .chain(r.tags.iter().cloned())
                .collect();
            a.key = (!group.is_empty()).then(|| group.join(","));
            a.count = m.count as u64;
            a.details = sigma_details(r);
            a.details.insert(
                "correlation".into(),
                json!({
                    "type": format!("{:?}", m.kind),
                    "first": m.first,
                    "last": m.last,
                    "value": m.value,
                    "rules": m.rules,
                    "events": m.events,
                }),
            );
            a
        }
        CorrelationHit::LimitReached(l) => system_alert(
            &format!("correlation_limit:{}", l.rule.id),
            format!(
                "Sigma correlation '{}': state limit {:?} of {} reached; older state was dropped",
                l.rule.title, l.limit, l.cap
            ),
            now,
        ),
    }
}

/// ferrodef telling about itself (a limit was reached).
pub fn system_alert(rule: &str, summary: String, now: DateTime<Utc>) -> Alert {
    let mut a = base_alert(rule, RuleKind::System, "ferrodef", Severity::Warning, now);
    a.summary = summary;
    a.category = "maintenance".into();
    a.tags = vec!["ferrodef".into()];
    a
}

/// Writes `bytes` to `path` durably and atomically (a temporary file synced, then renamed).
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[path = "../../../tests-support/corpora.rs"]
mod test_corpora;

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_corpora::corpora;

    /// An alert without what differs from run to run (its id).
    fn comparable(a: &Alert) -> Value {
        let mut v = serde_json::to_value(a).unwrap();
        if let Some(m) = v.as_object_mut() {
            m.remove("id");
        }
        v
    }

    #[test]
    fn opened_events_detect_exactly_as_their_json_objects() {
        use ferrodef_transforms::normalize::{normalize, NormalizeContext};
        use ferrodef_transforms::pipeline::{Pipeline, TransformsConfig};
        // The benchmark's mix, normalized and transformed as the server does; every rule
        // (the shipped MozDef set, the corpus's Sigma rules, impossible travel) run by two
        // detectors, one given each event opened, the other its JSON object.
        let (pipeline, _) = Pipeline::from_config(&TransformsConfig::default()).unwrap();
        let start = Utc::now();
        let ctx = NormalizeContext {
            now: start,
            mozdefhostname: "eq".into(),
            default_tz: chrono_tz::UTC,
            source: None,
        };
        let events: Vec<ferrodef_event::Event> = (0..8000)
            .map(|i| {
                let raw = crate::bench::generate(
                    i,
                    "eq",
                    3_600_000,
                    i % 1000 == 0,
                    start.timestamp_millis(),
                );
                let mut e = normalize(raw, &ctx).unwrap();
                pipeline.run(&mut e);
                e
            })
            .collect();
        let cfg = DetectionConfig {
            sigma_dirs: vec![corpora().join("sigma/rules")],
            ..DetectionConfig::default()
        };
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (
            Detection::start(&cfg, da.path()).unwrap(),
            Detection::start(&cfg, db.path()).unwrap(),
        );
        let (mut alerts, mut named, mut kept) = (0, 0, 0);
        let mut now = start;
        for chunk in events.chunks(32) {
            let mut opened: Vec<Subject> = chunk.iter().cloned().map(Subject::from).collect();
            let mut objects: Vec<Subject> = chunk
                .iter()
                .cloned()
                .map(|e| Subject::Map(e.into_map()))
                .collect();
            let (mut ta, mut tb) = (Vec::new(), Vec::new());
            let xa = a.detect_subjects(&mut opened, now, &mut ta);
            let xb = b.detect_subjects(&mut objects, now, &mut tb);
            assert_eq!(
                xa.iter().map(comparable).collect::<Vec<_>>(),
                xb.iter().map(comparable).collect::<Vec<_>>()
            );
            assert_eq!(ta, tb);
            for (x, y) in opened.iter().zip(&objects) {
                assert_eq!(x.to_json(), y.to_json());
                named += usize::from(x.node().get("alert_names").is_some());
            }
            alerts += xa.len();
            kept += ta.iter().flatten().count();
            now += Duration::milliseconds(1);
        }
        // The mix exercised what differs: alerts, events given `alert_names`, kept events.
        assert!(
            alerts > 50 && named > 50 && kept > 500,
            "{alerts} {named} {kept}"
        );
    }

    #[test]
    fn a_sigma_alert_after_a_suppression_period_tells_what_was_suppressed() {
        let tmp = tempfile::tempdir().unwrap();
        let rules = tmp.path().join("sigma");
        std::fs::create_dir_all(&rules).unwrap();
        std::fs::write(
            rules.join("nc.yml"),
            "title: Netcat listener\nid: 0d4c0ee6-1111-4b9e-8f2a-000000000002\nlevel: high\n\
             logsource:\n    product: linux\ndetection:\n    keywords:\n        - 'nc -lvp'\n\
             \x20   condition: keywords\n",
        )
        .unwrap();
        let cfg = DetectionConfig {
            mozdef_rules: false,
            geomodel: false,
            sigma_dirs: vec![rules],
            suppress_secs: 60,
            ..DetectionConfig::default()
        };
        let d = Detection::start(&cfg, tmp.path()).unwrap();
        let t0 = Utc::now();
        let fire = |at: DateTime<Utc>| {
            let mut ev = serde_json::json!({
                "category": "syslog", "hostname": "box1", "processname": "bash",
                "summary": "user ran nc -lvp 4444",
                "utctimestamp": ferrodef_event::format_timestamp(&at),
            });
            let m = ev.as_object_mut().map(std::mem::take).unwrap_or_default();
            d.detect(&mut [m], at)
        };
        let first = fire(t0);
        assert_eq!(first.len(), 1);
        assert!(first[0].details.get("suppressed").is_none());
        // Within the period: suppressed, twice.
        assert!(fire(t0 + Duration::seconds(10)).is_empty());
        assert!(fire(t0 + Duration::seconds(20)).is_empty());
        let next = fire(t0 + Duration::seconds(61));
        assert_eq!(next.len(), 1);
        assert_eq!(
            next[0].details.get("suppressed"),
            Some(&json!({"alerts": 2, "events": 2}))
        );
        // The state with the counts is saved (and restored by the next start).
        assert!(fire(t0 + Duration::seconds(70)).is_empty());
        d.checkpoint(7)().unwrap();
        let again = Detection::start(&cfg, tmp.path()).unwrap();
        assert_eq!(again.saved_seq(), 7);
        let mut ev = json!({"category": "syslog", "hostname": "box1", "summary": "nc -lvp 1"});
        let m = ev.as_object_mut().map(std::mem::take).unwrap_or_default();
        let after = again.detect(&mut [m], t0 + Duration::seconds(122));
        assert_eq!(
            after[0].details.get("suppressed"),
            Some(&json!({"alerts": 1, "events": 1}))
        );
    }
}
