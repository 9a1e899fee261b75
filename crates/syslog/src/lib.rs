//! RFC 5424 and RFC 3164 syslog parsing for ferrodef.
//!
//! [`parse`] takes one de-framed message (a UDP datagram or one TCP frame; see [`framing`]) and
//! never fails: a message that is neither format comes back as [`Protocol::Unknown`] with the
//! whole (trimmed) text in [`Message::msg`]. [`parse_strict`] rejects malformed input with a
//! [`ParseError`] naming the byte offset and what was expected.
//!
//! Fields borrow from the input (zero copy); only SD parameter values containing escapes and
//! messages containing invalid UTF-8 are copied.
//!
//! ```
//! use ferrodef_syslog::{parse, ParseOptions, Protocol};
//!
//! let opts = ParseOptions::default();
//! let m = parse(b"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed\n", &opts);
//! assert_eq!(m.protocol, Protocol::Rfc5424);
//! assert_eq!(m.facility.map(|f| f.name()), Some("auth"));
//! assert_eq!(m.severity.map(|s| s.name()), Some("crit"));
//! assert_eq!(m.hostname, Some("mymachine"));
//! assert_eq!(m.msg, "'su root' failed");
//!
//! let m = parse(b"<13>Oct 11 22:14:15 sshd[123]: Accepted publickey for bob", &opts);
//! assert_eq!(m.protocol, Protocol::Rfc3164);
//! assert_eq!((m.hostname, m.appname, m.procid), (None, Some("sshd"), Some("123")));
//! ```

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};

pub mod framing;
mod input;
mod pri;
mod rfc3164;
mod rfc5424;
mod sd;
mod time;

pub use pri::{compose_pri, decompose_pri, Facility, SyslogSeverity};
pub use sd::StructuredElement;
pub use time::DefaultTz;

use input::Input;

/// Which syslog format a message was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`).
    Rfc5424,
    /// RFC 3164 / BSD syslog and the variants seen in the wild.
    Rfc3164,
    /// Neither: the whole trimmed input is in `msg`, every other field is empty.
    Unknown,
}

/// Which format(s) the parser may recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Variant {
    /// RFC 5424 when the message looks like it (`<PRI>VERSION SP`), otherwise RFC 3164.
    #[default]
    Either,
    /// RFC 5424 only (anything else is `Unknown`, or an error for [`parse_strict`]).
    Rfc5424,
    /// RFC 3164 only (its timestamp may be an RFC 3339 one, as rsyslog forwards it).
    Rfc3164,
}

/// Options for [`parse`] and [`parse_strict`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParseOptions {
    /// Zone of timestamps that carry no offset (RFC 3164 dates, zone-less ISO dates).
    /// Default UTC.
    pub default_tz: DefaultTz,
    /// Reference clock for RFC 3164 dates without a year: the year of `now` in `default_tz`,
    /// or the previous one when that would put the date more than a day after `now`.
    /// Defaults to the time the options were built; long-lived listeners should refresh it
    /// (e.g. once per batch).
    pub now: DateTime<Utc>,
    /// Formats to recognise. Default [`Variant::Either`].
    pub variant: Variant,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            default_tz: DefaultTz::default(),
            now: Utc::now(),
            variant: Variant::Either,
        }
    }
}

/// One parsed syslog message. Borrowed fields point into the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Message<'a> {
    /// Format recognised.
    pub protocol: Protocol,
    /// Facility from PRI (None without PRI, or when PRI > 191).
    pub facility: Option<Facility>,
    /// Severity from PRI (None without PRI, or when PRI > 191).
    pub severity: Option<SyslogSeverity>,
    /// The message's timestamp, resolved to an instant (see [`ParseOptions`]); None when it is
    /// the NILVALUE, missing, or not a valid date.
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// HOSTNAME (None for NILVALUE `-` or when missing).
    pub hostname: Option<&'a str>,
    /// APP-NAME (RFC 5424) or the TAG's program name (RFC 3164).
    pub appname: Option<&'a str>,
    /// PROCID (RFC 5424) or the TAG's `[pid]` (RFC 3164): usually digits, any string allowed.
    pub procid: Option<&'a str>,
    /// MSGID (RFC 5424 only).
    pub msgid: Option<&'a str>,
    /// SD-ELEMENTs in order (RFC 5424, and rsyslog's `[origin ...]` after an RFC 3164 tag).
    pub structured_data: Vec<StructuredElement<'a>>,
    /// The free-form message; UTF-8 BOM stripped (RFC 5424); invalid UTF-8 replaced by U+FFFD.
    pub msg: Cow<'a, str>,
    /// The input was not valid UTF-8 (header fields with invalid UTF-8 are left out).
    pub invalid_utf8: bool,
}

