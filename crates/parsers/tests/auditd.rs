//! auditd parser and assembler: samples after the Linux audit documentation (RHEL Security
//! Guide "Understanding Audit Log Files", auditd/auparse man pages).

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_parsers::{
    auditd_event, parse_auditd, parse_auditd_record, parse_by_program, AuditAssembler, Parsed,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn f(p: &Parsed, k: &str) -> Value {
    p.fields.get(k).cloned().unwrap_or(Value::Null)
}

/// The RHEL guide's example: `cat /etc/ssh/sshd_config` denied, watched by key `sshd_config`.
const CAT_SSHD_CONFIG: [&str; 5] = [
    r#"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2 success=no exit=-13 a0=7fffd19c5592 a1=0 a2=7fffd19c4b50 a3=a items=1 ppid=2686 pid=3538 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="cat" exe="/bin/cat" subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 key="sshd_config""#,
    r#"type=CWD msg=audit(1364481363.243:24287):  cwd="/home/shadowman""#,
    r#"type=PATH msg=audit(1364481363.243:24287): item=0 name="/etc/ssh/sshd_config" inode=409248 dev=fd:00 mode=0100600 ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r:etc_t:s0  nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0"#,
    r#"type=PROCTITLE msg=audit(1364481363.243:24287) : proctitle=636174002F6574632F7373682F737368645F636F6E666967"#,
    r#"type=EOE msg=audit(1364481363.243:24287): "#,
];

/// `ls -la "/tmp/my dir"` with an EXECVE record: quoted and hex arguments.
const LS_EXECVE: [&str; 7] = [
    r#"type=SYSCALL msg=audit(1700000000.123:500): arch=c000003e syscall=59 success=yes exit=0 a0=55d2c0a0e4f0 a1=55d2c0a0b2d0 a2=55d2c0a0c9a0 a3=8 items=2 ppid=1000 pid=1234 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts1 ses=3 comm="ls" exe="/usr/bin/ls" subj=unconfined key="exec_log""#,
    r#"type=EXECVE msg=audit(1700000000.123:500): argc=3 a0="ls" a1=2D6C61 a2=2F746D702F6D7920646972"#,
    r#"type=CWD msg=audit(1700000000.123:500): cwd=2F686F6D652F616C6963652F6D792066696C652E747874"#,
    r#"type=PATH msg=audit(1700000000.123:500): item=0 name="/usr/bin/ls" inode=1835016 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0"#,
    r#"type=PATH msg=audit(1700000000.123:500): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=1835100 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0"#,
    r#"type=PROCTITLE msg=audit(1700000000.123:500): proctitle=6C73002D6C61002F746D702F6D7920646972"#,
    r#"type=EOE msg=audit(1700000000.123:500): "#,
];

const USER_AUTH_FAILED: &str = r#"type=USER_AUTH msg=audit(1700000100.456:600): pid=2345 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 msg='op=PAM:authentication grantors=? acct="alice" exe="/usr/sbin/sshd" hostname=203.0.113.7 addr=203.0.113.7 terminal=ssh res=failed'"#;

const USER_LOGIN_OK: &str = "type=USER_LOGIN msg=audit(1700000200.789:700): pid=2345 uid=0 auid=1000 ses=5 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=198.51.100.4 addr=198.51.100.4 terminal=/dev/pts/1 res=success'\x1dUID=\"root\" AUID=\"alice\" ID=\"alice\"";

const ADD_USER: &str = "type=ADD_USER msg=audit(1700000300.000:800): pid=3456 uid=0 auid=1000 ses=3 subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 msg='op=add-user acct=\"bob\" exe=\"/usr/sbin/useradd\" hostname=web1 addr=? terminal=pts/0 res=success'\x1dUID=\"root\" AUID=\"alice\"";

fn assemble(lines: &[&str]) -> Vec<Parsed> {
    let mut a = AuditAssembler::new();
    let mut out = Vec::new();
    for l in lines {
        out.extend(a.push(l));
    }
    out.extend(a.flush());
    out
}

#[test]
fn record_fields_decoded() {
    let r = parse_auditd_record(CAT_SSHD_CONFIG[0]).unwrap();
    assert_eq!(r.record_type, "SYSCALL");
    assert_eq!(r.type_id, Some(1300));
    assert_eq!(r.serial, 24287);
    assert_eq!(r.node, None);
    assert_eq!(
        r.timestamp,
        DateTime::parse_from_rfc3339("2013-03-28T14:36:03.243Z").unwrap()
    );
    assert_eq!(r.get("comm"), Some("cat"));
    assert_eq!(r.get("key"), Some("sshd_config"));
    assert_eq!(
        r.get("a0"),
        Some("7fffd19c5592"),
        "SYSCALL a0 is a number, not text"
    );
    assert_eq!(
        r.get("subj"),
        Some("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023")
    );

    let t = parse_auditd_record(CAT_SSHD_CONFIG[3]).unwrap();
    assert_eq!(t.record_type, "PROCTITLE");
    assert_eq!(t.get("proctitle"), Some("cat /etc/ssh/sshd_config"));

    let e = parse_auditd_record(LS_EXECVE[1]).unwrap();
    assert_eq!(e.get("argc"), Some("3"));
    assert_eq!(e.get("a0"), Some("ls"));
    assert_eq!(e.get("a1"), Some("-la"));
    assert_eq!(e.get("a2"), Some("/tmp/my dir"));

    let u = parse_auditd_record(USER_AUTH_FAILED).unwrap();
    assert_eq!(u.get("pid"), Some("2345"));
    assert_eq!(u.get("op"), Some("PAM:authentication"));
    assert_eq!(u.get("acct"), Some("alice"));
    assert_eq!(u.get("res"), Some("failed"));
    assert!(u.is_standalone());
    assert!(!r.is_standalone());
}

#[test]
fn rhel_cat_example_assembled() {
    let mut a = AuditAssembler::new();
    let mut out = Vec::new();
    for l in &CAT_SSHD_CONFIG[..3] {
        assert!(a.push(l).is_empty(), "not complete before PROCTITLE");
    }
    assert_eq!(a.pending(), 1);
    out.extend(a.push(CAT_SSHD_CONFIG[3]));
    assert_eq!(out.len(), 1, "PROCTITLE closes the event");
    assert!(
        a.push(CAT_SSHD_CONFIG[4]).is_empty(),
        "the EOE after it is ignored"
    );
    assert_eq!(a.pending(), 0);

    let p = &out[0];
    assert_eq!(p.parser, "auditd");
    assert_eq!(p.category, Some("audit"));
    assert_eq!(p.tags, vec!["auditd"]);
    assert_eq!(f(p, "audittype"), json!("SYSCALL"));
    assert_eq!(
        f(p, "recordtypes"),
        json!(["SYSCALL", "CWD", "PATH", "PROCTITLE"])
    );
    assert_eq!(f(p, "serial"), json!(24287));
    assert_eq!(f(p, "timestamp"), json!("2013-03-28T14:36:03.243Z"));
    assert_eq!(f(p, "arch"), json!("x86_64"));
    assert_eq!(f(p, "syscall"), json!("open"));
    assert_eq!(f(p, "syscall_nr"), json!(2));
    assert_eq!(f(p, "success"), json!(false));
    assert_eq!(f(p, "exit"), json!(-13));
    assert_eq!(f(p, "key"), json!("sshd_config"));
    assert_eq!(f(p, "exe"), json!("/bin/cat"));
    assert_eq!(f(p, "comm"), json!("cat"));
    assert_eq!(f(p, "cwd"), json!("/home/shadowman"));
    assert_eq!(f(p, "paths"), json!(["/etc/ssh/sshd_config"]));
    assert_eq!(f(p, "proctitle"), json!("cat /etc/ssh/sshd_config"));
    assert_eq!(f(p, "command"), json!("cat /etc/ssh/sshd_config"));
    assert_eq!(f(p, "uid"), json!("1000"));
    assert_eq!(f(p, "auid"), json!("1000"));
    assert_eq!(f(p, "euid"), json!("1000"));
    assert_eq!(f(p, "gid"), json!("1000"));
    assert_eq!(f(p, "ses"), json!("1"));
    assert_eq!(f(p, "pid"), json!("3538"));
    assert_eq!(f(p, "ppid"), json!("2686"));
    assert_eq!(f(p, "tty"), json!("pts0"));
    assert_eq!(f(p, "args"), Value::Null);
    assert_eq!(f(p, "username"), Value::Null, "no names without enrichment");
    assert_eq!(f(p, "hostname"), Value::Null);
}

#[test]
fn execve_event() {
    let out = assemble(&LS_EXECVE);
    assert_eq!(out.len(), 1);
    let p = &out[0];
    assert_eq!(p.category, Some("execution"));
    assert_eq!(f(p, "syscall"), json!("execve"));
    assert_eq!(f(p, "success"), json!(true));
    assert_eq!(f(p, "exit"), json!(0));
    assert_eq!(f(p, "argc"), json!(3));
    assert_eq!(f(p, "args"), json!(["ls", "-la", "/tmp/my dir"]));
    assert_eq!(f(p, "command"), json!("ls -la /tmp/my dir"));
    assert_eq!(f(p, "cwd"), json!("/home/alice/my file.txt"));
    assert_eq!(
        f(p, "paths"),
        json!(["/usr/bin/ls", "/lib64/ld-linux-x86-64.so.2"])
    );
    assert_eq!(f(p, "proctitle"), json!("ls -la /tmp/my dir"));
    assert_eq!(f(p, "key"), json!("exec_log"));
    assert_eq!(
        f(p, "recordtypes"),
        json!(["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"])
    );
}

#[test]
fn execve_long_argument_chunks_rejoined() {
    // a1 "héllo wörld" split inside the two bytes of "é"; a2 quoted in two chunks.
    let lines = [
        r#"type=SYSCALL msg=audit(1700000010.000:510): arch=c00000b7 syscall=221 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="echo" exe="/usr/bin/echo" key=(null)"#,
        r#"type=EXECVE msg=audit(1700000010.000:510): argc=3 a0="echo" a1_len=11 a1[0]=68C3"#,
        r#"type=EXECVE msg=audit(1700000010.000:510): a1[1]=A96C6C6F2077C3B6726C64 a2_len=5 a2[0]="ab""#,
        r#"type=EXECVE msg=audit(1700000010.000:510): a2[1]="cde""#,
        r#"type=EOE msg=audit(1700000010.000:510): "#,
    ];
    let out = assemble(&lines);
    assert_eq!(out.len(), 1);
    let p = &out[0];
    assert_eq!(f(p, "arch"), json!("aarch64"));
    assert_eq!(f(p, "syscall"), json!("execve"));
    assert_eq!(f(p, "args"), json!(["echo", "héllo wörld", "abcde"]));
    assert_eq!(f(p, "command"), json!("echo héllo wörld abcde"));
    assert_eq!(f(p, "key"), Value::Null, "key=(null) is no key");
    assert_eq!(f(p, "tty"), Value::Null, "tty=(none) is no tty");
    assert_eq!(p.category, Some("execution"));
}

#[test]
fn user_auth_failure() {
    let p = parse_auditd(USER_AUTH_FAILED).unwrap();
    assert_eq!(p.category, Some("authentication"));
    assert_eq!(f(&p, "audittype"), json!("USER_AUTH"));
    assert_eq!(f(&p, "username"), json!("alice"));
    assert_eq!(f(&p, "acct"), json!("alice"));
    assert_eq!(f(&p, "sourceipaddress"), json!("203.0.113.7"));
    assert_eq!(f(&p, "sourcehostname"), json!("203.0.113.7"));
    assert_eq!(f(&p, "success"), json!(false));
    assert_eq!(f(&p, "result"), json!("failed"));
    assert_eq!(f(&p, "op"), json!("PAM:authentication"));
    assert_eq!(f(&p, "exe"), json!("/usr/sbin/sshd"));
    assert_eq!(f(&p, "terminal"), json!("ssh"));
    assert_eq!(f(&p, "auid"), json!("4294967295"));
    assert_eq!(f(&p, "pid"), json!("2345"));
    assert_eq!(f(&p, "serial"), json!(600));
    // one-record type: emitted at once by the assembler
    let mut a = AuditAssembler::new();
    let out = a.push(USER_AUTH_FAILED);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0], p);
    assert_eq!(a.pending(), 0);
}

