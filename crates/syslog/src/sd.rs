//! RFC 5424 STRUCTURED-DATA: `[id name="value" ...][id2 ...]`.

use std::borrow::Cow;

use crate::input::Input;
use crate::time::SynErr;

/// One SD-ELEMENT: its SD-ID and its parameters in order of appearance (repeated names and
/// repeated elements are kept as they came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructuredElement<'a> {
    /// The SD-ID, e.g. `exampleSDID@32473`, `origin`, `meta`.
    pub id: &'a str,
    /// `(PARAM-NAME, PARAM-VALUE)` pairs; values are unescaped (`\"`, `\\`, `\]`).
    pub params: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> StructuredElement<'a> {
    /// The value of the first parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// How forgiving the element parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SdMode {
    /// RFC 5424 syntax exactly (but unescaped `]` inside a quoted value is tolerated).
    Strict,
    /// Spaces around `=` and between parameters tolerated; an element that does not parse
    /// is skipped up to its first `]`.
    Lenient,
    /// Structured data found after an RFC 3164 tag (rsyslog's `[origin ...]`): elements need
    /// at least one parameter, and parsing stops at the first element that does not parse
    /// (it then belongs to the message).
    Bsd,
}

#[inline]
fn is_print_ascii(c: u8) -> bool {
    (33..=126).contains(&c)
}

