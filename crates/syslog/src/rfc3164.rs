//! RFC 3164 (BSD syslog) and the variants seen in the wild:
//! `[<PRI>]TIMESTAMP [HOSTNAME] [TAG[\[PID\]]:] [SD...] MSG`.
//!
//! - TIMESTAMP is `Mmm dd hh:mm:ss` (optionally with a year and fractional seconds) or an
//!   RFC 3339 timestamp (rsyslog's forwarding format). A year-less date takes its year from
//!   [`ParseOptions::now`]; a zone-less one is read in [`ParseOptions::default_tz`].
//! - HOSTNAME is left out by some senders (`<134>Feb 18 20:53:31 haproxy[376]: ...`): a first
//!   word that is shaped like a tag (ends in `:` or has `[pid]`) is taken as the tag.
//! - TAG is the program name up to `[`, `:` or a space; `[pid]` and the colon are optional.
//! - rsyslog's `[origin software="..." ...]` pseudo structured data after the tag is parsed.
//! - A CEF or LEEF payload is always the message, never a hostname or tag.
//!
//! Without a PRI and a timestamp the input is not recognised (the caller keeps it whole).

use crate::input::Input;
use crate::pri::decompose_pri;
use crate::sd::{parse_list, SdMode};
use crate::time::{parse_bsd, parse_rfc3339, SynErr};
use crate::{payload_at, Message, ParseOptions, Protocol};

#[inline]
fn skip_spaces(b: &[u8], mut j: usize) -> usize {
    while matches!(b.get(j), Some(b' ' | b'\t')) {
        j += 1;
    }
    j
}

/// A parsed TAG: `name[pid]:`.
struct Tag {
    name: (usize, usize),
    pid: Option<(usize, usize)>,
    /// Offset after the tag (after its colon when it has one).
    end: usize,
    /// Ends in `:` or carries `[pid]`: unmistakably a tag, not a hostname.
    marked: bool,
}

/// Reads a TAG at `j`: a name up to `[`, `:`, a space or the end; then an optional `[pid]`
/// (no spaces inside) and an optional `:`.
fn tag_at(b: &[u8], j: usize) -> Option<Tag> {
    let mut k = j;
    while let Some(&c) = b.get(k) {
        if matches!(c, b'[' | b':' | b' ' | b'\t') {
            break;
        }
        k += 1;
    }
    if k == j {
        return None;
    }
    let name = (j, k);
    let mut pid = None;
    let mut marked = false;
    if b.get(k) == Some(&b'[') {
        let rest = b.get(k + 1..).unwrap_or(&[]);
        let close = rest.iter().position(|&c| matches!(c, b']' | b' ' | b'\t'));
        match close {
            Some(off) if rest.get(off) == Some(&b']') => {
                pid = Some((k + 1, k + 1 + off));
                k = k + 1 + off + 1;
                marked = true;
            }
            // `name[...` without a closing bracket in the word: not a tag.
            _ => return None,
        }
    }
    match b.get(k) {
        Some(b':') => {
            k += 1;
            // `fe80::1` or `12:34` is a hostname, `app: msg` a tag.
            marked = marked || matches!(b.get(k), None | Some(b' ' | b'\t'));
        }
        None | Some(b' ' | b'\t') => {}
        // `name[pid]x`: something glued after the tag.
        Some(_) => return None,
    }
    Some(Tag {
        name,
        pid,
        end: k,
        marked,
    })
}

/// Parses an RFC 3164 message whose PRI (if any) ended at `pos`.
pub(crate) fn parse<'a>(
    inp: &Input<'a>,
    pri: Option<u16>,
    pos: usize,
    opts: &ParseOptions,
    strict: bool,
) -> Result<Message<'a>, SynErr> {
    let b = inp.b;
    let len = b.len();
    let mut j = skip_spaces(b, pos);

    // TIMESTAMP
    let mut timestamp = None;
    let mut have_ts = false;
    if let Some(bsd) = parse_bsd(b, j) {
        timestamp = bsd.resolve(&opts.default_tz, opts.now);
        have_ts = true;
        j = bsd.end;
    } else if b.get(j).is_some_and(u8::is_ascii_digit) {
        if let Ok(iso) = parse_rfc3339(b, j, false) {
            timestamp = iso.resolve(&opts.default_tz);
            have_ts = true;
            j = iso.end;
        }
    }
    if strict && timestamp.is_none() {
        return Err((j, "an RFC 3164 timestamp (Mmm dd hh:mm:ss)"));
    }
    if !have_ts && pri.is_none() {
        return Err((j, "a PRI or a timestamp"));
    }
    j = skip_spaces(b, j);

    // HOSTNAME and TAG
    let mut hostname = None;
    let mut tag: Option<Tag> = None;
    if j < len && !payload_at(b, j) && b.get(j) != Some(&b'[') {
        match tag_at(b, j) {
            Some(t) if t.marked => tag = Some(t),
            _ if have_ts => {
                // A hostname: the first word; then an optional tag.
                let rest = b.get(j..).unwrap_or(&[]);
                let e = rest
                    .iter()
                    .position(|&c| c == b' ' || c == b'\t')
                    .map_or(len, |o| j + o);
                hostname = inp.str(j, e);
                j = skip_spaces(b, e);
                if j < len && !payload_at(b, j) {
                    tag = tag_at(b, j);
                }
            }
            // No timestamp: only an unmistakable tag is taken from the text.
            _ => {}
        }
    }
    let (mut appname, mut procid) = (None, None);
    if let Some(t) = tag {
        appname = inp.str(t.name.0, t.name.1);
        procid = t
            .pid
            .and_then(|(a, z)| inp.str(a, z))
            .filter(|p| !p.is_empty());
        j = skip_spaces(b, t.end);
    }

    // rsyslog's pseudo structured data after the tag.
    let mut structured_data = Vec::new();
    if appname.is_some() && b.get(j) == Some(&b'[') {
        if let Ok((els, end)) = parse_list(inp, j, SdMode::Bsd) {
            if !els.is_empty() {
                structured_data = els;
                j = skip_spaces(b, end);
            }
        }
    }

    let (facility, severity) = match pri {
        Some(p) => decompose_pri(p),
        None => (None, None),
    };
    Ok(Message {
        protocol: Protocol::Rfc3164,
        facility,
        severity,
        timestamp,
        hostname,
        appname,
        procid,
        msgid: None,
        structured_data,
        msg: inp.cow(j.min(len), len),
        invalid_utf8: !inp.is_utf8(),
    })
}
