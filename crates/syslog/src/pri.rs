//! The PRI part of a syslog message: facility and severity.

use std::fmt;

/// Syslog facility (the upper bits of PRI), RFC 5424 section 6.2.1.
///
/// Names follow rsyslog's `syslogfacility-text` (`kern`, `user`, ..., `local7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Facility {
    /// 0: kernel messages
    Kern = 0,
    /// 1: user-level messages
    User = 1,
    /// 2: mail system
    Mail = 2,
    /// 3: system daemons
    Daemon = 3,
    /// 4: security/authorization messages
    Auth = 4,
    /// 5: messages generated internally by syslogd
    Syslog = 5,
    /// 6: line printer subsystem
    Lpr = 6,
    /// 7: network news subsystem
    News = 7,
    /// 8: UUCP subsystem
    Uucp = 8,
    /// 9: clock daemon
    Cron = 9,
    /// 10: security/authorization messages (private)
    Authpriv = 10,
    /// 11: FTP daemon
    Ftp = 11,
    /// 12: NTP subsystem
    Ntp = 12,
    /// 13: log audit
    Audit = 13,
    /// 14: log alert
    Alert = 14,
    /// 15: clock daemon (note 2)
    Clock = 15,
    /// 16: local use 0
    Local0 = 16,
    /// 17: local use 1
    Local1 = 17,
    /// 18: local use 2
    Local2 = 18,
    /// 19: local use 3
    Local3 = 19,
    /// 20: local use 4
    Local4 = 20,
    /// 21: local use 5
    Local5 = 21,
    /// 22: local use 6
    Local6 = 22,
    /// 23: local use 7
    Local7 = 23,
}

const FACILITIES: [Facility; 24] = [
    Facility::Kern,
    Facility::User,
    Facility::Mail,
    Facility::Daemon,
    Facility::Auth,
    Facility::Syslog,
    Facility::Lpr,
    Facility::News,
    Facility::Uucp,
    Facility::Cron,
    Facility::Authpriv,
    Facility::Ftp,
    Facility::Ntp,
    Facility::Audit,
    Facility::Alert,
    Facility::Clock,
    Facility::Local0,
    Facility::Local1,
    Facility::Local2,
    Facility::Local3,
    Facility::Local4,
    Facility::Local5,
    Facility::Local6,
    Facility::Local7,
];

const FACILITY_NAMES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl Facility {
    /// The facility with numeric code `code` (0..=23), if any.
    pub fn from_code(code: u8) -> Option<Facility> {
        FACILITIES.get(usize::from(code)).copied()
    }

    /// The numeric code (0..=23).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The lowercase name, e.g. `"local4"`, `"authpriv"`.
    pub fn name(self) -> &'static str {
        FACILITY_NAMES
            .get(usize::from(self.code()))
            .copied()
            .unwrap_or("unknown")
    }

    /// The facility named `name` (as returned by [`Facility::name`], case-insensitive;
    /// `security` is accepted for `auth`).
    pub fn from_name(name: &str) -> Option<Facility> {
        if name.eq_ignore_ascii_case("security") {
            return Some(Facility::Auth);
        }
        FACILITY_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .and_then(|i| FACILITIES.get(i).copied())
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Syslog severity (the lower 3 bits of PRI), RFC 5424 section 6.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyslogSeverity {
    /// 0: system is unusable
    Emerg = 0,
    /// 1: action must be taken immediately
    Alert = 1,
    /// 2: critical conditions
    Crit = 2,
    /// 3: error conditions
    Err = 3,
    /// 4: warning conditions
    Warning = 4,
    /// 5: normal but significant condition
    Notice = 5,
    /// 6: informational messages
    Info = 6,
    /// 7: debug-level messages
    Debug = 7,
}

const SEVERITIES: [SyslogSeverity; 8] = [
    SyslogSeverity::Emerg,
    SyslogSeverity::Alert,
    SyslogSeverity::Crit,
    SyslogSeverity::Err,
    SyslogSeverity::Warning,
    SyslogSeverity::Notice,
    SyslogSeverity::Info,
    SyslogSeverity::Debug,
];

const SEVERITY_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

impl SyslogSeverity {
    /// The severity with numeric code `code` (0..=7), if any.
    pub fn from_code(code: u8) -> Option<SyslogSeverity> {
        SEVERITIES.get(usize::from(code)).copied()
    }

    /// The numeric code (0..=7).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The lowercase name: `emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info`, `debug`.
    pub fn name(self) -> &'static str {
        SEVERITY_NAMES
            .get(usize::from(self.code()))
            .copied()
            .unwrap_or("unknown")
    }

    /// The severity named `name` (case-insensitive; also accepts the aliases
    /// `panic`, `error`, `warn`).
    pub fn from_name(name: &str) -> Option<SyslogSeverity> {
        let alias = match name.to_ascii_lowercase().as_str() {
            "panic" => Some(SyslogSeverity::Emerg),
            "error" => Some(SyslogSeverity::Err),
            "warn" => Some(SyslogSeverity::Warning),
            _ => None,
        };
        alias.or_else(|| {
            SEVERITY_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
                .and_then(|i| SEVERITIES.get(i).copied())
        })
    }
}

impl fmt::Display for SyslogSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Splits a PRI value into facility and severity. Values above 191 have no valid facility.
pub fn decompose_pri(pri: u16) -> (Option<Facility>, Option<SyslogSeverity>) {
    if pri > 191 {
        return (None, None);
    }
    let fac = u8::try_from(pri >> 3).ok().and_then(Facility::from_code);
    let sev = u8::try_from(pri & 7)
        .ok()
        .and_then(SyslogSeverity::from_code);
    (fac, sev)
}

/// Composes a PRI value (`facility * 8 + severity`).
pub fn compose_pri(facility: Facility, severity: SyslogSeverity) -> u8 {
    facility.code() * 8 + severity.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for code in 0..24u8 {
            let f = Facility::from_code(code).unwrap();
            assert_eq!(f.code(), code);
            assert_eq!(Facility::from_name(f.name()), Some(f));
        }
        assert_eq!(Facility::from_code(24), None);
        for code in 0..8u8 {
            let s = SyslogSeverity::from_code(code).unwrap();
            assert_eq!(s.code(), code);
            assert_eq!(SyslogSeverity::from_name(s.name()), Some(s));
        }
        assert_eq!(SyslogSeverity::from_code(8), None);
        assert_eq!(Facility::Local4.name(), "local4");
        assert_eq!(SyslogSeverity::Err.name(), "err");
        assert_eq!(
            SyslogSeverity::from_name("WARN"),
            Some(SyslogSeverity::Warning)
        );
    }

    #[test]
    fn pri_decomposition() {
        assert_eq!(
            decompose_pri(165),
            (Some(Facility::Local4), Some(SyslogSeverity::Notice))
        );
        assert_eq!(
            decompose_pri(0),
            (Some(Facility::Kern), Some(SyslogSeverity::Emerg))
        );
        assert_eq!(
            decompose_pri(191),
            (Some(Facility::Local7), Some(SyslogSeverity::Debug))
        );
        assert_eq!(decompose_pri(192), (None, None));
        assert_eq!(compose_pri(Facility::Auth, SyslogSeverity::Crit), 34);
    }
}
