//! Event parsers: they turn raw log messages into fields an analyst can search and a rule can
//! count. Each takes the message (MozDef's `summary`) and returns the fields for `details`.
//!
//! | parser | category | fields (in `details`) |
//! |---|---|---|
//! | sshd | `authentication` | `username`, `sourceipaddress`, `sourceport`, `authmethod`, `authstatus` (`Accepted`/`Failed`/`Invalid`), `success`, `rsakeyfingerprint`, `sessiontype`, `device`, `invaliduser` |
//! | sudo | `authorization` | `username`, `tty`, `pwd`, `targetuser`, `command`, `success`, `failure` |
//! | su | `authorization` | `username`, `originuser`, `uid`, `status` (`opened`/`closed`), `fromuser`, `touser`, `success` |
//! | pam session | `authentication` | `username`, `uid`, `originuser`, `status`, `service` |
//! | access log | `web` / `proxy` | `sourceipaddress`, `user`, `method`, `url`/`destination`, `host`, `status`, `bytes`, `referrer`, `useragent`, `proxyaction`, `elapsed` |
//! | auditd | `execution` / `authentication` / `account` / `audit` | table in `src/auditd.rs`: `audittype`, `syscall`, `success`, `command`, `args`, `paths`, `uid`/`auid`, `username`, `sourceipaddress`... |
//!
//! MozDef's own `parse_sshd`/`parse_su` cases pass (with MozDef's quirk of putting the reason
//! code of `Received disconnect from IP: N:` into `sourceport`).

mod auditd;

pub use auditd::{auditd_event, parse_auditd, parse_auditd_record, AuditAssembler, AuditRecord};

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Fields a parser found, for `details` (in the order found; keys are literals).
pub type Fields = ferrodef_event::Details;

/// What a parser found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The parser (`sshd`, `sudo`...).
    pub parser: &'static str,
    /// The category the event gets, if the parser sets one.
    pub category: Option<&'static str>,
    /// Fields for `details`.
    pub fields: Fields,
    /// Tags to add.
    pub tags: Vec<&'static str>,
}

impl Parsed {
    fn new(parser: &'static str, category: Option<&'static str>) -> Parsed {
        Parsed {
            parser,
            category,
            fields: Fields::with_capacity(12),
            tags: Vec::new(),
        }
    }
    /// Adds a field the parser has not set yet (the builders below set each key once).
    fn push(&mut self, k: &'static str, v: Value) {
        self.fields.push_new(k, v);
    }
    fn s(mut self, k: &'static str, v: &str) -> Parsed {
        self.push(k, Value::String(v.into()));
        self
    }
    fn b(mut self, k: &'static str, v: bool) -> Parsed {
        self.push(k, Value::Bool(v));
        self
    }
    fn opt(mut self, k: &'static str, v: Option<&str>) -> Parsed {
        if let Some(v) = v {
            self.push(k, Value::String(v.into()));
        }
        self
    }
}

macro_rules! re {
    ($name:ident, $re:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($re).expect("valid regex"));
    };
}

re!(
    SSH_SESSION,
    r"^Starting session: (\S+)(?: on (\S+))? for (\S+) from (\S+) port (\d+)"
);
re!(
    SSH_INVALID,
    r"^Invalid user (.*?) from (\S+)(?: port (\d+))?"
);
re!(
    SSH_INVALID_PREAUTH,
    r"^input_userauth_request: invalid user (\S+)"
);
re!(
    SSH_RECV_DISC,
    r"^Received disconnect from (\S+?)(?::| port (\d+):)\s*(\d+):"
);
re!(
    SSH_DISCONNECTED,
    r"^Disconnected from (?:(invalid|authenticating) )?(?:user (\S+) )?(\S+) port (\d+)"
);
re!(
    SSH_MAXAUTH,
    r"^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(\S+) from (\S+) port (\d+)"
);
re!(
    PAM_SESSION,
    r"^pam_unix\(([^:()]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)\(uid=(\d+)\))?"
);
re!(
    PAM_AUTHFAIL,
    r"^pam_unix\(([^:()]+):auth\): authentication failure;.*?(?:rhost=(\S*))?\s+user=(\S+)"
);
re!(
    PAM_MORE,
    r"^PAM (\d+) more authentication failures?;.*?rhost=(\S*)\s+user=(\S+)"
);
re!(
    REVERSE_MAP,
    r"^(?:reverse mapping checking getaddrinfo for (\S+) \[(\S+)\] failed|Address (\S+) maps to (\S+), but this does not map back)"
);
re!(SU_FAILED, r"^FAILED SU \(to (\S+)\) (\S+) on (\S+)");
re!(SU_OK, r"^Successful su for (\S+) by (\S+)");
re!(SU_SHORT, r"^([+-]) (\S+) (\S+):(\S+)$");

