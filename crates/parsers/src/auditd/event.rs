//! One event built from its records: the fields and category of the table in `mod.rs`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::SecondsFormat;
use serde_json::Value;

use super::record::{arg_chunk, decode_hex, hex_bytes, small_index};
use super::syscalls::{arch_name, syscall_name};
use super::AuditRecord;
use crate::Parsed;

/// A value that says something (`?`, `(none)`, `(null)` and empty say nothing).
fn known(v: &str) -> Option<&str> {
    match v {
        "" | "?" | "(none)" | "(null)" => None,
        v => Some(v),
    }
}

/// An enriched name that names someone (`unset`, `unknown(1234)` do not).
fn known_name(v: &str) -> Option<&str> {
    known(v).filter(|v| *v != "unset" && !v.starts_with("unknown("))
}

fn is_auth_type(t: &str) -> bool {
    matches!(
        t,
        "USER_AUTH"
            | "USER_LOGIN"
            | "USER_LOGOUT"
            | "USER_ERR"
            | "USER_ACCT"
            | "USER_START"
            | "USER_END"
            | "CRED_ACQ"
            | "CRED_DISP"
            | "CRED_REFR"
            | "LOGIN"
            | "GRP_AUTH"
    ) || t.starts_with("ANOM_LOGIN_")
}

fn is_account_type(t: &str) -> bool {
    matches!(
        t,
        "ADD_USER"
            | "DEL_USER"
            | "ADD_GROUP"
            | "DEL_GROUP"
            | "USER_MGMT"
            | "GRP_MGMT"
            | "USER_CHAUTHTOK"
            | "GRP_CHAUTHTOK"
            | "CHUSER_ID"
            | "CHGRP_ID"
            | "ACCT_LOCK"
            | "ACCT_UNLOCK"
            | "ROLE_ASSIGN"
            | "ROLE_REMOVE"
            | "ROLE_MODIFY"
            | "ANOM_ADD_ACCT"
            | "ANOM_DEL_ACCT"
            | "ANOM_MOD_ACCT"
    )
}

enum ArgParts {
    Whole(String),
    Chunks(BTreeMap<usize, String>),
}

/// EXECVE arguments of all EXECVE records, in index order, long ones rejoined.
fn execve_args(records: &[&AuditRecord]) -> Vec<String> {
    let mut args: BTreeMap<usize, ArgParts> = BTreeMap::new();
    for r in records.iter().filter(|r| r.record_type == "EXECVE") {
        for (k, v) in &r.fields {
            if let Some((n, i)) = arg_chunk(k) {
                match args
                    .entry(n)
                    .or_insert_with(|| ArgParts::Chunks(BTreeMap::new()))
                {
                    ArgParts::Chunks(c) => {
                        c.insert(i, v.clone());
                    }
                    ArgParts::Whole(_) => {}
                }
            } else if let Some(n) = k.strip_prefix('a').and_then(small_index) {
                args.insert(n, ArgParts::Whole(v.clone()));
            }
        }
    }
    args.into_values()
        .map(|a| match a {
            ArgParts::Whole(s) => s,
            ArgParts::Chunks(c) => {
                let hex: String = c.into_values().collect();
                decode_hex(&hex).unwrap_or(hex)
            }
        })
        .collect()
}

/// An IPv4/IPv6 `SOCKADDR` (`saddr=` hex of a little-endian `struct sockaddr`).
fn sockaddr_inet(saddr: &str) -> Option<(IpAddr, u16)> {
    let b = hex_bytes(saddr)?;
    let family = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    match family {
        2 => {
            let a: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some((IpAddr::V4(Ipv4Addr::from(a)), port))
        }
        10 => {
            let a: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            Some((IpAddr::V6(Ipv6Addr::from(a)), port))
        }
        _ => None,
    }
}

/// The records of one event (`EOE` left out), with lookups that prefer the `SYSCALL` record
/// and then take the records in order.
struct EventRecords<'a> {
    /// In arrival order; the first one names the event.
    all: Vec<&'a AuditRecord>,
    /// `SYSCALL` first, then the others in order.
    ordered: Vec<&'a AuditRecord>,
}

impl<'a> EventRecords<'a> {
    fn new(records: &'a [AuditRecord]) -> Option<EventRecords<'a>> {
        let all: Vec<&AuditRecord> = records.iter().filter(|r| r.record_type != "EOE").collect();
        all.first()?;
        let syscall = all.iter().copied().find(|r| r.record_type == "SYSCALL");
        let ordered = syscall
            .into_iter()
            .chain(all.iter().copied().filter(|r| r.record_type != "SYSCALL"))
            .collect();
        Some(EventRecords { all, ordered })
    }

    fn main(&self) -> &'a AuditRecord {
        self.all[0]
    }

