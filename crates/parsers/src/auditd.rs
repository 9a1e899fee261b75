//! Linux audit (auditd) records: one-line parsing and assembly of multi-record events.
//!
//! A raw record looks like
//! `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`. The kernel writes
//! one event (one system call) as several records that share the `audit(...)` stamp:
//! `SYSCALL`, then auxiliary records (`EXECVE`, `CWD`, `PATH`..., `PROCTITLE`) and finally
//! `EOE`. User-space programs (PAM, shadow-utils, sshd, systemd...) write one-record events
//! (`USER_AUTH`, `USER_LOGIN`, `ADD_USER`...) whose own fields sit inside `msg='...'`.
//!
//! * [`parse_auditd_record`] parses one line: with or without `node=`, behind a syslog header
//!   or an `audit:`/`audispd:` prefix, the kernel's own printk form (`audit: type=1300
//!   audit(...)`, numeric type), and the enriched format (`log_format = ENRICHED`) whose
//!   interpreted names follow a `0x1D` separator (which the syslog plugin turns into a space).
//! * [`AuditAssembler`] joins the records of one event by (node, time stamp, serial).
//! * [`parse_auditd`] turns a single line into an event, for one-record events and sources
//!   that deliver records one by one without assembly.
//!
//! Values are decoded as auparse does: a quoted value is literal; an unquoted value of a
//! field the kernel/libaudit encode as "untrusted" (`proctitle`, `name`, `cwd`, `exe`,
//! `comm`, `key`, `acct`, `cmd`, the EXECVE arguments `aN`...) is hex, because the writer
//! hex-encodes a value that contains a space, a double quote, a control character or a
//! non-ASCII byte. Hex is decoded when it is even-length, decodes to UTF-8 text and holds no
//! control character other than tab/newline/carriage return; NUL bytes (the argv separators
//! of `proctitle`) become spaces. Anything else (odd length, binary) is kept as written.
//!
//! Fields of the emitted [`Parsed`] (parser `auditd`, tag `auditd`), all optional:
//!
//! | field | from |
//! |---|---|
//! | `audittype` | type of the event's first record (`SYSCALL`, `USER_AUTH`, `AVC`...) |
//! | `recordtypes` | array: the distinct record types of the event, in order, `EOE` left out |
//! | `serial` | number: the event serial |
//! | `timestamp` | the `audit(...)` time, RFC 3339 UTC with milliseconds |
//! | `hostname` | `node=` |
//! | `arch` | `x86_64`, `i386`, `aarch64`, `arm` (else the raw hex) |
//! | `syscall` | system call name (enriched `SYSCALL=` or the built-in x86_64/aarch64 table), else the number as text |
//! | `syscall_nr` | number: the raw `syscall=` |
//! | `success` | bool: `success=yes/no`, or `res=success/failed` (`1`/`0`) |
//! | `result` | raw `res=` |
//! | `exit` | number: `exit=` |
//! | `key` | audit rule key (`(null)` dropped); `keys` (array) when a rule set several |
//! | `exe`, `comm`, `cwd`, `tty`, `terminal`, `op`, `unit`, `id`, `grp` | the record fields of that name (`?`/`(none)` dropped) |
//! | `command` | EXECVE arguments joined with spaces, else USER_CMD `cmd`, else `proctitle` |
//! | `args` | array: EXECVE arguments `a0..aN` (long arguments split in `aN[i]` chunks rejoined) |
//! | `argc` | number: EXECVE `argc` |
//! | `proctitle` | decoded `PROCTITLE` |
//! | `paths` | array: `name` of each `PATH` record |
//! | `uid`, `auid`, `euid`, `gid`, `ses`, `pid`, `ppid` | text, as written (`4294967295` = unset) |
//! | `uid_name`, `auid_name`, `euid_name`, `gid_name` | enriched `UID=`/`AUID=`/`EUID=`/`GID=` names |
//! | `originaluser` | same as `auid_name` (the login user behind `sudo`/`su`) |
//! | `acct` | the account a user-space record is about |
//! | `username` | account events: `auid_name`, else `uid_name`; others: `acct`, else `auid_name`, else `uid_name` |
//! | `targetuser` | account events (`ADD_USER`, `USER_CHAUTHTOK`...): `acct` |
//! | `sourceipaddress` | `addr=` when it is an IP address; `accept` peer from `SOCKADDR` |
//! | `sourcehostname` | `hostname=` of user-space records (the remote host) |
//! | `destinationipaddress`, `destinationport` | `connect`/`sendto`/`sendmsg` address from `SOCKADDR` (`sourceport` for `accept`) |
//!
//! Category: `execution` when the event has an `EXECVE` record, its system call is
//! `execve`/`execveat`, or it is `USER_CMD`; `authentication` for `USER_AUTH`, `USER_LOGIN`,
//! `USER_LOGOUT`, `USER_ERR`, `USER_ACCT`, `USER_START`, `USER_END`, `CRED_*`, `LOGIN`,
//! `GRP_AUTH` and `ANOM_LOGIN_*`; `account` for `ADD_USER`, `DEL_USER`, `ADD_GROUP`,
//! `DEL_GROUP`, `USER_MGMT`, `GRP_MGMT`, `USER_CHAUTHTOK`, `GRP_CHAUTHTOK`, `CHUSER_ID`,
//! `CHGRP_ID`, `ACCT_LOCK`, `ACCT_UNLOCK`, `ROLE_*` and `ANOM_*_ACCT`; `audit` otherwise.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;