#[test]
fn user_login_success_enriched() {
    let p = parse_auditd(USER_LOGIN_OK).unwrap();
    assert_eq!(p.category, Some("authentication"));
    assert_eq!(f(&p, "audittype"), json!("USER_LOGIN"));
    assert_eq!(f(&p, "success"), json!(true));
    assert_eq!(f(&p, "result"), json!("success"));
    assert_eq!(f(&p, "id"), json!("1000"));
    assert_eq!(f(&p, "auid"), json!("1000"));
    assert_eq!(f(&p, "auid_name"), json!("alice"));
    assert_eq!(f(&p, "originaluser"), json!("alice"));
    assert_eq!(f(&p, "uid_name"), json!("root"));
    assert_eq!(f(&p, "username"), json!("alice"));
    assert_eq!(f(&p, "sourceipaddress"), json!("198.51.100.4"));
    assert_eq!(f(&p, "terminal"), json!("/dev/pts/1"));
}

#[test]
fn add_user_is_account() {
    let p = parse_auditd(ADD_USER).unwrap();
    assert_eq!(p.category, Some("account"));
    assert_eq!(f(&p, "audittype"), json!("ADD_USER"));
    assert_eq!(f(&p, "op"), json!("add-user"));
    assert_eq!(f(&p, "targetuser"), json!("bob"));
    assert_eq!(f(&p, "acct"), json!("bob"));
    assert_eq!(
        f(&p, "username"),
        json!("alice"),
        "the actor, not the new account"
    );
    assert_eq!(f(&p, "exe"), json!("/usr/sbin/useradd"));
    assert_eq!(f(&p, "sourcehostname"), json!("web1"));
    assert_eq!(
        f(&p, "sourceipaddress"),
        Value::Null,
        "addr=? is no address"
    );
    assert_eq!(f(&p, "success"), json!(true));
}

