//! Windows security events (channel `Security`, provider `Microsoft-Windows-Security-Auditing`):
//! the MozDef-style fields of logons, logon failures, Kerberos/NTLM validations and account
//! and group changes, read from the event's EventData fields (kept by the normalizer under
//! their own names, e.g. `TargetUserName`, `IpAddress`, `LogonType`).
//!
//! | event | category | `action` | `username` | `success` |
//! |---|---|---|---|---|
//! | 4624 | authentication | `logon` | TargetUserName | true |
//! | 4625 | authentication | `logon_failed` | TargetUserName | false |
//! | 4634, 4647 | authentication | `logoff` | TargetUserName | – |
//! | 4648 | authentication | `explicit_credentials` | TargetUserName (`subjectuser`: SubjectUserName) | – |
//! | 4672 | authorization | `special_privileges` | SubjectUserName | – |
//! | 4776 | authentication | `credential_validation` | TargetUserName | Status = 0 |
//! | 4768 | authentication | `kerberos_tgt` | TargetUserName | Status = 0 |
//! | 4771 | authentication | `kerberos_preauth_failed` | TargetUserName | false |
//! | 4720…4767 | account | `user_added`, `user_enabled`, `password_change_attempt`, `password_reset`, `user_disabled`, `user_deleted`, `group_member_added`/`_removed`, `user_modified`, `user_locked`, `user_unlocked` | SubjectUserName (who) | the audit outcome, when known |
//!
//! Other fields: `sourceipaddress` (IpAddress, without `-`, IPv4-mapped IPv6 as IPv4),
//! `sourceport` (IpPort, not `-`/`0`), `sourcehostname` (WorkstationName/Workstation),
//! `domain` (TargetDomainName), `logontype` and `logontypename`, `authmethod`
//! (AuthenticationPackageName), `failure` (the Status/SubStatus code explained),
//! `invaliduser` (unknown account), `targetuser` (the account changed), `group` (the group
//! of a membership change), `member` (MemberName, else MemberSid).

use serde_json::Value;

use crate::pam::ip_text;
use crate::parsed::Parsed;
use crate::Fields;

/// The provider of the Security log's audit events.
pub const SECURITY_PROVIDER: &str = "Microsoft-Windows-Security-Auditing";

/// The text of an EventData field; `-` and empty mean "none" in Windows' rendering.
fn text(data: &Fields, key: &str) -> Option<String> {
    let s = match data.get(key)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s != "-").then_some(s)
}

/// An NTSTATUS / Kerberos code as a number (`0xC000006A`, `0x18`, `24`).
fn code(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// What a logon failure's NTSTATUS means, and whether the account is unknown.
fn ntstatus(c: u64) -> Option<(&'static str, bool)> {
    Some(match c {
        0xC000_0064 => ("user name does not exist", true),
        0xC000_006A => ("bad password", false),
        0xC000_006D => ("bad user name or authentication information", false),
        0xC000_006E => ("account restriction", false),
        0xC000_006F => ("logon outside authorized hours", false),
        0xC000_0070 => ("workstation restriction", false),
        0xC000_0071 => ("password expired", false),
        0xC000_0072 => ("account disabled", false),
        0xC000_0133 => ("clock skew between DC and workstation", false),
        0xC000_015B => ("logon type not granted", false),
        0xC000_0192 => ("netlogon service not started", false),
        0xC000_0193 => ("account expired", false),
        0xC000_0224 => ("password must change", false),
        0xC000_0234 => ("account locked out", false),
        0xC000_0413 => ("authentication firewall", false),
        _ => return None,
    })
}

/// What a Kerberos result code (4768/4771) means, and whether the principal is unknown.
fn kerberos(c: u64) -> Option<(&'static str, bool)> {
    Some(match c {
        0x6 => ("client not found in Kerberos database", true),
        0x12 => (
            "client credentials revoked (disabled, expired or locked)",
            false,
        ),
        0x17 => ("password expired", false),
        0x18 => ("bad password (pre-authentication failed)", false),
        0x25 => ("clock skew too great", false),
        _ => return None,
    })
}

/// The name of a logon type.
fn logon_type_name(t: &str) -> Option<&'static str> {
    Some(match t {
        "0" => "System",
        "2" => "Interactive",
        "3" => "Network",
        "4" => "Batch",
        "5" => "Service",
        "7" => "Unlock",
        "8" => "NetworkCleartext",
        "9" => "NewCredentials",
        "10" => "RemoteInteractive",
        "11" => "CachedInteractive",
        "12" => "CachedRemoteInteractive",
        "13" => "CachedUnlock",
        _ => return None,
    })
}

