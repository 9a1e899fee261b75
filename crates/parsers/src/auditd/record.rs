//! One record line: the `type=… msg=audit(…)` header and the `key=value` body, decoded as
//! auparse decodes them.

use super::types::{type_id, type_name};
use super::AuditRecord;

pub(super) struct Header<'a> {
    pub(super) node: Option<&'a str>,
    pub(super) kind: &'a str,
    pub(super) secs: i64,
    pub(super) nanos: u32,
    pub(super) serial: u64,
    pub(super) body: &'a str,
}

/// Finds `type=` at a token start (within the first KiB, so a syslog header or program prefix
/// may come first) followed by a valid `[msg=]audit(...)` stamp.
pub(super) fn header(line: &str) -> Option<Header<'_>> {
    const MAX_PREFIX: usize = 1024;
    let bytes = line.as_bytes();
    let mut from = 0;
    while from <= MAX_PREFIX && from < line.len() {
        let idx = from + line.get(from..)?.find("type=")?;
        if idx > MAX_PREFIX {
            return None;
        }
        from = idx + 5;
        if idx > 0 && !bytes[idx - 1].is_ascii_whitespace() {
            continue;
        }
        if let Some(h) = header_at(line, idx) {
            return Some(h);
        }
    }
    None
}

fn header_at(line: &str, idx: usize) -> Option<Header<'_>> {
    let rest = line.get(idx + 5..)?;
    let tlen = rest
        .bytes()
        .take(65)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'[' | b']' | b'-'))
        .count();
    if tlen == 0 || tlen > 64 {
        return None;
    }
    let kind = &rest[..tlen];
    let after = &rest[tlen..];
    if !after.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let after = after.trim_start();
    let after = after.strip_prefix("msg=").unwrap_or(after);
    let after = after.strip_prefix("audit(")?;
    let (secs, after) = digits(after, 19)?;
    let after = after.strip_prefix('.')?;
    let (frac, after) = digits(after, 9)?;
    let after = after.strip_prefix(':')?;
    let (serial, after) = digits(after, 20)?;
    let after = after.strip_prefix(')')?.trim_start();
    let body = after.strip_prefix(':').unwrap_or(after).trim_start();

    let secs: i64 = secs.parse().ok()?;
    let mut nanos: u32 = frac.parse().ok()?;
    for _ in frac.len()..9 {
        nanos *= 10;
    }
    let serial: u64 = serial.parse().ok()?;

    let node = line[..idx]
        .trim_end()
        .rsplit(|c: char| c.is_ascii_whitespace())
        .next()
        .and_then(|t| t.strip_prefix("node="))
        .map(|v| v.trim_matches('"'))
        .filter(|v| !v.is_empty());
    Some(Header {
        node,
        kind,
        secs,
        nanos,
        serial,
        body,
    })
}

/// A run of 1..=max ASCII digits at the start of `s`, and the rest.
fn digits(s: &str, max: usize) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || n > max {
        return None;
    }
    Some(s.split_at(n))
}

pub(super) fn resolve_type(tok: &str) -> Option<(String, Option<u32>)> {
    let numeric = if tok.bytes().all(|b| b.is_ascii_digit()) {
        Some(tok)
    } else {
        tok.strip_prefix("UNKNOWN[")
            .and_then(|t| t.strip_suffix(']'))
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(n) = numeric {
        let n: u32 = n.parse().ok()?;
        let name = type_name(n).map_or_else(|| format!("UNKNOWN[{n}]"), str::to_string);
        return Some((name, Some(n)));
    }
    if tok.contains(['[', ']']) {
        return None;
    }
    Some((tok.to_string(), type_id(tok)))
}

// ---------------------------------------------------------------------------------------------
// Body

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
    Brace,
}

/// `key=value` tokens; words without `=` (AVC's `avc:  denied  { read } for`) are skipped.
struct Tokens<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (&'a str, &'a str, Quote);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let b = s.as_bytes();
        let len = b.len();
        loop {
            let mut i = self.i;
            while i < len && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= len {
                self.i = len;
                return None;
            }
            let start = i;
            while i < len && b[i] != b'=' && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= len || b[i] != b'=' || i == start {
                // a bare word (or `=value` without a key): skip to the next blank
                while i < len && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                self.i = i;
                continue;
            }
            let key = &s[start..i];
            i += 1;
            let (val, quote, end) = match b.get(i) {
                Some(b'"') => closing(s, i + 1, b'"', false, Quote::Double),
                Some(b'\'') => closing(s, i + 1, b'\'', key == "msg", Quote::Single),
                Some(b'{') if is_interp_key(key) => {
                    let (v, q, e) = closing(s, i + 1, b'}', false, Quote::Brace);
                    (v.trim(), q, e)
                }
                _ => {
                    let vs = i;
                    while i < len && !b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    (&s[vs..i], Quote::None, i)
                }
            };
            self.i = end;
            return Some((key, val, quote));
        }
    }
}

/// The value from `from` up to the closing `q` (the last one when `last`), and where the
/// next token starts. An unterminated value runs to the end.
fn closing(s: &str, from: usize, q: u8, last: bool, quote: Quote) -> (&str, Quote, usize) {
    let rest = s.get(from..).unwrap_or("");
    let found = if last {
        rest.bytes().rposition(|c| c == q)
    } else {
        rest.bytes().position(|c| c == q)
    };
    match found {
        Some(p) => (&rest[..p], quote, from + p + 1),
        None => (rest, quote, s.len()),
    }
}

