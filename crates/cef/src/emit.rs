//! Building CEF lines exactly as Mozilla's Python `cef` 0.5 library does.
//!
//! The line is `<date> <host> CEF:<version>|<vendor>|<product>|<device_version>|<signature>|
//! <name>|<severity>|cs1Label=requestClientApplication cs1=<user agent> requestMethod=<method>
//! request=<path> src=<ip> dhost=<host header> suser=<user>[ <key>=<value>...]`:
//! - `name`, `signature` and `severity` escape `|`, `\`, CR and LF with a backslash (the CR or
//!   LF itself stays); vendor, product and versions are written as configured;
//! - request fields and extension values escape `\` and `=` only; `suser` and `src` are
//!   written as given;
//! - `src` is the first `X-Forwarded-For` address, else `REMOTE_ADDR`, else `None`; the user
//!   agent and host default to `none`, method and path to empty;
//! - extra extensions are sorted by (value length, key length, key, value) and appended while
//!   the line stays within 1024 bytes (counting unescaped lengths, as the library does); the
//!   first one that does not fit and all after it are dropped with a warning;
//! - an extension key outside `[A-Za-z0-9_.-]` gives a warning and is kept unchanged (the
//!   library's key check is an anchored regex whose substitution never fires);
//! - `log_cef` keyword arguments named like the line's internal fields (`source`, `method`,
//!   `url`, `dest`, `user_agent`, `version`, `vendor`, `device_version`, `product`, `host`,
//!   `suser`, `date`) also replace those fields, unescaped (`fields.update(kw)`); `src`,
//!   `dhost`, `request`, `requestMethod`, `cs1`, `cs1Label` are not appended again.

use std::fmt::Write as _;

use crate::escape::{escape_header, escape_value_mozilla};

/// A value as Python 2 would turn it into text (`str()`): the library accepts any object.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// Text (`str`/`unicode`, written as UTF-8).
    Str(String),
    /// An integer.
    Int(i64),
    /// A float (`str()` gives 12 significant digits).
    Float(f64),
    /// A boolean (`True`/`False`).
    Bool(bool),
    /// `None`.
    None,
}

impl PyValue {
    /// The text Python 2's `str()` gives.
    pub fn to_py_string(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            PyValue::Int(i) => i.to_string(),
            PyValue::Float(f) => py_float(*f, FloatStyle::Str),
            PyValue::Bool(true) => "True".into(),
            PyValue::Bool(false) => "False".into(),
            PyValue::None => "None".into(),
        }
    }

    /// Python 2's `repr()` (text as a byte string: `'abc'`, non-ASCII bytes as `\xNN`).
    pub fn py_repr(&self) -> String {
        match self {
            PyValue::Str(s) => py_repr_str(s),
            PyValue::Float(f) => py_float(*f, FloatStyle::Repr),
            other => other.to_py_string(),
        }
    }
}

impl From<&str> for PyValue {
    fn from(s: &str) -> Self {
        PyValue::Str(s.to_string())
    }
}

impl From<String> for PyValue {
    fn from(s: String) -> Self {
        PyValue::Str(s)
    }
}

impl From<i64> for PyValue {
    fn from(i: i64) -> Self {
        PyValue::Int(i)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for PyValue {
            fn from(i: $t) -> Self {
                PyValue::Int(i64::from(i))
            }
        }
    )*};
}
from_int!(i8, i16, i32, u8, u16, u32);

impl From<u64> for PyValue {
    fn from(i: u64) -> Self {
        i64::try_from(i).map_or_else(|_| PyValue::Str(i.to_string()), PyValue::Int)
    }
}

impl From<f64> for PyValue {
    fn from(f: f64) -> Self {
        PyValue::Float(f)
    }
}

impl From<bool> for PyValue {
    fn from(b: bool) -> Self {
        PyValue::Bool(b)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FloatStyle {
    /// `str()`: `%.12g`, `.0` added to integral values.
    Str,
    /// `repr()`: shortest round-trip digits, exponent below 1e-4 and from 1e16.
    Repr,
}

/// Python 2.7's `str(float)` / `repr(float)`.
fn py_float(f: f64, style: FloatStyle) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Significant digits and decimal exponent, from Rust's (correctly rounded) `{:e}`.
    let sci = match style {
        FloatStyle::Str => format!("{f:.11e}"),
        FloatStyle::Repr => format!("{f:e}"),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if neg { "-" } else { "" };
    let use_exp = match style {
        FloatStyle::Str => !(-4..12).contains(&exp),
        FloatStyle::Repr => !(-4..16).contains(&exp),
    };
    if use_exp {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.unsigned_abs());
    }
    // Fixed notation: the point goes after digit `exp` (counting from 0).
    let point = exp + 1;
    let (int, frac) = if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        ("0".to_string(), format!("{zeros}{digits}"))
    } else {
        let p = usize::try_from(point).unwrap_or(0);
        if digits.len() <= p {
            (
                format!("{digits}{}", "0".repeat(p - digits.len())),
                String::new(),
            )
        } else {
            let (a, b) = digits.split_at(p);
            (a.to_string(), b.to_string())
        }
    };
    let frac = if frac.is_empty() { "0".into() } else { frac };
    format!("{sign}{int}.{frac}")
}

