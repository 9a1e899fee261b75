//! RFC 5424: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`.

use crate::input::Input;
use crate::pri::decompose_pri;
use crate::sd::{parse_list, SdMode};
use crate::time::{parse_rfc3339, SynErr};
use crate::{Message, ParseOptions, Protocol, StructuredElement};
use chrono::{DateTime, FixedOffset};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `VERSION SP` at `pos`: a non-zero digit, optionally a second digit, then a space.
pub(crate) fn looks_like(b: &[u8], pos: usize) -> bool {
    matches!(
        (b.get(pos), b.get(pos + 1), b.get(pos + 2)),
        (Some(b'1'..=b'9'), Some(b' '), _) | (Some(b'1'..=b'9'), Some(b'0'..=b'9'), Some(b' '))
    )
}

#[inline]
fn nil_at(b: &[u8], j: usize) -> bool {
    b.get(j) == Some(&b'-') && matches!(b.get(j + 1), None | Some(b' '))
}

/// Offset of the next space at or after `j` (or the end).
#[inline]
fn token_end(b: &[u8], j: usize) -> usize {
    let rest = b.get(j..).unwrap_or(&[]);
    memchr::memchr(b' ', rest).map_or(b.len(), |o| j + o)
}

#[inline]
fn skip_spaces(b: &[u8], mut j: usize) -> usize {
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    j
}

const FIELD_NAMES: [&str; 4] = ["HOSTNAME", "APP-NAME", "PROCID", "MSGID"];
const FIELD_EXPECT: [&str; 4] = [
    "' ' then HOSTNAME",
    "' ' then APP-NAME",
    "' ' then PROCID",
    "' ' then MSGID",
];
const FIELD_ASCII: [&str; 4] = [
    "printable US-ASCII in HOSTNAME",
    "printable US-ASCII in APP-NAME",
    "printable US-ASCII in PROCID",
    "printable US-ASCII in MSGID",
];

/// Parses an RFC 5424 message whose PRI (if any) ended at `pos`.
///
/// Lenient mode fails only when VERSION or TIMESTAMP do not parse (the caller then tries
/// RFC 3164); once they do, missing trailing fields are None and a missing STRUCTURED-DATA
/// makes the rest the message.
pub(crate) fn parse<'a>(
    inp: &Input<'a>,
    pri: Option<u16>,
    pos: usize,
    opts: &ParseOptions,
    strict: bool,
) -> Result<Message<'a>, SynErr> {
    let b = inp.b;
    if strict && pri.is_none() {
        return Err((0, "'<' starting the PRI"));
    }
    let j = after_version(b, pos, strict)?;
    let (timestamp, j) = timestamp(b, j, pri.is_some(), opts, strict)?;
    let (fields, complete, j) = header_fields(inp, j, strict)?;
    let (structured_data, msg_start) = if complete {
        structured_data(inp, j, strict)?
    } else {
        (Vec::new(), b.len())
    };
    let (facility, severity) = match pri {
        Some(p) => decompose_pri(p),
        None => (None, None),
    };
    let [hostname, appname, procid, msgid] = fields;
    Ok(Message {
        protocol: Protocol::Rfc5424,
        facility,
        severity,
        timestamp,
        hostname,
        appname,
        procid,
        msgid,
        structured_data,
        msg: inp.cow(msg_start_after_bom(b, msg_start), b.len()),
        invalid_utf8: !inp.is_utf8(),
    })
}

/// `VERSION SP` at `pos`: where the TIMESTAMP starts (lenient: after any spaces).
#[inline]
fn after_version(b: &[u8], pos: usize, strict: bool) -> Result<usize, SynErr> {
    let mut j = pos;
    match b.get(j) {
        Some(b'1'..=b'9') => j += 1,
        _ => return Err((j, "VERSION (1 or 2 digits)")),
    }
    if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
        j += 1;
    }
    if b.get(j) != Some(&b' ') {
        return Err((j, "' ' after VERSION"));
    }
    Ok(if strict { j + 1 } else { skip_spaces(b, j) })
}

