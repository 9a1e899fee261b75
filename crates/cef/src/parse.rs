//! The CEF parser and the spec-conformant writer ([`CefEvent`]'s `Display`).
//!
//! Behaviour where parsers in the wild disagree (pycef keeps escapes, liblognorm rejects
//! unknown escapes, logstash keeps `\|` in extension values):
//! - escapes are removed as the CEF spec says: `\|` and `\\` in the header (plus `\` before a
//!   raw CR or LF, which Mozilla's library writes); `\=`, `\\`, `\n`, `\r` in extension values,
//!   and `\|` there too (tolerated);
//! - lenient everywhere else: an unknown escape keeps its backslash, empty header fields are
//!   accepted (unless [`ParseOptions::require_header_values`]), any `CEF:<digits>` version is
//!   accepted, a missing `|` after the severity at the end of the line is accepted, keys may
//!   be dotted, indexed or hold commas (`ad.Error_,Code`, `ad.field[0]`), and the first key
//!   anything but whitespace, `=` and `\`;
//! - rejected: no `CEF:<version>|`, fewer than 7 header fields, and text before the first
//!   `key=` of the extension (free text cannot be told apart from a broken line).

use std::borrow::Cow;
use std::fmt;

use crate::escape::{escape_header, escape_value};

/// Names of the seven header fields, numbered as in errors: field `n` follows the `n`-th `|`
/// (`version` is field 0, between `CEF:` and the first `|`).
pub const HEADER_FIELDS: [&str; 7] = [
    "version",
    "device_vendor",
    "device_product",
    "device_version",
    "signature_id",
    "name",
    "severity",
];

/// A parsed CEF event. Text is borrowed from the input unless unescaping changed it.
///
/// Its `Display` writes it back as a CEF line with the spec's escaping, which [`parse`] reads
/// back to an equal event (extension values cannot end in whitespace: CEF separates pairs with
/// spaces and has no escape for them, so the parser trims it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CefEvent<'a> {
    /// Text before `CEF:` (a syslog header), trimmed; empty when none.
    pub prefix: Cow<'a, str>,
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
    pub extensions: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// What is wrong with a line; see [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// There is no `CEF:` in the line.
    NoHeader,
    /// `CEF:` is not followed by a numeric version and `|`.
    BadVersion,
    /// The line ends before header field `n` (see [`HEADER_FIELDS`]).
    MissingField(usize),
    /// Header field `n` is blank (only with [`ParseOptions::require_header_values`]).
    EmptyField(usize),
    /// The extension does not start with `key=`.
    ExtensionText,
}

fn field_name(n: usize) -> &'static str {
    HEADER_FIELDS.get(n).copied().unwrap_or("field")
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseErrorKind::NoHeader => f.write_str("expected `CEF:<version>|`, found no `CEF:`"),
            ParseErrorKind::BadVersion => {
                f.write_str("header field 0 (version): expected digits and '|' after `CEF:`")
            }
            ParseErrorKind::MissingField(n) => {
                write!(f, "header field {n} ({}) missing", field_name(n))
            }
            ParseErrorKind::EmptyField(n) => {
                write!(f, "header field {n} ({}) is empty", field_name(n))
            }
            ParseErrorKind::ExtensionText => {
                f.write_str("extension: expected `key=value`, found text")
            }
        }
    }
}

/// Why a line is not CEF: what was expected, and the byte offset in the input where it was
/// not found, e.g. `header field 3 (device_version) missing at byte 42`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct ParseError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What was expected there.
    pub kind: ParseErrorKind,
}

fn err(offset: usize, kind: ParseErrorKind) -> ParseError {
    ParseError { offset, kind }
}

/// Parsing options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Reject a blank header field (as pycef does). Default: accept it (as logstash does):
    /// a SIEM would rather keep an event from a device that leaves its version empty.
    pub require_header_values: bool,
}