/// Python 2's `repr()` of a byte string holding `s` as UTF-8.
fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
    out
}

/// Whether Python's `re.match(r'^[a-zA-Z0-9_\-.]+$', key)` accepts `key` (`$` also matches
/// before a final newline).
fn key_is_legal(k: &str) -> bool {
    let k = k.strip_suffix('\n').unwrap_or(k);
    !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

fn illegal_key_warning(k: &str) -> String {
    format!("The \"{k}\" key contains illegal characters")
}

/// Keys of the fixed part of the line (Mozilla's format), never appended again as extra
/// extensions.
pub const FIXED_EXTENSIONS: [&str; 7] = [
    "cs1Label",
    "cs1",
    "requestMethod",
    "request",
    "src",
    "dhost",
    "suser",
];

/// The header configuration (`cef.version`, `cef.vendor`, `cef.product`,
/// `cef.device_version`), written verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CefConfig {
    /// CEF format version (`0`).
    pub version: String,
    /// Device vendor.
    pub vendor: String,
    /// Device product.
    pub product: String,
    /// Device (product) version.
    pub device_version: String,
}

impl Default for CefConfig {
    /// The library's defaults for its logging formatter: `0`, `Mozilla`, `Mozilla`, `1`.
    fn default() -> Self {
        CefConfig {
            version: "0".into(),
            vendor: "Mozilla".into(),
            product: "Mozilla".into(),
            device_version: "1".into(),
        }
    }
}

/// The request an event is about, as a WSGI environ gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environ {
    /// `REMOTE_ADDR`.
    pub remote_addr: Option<String>,
    /// `HTTP_X_FORWARDED_FOR` (its first address wins over `REMOTE_ADDR`).
    pub x_forwarded_for: Option<String>,
    /// `REQUEST_METHOD` (empty when missing).
    pub method: Option<String>,
    /// `PATH_INFO` (empty when missing).
    pub path: Option<String>,
    /// `HTTP_HOST` (`none` when missing).
    pub host: Option<String>,
    /// `HTTP_USER_AGENT` (`none` when missing).
    pub user_agent: Option<String>,
}

/// Python's `unicode.strip()` whitespace.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

impl Environ {
    /// Reads the WSGI keys (`REMOTE_ADDR`, `HTTP_X_FORWARDED_FOR`, `REQUEST_METHOD`,
    /// `PATH_INFO`, `HTTP_HOST`, `HTTP_USER_AGENT`) through `get`, e.g. from a map.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let env: HashMap<&str, &str> = [("REMOTE_ADDR", "10.0.0.1"), ("PATH_INFO", "/")].into();
    /// let environ = cef::Environ::from_wsgi(|k| env.get(k).copied());
    /// assert_eq!(environ.source(), "10.0.0.1");
    /// ```
    pub fn from_wsgi<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Environ {
        let own = |k: &str| get(k).map(str::to_string);
        Environ {
            remote_addr: own("REMOTE_ADDR"),
            x_forwarded_for: own("HTTP_X_FORWARDED_FOR"),
            method: own("REQUEST_METHOD"),
            path: own("PATH_INFO"),
            host: own("HTTP_HOST"),
            user_agent: own("HTTP_USER_AGENT"),
        }
    }

    /// The `src` text: the first `X-Forwarded-For` entry, else `REMOTE_ADDR`, else `None`.
    pub fn source(&self) -> String {
        if let Some(xff) = &self.x_forwarded_for {
            return xff
                .split(',')
                .next()
                .unwrap_or("")
                .trim_matches(py_space)
                .to_string();
        }
        self.remote_addr.clone().unwrap_or_else(|| "None".into())
    }
}

/// A formatted line and the warnings the library would have logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// The line, without a trailing newline.
    pub line: String,
    /// Warnings: `The "<key>" key contains illegal characters`, `CEF Message too big. ...`.
    pub warnings: Vec<String>,
}

