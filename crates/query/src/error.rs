//! Syntax errors.

use std::fmt;

/// A syntax error with its byte offset in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Byte offset of the problem.
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// An error `message` at byte `offset`.
pub(crate) fn err<T>(message: impl Into<String>, offset: usize) -> Result<T, ParseError> {
    Err(ParseError {
        message: message.into(),
        offset,
    })
}
