//! PAM lines of any service (sshd, su, sudo, login, vsftpd, cron, passwd...) and any module
//! (`pam_unix`, `pam_sss`, `pam_ldap`, `pam_faillock`...), in both forms syslog carries them:
//!
//! - modern: `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh
//!   ruser= rhost=198.51.100.7  user=bob` (the program is the service's own, e.g. `sshd`);
//! - older (Linux-PAM before 0.99, RHEL 4 era): the program is `sshd(pam_unix)` and the
//!   message has no prefix: `authentication failure; ... rhost=X  user=Y`, `check pass; user
//!   unknown`, `session opened for user bob by (uid=0)`.
//!
//! Fields: `service`, `pammodule`, and per line `status` (`opened`/`closed`), `username`,
//! `uid`, `euid`, `tty`, `originuser` (`ruser`, else `logname`, else `by X` of a session),
//! `sourceipaddress` (`rhost` when it is an IP address) or `sourcehostname` (otherwise),
//! `success`, `failure`, `invaliduser`; password changes (`chauthtok`) are `account` events
//! with `action: password_changed` and `targetuser`.

use std::net::IpAddr;

use crate::parsed::Parsed;

re!(
    pub(crate) PAM_SESSION,
    r"^pam_unix\(([^:()]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)\(uid=(\d+)\))?"
);
re!(
    PAM_HEAD,
    r"^(pam_[A-Za-z0-9_]+)\(([^:()\s]+):([A-Za-z_]+)\): "
);
re!(
    SESSION_BODY,
    r"^session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)\(uid=(\d+)\))?"
);
re!(
    pub(crate) PAM_MORE,
    r"^PAM (\d+) more authentication failures?;(.*)$"
);
re!(MORE_BODY, r"^(\d+) more authentication failures?;(.*)$");
re!(PASSWORD_CHANGED, r"^password changed for (\S+)");
re!(
    NO_PASSWORD,
    r"^auth could not identify password for \[([^\]\s]+)\]"
);
re!(BAD_USERNAME, r"^bad username \[([^\]]*)\]");
re!(
    LOCKED,
    r"^Consecutive login failures for user (\S+) account temporarily locked"
);
re!(SSS_RECEIVED, r"^received for user (\S+): (\d+) \(([^)]*)\)");

/// A modern PAM line split: module, service, management group (`auth`, `session`,
/// `account`, `password`, `chauthtok`...) and the rest.
pub(crate) struct PamLine<'a> {
    pub(crate) module: &'a str,
    pub(crate) service: &'a str,
    pub(crate) group: Option<&'a str>,
    pub(crate) body: &'a str,
}

/// Splits `pam_MODULE(SERVICE:GROUP): BODY`.
pub(crate) fn pam_line(msg: &str) -> Option<PamLine<'_>> {
    let c = PAM_HEAD.captures(msg)?;
    let end = c.get(0)?.end();
    Some(PamLine {
        module: c.get(1)?.as_str(),
        service: c.get(2)?.as_str(),
        group: c.get(3).map(|m| m.as_str()),
        body: msg[end..].trim(),
    })
}

/// The program of an older-form line, `SERVICE(pam_MODULE)`: `(service, module)`.
pub(crate) fn legacy_program(program: &str) -> Option<(&str, &str)> {
    let (service, rest) = program.split_once('(')?;
    let module = rest.strip_suffix(')')?;
    (module.starts_with("pam_") && !service.is_empty()).then_some((service, module))
}

/// `rhost` as an IP address (IPv4-mapped IPv6 as IPv4), if it is one.
pub(crate) fn ip_text(s: &str) -> Option<String> {
    let s = s.trim_matches(|c| c == '[' || c == ']');
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        }),
        IpAddr::V4(v4) => Some(v4.to_string()),
    }
}

/// The `key=value` pairs after `authentication failure;` (values may be empty).
fn kv(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split_whitespace().filter_map(|t| t.split_once('='))
}