use crate::Parsed;

/// One audit record (one line), values decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// `node=` (the host name auditd or the dispatcher put in front), if any.
    pub node: Option<String>,
    /// Record type name (`SYSCALL`, `USER_AUTH`...); a numeric type of the kernel's printk
    /// form is turned into its name, an unknown one is kept as `UNKNOWN[n]`.
    pub record_type: String,
    /// Numeric record type when known.
    pub type_id: Option<u32>,
    /// Time of the event.
    pub timestamp: DateTime<Utc>,
    /// Event serial (unique per boot of one node, shared by the records of an event).
    pub serial: u64,
    /// `key=value` pairs in order, values unquoted and hex-decoded. The pairs inside a
    /// user-space `msg='...'` follow the record's own pairs (`msg` itself is kept too).
    /// Chunks of long EXECVE arguments (`aN[i]`) stay hex so they can be rejoined.
    pub fields: Vec<(String, String)>,
    /// Enriched-format interpretations (`UID="root"`, `SYSCALL=openat`...), names upper case.
    pub interpreted: Vec<(String, String)>,
}

impl AuditRecord {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The enriched interpretation of `key` (upper case, e.g. `AUID`).
    pub fn interpreted(&self, key: &str) -> Option<&str> {
        self.interpreted
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A one-record event: user-space messages, `KERNEL`, `ANOM_*` of user space...
    /// (auparse's rule). `SYSCALL` and its auxiliary records are not.
    pub fn is_standalone(&self) -> bool {
        match self.type_id {
            Some(t) => {
                t == 1005
                    || (t > 1006 && t < 1300)
                    || t == 2000
                    || t >= 2100
                    || (1406..=1419).contains(&t)
            }
            None => {
                const PREFIXES: [&str; 12] = [
                    "USER_",
                    "CRED_",
                    "DAEMON_",
                    "SERVICE_",
                    "SYSTEM_",
                    "ANOM_LOGIN",
                    "ACCT_",
                    "GRP_",
                    "ROLE_",
                    "CRYPTO_",
                    "VIRT_",
                    "RESP_",
                ];
                PREFIXES.iter().any(|p| self.record_type.starts_with(p))
            }
        }
    }

    fn same_event(&self, other: &AuditRecord) -> bool {
        self.serial == other.serial && self.timestamp == other.timestamp && self.node == other.node
    }
}

/// Parses one audit record line. `None` when the line holds no `type=... audit(S.MS:N)` header.
pub fn parse_auditd_record(line: &str) -> Option<AuditRecord> {
    let line = line.trim_end_matches(['\r', '\n']);
    let h = header(line)?;
    let timestamp = DateTime::from_timestamp(h.secs, h.nanos)?;
    let (record_type, type_id) = resolve_type(h.kind)?;
    let mut rec = AuditRecord {
        node: h.node.map(str::to_string),
        record_type,
        type_id,
        timestamp,
        serial: h.serial,
        fields: Vec::new(),
        interpreted: Vec::new(),
    };
    parse_body(&mut rec, h.body);
    Some(rec)
}

/// One line as an event of its own (fields: the table at the top of `src/auditd.rs`). `None`
/// for lines that are no audit record and for a bare `EOE`.
pub fn parse_auditd(line: &str) -> Option<Parsed> {
    let rec = parse_auditd_record(line)?;
    auditd_event(std::slice::from_ref(&rec))
}

/// Builds the event of records already grouped by the caller (same node, time and serial).
/// `None` when there is no record but `EOE`.
pub fn auditd_event(records: &[AuditRecord]) -> Option<Parsed> {
    build(records)
}

// ---------------------------------------------------------------------------------------------
// Header

struct Header<'a> {
    node: Option<&'a str>,
    kind: &'a str,
    secs: i64,
    nanos: u32,
    serial: u64,
    body: &'a str,
}

/// Finds `type=` at a token start (within the first KiB, so a syslog header or program prefix
/// may come first) followed by a valid `[msg=]audit(...)` stamp.
fn header(line: &str) -> Option<Header<'_>> {
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

