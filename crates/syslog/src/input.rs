//! The bytes being parsed, with UTF-8 validated once up front so fields can be borrowed as
//! `&str` without re-validation.

use std::borrow::Cow;

/// Trimmed message bytes plus their `&str` view when they are valid UTF-8.
pub(crate) struct Input<'a> {
    pub b: &'a [u8],
    s: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Input {
            b,
            s: std::str::from_utf8(b).ok(),
        }
    }

    /// Whether the whole input is valid UTF-8.
    pub fn is_utf8(&self) -> bool {
        self.s.is_some()
    }

    /// `b[a..z]` as `&str`; None when out of range or not valid UTF-8.
    #[inline]
    pub fn str(&self, a: usize, z: usize) -> Option<&'a str> {
        match self.s {
            Some(s) => s.get(a..z),
            None => std::str::from_utf8(self.b.get(a..z)?).ok(),
        }
    }

    /// `b[a..z]` as text, invalid UTF-8 replaced by U+FFFD.
    #[inline]
    pub fn cow(&self, a: usize, z: usize) -> Cow<'a, str> {
        match self.s {
            Some(s) => Cow::Borrowed(s.get(a..z).unwrap_or("")),
            None => String::from_utf8_lossy(self.b.get(a..z).unwrap_or(&[])),
        }
    }
}