/// Whether `CEF:` at `at` may start a header: at the start or after a non-alphanumeric byte.
fn at_boundary(b: &[u8], at: usize) -> bool {
    at == 0
        || at
            .checked_sub(1)
            .and_then(|p| b.get(p))
            .is_some_and(|c| !c.is_ascii_alphanumeric())
}

/// Number of ASCII digits at `from`.
fn digits_at(b: &[u8], from: usize) -> usize {
    b.get(from..)
        .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
}

/// Byte offset of the first `CEF:<digits>|` in `s` that starts the line or follows a
/// non-alphanumeric byte (so `...host CEF:0|...` after a syslog header is found).
pub fn find_cef(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memmem::find_iter(b, b"CEF:").find(|&at| {
        let digits = digits_at(b, at + 4);
        at_boundary(b, at) && digits > 0 && b.get(at + 4 + digits) == Some(&b'|')
    })
}

/// Replaces `\x` by `map(x)` where it gives a character; any other backslash is kept.
fn unescape_with(s: &str, map: fn(char) -> Option<char>) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(r) = chars.peek().copied().and_then(map) {
                out.push(r);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Removes header escapes: a backslash before `|`, `\`, CR or LF (Mozilla's library escapes
/// CR/LF that way) stands for that character; any other backslash is kept.
fn unescape_header(s: &str) -> Cow<'_, str> {
    unescape_with(s, |n| matches!(n, '|' | '\\' | '\r' | '\n').then_some(n))
}

/// Removes extension escapes: `\=`, `\\`, `\n` (LF), `\r` (CR) and `\|` (tolerated); any other
/// backslash is kept.
pub fn unescape_value(s: &str) -> Cow<'_, str> {
    unescape_with(s, |n| match n {
        '=' | '\\' | '|' => Some(n),
        'n' => Some('\n'),
        'r' => Some('\r'),
        _ => None,
    })
}

/// Parses a CEF line, with or without a syslog prefix, accepting empty header fields.
///
/// ```
/// let ev = cef::parse(r"<134>Oct 15 13:45:30 fw1 CEF:0|Acme|FW\|X|1.0|100|Port scan|High|src=10.0.0.1 msg=a\=b c").unwrap();
/// assert_eq!(ev.prefix, "<134>Oct 15 13:45:30 fw1");
/// assert_eq!(ev.device_product, "FW|X");
/// assert_eq!(ev.severity_number(), Some(8));
/// assert_eq!(ev.get("msg"), Some("a=b c"));
///
/// let e = cef::parse("CEF:0|Acme|FW|").unwrap_err();
/// assert_eq!(e.to_string(), "header field 3 (device_version) missing at byte 14");
/// ```
pub fn parse(line: &str) -> Result<CefEvent<'_>, ParseError> {
    parse_with(line, ParseOptions::default())
}

/// Parses a CEF line with `opts`.
pub fn parse_with(line: &str, opts: ParseOptions) -> Result<CefEvent<'_>, ParseError> {
    let b = line.as_bytes();
    let start = match find_cef(line) {
        Some(s) => s,
        None => {
            return Err(
                match memchr::memmem::find_iter(b, b"CEF:").find(|&at| at_boundary(b, at)) {
                    Some(at) => err(at + 4, ParseErrorKind::BadVersion),
                    None => err(0, ParseErrorKind::NoHeader),
                },
            )
        }
    };
    let prefix = line.get(..start).unwrap_or("").trim();
    // Header: 7 fields, each ended by an unescaped '|'.
    let mut fields: [(usize, usize); 7] = [(0, 0); 7];
    let mut pos = start + 4;
    for (i, slot) in fields.iter_mut().enumerate() {
        if pos >= line.len() && i > 0 {
            return Err(err(line.len(), ParseErrorKind::MissingField(i)));
        }
        let mut j = pos;
        let end = loop {
            match b.get(j) {
                Some(b'\\') => j += 2,
                Some(b'|') => break j,
                Some(_) => j += 1,
                // The severity may end the line (its '|' lost); any other field may not.
                None if i == HEADER_FIELDS.len() - 1 => break line.len(),
                None => return Err(err(line.len(), ParseErrorKind::MissingField(i + 1))),
            }
        };
        *slot = (pos, end);
        pos = end + 1;
    }
    let text = |(a, z): (usize, usize)| line.get(a..z).unwrap_or("");
    if opts.require_header_values {
        if let Some(i) = fields.iter().position(|f| text(*f).trim().is_empty()) {
            let at = fields.get(i).map_or(0, |f| f.0);
            return Err(err(at, ParseErrorKind::EmptyField(i)));
        }
    }
    let extensions = parse_extensions(line, pos.min(line.len()))?;
    let [version, vendor, product, dev_version, signature, name, severity] =
        fields.map(|f| unescape_header(text(f)));
    Ok(CefEvent {
        prefix: Cow::Borrowed(prefix),
        version,
        device_vendor: vendor,
        device_product: product,
        device_version: dev_version,
        signature_id: signature,
        name,
        severity,
        extensions,
    })
}

