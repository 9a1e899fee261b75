//! The streaming correlation engine: detection-rule matches go in (rule, event, event time),
//! correlation matches come out. State is bounded (groups per correlation, entries per
//! group); reaching a bound is itself an output ([`CorrelationHit::LimitReached`]), never a
//! silent drop. The state is serializable so it can be checkpointed.
//!
//! Semantics: per correlation and group (the `group-by` values), a sliding window of
//! `timespan` holds the matches. Lower bounds (`gt`/`gte`) on counts, distinct values,
//! rules seen and sums are checked after each observation (an alert as soon as the event
//! that completes it arrives); upper bounds and averages/percentiles are judged when the
//! window closes ([`Correlator::expire`]). When the condition holds, a [`CorrelationMatch`]
//! is emitted and the group's window starts afresh (so one burst yields one match). A correlation's match is itself observed by the
//! correlations that refer to it (chains).

pub(crate) mod rule;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use rule::{CondOp, CorrelationType};
use rule::{CorrelationRule, Ref, RefField};

use crate::rule::RuleInfo;
use crate::ruleset::SigmaRules;

/// Bounds of the correlation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Groups (distinct `group-by` values) per correlation.
    pub groups_per_correlation: usize,
    /// Matches kept in one group's window.
    pub entries_per_group: usize,
    /// Event references carried by one correlation match.
    pub events_per_match: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            groups_per_correlation: 10_000,
            entries_per_group: 10_000,
            events_per_match: 100,
        }
    }
}

/// One match in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    at: DateTime<Utc>,
    /// Index of the referenced rule in the correlation's `rules`.
    r: usize,
    value: Option<String>,
    event: Option<String>,
}

/// One group's window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Group {
    entries: VecDeque<Entry>,
    /// Whether the entry bound was reported since the window was last empty.
    limited: bool,
}

/// One correlation's groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CorrState {
    groups: BTreeMap<String, Group>,
    /// Whether the group bound was reported since the group count was last under it.
    limited: bool,
}

/// The serializable state of a [`Correlator`], keyed by correlation rule id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorrelatorState {
    correlations: BTreeMap<String, CorrState>,
}

/// A correlation rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationMatch {
    /// The correlation rule.
    pub rule: RuleInfo,
    /// Its type.
    pub kind: CorrelationType,
    /// The `group-by` fields and this group's values.
    pub group: Vec<(String, Option<String>)>,
    /// Time of the first and last match in the window.
    pub first: DateTime<Utc>,
    /// Time of the last match in the window.
    pub last: DateTime<Utc>,
    /// Number of matches in the window.
    pub count: usize,
    /// The aggregate the condition was checked on (count, distinct values, sum, average,
    /// percentile, number of distinct rules for temporal types).
    pub value: f64,
    /// Ids of the rules that contributed.
    pub rules: Vec<String>,
    /// References of the contributing events (as given to `observe_with_ref`), at most
    /// [`Limits::events_per_match`].
    pub events: Vec<String>,
}

/// Which bound was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Limit {
    /// [`Limits::groups_per_correlation`]: a new group was not tracked.
    Groups,
    /// [`Limits::entries_per_group`]: the oldest entries of the group were dropped.
    EntriesPerGroup,
}

/// A bound of the state was reached: the caller should turn this into an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitReached {
    /// The correlation rule.
    pub rule: RuleInfo,
    /// Which bound.
    pub limit: Limit,
    /// Its value.
    pub cap: usize,
    /// The group concerned.
    pub group: Vec<(String, Option<String>)>,
    /// When.
    pub at: DateTime<Utc>,
}

/// What an observation produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CorrelationHit {
    /// A correlation rule fired.
    Match(CorrelationMatch),
    /// A state bound was reached.
    LimitReached(LimitReached),
}

/// The correlation engine over a rule set's correlation rules.
#[derive(Debug, Clone)]
pub struct Correlator {
    rules: Arc<SigmaRules>,
    state: CorrelatorState,
    limits: Limits,
}

/// Deepest chain of correlations referring to correlations.
const MAX_CHAIN: usize = 8;