impl<'a> Message<'a> {
    /// The message for input that is neither format.
    fn unknown(inp: &Input<'a>) -> Self {
        Message {
            protocol: Protocol::Unknown,
            facility: None,
            severity: None,
            timestamp: None,
            hostname: None,
            appname: None,
            procid: None,
            msgid: None,
            structured_data: Vec::new(),
            msg: inp.cow(0, inp.b.len()),
            invalid_utf8: !inp.is_utf8(),
        }
    }

    /// PRI value (`facility * 8 + severity`), when the message had a valid one.
    pub fn pri(&self) -> Option<u8> {
        Some(compose_pri(self.facility?, self.severity?))
    }

    /// PROCID as a number, when it is one.
    pub fn pid(&self) -> Option<u32> {
        self.procid?.parse().ok()
    }

    /// The first SD-ELEMENT with SD-ID `id`.
    pub fn sd_element(&self, id: &str) -> Option<&StructuredElement<'a>> {
        self.structured_data.iter().find(|e| e.id == id)
    }

    /// The value of parameter `name` in the first element `id` that has it.
    pub fn sd_param(&self, id: &str, name: &str) -> Option<&str> {
        self.structured_data
            .iter()
            .filter(|e| e.id == id)
            .find_map(|e| e.param(name))
    }
}

/// Why [`parse_strict`] rejected a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid syslog message at byte {offset}: expected {expected}")]
pub struct ParseError {
    /// Byte offset in the input given to [`parse_strict`].
    pub offset: usize,
    /// What the parser expected there.
    pub expected: &'static str,
}

#[inline]
fn is_trim_byte(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0)
}

/// Removes leading and trailing ASCII whitespace and NUL bytes (framing leftovers such as
/// `\n`, `\r\n`, NUL). [`parse`] applies it first; an [`Protocol::Unknown`] message's `msg` is
/// the lossy UTF-8 of exactly this slice.
pub fn trim_message(input: &[u8]) -> &[u8] {
    let (start, end) = trim_bounds(input);
    input.get(start..end).unwrap_or(&[])
}

fn trim_bounds(input: &[u8]) -> (usize, usize) {
    let start = input
        .iter()
        .position(|&c| !is_trim_byte(c))
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|&c| !is_trim_byte(c))
        .map_or(start, |p| p + 1);
    (start, end)
}

fn parse_impl<'a>(
    inp: &Input<'a>,
    opts: &ParseOptions,
    strict: bool,
) -> Result<Message<'a>, time::SynErr> {
    let (pri, pos) = parse_pri(inp.b, strict)?;
    match opts.variant {
        Variant::Rfc5424 => rfc5424::parse(inp, pri, pos, opts, strict),
        Variant::Rfc3164 => rfc3164::parse(inp, pri, pos, opts, strict),
        Variant::Either => {
            if rfc5424::looks_like(inp.b, pos) {
                match rfc5424::parse(inp, pri, pos, opts, strict) {
                    Ok(m) => Ok(m),
                    Err(e) if strict => Err(e),
                    Err(_) => rfc3164::parse(inp, pri, pos, opts, strict),
                }
            } else {
                rfc3164::parse(inp, pri, pos, opts, strict)
            }
        }
    }
}