fn resolve_type(tok: &str) -> Option<(String, Option<u32>)> {
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
fn arg_chunk(key: &str) -> Option<(usize, usize)> {
    let (n, i) = key.strip_prefix('a')?.strip_suffix(']')?.split_once('[')?;
    Some((small_index(n)?, small_index(i)?))
}

fn small_index(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_body(rec: &mut AuditRecord, body: &str) {
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
fn decode_hex(s: &str) -> Option<String> {
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

fn hex_encode(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(HEX[usize::from(c >> 4)] as char);
        s.push(HEX[usize::from(c & 0x0f)] as char);
    }
    s
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some((hex_val(p[0])? << 4) | hex_val(p[1])?))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Event building

/// A value that says something (`?`, `(none)`, `(null)` and empty say nothing).
fn known(v: &str) -> Option<&str> {
    match v {
        "" | "?" | "(none)" | "(null)" => None,
        v => Some(v),
    }
}

/// An enriched name that names someone (`unset`, `unknown(1234)` do not).
fn known_name(v: &str) -> Option<&str> {
    known(v).filter(|v| *v != "unset" && !v.starts_with("unknown("))
}

fn is_auth_type(t: &str) -> bool {
    matches!(
        t,
        "USER_AUTH"
            | "USER_LOGIN"
            | "USER_LOGOUT"
            | "USER_ERR"
            | "USER_ACCT"
            | "USER_START"
            | "USER_END"
            | "CRED_ACQ"
            | "CRED_DISP"
            | "CRED_REFR"
            | "LOGIN"
            | "GRP_AUTH"
    ) || t.starts_with("ANOM_LOGIN_")
}

fn is_account_type(t: &str) -> bool {
    matches!(
        t,
        "ADD_USER"
            | "DEL_USER"
            | "ADD_GROUP"
            | "DEL_GROUP"
            | "USER_MGMT"
            | "GRP_MGMT"
            | "USER_CHAUTHTOK"
            | "GRP_CHAUTHTOK"
            | "CHUSER_ID"
            | "CHGRP_ID"
            | "ACCT_LOCK"
            | "ACCT_UNLOCK"
            | "ROLE_ASSIGN"
            | "ROLE_REMOVE"
            | "ROLE_MODIFY"
            | "ANOM_ADD_ACCT"
            | "ANOM_DEL_ACCT"
            | "ANOM_MOD_ACCT"
    )
}

enum ArgParts {
    Whole(String),
    Chunks(BTreeMap<usize, String>),
}

/// EXECVE arguments of all EXECVE records, in index order, long ones rejoined.
fn execve_args(records: &[&AuditRecord]) -> Vec<String> {
    let mut args: BTreeMap<usize, ArgParts> = BTreeMap::new();
    for r in records.iter().filter(|r| r.record_type == "EXECVE") {
        for (k, v) in &r.fields {
            if let Some((n, i)) = arg_chunk(k) {
                match args
                    .entry(n)
                    .or_insert_with(|| ArgParts::Chunks(BTreeMap::new()))
                {
                    ArgParts::Chunks(c) => {
                        c.insert(i, v.clone());
                    }
                    ArgParts::Whole(_) => {}
                }
            } else if let Some(n) = k.strip_prefix('a').and_then(small_index) {
                args.insert(n, ArgParts::Whole(v.clone()));
            }
        }
    }
    args.into_values()
        .map(|a| match a {
            ArgParts::Whole(s) => s,
            ArgParts::Chunks(c) => {
                let hex: String = c.into_values().collect();
                decode_hex(&hex).unwrap_or(hex)
            }
        })
        .collect()
}

fn arch_name(raw: &str) -> Option<&'static str> {
    const ARCHES: [(&str, &str); 4] = [
        ("c000003e", "x86_64"),
        ("40000003", "i386"),
        ("c00000b7", "aarch64"),
        ("40000028", "arm"),
    ];
    ARCHES
        .iter()
        .find(|(hex, _)| hex.eq_ignore_ascii_case(raw))
        .map(|&(_, name)| name)
}

fn syscall_name(arch: &str, nr: u32) -> Option<&'static str> {
    match arch {
        "x86_64" => syscall_x86_64(nr),
        "aarch64" => syscall_aarch64(nr),
        _ => None,
    }
}

fn syscall_x86_64(nr: u32) -> Option<&'static str> {
    Some(match nr {
        0 => "read",
        1 => "write",
        2 => "open",
        3 => "close",
        4 => "stat",
        5 => "fstat",
        6 => "lstat",
        9 => "mmap",
        10 => "mprotect",
        16 => "ioctl",
        21 => "access",
        22 => "pipe",
        32 => "dup",
        33 => "dup2",
        41 => "socket",
        42 => "connect",
        43 => "accept",
        44 => "sendto",
        45 => "recvfrom",
        46 => "sendmsg",
        47 => "recvmsg",
        49 => "bind",
        50 => "listen",
        56 => "clone",
        57 => "fork",
        58 => "vfork",
        59 => "execve",
        60 => "exit",
        61 => "wait4",
        62 => "kill",
        76 => "truncate",
        77 => "ftruncate",
        80 => "chdir",
        82 => "rename",
        83 => "mkdir",
        84 => "rmdir",
        85 => "creat",
        86 => "link",
        87 => "unlink",
        88 => "symlink",
        89 => "readlink",
        90 => "chmod",
        91 => "fchmod",
        92 => "chown",
        93 => "fchown",
        94 => "lchown",
        101 => "ptrace",
        105 => "setuid",
        106 => "setgid",
        112 => "setsid",
        113 => "setreuid",
        114 => "setregid",
        117 => "setresuid",
        119 => "setresgid",
        122 => "setfsuid",
        123 => "setfsgid",
        126 => "capset",
        133 => "mknod",
        155 => "pivot_root",
        157 => "prctl",
        161 => "chroot",
        165 => "mount",
        166 => "umount2",
        169 => "reboot",
        170 => "sethostname",
        171 => "setdomainname",
        175 => "init_module",
        176 => "delete_module",
        188 => "setxattr",
        189 => "lsetxattr",
        190 => "fsetxattr",
        197 => "removexattr",
        198 => "lremovexattr",
        199 => "fremovexattr",
        200 => "tkill",
        231 => "exit_group",
        234 => "tgkill",
        246 => "kexec_load",
        257 => "openat",
        258 => "mkdirat",
        259 => "mknodat",
        260 => "fchownat",
        263 => "unlinkat",
        264 => "renameat",
        265 => "linkat",
        266 => "symlinkat",
        268 => "fchmodat",
        269 => "faccessat",
        272 => "unshare",
        288 => "accept4",
        298 => "perf_event_open",
        304 => "open_by_handle_at",
        308 => "setns",
        310 => "process_vm_readv",
        311 => "process_vm_writev",
        313 => "finit_module",
        316 => "renameat2",
        317 => "seccomp",
        319 => "memfd_create",
        320 => "kexec_file_load",
        321 => "bpf",
        322 => "execveat",
        425 => "io_uring_setup",
        434 => "pidfd_open",
        435 => "clone3",
        437 => "openat2",
        439 => "faccessat2",
        _ => return None,
    })
}