#[test]
fn enriched_syscall_names() {
    let line = "type=SYSCALL msg=audit(1700000400.100:900): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd4d3e a2=0 a3=0 items=1 ppid=1 pid=999 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=2 comm=\"vi\" exe=\"/usr/bin/vi\" key=\"shadow\"\x1dARCH=x86_64 SYSCALL=openat AUID=\"alice\" UID=\"root\" GID=\"root\" EUID=\"root\" SUID=\"root\" FSUID=\"root\" EGID=\"root\" SGID=\"root\" FSGID=\"root\"";
    let r = parse_auditd_record(line).unwrap();
    assert_eq!(
        r.get("key"),
        Some("shadow"),
        "the separator ends the raw part"
    );
    assert_eq!(r.interpreted("AUID"), Some("alice"));
    assert_eq!(r.interpreted("SYSCALL"), Some("openat"));
    let p = parse_auditd(line).unwrap();
    assert_eq!(f(&p, "syscall"), json!("openat"));
    assert_eq!(f(&p, "uid_name"), json!("root"));
    assert_eq!(f(&p, "euid_name"), json!("root"));
    assert_eq!(f(&p, "gid_name"), json!("root"));
    assert_eq!(f(&p, "auid_name"), json!("alice"));
    assert_eq!(f(&p, "originaluser"), json!("alice"));
    assert_eq!(f(&p, "username"), json!("alice"));
    assert_eq!(f(&p, "key"), json!("shadow"));

    // the syslog plugin turns the separator into a space: same result
    let via_syslog = line.replace('\x1d', " ");
    assert_eq!(parse_auditd(&via_syslog), Some(p));

    // unset login uid: no name
    let unset = "type=USER_ACCT msg=audit(1700000401.000:901): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:accounting grantors=pam_unix acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'\x1dUID=\"root\" AUID=\"unset\"";
    let p = parse_auditd(unset).unwrap();
    assert_eq!(f(&p, "auid_name"), Value::Null);
    assert_eq!(f(&p, "username"), json!("root"));
    assert_eq!(f(&p, "sourcehostname"), Value::Null);
    assert_eq!(p.category, Some("authentication"));
}

