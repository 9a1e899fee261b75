//! The CEF parser.

use std::borrow::Cow;

/// The seven header fields, in order, for messages.
const HEADER_NAMES: [&str; 7] = [
    "version",
    "device_vendor",
    "device_product",
    "device_version",
    "signature_id",
    "name",
    "severity",
];

/// A parsed CEF event. Text is borrowed from the input unless unescaping changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CefEvent<'a> {
    /// Text before `CEF:` (a syslog header), trimmed; empty when none.
    pub prefix: &'a str,
    /// CEF version (`0` or `1`).
    pub version: Cow<'a, str>,
    /// Device vendor.
    pub device_vendor: Cow<'a, str>,
    /// Device product.
    pub device_product: Cow<'a, str>,
    /// Device version.
    pub device_version: Cow<'a, str>,
    /// Signature ID (device event class ID).
    pub signature_id: Cow<'a, str>,
    /// Name (human-readable description).
    pub name: Cow<'a, str>,
    /// Severity as written: `0`..`10` or `Low`/`Medium`/`High`/`Very-High`.
    pub severity: Cow<'a, str>,
    /// Extension `key=value` pairs in order, values unescaped.
    pub extensions: Vec<(&'a str, Cow<'a, str>)>,
}

/// Why a line is not CEF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CEF at byte {offset}: {message}")]
pub struct ParseError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What was expected there.
    pub message: String,
}

fn err(offset: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        message: message.into(),
    }
}

/// Parsing options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Reject an empty header field (as pycef does). Default: accept it.
    pub require_header_values: bool,
}

/// Byte offset of `CEF:<digits>|` in `s`: at the start or after a non-alphanumeric byte.
pub fn find_cef(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(off) = b.get(from..).and_then(|r| memchr::memmem::find(r, b"CEF:")) {
        let at = from + off;
        let before_ok = at == 0 || b.get(at - 1).is_some_and(|c| !c.is_ascii_alphanumeric());
        let digits = b
            .get(at + 4..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
        if before_ok && digits > 0 && b.get(at + 4 + digits) == Some(&b'|') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Removes header escapes: a backslash before `|`, `\`, CR or LF (Mozilla's library escapes
/// CR/LF that way) stands for that character; any other backslash is kept.
fn unescape_header(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n @ ('|' | '\\' | '\r' | '\n')) = chars.peek() {
                out.push(n);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Removes extension escapes: `\=`, `\\`, `\n` (LF), `\r` (CR) and `\|` (tolerated); other
/// backslashes are kept.
pub fn unescape_value(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let rep = match chars.peek() {
                Some('=') => Some('='),
                Some('\\') => Some('\\'),
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                Some('|') => Some('|'),
                _ => None,
            };
            if let Some(r) = rep {
                out.push(r);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Parses a CEF line (with or without a syslog prefix), accepting empty header fields.
pub fn parse(line: &str) -> Result<CefEvent<'_>, ParseError> {
    parse_with(line, ParseOptions::default())
}

/// Parses a CEF line with `opts`.
pub fn parse_with(line: &str, opts: ParseOptions) -> Result<CefEvent<'_>, ParseError> {
    let start = find_cef(line).ok_or_else(|| err(0, "no 'CEF:<version>|' in the line"))?;
    let prefix = line.get(..start).unwrap_or("").trim();
    let b = line.as_bytes();
    // Header: 7 fields separated by unescaped '|'.
    let mut fields: [(usize, usize); 7] = [(0, 0); 7];
    let mut pos = start + 4;
    for (i, slot) in fields.iter_mut().enumerate() {
        let mut j = pos;
        loop {
            match b.get(j) {
                Some(b'\\') => j += 2,
                Some(b'|') => break,
                Some(_) => j += 1,
                None => {
                    let name = HEADER_NAMES.get(i).copied().unwrap_or("field");
                    return Err(err(
                        line.len(),
                        format!("header field {} ({name}) is not followed by '|'", i + 1),
                    ));
                }
            }
        }
        *slot = (pos, j.min(line.len()));
        pos = j + 1;
    }
    let text = |(a, z): (usize, usize)| line.get(a..z).unwrap_or("");
    let header: Vec<Cow<'_, str>> = fields.iter().map(|f| unescape_header(text(*f))).collect();
    if opts.require_header_values {
        if let Some(i) = header.iter().position(|h| h.trim().is_empty()) {
            let name = HEADER_NAMES.get(i).copied().unwrap_or("field");
            return Err(err(
                fields.get(i).map_or(0, |f| f.0),
                format!("header field {} ({name}) is empty", i + 1),
            ));
        }
    }
    let extensions = parse_extensions(line, pos.min(line.len()))?;
    let mut h = header.into_iter();
    let mut next = || h.next().unwrap_or(Cow::Borrowed(""));
    Ok(CefEvent {
        prefix,
        version: next(),
        device_vendor: next(),
        device_product: next(),
        device_version: next(),
        signature_id: next(),
        name: next(),
        severity: next(),
        extensions,
    })
}

fn is_key_byte(c: u8) -> bool {
    !c.is_ascii_whitespace() && c != b'=' && c != b'\\'
}

/// `key=value` pairs from `start`. A key is a run of non-space bytes before an unescaped `=`
/// that starts the extension or follows a space; a value runs to the space before the next
/// key (so values may hold spaces and unescaped `=` or `|`), trailing spaces removed.
fn parse_extensions(line: &str, start: usize) -> Result<Vec<(&str, Cow<'_, str>)>, ParseError> {
    let b = line.as_bytes();
    // (key start, '=' position)
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => {
                i += 2;
                continue;
            }
            b'=' => {
                let mut k = i;
                while k > start && b.get(k - 1).is_some_and(|&c| is_key_byte(c)) {
                    k -= 1;
                }
                let at_boundary = k == start || b.get(k - 1).is_some_and(u8::is_ascii_whitespace);
                if k < i && at_boundary {
                    keys.push((k, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let lead = line
        .get(start..keys.first().map_or(line.len(), |k| k.0))
        .unwrap_or("");
    if !lead.trim().is_empty() {
        return Err(err(start, "extension: expected key=value pairs"));
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(k, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(line.len(), |next| next.0);
        let raw = line.get(eq + 1..end).unwrap_or("");
        let raw = raw.trim_end_matches([' ', '\t', '\r', '\n']);
        let key = line.get(k..eq).unwrap_or("");
        out.push((key, unescape_value(raw)));
    }
    Ok(out)
}

impl<'a> CefEvent<'a> {
    /// The value of extension `key` (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extensions
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// Severity on the 0–10 scale (`Low`=3, `Medium`=6, `High`=8, `Very-High`=10).
    pub fn severity_number(&self) -> Option<u8> {
        let s = self.severity.trim();
        if let Ok(n) = s.parse::<u8>() {
            return (n <= 10).then_some(n);
        }
        match s.to_ascii_lowercase().as_str() {
            "unknown" => None,
            "low" => Some(3),
            "medium" => Some(6),
            "high" => Some(8),
            "very-high" | "very high" => Some(10),
            _ => None,
        }
    }

    /// Custom fields with labels (`cs1Label=Reason cs1=x` → `("Reason", "x")`): csN, cnN,
    /// cfpN, c6aN, flexStringN, flexNumberN, flexDateN, deviceCustomDateN.
    pub fn labeled_fields(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (k, label) in &self.extensions {
            let Some(base) = k.strip_suffix("Label") else {
                continue;
            };
            if !crate::names::is_labeled_key(base) {
                continue;
            }
            if let Some(v) = self.get(base) {
                out.push((label.as_ref(), v));
            }
        }
        out
    }
}
