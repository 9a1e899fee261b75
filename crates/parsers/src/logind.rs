//! systemd-logind sessions: `New session 3 of user bob.`, `Removed session 3.`,
//! `Session 3 logged out. Waiting for processes to exit.`
//!
//! Category `authentication` (as PAM sessions); fields `sessionid`, `status` (`opened`,
//! `closed`, `logged out`) and `username` (only `New session` names the user).

use crate::parsed::Parsed;

re!(NEW_SESSION, r"^New session (\S+) of user (\S+?)\.?$");
re!(REMOVED_SESSION, r"^Removed session (\S+?)\.?$");
re!(LOGGED_OUT, r"^Session (\S+) logged out\.");

/// systemd-logind session lines.
pub fn parse_logind(msg: &str) -> Option<Parsed> {
    let msg = msg.trim();
    let p = || Parsed::new("logind", Some("authentication"));
    if let Some(c) = NEW_SESSION.captures(msg) {
        return Some(
            p().s("sessionid", &c[1])
                .s("username", &c[2])
                .s("status", "opened"),
        );
    }
    if let Some(c) = REMOVED_SESSION.captures(msg) {
        return Some(p().s("sessionid", &c[1]).s("status", "closed"));
    }
    if let Some(c) = LOGGED_OUT.captures(msg) {
        return Some(p().s("sessionid", &c[1]).s("status", "logged out"));
    }
    None
}