/// `<PRI>`: returns the value (None when absent) and the offset after it.
/// Lenient: a malformed `<...` is treated as no PRI; PRI > 191 yields no facility/severity.
fn parse_pri(b: &[u8], strict: bool) -> Result<(Option<u16>, usize), time::SynErr> {
    if b.first() != Some(&b'<') {
        return Ok((None, 0));
    }
    let mut v: u16 = 0;
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() || i > 3 {
            break;
        }
        v = v * 10 + u16::from(c - b'0');
        i += 1;
    }
    if i == 1 || b.get(i) != Some(&b'>') {
        if strict {
            return Err((i, "PRI: 1 to 3 digits then '>'"));
        }
        return Ok((None, 0));
    }
    if strict && v > 191 {
        return Err((1, "PRI value 0 to 191"));
    }
    Ok((Some(v), i + 1))
}

/// Parses one syslog message (RFC 5424 or RFC 3164, see [`ParseOptions::variant`]).
/// Never fails and never panics; leading/trailing whitespace and NULs are ignored.
pub fn parse<'a>(input: &'a [u8], opts: &ParseOptions) -> Message<'a> {
    let inp = Input::new(trim_message(input));
    parse_impl(&inp, opts, false).unwrap_or_else(|_| Message::unknown(&inp))
}

/// Like [`parse`], but rejects what does not follow the format: a malformed or out-of-range
/// PRI, a missing or invalid timestamp (including impossible dates such as Feb 29 of a common
/// year), and for RFC 5424 every deviation from the RFC's syntax (missing header fields,
/// non-ASCII header fields, malformed STRUCTURED-DATA, more than 9 fractional-second digits).
/// RFC 3164 needs a PRI-less or valid PRI, a timestamp, and nothing else (its header has no
/// strict grammar in practice).
pub fn parse_strict<'a>(input: &'a [u8], opts: &ParseOptions) -> Result<Message<'a>, ParseError> {
    let (lead, end) = trim_bounds(input);
    let trimmed = input.get(lead..end).unwrap_or(&[]);
    if trimmed.is_empty() {
        return Err(ParseError {
            offset: input.len(),
            expected: "a syslog message (input is empty)",
        });
    }
    let inp = Input::new(trimmed);
    parse_impl(&inp, opts, true).map_err(|(offset, expected)| ParseError {
        offset: lead + offset,
        expected,
    })
}

/// `digits[.digits]|` at `i`.
fn payload_version_follows(b: &[u8], i: usize) -> bool {
    let mut j = i;
    while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
        j += 1;
    }
    if j == i {
        return false;
    }
    if b.get(j) == Some(&b'.') {
        let k = j + 1;
        j = k;
        while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        if j == k {
            return false;
        }
    }
    b.get(j) == Some(&b'|')
}

/// Whether a CEF or LEEF payload starts at `i` (such a payload is the message, never a
/// hostname or tag).
pub(crate) fn payload_at(b: &[u8], i: usize) -> bool {
    match b.get(i..) {
        Some(r) if r.starts_with(b"CEF:") => payload_version_follows(b, i + 4),
        Some(r) if r.starts_with(b"LEEF:") => payload_version_follows(b, i + 5),
        _ => false,
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Rfc5424 => "rfc5424",
            Protocol::Rfc3164 => "rfc3164",
            Protocol::Unknown => "unknown",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims() {
        assert_eq!(trim_message(b"  <13>x\r\n\0"), b"<13>x");
        assert_eq!(trim_message(b"\n\n"), b"");
        assert_eq!(trim_message(b""), b"");
    }

    #[test]
    fn strict_offsets_account_for_leading_trim() {
        let opts = ParseOptions::default();
        let e = parse_strict(b"  <999>1 - - - - - -\n", &opts).unwrap_err();
        assert_eq!(e.offset, 3);
        let e = parse_strict(b"\n\n", &opts).unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse_strict(b"<13>1 2019-01-01T00:00:00Z host", &opts).unwrap_err();
        assert_eq!(e.offset, 31);
        assert!(e.to_string().contains("byte 31"));
    }
}
