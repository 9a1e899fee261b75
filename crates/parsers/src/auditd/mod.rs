//! Linux audit (auditd) records: one-line parsing and assembly of multi-record events.
//!
//! A raw record looks like
//! `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`. The kernel writes
//! one event (one system call) as several records that share the `audit(...)` stamp:
//! `SYSCALL`, then auxiliary records (`EXECVE`, `CWD`, `PATH`..., `PROCTITLE`) and finally
//! `EOE`. User-space programs (PAM, shadow-utils, sshd, systemd...) write one-record events
//! (`USER_AUTH`, `USER_LOGIN`, `ADD_USER`...) whose own fields sit inside `msg='...'`.
//!
//! * [`parse_auditd_record`] parses one line: with or without `node=`, behind a syslog header
//!   or an `audit:`/`audispd:` prefix, the kernel's own printk form (`audit: type=1300
//!   audit(...)`, numeric type), and the enriched format (`log_format = ENRICHED`) whose
//!   interpreted names follow a `0x1D` separator (which the syslog plugin turns into a space).
//! * [`AuditAssembler`] joins the records of one event by (node, time stamp, serial).
//! * [`parse_auditd`] turns a single line into an event, for one-record events and sources
//!   that deliver records one by one without assembly.
//!
//! Values are decoded as auparse does: a quoted value is literal; an unquoted value of a
//! field the kernel/libaudit encode as "untrusted" (`proctitle`, `name`, `cwd`, `exe`,
//! `comm`, `key`, `acct`, `cmd`, the EXECVE arguments `aN`...) is hex, because the writer
//! hex-encodes a value that contains a space, a double quote, a control character or a
//! non-ASCII byte. Hex is decoded when it is even-length, decodes to UTF-8 text and holds no
//! control character other than tab/newline/carriage return; NUL bytes (the argv separators
//! of `proctitle`) become spaces. Anything else (odd length, binary) is kept as written.
//!
//! Fields of the emitted [`Parsed`] (parser `auditd`, tag `auditd`), all optional:
//!
//! | field | from |
//! |---|---|
//! | `audittype` | type of the event's first record (`SYSCALL`, `USER_AUTH`, `AVC`...) |
//! | `recordtypes` | array: the distinct record types of the event, in order, `EOE` left out |
//! | `serial` | number: the event serial |
//! | `timestamp` | the `audit(...)` time, RFC 3339 UTC with milliseconds |
//! | `hostname` | `node=` |
//! | `arch` | `x86_64`, `i386`, `aarch64`, `arm` (else the raw hex) |
//! | `syscall` | system call name (enriched `SYSCALL=` or the built-in x86_64/aarch64 table), else the number as text |
//! | `syscall_nr` | number: the raw `syscall=` |
//! | `success` | bool: `success=yes/no`, or `res=success/failed` (`1`/`0`) |
//! | `result` | raw `res=` |
//! | `exit` | number: `exit=` |
//! | `key` | audit rule key (`(null)` dropped); `keys` (array) when a rule set several |
//! | `exe`, `comm`, `cwd`, `tty`, `terminal`, `op`, `unit`, `id`, `grp` | the record fields of that name (`?`/`(none)` dropped) |
//! | `command` | EXECVE arguments joined with spaces, else USER_CMD `cmd`, else `proctitle` |
//! | `args` | array: EXECVE arguments `a0..aN` (long arguments split in `aN[i]` chunks rejoined) |
//! | `argc` | number: EXECVE `argc` |
//! | `proctitle` | decoded `PROCTITLE` |
//! | `paths` | array: `name` of each `PATH` record |
//! | `uid`, `auid`, `euid`, `gid`, `ses`, `pid`, `ppid` | text, as written (`4294967295` = unset) |
//! | `uid_name`, `auid_name`, `euid_name`, `gid_name` | enriched `UID=`/`AUID=`/`EUID=`/`GID=` names |
//! | `originaluser` | same as `auid_name` (the login user behind `sudo`/`su`) |
//! | `acct` | the account a user-space record is about |
//! | `username` | account events: `auid_name`, else `uid_name`; others: `acct`, else `auid_name`, else `uid_name` |
//! | `targetuser` | account events (`ADD_USER`, `USER_CHAUTHTOK`...): `acct` |
//! | `sourceipaddress` | `addr=` when it is an IP address; `accept` peer from `SOCKADDR` |
//! | `sourcehostname` | `hostname=` of user-space records (the remote host) |
//! | `destinationipaddress`, `destinationport` | `connect`/`sendto`/`sendmsg` address from `SOCKADDR` (`sourceport` for `accept`) |
//!
//! Category: `execution` when the event has an `EXECVE` record, its system call is
//! `execve`/`execveat`, or it is `USER_CMD`; `authentication` for `USER_AUTH`, `USER_LOGIN`,
//! `USER_LOGOUT`, `USER_ERR`, `USER_ACCT`, `USER_START`, `USER_END`, `CRED_*`, `LOGIN`,
//! `GRP_AUTH` and `ANOM_LOGIN_*`; `account` for `ADD_USER`, `DEL_USER`, `ADD_GROUP`,
//! `DEL_GROUP`, `USER_MGMT`, `GRP_MGMT`, `USER_CHAUTHTOK`, `GRP_CHAUTHTOK`, `CHUSER_ID`,
//! `CHGRP_ID`, `ACCT_LOCK`, `ACCT_UNLOCK`, `ROLE_*` and `ANOM_*_ACCT`; `audit` otherwise.