/// A cursor for the hand-written matchers of the most frequent lines (several times faster
/// than regex captures). `word` is `\S+`, `digits` is `[0-9]+`.
#[derive(Clone, Copy)]
struct Cur<'a>(&'a str);

impl<'a> Cur<'a> {
    fn lit(&mut self, p: &str) -> Option<()> {
        self.0 = self.0.strip_prefix(p)?;
        Some(())
    }
    /// Takes the first `end` bytes, when there are any.
    fn take(&mut self, end: usize) -> Option<&'a str> {
        if end == 0 {
            return None;
        }
        let (w, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(w)
    }
    fn word(&mut self) -> Option<&'a str> {
        self.take(self.0.find(char::is_whitespace).unwrap_or(self.0.len()))
    }
    fn digits(&mut self) -> Option<&'a str> {
        let end = self.0.bytes().position(|b| !b.is_ascii_digit());
        self.take(end.unwrap_or(self.0.len()))
    }
}

/// Key types sshd names before a fingerprint.
const SSH_KEY_TYPES: [&str; 7] = [
    "RSA",
    "ECDSA",
    "ED25519",
    "DSA",
    "RSA-CERT",
    "ECDSA-CERT",
    "ED25519-CERT",
];

/// `(Accepted|Failed|Postponed) METHOD for [invalid user ]USER from IP port N[ ssh2][: KEYTYPE FP]`.
fn ssh_auth(msg: &str) -> Option<Parsed> {
    let (status, rest) = msg.split_once(' ')?;
    if !matches!(status, "Accepted" | "Failed" | "Postponed") {
        return None;
    }
    let mut c = Cur(rest);
    let method = c.word()?;
    c.lit(" for ")?;
    let invalid = c.lit("invalid user ").is_some();
    let user = c.word()?;
    c.lit(" from ")?;
    let ip = c.word()?;
    c.lit(" port ")?;
    let port = c.digits()?;
    let mut r = Parsed::new("sshd", Some("authentication"))
        .s("authmethod", method)
        .s("username", user);
    if status == "Postponed" {
        return Some(r);
    }
    // ` ssh2`: the protocol, at most one digit.
    if c.lit(" ssh").is_some() && c.0.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        c.0 = &c.0[1..];
    }
    let fingerprint = c.lit(": ").and_then(|()| {
        let (kind, rest) = c.0.split_once(' ')?;
        SSH_KEY_TYPES.contains(&kind).then_some(())?;
        Cur(rest).word()
    });
    r = r
        .s("authstatus", status)
        .b("success", status == "Accepted")
        .s("sourceipaddress", ip)
        .s("sourceport", port)
        .opt("rsakeyfingerprint", fingerprint);
    if invalid {
        r = r.b("invaliduser", true);
    }
    Some(r)
}

