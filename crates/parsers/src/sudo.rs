//! sudo: commands run and failures.

use crate::pam::parse_pam_as;
use crate::parsed::Parsed;

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
    if let Some(r) = sudo_command(msg) {
        return Some(r);
    }
    // PAM lines of sudo (authentication failures, sessions, password not given).
    // Sessions are `authentication`, like every PAM session.
    parse_pam_as("sudo", "authorization", msg).map(|mut r| {
        if r.fields.contains_key("status") {
            r.category = Some("authentication");
        }
        r
    })
}
