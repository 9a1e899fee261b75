//! su: sessions and the failure/success lines of su itself.

use crate::pam::{parse_pam_as, PAM_SESSION};
use crate::parsed::Parsed;

re!(SU_FAILED, r"^FAILED SU \(to (\S+)\) (\S+) on (\S+)");
re!(SU_OK, r"^Successful su for (\S+) by (\S+)");
re!(SU_SHORT, r"^([+-]) (\S+) (\S+):(\S+)$");

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
    // Other PAM lines of su (authentication failures: `user` is the target account, `ruser`
    // the one who ran su).
    parse_pam_as("su", "authorization", msg).map(|r| {
        let (to, from) = (
            r.fields.get("username").cloned(),
            r.fields.get("originuser").cloned(),
        );
        let mut r = r;
        if let Some(serde_json::Value::String(to)) = to {
            r = r.s("touser", &to);
        }
        if let Some(serde_json::Value::String(from)) = from {
            r = r.s("fromuser", &from);
        }
        r
    })
}
