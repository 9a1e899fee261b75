//! Build, send and parse ArcSight CEF (Common Event Format) events.
//!
//! # Building
//!
//! [`Event`] follows the CEF logging recommendations Mozilla gave its services: the header
//! from configuration ([`CefConfig`]: version, vendor, product, device version), a signature,
//! a name, a severity 0–10, and the extension fields `rt`, `suser`, `suid`, `act`, `src`,
//! `dst`, `requestMethod`, `request`, `cs1Label=requestClientApplication`/`cs1`, `msg` (at
//! most 1023 characters) and any others. The line is byte for byte what Mozilla's Python
//! `cef` 0.5 library writes for the same inputs: its escaping, its extension order (value
//! length, key length, key, value) and its 1024-byte limit included; what the library would
//! log as warnings comes back with the line ([`Formatted`]).
//!
//! ```
//! use cef::{CefConfig, Event};
//! use chrono::{TimeZone, Utc};
//!
//! let config = CefConfig {
//!     version: "0".into(),
//!     vendor: "mozilla".into(),
//!     product: "accounts".into(),
//!     device_version: "3".into(),
//! };
//! let event = Event::new("AuthFail", "Authentication failure", 5)
//!     .user("tarek")
//!     .source_ip("203.0.113.7")
//!     .request("POST", "/login?next=/")
//!     .user_agent("Firefox/130.0")
//!     .host("accounts.example.com")
//!     .action("denied")
//!     .msg("3 failed attempts");
//! let time = Utc.with_ymd_and_hms(2012, 10, 15, 13, 45, 30).unwrap();
//! let formatted = event.format(&config, &time, "web-1");
//! assert!(formatted.warnings.is_empty());
//! let line = formatted.line;
//! assert_eq!(
//!     line,
//!     "Oct 15 13:45:30 web-1 CEF:0|mozilla|accounts|3|AuthFail|Authentication failure|5|\
//!      cs1Label=requestClientApplication cs1=Firefox/130.0 requestMethod=POST \
//!      request=/login?next\\=/ src=203.0.113.7 dhost=accounts.example.com suser=tarek \
//!      act=denied msg=3 failed attempts"
//! );
//!
//! // The parser reads it back.
//! let ev = cef::parse(&line).unwrap();
//! assert_eq!(ev.prefix, "Oct 15 13:45:30 web-1");
//! assert_eq!(ev.name, "Authentication failure");
//! assert_eq!(ev.get("request"), Some("/login?next=/"));
//! assert_eq!(ev.labeled("requestClientApplication"), Some("Firefox/130.0"));
//! assert_eq!(cef::full_name("src"), Some("sourceAddress"));
//! ```
//!
//! Like Mozilla's library, [`Event::format`] writes `suser` and `src` unescaped: do not pass
//! untrusted text with `=` there, or use [`Event::to_cef_event`], whose `Display` escapes
//! every value as the CEF spec says. [`format_log_call`] takes the library's own arguments
//! (WSGI environ, keyword arguments, the logging formatters' records).
//!
//! # Sending
//!
//! [`SyslogSender`] sends events to syslog as RFC 3164 messages, over the local socket
//! (`/dev/log`), UDP or TCP, facility LOCAL4 by default, the syslog severity following the
//! CEF severity.
//!
//! ```
//! use std::net::UdpSocket;
//!
//! let collector = UdpSocket::bind("127.0.0.1:0")?;
//! let to = cef::Transport::Udp(collector.local_addr()?.to_string());
//! let sender = cef::SyslogSender::new(to, cef::CefConfig::default(), "accounts");
//! sender.send(&cef::Event::new("AccountLockout", "Account locked", 9).user("bob"))?;
//!
//! let mut buf = [0; 2048];
//! let n = collector.recv(&mut buf)?;
//! let msg = String::from_utf8_lossy(&buf[..n]);
//! assert!(msg.starts_with("<162>"), "{msg}"); // local4 (20) × 8 + crit (2)
//! assert_eq!(cef::parse(&msg).unwrap().get("suser"), Some("bob"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Parsing
//!
//! [`parse`] reads the full format: an optional syslog prefix before `CEF:`, the 7 header
//! fields with `\|` and `\\` escapes, extensions with `\=`, `\\`, `\n`, `\r` escapes, values
//! with spaces, standard and custom keys ([`full_name`] maps the standard ones to their
//! ArcSight names), custom-field labels ([`CefEvent::labeled_fields`]), severities as numbers
//! or words. It never panics, and errors say what was expected at which byte.
//!
//! ```
//! let line = r"Oct 15 13:45:30 fw CEF:0|Acme|Fire\|Wall|2.1|401|Blocked|Very-High|src=10.1.1.1 dpt=22 cs4Label=Rule cs4=deny ssh act=blocked";
//! let ev = cef::parse(line).unwrap();
//! assert_eq!(ev.device_product, "Fire|Wall");
//! assert_eq!(ev.severity_number(), Some(10));
//! assert_eq!(ev.labeled_fields(), vec![("Rule", "deny ssh")]);
//! let named: Vec<_> = ev.named_extensions().collect();
//! assert_eq!(named[1], ("destinationPort", "22"));
//! // Written back with the spec's escaping, it parses to the same event.
//! assert_eq!(cef::parse(&ev.to_string()).unwrap(), ev);
//! ```