fn syscall_aarch64(nr: u32) -> Option<&'static str> {
    Some(match nr {
        34 => "mkdirat",
        35 => "unlinkat",
        36 => "symlinkat",
        37 => "linkat",
        38 => "renameat",
        39 => "umount2",
        40 => "mount",
        41 => "pivot_root",
        48 => "faccessat",
        49 => "chdir",
        51 => "chroot",
        52 => "fchmod",
        53 => "fchmodat",
        54 => "fchownat",
        55 => "fchown",
        56 => "openat",
        57 => "close",
        63 => "read",
        64 => "write",
        93 => "exit",
        94 => "exit_group",
        97 => "unshare",
        105 => "init_module",
        106 => "delete_module",
        117 => "ptrace",
        129 => "kill",
        143 => "setregid",
        144 => "setgid",
        145 => "setreuid",
        146 => "setuid",
        147 => "setresuid",
        149 => "setresgid",
        167 => "prctl",
        198 => "socket",
        200 => "bind",
        201 => "listen",
        202 => "accept",
        203 => "connect",
        206 => "sendto",
        211 => "sendmsg",
        220 => "clone",
        221 => "execve",
        242 => "accept4",
        268 => "setns",
        273 => "finit_module",
        276 => "renameat2",
        277 => "seccomp",
        279 => "memfd_create",
        280 => "bpf",
        281 => "execveat",
        435 => "clone3",
        437 => "openat2",
        439 => "faccessat2",
        _ => return None,
    })
}

/// An IPv4/IPv6 `SOCKADDR` (`saddr=` hex of a little-endian `struct sockaddr`).
fn sockaddr_inet(saddr: &str) -> Option<(IpAddr, u16)> {
    let b = hex_bytes(saddr)?;
    let family = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    match family {
        2 => {
            let a: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some((IpAddr::V4(Ipv4Addr::from(a)), port))
        }
        10 => {
            let a: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            Some((IpAddr::V6(Ipv6Addr::from(a)), port))
        }
        _ => None,
    }
}

