//! ferrodef's Sigma engine.
//!
//! * Loading: [`SigmaRules::load_dir`] / [`SigmaRules::from_str`] read Sigma YAML (several
//!   documents per file, rule collections, filters, correlation rules), validate and compile
//!   every rule; what cannot be loaded is returned as a [`LoadProblem`] (file, line, reason).
//! * Matching: [`SigmaRules::matches`] evaluates an event (a JSON object: ferrodef's MozDef
//!   schema, raw Windows event JSON, winlogbeat or nxlog flat keys) through the field mapping
//!   ([`Mapping`], data in `data/mapping.yml`), only against the rules its log-source
//!   conditions select (index by EventID, channel...).
//! * Correlations: [`Correlator`] turns rule matches into correlation matches, with bounded,
//!   serializable state.
//! * Regression tests: [`run_regression`] runs SigmaHQ-style regression data.
//!
//! See `docs/sigma.md`.

mod condition;
pub mod correlation;
mod detection;
mod document;
#[cfg(test)]
mod equivalence_tests;
mod error;
mod fields;
pub mod mapping;
mod path;
mod pattern;
mod prefilter;
pub mod regression;
mod rule;
mod ruleset;
mod values;

pub use correlation::{
    CorrelationHit, CorrelationMatch, CorrelationType, Correlator, CorrelatorState, Limit,
    LimitReached, Limits,
};
pub use error::{Error, LoadProblem, ProblemSeverity};
pub use mapping::Mapping;
pub use path::JsonPath;
pub use regression::{run_regression, RegressionCase, RegressionReport};
pub use rule::{Level, LogSource, RuleInfo, RuleKind};
pub use ruleset::{load_options, LoadOptions, SigmaRules};