#[test]
fn node_prefix_and_syslog_forms() {
    let node = format!("node=web1.example.com {USER_AUTH_FAILED}");
    let r = parse_auditd_record(&node).unwrap();
    assert_eq!(r.node.as_deref(), Some("web1.example.com"));
    let p = parse_auditd(&node).unwrap();
    assert_eq!(f(&p, "hostname"), json!("web1.example.com"));
    assert_eq!(f(&p, "sourcehostname"), json!("203.0.113.7"));

    for prefixed in [
        format!("audispd: node=web1.example.com {USER_AUTH_FAILED}"),
        format!("Nov 14 22:15:00 web1 audispd: node=web1.example.com {USER_AUTH_FAILED}"),
        format!(
            "<86>Nov 14 22:15:00 web1 audisp-syslog: node=web1.example.com {USER_AUTH_FAILED}\n"
        ),
    ] {
        assert_eq!(parse_auditd(&prefixed).as_ref(), Some(&p), "{prefixed}");
    }
    assert_eq!(parse_by_program("audispd", &node), Some(p.clone()));
    assert_eq!(
        parse_by_program("audit", USER_AUTH_FAILED),
        parse_auditd(USER_AUTH_FAILED)
    );

    // kernel printk form: numeric type, no msg=
    let kernel = r#"audit: type=1400 audit(1700000500.000:42): apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="/etc/ssl/openssl.cnf" pid=1234 comm="cupsd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0"#;
    let r = parse_auditd_record(kernel).unwrap();
    assert_eq!(r.record_type, "AVC");
    assert_eq!(r.type_id, Some(1400));
    assert_eq!(r.get("apparmor"), Some("DENIED"));
    assert_eq!(r.get("name"), Some("/etc/ssl/openssl.cnf"));
    let p = parse_by_program("kernel", &format!("[  123.456789] {kernel}")).unwrap();
    assert_eq!(f(&p, "audittype"), json!("AVC"));
    assert_eq!(f(&p, "comm"), json!("cupsd"));
    assert_eq!(p.category, Some("audit"));

    let unknown =
        parse_auditd_record("type=UNKNOWN[1999] msg=audit(1700000500.000:43): x=1").unwrap();
    assert_eq!(unknown.record_type, "UNKNOWN[1999]");
    assert_eq!(unknown.type_id, Some(1999));
    let known =
        parse_auditd_record("type=UNKNOWN[1327] msg=audit(1700000500.000:44): proctitle=6C73")
            .unwrap();
    assert_eq!(known.record_type, "PROCTITLE");
    assert_eq!(known.get("proctitle"), Some("ls"));
}