#![warn(missing_docs)]

mod emit;
mod escape;
mod names;
mod parse;
mod send;

use std::borrow::Cow;

pub use chrono;
pub use emit::{
    format_log_call, level_to_syslog_severity, CefConfig, Environ, Formatted, LogCall, PyValue,
    FIXED_EXTENSIONS,
};
pub use escape::{escape_header, escape_value};
pub use names::{full_name, short_key};
pub use parse::{
    find_cef, parse, parse_with, unescape_value, CefEvent, ParseError, ParseErrorKind,
    ParseOptions, SeverityLevel, HEADER_FIELDS,
};
pub use send::{syslog_severity, Facility, SyslogSender, Transport};

/// Longest `msg` extension, in characters, per the logging recommendations.
pub const MAX_MSG_CHARS: usize = 1023;

/// Longest line Mozilla's `log_cef` writes before dropping extensions, in bytes.
pub const MAX_LINE_BYTES: usize = 1024;

/// The date format of the line prefix (`Oct 15 13:45:30`).
pub const DATE_FORMAT: &str = "%b %d %H:%M:%S";

/// The date at the start of a formatted line: text as given, or a chrono date-time written
/// as [`DATE_FORMAT`] (`Oct 15 13:45:30`).
pub trait LogDate {
    /// The text.
    fn log_date(&self) -> String;
}

impl LogDate for str {
    fn log_date(&self) -> String {
        self.to_string()
    }
}

impl LogDate for String {
    fn log_date(&self) -> String {
        self.clone()
    }
}

impl<Tz: chrono::TimeZone> LogDate for chrono::DateTime<Tz>
where
    Tz::Offset: std::fmt::Display,
{
    fn log_date(&self) -> String {
        self.format(DATE_FORMAT).to_string()
    }
}

impl LogDate for chrono::NaiveDateTime {
    fn log_date(&self) -> String {
        self.format(DATE_FORMAT).to_string()
    }
}

impl<T: LogDate + ?Sized> LogDate for &T {
    fn log_date(&self) -> String {
        (**self).log_date()
    }
}