impl Formatted {
    /// The line.
    pub fn as_str(&self) -> &str {
        &self.line
    }
}

impl std::fmt::Display for Formatted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

impl From<Formatted> for String {
    fn from(f: Formatted) -> String {
        f.line
    }
}

/// Everything one `cef.log_cef` call (or one record of the library's logging formatters)
/// takes, for [`format_log_call`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogCall<'a> {
    /// Event name.
    pub name: &'a PyValue,
    /// Severity (0–10, or any value).
    pub severity: &'a PyValue,
    /// The request.
    pub environ: &'a Environ,
    /// Header configuration.
    pub config: &'a CefConfig,
    /// User name (`none` by default in `log_cef`, `None` in the formatters).
    pub username: &'a PyValue,
    /// Signature; the name when `None`.
    pub signature: Option<&'a PyValue>,
    /// Extra extensions (keyword arguments), in the order given; a repeated key keeps its
    /// last value.
    pub extensions: &'a [(String, PyValue)],
    /// The date text (`%b %d %H:%M:%S`).
    pub date: &'a str,
    /// The host name written after the date.
    pub host: &'a str,
    /// Length limit (1024 in `log_cef`; `None` or 0 = unlimited, the formatters' default).
    pub maxlen: Option<usize>,
    /// Whether keyword arguments also override the fixed fields (`log_cef`: true; the logging
    /// formatters pass their `data` to the extension part only).
    pub kw_override: bool,
}

impl LogCall<'_> {
    /// [`format_log_call`].
    pub fn format(&self) -> Formatted {
        format_log_call(self)
    }
}

/// Fields of the fixed part that a `log_cef` keyword argument of the same name replaces.
const OVERRIDABLE: [&str; 12] = [
    "source",
    "method",
    "url",
    "dest",
    "user_agent",
    "version",
    "vendor",
    "device_version",
    "product",
    "host",
    "suser",
    "date",
];

/// Formats one event exactly as `cef.log_cef` (or the logging formatters) would, with the
/// warnings it would log.
pub fn format_log_call(c: &LogCall<'_>) -> Formatted {
    format_impl(c, true)
}

/// The keyword arguments as a Python dict would hold them: one entry per key, last value.
fn dedup(kw: &[(String, PyValue)]) -> Vec<(&str, &PyValue)> {
    let mut out: Vec<(&str, &PyValue)> = Vec::with_capacity(kw.len());
    for (k, v) in kw {
        match out.iter_mut().find(|(ok, _)| *ok == k.as_str()) {
            Some(slot) => slot.1 = v,
            None => out.push((k.as_str(), v)),
        }
    }
    out
}

/// Extra extensions in the library's order: (value length, key length, key, value), with
/// their text; fixed keys left out.
pub(crate) fn sorted_extras<'k>(kw: &[(&'k str, &PyValue)]) -> Vec<(&'k str, String)> {
    let mut extra: Vec<(usize, usize, &str, String)> = kw
        .iter()
        .filter(|(k, _)| !FIXED_EXTENSIONS.contains(k))
        .map(|(k, v)| {
            let text = v.to_py_string();
            (text.len(), k.len(), *k, text)
        })
        .collect();
    extra.sort();
    extra.into_iter().map(|(_, _, k, v)| (k, v)).collect()
}

