//! CEF escaping.

/// Escapes a header field: a backslash before `|`, `\`, CR and LF. (The spec has no escape
/// for line breaks in the header; this is what Mozilla's library writes, and [`crate::parse`]
/// reads it back.)
pub fn escape_header(s: &str) -> String {
    escape_with(s, |c| match c {
        '|' | '\\' | '\r' | '\n' => Some(c),
        _ => None,
    })
}

/// Escapes an extension value as the spec says: `\` → `\\`, `=` → `\=`, LF → `\n`,
/// CR → `\r`. `|` and spaces need no escape.
pub fn escape_value(s: &str) -> String {
    escape_with(s, |c| match c {
        '\\' | '=' => Some(c),
        '\n' => Some('n'),
        '\r' => Some('r'),
        _ => None,
    })
}

/// Escapes an extension value as Mozilla's library does: only `\` and `=`.
pub(crate) fn escape_value_mozilla(s: &str) -> String {
    escape_with(s, |c| matches!(c, '\\' | '=').then_some(c))
}

/// `s` with each character for which `esc` gives `Some(e)` written as `\e`.
fn escape_with(s: &str, esc: impl Fn(char) -> Option<char>) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match esc(c) {
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push(c),
        }
    }
    out
}