/// A CEF event to build; see the [crate docs](crate).
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
    /// (larger values are capped at 10). The user is `none` until set.
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
        self.environ.x_forwarded_for = None;
        self
    }

    /// The request's `X-Forwarded-For` header: its first address becomes `src`.
    pub fn forwarded_for(mut self, xff: impl Into<String>) -> Self {
        self.environ.x_forwarded_for = Some(xff.into());
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

    /// The request as a WSGI-style environ (replaces `source_ip`, `request`, `user_agent`,
    /// `host`).
    pub fn environ(mut self, environ: Environ) -> Self {
        self.environ = environ;
        self
    }

    /// The application's id of the user (`suid`).
    pub fn user_id(self, suid: impl Into<PyValue>) -> Self {
        self.extension("suid", suid)
    }

    /// The action taken (`act`), e.g. `Action Denied`.
    pub fn action(self, act: impl Into<String>) -> Self {
        self.extension("act", act.into())
    }

    /// The address of the server that received the request (`dst`).
    pub fn destination_ip(self, dst: impl Into<String>) -> Self {
        self.extension("dst", dst.into())
    }

    /// When the event happened (`rt`, milliseconds since the epoch).
    pub fn receipt_time<Tz: chrono::TimeZone>(self, time: &chrono::DateTime<Tz>) -> Self {
        self.receipt_time_ms(time.timestamp_millis())
    }

    /// When the event happened (`rt`), in milliseconds since the epoch.
    pub fn receipt_time_ms(self, ms: i64) -> Self {
        self.extension("rt", ms)
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

    /// Any extension field, replacing an earlier one of the same key. The fixed fields map to
    /// their setters (`suser` → [`user`](Self::user), `src` →
    /// [`source_ip`](Self::source_ip), `requestMethod`/`request`, `cs1` →
    /// [`user_agent`](Self::user_agent), `dhost` → [`host`](Self::host)); `cs1Label` is
    /// always `requestClientApplication` and is ignored.
    pub fn extension(mut self, key: impl Into<String>, value: impl Into<PyValue>) -> Self {
        let key: String = key.into();
        let value: PyValue = value.into();
        let text = || Some(value.to_py_string());
        match key.as_str() {
            "suser" => self.user = value.to_py_string(),
            "src" => {
                self.environ.remote_addr = text();
                self.environ.x_forwarded_for = None;
            }
            "requestMethod" => self.environ.method = text(),
            "request" => self.environ.path = text(),
            "cs1" => self.environ.user_agent = text(),
            "dhost" => self.environ.host = text(),
            "cs1Label" => {}
            _ => match self.extensions.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => self.extensions.push((key, value)),
            },
        }
        self
    }

    /// The severity (0–10).
    pub fn severity(&self) -> u8 {
        self.severity
    }

    fn with_call<R>(
        &self,
        config: &CefConfig,
        date: &str,
        host: &str,
        f: impl FnOnce(&LogCall<'_>) -> R,
    ) -> R {
        let name = PyValue::Str(self.name.clone());
        let sig = PyValue::Str(self.signature.clone());
        let severity = PyValue::Int(i64::from(self.severity));
        let user = PyValue::Str(self.user.clone());
        f(&LogCall {
            name: &name,
            severity: &severity,
            environ: &self.environ,
            config,
            username: &user,
            signature: Some(&sig),
            extensions: &self.extensions,
            date,
            host,
            maxlen: Some(MAX_LINE_BYTES),
            kw_override: false,
        })
    }

    /// The line Mozilla's library writes, `<Mon dd HH:MM:SS> <hostname> CEF:...`, with the
    /// warnings it would have logged (illegal keys, extensions dropped by the 1024-byte
    /// limit). `date` is the date text or a chrono date-time (formatted in its own zone).
    pub fn format(&self, config: &CefConfig, date: impl LogDate, hostname: &str) -> Formatted {
        self.with_call(config, &date.log_date(), hostname, format_log_call)
    }

    /// [`format`](Self::format) with the local time and this machine's host name.
    pub fn format_now(&self, config: &CefConfig) -> Formatted {
        self.format(config, chrono::Local::now(), &send::host_name())
    }

    /// The CEF part only (`CEF:0|...`, no date and host), as Mozilla's library builds it (the
    /// 1024-byte limit applies to this part).
    pub fn format_cef_only(&self, config: &CefConfig) -> String {
        self.with_call(config, "", "", |c| emit::format_impl(c, false).line)
    }

    /// The event as a [`CefEvent`] holding the same fields as
    /// [`format_cef_only`](Self::format_cef_only), unescaped and without the length limit.
    /// Its `Display` writes a line escaped per the CEF spec (every value, `suser` and `src`
    /// included).
    ///
    /// ```
    /// let config = cef::CefConfig::default();
    /// let ev = cef::Event::new("Inject", "Injection", 7).user("bob src=6.6.6.6");
    /// let line = ev.to_cef_event(&config).to_string();
    /// assert!(line.ends_with(r"suser=bob src\=6.6.6.6"));
    /// assert_eq!(cef::parse(&line).unwrap().get("suser"), Some("bob src=6.6.6.6"));
    /// ```
    pub fn to_cef_event(&self, config: &CefConfig) -> CefEvent<'static> {
        let o = |s: &str| Cow::Owned(s.to_string());
        let env = &self.environ;
        let mut extensions: Vec<(Cow<'static, str>, Cow<'static, str>)> = vec![
            (o("cs1Label"), o("requestClientApplication")),
            (o("cs1"), o(env.user_agent.as_deref().unwrap_or("none"))),
            (o("requestMethod"), o(env.method.as_deref().unwrap_or(""))),
            (o("request"), o(env.path.as_deref().unwrap_or(""))),
            (o("src"), Cow::Owned(env.source())),
            (o("dhost"), o(env.host.as_deref().unwrap_or("none"))),
            (o("suser"), o(&self.user)),
        ];
        let kw: Vec<(&str, &PyValue)> = self
            .extensions
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        for (k, v) in emit::sorted_extras(&kw) {
            extensions.push((o(k), Cow::Owned(v)));
        }
        CefEvent {
            prefix: Cow::Borrowed(""),
            version: o(&config.version),
            device_vendor: o(&config.vendor),
            device_product: o(&config.product),
            device_version: o(&config.device_version),
            signature_id: o(&self.signature),
            name: o(&self.name),
            severity: Cow::Owned(self.severity.to_string()),
            extensions,
        }
    }
}