impl Correlator {
    /// An empty correlator.
    pub fn new(rules: Arc<SigmaRules>) -> Correlator {
        Correlator::with_state(rules, CorrelatorState::default(), Limits::default())
    }

    /// A correlator resuming from a checkpointed state. State of correlations no longer in
    /// the rule set is dropped.
    pub fn with_state(
        rules: Arc<SigmaRules>,
        mut state: CorrelatorState,
        limits: Limits,
    ) -> Correlator {
        state
            .correlations
            .retain(|id, _| rules.correlations.iter().any(|c| c.info.id == *id));
        Correlator {
            rules,
            state,
            limits,
        }
    }

    /// The state, for checkpointing.
    pub fn state(&self) -> &CorrelatorState {
        &self.state
    }

    /// Whether any correlation refers to the detection rule `rule_id` (to skip observing
    /// rules that feed nothing).
    pub fn wants(&self, rule_id: &str) -> bool {
        self.rules.correlations.iter().any(|c| {
            c.refs.iter().any(|r| match r {
                Ref::Rule(i) => self.rules.rules().get(*i).is_some_and(|x| x.id == rule_id),
                Ref::Correlation(_) => false,
            })
        })
    }

    /// Observes a detection rule's match of `event` at `at`.
    pub fn observe<'e>(
        &mut self,
        rule: &RuleInfo,
        event: impl Into<ferrodef_event::Node<'e>>,
        at: DateTime<Utc>,
    ) -> Vec<CorrelationHit> {
        self.observe_with_ref(rule, event, at, None)
    }

    /// [`Self::observe`] with a reference to the event (its id in the store), carried by
    /// the matches it contributes to.
    pub fn observe_with_ref<'e>(
        &mut self,
        rule: &RuleInfo,
        event: impl Into<ferrodef_event::Node<'e>>,
        at: DateTime<Utc>,
        event_ref: Option<String>,
    ) -> Vec<CorrelationHit> {
        let event = event.into();
        let mut out = Vec::new();
        let Some(ri) = self.rules.rule_index(&rule.id) else {
            return out;
        };
        let rules = Arc::clone(&self.rules);
        for (ci, c) in rules.correlations.iter().enumerate() {
            for (pos, r) in c.refs.iter().enumerate() {
                if *r != Ref::Rule(ri) {
                    continue;
                }
                let group: Vec<(String, Option<String>)> = c
                    .group_by
                    .iter()
                    .zip(&c.group_fields)
                    .map(|(name, per_ref)| {
                        (name.clone(), event_field(&rules, event, &per_ref[pos]))
                    })
                    .collect();
                let value = c
                    .value_field
                    .as_ref()
                    .and_then(|f| event_field(&rules, event, &f[pos]));
                self.push(ci, pos, group, value, at, event_ref.clone(), &mut out, 0);
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        ci: usize,
        pos: usize,
        group: Vec<(String, Option<String>)>,
        value: Option<String>,
        at: DateTime<Utc>,
        event: Option<String>,
        out: &mut Vec<CorrelationHit>,
        depth: usize,
    ) {
        let rules = Arc::clone(&self.rules);
        let Some(c) = rules.correlations.get(ci) else {
            return;
        };
        let key = serde_json::to_string(&group.iter().map(|(_, v)| v).collect::<Vec<_>>())
            .unwrap_or_default();
        let limits = self.limits;
        let cs = self
            .state
            .correlations
            .entry(c.info.id.clone())
            .or_default();
        if !cs.groups.contains_key(&key) {
            if cs.groups.len() >= limits.groups_per_correlation {
                if !cs.limited {
                    cs.limited = true;
                    out.push(CorrelationHit::LimitReached(LimitReached {
                        rule: c.info.clone(),
                        limit: Limit::Groups,
                        cap: limits.groups_per_correlation,
                        group,
                        at,
                    }));
                }
                return;
            }
            cs.groups.insert(key.clone(), Group::default());
        }
        let Some(g) = cs.groups.get_mut(&key) else {
            return;
        };
        // Keep the window ordered by time (events may arrive out of order).
        let idx = g.entries.partition_point(|e| e.at <= at);
        g.entries.insert(
            idx,
            Entry {
                at,
                r: pos,
                value,
                event,
            },
        );
        let latest = g.entries.back().map(|e| e.at).unwrap_or(at);
        while g
            .entries
            .front()
            .is_some_and(|e| e.at < latest - c.timespan)
        {
            g.entries.pop_front();
        }
        if g.entries.len() > limits.entries_per_group {
            g.entries.pop_front();
            if !g.limited {
                g.limited = true;
                out.push(CorrelationHit::LimitReached(LimitReached {
                    rule: c.info.clone(),
                    limit: Limit::EntriesPerGroup,
                    cap: limits.entries_per_group,
                    group: group.clone(),
                    at,
                }));
            }
        }
        if !eager(c) {
            // Upper bounds (`lt`, `lte`, `eq`...) can only be judged when the window closes:
            // see `expire`.
            return;
        }
        let Some(m) = window_match(&rules, c, &group, &g.entries, limits) else {
            return;
        };
        cs.groups.remove(&key);
        out.push(CorrelationHit::Match(m.clone()));
        self.chain(ci, &m, out, depth);
    }

    fn chain(
        &mut self,
        ci: usize,
        m: &CorrelationMatch,
        out: &mut Vec<CorrelationHit>,
        depth: usize,
    ) {
        let rules = Arc::clone(&self.rules);
        if depth >= MAX_CHAIN {
            return;
        }
        // Chains: correlations that refer to this one observe its match.
        for (cj, outer) in rules.correlations.iter().enumerate() {
            for (p, r) in outer.refs.iter().enumerate() {
                if *r != Ref::Correlation(ci) {
                    continue;
                }
                let g2 = outer
                    .group_by
                    .iter()
                    .zip(&outer.group_fields)
                    .map(|(name, per_ref)| {
                        let v = match &per_ref[p] {
                            RefField::Group(f) => m
                                .group
                                .iter()
                                .find(|(n, _)| n == f)
                                .and_then(|(_, v)| v.clone()),
                            RefField::Ids(_) => None,
                        };
                        (name.clone(), v)
                    })
                    .collect();
                self.push(
                    cj,
                    p,
                    g2,
                    None,
                    m.last,
                    m.events.first().cloned(),
                    out,
                    depth + 1,
                );
            }
        }
    }

    /// Advances time to `now`: windows of correlations with upper-bound conditions that
    /// closed are judged (their matches returned), then entries older than their
    /// timespan are dropped.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<CorrelationHit> {
        let rules = Arc::clone(&self.rules);
        let mut out = Vec::new();
        let limits = self.limits;
        for (ci, c) in rules.correlations.iter().enumerate() {
            let Some(cs) = self.state.correlations.get_mut(&c.info.id) else {
                continue;
            };
            let mut fired = Vec::new();
            if !eager(c) {
                let closed: Vec<String> = cs
                    .groups
                    .iter()
                    .filter(|(_, g)| g.entries.front().is_some_and(|e| e.at + c.timespan <= now))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in closed {
                    if let Some(g) = cs.groups.remove(&k) {
                        let values: Vec<Option<String>> =
                            serde_json::from_str(&k).unwrap_or_default();
                        let group = c.group_by.iter().cloned().zip(values).collect::<Vec<_>>();
                        if let Some(m) = window_match(&rules, c, &group, &g.entries, limits) {
                            fired.push(m);
                        }
                    }
                }
            }
            for g in cs.groups.values_mut() {
                while g.entries.front().is_some_and(|e| e.at < now - c.timespan) {
                    g.entries.pop_front();
                }
                if g.entries.len() < self.limits.entries_per_group {
                    g.limited = false;
                }
            }
            cs.groups.retain(|_, g| !g.entries.is_empty());
            if cs.groups.len() < self.limits.groups_per_correlation {
                cs.limited = false;
            }
            for m in fired {
                out.push(CorrelationHit::Match(m.clone()));
                self.chain(ci, &m, &mut out, 0);
            }
        }
        self.state
            .correlations
            .retain(|_, cs| !cs.groups.is_empty());
        out
    }
}

