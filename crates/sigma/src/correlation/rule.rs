//! Correlation rule documents (`correlation:` block): type, referenced rules, `group-by`,
//! `timespan`, `aliases`, `condition`, `generate`.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_yaml_ng::{Mapping as YamlMap, Value as Yaml};

use crate::document::Document;
use crate::error::CompileError;
use crate::fields::FieldId;
use crate::rule::{self, RuleInfo, RuleKind};
use crate::ruleset::SigmaRules;

/// The correlation types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// Number of matching events.
    EventCount,
    /// Number of distinct values of a field.
    ValueCount,
    /// All referenced rules matched, in any order.
    Temporal,
    /// All referenced rules matched, in the order given.
    TemporalOrdered,
    /// Sum of a field's values.
    ValueSum,
    /// Average of a field's values.
    ValueAvg,
    /// A percentile of a field's values.
    ValuePercentile,
}

/// A comparison of the condition.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CondOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl CondOp {
    pub(crate) fn holds(self, x: f64, y: f64) -> bool {
        match self {
            CondOp::Gt => x > y,
            CondOp::Gte => x >= y,
            CondOp::Lt => x < y,
            CondOp::Lte => x <= y,
            CondOp::Eq => (x - y).abs() < f64::EPSILON,
            CondOp::Neq => (x - y).abs() >= f64::EPSILON,
        }
    }
}

/// What a correlation refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ref {
    Rule(usize),
    Correlation(usize),
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub(crate) struct CorrelationRule {
    pub(crate) info: RuleInfo,
    pub(crate) kind: CorrelationType,
    pub(crate) refs: Vec<Ref>,
    /// Group-by field names (aliases kept as their alias name).
    pub(crate) group_by: Vec<String>,
    /// Per group-by field, per ref: the field ids (detection rules) or the name of the
    /// inner correlation's group field.
    pub(crate) group_fields: Vec<Vec<RefField>>,
    /// The condition's `field`, per ref.
    pub(crate) value_field: Option<Vec<RefField>>,
    pub(crate) timespan: Duration,
    pub(crate) conditions: Vec<(CondOp, f64)>,
    pub(crate) percentile: Option<f64>,
    pub(crate) generate: bool,
}

/// Where one referenced rule keeps a correlation field.
#[derive(Debug, Clone)]
pub(crate) enum RefField {
    Ids(Vec<FieldId>),
    Group(String),
}

/// Parses a timespan (`30s`, `5m`, `1h`, `2d`, `1w`, `1M` (30 days), `1y` (365 days)).
pub(crate) fn parse_timespan(s: &str) -> Option<Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    if n <= 0 {
        return None;
    }
    Some(match unit {
        's' => Duration::seconds(n),
        'm' => Duration::minutes(n),
        'h' => Duration::hours(n),
        'd' => Duration::days(n),
        'w' => Duration::weeks(n),
        'M' => Duration::days(n.checked_mul(30)?),
        'y' => Duration::days(n.checked_mul(365)?),
        _ => return None,
    })
}