fn build(records: &[AuditRecord]) -> Option<Parsed> {
    let all: Vec<&AuditRecord> = records.iter().filter(|r| r.record_type != "EOE").collect();
    let main = *all.first()?;
    // look values up in the SYSCALL record first, then in order
    let syscall_rec = all.iter().copied().find(|r| r.record_type == "SYSCALL");
    let ordered: Vec<&AuditRecord> = syscall_rec
        .into_iter()
        .chain(all.iter().copied().filter(|r| r.record_type != "SYSCALL"))
        .collect();
    let get = |k: &str| ordered.iter().find_map(|r| r.get(k)).and_then(known);
    let name_of = |k: &str| {
        ordered
            .iter()
            .find_map(|r| r.interpreted(k))
            .and_then(known_name)
    };

    let arch = get("arch").map(|a| {
        arch_name(a)
            .map(str::to_string)
            .or_else(|| name_of("ARCH").map(str::to_string))
            .unwrap_or_else(|| a.to_string())
    });
    let syscall_nr = get("syscall").and_then(|s| s.parse::<u32>().ok());
    let syscall = get("syscall").map(|raw| {
        name_of("SYSCALL")
            .map(str::to_string)
            .or_else(|| {
                syscall_nr
                    .zip(arch.as_deref())
                    .and_then(|(n, a)| syscall_name(a, n))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| raw.to_string())
    });
    let args = execve_args(&all);
    let has_execve = all.iter().any(|r| r.record_type == "EXECVE");
    let sys = syscall.as_deref().unwrap_or("");
    let kind = main.record_type.as_str();

    let category = if has_execve || matches!(sys, "execve" | "execveat") || kind == "USER_CMD" {
        "execution"
    } else if is_auth_type(kind) {
        "authentication"
    } else if is_account_type(kind) {
        "account"
    } else {
        "audit"
    };

    let mut p = Parsed::new("auditd", Some(category));
    p.tags.push("auditd");
    let f = &mut p.fields;
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_string(), v);
    };
    let text = |v: &str| Value::String(v.to_string());

    put("audittype", text(kind));
    let mut types: Vec<Value> = Vec::new();
    for r in &all {
        let t = text(&r.record_type);
        if !types.contains(&t) {
            types.push(t);
        }
    }
    put("recordtypes", Value::Array(types));
    put("serial", Value::from(main.serial));
    put(
        "timestamp",
        text(&main.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    if let Some(node) = main.node.as_deref() {
        put("hostname", text(node));
    }
    if let Some(a) = &arch {
        put("arch", text(a));
    }
    if let Some(s) = &syscall {
        put("syscall", text(s));
    }
    if let Some(n) = syscall_nr {
        put("syscall_nr", Value::from(n));
    }
    let res = get("res");
    match get("success") {
        Some(s) => put("success", Value::Bool(s == "yes")),
        None => match res {
            Some("success" | "yes" | "1") => put("success", Value::Bool(true)),
            Some("failed" | "failure" | "fail" | "no" | "0") => put("success", Value::Bool(false)),
            _ => {}
        },
    }
    if let Some(r) = res {
        put("result", text(r));
    }
    if let Some(e) = get("exit").and_then(|e| e.parse::<i64>().ok()) {
        put("exit", Value::from(e));
    }
    if let Some(k) = get("key") {
        let keys: Vec<&str> = k.split('\x01').filter(|k| !k.is_empty()).collect();
        if let Some(first) = keys.first() {
            put("key", text(first));
        }
        if keys.len() > 1 {
            put("keys", Value::Array(keys.iter().map(|k| text(k)).collect()));
        }
    }
    for k in [
        "exe", "comm", "cwd", "tty", "terminal", "op", "unit", "id", "grp",
    ] {
        if let Some(v) = get(k) {
            put(k, text(v));
        }
    }
    let proctitle = get("proctitle");
    let command = if !args.is_empty() {
        Some(args.join(" "))
    } else {
        get("cmd").or(proctitle).map(str::to_string)
    };
    if let Some(c) = command {
        put("command", Value::String(c));
    }
    if !args.is_empty() {
        put(
            "args",
            Value::Array(args.into_iter().map(Value::String).collect()),
        );
    }
    if let Some(n) = all
        .iter()
        .filter(|r| r.record_type == "EXECVE")
        .find_map(|r| r.get("argc"))
        .and_then(|a| a.parse::<u64>().ok())
    {
        put("argc", Value::from(n));
    }
    if let Some(t) = proctitle {
        put("proctitle", text(t));
    }
    let paths: Vec<Value> = all
        .iter()
        .filter(|r| r.record_type == "PATH")
        .filter_map(|r| r.get("name").and_then(known))
        .map(text)
        .collect();
    if !paths.is_empty() {
        put("paths", Value::Array(paths));
    }
    for k in ["uid", "auid", "euid", "gid", "ses", "pid", "ppid"] {
        if let Some(v) = get(k) {
            put(k, text(v));
        }
    }
    let uid_name = name_of("UID");
    let auid_name = name_of("AUID");
    for (k, v) in [
        ("uid_name", uid_name),
        ("auid_name", auid_name),
        ("euid_name", name_of("EUID")),
        ("gid_name", name_of("GID")),
        ("originaluser", auid_name),
    ] {
        if let Some(v) = v {
            put(k, text(v));
        }
    }
    let acct = get("acct");
    if let Some(a) = acct {
        put("acct", text(a));
    }
    let username = if category == "account" {
        if let Some(a) = acct {
            put("targetuser", text(a));
        }
        auid_name.or(uid_name)
    } else {
        acct.or(auid_name).or(uid_name)
    };
    if let Some(u) = username {
        put("username", text(u));
    }
    if let Some(ip) = get("addr").and_then(|a| a.parse::<IpAddr>().ok()) {
        put("sourceipaddress", Value::String(ip.to_string()));
    }
    if let Some(h) = get("hostname") {
        put("sourcehostname", text(h));
    }
    if let Some((ip, port)) = all
        .iter()
        .filter(|r| r.record_type == "SOCKADDR")
        .find_map(|r| r.get("saddr"))
        .and_then(sockaddr_inet)
    {
        match sys {
            "connect" | "sendto" | "sendmsg" => {
                put("destinationipaddress", Value::String(ip.to_string()));
                put("destinationport", Value::from(port));
            }
            "accept" | "accept4" => {
                put("sourceipaddress", Value::String(ip.to_string()));
                put("sourceport", Value::from(port));
            }
            _ => {}
        }
    }
    Some(p)
}

// ---------------------------------------------------------------------------------------------
// Assembly

struct Pending {
    records: Vec<AuditRecord>,
}

impl Pending {
    fn head(&self) -> Option<&AuditRecord> {
        self.records.first()
    }
}

/// Joins the records of an event and emits it as one [`Parsed`].
///
/// An event is emitted when its `EOE` or `PROCTITLE` (always the last record before `EOE`)
/// arrives; when a record of another event of the same node arrives more than `timeout`
/// (audit time, 2 s by default, auditd's `end_of_event_timeout`) after it; when more than
/// `max_pending` events are open (the oldest goes out); when it reaches `max_records`; by
/// [`flush_expired`](Self::flush_expired) and [`flush`](Self::flush). One-record types
/// (`USER_*`, `CRED_*`, `ADD_USER`, `DAEMON_*`...) are emitted at once. Nothing is dropped
/// for want of room: an incomplete event goes out with what it has. A stray `EOE` (its event
/// already out) is ignored.
#[derive(Default)]
pub struct AuditAssembler {
    pending: VecDeque<Pending>,
    limits: Limits,
}

struct Limits {
    max_pending: usize,
    max_records: usize,
    timeout: TimeDelta,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pending: 1024,
            max_records: 512,
            timeout: TimeDelta::seconds(2),
        }
    }
}

