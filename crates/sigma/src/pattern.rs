//! Sigma string values with wildcards: parsing (`*`, `?`, `\` escapes), the value
//! transformations of the modifiers (`windash`, `base64`, `base64offset`, `utf16*`/`wide`),
//! and compilation to a fast matcher.
//!
//! A value is a sequence of [`Tok`]s. Transformations work on the literal parts; the result
//! compiles to the cheapest [`StrMatch`]: an exact / prefix / suffix / substring comparison
//! when the wildcards sit only at the ends, a byte regex otherwise.

use base64::Engine as _;
use regex::bytes::{Regex, RegexBuilder};

/// One part of a Sigma string value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Literal bytes.
    Lit(Vec<u8>),
    /// `*`: any run of characters.
    Many,
    /// `?`: exactly one character.
    One,
}

/// A parsed Sigma string value.
pub(crate) type Pat = Vec<Tok>;

/// Parses a Sigma string: `*` and `?` are wildcards; `\*`, `\?` and `\\` are the literal
/// characters; a backslash before anything else is a plain backslash (specification,
/// "Wildcards" and "Escaping").
pub(crate) fn parse_wildcards(s: &str) -> Pat {
    let mut out: Pat = Vec::new();
    let mut lit: Vec<u8> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => match bytes.get(i + 1) {
                Some(c @ (b'*' | b'?' | b'\\')) => {
                    lit.push(*c);
                    i += 2;
                    continue;
                }
                _ => lit.push(b'\\'),
            },
            b'*' | b'?' => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                out.push(if bytes[i] == b'*' {
                    Tok::Many
                } else {
                    Tok::One
                });
            }
            c => lit.push(c),
        }
        i += 1;
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

/// A value taken literally (no wildcard processing), for transformed values and keywords of
/// `cased`/`re` kinds.
pub(crate) fn literal(s: &[u8]) -> Pat {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![Tok::Lit(s.to_vec())]
    }
}

/// Whether the value holds a wildcard.
pub(crate) fn has_wildcards(p: &Pat) -> bool {
    p.iter().any(|t| !matches!(t, Tok::Lit(_)))
}

/// The concatenated literal bytes (for transformations that need the whole value).
pub(crate) fn lit_bytes(p: &Pat) -> Vec<u8> {
    let mut v = Vec::new();
    for t in p {
        if let Tok::Lit(b) = t {
            v.extend_from_slice(b);
        }
    }
    v
}

/// Maps every literal part through `f`, keeping the wildcards.
pub(crate) fn map_lits(p: &Pat, f: impl Fn(&[u8]) -> Vec<u8>) -> Pat {
    p.iter()
        .map(|t| match t {
            Tok::Lit(b) => Tok::Lit(f(b)),
            other => other.clone(),
        })
        .collect()
}

/// `contains`: wildcards added at both ends (unless already there).
pub(crate) fn surround(mut p: Pat, start: bool, end: bool) -> Pat {
    if start && p.first() != Some(&Tok::Many) {
        p.insert(0, Tok::Many);
    }
    if end && p.last() != Some(&Tok::Many) {
        p.push(Tok::Many);
    }
    p
}

/// UTF-16 little endian bytes of a text (`utf16le`, `wide`).
pub(crate) fn utf16le(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

/// UTF-16 big endian bytes of a text (`utf16be`).
pub(crate) fn utf16be(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .collect()
}

/// `utf16`: little endian with a byte order mark.
pub(crate) fn utf16bom(b: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(utf16le(b));
    v
}

/// `base64`: the standard encoding of the value.
pub(crate) fn base64(b: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .encode(b)
        .into_bytes()
}

/// `base64offset`: the three encodings of the value at each offset modulo 3 inside a longer
/// base64 text, with the characters that depend on the neighbours cut off.
pub(crate) fn base64offset(b: &[u8]) -> Vec<Vec<u8>> {
    const START: [usize; 3] = [0, 2, 3];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(b);
            let enc = base64(&padded);
            let end_cut = match (b.len() + i) % 3 {
                0 => 0,
                1 => 3,
                _ => 2,
            };
            let end = enc.len().saturating_sub(end_cut);
            enc.get(START[i]..end)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        })
        .collect()
}