    /// The first known value of `key` (`?`, `(none)`... count as unknown).
    fn get(&self, key: &str) -> Option<&'a str> {
        self.ordered.iter().find_map(|r| r.get(key)).and_then(known)
    }

    /// The first known enriched interpretation of `key` (upper case).
    fn name_of(&self, key: &str) -> Option<&'a str> {
        self.ordered
            .iter()
            .find_map(|r| r.interpreted(key))
            .and_then(known_name)
    }

    fn of_type(&self, record_type: &'a str) -> impl Iterator<Item = &'a AuditRecord> + '_ {
        self.all
            .iter()
            .copied()
            .filter(move |r| r.record_type == record_type)
    }
}

/// The architecture and system call of an event, by name where known.
struct Syscall {
    arch: Option<String>,
    number: Option<u32>,
    name: Option<String>,
}

impl Syscall {
    fn of(ev: &EventRecords<'_>) -> Syscall {
        let arch = ev.get("arch").map(|a| {
            arch_name(a)
                .map(str::to_string)
                .or_else(|| ev.name_of("ARCH").map(str::to_string))
                .unwrap_or_else(|| a.to_string())
        });
        let number = ev.get("syscall").and_then(|s| s.parse::<u32>().ok());
        let name = ev.get("syscall").map(|raw| {
            ev.name_of("SYSCALL")
                .map(str::to_string)
                .or_else(|| {
                    number
                        .zip(arch.as_deref())
                        .and_then(|(n, a)| syscall_name(a, n))
                        .map(str::to_string)
                })
                .unwrap_or_else(|| raw.to_string())
        });
        Syscall { arch, number, name }
    }
}

/// The event's category (table at the top of this module).
fn category(kind: &str, syscall: &str, has_execve: bool) -> &'static str {
    if has_execve || matches!(syscall, "execve" | "execveat") || kind == "USER_CMD" {
        "execution"
    } else if is_auth_type(kind) {
        "authentication"
    } else if is_account_type(kind) {
        "account"
    } else {
        "audit"
    }
}

/// The fields being built, in the order they are set.
struct Out<'a>(&'a mut crate::Fields);

impl Out<'_> {
    fn put(&mut self, k: &str, v: Value) {
        self.0.insert(k.to_string(), v);
    }
    fn text(&mut self, k: &str, v: &str) {
        self.put(k, Value::String(v.to_string()));
    }
    fn opt_text(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.text(k, v);
        }
    }
}

pub(super) fn build(records: &[AuditRecord]) -> Option<Parsed> {
    let ev = EventRecords::new(records)?;
    let syscall = Syscall::of(&ev);
    let args = execve_args(&ev.all);
    let has_execve = ev.of_type("EXECVE").next().is_some();
    let sys = syscall.name.as_deref().unwrap_or("");
    let category = category(&ev.main().record_type, sys, has_execve);

    let mut p = Parsed::new("auditd", Some(category));
    p.tags.push("auditd");
    let mut out = Out(&mut p.fields);
    put_identity(&ev, &mut out);
    put_syscall(&ev, &syscall, &mut out);
    put_process(&ev, args, &mut out);
    put_users(&ev, category, &mut out);
    put_addresses(&ev, sys, &mut out);
    Some(p)
}

/// `audittype`, `recordtypes`, `serial`, `timestamp`, `hostname`.
fn put_identity(ev: &EventRecords<'_>, out: &mut Out<'_>) {
    let main = ev.main();
    out.text("audittype", &main.record_type);
    let mut types: Vec<Value> = Vec::new();
    for r in &ev.all {
        let t = Value::String(r.record_type.clone());
        if !types.contains(&t) {
            types.push(t);
        }
    }
    out.put("recordtypes", Value::Array(types));
    out.put("serial", Value::from(main.serial));
    out.text(
        "timestamp",
        &main.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
    );
    out.opt_text("hostname", main.node.as_deref());
}

/// `arch`, `syscall`, `syscall_nr`, `success`, `result`, `exit`, `key`/`keys`.
fn put_syscall(ev: &EventRecords<'_>, syscall: &Syscall, out: &mut Out<'_>) {
    out.opt_text("arch", syscall.arch.as_deref());
    out.opt_text("syscall", syscall.name.as_deref());
    if let Some(n) = syscall.number {
        out.put("syscall_nr", Value::from(n));
    }
    let res = ev.get("res");
    let success = match (ev.get("success"), res) {
        (Some(s), _) => Some(s == "yes"),
        (None, Some("success" | "yes" | "1")) => Some(true),
        (None, Some("failed" | "failure" | "fail" | "no" | "0")) => Some(false),
        _ => None,
    };
    if let Some(s) = success {
        out.put("success", Value::Bool(s));
    }
    out.opt_text("result", res);
    if let Some(e) = ev.get("exit").and_then(|e| e.parse::<i64>().ok()) {
        out.put("exit", Value::from(e));
    }
    if let Some(k) = ev.get("key") {
        let keys: Vec<&str> = k.split('\x01').filter(|k| !k.is_empty()).collect();
        out.opt_text("key", keys.first().copied());
        if keys.len() > 1 {
            let keys = keys.iter().map(|k| Value::String(k.to_string())).collect();
            out.put("keys", Value::Array(keys));
        }
    }
}