/// sshd messages (MozDef's `parse_sshd` and more).
pub fn parse_sshd(msg: &str) -> Option<Parsed> {
    let msg = msg.trim();
    let p = || Parsed::new("sshd", Some("authentication"));
    if let Some(r) = ssh_auth(msg) {
        return Some(r);
    }
    if let Some(c) = SSH_SESSION.captures(msg) {
        return Some(
            p().s("sessiontype", &c[1])
                .opt("device", c.get(2).map(|m| m.as_str()))
                .s("username", &c[3])
                .s("sourceipaddress", &c[4])
                .s("sourceport", &c[5]),
        );
    }
    if let Some(c) = SSH_INVALID.captures(msg) {
        return Some(
            p().s("username", &c[1])
                .s("sourceipaddress", &c[2])
                .opt("sourceport", c.get(3).map(|m| m.as_str()))
                .s("authstatus", "Invalid")
                .b("success", false)
                .b("invaliduser", true),
        );
    }
    if let Some(c) = SSH_INVALID_PREAUTH.captures(msg) {
        return Some(p().s("username", &c[1]).b("invaliduser", true));
    }
    if let Some(c) = SSH_RECV_DISC.captures(msg) {
        // MozDef's quirk: the reason code of the old "from IP: N:" form went to sourceport.
        let port = c.get(2).or(c.get(3)).map_or("", |m| m.as_str());
        return Some(
            p().s("sourceipaddress", &c[1])
                .s("sourceport", port)
                .s("disconnect", "received"),
        );
    }
    if let Some(c) = SSH_DISCONNECTED.captures(msg) {
        return Some(
            p().opt("username", c.get(2).map(|m| m.as_str()))
                .s("sourceipaddress", &c[3])
                .s("sourceport", &c[4])
                .s(
                    "disconnect",
                    c.get(1).map_or("disconnected", |m| m.as_str()),
                ),
        );
    }
    if let Some(c) = SSH_MAXAUTH.captures(msg) {
        let mut r = p()
            .s("username", &c[2])
            .s("sourceipaddress", &c[3])
            .s("sourceport", &c[4])
            .s("authstatus", "Failed")
            .b("success", false)
            .s("failure", "maximum authentication attempts exceeded");
        if c.get(1).is_some() {
            r = r.b("invaliduser", true);
        }
        return Some(r);
    }
    if let Some(c) = PAM_AUTHFAIL.captures(msg) {
        return Some(
            p().s("username", &c[3])
                .opt(
                    "sourceipaddress",
                    c.get(2).map(|m| m.as_str()).filter(|s| !s.is_empty()),
                )
                .s("authstatus", "Failed")
                .b("success", false)
                .s("failure", "authentication failure"),
        );
    }
    if let Some(c) = PAM_MORE.captures(msg) {
        return Some(
            p().s("username", &c[3])
                .opt("sourceipaddress", Some(&c[2]).filter(|s| !s.is_empty()))
                .s("authstatus", "Failed")
                .b("success", false)
                .s("failure", "more authentication failures"),
        );
    }
    if let Some(c) = REVERSE_MAP.captures(msg) {
        let (host, ip) = match (c.get(1), c.get(2)) {
            (Some(h), Some(i)) => (h.as_str(), i.as_str()),
            _ => (
                c.get(4).map_or("", |m| m.as_str()),
                c.get(3).map_or("", |m| m.as_str()),
            ),
        };
        let mut r = p().s("sourceipaddress", ip).s("sourcehostname", host);
        r.tags.push("reverse_mapping_failed");
        return Some(r);
    }
    if let Some(mut r) = parse_pam_session("sshd", msg) {
        r.parser = "sshd";
        return Some(r);
    }
    None
}

/// `pam_unix(<service>:session): session opened|closed for user X[(uid=N)] [by Y(uid=M)]`.
pub fn parse_pam_session(program: &str, msg: &str) -> Option<Parsed> {
    let c = PAM_SESSION.captures(msg.trim())?;
    let _ = program;
    let by = c.get(5).map(|m| m.as_str()).filter(|s| !s.is_empty());
    Some(
        Parsed::new("pam", Some("authentication"))
            .s("service", &c[1])
            .s("status", &c[2])
            .s("username", &c[3])
            .opt("uid", c.get(6).or(c.get(4)).map(|m| m.as_str()))
            .opt("originuser", by),
    )
}

/// The `user : [reason ; ]TTY=.. ; PWD=.. ; USER=.. ; [ENV=.. ; ]COMMAND=..` line of sudo, split
/// by hand (faster than a regex with lazy groups).
fn sudo_command(msg: &str) -> Option<Parsed> {
    let (user, rest) = msg.trim_start().split_once(" : ")?;
    if user.is_empty() || user.contains(char::is_whitespace) {
        return None;
    }
    let (head, command) = rest.split_once("COMMAND=")?;
    let mut reason = None;
    let (mut tty, mut pwd, mut target) = (None, None, None);
    for part in head.split(" ; ").map(str::trim).filter(|p| !p.is_empty()) {
        let part = part.trim_end_matches(';').trim();
        if let Some(v) = part.strip_prefix("TTY=") {
            tty = Some(v);
        } else if let Some(v) = part.strip_prefix("PWD=") {
            pwd = Some(v);
        } else if let Some(v) = part.strip_prefix("USER=") {
            target = Some(v);
        } else if part.starts_with("ENV=")
            || part.starts_with("TSID=")
            || part.starts_with("GROUP=")
        {
        } else if tty.is_none() && reason.is_none() {
            reason = Some(part);
        }
    }
    let mut r = Parsed::new("sudo", Some("authorization"))
        .s("username", user)
        .s("tty", tty?)
        .s("pwd", pwd?)
        .s("targetuser", target?)
        .s("command", command.trim());
    r = match reason {
        None => r.b("success", true),
        Some(reason) => r.b("success", false).s("failure", reason),
    };
    Some(r)
}