/// Removes the RFC 5424 escapes `\"`, `\\` and `\]`; a backslash before any other character
/// stays as it is.
pub(crate) fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        if c == b'\\' {
            if let Some(&n @ (b'"' | b'\\' | b']')) = raw.get(i + 1) {
                out.push(n);
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Parses one element starting at `b[i] == '['`; returns it and the offset after its `]`.
pub(crate) fn parse_element<'a>(
    inp: &Input<'a>,
    i: usize,
    mode: SdMode,
) -> Result<(StructuredElement<'a>, usize), SynErr> {
    let b = inp.b;
    let strict = mode == SdMode::Strict;
    if b.get(i) != Some(&b'[') {
        return Err((i, "'[' starting an SD-ELEMENT"));
    }
    let id_start = i + 1;
    let mut j = id_start;
    while let Some(&c) = b.get(j) {
        let stop = if strict {
            !is_print_ascii(c) || c == b'=' || c == b']' || c == b'"'
        } else {
            c == b' ' || c == b'\t' || c == b'=' || c == b']'
        };
        if stop {
            break;
        }
        j += 1;
    }
    if j == id_start {
        return Err((j, "an SD-ID"));
    }
    let id = inp.str(id_start, j).ok_or((id_start, "a UTF-8 SD-ID"))?;
    let mut params = Vec::new();
    loop {
        if strict {
            match b.get(j) {
                Some(b']') => break,
                Some(b' ') => j += 1,
                Some(_) => return Err((j, "' ' or ']' in the SD-ELEMENT")),
                None => return Err((j, "']' closing the SD-ELEMENT")),
            }
        } else {
            while matches!(b.get(j), Some(b' ' | b'\t')) {
                j += 1;
            }
            match b.get(j) {
                Some(b']') => break,
                Some(_) => {}
                None => return Err((j, "']' closing the SD-ELEMENT")),
            }
        }
        // PARAM-NAME
        let name_start = j;
        while let Some(&c) = b.get(j) {
            let stop = if strict {
                !is_print_ascii(c) || c == b'=' || c == b']' || c == b'"'
            } else {
                c == b'=' || c == b']' || c == b' ' || c == b'\t' || c == b'"'
            };
            if stop {
                break;
            }
            j += 1;
        }
        if j == name_start {
            return Err((j, "a PARAM-NAME"));
        }
        let name = inp
            .str(name_start, j)
            .ok_or((name_start, "a UTF-8 PARAM-NAME"))?;
        if b.get(j) != Some(&b'=') {
            return Err((j, "'=' after the PARAM-NAME"));
        }
        j += 1;
        if !strict {
            while matches!(b.get(j), Some(b' ' | b'\t')) {
                j += 1;
            }
        }
        if b.get(j) != Some(&b'"') {
            return Err((j, "'\"' opening the PARAM-VALUE"));
        }
        let v_start = j + 1;
        let mut k = v_start;
        let mut escaped = false;
        let v_end = loop {
            let rest = b.get(k..).unwrap_or(&[]);
            match memchr::memchr2(b'"', b'\\', rest) {
                None => return Err((j, "'\"' closing the PARAM-VALUE")),
                Some(off) => {
                    let at = k + off;
                    if b.get(at) == Some(&b'\\') {
                        escaped = true;
                        k = at + 2;
                        if k > b.len() {
                            return Err((j, "'\"' closing the PARAM-VALUE"));
                        }
                    } else {
                        break at;
                    }
                }
            }
        };
        let value = if escaped {
            let raw = b.get(v_start..v_end).unwrap_or(&[]);
            match String::from_utf8(unescape(raw)) {
                Ok(s) => Cow::Owned(s),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            }
        } else {
            inp.cow(v_start, v_end)
        };
        params.push((name, value));
        j = v_end + 1;
    }
    if mode == SdMode::Bsd && params.is_empty() {
        return Err((i, "an SD-ELEMENT with parameters"));
    }
    Ok((StructuredElement { id, params }, j + 1))
}

/// Parses consecutive elements starting at `b[i] == '['`. Returns the elements and the offset
/// after the last one that was consumed. Only [`SdMode::Strict`] returns errors.
pub(crate) fn parse_list<'a>(
    inp: &Input<'a>,
    i: usize,
    mode: SdMode,
) -> Result<(Vec<StructuredElement<'a>>, usize), SynErr> {
    let b = inp.b;
    let mut out = Vec::new();
    let mut j = i;
    while b.get(j) == Some(&b'[') {
        match parse_element(inp, j, mode) {
            Ok((el, end)) => {
                out.push(el);
                j = end;
            }
            Err(e) => match mode {
                SdMode::Strict => return Err(e),
                SdMode::Bsd => break,
                SdMode::Lenient => {
                    // Skip the malformed element up to its first ']' (when there is one).
                    let rest = b.get(j..).unwrap_or(&[]);
                    match memchr::memchr(b']', rest) {
                        Some(off) => j += off + 1,
                        None => break,
                    }
                }
            },
        }
    }
    Ok((out, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str, mode: SdMode) -> Result<(Vec<StructuredElement<'_>>, usize), SynErr> {
        // Input borrows the str; leak-free because the test keeps `s` alive.
        let inp = Input::new(s.as_bytes());
        parse_list(&inp, 0, mode)
    }

    #[test]
    fn escapes() {
        let s = r#"[id aa="hullo \"there\"" bb="let's \\\\do this\\\\" cc="hello [bye\]" dd="hello\nbye" ee="not \esc\aped"]"#;
        let (els, end) = list(s, SdMode::Strict).unwrap();
        assert_eq!(end, s.len());
        let e = &els[0];
        assert_eq!(e.param("aa"), Some(r#"hullo "there""#));
        assert_eq!(e.param("bb"), Some(r#"let's \\do this\\"#));
        assert_eq!(e.param("cc"), Some("hello [bye]"));
        assert_eq!(e.param("dd"), Some(r"hello\nbye"));
        assert_eq!(e.param("ee"), Some(r"not \esc\aped"));
        assert!(matches!(e.params[0].1, Cow::Owned(_)));
    }

    #[test]
    fn borrowed_when_no_escapes() {
        let (els, _) = list(r#"[a x="1" y=""]"#, SdMode::Strict).unwrap();
        assert!(matches!(els[0].params[0].1, Cow::Borrowed("1")));
        assert_eq!(els[0].param("y"), Some(""));
    }

    #[test]
    fn lenient_skips_bad_elements() {
        let (els, end) = list(r#"[abc][id aa=][x y="1"] msg"#, SdMode::Lenient).unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!(els[0].id, "abc");
        assert_eq!(els[1].id, "x");
        assert_eq!(end, 22);
        let (els, _) = list(r#"[a x= "1"  y="2"]"#, SdMode::Lenient).unwrap();
        assert_eq!(els[0].param("x"), Some("1"));
        assert_eq!(els[0].param("y"), Some("2"));
        assert!(list(r#"[a x= "1"]"#, SdMode::Strict).is_err());
        assert!(list(r#"[a  x="1"]"#, SdMode::Strict).is_err());
    }

    #[test]
    fn bsd_mode_needs_params_and_stops() {
        let (els, end) = list("[WAN_LOCAL-default-D]IN=eth0", SdMode::Bsd).unwrap();
        assert!(els.is_empty());
        assert_eq!(end, 0);
        let (els, end) = list(r#"[origin a="1"][bad] x"#, SdMode::Bsd).unwrap();
        assert_eq!(els.len(), 1);
        assert_eq!(end, 14);
    }

    #[test]
    fn unterminated() {
        assert!(list(r#"[a x="1"#, SdMode::Strict).is_err());
        assert!(list(r#"[a x="1\"#, SdMode::Strict).is_err());
        assert!(list(r#"[a x="1""#, SdMode::Strict).is_err());
        let (els, end) = list(r#"[a x="1"#, SdMode::Lenient).unwrap();
        assert!(els.is_empty());
        assert_eq!(end, 0);
    }
}
