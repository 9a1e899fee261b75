//! sshd: logins (accepted, failed, invalid users), sessions, disconnects, PAM failures and
//! reverse-mapping warnings.

use crate::pam::{authfail_fields, ip_text, parse_pam_as, PAM_MORE};
use crate::parsed::{Cur, Parsed};

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
    SSH_CLOSED,
    r"^Connection (closed|reset) by (?:(invalid|authenticating) user (\S*) )?(?:user (\S+) )?(\S+?)(?: port (\d+))?(?: \[preauth\])?$"
);
re!(
    SSH_DISCONNECTING,
    r"^Disconnecting (?:(invalid|authenticating) )?user (\S*) (\S+) port (\d+): (.*?)(?: \[preauth\])?$"
);
re!(
    SSH_NO_ID,
    r"^(?:Did not receive identification string from|Timeout before authentication for|Unable to negotiate with|banner exchange: Connection from) (\S+) port (\d+)"
);
re!(
    REVERSE_MAP,
    r"^(?:reverse mapping checking getaddrinfo for (\S+) \[(\S+)\] failed|Address (\S+) maps to (\S+), but this does not map back)"
);

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
pub(crate) fn ssh_auth(msg: &str) -> Option<Parsed> {
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
    if let Some(c) = PAM_MORE.captures(msg) {
        return Some(
            authfail_fields(p(), &c[2])
                .s("authstatus", "Failed")
                .s("failure", "more authentication failures")
                .s("count", &c[1]),
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
    if let Some(r) = parse_pam_as("sshd", "authentication", msg) {
        let failed = r.fields.get("success") == Some(&serde_json::Value::Bool(false));
        return Some(if failed {
            r.s("authstatus", "Failed")
        } else {
            r
        });
    }
    closes(msg)
}

/// The peer of a connection line: `sourceipaddress` when it is an address, else
/// `sourcehostname` (sshd with `UseDNS yes` names hosts).
fn peer(r: Parsed, s: &str) -> Parsed {
    match ip_text(s) {
        Some(ip) => r.s("sourceipaddress", &ip),
        None => r.s("sourcehostname", s),
    }
}

/// Connections closed or dropped before or after authentication.
fn closes(msg: &str) -> Option<Parsed> {
    let p = || Parsed::new("sshd", Some("authentication"));
    if let Some(c) = SSH_CLOSED.captures(msg) {
        let user = c
            .get(3)
            .or(c.get(4))
            .map(|m| m.as_str())
            .filter(|s| !s.is_empty());
        let mut r = peer(p().opt("username", user), &c[5])
            .opt("sourceport", c.get(6).map(|m| m.as_str()))
            .s(
                "disconnect",
                if &c[1] == "closed" { "closed" } else { "reset" },
            );
        if c.get(2).is_some_and(|m| m.as_str() == "invalid") {
            r = r.b("invaliduser", true);
        }
        if msg.ends_with("[preauth]") {
            r = r.b("preauth", true);
        }
        return Some(r);
    }
    if let Some(c) = SSH_DISCONNECTING.captures(msg) {
        let mut r = peer(
            p().opt("username", Some(&c[2]).filter(|s| !s.is_empty())),
            &c[3],
        )
        .s("sourceport", &c[4])
        .s("disconnect", "disconnecting")
        .s("reason", &c[5]);
        if c[5].starts_with("Too many authentication failures") {
            r = r
                .s("authstatus", "Failed")
                .b("success", false)
                .s("failure", "too many authentication failures");
        }
        if c.get(1).is_some_and(|m| m.as_str() == "invalid") {
            r = r.b("invaliduser", true);
        }
        return Some(r);
    }
    if let Some(c) = SSH_NO_ID.captures(msg) {
        return Some(
            peer(p(), &c[1])
                .s("sourceport", &c[2])
                .s("disconnect", "preauth"),
        );
    }
    None
}