/// `windash`: every `-` or `/` at the start of a word may also be written with the other
/// dash-like characters Windows programs accept (`-`, `/`, en dash, em dash, horizontal bar).
/// Returns the value with such dashes marked, to be compiled to a regex alternative.
pub(crate) fn windash_positions(b: &[u8]) -> Vec<usize> {
    let mut pos = Vec::new();
    for (i, c) in b.iter().enumerate() {
        let word_start = i == 0 || b[i - 1].is_ascii_whitespace();
        if (*c == b'-' || *c == b'/') && word_start {
            pos.push(i);
        }
    }
    pos
}

/// The dash variants `windash` accepts.
pub(crate) const DASHES: [&str; 5] = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"];

/// Expands `windash` into every combination of dash characters (at most `limit` variants;
/// beyond that, `None` and the caller reports the value as too large).
pub(crate) fn windash_expand(p: &Pat, limit: usize) -> Option<Vec<Pat>> {
    let mut out: Vec<Pat> = vec![Vec::new()];
    for t in p {
        match t {
            Tok::Lit(b) => {
                let pos = windash_positions(b);
                let mut pieces: Vec<Vec<Vec<u8>>> = Vec::new();
                let mut last = 0;
                for &i in &pos {
                    pieces.push(vec![b[last..i].to_vec()]);
                    pieces.push(DASHES.iter().map(|d| d.as_bytes().to_vec()).collect());
                    last = i + 1;
                }
                pieces.push(vec![b[last..].to_vec()]);
                for alts in pieces {
                    let mut next = Vec::with_capacity(out.len() * alts.len());
                    for prefix in &out {
                        for a in &alts {
                            let mut q = prefix.clone();
                            push_lit(&mut q, a);
                            next.push(q);
                        }
                    }
                    if next.len() > limit {
                        return None;
                    }
                    out = next;
                }
            }
            other => out.iter_mut().for_each(|q| q.push(other.clone())),
        }
    }
    Some(out)
}

fn push_lit(q: &mut Pat, a: &[u8]) {
    if a.is_empty() {
        return;
    }
    if let Some(Tok::Lit(prev)) = q.last_mut() {
        prev.extend_from_slice(a);
    } else {
        q.push(Tok::Lit(a.to_vec()));
    }
}

/// How a plain (wildcard-free apart from the ends) value compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrKind {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// A compiled string matcher.
#[derive(Debug, Clone)]
pub(crate) enum StrMatch {
    /// Literal comparison; `text` is ASCII-lower-cased when `cased` is false.
    Plain {
        kind: StrKind,
        text: Vec<u8>,
        cased: bool,
    },
    /// Anything else (inner wildcards, non-ASCII case-insensitive text): an anchored regex.
    Regex(Regex),
}