#[test]
fn interleaved_events() {
    let a = [
        r#"type=SYSCALL msg=audit(1700000600.001:1001): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=10 pid=11 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="id" exe="/usr/bin/id" key="exec""#,
        r#"type=EXECVE msg=audit(1700000600.001:1001): argc=1 a0="id""#,
        r#"type=EOE msg=audit(1700000600.001:1001): "#,
    ];
    let b = [
        r#"type=SYSCALL msg=audit(1700000600.002:1002): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=7ffc a2=10 a3=0 items=0 ppid=1 pid=20 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=1 comm="curl" exe="/usr/bin/curl" key="net""#,
        r#"type=SOCKADDR msg=audit(1700000600.002:1002): saddr=020001BB5DB8D8220000000000000000"#,
        r#"type=EOE msg=audit(1700000600.002:1002): "#,
    ];
    let lines = [a[0], b[0], a[1], b[1], b[2], a[2]];
    let mut asm = AuditAssembler::new();
    let mut emitted = Vec::new();
    for l in lines {
        emitted.push(asm.push(l));
    }
    assert!(emitted[..4].iter().all(Vec::is_empty));
    assert_eq!(emitted[4].len(), 1, "B's EOE closes B");
    assert_eq!(emitted[5].len(), 1, "A's EOE closes A");
    let pb = &emitted[4][0];
    let pa = &emitted[5][0];
    assert_eq!(f(pa, "serial"), json!(1001));
    assert_eq!(f(pa, "command"), json!("id"));
    assert_eq!(pa.category, Some("execution"));
    assert_eq!(f(pb, "serial"), json!(1002));
    assert_eq!(f(pb, "syscall"), json!("connect"));
    assert_eq!(f(pb, "destinationipaddress"), json!("93.184.216.34"));
    assert_eq!(f(pb, "destinationport"), json!(443));
    assert_eq!(f(pb, "recordtypes"), json!(["SYSCALL", "SOCKADDR"]));
    assert_eq!(f(pb, "command"), Value::Null);
    assert_eq!(asm.pending(), 0);
}

