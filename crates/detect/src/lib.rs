//! ferrodef's rule engine for MozDef's alerts, ported as declarative YAML rules.
//!
//! - [`spec`]: the rule file format as written; [`rule`]: compiling and validating it
//!   (every problem with file and line), [`RuleSet`] (load a directory, the embedded
//!   default set, list);
//! - [`template`]: the summary template language;
//! - [`builtin`]: the few MozDef alerts with logic of their own;
//! - [`engine`]: the streaming [`Engine`] (batches, ticks, windows, deadman, deduplication,
//!   serializable state), [`run_events`] and [`backtest`];
//! - [`cases`]: MozDef's alert test cases as a feature ([`run_mozdef_cases`]).

pub mod builtin;
pub mod cases;
pub mod engine;
pub mod rule;
pub mod spec;
pub mod template;

pub use cases::{run_mozdef_cases, run_mozdef_cases_str, CaseReport};
pub use engine::{
    backtest, run_events, suppressed_details, Backtest, Engine, EngineOptions, EngineState,
    Suppression,
};
pub use rule::{Rule, RuleError, RuleInfo, RuleSet};