/// The TIMESTAMP at `j` (`None` for NILVALUE, or a time that does not resolve in lenient
/// mode), and where it ends.
#[inline]
fn timestamp(
    b: &[u8],
    j: usize,
    has_pri: bool,
    opts: &ParseOptions,
    strict: bool,
) -> Result<(Option<DateTime<FixedOffset>>, usize), SynErr> {
    if nil_at(b, j) {
        if !has_pri && !strict {
            // Without PRI, "1 - ..." is too weak a signal for RFC 5424.
            return Err((j, "a TIMESTAMP"));
        }
        return Ok((None, j + 1));
    }
    let iso = parse_rfc3339(b, j, strict)?;
    let resolved = iso.resolve(&opts.default_tz);
    if strict && resolved.is_none() {
        return Err((j, "a valid TIMESTAMP"));
    }
    Ok((resolved, iso.end))
}

/// HOSTNAME APP-NAME PROCID MSGID after `j` (a space or the end): the fields (`None` for
/// NILVALUE or missing), whether all four were there, and where the last ended.
#[inline]
fn header_fields<'a>(
    inp: &Input<'a>,
    mut j: usize,
    strict: bool,
) -> Result<([Option<&'a str>; 4], bool, usize), SynErr> {
    let b = inp.b;
    let len = b.len();
    let mut fields: [Option<&'a str>; 4] = [None; 4];
    for (k, slot) in fields.iter_mut().enumerate() {
        if j >= len {
            if strict {
                return Err((j, FIELD_EXPECT.get(k).copied().unwrap_or("a header field")));
            }
            return Ok((fields, false, j));
        }
        // b[j] is a space: every token ends at one.
        j = if strict { j + 1 } else { skip_spaces(b, j) };
        if j >= len {
            if strict {
                return Err((j, FIELD_NAMES.get(k).copied().unwrap_or("a header field")));
            }
            return Ok((fields, false, j));
        }
        let e = token_end(b, j);
        if strict {
            check_field(b, j, e, k)?;
        }
        *slot = if e == j + 1 && b.get(j) == Some(&b'-') {
            None
        } else {
            inp.str(j, e)
        };
        j = e;
    }
    Ok((fields, true, j))
}

/// Strict mode: header field `k` at `j..e` is not empty and is printable US-ASCII.
#[inline]
fn check_field(b: &[u8], j: usize, e: usize, k: usize) -> Result<(), SynErr> {
    if e == j {
        return Err((j, FIELD_NAMES.get(k).copied().unwrap_or("a header field")));
    }
    if let Some(bad) = b
        .get(j..e)
        .and_then(|t| t.iter().position(|&c| !(33..=126).contains(&c)))
    {
        return Err((j + bad, FIELD_ASCII.get(k).copied().unwrap_or("US-ASCII")));
    }
    Ok(())
}

/// The STRUCTURED-DATA after the header ending at `j`, and where MSG starts.
#[inline]
fn structured_data<'a>(
    inp: &Input<'a>,
    j: usize,
    strict: bool,
) -> Result<(Vec<StructuredElement<'a>>, usize), SynErr> {
    let b = inp.b;
    let len = b.len();
    if j >= len {
        if strict {
            return Err((j, "' ' then STRUCTURED-DATA"));
        }
        return Ok((Vec::new(), len));
    }
    let j = if strict { j + 1 } else { skip_spaces(b, j) };
    if nil_at(b, j) {
        Ok((Vec::new(), after_sd(b, j + 1, strict)?))
    } else if b.get(j) == Some(&b'[') {
        let mode = if strict {
            SdMode::Strict
        } else {
            SdMode::Lenient
        };
        let (els, end) = parse_list(inp, j, mode)?;
        let msg_start = if end == j {
            // Nothing parsed (lenient): the bracket belongs to the message.
            j
        } else {
            after_sd(b, end, strict)?
        };
        Ok((els, msg_start))
    } else if strict {
        Err((j, "'-' or '[' (STRUCTURED-DATA)"))
    } else {
        Ok((Vec::new(), j.min(len)))
    }
}

/// Where MSG's text starts: after a UTF-8 BOM at `m`, if any.
#[inline]
fn msg_start_after_bom(b: &[u8], m: usize) -> usize {
    if b.get(m..).is_some_and(|r| r.starts_with(BOM)) {
        m + BOM.len()
    } else {
        m
    }
}

/// Where MSG starts after STRUCTURED-DATA ending at `j`: after one space, or at `j` at the end.
fn after_sd(b: &[u8], j: usize, strict: bool) -> Result<usize, SynErr> {
    match b.get(j) {
        None => Ok(b.len()),
        Some(b' ') => Ok(j + 1),
        Some(_) if strict => Err((j, "' ' before MSG")),
        Some(_) => Ok(j),
    }
}