/// sudo: commands run and failures.
pub fn parse_sudo(msg: &str) -> Option<Parsed> {
    let p = || Parsed::new("sudo", Some("authorization"));
    if let Some(r) = sudo_command(msg) {
        return Some(r);
    }
    if let Some(c) = PAM_AUTHFAIL.captures(msg.trim()) {
        return Some(
            p().s("username", &c[3])
                .b("success", false)
                .s("failure", "authentication failure"),
        );
    }
    parse_pam_session("sudo", msg).map(|mut r| {
        r.parser = "sudo";
        r
    })
}

/// su: MozDef's `parse_su` sessions, and the failure/success lines of su itself.
pub fn parse_su(msg: &str) -> Option<Parsed> {
    let msg = msg.trim();
    let p = || Parsed::new("su", Some("authorization"));
    if let Some(c) = PAM_SESSION.captures(msg) {
        let by = c.get(5).map(|m| m.as_str()).filter(|s| !s.is_empty());
        let mut r = p()
            .s("username", &c[3])
            .s("status", &c[2])
            .opt("uid", c.get(6).map(|m| m.as_str()))
            .opt("originuser", by)
            .s("touser", &c[3])
            .opt("fromuser", by);
        if &c[2] == "opened" {
            r = r.b("success", true);
        }
        return Some(r);
    }
    if let Some(c) = SU_FAILED.captures(msg) {
        return Some(
            p().s("touser", &c[1])
                .s("fromuser", &c[2])
                .s("tty", &c[3])
                .b("success", false),
        );
    }
    if let Some(c) = SU_OK.captures(msg) {
        return Some(
            p().s("touser", &c[1])
                .s("fromuser", &c[2])
                .b("success", true),
        );
    }
    if let Some(c) = SU_SHORT.captures(msg) {
        return Some(
            p().s("tty", &c[2])
                .s("fromuser", &c[3])
                .s("touser", &c[4])
                .b("success", &c[1] == "+"),
        );
    }
    None
}

fn num(s: &str) -> Value {
    s.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
}

/// Squid's native access.log line split into its fields: time, elapsed, client,
/// action, status, bytes, method, URL, user, hierarchy, peer, type.
fn squid_fields(line: &str) -> Option<[&str; 11]> {
    let mut it = line.split_ascii_whitespace();
    let time = it.next()?;
    let (secs, ms) = time.split_once('.')?;
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !ms.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let elapsed = it
        .next()
        .filter(|e| e.bytes().all(|b| b.is_ascii_digit()))?;
    let client = it.next()?;
    let (action, status) = it.next()?.split_once('/')?;
    if action.is_empty()
        || !action.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        || status.len() != 3
    {
        return None;
    }
    let bytes = it.next()?;
    let method = it.next()?;
    let url = it.next()?;
    let user = it.next()?;
    let (hier, _peer) = it.next()?.split_once('/')?;
    let mime = it.next()?;
    Some([
        time, elapsed, client, action, status, bytes, method, url, user, hier, mime,
    ])
}

/// Web server access logs (common and combined log format) and squid's native access.log.
pub fn parse_access_log(line: &str) -> Option<Parsed> {
    let line = line.trim();
    if let Some(f) = squid_fields(line) {
        let mut r = Parsed::new("squid", Some("proxy"))
            .s("sourceipaddress", f[2])
            .s("proxyaction", f[3])
            .s("method", f[6])
            .s("destination", f[7])
            .s("user", f[8])
            .s("hierarchy", f[9])
            .s("mimetype", f[10]);
        r.push("status", num(f[4]));
        r.push("bytes", num(f[5]));
        r.push("elapsed", num(f[1]));
        let dest = f[7];
        let host = dest
            .split("://")
            .nth(1)
            .unwrap_or(dest)
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        if !host.is_empty() {
            r = r.s("host", host);
        }
        if let Some((_, port)) = dest
            .rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
        {
            r = r.s("destinationport", port);
        }
        return Some(r);
    }
    let a = access_fields(line)?;
    let mut r = Parsed::new("accesslog", Some("web"))
        .s("sourceipaddress", a.client)
        .s("method", a.method)
        .s("url", a.url)
        .s("timestamp", a.time)
        .opt("protocol", a.protocol)
        .opt("user", Some(a.user).filter(|u| *u != "-"))
        .opt("referrer", a.referrer.filter(|u| *u != "-"))
        .opt("useragent", a.useragent);
    r.push("status", num(a.status));
    r.push(
        "bytes",
        if a.bytes == "-" {
            Value::from(0)
        } else {
            num(a.bytes)
        },
    );
    Some(r)
}