#[test]
fn same_serial_other_node_is_another_event() {
    let one = r#"node=a type=SYSCALL msg=audit(1700000700.000:5): arch=c000003e syscall=2 success=yes exit=3 items=1 pid=1 uid=0 comm="x" exe="/x""#;
    let two = r#"node=b type=SYSCALL msg=audit(1700000700.000:5): arch=c000003e syscall=2 success=yes exit=3 items=1 pid=2 uid=0 comm="y" exe="/y""#;
    let mut asm = AuditAssembler::new();
    assert!(asm.push(one).is_empty());
    assert!(asm.push(two).is_empty());
    assert_eq!(asm.pending(), 2);
    let out = asm.flush();
    assert_eq!(out.len(), 2);
    assert_eq!(f(&out[0], "hostname"), json!("a"));
    assert_eq!(f(&out[1], "hostname"), json!("b"));
}

#[test]
fn missing_eoe_flushed_and_timed_out() {
    let syscall = r#"type=SYSCALL msg=audit(1700000800.000:70): arch=c000003e syscall=87 success=yes exit=0 items=2 ppid=1 pid=5 auid=1000 uid=1000 gid=1000 euid=1000 ses=2 comm="rm" exe="/usr/bin/rm" key="delete""#;
    let path = r#"type=PATH msg=audit(1700000800.000:70): item=0 name="/tmp/" nametype=PARENT"#;
    let path2 = r#"type=PATH msg=audit(1700000800.000:70): item=1 name="/tmp/x" nametype=DELETE"#;

    // flush
    let mut asm = AuditAssembler::new();
    assert!(asm.push(syscall).is_empty());
    assert!(asm.push(path).is_empty());
    assert!(asm.push(path2).is_empty());
    let out = asm.flush();
    assert_eq!(out.len(), 1);
    assert_eq!(f(&out[0], "syscall"), json!("unlink"));
    assert_eq!(f(&out[0], "paths"), json!(["/tmp/", "/tmp/x"]));
    assert!(asm.flush().is_empty());

    // a record of a later event, more than the timeout after it
    let mut asm = AuditAssembler::new().with_timeout(Duration::from_secs(2));
    asm.push(syscall);
    asm.push(path);
    let soon = r#"type=SYSCALL msg=audit(1700000801.000:71): arch=c000003e syscall=87 success=yes exit=0 items=1 pid=6 comm="rm" exe="/usr/bin/rm""#;
    assert!(asm.push(soon).is_empty(), "1 s later: still waiting");
    let late = r#"type=USER_END msg=audit(1700000803.500:72): pid=7 uid=0 auid=1000 ses=2 msg='op=PAM:session_close grantors=pam_unix acct="alice" exe="/usr/sbin/sshd" hostname=? addr=? terminal=ssh res=success'"#;
    let out = asm.push(late);
    assert_eq!(out.len(), 3, "both timed out, then the USER_END itself");
    assert_eq!(f(&out[0], "serial"), json!(70));
    assert_eq!(f(&out[1], "serial"), json!(71));
    assert_eq!(f(&out[2], "audittype"), json!("USER_END"));
    assert_eq!(out[2].category, Some("authentication"));
    assert_eq!(asm.pending(), 0);

    // an idle source
    let mut asm = AuditAssembler::new();
    asm.push(syscall);
    let t = Utc.timestamp_opt(1_700_000_801, 0).unwrap();
    assert!(asm.flush_expired(t).is_empty());
    let t = Utc.timestamp_opt(1_700_000_802, 0).unwrap();
    assert_eq!(asm.flush_expired(t).len(), 1);
}

