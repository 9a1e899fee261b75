//! Rule metadata ([`RuleInfo`]), levels and their MozDef severities, and the validation of
//! a rule document's required fields.

use std::path::PathBuf;

use ferrodef_event::Severity;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value as Yaml;

use crate::document::Document;
use crate::error::CompileError;
use crate::mapping::LogSourceKey;

/// Sigma's `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// informational
    Informational,
    /// low
    Low,
    /// medium
    Medium,
    /// high
    High,
    /// critical
    Critical,
}

impl Level {
    /// Parses a level name.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// The MozDef severity of an alert from a rule of this level:
    /// informational → INFO, low → NOTICE, medium → WARNING, high → ERROR,
    /// critical → CRITICAL.
    pub fn severity(self) -> Severity {
        match self {
            Level::Informational => Severity::Info,
            Level::Low => Severity::Notice,
            Level::Medium => Severity::Warning,
            Level::High => Severity::Error,
            Level::Critical => Severity::Critical,
        }
    }
}

/// A rule's `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSource {
    /// `product`
    pub product: Option<String>,
    /// `category`
    pub category: Option<String>,
    /// `service`
    pub service: Option<String>,
    /// `definition`
    pub definition: Option<String>,
}

impl LogSource {
    pub(crate) fn key(&self) -> LogSourceKey {
        LogSourceKey {
            product: self.product.clone(),
            category: self.category.clone(),
            service: self.service.clone(),
        }
    }
}

impl std::fmt::Display for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        write!(f, "{}", parts.join(" "))
    }
}

/// What kind of Sigma document a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A detection rule (matches single events).
    Detection,
    /// A correlation rule (matches over detection rules' matches).
    Correlation,
}

/// A loaded rule's metadata: what the coordinator needs to build an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// `id` (a UUID in SigmaHQ's rules).
    pub id: String,
    /// `name` (used by correlation rules to refer to rules), if any.
    pub name: Option<String>,
    /// `title`
    pub title: String,
    /// `level`
    pub level: Option<Level>,
    /// `tags` (e.g. `attack.t1059`)
    pub tags: Vec<String>,
    /// `status`
    pub status: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `references`
    pub references: Vec<String>,
    /// `author`
    pub author: Option<String>,
    /// `falsepositives`
    pub falsepositives: Vec<String>,
    /// `logsource` (empty for correlation rules)
    pub logsource: LogSource,
    /// The file the rule came from (or the origin given to `from_str`).
    pub path: PathBuf,
    /// `fields`: event fields worth showing in an alert.
    pub fields: Vec<String>,
    /// Detection or correlation.
    pub kind: RuleKind,
    /// Whether a match of this rule should become an alert by itself: false for a rule
    /// that only feeds correlation rules that have `generate: false` (the default).
    pub alert: bool,
}

impl RuleInfo {
    /// The MozDef severity for this rule's alerts (`level` absent: WARNING, the medium).
    pub fn severity(&self) -> Severity {
        self.level.unwrap_or(Level::Medium).severity()
    }
}

fn strings(v: Option<&Yaml>) -> Vec<String> {
    match v {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| match i {
                Yaml::String(s) => Some(s.clone()),
                Yaml::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn opt_str(doc: &Document, key: &str) -> Result<Option<String>, CompileError> {
    match doc.map.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::String(s)) => Ok(Some(s.clone())),
        Some(Yaml::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(CompileError::near(key, format!("`{key}` must be a string"))),
    }
}

/// Reads and validates the metadata of a rule document (title, id, level...).
pub(crate) fn info(doc: &Document, kind: RuleKind) -> Result<RuleInfo, CompileError> {
    let title = opt_str(doc, "title")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| CompileError::new("rule has no `title`"))?;
    let id = opt_str(doc, "id")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| CompileError::new(format!("rule `{title}` has no `id`")))?;
    let level = match opt_str(doc, "level")? {
        None => None,
        Some(l) => Some(Level::parse(&l).ok_or_else(|| {
            CompileError::near(
                "level",
                format!("`level: {l}` is not informational, low, medium, high or critical"),
            )
        })?),
    };
    let logsource = match doc.map.get("logsource") {
        Some(Yaml::Mapping(m)) => {
            let get = |k: &str| m.get(k).and_then(Yaml::as_str).map(str::to_string);
            LogSource {
                product: get("product"),
                category: get("category"),
                service: get("service"),
                definition: get("definition"),
            }
        }
        None if kind == RuleKind::Correlation => LogSource::default(),
        None => {
            return Err(CompileError::new(format!(
                "rule `{title}` has no `logsource`"
            )))
        }
        Some(_) => return Err(CompileError::near("logsource", "`logsource` must be a map")),
    };
    if kind == RuleKind::Detection
        && logsource.product.is_none()
        && logsource.category.is_none()
        && logsource.service.is_none()
    {
        return Err(CompileError::near(
            "logsource",
            "`logsource` names no product, category or service",
        ));
    }
    Ok(RuleInfo {
        id,
        name: opt_str(doc, "name")?,
        title,
        level,
        tags: strings(doc.map.get("tags")),
        status: opt_str(doc, "status")?,
        description: opt_str(doc, "description")?,
        references: strings(doc.map.get("references")),
        author: opt_str(doc, "author")?,
        falsepositives: strings(doc.map.get("falsepositives")),
        logsource,
        path: doc.path.clone(),
        fields: strings(doc.map.get("fields")),
        kind,
        alert: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_mozdef_severities() {
        assert_eq!(
            Level::parse("informational").map(Level::severity),
            Some(Severity::Info)
        );
        assert_eq!(
            Level::parse("low").map(Level::severity),
            Some(Severity::Notice)
        );
        assert_eq!(
            Level::parse("Medium").map(Level::severity),
            Some(Severity::Warning)
        );
        assert_eq!(
            Level::parse("high").map(Level::severity),
            Some(Severity::Error)
        );
        assert_eq!(
            Level::parse("critical").map(Level::severity),
            Some(Severity::Critical)
        );
        assert_eq!(Level::parse("severe"), None);
    }
}
