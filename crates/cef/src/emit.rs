//! Building CEF lines exactly as Mozilla's Python `cef` 0.5 library does.
//!
//! The line is `<date> <host> CEF:<version>|<vendor>|<product>|<device_version>|<signature>|
//! <name>|<severity>|cs1Label=requestClientApplication cs1=<user agent> requestMethod=<method>
//! request=<path> src=<ip> dhost=<host header> suser=<user>[ <key>=<value>...]`:
//! - `name`, `signature` and `severity` escape `|`, `\`, CR and LF with a backslash (the CR or
//!   LF itself stays); vendor, product and versions are written as configured;
//! - request fields and extension values escape `\` and `=`; `suser` and `src` are written as
//!   given;
//! - extra extensions are sorted by (value length, key length, key) and appended while the
//!   line stays within 1024 bytes (counting unescaped lengths, as the library does); the rest
//!   are dropped with a warning;
//! - an extension key outside `[A-Za-z0-9_.-]` gives a warning and is kept unchanged.

use std::fmt::Write as _;

/// A value as Python's `str()` would print it.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float (printed with Python 2's `str`: 12 significant digits).
    Float(f64),
    /// A boolean (`True`/`False`).
    Bool(bool),
    /// `None`.
    None,
}

impl PyValue {
    /// The text Python's `str()` gives.
    pub fn to_py_string(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            PyValue::Int(i) => i.to_string(),
            PyValue::Float(f) => py2_float(*f),
            PyValue::Bool(true) => "True".into(),
            PyValue::Bool(false) => "False".into(),
            PyValue::None => "None".into(),
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

/// Python 2 `str(float)`: `%.12g`, with `.0` added to integral values.
fn py2_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-5..12).contains(&exp) {
        let s = format!("{:.11e}", f);
        // 1.23450000000e+20 -> 1.2345e+20
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = usize::try_from(11 - exp).unwrap_or(0);
    let s = format!("{:.*}", decimals, f);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Escapes a header field (`name`, `signature`, `severity`): backslash before `|`, `\`, CR, LF.
pub fn escape_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '|' | '\\' | '\r' | '\n') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes an extension value: backslash before `\` and `=`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '\\' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn key_is_legal(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

fn illegal_key_warning(k: &str) -> String {
    format!("The \"{k}\" key contains illegal characters")
}

/// Keys of the fixed part of the line, never appended again.
const FIXED_EXTENSIONS: [&str; 7] = [
    "cs1Label",
    "cs1",
    "requestMethod",
    "request",
    "src",
    "dhost",
    "suser",
];

/// Fields of the fixed part that a keyword argument of the same name replaces (as the
/// library's `fields.update(kw)` does), unescaped.
const OVERRIDABLE: [&str; 15] = [
    "severity",
    "source",
    "method",
    "url",
    "dest",
    "user_agent",
    "signature",
    "name",
    "version",
    "vendor",
    "device_version",
    "product",
    "host",
    "suser",
    "date",
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

/// The request the event is about, as a WSGI environ gives it.
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

impl Environ {
    /// Reads the WSGI keys of a string map.
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

    fn source(&self) -> String {
        if let Some(xff) = &self.x_forwarded_for {
            return xff.split(',').next().unwrap_or("").trim().to_string();
        }
        self.remote_addr.clone().unwrap_or_else(|| "None".into())
    }
}

/// A formatted line and the warnings the library would have logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// The line, without a trailing newline.
    pub line: String,
    /// Warnings (illegal keys, extensions dropped to stay within the length limit).
    pub warnings: Vec<String>,
}

/// Everything one `log_cef` call takes.
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
    /// User name (`none` by default in `log_cef`).
    pub username: &'a PyValue,
    /// Signature; the name when `None`.
    pub signature: Option<&'a PyValue>,
    /// Extra extensions, in the order given.
    pub extensions: &'a [(String, PyValue)],
    /// The date text (`%b %d %H:%M:%S`).
    pub date: &'a str,
    /// The host name written after the date.
    pub host: &'a str,
    /// Length limit (1024 in `log_cef`; `None` = unlimited, as the logging formatter's default).
    pub maxlen: Option<usize>,
    /// Whether keyword arguments also override the fixed fields (true for `log_cef`; the
    /// logging formatter passes its `data` only to the extension part).
    pub kw_override: bool,
}

/// Formats one event exactly as `cef.log_cef` (or the logging formatters) would.
pub fn format_log_call(c: &LogCall<'_>) -> Formatted {
    let mut warnings = Vec::new();
    let name = escape_header(&c.name.to_py_string());
    let signature = match c.signature {
        Some(s) => escape_header(&s.to_py_string()),
        None => name.clone(),
    };
    let mut f = [
        ("severity", escape_header(&c.severity.to_py_string())),
        ("source", c.environ.source()),
        (
            "method",
            escape_value(c.environ.method.as_deref().unwrap_or("")),
        ),
        ("url", escape_value(c.environ.path.as_deref().unwrap_or(""))),
        (
            "dest",
            escape_value(c.environ.host.as_deref().unwrap_or("none")),
        ),
        (
            "user_agent",
            escape_value(c.environ.user_agent.as_deref().unwrap_or("none")),
        ),
        ("signature", signature),
        ("name", name),
        ("version", c.config.version.clone()),
        ("vendor", c.config.vendor.clone()),
        ("device_version", c.config.device_version.clone()),
        ("product", c.config.product.clone()),
        ("host", c.host.to_string()),
        ("suser", c.username.to_py_string()),
        ("date", c.date.to_string()),
    ];
    if c.kw_override {
        for (k, v) in c.extensions {
            if !key_is_legal(k) {
                warnings.push(illegal_key_warning(k));
            }
            if OVERRIDABLE.contains(&k.as_str()) {
                if let Some(slot) = f.iter_mut().find(|(n, _)| *n == k.as_str()) {
                    slot.1 = v.to_py_string();
                }
            }
        }
    }
    let get = |n: &str| {
        f.iter()
            .find(|(k, _)| *k == n)
            .map_or("", |(_, v)| v.as_str())
    };
    let mut msg = String::with_capacity(512);
    let _ = write!(
        msg,
        "{} {} CEF:{}|{}|{}|{}|{}|{}|{}|cs1Label=requestClientApplication cs1={} requestMethod={} request={} src={} dhost={} suser={}",
        get("date"),
        get("host"),
        get("version"),
        get("vendor"),
        get("product"),
        get("device_version"),
        get("signature"),
        get("name"),
        get("severity"),
        get("user_agent"),
        get("method"),
        get("url"),
        get("source"),
        get("dest"),
        get("suser"),
    );
    let mut extra: Vec<(usize, usize, &str, String)> = c
        .extensions
        .iter()
        .filter(|(k, _)| !FIXED_EXTENSIONS.contains(&k.as_str()))
        .map(|(k, v)| {
            let text = v.to_py_string();
            (text.len(), k.len(), k.as_str(), text)
        })
        .collect();
    extra.sort();
    let mut msg_len = msg.len();
    for (value_len, key_len, key, value) in extra {
        let added = value_len + key_len + 2;
        if !key_is_legal(key) {
            warnings.push(illegal_key_warning(key));
        }
        if let Some(max) = c.maxlen {
            if max > 0 && msg_len + added > max {
                warnings.push(format!("CEF Message too big. {msg}"));
                break;
            }
        }
        let _ = write!(msg, " {key}={}", escape_value(&value));
        msg_len += added;
    }
    Formatted {
        line: msg,
        warnings,
    }
}

/// Python's logging levels mapped to syslog severities, as the library's `SysLogFormatter`.
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