impl AuditAssembler {
    /// An assembler with the default limits (1024 open events, 512 records per event, 2 s).
    pub fn new() -> AuditAssembler {
        AuditAssembler::default()
    }

    /// Open events kept at most (at least 1).
    pub fn with_max_pending(mut self, n: usize) -> AuditAssembler {
        self.limits.max_pending = n.max(1);
        self
    }

    /// Records kept per event at most (at least 1); a full event is emitted.
    pub fn with_max_records(mut self, n: usize) -> AuditAssembler {
        self.limits.max_records = n.max(1);
        self
    }

    /// How long after an event's time stamp a newer event of its node closes it.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> AuditAssembler {
        self.limits.timeout = TimeDelta::from_std(timeout).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Events waiting for more records.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds a line; returns the events it completes. A line that is no audit record is
    /// ignored (use [`parse_auditd_record`] and [`push_record`](Self::push_record) to tell).
    pub fn push(&mut self, line: &str) -> Vec<Parsed> {
        match parse_auditd_record(line) {
            Some(rec) => self.push_record(rec),
            None => Vec::new(),
        }
    }

    /// Adds a parsed record; returns the events it completes.
    pub fn push_record(&mut self, rec: AuditRecord) -> Vec<Parsed> {
        let mut out = Vec::new();
        if rec.is_standalone() {
            self.expire(&rec, &mut out);
            out.extend(build(std::slice::from_ref(&rec)));
            return out;
        }
        let idx = self
            .pending
            .iter()
            .position(|p| p.head().is_some_and(|h| h.same_event(&rec)));
        if rec.record_type == "EOE" {
            if let Some(i) = idx {
                self.emit_at(i, &mut out);
            }
            return out;
        }
        if let Some(i) = idx {
            if self.pending[i].records.len() < self.limits.max_records {
                let last = rec.record_type == "PROCTITLE";
                self.pending[i].records.push(rec);
                if last {
                    self.emit_at(i, &mut out);
                }
                return out;
            }
            // full: out with it, the record starts afresh
            self.emit_at(i, &mut out);
        }
        self.expire(&rec, &mut out);
        if rec.record_type == "PROCTITLE" {
            out.extend(build(std::slice::from_ref(&rec)));
            return out;
        }
        while self.pending.len() >= self.limits.max_pending {
            match self.pending.pop_front() {
                Some(p) => out.extend(build(&p.records)),
                None => break,
            }
        }
        self.pending.push_back(Pending { records: vec![rec] });
        out
    }

    /// Emits the events whose time stamp is `timeout` or more before `now` (for an idle
    /// source).
    pub fn flush_expired(&mut self, now: DateTime<Utc>) -> Vec<Parsed> {
        let timeout = self.limits.timeout;
        let mut out = Vec::new();
        self.drain_where(
            |p| {
                p.head()
                    .is_some_and(|h| now.signed_duration_since(h.timestamp) >= timeout)
            },
            &mut out,
        );
        out
    }

    /// Emits every open event, oldest first.
    pub fn flush(&mut self) -> Vec<Parsed> {
        self.pending
            .drain(..)
            .filter_map(|p| build(&p.records))
            .collect()
    }

    fn emit_at(&mut self, i: usize, out: &mut Vec<Parsed>) {
        if let Some(p) = self.pending.remove(i) {
            out.extend(build(&p.records));
        }
    }

    /// Closes the events of `rec`'s node that are `timeout` or more older than it.
    fn expire(&mut self, rec: &AuditRecord, out: &mut Vec<Parsed>) {
        let timeout = self.limits.timeout;
        self.drain_where(
            |p| {
                p.head().is_some_and(|h| {
                    h.node == rec.node
                        && rec.timestamp.signed_duration_since(h.timestamp) >= timeout
                })
            },
            out,
        );
    }

    fn drain_where(&mut self, mut pred: impl FnMut(&Pending) -> bool, out: &mut Vec<Parsed>) {
        if !self.pending.iter().any(&mut pred) {
            return;
        }
        let mut keep = VecDeque::with_capacity(self.pending.len());
        for p in self.pending.drain(..) {
            if pred(&p) {
                out.extend(build(&p.records));
            } else {
                keep.push_back(p);
            }
        }
        self.pending = keep;
    }
}