/// Bytes a key may hold after the first pair: ASCII alphanumerics and `_ - . [ ] , |` (dotted,
/// indexed and comma keys as devices write them, and the `|` Mozilla's library lets through).
/// Narrower than "anything but a space" so that text like `Guid:test=` inside a value is not
/// taken for a key.
fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'[' | b']' | b',' | b'|')
}

/// Bytes the first key may hold: anything but whitespace, `=` and `\` (nothing precedes it
/// that it could be confused with).
fn is_first_key_byte(c: u8) -> bool {
    !c.is_ascii_whitespace() && c != b'=' && c != b'\\'
}

type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// `key=value` pairs from `start`. A key is a run of key bytes before an unescaped `=`, after
/// whitespace (or the first thing in the extension); a value runs to the whitespace before the
/// next key (so it may hold spaces, `|` and even `=` when what precedes it is not shaped like a
/// key), trailing whitespace removed.
fn parse_extensions(line: &str, start: usize) -> Result<Pairs<'_>, ParseError> {
    let b = line.as_bytes();
    let first = start
        + b.get(start..).map_or(0, |r| {
            r.iter().take_while(|c| c.is_ascii_whitespace()).count()
        });
    // (key start, '=' position)
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = first;
    while let Some(off) = b.get(i..).and_then(|r| memchr::memchr2(b'=', b'\\', r)) {
        let at = i + off;
        if b.get(at) == Some(&b'\\') {
            i = at + 2;
            continue;
        }
        i = at + 1;
        if keys.is_empty() {
            let mut k = at;
            while k > first && b.get(k - 1).is_some_and(|&c| is_first_key_byte(c)) {
                k -= 1;
            }
            if k == first && k < at {
                keys.push((k, at));
                continue;
            }
        }
        let mut k = at;
        while k > first && b.get(k - 1).is_some_and(|&c| is_key_byte(c)) {
            k -= 1;
        }
        if k < at && k > first && b.get(k - 1).is_some_and(u8::is_ascii_whitespace) {
            keys.push((k, at));
        }
    }
    let lead_end = keys.first().map_or(line.len(), |k| k.0);
    if first < lead_end {
        return Err(err(first, ParseErrorKind::ExtensionText));
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(k, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(line.len(), |next| next.0);
        let raw = line.get(eq + 1..end).unwrap_or("");
        let raw = raw.trim_end_matches(|c: char| c.is_ascii_whitespace());
        let key = line.get(k..eq).unwrap_or("");
        out.push((Cow::Borrowed(key), unescape_value(raw)));
    }
    Ok(out)
}

/// CEF severity bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeverityLevel {
    /// 0–3
    Low,
    /// 4–6
    Medium,
    /// 7–8
    High,
    /// 9–10
    VeryHigh,
}

impl SeverityLevel {
    /// The band of a 0–10 severity (values above 10 are `VeryHigh`).
    pub fn of(n: u8) -> SeverityLevel {
        match n {
            0..=3 => SeverityLevel::Low,
            4..=6 => SeverityLevel::Medium,
            7..=8 => SeverityLevel::High,
            _ => SeverityLevel::VeryHigh,
        }
    }
}