fn ref_id(rules: &SigmaRules, r: Option<&Ref>) -> Option<String> {
    match r? {
        Ref::Rule(i) => rules.rules().get(*i).map(|x| x.id.clone()),
        Ref::Correlation(i) => rules.correlations.get(*i).map(|x| x.info.id.clone()),
    }
}

fn event_field(
    rules: &SigmaRules,
    event: ferrodef_event::Node<'_>,
    f: &RefField,
) -> Option<String> {
    match f {
        RefField::Ids(ids) => rules.field_text(event, ids),
        RefField::Group(_) => None,
    }
}

/// Whether the condition can be judged as matches arrive: only lower bounds on aggregates
/// that never decrease as matches are added (counts, distinct values, rules seen, sums).
/// Averages and percentiles, and upper bounds, are judged when the window closes.
fn eager(c: &CorrelationRule) -> bool {
    !matches!(
        c.kind,
        CorrelationType::ValueAvg | CorrelationType::ValuePercentile
    ) && c
        .conditions
        .iter()
        .all(|(op, _)| matches!(op, CondOp::Gt | CondOp::Gte))
}

/// The match of a window, if its condition holds.
fn window_match(
    rules: &SigmaRules,
    c: &CorrelationRule,
    group: &[(String, Option<String>)],
    entries: &VecDeque<Entry>,
    limits: Limits,
) -> Option<CorrelationMatch> {
    let value = evaluate(c, entries)?;
    let mut ids: Vec<String> = entries
        .iter()
        .filter_map(|e| ref_id(rules, c.refs.get(e.r)))
        .collect();
    ids.sort();
    ids.dedup();
    Some(CorrelationMatch {
        rule: c.info.clone(),
        kind: c.kind,
        group: group.to_vec(),
        first: entries.front()?.at,
        last: entries.back()?.at,
        count: entries.len(),
        value,
        rules: ids,
        events: entries
            .iter()
            .filter_map(|e| e.event.clone())
            .take(limits.events_per_match)
            .collect(),
    })
}