/// Builds the fields from `data`.
struct Builder<'a> {
    data: &'a Fields,
    out: Parsed,
}

impl Builder<'_> {
    /// `field` from EventData `key`, when it has a value.
    fn copy(&mut self, field: &'static str, key: &str) -> &mut Self {
        if let Some(v) = text(self.data, key) {
            self.out.push(field, Value::String(v));
        }
        self
    }
    fn set(&mut self, field: &'static str, v: Value) -> &mut Self {
        self.out.push(field, v);
        self
    }
    fn has(&self, field: &str) -> bool {
        self.out.fields.contains_key(field)
    }
    /// Source address, port and workstation of a network logon.
    fn source(&mut self) -> &mut Self {
        if let Some(ip) = text(self.data, "IpAddress").and_then(|s| ip_text(&s)) {
            self.out.push("sourceipaddress", Value::String(ip));
        }
        if let Some(port) = text(self.data, "IpPort").filter(|p| p != "0") {
            self.out.push("sourceport", Value::String(port));
        }
        let ws = text(self.data, "WorkstationName").or_else(|| text(self.data, "Workstation"));
        if let Some(ws) = ws {
            self.out.push("sourcehostname", Value::String(ws));
        }
        self
    }
    /// The logon type, with its name.
    fn logon_type(&mut self) -> &mut Self {
        if let Some(t) = text(self.data, "LogonType") {
            if let Some(name) = logon_type_name(&t) {
                self.out.push("logontypename", Value::String(name.into()));
            }
            self.out.push("logontype", Value::String(t));
        }
        self
    }
    /// `success` and `failure` from a status code (`explain` gives its meaning).
    fn status(
        &mut self,
        keys: &[&str],
        explain: fn(u64) -> Option<(&'static str, bool)>,
    ) -> &mut Self {
        let codes: Vec<(String, u64)> = keys
            .iter()
            .filter_map(|k| text(self.data, k))
            .filter_map(|s| code(&s).map(|c| (s, c)))
            .collect();
        // The most specific non-zero code (SubStatus before Status).
        let failed = codes.iter().rev().find(|(_, c)| *c != 0);
        match (codes.is_empty(), failed) {
            (true, _) => {}
            (false, None) => {
                self.out.push("success", Value::Bool(true));
            }
            (false, Some((raw, c))) => {
                self.out.push("success", Value::Bool(false));
                let failure = match explain(*c) {
                    Some((what, unknown)) => {
                        if unknown {
                            self.out.push("invaliduser", Value::Bool(true));
                        }
                        what.to_string()
                    }
                    None => format!("status {raw}"),
                };
                self.out.push("failure", Value::String(failure));
            }
        }
        self
    }
}

/// The action of an account or group change event.
fn account_action(id: u64) -> Option<&'static str> {
    Some(match id {
        4720 => "user_added",
        4722 => "user_enabled",
        4723 => "password_change_attempt",
        4724 => "password_reset",
        4725 => "user_disabled",
        4726 => "user_deleted",
        4738 => "user_modified",
        4740 => "user_locked",
        4767 => "user_unlocked",
        4728 | 4732 | 4756 => "group_member_added",
        4729 | 4733 | 4757 => "group_member_removed",
        _ => return None,
    })
}

