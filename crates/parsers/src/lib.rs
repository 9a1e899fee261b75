//! Event parsers: they turn raw log messages into fields an analyst can search and a rule can
//! count. Each takes the message (MozDef's `summary`) and returns the fields for `details`.
//!
//! | parser | category | fields (in `details`) |
//! |---|---|---|
//! | sshd | `authentication` | `username`, `sourceipaddress`, `sourceport`, `authmethod`, `authstatus` (`Accepted`/`Failed`/`Invalid`), `success`, `rsakeyfingerprint`, `sessiontype`, `device`, `invaliduser` |
//! | sudo | `authorization` | `username`, `tty`, `pwd`, `targetuser`, `command`, `success`, `failure` |
//! | su | `authorization` | `username`, `originuser`, `uid`, `status` (`opened`/`closed`), `fromuser`, `touser`, `success` |
//! | pam (any service, both forms) | `authentication` (`account` for password changes) | `service`, `pammodule`, `username`, `uid`, `euid`, `tty`, `originuser`, `status`, `sourceipaddress`/`sourcehostname`, `success`, `failure`, `invaliduser` |
//! | account (shadow-utils) | `account` | `action`, `targetuser`, `group`, `uid`, `gid`, `home`, `shell`, `username`, `success`... (`src/account.rs`) |
//! | systemd-logind | `authentication` | `sessionid`, `username`, `status` |
//! | kernel | (unchanged) | `device`, `promiscuous`; audit records go to auditd |
//! | windows security events | `authentication` / `authorization` / `account` | `action`, `username`, `sourceipaddress`, `success`... (`src/windows.rs`; applied by the Windows normalizer) |
//! | access log | `web` / `proxy` | `sourceipaddress`, `user`, `method`, `url`/`destination`, `host`, `status`, `bytes`, `referrer`, `useragent`, `proxyaction`, `elapsed` |
//! | auditd | `execution` / `authentication` / `account` / `audit` | table in `src/auditd/mod.rs`: `audittype`, `syscall`, `success`, `command`, `args`, `paths`, `uid`/`auid`, `username`, `sourceipaddress`... |
//!
//! MozDef's own `parse_sshd`/`parse_su` cases pass (with MozDef's quirk of putting the reason
//! code of `Received disconnect from IP: N:` into `sourceport`).

/// A lazily compiled regular expression.
macro_rules! re {
    ($vis:vis $name:ident, $re:expr) => {
        $vis static $name: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($re).expect("valid regex"));
    };
}

mod access;
mod account;
mod auditd;
mod kernel;
mod logind;
mod pam;
mod parsed;
mod sshd;
mod su;
mod sudo;
mod windows;

pub use access::parse_access_log;
pub use account::parse_account;
pub use auditd::{
    auditd_event, parse_auditd, parse_auditd_record, AuditAssembler, AuditJoiner, AuditRecord,
    Joined,
};
pub use kernel::parse_kernel;
pub use logind::parse_logind;
pub use pam::{parse_pam, parse_pam_session};
pub use parsed::{Fields, Parsed};
pub use sshd::parse_sshd;
pub use su::parse_su;
pub use sudo::parse_sudo;
pub use windows::{parse_windows, windows_event_title, SECURITY_PROVIDER};

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
        "kernel" => parse_kernel(msg),
        "systemd-logind" => parse_logind(msg),
        "useradd" | "usermod" | "userdel" | "groupadd" | "groupmod" | "groupdel" | "gpasswd"
        | "passwd" | "chage" | "chsh" | "chfn" | "chpasswd" | "newusers" => {
            parse_account(msg).or_else(|| parse_pam(prog, msg))
        }
        // The older PAM form: the program is `SERVICE(pam_MODULE)`.
        _ if prog.ends_with(')') && prog.contains("(pam_") => parse_pam(prog, msg),
        _ if msg.trim_start().starts_with("pam_") => parse_pam(prog, msg),
        // Raw audit.log lines (no syslog header, so no program name).
        _ if is_raw_audit(msg) => parse_auditd(msg),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
