//! Wildcards and regular expressions: translation and limits.

/// Turns a wildcard pattern (`*` any characters, `?` one character, `\x` a literal `x`)
/// into a regular expression body matching the whole value (for an anchored matcher).
pub fn wildcard_to_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&regex_syntax::escape(&n.to_string()));
                }
            }
            c => out.push_str(&regex_syntax::escape(&c.to_string())),
        }
    }
    out
}

/// Longest regular expression, in bytes.
pub const MAX_REGEX_BYTES: usize = 1000;
/// Largest regular expression, in automaton states it may need once repetitions are expanded
/// (`a{1000}` is a thousand): building the automaton is quadratic in this.
pub const MAX_REGEX_SIZE: usize = 5000;
/// Deepest nesting of groups and repetitions in a regular expression.
const MAX_REGEX_NESTING: u32 = 32;

/// Checks that a regular expression parses and is within the limits; the error names what is
/// wrong.
pub fn check_regex(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(format!(
            "regular expression of {} bytes is longer than the limit of {MAX_REGEX_BYTES}",
            pattern.len()
        ));
    }
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(MAX_REGEX_NESTING)
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid regular expression: {}", first_line(&e.to_string())))?;
    let size = hir_size(&hir);
    if size > MAX_REGEX_SIZE {
        return Err(format!(
            "regular expression too large: about {size} states once repetitions are expanded \
             (limit {MAX_REGEX_SIZE})"
        ));
    }
    Ok(())
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

/// An estimate of the automaton states a regular expression needs.
fn hir_size(h: &regex_syntax::hir::Hir) -> usize {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len(),
        HirKind::Class(Class::Unicode(c)) => c.ranges().len().max(1),
        HirKind::Class(Class::Bytes(c)) => c.ranges().len().max(1),
        HirKind::Repetition(r) => {
            let copies = r.max.unwrap_or(r.min.saturating_add(1)).max(1);
            hir_size(&r.sub).saturating_mul(copies as usize)
        }
        HirKind::Capture(c) => hir_size(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            v.iter().map(hir_size).fold(0, usize::saturating_add)
        }
    }
}