/// MozDef-style fields of a Windows security event `id` with EventData `data`; `outcome` is
/// the audit result when the event says it (keywords Audit Success / Audit Failure). `None`
/// for events this parser does not map.
pub fn parse_windows(id: u64, data: &Fields, outcome: Option<bool>) -> Option<Parsed> {
    let category = match id {
        4672 => "authorization",
        4624 | 4625 | 4634 | 4647 | 4648 | 4768 | 4771 | 4776 => "authentication",
        _ if account_action(id).is_some() => "account",
        _ => return None,
    };
    let mut b = Builder {
        data,
        out: Parsed::new("windows", Some(category)),
    };
    match id {
        4624 | 4625 => {
            let action = if id == 4624 { "logon" } else { "logon_failed" };
            b.set("action", Value::String(action.into()))
                .copy("username", "TargetUserName")
                .copy("domain", "TargetDomainName")
                .source()
                .logon_type()
                .copy("authmethod", "AuthenticationPackageName");
            if id == 4624 {
                b.set("success", Value::Bool(true));
            } else {
                b.status(&["Status", "SubStatus"], ntstatus);
                if !b.has("success") {
                    b.set("success", Value::Bool(false));
                }
            }
        }
        4634 | 4647 => {
            b.set("action", Value::String("logoff".into()))
                .copy("username", "TargetUserName")
                .copy("domain", "TargetDomainName")
                .logon_type();
        }
        4648 => {
            b.set("action", Value::String("explicit_credentials".into()))
                .copy("username", "TargetUserName")
                .copy("domain", "TargetDomainName")
                .copy("subjectuser", "SubjectUserName")
                .copy("targetserver", "TargetServerName")
                .source();
        }
        4672 => {
            b.set("action", Value::String("special_privileges".into()))
                .copy("username", "SubjectUserName")
                .copy("domain", "SubjectDomainName");
        }
        4776 => {
            b.set("action", Value::String("credential_validation".into()))
                .copy("username", "TargetUserName")
                .copy("authmethod", "PackageName")
                .source()
                .status(&["Status"], ntstatus);
        }
        4768 | 4771 => {
            let action = if id == 4768 {
                "kerberos_tgt"
            } else {
                "kerberos_preauth_failed"
            };
            b.set("action", Value::String(action.into()))
                .copy("username", "TargetUserName")
                .copy("domain", "TargetDomainName")
                .source()
                .status(&["Status"], kerberos);
            if id == 4771 && !b.has("success") {
                b.set("success", Value::Bool(false));
            }
        }
        _ => {
            let action = account_action(id)?;
            b.set("action", Value::String(action.into()))
                .copy("username", "SubjectUserName")
                .copy("domain", "SubjectDomainName");
            if matches!(id, 4728 | 4729 | 4732 | 4733 | 4756 | 4757) {
                b.copy("group", "TargetUserName");
                let member = text(data, "MemberName").or_else(|| text(data, "MemberSid"));
                if let Some(m) = member {
                    b.set("member", Value::String(m));
                }
            } else {
                b.copy("targetuser", "TargetUserName");
            }
            if id == 4740 {
                // 4740 puts the caller computer (where the lockout came from) in TargetDomainName.
                b.copy("sourcehostname", "TargetDomainName");
            }
            if let Some(ok) = outcome {
                b.set("success", Value::Bool(ok));
            }
        }
    }
    Some(b.out)
}

/// The title Windows gives a security event (the first line of its message), for a summary
/// when the event came without its message.
pub fn windows_event_title(id: u64) -> Option<&'static str> {
    Some(match id {
        4624 => "An account was successfully logged on",
        4625 => "An account failed to log on",
        4634 => "An account was logged off",
        4647 => "User initiated logoff",
        4648 => "A logon was attempted using explicit credentials",
        4672 => "Special privileges assigned to new logon",
        4720 => "A user account was created",
        4722 => "A user account was enabled",
        4723 => "An attempt was made to change an account's password",
        4724 => "An attempt was made to reset an account's password",
        4725 => "A user account was disabled",
        4726 => "A user account was deleted",
        4728 => "A member was added to a security-enabled global group",
        4729 => "A member was removed from a security-enabled global group",
        4732 => "A member was added to a security-enabled local group",
        4733 => "A member was removed from a security-enabled local group",
        4738 => "A user account was changed",
        4740 => "A user account was locked out",
        4756 => "A member was added to a security-enabled universal group",
        4757 => "A member was removed from a security-enabled universal group",
        4767 => "A user account was unlocked",
        4768 => "A Kerberos authentication ticket (TGT) was requested",
        4771 => "Kerberos pre-authentication failed",
        4776 => "The computer attempted to validate the credentials for an account",
        _ => return None,
    })
}