/// The fields of an `authentication failure; logname= uid= euid= tty= ruser= rhost= user=`
/// tail: what is set and not empty.
pub(crate) fn authfail_fields(mut r: Parsed, tail: &str) -> Parsed {
    let (mut logname, mut ruser, mut rhost, mut user) = (None, None, None, None);
    let (mut uid, mut euid, mut tty) = (None, None, None);
    for (k, v) in kv(tail).filter(|(_, v)| !v.is_empty()) {
        match k {
            "logname" => logname = Some(v),
            "ruser" => ruser = Some(v),
            "rhost" => rhost = Some(v),
            "user" => user = Some(v),
            "uid" => uid = Some(v),
            "euid" => euid = Some(v),
            "tty" => tty = Some(v),
            _ => {}
        }
    }
    r = r
        .opt("username", user)
        .opt("originuser", ruser.or(logname))
        .opt("uid", uid)
        .opt("euid", euid)
        .opt("tty", tty);
    if let Some(h) = rhost {
        r = match ip_text(h) {
            Some(ip) => r.s("sourceipaddress", &ip),
            None => r.s("sourcehostname", h),
        };
    }
    r.b("success", false)
}

/// The body of a PAM line (either form), onto `r`. `None` when it is no line this parser
/// knows.
pub(crate) fn pam_body(r: Parsed, body: &str) -> Option<Parsed> {
    if let Some(c) = SESSION_BODY.captures(body) {
        let by = c.get(4).map(|m| m.as_str()).filter(|s| !s.is_empty());
        return Some(
            r.s("status", &c[1])
                .s("username", &c[2])
                .opt("uid", c.get(5).or(c.get(3)).map(|m| m.as_str()))
                .opt("originuser", by),
        );
    }
    if let Some(tail) = body.strip_prefix("authentication failure;") {
        return Some(authfail_fields(r, tail).s("failure", "authentication failure"));
    }
    if let Some(c) = MORE_BODY.captures(body) {
        return Some(
            authfail_fields(r, &c[2])
                .s("failure", "more authentication failures")
                .s("count", &c[1]),
        );
    }
    if body.starts_with("check pass; user unknown") {
        return Some(
            r.b("success", false)
                .s("failure", "user unknown")
                .b("invaliduser", true),
        );
    }
    if let Some(c) = NO_PASSWORD.captures(body) {
        return Some(
            r.s("username", &c[1])
                .b("success", false)
                .s("failure", "could not identify password"),
        );
    }
    if let Some(c) = BAD_USERNAME.captures(body) {
        return Some(
            r.opt("username", Some(&c[1]).filter(|s| !s.is_empty()))
                .b("success", false)
                .s("failure", "bad username")
                .b("invaliduser", true),
        );
    }
    if let Some(c) = LOCKED.captures(body) {
        return Some(
            r.s("username", &c[1])
                .b("success", false)
                .s("failure", "account temporarily locked"),
        );
    }
    if let Some(c) = SSS_RECEIVED.captures(body) {
        // pam_sss: the PAM result code; 0 is PAM_SUCCESS.
        let ok = &c[2] == "0";
        let r = r.s("username", &c[1]).b("success", ok);
        return Some(if ok { r } else { r.s("failure", &c[3]) });
    }
    if let Some(c) = PASSWORD_CHANGED.captures(body) {
        let mut r = r.s("targetuser", &c[1]).s("action", "password_changed");
        r.category = Some("account");
        return Some(r.b("success", true));
    }
    None
}

/// A modern PAM line (`pam_MODULE(SERVICE:GROUP): ...`) of any program, as parser `parser`
/// with category `category` (password changes are `account`).
pub(crate) fn parse_pam_as(
    parser: &'static str,
    category: &'static str,
    msg: &str,
) -> Option<Parsed> {
    let line = pam_line(msg.trim())?;
    let r = Parsed::new(parser, Some(category))
        .s("service", line.service)
        .s("pammodule", line.module);
    pam_body(r, line.body)
}

/// A PAM line of any program: the modern form (`pam_unix(sshd:auth): ...`), or the older one
/// when `program` is `SERVICE(pam_MODULE)`. Category `authentication` (`account` for password
/// changes).
pub fn parse_pam(program: &str, msg: &str) -> Option<Parsed> {
    let msg = msg.trim();
    if let Some((service, module)) = legacy_program(program) {
        let r = Parsed::new("pam", Some("authentication"))
            .s("service", service)
            .s("pammodule", module);
        return pam_body(r, msg);
    }
    parse_pam_as("pam", "authentication", msg)
}

/// `pam_unix(<service>:session): session opened|closed for user X[(uid=N)] [by Y(uid=M)]`
/// (kept for callers of the session-only parser; [`parse_pam`] reads every PAM line).
pub fn parse_pam_session(program: &str, msg: &str) -> Option<Parsed> {
    let line = pam_line(msg.trim())?;
    if line.group != Some("session") || !SESSION_BODY.is_match(line.body) {
        return None;
    }
    parse_pam(program, msg)
}