/// The parts of a common/combined log format line.
#[derive(Debug, PartialEq)]
struct AccessFields<'a> {
    client: &'a str,
    user: &'a str,
    time: &'a str,
    method: &'a str,
    url: &'a str,
    protocol: Option<&'a str>,
    status: &'a str,
    bytes: &'a str,
    referrer: Option<&'a str>,
    useragent: Option<&'a str>,
}

/// `CLIENT IDENT USER [TIME] "METHOD URL[ PROTO]" STATUS BYTES[ "REFERRER" "AGENT"]`.
///
/// The request ends at the first `"` followed by a space and a three-digit status; its
/// method, URL and protocol are separated by single spaces.
fn access_fields(line: &str) -> Option<AccessFields<'_>> {
    let mut c = Cur(line);
    let client = c.word()?;
    c.lit(" ")?;
    c.word()?;
    c.lit(" ")?;
    let user = c.word()?;
    c.lit(" [")?;
    let (time, rest) = c.0.split_once(']')?;
    if time.is_empty() {
        return None;
    }
    let rest = rest.strip_prefix(" \"")?;
    // The closing quote of the request: the first one followed by ` DDD `.
    let mut end = None;
    for (i, _) in rest.match_indices('"') {
        let after = rest.as_bytes().get(i + 1..i + 6);
        if let Some([b' ', d1, d2, d3, b' ']) = after {
            if d1.is_ascii_digit() && d2.is_ascii_digit() && d3.is_ascii_digit() {
                end = Some(i);
                break;
            }
        }
    }
    let end = end?;
    let request = &rest[..end];
    // Two or three `\S+` words separated by single spaces.
    let is_word = |p: &&str| !p.is_empty() && !p.contains(char::is_whitespace);
    let mut parts = request.split(' ');
    let method = parts.next().filter(is_word)?;
    let url = parts.next().filter(is_word)?;
    let protocol = match parts.next() {
        None => None,
        Some(p) => Some(p).filter(is_word).map(Some)?,
    };
    if parts.next().is_some() {
        return None;
    }
    let mut c = Cur(&rest[end + 2..]);
    let status = &c.0[..3];
    c.0 = &c.0[4..];
    let bytes = if c.lit("-").is_some() {
        "-"
    } else {
        c.digits()?
    };
    let (referrer, useragent) = (|| {
        let rest = c.0.strip_prefix(" \"")?;
        let (referrer, rest) = rest.split_once('"')?;
        let rest = rest.strip_prefix(" \"")?;
        let (agent, _) = rest.split_once('"')?;
        Some((referrer, agent))
    })()
    .unzip();
    Some(AccessFields {
        client,
        user,
        time,
        method,
        url,
        protocol,
        status,
        bytes,
        referrer,
        useragent,
    })
}

/// A raw `audit.log` line: `type=... msg=audit(` or `node=... type=...`.
fn is_raw_audit(msg: &str) -> bool {
    let m = msg.trim_start();
    (m.starts_with("type=") || m.starts_with("node=")) && m.contains("msg=audit(")
}

/// Picks the parser by program name (MozDef's plugins also keyed on the program).
pub fn parse_by_program(program: &str, msg: &str) -> Option<Parsed> {
    let prog = program.rsplit('/').next().unwrap_or(program);
    match prog {
        "sshd" | "sshd-session" => parse_sshd(msg),
        "sudo" => parse_sudo(msg),
        "su" => parse_su(msg),
        "nginx" | "httpd" | "apache" | "apache2" | "squid" => parse_access_log(msg),
        "audispd" | "auditd" | "audit" | "audisp-syslog" | "audisp-remote" => parse_auditd(msg),
        "kernel" if msg.contains("audit(") => parse_auditd(msg),
        _ if msg.trim_start().starts_with("pam_unix(") => parse_pam_session(prog, msg),
        // Raw audit.log lines (no syslog header, so no program name).
        _ if is_raw_audit(msg) => parse_auditd(msg),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