impl<'a> CefEvent<'a> {
    /// The value of extension `key` (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extensions
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// The value of extension `key` given by its short key or its full name (`src` or
    /// `sourceAddress`, whichever the line used).
    pub fn get_any(&self, key: &str) -> Option<&str> {
        self.get(key).or_else(|| {
            let other = crate::names::full_name(key).or_else(|| crate::names::short_key(key))?;
            self.get(other)
        })
    }

    /// Severity on the 0–10 scale; the words map to the top of their band (`Low`=3,
    /// `Medium`=6, `High`=8, `Very-High`=10); `None` for anything else (`Unknown`, `11`, ...).
    pub fn severity_number(&self) -> Option<u8> {
        let s = self.severity.trim();
        if let Ok(n) = s.parse::<u8>() {
            return (n <= 10).then_some(n);
        }
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(3),
            "medium" => Some(6),
            "high" => Some(8),
            "very-high" | "very high" | "veryhigh" => Some(10),
            _ => None,
        }
    }

    /// The severity band.
    pub fn severity_level(&self) -> Option<SeverityLevel> {
        self.severity_number().map(SeverityLevel::of)
    }

    /// Custom fields with their labels (`cs1Label=Reason cs1=x` → `("Reason", "x")`), in the
    /// order of the labels: csN, cnN, cfpN, c6aN, flexStringN, flexNumberN, flexDateN,
    /// deviceCustomDateN, by short key or full name (`deviceCustomString1Label`). A label
    /// without a value is left out.
    pub fn labeled_fields(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (k, label) in &self.extensions {
            let Some(base) = k.strip_suffix("Label") else {
                continue;
            };
            if !crate::names::is_labeled_key(base) {
                continue;
            }
            if let Some(v) = self.get_any(base) {
                out.push((label.as_ref(), v));
            }
        }
        out
    }

    /// The value of the custom field labelled `label` (`cs1Label=label cs1=value`).
    pub fn labeled(&self, label: &str) -> Option<&str> {
        self.labeled_fields()
            .into_iter()
            .rev()
            .find(|(l, _)| *l == label)
            .map(|(_, v)| v)
    }

    /// Extensions under readable names: the full ArcSight name of a standard key (`src` →
    /// `sourceAddress`), the key itself otherwise.
    pub fn named_extensions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extensions
            .iter()
            .map(|(k, v)| (crate::names::full_name(k).unwrap_or(k.as_ref()), v.as_ref()))
    }

    /// An owned copy, independent of the input.
    pub fn into_owned(self) -> CefEvent<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        CefEvent {
            prefix: own(self.prefix),
            version: own(self.version),
            device_vendor: own(self.device_vendor),
            device_product: own(self.device_product),
            device_version: own(self.device_version),
            signature_id: own(self.signature_id),
            name: own(self.name),
            severity: own(self.severity),
            extensions: self
                .extensions
                .into_iter()
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
        }
    }
}

impl fmt::Display for CefEvent<'_> {
    /// `[prefix ]CEF:version|vendor|...|severity|k=v k=v`, header fields escaping `\`, `|`
    /// (and CR/LF with a backslash before them, as Mozilla's library does), values escaping
    /// `\`, `=`, LF (`\n`) and CR (`\r`). Keys are written as they are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.prefix.is_empty() {
            write!(f, "{} ", self.prefix)?;
        }
        write!(f, "CEF:{}", self.version)?;
        for h in [
            &self.device_vendor,
            &self.device_product,
            &self.device_version,
            &self.signature_id,
            &self.name,
            &self.severity,
        ] {
            write!(f, "|{}", escape_header(h))?;
        }
        f.write_str("|")?;
        for (n, (k, v)) in self.extensions.iter().enumerate() {
            let sep = if n == 0 { "" } else { " " };
            write!(f, "{sep}{k}={}", escape_value(v))?;
        }
        Ok(())
    }
}
