//! The rule file format (YAML), as written: one rule per file. See `docs/rules.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a rule decides to alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindSpec {
    /// One alert per matching event (MozDef's `walkEvents`/`onEvent`).
    #[default]
    Event,
    /// Group matching events by `aggregate.field`; alert per group at the threshold
    /// (`walkAggregations`/`onAggregation`).
    Aggregation,
    /// Alert when no matching event arrived in the window (`onNoEvent`).
    Deadman,
    /// MozDef's `ssh_lateral`: an aggregation whose events are kept only when outside the
    /// configured SSH policy (see `builtin.rs`).
    SshLateral,
}

/// A rule file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The rule's id (defaults to the file name without extension).
    #[serde(default)]
    pub id: Option<String>,
    /// MozDef's class name (`AlertBruteforceSsh`), what alerts carry as `classname` and events
    /// get in `alert_names`.
    pub classname: String,
    /// What the rule detects.
    #[serde(default)]
    pub description: String,
    /// Whether the rule runs (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The kind (default `event`, or `aggregation` when `aggregate` is given).
    #[serde(default)]
    pub kind: Option<KindSpec>,
    /// The query, in ferrodef's query language; `${name}` expands a configuration list
    /// (`("a" OR "b")`) or value (as is).
    pub query: String,
    /// Queries whose matches are left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The window: `90s`, `2m`, `6h`, `1d`.
    pub window: String,
    /// Aggregation, for `aggregation` and `ssh_lateral` rules.
    #[serde(default)]
    pub aggregate: Option<AggregateSpec>,
    /// Daily times (UTC, `HH:MM:SS`) during which events do not count (on `utctimestamp`).
    #[serde(default)]
    pub exclude_time_of_day: Vec<TimeOfDaySpec>,
    /// The alert's summary template (see `template.rs`).
    pub summary: String,
    /// Severity: `INFO`, `NOTICE`, `WARNING`, `ERROR`, `CRITICAL`…
    pub severity: String,
    /// Conditional severities: the first that holds wins.
    #[serde(default)]
    pub severity_when: Vec<SeverityWhenSpec>,
    /// The alert's category.
    pub category: String,
    /// The alert's tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Notification channel (MozDef's IRC channel).
    #[serde(default)]
    pub channel: Option<String>,
    /// A link for the analyst.
    #[serde(default)]
    pub url: Option<String>,
    /// Deduplication period for the same key (default: the window), e.g. `30m`; `0s` turns it
    /// off.
    #[serde(default)]
    pub suppress: Option<String>,
    /// Configuration: lists and values the query (`${name}`) and template (`{var.name}`) use.
    #[serde(default)]
    pub config: BTreeMap<String, Value>,
    /// Instances: the rule runs once per entry, whose values override `config` (and `window`,
    /// `tags` extend the tags). MozDef's deadman per host, deadman_generic per query,
    /// the watchlist per term.
    /// An empty list means the rule has no instance yet (nothing runs).
    #[serde(default)]
    pub instances: Option<Vec<BTreeMap<String, Value>>>,
}

fn yes() -> bool {
    true
}

/// Grouping of matching events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateSpec {
    /// The field events are grouped by (events without it do not count).
    pub field: String,
    /// Events a group needs to alert (default 1).
    #[serde(default = "one")]
    pub threshold: u64,
    /// Events carried by the alert (default 5, as MozDef).
    #[serde(default = "five")]
    pub samples: usize,
    /// A further condition: at least `min` distinct values of `field` in the group.
    #[serde(default)]
    pub distinct: Option<DistinctSpec>,
    /// Keep only events whose value of this field is an IP address (MozDef's proxy_drop_ip);
    /// the alert then carries every kept event, and none kept means no alert.
    #[serde(default)]
    pub keep_ip_literal: Option<String>,
}

fn one() -> u64 {
    1
}
fn five() -> usize {
    5
}

/// Distinct-count condition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistinctSpec {
    /// The field counted.
    pub field: String,
    /// The fewest distinct values.
    pub min: u64,
}

/// A daily time range.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOfDaySpec {
    /// Start, `HH:MM:SS`.
    pub start: String,
    /// End, `HH:MM:SS` (inclusive).
    pub end: String,
}

/// A conditional severity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityWhenSpec {
    /// Holds when the aggregation value is in this configuration list.
    pub key_in: String,
    /// The severity then.
    pub severity: String,
}