fn strings(v: Option<&Yaml>) -> Vec<String> {
    match v {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Parses and resolves a correlation document against the rules loaded so far.
pub(crate) fn parse(
    doc: &Document,
    rules: &mut SigmaRules,
) -> Result<CorrelationRule, CompileError> {
    let info = rule::info(doc, RuleKind::Correlation)?;
    let c = match doc.map.get("correlation") {
        Some(Yaml::Mapping(m)) => m,
        _ => {
            return Err(CompileError::near(
                "correlation",
                "`correlation` must be a map",
            ))
        }
    };
    let kind = match c.get("type").and_then(Yaml::as_str) {
        Some("event_count") => CorrelationType::EventCount,
        Some("value_count") => CorrelationType::ValueCount,
        Some("temporal") => CorrelationType::Temporal,
        Some("temporal_ordered") => CorrelationType::TemporalOrdered,
        Some("value_sum") => CorrelationType::ValueSum,
        Some("value_avg") => CorrelationType::ValueAvg,
        Some("value_percentile") => CorrelationType::ValuePercentile,
        Some(other) => {
            return Err(CompileError::near(
                "type",
                format!("unsupported correlation type `{other}`"),
            ))
        }
        None => {
            return Err(CompileError::near(
                "correlation",
                "correlation has no `type`",
            ))
        }
    };
    let names = strings(c.get("rules"));
    if names.is_empty() {
        return Err(CompileError::near("rules", "correlation has no `rules`"));
    }
    let mut refs = Vec::new();
    for n in &names {
        let r = match rules.rule_index(n) {
            Some(i) => Ref::Rule(i),
            None => match rules
                .correlations
                .iter()
                .position(|c| c.info.id == *n || c.info.name.as_deref() == Some(n))
            {
                Some(i) => Ref::Correlation(i),
                None => {
                    return Err(CompileError::near(
                        n,
                        format!("correlation refers to `{n}`, which is not a loaded rule"),
                    ))
                }
            },
        };
        refs.push(r);
    }
    let timespan_text = match c.get("timespan").or_else(|| c.get("timeframe")) {
        Some(Yaml::String(s)) => s.clone(),
        Some(Yaml::Number(n)) => format!("{n}s"),
        _ => {
            return Err(CompileError::near(
                "correlation",
                "correlation has no `timespan`",
            ))
        }
    };
    let timespan = parse_timespan(&timespan_text).ok_or_else(|| {
        CompileError::near(
            "timespan",
            format!("`timespan: {timespan_text}` is not a duration like 30s, 5m, 1h, 2d"),
        )
    })?;
    let group_by = strings(c.get("group-by"));
    let aliases = parse_aliases(c.get("aliases"))?;
    let field_for = |rules: &mut SigmaRules, name: &str| -> Vec<RefField> {
        refs.iter()
            .zip(&names)
            .map(|(r, rname)| {
                let actual = aliases
                    .get(name)
                    .and_then(|per| per.get(rname).cloned())
                    .or_else(|| {
                        // An alias entry may name the rule by id while the correlation uses its
                        // name, or the other way round.
                        let (id, nm) = match r {
                            Ref::Rule(i) => rules
                                .rules()
                                .get(*i)
                                .map(|x| (x.id.clone(), x.name.clone()))?,
                            Ref::Correlation(i) => rules
                                .correlations
                                .get(*i)
                                .map(|x| (x.info.id.clone(), x.info.name.clone()))?,
                        };
                        aliases.get(name).and_then(|per| {
                            per.get(&id)
                                .or_else(|| nm.as_ref().and_then(|n| per.get(n)))
                                .cloned()
                        })
                    })
                    .unwrap_or_else(|| name.to_string());
                match r {
                    Ref::Rule(i) => RefField::Ids(rules.rule_field(*i, &actual)),
                    Ref::Correlation(_) => RefField::Group(actual),
                }
            })
            .collect()
    };
    let group_fields = group_by.iter().map(|g| field_for(rules, g)).collect();
    let (conditions, cond_field, percentile) = parse_condition(kind, c, refs.len())?;
    let value_field = cond_field.map(|f| field_for(rules, &f));
    let needs_field = matches!(
        kind,
        CorrelationType::ValueCount
            | CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
    );
    if needs_field && value_field.is_none() {
        return Err(CompileError::near(
            "condition",
            "this correlation type needs `condition.field`",
        ));
    }
    let generate = match c.get("generate").or_else(|| doc.map.get("generate")) {
        None => false,
        Some(Yaml::Bool(b)) => *b,
        Some(_) => {
            return Err(CompileError::near(
                "generate",
                "`generate` must be true or false",
            ))
        }
    };
    Ok(CorrelationRule {
        info,
        kind,
        refs,
        group_by,
        group_fields,
        value_field,
        timespan,
        conditions,
        percentile,
        generate,
    })
}

type Aliases = BTreeMap<String, BTreeMap<String, String>>;

fn parse_aliases(v: Option<&Yaml>) -> Result<Aliases, CompileError> {
    let mut out = Aliases::new();
    let Some(v) = v else { return Ok(out) };
    let Yaml::Mapping(m) = v else {
        return Err(CompileError::near("aliases", "`aliases` must be a map"));
    };
    for (alias, per) in m {
        let (Some(alias), Yaml::Mapping(per)) = (alias.as_str(), per) else {
            return Err(CompileError::near(
                "aliases",
                "an alias maps rule names to field names",
            ));
        };
        let mut fields = BTreeMap::new();
        for (r, f) in per {
            if let (Some(r), Some(f)) = (r.as_str(), f.as_str()) {
                fields.insert(r.to_string(), f.to_string());
            }
        }
        out.insert(alias.to_string(), fields);
    }
    Ok(out)
}

type ParsedCondition = (Vec<(CondOp, f64)>, Option<String>, Option<f64>);

fn parse_condition(
    kind: CorrelationType,
    c: &YamlMap,
    nrefs: usize,
) -> Result<ParsedCondition, CompileError> {
    let mut ops = Vec::new();
    let mut field = None;
    let mut percentile = c.get("percentile").and_then(Yaml::as_f64);
    match c.get("condition") {
        None => {}
        Some(Yaml::Mapping(m)) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let num = || {
                    v.as_f64().ok_or_else(|| {
                        CompileError::near(key, format!("condition `{key}` needs a number"))
                    })
                };
                match key {
                    "gt" => ops.push((CondOp::Gt, num()?)),
                    "gte" => ops.push((CondOp::Gte, num()?)),
                    "lt" => ops.push((CondOp::Lt, num()?)),
                    "lte" => ops.push((CondOp::Lte, num()?)),
                    "eq" => ops.push((CondOp::Eq, num()?)),
                    "neq" => ops.push((CondOp::Neq, num()?)),
                    "field" => field = v.as_str().map(str::to_string),
                    "percentile" => percentile = Some(num()?),
                    other => {
                        return Err(CompileError::near(
                            other,
                            format!("unsupported correlation condition `{other}`"),
                        ))
                    }
                }
            }
        }
        Some(_) => {
            return Err(CompileError::near(
                "condition",
                "correlation `condition` must be a map",
            ))
        }
    }
    if ops.is_empty() {
        match kind {
            // Temporal correlations without a condition need every referenced rule.
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                ops.push((CondOp::Gte, nrefs as f64))
            }
            _ => {
                return Err(CompileError::near(
                    "condition",
                    "correlation needs a `condition` (gt, gte, lt, lte, eq or neq)",
                ))
            }
        }
    }
    if kind == CorrelationType::ValuePercentile {
        match percentile {
            Some(p) if (0.0..=100.0).contains(&p) => {}
            _ => {
                return Err(CompileError::near(
                    "condition",
                    "value_percentile needs `percentile` between 0 and 100",
                ))
            }
        }
    }
    Ok((ops, field, percentile))
}

/// Rules referenced only by correlations with `generate: false` do not alert by themselves.
pub(crate) fn mark_generate(rules: &mut SigmaRules) {
    let mut silent = Vec::new();
    let mut loud = Vec::new();
    for c in &rules.correlations {
        for r in &c.refs {
            if let Ref::Rule(i) = r {
                if c.generate {
                    loud.push(*i);
                } else {
                    silent.push(*i);
                }
            }
        }
    }
    for i in silent {
        if !loud.contains(&i) {
            if let Some(info) = rules.info_mut(i) {
                info.alert = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("30s"), Some(Duration::seconds(30)));
        assert_eq!(parse_timespan("5m"), Some(Duration::minutes(5)));
        assert_eq!(parse_timespan("1h"), Some(Duration::hours(1)));
        assert_eq!(parse_timespan("2d"), Some(Duration::days(2)));
        assert_eq!(parse_timespan("1M"), Some(Duration::days(30)));
        assert_eq!(parse_timespan("0s"), None);
        assert_eq!(parse_timespan("5x"), None);
        assert_eq!(parse_timespan(""), None);
    }
}