// ---------------------------------------------------------------------------------------------
// Record types

/// Record type numbers (linux/audit.h, libaudit.h).
const TYPES: &[(u32, &str)] = &[
    (1005, "USER"),
    (1006, "LOGIN"),
    (1100, "USER_AUTH"),
    (1101, "USER_ACCT"),
    (1102, "USER_MGMT"),
    (1103, "CRED_ACQ"),
    (1104, "CRED_DISP"),
    (1105, "USER_START"),
    (1106, "USER_END"),
    (1107, "USER_AVC"),
    (1108, "USER_CHAUTHTOK"),
    (1109, "USER_ERR"),
    (1110, "CRED_REFR"),
    (1111, "USYS_CONFIG"),
    (1112, "USER_LOGIN"),
    (1113, "USER_LOGOUT"),
    (1114, "ADD_USER"),
    (1115, "DEL_USER"),
    (1116, "ADD_GROUP"),
    (1117, "DEL_GROUP"),
    (1118, "DAC_CHECK"),
    (1119, "CHGRP_ID"),
    (1120, "TEST"),
    (1121, "TRUSTED_APP"),
    (1122, "USER_SELINUX_ERR"),
    (1123, "USER_CMD"),
    (1124, "USER_TTY"),
    (1125, "CHUSER_ID"),
    (1126, "GRP_AUTH"),
    (1127, "SYSTEM_BOOT"),
    (1128, "SYSTEM_SHUTDOWN"),
    (1129, "SYSTEM_RUNLEVEL"),
    (1130, "SERVICE_START"),
    (1131, "SERVICE_STOP"),
    (1132, "GRP_MGMT"),
    (1133, "GRP_CHAUTHTOK"),
    (1134, "MAC_CHECK"),
    (1135, "ACCT_LOCK"),
    (1136, "ACCT_UNLOCK"),
    (1137, "USER_DEVICE"),
    (1138, "SOFTWARE_UPDATE"),
    (1200, "DAEMON_START"),
    (1201, "DAEMON_END"),
    (1202, "DAEMON_ABORT"),
    (1203, "DAEMON_CONFIG"),
    (1204, "DAEMON_RECONFIG"),
    (1205, "DAEMON_ROTATE"),
    (1206, "DAEMON_RESUME"),
    (1207, "DAEMON_ACCEPT"),
    (1208, "DAEMON_CLOSE"),
    (1209, "DAEMON_ERR"),
    (1300, "SYSCALL"),
    (1302, "PATH"),
    (1303, "IPC"),
    (1304, "SOCKETCALL"),
    (1305, "CONFIG_CHANGE"),
    (1306, "SOCKADDR"),
    (1307, "CWD"),
    (1309, "EXECVE"),
    (1311, "IPC_SET_PERM"),
    (1312, "MQ_OPEN"),
    (1313, "MQ_SENDRECV"),
    (1314, "MQ_NOTIFY"),
    (1315, "MQ_GETSETATTR"),
    (1316, "KERNEL_OTHER"),
    (1317, "FD_PAIR"),
    (1318, "OBJ_PID"),
    (1319, "TTY"),
    (1320, "EOE"),
    (1321, "BPRM_FCAPS"),
    (1322, "CAPSET"),
    (1323, "MMAP"),
    (1324, "NETFILTER_PKT"),
    (1325, "NETFILTER_CFG"),
    (1326, "SECCOMP"),
    (1327, "PROCTITLE"),
    (1328, "FEATURE_CHANGE"),
    (1329, "REPLACE"),
    (1330, "KERN_MODULE"),
    (1331, "FANOTIFY"),
    (1332, "TIME_INJOFFSET"),
    (1333, "TIME_ADJNTPVAL"),
    (1334, "BPF"),
    (1335, "EVENT_LISTENER"),
    (1336, "URINGOP"),
    (1337, "OPENAT2"),
    (1338, "DM_CTRL"),
    (1339, "DM_EVENT"),
    (1400, "AVC"),
    (1401, "SELINUX_ERR"),
    (1402, "AVC_PATH"),
    (1403, "MAC_POLICY_LOAD"),
    (1404, "MAC_STATUS"),
    (1405, "MAC_CONFIG_CHANGE"),
    (1406, "MAC_UNLBL_ALLOW"),
    (1407, "MAC_CIPSOV4_ADD"),
    (1408, "MAC_CIPSOV4_DEL"),
    (1409, "MAC_MAP_ADD"),
    (1410, "MAC_MAP_DEL"),
    (1411, "MAC_IPSEC_ADDSA"),
    (1412, "MAC_IPSEC_DELSA"),
    (1413, "MAC_IPSEC_ADDSPD"),
    (1414, "MAC_IPSEC_DELSPD"),
    (1415, "MAC_IPSEC_EVENT"),
    (1416, "MAC_UNLBL_STCADD"),
    (1417, "MAC_UNLBL_STCDEL"),
    (1418, "MAC_CALIPSO_ADD"),
    (1419, "MAC_CALIPSO_DEL"),
    (1500, "APPARMOR"),
    (1501, "APPARMOR_AUDIT"),
    (1502, "APPARMOR_ALLOWED"),
    (1503, "APPARMOR_DENIED"),
    (1504, "APPARMOR_HINT"),
    (1505, "APPARMOR_STATUS"),
    (1506, "APPARMOR_ERROR"),
    (1700, "ANOM_PROMISCUOUS"),
    (1701, "ANOM_ABEND"),
    (1702, "ANOM_LINK"),
    (1703, "ANOM_CREAT"),
    (1800, "INTEGRITY_DATA"),
    (1801, "INTEGRITY_METADATA"),
    (1802, "INTEGRITY_STATUS"),
    (1803, "INTEGRITY_HASH"),
    (1804, "INTEGRITY_PCR"),
    (1805, "INTEGRITY_RULE"),
    (2000, "KERNEL"),
    (2100, "ANOM_LOGIN_FAILURES"),
    (2101, "ANOM_LOGIN_TIME"),
    (2102, "ANOM_LOGIN_SESSIONS"),
    (2103, "ANOM_LOGIN_ACCT"),
    (2104, "ANOM_LOGIN_LOCATION"),
    (2105, "ANOM_MAX_DAC"),
    (2106, "ANOM_MAX_MAC"),
    (2107, "ANOM_AMTU_FAIL"),
    (2108, "ANOM_RBAC_FAIL"),
    (2109, "ANOM_RBAC_INTEGRITY_FAIL"),
    (2110, "ANOM_CRYPTO_FAIL"),
    (2111, "ANOM_ACCESS_FS"),
    (2112, "ANOM_EXEC"),
    (2113, "ANOM_MK_EXEC"),
    (2114, "ANOM_ADD_ACCT"),
    (2115, "ANOM_DEL_ACCT"),
    (2116, "ANOM_MOD_ACCT"),
    (2117, "ANOM_ROOT_TRANS"),
    (2118, "ANOM_LOGIN_SERVICE"),
    (2300, "USER_ROLE_CHANGE"),
    (2301, "ROLE_ASSIGN"),
    (2302, "ROLE_REMOVE"),
    (2303, "LABEL_OVERRIDE"),
    (2304, "LABEL_LEVEL_CHANGE"),
    (2305, "USER_LABELED_EXPORT"),
    (2306, "USER_UNLABELED_EXPORT"),
    (2307, "DEV_ALLOC"),
    (2308, "DEV_DEALLOC"),
    (2309, "FS_RELABEL"),
    (2310, "USER_MAC_POLICY_LOAD"),
    (2311, "ROLE_MODIFY"),
    (2312, "USER_MAC_CONFIG_CHANGE"),
    (2400, "CRYPTO_TEST_USER"),
    (2401, "CRYPTO_PARAM_CHANGE_USER"),
    (2402, "CRYPTO_LOGIN"),
    (2403, "CRYPTO_LOGOUT"),
    (2404, "CRYPTO_KEY_USER"),
    (2405, "CRYPTO_FAILURE_USER"),
    (2406, "CRYPTO_REPLAY_USER"),
    (2407, "CRYPTO_SESSION"),
    (2408, "CRYPTO_IKE_SA"),
    (2409, "CRYPTO_IPSEC_SA"),
    (2500, "VIRT_CONTROL"),
    (2501, "VIRT_RESOURCE"),
    (2502, "VIRT_MACHINE_ID"),
    (2503, "VIRT_INTEGRITY_CHECK"),
    (2504, "VIRT_CREATE"),
    (2505, "VIRT_DESTROY"),
    (2506, "VIRT_MIGRATE_IN"),
    (2507, "VIRT_MIGRATE_OUT"),
];