use chrono::{DateTime, Utc};

use crate::Parsed;

mod assemble;
mod event;
mod record;
mod syscalls;
mod types;

pub use assemble::{AuditAssembler, AuditJoiner, Joined};

use event::build;
use record::{header, parse_body, resolve_type};

/// One audit record (one line), values decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// `node=` (the host name auditd or the dispatcher put in front), if any.
    pub node: Option<String>,
    /// Record type name (`SYSCALL`, `USER_AUTH`...); a numeric type of the kernel's printk
    /// form is turned into its name, an unknown one is kept as `UNKNOWN[n]`.
    pub record_type: String,
    /// Numeric record type when known.
    pub type_id: Option<u32>,
    /// Time of the event.
    pub timestamp: DateTime<Utc>,
    /// Event serial (unique per boot of one node, shared by the records of an event).
    pub serial: u64,
    /// `key=value` pairs in order, values unquoted and hex-decoded. The pairs inside a
    /// user-space `msg='...'` follow the record's own pairs (`msg` itself is kept too).
    /// Chunks of long EXECVE arguments (`aN[i]`) stay hex so they can be rejoined.
    pub fields: Vec<(String, String)>,
    /// Enriched-format interpretations (`UID="root"`, `SYSCALL=openat`...), names upper case.
    pub interpreted: Vec<(String, String)>,
}

impl AuditRecord {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The enriched interpretation of `key` (upper case, e.g. `AUID`).
    pub fn interpreted(&self, key: &str) -> Option<&str> {
        self.interpreted
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A one-record event: user-space messages, `KERNEL`, `ANOM_*` of user space...
    /// (auparse's rule). `SYSCALL` and its auxiliary records are not.
    pub fn is_standalone(&self) -> bool {
        match self.type_id {
            Some(t) => {
                t == 1005
                    || (t > 1006 && t < 1300)
                    || t == 2000
                    || t >= 2100
                    || (1406..=1419).contains(&t)
            }
            None => {
                const PREFIXES: [&str; 12] = [
                    "USER_",
                    "CRED_",
                    "DAEMON_",
                    "SERVICE_",
                    "SYSTEM_",
                    "ANOM_LOGIN",
                    "ACCT_",
                    "GRP_",
                    "ROLE_",
                    "CRYPTO_",
                    "VIRT_",
                    "RESP_",
                ];
                PREFIXES.iter().any(|p| self.record_type.starts_with(p))
            }
        }
    }
}

/// Parses one audit record line. `None` when the line holds no `type=... audit(S.MS:N)` header.
pub fn parse_auditd_record(line: &str) -> Option<AuditRecord> {
    let line = line.trim_end_matches(['\r', '\n']);
    let h = header(line)?;
    let timestamp = DateTime::from_timestamp(h.secs, h.nanos)?;
    let (record_type, type_id) = resolve_type(h.kind)?;
    let mut rec = AuditRecord {
        node: h.node.map(str::to_string),
        record_type,
        type_id,
        timestamp,
        serial: h.serial,
        fields: Vec::new(),
        interpreted: Vec::new(),
    };
    parse_body(&mut rec, h.body);
    Some(rec)
}

/// One line as an event of its own (fields: the table at the top of `src/auditd/mod.rs`). `None`
/// for lines that are no audit record and for a bare `EOE`.
pub fn parse_auditd(line: &str) -> Option<Parsed> {
    let rec = parse_auditd_record(line)?;
    auditd_event(std::slice::from_ref(&rec))
}

/// Builds the event of records already grouped by the caller (same node, time and serial).
/// `None` when there is no record but `EOE`.
pub fn auditd_event(records: &[AuditRecord]) -> Option<Parsed> {
    build(records)
}