fn tokens(s: &str) -> Tokens<'_> {
    Tokens { s, i: 0 }
}

/// Enriched names are upper case (`AUID`, `SYSCALL`, `OLD-AUID`); raw fields never are.
fn is_interp_key(key: &str) -> bool {
    key.len() >= 2
        && key.bytes().any(|b| b.is_ascii_uppercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Fields the kernel and libaudit write hex-encoded when the value needs it (auparse's
/// `AUPARSE_TYPE_ESCAPED*`, `PROCTITLE`, `TTY_DATA`).
fn is_escaped_key(key: &str) -> bool {
    matches!(
        key,
        "path"
            | "comm"
            | "exe"
            | "file"
            | "name"
            | "watch"
            | "cwd"
            | "cmd"
            | "acct"
            | "dir"
            | "key"
            | "vm"
            | "old-chardev"
            | "new-chardev"
            | "old-disk"
            | "new-disk"
            | "old-fs"
            | "new-fs"
            | "old-net"
            | "new-net"
            | "device"
            | "cgroup"
            | "proctitle"
            | "grp"
            | "new_group"
            | "invalid_context"
            | "sw"
            | "root_dir"
            | "ocomm"
            | "old-rng"
            | "new-rng"
            | "data"
            | "apparmor"
            | "operation"
            | "denied_mask"
            | "info"
            | "profile"
            | "requested_mask"
    )
}

/// `aN` of EXECVE.
fn is_arg_key(key: &str) -> bool {
    key.strip_prefix('a')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `aN[i]`: a chunk of a long EXECVE argument.
pub(super) fn arg_chunk(key: &str) -> Option<(usize, usize)> {
    let (n, i) = key.strip_prefix('a')?.strip_suffix(']')?.split_once('[')?;
    Some((small_index(n)?, small_index(i)?))
}

pub(super) fn small_index(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(super) fn parse_body(rec: &mut AuditRecord, body: &str) {
    let (raw, extra) = match body.split_once('\x1d') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    let execve = rec.record_type == "EXECVE";
    let mut inner = None;
    for (key, val, quote) in tokens(raw) {
        if is_interp_key(key) {
            rec.interpreted
                .push((key.to_string(), interp_value(key, val, quote)));
            continue;
        }
        if key == "msg" && quote == Quote::Single {
            inner = Some(val);
        }
        rec.fields
            .push((key.to_string(), field_value(key, val, quote, execve)));
    }
    if let Some(inner) = inner {
        for (key, val, quote) in tokens(inner) {
            if is_interp_key(key) {
                rec.interpreted
                    .push((key.to_string(), interp_value(key, val, quote)));
            } else {
                rec.fields
                    .push((key.to_string(), field_value(key, val, quote, false)));
            }
        }
    }
    if let Some(extra) = extra {
        for (key, val, quote) in tokens(extra) {
            rec.interpreted
                .push((key.to_string(), interp_value(key, val, quote)));
        }
    }
}

fn field_value(key: &str, val: &str, quote: Quote, execve: bool) -> String {
    if execve && arg_chunk(key).is_some() {
        // chunks are rejoined before decoding: keep them all hex
        return if quote == Quote::None {
            val.to_string()
        } else {
            hex_encode(val.as_bytes())
        };
    }
    if quote == Quote::None && (is_escaped_key(key) || (execve && is_arg_key(key))) {
        if let Some(d) = decode_hex(val) {
            return d;
        }
    }
    val.to_string()
}

fn interp_value(key: &str, val: &str, quote: Quote) -> String {
    if quote == Quote::None && (key.ends_with("UID") || key.ends_with("GID") || key == "ID") {
        if let Some(d) = decode_hex(val) {
            return d;
        }
    }
    val.to_string()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes audit hex: even length, UTF-8 text; NULs (argv separators) become spaces, trailing
/// ones are dropped; `0x01` (key separator), tab, newline and carriage return are allowed,
/// other control characters are not.
pub(super) fn decode_hex(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks_exact(2) {
        out.push((hex_val(pair[0])? << 4) | hex_val(pair[1])?);
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    for c in out.iter_mut() {
        match *c {
            0 => *c = b' ',
            b'\t' | b'\n' | b'\r' | 0x01 => {}
            0x02..=0x1f | 0x7f => return None,
            _ => {}
        }
    }
    String::from_utf8(out).ok()
}

pub(super) fn hex_encode(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(HEX[usize::from(c >> 4)] as char);
        s.push(HEX[usize::from(c & 0x0f)] as char);
    }
    s
}

pub(super) fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some((hex_val(p[0])? << 4) | hex_val(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(decode_hex("2D6C61").as_deref(), Some("-la"));
        assert_eq!(decode_hex("636174002F746D70").as_deref(), Some("cat /tmp"));
        assert_eq!(decode_hex("2D6"), None);
        assert_eq!(decode_hex("7fffd19c5592"), None);
        assert_eq!(decode_hex("1B5B41"), None);
        assert_eq!(decode_hex(""), None);
        assert_eq!(hex_encode(b"ls -l"), "6C73202D6C");
    }
}