/// The aggregate when the correlation's condition holds over the window.
fn evaluate(c: &CorrelationRule, entries: &VecDeque<Entry>) -> Option<f64> {
    let numbers = || -> Vec<f64> {
        entries
            .iter()
            .filter_map(|e| {
                e.value
                    .as_deref()
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .collect()
    };
    let value = match c.kind {
        CorrelationType::EventCount => entries.len() as f64,
        CorrelationType::ValueCount => {
            let mut vals: Vec<&str> = entries.iter().filter_map(|e| e.value.as_deref()).collect();
            vals.sort_unstable();
            vals.dedup();
            vals.len() as f64
        }
        CorrelationType::Temporal => {
            let mut seen: Vec<usize> = entries.iter().map(|e| e.r).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len() as f64
        }
        CorrelationType::TemporalOrdered => {
            // Longest prefix of `rules` seen in order within the window.
            let mut next = 0;
            for e in entries {
                if e.r == next {
                    next += 1;
                    if next == c.refs.len() {
                        break;
                    }
                }
            }
            next as f64
        }
        CorrelationType::ValueSum => numbers().iter().sum(),
        CorrelationType::ValueAvg => {
            let n = numbers();
            if n.is_empty() {
                return None;
            }
            n.iter().sum::<f64>() / n.len() as f64
        }
        CorrelationType::ValuePercentile => {
            let mut n = numbers();
            if n.is_empty() {
                return None;
            }
            n.sort_by(f64::total_cmp);
            // Nearest-rank percentile.
            let p = c.percentile.unwrap_or(50.0);
            let rank = ((p / 100.0) * n.len() as f64).ceil().max(1.0) as usize;
            n[rank.min(n.len()) - 1]
        }
    };
    c.conditions
        .iter()
        .all(|(op, threshold)| op.holds(value, *threshold))
        .then_some(value)
}