/// Formats `c`; without `with_prefix` the line starts at `CEF:` and the length limit applies
/// to that part.
pub(crate) fn format_impl(c: &LogCall<'_>, with_prefix: bool) -> Formatted {
    let mut warnings = Vec::new();
    let kw = dedup(c.extensions);
    let name = escape_header(&c.name.to_py_string());
    let mut f = Fields {
        severity: escape_header(&c.severity.to_py_string()),
        source: c.environ.source(),
        method: escape_value_mozilla(c.environ.method.as_deref().unwrap_or("")),
        url: escape_value_mozilla(c.environ.path.as_deref().unwrap_or("")),
        dest: escape_value_mozilla(c.environ.host.as_deref().unwrap_or("none")),
        user_agent: escape_value_mozilla(c.environ.user_agent.as_deref().unwrap_or("none")),
        signature: match c.signature {
            Some(s) => escape_header(&s.to_py_string()),
            None => name.clone(),
        },
        name,
        version: c.config.version.clone(),
        vendor: c.config.vendor.clone(),
        device_version: c.config.device_version.clone(),
        product: c.config.product.clone(),
        host: c.host.to_string(),
        suser: c.username.to_py_string(),
        date: c.date.to_string(),
    };
    if c.kw_override {
        for (k, v) in &kw {
            if !key_is_legal(k) {
                warnings.push(illegal_key_warning(k));
            }
            if OVERRIDABLE.contains(k) {
                f.set(k, v.to_py_string());
            }
        }
    }
    let mut msg = String::with_capacity(512);
    if with_prefix {
        let _ = write!(msg, "{} {} ", f.date, f.host);
    }
    let _ = write!(
        msg,
        "CEF:{}|{}|{}|{}|{}|{}|{}|cs1Label=requestClientApplication cs1={} requestMethod={} \
         request={} src={} dhost={} suser={}",
        f.version,
        f.vendor,
        f.product,
        f.device_version,
        f.signature,
        f.name,
        f.severity,
        f.user_agent,
        f.method,
        f.url,
        f.source,
        f.dest,
        f.suser,
    );
    let mut msg_len = msg.len();
    let maxlen = c.maxlen.filter(|&m| m > 0);
    for (key, value) in sorted_extras(&kw) {
        let added = value.len() + key.len() + 2;
        if !key_is_legal(key) {
            warnings.push(illegal_key_warning(key));
        }
        if maxlen.is_some_and(|max| msg_len + added > max) {
            warnings.push(format!("CEF Message too big. {msg} {}", py_items_repr(&kw)));
            break;
        }
        let _ = write!(msg, " {key}={}", escape_value_mozilla(&value));
        msg_len += added;
    }
    Formatted {
        line: msg,
        warnings,
    }
}

/// Python 2's `str(kw.items())`, items in the order given (a Python 2 dict would list them in
/// hash order).
fn py_items_repr(kw: &[(&str, &PyValue)]) -> String {
    let items: Vec<String> = kw
        .iter()
        .map(|(k, v)| format!("({}, {})", py_repr_str(k), v.py_repr()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The library's `fields` dict.
struct Fields {
    severity: String,
    source: String,
    method: String,
    url: String,
    dest: String,
    user_agent: String,
    signature: String,
    name: String,
    version: String,
    vendor: String,
    device_version: String,
    product: String,
    host: String,
    suser: String,
    date: String,
}

impl Fields {
    fn set(&mut self, key: &str, value: String) {
        let slot = match key {
            "source" => &mut self.source,
            "method" => &mut self.method,
            "url" => &mut self.url,
            "dest" => &mut self.dest,
            "user_agent" => &mut self.user_agent,
            "version" => &mut self.version,
            "vendor" => &mut self.vendor,
            "device_version" => &mut self.device_version,
            "product" => &mut self.product,
            "host" => &mut self.host,
            "suser" => &mut self.suser,
            "date" => &mut self.date,
            _ => return,
        };
        *slot = value;
    }
}

/// Python `logging` levels to syslog severities, as the library's `SysLogFormatter` maps
/// them (`LEVEL_MAP`): DEBUG 7, INFO 6, WARNING 4, ERROR 3, CRITICAL 2; `None` for others.
pub fn level_to_syslog_severity(levelno: i64) -> Option<i64> {
    match levelno {
        10 => Some(7),
        20 => Some(6),
        30 => Some(4),
        40 => Some(3),
        50 => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floats() {
        for (f, s, r) in [
            (1.0, "1.0", "1.0"),
            (0.1, "0.1", "0.1"),
            (1.0 / 3.0, "0.333333333333", "0.3333333333333333"),
            (1e16, "1e+16", "1e+16"),
            (1e15, "1e+15", "1000000000000000.0"),
            (123456789012.0, "123456789012.0", "123456789012.0"),
            (1234567890123.0, "1.23456789012e+12", "1234567890123.0"),
            (0.0001, "0.0001", "0.0001"),
            (0.00001, "1e-05", "1e-05"),
            (-2.5, "-2.5", "-2.5"),
            (0.0, "0.0", "0.0"),
            (999999999999.9, "1e+12", "999999999999.9"),
        ] {
            assert_eq!(py_float(f, FloatStyle::Str), s, "str({f})");
            assert_eq!(py_float(f, FloatStyle::Repr), r, "repr({f})");
        }
    }

    #[test]
    fn python_repr_and_keys() {
        assert_eq!(py_repr_str("a'b"), "\"a'b\"");
        assert_eq!(py_repr_str("a'\"b"), "'a\\'\"b'");
        assert_eq!(py_repr_str("é\n"), "'\\xc3\\xa9\\n'");
        assert!(key_is_legal("cs1Label") && key_is_legal("a.b-c_d") && key_is_legal("abc\n"));
        assert!(!key_is_legal("ba|d") && !key_is_legal("") && !key_is_legal("a b"));
    }
}
