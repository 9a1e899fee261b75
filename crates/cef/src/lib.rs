//! Build, send and parse ArcSight CEF events.
//!
//! **Building** follows the CEF logging recommendations Mozilla gave its services: the header
//! from configuration (vendor, product, version, device version), a signature, a name, a
//! severity, and the extension fields `rt`, `suser`, `suid`, `act`, `src`, `dst`,
//! `requestMethod`, `request`, `cs1Label=requestClientApplication`/`cs1`, `msg` (at most 1023
//! characters). The output is byte-for-byte what Mozilla's Python `cef` 0.5 library writes for
//! the same inputs (its escaping, extension order and 1024-byte limit included).
//!
//! ```
//! use cef::{CefConfig, Event};
//!
//! let config = CefConfig {
//!     version: "0".into(),
//!     vendor: "mozilla".into(),
//!     product: "accounts".into(),
//!     device_version: "3".into(),
//! };
//! let line = Event::new("AuthFail", "Authentication failure", 5)
//!     .user("tarek")
//!     .source_ip("203.0.113.7")
//!     .request("POST", "/login")
//!     .user_agent("Firefox/130.0")
//!     .host("accounts.example.com")
//!     .extension("act", "denied")
//!     .format(&config, "Oct 15 13:45:30", "web-1")
//!     .line;
//! assert_eq!(
//!     line,
//!     "Oct 15 13:45:30 web-1 CEF:0|mozilla|accounts|3|AuthFail|Authentication failure|5|\
//!      cs1Label=requestClientApplication cs1=Firefox/130.0 requestMethod=POST request=/login \
//!      src=203.0.113.7 dhost=accounts.example.com suser=tarek act=denied"
//! );
//!
//! // The parser reads it back.
//! let ev = cef::parse(&line).unwrap();
//! assert_eq!(ev.name, "Authentication failure");
//! assert_eq!(ev.get("suser"), Some("tarek"));
//! assert_eq!(cef::full_name("src"), Some("sourceAddress"));
//! ```
//!
//! **Sending** goes to syslog: the local socket, UDP or TCP ([`SyslogSender`]), facility LOCAL4
//! by default.
//!
//! **Parsing** ([`parse`]) reads the full CEF format: the 7 header fields with `\|` and `\\`
//! escapes, extensions with `\=`, `\\`, `\n`, `\r` escapes, values with spaces, standard and
//! custom keys (`cs1Label`/`cs1` pairs through [`CefEvent::labeled_fields`]), with or without a
//! syslog prefix.

mod emit;
mod names;
mod parse;
mod send;

pub use emit::{
    escape_header, escape_value, format_log_call, level_to_syslog_severity, CefConfig, Environ,
    Formatted, LogCall, PyValue,
};
pub use names::full_name;
pub use parse::{find_cef, parse, parse_with, unescape_value, CefEvent, ParseError, ParseOptions};
pub use send::{Facility, SyslogSender, Transport};

/// Longest `msg` extension, in characters, per the logging recommendations.
pub const MAX_MSG_CHARS: usize = 1023;

/// A CEF event to build.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    signature: String,
    name: String,
    severity: u8,
    user: String,
    environ: Environ,
    extensions: Vec<(String, PyValue)>,
}

impl Event {
    /// An event: a signature (e.g. `AuthFail`), a human-readable name and a severity 0–10
    /// (larger values are capped at 10).
    pub fn new(signature: impl Into<String>, name: impl Into<String>, severity: u8) -> Event {
        Event {
            signature: signature.into(),
            name: name.into(),
            severity: severity.min(10),
            user: "none".into(),
            environ: Environ::default(),
            extensions: Vec::new(),
        }
    }

    /// The user the event is about (`suser`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// The client address (`src`).
    pub fn source_ip(mut self, ip: impl Into<String>) -> Self {
        self.environ.remote_addr = Some(ip.into());
        self
    }

    /// The HTTP method and path (`requestMethod`, `request`).
    pub fn request(mut self, method: impl Into<String>, path: impl Into<String>) -> Self {
        self.environ.method = Some(method.into());
        self.environ.path = Some(path.into());
        self
    }

    /// The client's User-Agent (`cs1`, labelled `requestClientApplication`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.environ.user_agent = Some(ua.into());
        self
    }

    /// The Host the request went to (`dhost`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.environ.host = Some(host.into());
        self
    }

    /// The user id (`suid`).
    pub fn user_id(self, suid: impl Into<String>) -> Self {
        self.extension("suid", suid)
    }

    /// The action taken (`act`).
    pub fn action(self, act: impl Into<String>) -> Self {
        self.extension("act", act)
    }

    /// The destination address (`dst`).
    pub fn destination_ip(self, dst: impl Into<String>) -> Self {
        self.extension("dst", dst)
    }

    /// When the event happened (`rt`, milliseconds since the epoch).
    pub fn receipt_time_ms(mut self, ms: i64) -> Self {
        self.extensions.push(("rt".into(), PyValue::Int(ms)));
        self
    }

    /// A free-text message (`msg`), cut at 1023 characters.
    pub fn msg(self, msg: impl Into<String>) -> Self {
        let msg: String = msg.into();
        let cut = match msg.char_indices().nth(MAX_MSG_CHARS) {
            Some((i, _)) => msg.get(..i).unwrap_or(&msg).to_string(),
            None => msg,
        };
        self.extension("msg", cut)
    }

    /// Any other extension field.
    pub fn extension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions
            .push((key.into(), PyValue::Str(value.into())));
        self
    }

    /// The line, prefixed with `date` (`%b %d %H:%M:%S`) and `hostname`, as Mozilla's library
    /// writes it, with its warnings.
    pub fn format(&self, config: &CefConfig, date: &str, hostname: &str) -> Formatted {
        let name = PyValue::Str(self.name.clone());
        let sig = PyValue::Str(self.signature.clone());
        let severity = PyValue::Int(i64::from(self.severity));
        let user = PyValue::Str(self.user.clone());
        format_log_call(&LogCall {
            name: &name,
            severity: &severity,
            environ: &self.environ,
            config,
            username: &user,
            signature: Some(&sig),
            extensions: &self.extensions,
            date,
            host: hostname,
            maxlen: Some(1024),
            kw_override: false,
        })
    }

    /// The line with the current local time (UTC) and this host's name.
    pub fn format_now(&self, config: &CefConfig) -> Formatted {
        let date = chrono::Utc::now().format("%b %d %H:%M:%S").to_string();
        self.format(config, &date, &send::host_name())
    }

    /// The CEF part only (`CEF:0|...`), without date and host.
    pub fn format_cef_only(&self, config: &CefConfig) -> String {
        let f = self.format(config, "-", "-");
        f.line.strip_prefix("- - ").unwrap_or(&f.line).to_string()
    }

    /// The severity (0–10).
    pub fn severity(&self) -> u8 {
        self.severity
    }
}