/// `exe`, `comm`... (the process's own fields), `command`, `args`, `argc`, `proctitle`,
/// `paths`.
fn put_process(ev: &EventRecords<'_>, args: Vec<String>, out: &mut Out<'_>) {
    for k in [
        "exe", "comm", "cwd", "tty", "terminal", "op", "unit", "id", "grp",
    ] {
        out.opt_text(k, ev.get(k));
    }
    let proctitle = ev.get("proctitle");
    let command = if !args.is_empty() {
        Some(args.join(" "))
    } else {
        ev.get("cmd").or(proctitle).map(str::to_string)
    };
    if let Some(c) = command {
        out.put("command", Value::String(c));
    }
    if !args.is_empty() {
        let args = args.into_iter().map(Value::String).collect();
        out.put("args", Value::Array(args));
    }
    if let Some(n) = ev
        .of_type("EXECVE")
        .find_map(|r| r.get("argc"))
        .and_then(|a| a.parse::<u64>().ok())
    {
        out.put("argc", Value::from(n));
    }
    out.opt_text("proctitle", proctitle);
    let paths: Vec<Value> = ev
        .of_type("PATH")
        .filter_map(|r| r.get("name").and_then(known))
        .map(|n| Value::String(n.to_string()))
        .collect();
    if !paths.is_empty() {
        out.put("paths", Value::Array(paths));
    }
}

/// Ids as written, their enriched names, `acct`, `targetuser` and `username` (rules in the
/// table at the top of this module).
fn put_users(ev: &EventRecords<'_>, category: &str, out: &mut Out<'_>) {
    for k in ["uid", "auid", "euid", "gid", "ses", "pid", "ppid"] {
        out.opt_text(k, ev.get(k));
    }
    let uid_name = ev.name_of("UID");
    let auid_name = ev.name_of("AUID");
    out.opt_text("uid_name", uid_name);
    out.opt_text("auid_name", auid_name);
    out.opt_text("euid_name", ev.name_of("EUID"));
    out.opt_text("gid_name", ev.name_of("GID"));
    out.opt_text("originaluser", auid_name);
    let acct = ev.get("acct");
    out.opt_text("acct", acct);
    let username = if category == "account" {
        out.opt_text("targetuser", acct);
        auid_name.or(uid_name)
    } else {
        acct.or(auid_name).or(uid_name)
    };
    out.opt_text("username", username);
}

/// `sourceipaddress`/`sourcehostname` of user-space records, and the peer of a socket system
/// call from its `SOCKADDR` record.
fn put_addresses(ev: &EventRecords<'_>, syscall: &str, out: &mut Out<'_>) {
    if let Some(ip) = ev.get("addr").and_then(|a| a.parse::<IpAddr>().ok()) {
        out.put("sourceipaddress", Value::String(ip.to_string()));
    }
    out.opt_text("sourcehostname", ev.get("hostname"));
    let Some((ip, port)) = ev
        .of_type("SOCKADDR")
        .find_map(|r| r.get("saddr"))
        .and_then(sockaddr_inet)
    else {
        return;
    };
    let (address, port_field) = match syscall {
        "connect" | "sendto" | "sendmsg" => ("destinationipaddress", "destinationport"),
        "accept" | "accept4" => ("sourceipaddress", "sourceport"),
        _ => return,
    };
    out.put(address, Value::String(ip.to_string()));
    out.put(port_field, Value::from(port));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr() {
        // AF_INET 93.184.216.34:443
        assert_eq!(
            sockaddr_inet("020001BB5DB8D8220000000000000000"),
            Some(("93.184.216.34".parse().unwrap(), 443))
        );
        // AF_INET6 [2001:db8::1]:22
        assert_eq!(
            sockaddr_inet("0A0000160000000020010DB8000000000000000000000001"),
            Some(("2001:db8::1".parse().unwrap(), 22))
        );
        assert_eq!(sockaddr_inet("01002F746D70"), None);
        assert_eq!(sockaddr_inet("0200"), None);
    }
}
