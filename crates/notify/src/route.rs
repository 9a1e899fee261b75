//! Routing: which alerts a notifier receives, by severity, category, rule, rule kind and tag.

use std::collections::HashSet;

use ferrodef_event::{Alert, RuleKind, Severity};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// A notifier's filter, as configured. Every set criterion must hold; an empty list matches
/// anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Lowest severity sent (MozDef's names: `NOTICE`, `WARNING`…).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Alert categories (case-insensitive), any of.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Rule ids, globs (`bruteforce_*`, `sigma-*`), any of.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rule ids never sent, globs (wins over `rules`).
    #[serde(default)]
    pub exclude_rules: Vec<String>,
    /// Rule kinds (`mozdef`, `sigma`, `correlation`, `geomodel`, `system`), any of.
    #[serde(default)]
    pub rule_kinds: Vec<RuleKind>,
    /// Tags, any of (case-insensitive).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Route {
    min_severity: Option<Severity>,
    categories: HashSet<String>,
    rules: Option<GlobSet>,
    exclude_rules: Option<GlobSet>,
    rule_kinds: Vec<RuleKind>,
    tags: HashSet<String>,
}

impl Route {
    /// Compiles a filter; a bad glob is an error naming the notifier and the pattern.
    pub fn compile(notifier: &str, config: &RouteConfig) -> Result<Route, ConfigError> {
        Ok(Route {
            min_severity: config.min_severity,
            categories: lower_set(&config.categories),
            rules: globs(notifier, "route.rules", &config.rules)?,
            exclude_rules: globs(notifier, "route.exclude_rules", &config.exclude_rules)?,
            rule_kinds: config.rule_kinds.clone(),
            tags: lower_set(&config.tags),
        })
    }

    /// Whether the alert goes to this notifier.
    pub fn matches(&self, alert: &Alert) -> bool {
        if self.min_severity.is_some_and(|min| alert.severity < min) {
            return false;
        }
        if !self.categories.is_empty() && !self.categories.contains(&alert.category.to_lowercase())
        {
            return false;
        }
        if !self.rule_kinds.is_empty() && !self.rule_kinds.contains(&alert.rule_kind) {
            return false;
        }
        if self
            .rules
            .as_ref()
            .is_some_and(|g| !g.is_match(&alert.rule))
        {
            return false;
        }
        if self
            .exclude_rules
            .as_ref()
            .is_some_and(|g| g.is_match(&alert.rule))
        {
            return false;
        }
        if !self.tags.is_empty()
            && !alert
                .tags
                .iter()
                .any(|t| self.tags.contains(&t.to_lowercase()))
        {
            return false;
        }
        true
    }
}

fn lower_set(items: &[String]) -> HashSet<String> {
    items.iter().map(|s| s.trim().to_lowercase()).collect()
}

fn globs(notifier: &str, field: &str, patterns: &[String]) -> Result<Option<GlobSet>, ConfigError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p)
            .map_err(|e| ConfigError::new(notifier, field, format!("bad glob {p:?}: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| ConfigError::new(notifier, field, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::alert;

    fn route(toml_text: &str) -> Route {
        let config: RouteConfig = toml::from_str(toml_text).unwrap();
        Route::compile("t", &config).unwrap()
    }

    #[test]
    fn empty_matches_everything() {
        assert!(route("").matches(&alert(Severity::Debug, "x", "y")));
    }

    #[test]
    fn severity_threshold() {
        let r = route("min_severity = \"WARNING\"");
        assert!(!r.matches(&alert(Severity::Notice, "bruteforce", "r")));
        assert!(r.matches(&alert(Severity::Warning, "bruteforce", "r")));
        assert!(r.matches(&alert(Severity::Critical, "bruteforce", "r")));
    }

    #[test]
    fn categories_rules_kinds_tags() {
        let r = route(
            r#"
            categories = ["Bruteforce", "deadman"]
            rules = ["bruteforce_*", "deadman"]
            exclude_rules = ["bruteforce_test*"]
            rule_kinds = ["mozdef"]
            "#,
        );
        assert!(r.matches(&alert(Severity::Notice, "bruteforce", "bruteforce_ssh")));
        assert!(!r.matches(&alert(Severity::Notice, "bruteforce", "bruteforce_testing")));
        assert!(!r.matches(&alert(Severity::Notice, "geomodel", "bruteforce_ssh")));
        assert!(!r.matches(&alert(Severity::Notice, "bruteforce", "ssh_bruteforce")));
        let mut sigma = alert(Severity::Notice, "bruteforce", "bruteforce_ssh");
        sigma.rule_kind = RuleKind::Sigma;
        assert!(!r.matches(&sigma));

        let t = route("tags = [\"SSH\"]");
        let mut a = alert(Severity::Notice, "x", "y");
        assert!(!t.matches(&a));
        a.tags.push("ssh".into());
        assert!(t.matches(&a));
    }

    #[test]
    fn bad_glob_is_named() {
        let config = RouteConfig {
            rules: vec!["a[".into()],
            ..RouteConfig::default()
        };
        let e = Route::compile("pager", &config).unwrap_err().to_string();
        assert!(
            e.contains("pager") && e.contains("route.rules") && e.contains("a["),
            "{e}"
        );
    }

    #[test]
    fn bad_severity_and_kind_are_rejected() {
        assert!(toml::from_str::<RouteConfig>("min_severity = \"HIGH\"").is_err());
        assert!(toml::from_str::<RouteConfig>("rule_kinds = [\"yara\"]").is_err());
    }
}
