//! Errors and load problems.

use std::fmt;
use std::path::PathBuf;

/// A rule (or rule file) that could not be loaded, or a rule that loads with a caveat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadProblem {
    /// The file (or the origin given to [`crate::SigmaRules::from_str`]).
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, naming the rule, field or modifier.
    pub reason: String,
    /// Whether the rule was left out (`Error`) or loaded with a caveat (`Warning`).
    pub severity: ProblemSeverity,
}

/// How bad a [`LoadProblem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ProblemSeverity {
    /// The rule (or file) was not loaded.
    Error,
    /// The rule was loaded; something about it is worth knowing (e.g. its log source has no
    /// mapping, so it is evaluated on every event).
    Warning,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        let kind = match self.severity {
            ProblemSeverity::Error => "error",
            ProblemSeverity::Warning => "warning",
        };
        write!(f, ": {kind}: {}", self.reason)
    }
}

/// Errors of the library's fallible entry points.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's message.
        reason: String,
    },
    /// The mapping document is invalid.
    #[error("Sigma mapping{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Mapping {
        /// 1-based line.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

/// An error while compiling one rule (turned into a [`LoadProblem`] with the file).
#[derive(Debug, Clone)]
pub(crate) struct CompileError {
    /// A key or value to find the line by (first occurrence in the document text).
    pub(crate) near: Option<String>,
    pub(crate) reason: String,
}

impl CompileError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        CompileError {
            near: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn near(near: impl Into<String>, reason: impl Into<String>) -> Self {
        CompileError {
            near: Some(near.into()),
            reason: reason.into(),
        }
    }
}
