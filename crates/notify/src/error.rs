//! Errors: a bad configuration (naming the notifier and field) and a failed delivery attempt
//! (saying whether trying again can help).

use std::fmt;
use std::time::Duration;

/// A configuration problem, with the notifier and the field it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The notifier's name (or `notify` for the whole configuration).
    pub notifier: String,
    /// The field (dotted path inside the notifier), empty when not one field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(notifier: &str, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            notifier: notifier.to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "notifier '{}': {}", self.notifier, self.message)
        } else {
            write!(
                f,
                "notifier '{}', field '{}': {}",
                self.notifier, self.field, self.message
            )
        }
    }
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What happened (shown in delivery records).
    pub message: String,
    /// Whether another attempt may succeed (timeouts, refused connections, 5xx, 429) or not
    /// (4xx, a recipient the server rejects for good, a template that cannot render).
    pub retryable: bool,
    /// The receiver asked to wait this long (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl SendError {
    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SendError {}

/// The chain of sources of an error, joined with `: ` (reqwest and lettre hide the cause,
/// e.g. "connection refused", in their sources).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