#[test]
fn bounded_memory_evicts_with_emission() {
    let mut asm = AuditAssembler::new().with_max_pending(2);
    let line = |serial: u32| {
        format!(
            r#"type=SYSCALL msg=audit(1700000900.000:{serial}): arch=c000003e syscall=2 success=yes exit=3 pid={serial} comm="c" exe="/c""#
        )
    };
    assert!(asm.push(&line(1)).is_empty());
    assert!(asm.push(&line(2)).is_empty());
    let out = asm.push(&line(3));
    assert_eq!(out.len(), 1, "the oldest goes out, not lost");
    assert_eq!(f(&out[0], "serial"), json!(1));
    assert_eq!(asm.pending(), 2);
    let rest = asm.flush();
    assert_eq!(
        rest.iter().map(|p| f(p, "serial")).collect::<Vec<_>>(),
        vec![json!(2), json!(3)]
    );

    // records per event
    let mut asm = AuditAssembler::new().with_max_records(2);
    asm.push(&line(9));
    let path = r#"type=PATH msg=audit(1700000900.000:9): item=0 name="/a""#;
    assert!(asm.push(path).is_empty());
    let out = asm.push(r#"type=PATH msg=audit(1700000900.000:9): item=1 name="/b""#);
    assert_eq!(out.len(), 1);
    assert_eq!(f(&out[0], "paths"), json!(["/a"]));
    let out = asm.flush();
    assert_eq!(f(&out[0], "paths"), json!(["/b"]));
}

#[test]
fn hex_edge_cases() {
    // odd length: kept as written
    let r = parse_auditd_record("type=PROCTITLE msg=audit(1700001000.000:1): proctitle=636174002")
        .unwrap();
    assert_eq!(r.get("proctitle"), Some("636174002"));
    let r = parse_auditd_record("type=EXECVE msg=audit(1700001000.000:2): argc=2 a0=\"ls\" a1=2D6")
        .unwrap();
    assert_eq!(r.get("a1"), Some("2D6"));
    // control characters (escape sequences): kept hex
    let r = parse_auditd_record(
        "type=EXECVE msg=audit(1700001000.000:3): argc=1 a0=737368206576696C1B5B41",
    )
    .unwrap();
    assert_eq!(r.get("a0"), Some("737368206576696C1B5B41"));
    // quoted: never decoded, even when it looks like hex
    let r =
        parse_auditd_record("type=EXECVE msg=audit(1700001000.000:4): argc=1 a0=\"4142\"").unwrap();
    assert_eq!(r.get("a0"), Some("4142"));
    // numbers in fields that are never hex
    let r =
        parse_auditd_record("type=SYSCALL msg=audit(1700001000.000:5): pid=3538 ses=4142").unwrap();
    assert_eq!(r.get("pid"), Some("3538"));
    assert_eq!(r.get("ses"), Some("4142"));
    // non-ASCII UTF-8 path
    let r = parse_auditd_record(
        "type=PATH msg=audit(1700001000.000:6): item=0 name=68C3A96C6C6F2077C3B6726C64",
    )
    .unwrap();
    assert_eq!(r.get("name"), Some("héllo wörld"));
    // several rule keys, separated by 0x01
    let p = parse_auditd("type=SYSCALL msg=audit(1700001000.000:7): arch=c000003e syscall=2 success=yes exit=3 key=6B65796F6E65016B657974776F").unwrap();
    assert_eq!(f(&p, "key"), json!("keyone"));
    assert_eq!(f(&p, "keys"), json!(["keyone", "keytwo"]));
    // a hex-encoded account name in a user-space record
    let p = parse_auditd("type=USER_AUTH msg=audit(1700001000.000:8): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication acct=6A6F686E20646F65 exe=\"/usr/sbin/sshd\" hostname=::1 addr=::1 terminal=ssh res=failed'").unwrap();
    assert_eq!(f(&p, "username"), json!("john doe"));
    assert_eq!(f(&p, "sourceipaddress"), json!("::1"));
}

#[test]
fn user_cmd_and_single_lines() {
    let sudo = "type=USER_CMD msg=audit(1700001100.000:1): pid=4000 uid=1000 auid=1000 ses=3 msg='cwd=\"/home/alice\" cmd=7375646F20726D202D7266202F7661722F746D702F78 exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'";
    let p = parse_auditd(sudo).unwrap();
    assert_eq!(p.category, Some("execution"));
    assert_eq!(f(&p, "command"), json!("sudo rm -rf /var/tmp/x"));
    assert_eq!(f(&p, "cwd"), json!("/home/alice"));
    assert_eq!(f(&p, "success"), json!(true));

    // one SYSCALL line on its own
    let p = parse_auditd(LS_EXECVE[0]).unwrap();
    assert_eq!(p.category, Some("execution"));
    assert_eq!(f(&p, "syscall"), json!("execve"));
    assert_eq!(f(&p, "args"), Value::Null);
    // a bare EOE says nothing
    assert_eq!(parse_auditd(LS_EXECVE[6]), None);
    assert!(parse_auditd_record(LS_EXECVE[6]).is_some());

    // grouped by the caller
    let records: Vec<_> = LS_EXECVE
        .iter()
        .filter_map(|l| parse_auditd_record(l))
        .collect();
    assert_eq!(auditd_event(&records), assemble(&LS_EXECVE).pop());
    assert_eq!(auditd_event(&[]), None);
}

#[test]
fn malformed_lines() {
    for line in [
        "",
        "   ",
        "type=",
        "type=SYSCALL",
        "type=SYSCALL msg=audit(",
        "type=SYSCALL msg=audit():",
        "type=SYSCALL msg=audit(abc:1):",
        "type=SYSCALL msg=audit(1364481363.243:):",
        "type=SYSCALL msg=audit(1364481363:24287):",
        "type=SYSCALL msg=audit(1364481363.243:24287",
        "type=SYSCALL msg=audit(99999999999999999999.243:1): a=1",
        "type=SYSCALL msg=audit(9223372036854775807.999:1): a=1",
        "type=SYSCALL msg=audit(1.1:999999999999999999999): a=1",
        "type=UNKNOWN[] msg=audit(1.1:1): a=1",
        "type=UNKNOWN[99999999999] msg=audit(1.1:1): a=1",
        "type=SYS[CALL msg=audit(1.1:1): a=1",
        "xtype=SYSCALL msg=audit(1.1:1): a=1",
        "Accepted password for alice from 10.0.0.1 port 22 ssh2",
        "pam_unix(sshd:session): session opened for user alice",
        "msg=audit(1364481363.243:24287): arch=c000003e",
    ] {
        assert_eq!(parse_auditd_record(line), None, "{line:?}");
        assert_eq!(parse_auditd(line), None, "{line:?}");
        assert!(AuditAssembler::new().push(line).is_empty());
    }
    // odd but well-formed: unterminated quotes and stray words are tolerated
    let r = parse_auditd_record(r#"type=USER_AUTH msg=audit(1.5:1): pid=1 msg='op=x acct="al"#)
        .unwrap();
    assert_eq!(r.get("op"), Some("x"));
    assert_eq!(r.get("acct"), Some("al"));
    let r = parse_auditd_record("type=AVC msg=audit(1.5:2): avc:  denied  { read } for  pid=7 comm=\"x\" =oops k= tclass=file").unwrap();
    assert_eq!(r.get("pid"), Some("7"));
    assert_eq!(r.get("k"), Some(""));
    assert_eq!(r.get("tclass"), Some("file"));
    assert_eq!(
        r.timestamp,
        DateTime::parse_from_rfc3339("1970-01-01T00:00:01.500Z").unwrap()
    );
}

proptest! {
    #[test]
    fn never_panics(s in ".{0,300}") {
        let _ = parse_auditd_record(&s);
        let _ = parse_auditd(&s);
        let _ = parse_by_program("audispd", &s);
        let mut a = AuditAssembler::new().with_max_pending(4).with_max_records(3);
        let _ = a.push(&s);
        let _ = a.flush();
    }

    #[test]
    fn audit_shaped_lines_never_panic(
        node in proptest::option::of("[a-z0-9.]{0,12}"),
        kind in "(SYSCALL|EXECVE|PATH|CWD|PROCTITLE|EOE|USER_AUTH|1300|UNKNOWN\\[[0-9]{1,5}\\]|[A-Z_]{1,10})",
        secs in 0u64..20_000_000_000,
        millis in 0u32..1000,
        serial in 0u64..5,
        body in "([a-z0-9_\\[\\]]{1,6}=(\"[^\"]{0,8}\"?|'[^']{0,20}'?|[0-9A-Fa-f]{0,9}|\\{[^}]{0,6}\\}?|[^ ]{0,6}) ?|\\x1d|[A-Z]{2,5}=\"?[a-z]{0,4}\"? ){0,12}",
    ) {
        let line = match &node {
            Some(n) => format!("node={n} type={kind} msg=audit({secs}.{millis:03}:{serial}): {body}"),
            None => format!("type={kind} msg=audit({secs}.{millis:03}:{serial}): {body}"),
        };
        let rec = parse_auditd_record(&line);
        if secs < 10_000_000_000 {
            prop_assert!(rec.is_some(), "{line:?}");
        }
        let _ = parse_auditd(&line);
        let mut a = AuditAssembler::new().with_max_pending(3).with_max_records(4);
        for _ in 0..3 {
            let _ = a.push(&line);
        }
        let _ = a.flush_expired(Utc::now());
        let _ = a.flush();
    }
}