/// Size limit of one compiled regex (hostile rules).
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a value. `cased` turns off case-insensitivity.
pub(crate) fn compile(p: &Pat, cased: bool) -> Result<StrMatch, String> {
    let lits: Vec<&Vec<u8>> = p
        .iter()
        .filter_map(|t| match t {
            Tok::Lit(b) => Some(b),
            _ => None,
        })
        .collect();
    let ascii = lits.iter().all(|b| b.is_ascii());
    let simple = !p.contains(&Tok::One) && lits.len() <= 1 && (cased || ascii);
    if simple {
        let start = p.first() == Some(&Tok::Many);
        let end = p.last() == Some(&Tok::Many) && p.len() > 1;
        let inner_ok = match p.len() {
            0 | 1 => true,
            2 => start || end,
            3 => start && end,
            _ => false,
        };
        if inner_ok {
            let text = lits.first().map(|b| b.to_vec()).unwrap_or_default();
            let text = if cased {
                text
            } else {
                text.to_ascii_lowercase()
            };
            let kind = match (start, end) {
                (false, false) if p == &[Tok::Many] => StrKind::Contains,
                (false, false) => StrKind::Exact,
                (true, false) => StrKind::Suffix,
                (false, true) => StrKind::Prefix,
                (true, true) => StrKind::Contains,
            };
            return Ok(StrMatch::Plain { kind, text, cased });
        }
    }
    let mut re = String::from("^");
    let unicode = lits.iter().all(|b| std::str::from_utf8(b).is_ok());
    for t in p {
        match t {
            Tok::Lit(b) => {
                if unicode {
                    re.push_str(&regex::escape(&String::from_utf8_lossy(b)));
                } else {
                    for byte in b.iter() {
                        re.push_str(&format!("\\x{byte:02X}"));
                    }
                }
            }
            Tok::Many => re.push_str("(?s:.*)"),
            Tok::One => re.push_str("(?s:.)"),
        }
    }
    re.push('$');
    RegexBuilder::new(&re)
        .case_insensitive(!cased)
        .unicode(unicode)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(StrMatch::Regex)
        .map_err(|e| format!("value does not compile: {e}"))
}

impl StrMatch {
    /// Whether `value` matches.
    pub(crate) fn is_match(&self, value: &[u8]) -> bool {
        match self {
            StrMatch::Plain { kind, text, cased } => {
                if *cased {
                    plain(*kind, value, text, |a, b| a == b)
                } else {
                    plain(*kind, value, text, |a, b| a.eq_ignore_ascii_case(b))
                }
            }
            StrMatch::Regex(re) => re.is_match(value),
        }
    }
}

fn plain(kind: StrKind, value: &[u8], text: &[u8], eq: impl Fn(&[u8], &[u8]) -> bool) -> bool {
    match kind {
        StrKind::Exact => value.len() == text.len() && eq(value, text),
        StrKind::Prefix => value.len() >= text.len() && eq(&value[..text.len()], text),
        StrKind::Suffix => {
            value.len() >= text.len() && eq(&value[value.len() - text.len()..], text)
        }
        StrKind::Contains => {
            text.is_empty()
                || (value.len() >= text.len() && value.windows(text.len()).any(|w| eq(w, text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, v: &str) -> bool {
        compile(&parse_wildcards(pat), false)
            .map(|c| c.is_match(v.as_bytes()))
            .unwrap_or(false)
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(m("*\\cmd.exe", "C:\\Windows\\CMD.EXE"));
        assert!(!m("*\\cmd.exe", "C:\\Windows\\cmd.exe.bak"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "abbc"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("x\\*y", "x*y"));
        assert!(!m("x\\*y", "xzy"));
        assert!(m("x\\\\*", "x\\anything"));
        assert!(m("C:\\Windows\\", "c:\\windows\\"));
        assert!(m("ÄBC*", "äbcdef"));
        assert!(!m("", "x"));
        assert!(m("", ""));
    }

    #[test]
    fn base64offset_matches_the_known_encodings() {
        // The three offsets of "/bin/sh" found in longer base64 texts.
        let v = base64offset(b"/bin/sh");
        assert_eq!(v[0], b"L2Jpbi9za".to_vec());
        assert_eq!(v[1], b"9iaW4vc2".to_vec());
        assert_eq!(v[2], b"vYmluL3No".to_vec());
    }

    #[test]
    fn windash_variants() {
        let v = windash_expand(&parse_wildcards("-a /b"), 100).unwrap_or_default();
        assert_eq!(v.len(), 25);
        assert!(v.contains(&vec![Tok::Lit("/a \u{2013}b".as_bytes().to_vec())]));
    }

    #[test]
    fn utf16() {
        assert_eq!(utf16le(b"ab"), vec![b'a', 0, b'b', 0]);
        assert_eq!(utf16be(b"ab"), vec![0, b'a', 0, b'b']);
        assert_eq!(utf16bom(b"a"), vec![0xFF, 0xFE, b'a', 0]);
    }
}
