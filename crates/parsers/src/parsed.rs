//! What a parser returns, and the cursor of the hand-written matchers.

use serde_json::Value;

/// Fields a parser found, for `details` (in the order found; keys are literals).
pub type Fields = ferrodef_event::Details;

/// What a parser found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The parser (`sshd`, `sudo`...).
    pub parser: &'static str,
    /// The category the event gets, if the parser sets one.
    pub category: Option<&'static str>,
    /// Fields for `details`.
    pub fields: Fields,
    /// Tags to add.
    pub tags: Vec<&'static str>,
}

impl Parsed {
    pub(crate) fn new(parser: &'static str, category: Option<&'static str>) -> Parsed {
        Parsed {
            parser,
            category,
            fields: Fields::with_capacity(12),
            tags: Vec::new(),
        }
    }
    /// Adds a field the parser has not set yet (the builders below set each key once).
    pub(crate) fn push(&mut self, k: &'static str, v: Value) {
        self.fields.push_new(k, v);
    }
    pub(crate) fn s(mut self, k: &'static str, v: &str) -> Parsed {
        self.push(k, Value::String(v.into()));
        self
    }
    pub(crate) fn b(mut self, k: &'static str, v: bool) -> Parsed {
        self.push(k, Value::Bool(v));
        self
    }
    pub(crate) fn opt(mut self, k: &'static str, v: Option<&str>) -> Parsed {
        if let Some(v) = v {
            self.push(k, Value::String(v.into()));
        }
        self
    }
}

/// A cursor for the hand-written matchers of the most frequent lines (several times faster
/// than regex captures). `word` is `\S+`, `digits` is `[0-9]+`.
#[derive(Clone, Copy)]
pub(crate) struct Cur<'a>(pub(crate) &'a str);

impl<'a> Cur<'a> {
    pub(crate) fn lit(&mut self, p: &str) -> Option<()> {
        self.0 = self.0.strip_prefix(p)?;
        Some(())
    }
    /// Takes the first `end` bytes, when there are any.
    pub(crate) fn take(&mut self, end: usize) -> Option<&'a str> {
        if end == 0 {
            return None;
        }
        let (w, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(w)
    }
    pub(crate) fn word(&mut self) -> Option<&'a str> {
        self.take(self.0.find(char::is_whitespace).unwrap_or(self.0.len()))
    }
    pub(crate) fn digits(&mut self) -> Option<&'a str> {
        let end = self.0.bytes().position(|b| !b.is_ascii_digit());
        self.take(end.unwrap_or(self.0.len()))
    }
}
