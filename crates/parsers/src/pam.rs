//! PAM (`pam_unix`) session and authentication-failure lines, shared by sshd, sudo and su.

use crate::parsed::Parsed;

re!(
    pub(crate) PAM_SESSION,
    r"^pam_unix\(([^:()]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=(\d+)\))?(?: by ([^\s(]*)\(uid=(\d+)\))?"
);
re!(
    pub(crate) PAM_AUTHFAIL,
    r"^pam_unix\(([^:()]+):auth\): authentication failure;.*?(?:rhost=(\S*))?\s+user=(\S+)"
);
re!(
    pub(crate) PAM_MORE,
    r"^PAM (\d+) more authentication failures?;.*?rhost=(\S*)\s+user=(\S+)"
);

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