static TYPE_IDS: LazyLock<HashMap<&'static str, u32>> =
    LazyLock::new(|| TYPES.iter().map(|&(n, s)| (s, n)).collect());

fn type_id(name: &str) -> Option<u32> {
    TYPE_IDS.get(name).copied()
}

fn type_name(id: u32) -> Option<&'static str> {
    TYPES
        .binary_search_by_key(&id, |&(n, _)| n)
        .ok()
        .map(|i| TYPES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_table_is_sorted_and_unique() {
        assert!(TYPES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(TYPE_IDS.len(), TYPES.len());
        assert_eq!(type_name(1327), Some("PROCTITLE"));
        assert_eq!(type_id("USER_LOGIN"), Some(1112));
    }

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

    #[test]
    fn sockaddr() {
        // AF_INET 93.184.216.34:443
        assert_eq!(
            sockaddr_inet("020001BB5DB8D8220000000000000000"),
            Some(("93.184.216.34".parse().unwrap(), 443))
        );
        // AF_INET6 [2001:db8::1]:22
        assert_eq!(
            sockaddr_inet("0A0000160000000020010DB8000000000000000000000001"),
            Some(("2001:db8::1".parse().unwrap(), 22))
        );
        assert_eq!(sockaddr_inet("01002F746D70"), None);
        assert_eq!(sockaddr_inet("0200"), None);
    }
}
