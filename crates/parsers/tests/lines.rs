//! The Linux parsers the detection rules need, on real-shaped syslog lines: each line gives
//! exactly the fields listed (nothing invented), malformed and partial lines give nothing.

use ferrodef_parsers::{parse_by_program, Parsed};
use serde_json::{json, Map, Value};

/// Asserts `program: msg` parses with `category` to exactly `fields`.
#[track_caller]
fn check(program: &str, msg: &str, category: Option<&str>, fields: Value) {
    let p: Parsed =
        parse_by_program(program, msg).unwrap_or_else(|| panic!("{program}: {msg}: not parsed"));
    assert_eq!(p.category, category, "{program}: {msg}");
    let got: Map<String, Value> = p.fields.into_map();
    assert_eq!(Value::Object(got), fields, "{program}: {msg}");
}

#[track_caller]
fn none(program: &str, msg: &str) {
    assert_eq!(parse_by_program(program, msg), None, "{program}: {msg}");
}

#[test]
fn pam_modern_form_any_service() {
    check(
        "sshd",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.77  user=root",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "username": "root", "uid": "0",
               "euid": "0", "tty": "ssh", "sourceipaddress": "203.0.113.77", "success": false,
               "failure": "authentication failure", "authstatus": "Failed"}),
    );
    // Unknown user: no `user=`; the remote host by name.
    check(
        "sshd",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=scanner.example.net",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "uid": "0", "euid": "0",
               "tty": "ssh", "sourcehostname": "scanner.example.net", "success": false,
               "failure": "authentication failure", "authstatus": "Failed"}),
    );
    check(
        "sshd",
        "pam_unix(sshd:auth): check pass; user unknown",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "success": false,
               "failure": "user unknown", "invaliduser": true, "authstatus": "Failed"}),
    );
    check(
        "login",
        "pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=alice",
        Some("authentication"),
        json!({"service": "login", "pammodule": "pam_unix", "username": "alice",
               "originuser": "LOGIN", "uid": "0", "euid": "0", "tty": "/dev/tty1",
               "success": false, "failure": "authentication failure"}),
    );
    check(
        "vsftpd",
        "pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=::ffff:198.51.100.20  user=bob",
        Some("authentication"),
        json!({"service": "vsftpd", "pammodule": "pam_unix", "username": "bob",
               "originuser": "bob", "uid": "0", "euid": "0", "tty": "ftp",
               "sourceipaddress": "198.51.100.20", "success": false,
               "failure": "authentication failure"}),
    );
    check(
        "CRON",
        "pam_unix(cron:session): session closed for user root",
        Some("authentication"),
        json!({"service": "cron", "pammodule": "pam_unix", "status": "closed",
               "username": "root"}),
    );
    check(
        "sshd",
        "pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.44 user=carol",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_sss", "username": "carol", "uid": "0",
               "euid": "0", "tty": "ssh", "sourceipaddress": "192.0.2.44", "success": false,
               "failure": "authentication failure", "authstatus": "Failed"}),
    );
    check(
        "sshd",
        "pam_faillock(sshd:auth): Consecutive login failures for user root account temporarily locked",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_faillock", "username": "root",
               "success": false, "failure": "account temporarily locked",
               "authstatus": "Failed"}),
    );
    check(
        "passwd",
        "pam_unix(passwd:chauthtok): password changed for bob",
        Some("account"),
        json!({"service": "passwd", "pammodule": "pam_unix", "targetuser": "bob",
               "action": "password_changed", "success": true}),
    );
    // Partial lines: no `user=` value, a truncated head, an unknown body.
    none("sshd", "pam_unix(sshd:auth");
    none(
        "cron",
        "pam_unix(cron:account): expired password for user root (password aged)",
    );
    none("sshd", "pam_unix(sshd:auth): ");
}

#[test]
fn pam_older_form() {
    check(
        "sshd(pam_unix)",
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "username": "root", "uid": "0",
               "euid": "0", "tty": "NODEVssh", "sourceipaddress": "218.188.2.4",
               "success": false, "failure": "authentication failure"}),
    );
    check(
        "sshd(pam_unix)",
        "check pass; user unknown",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "success": false,
               "failure": "user unknown", "invaliduser": true}),
    );
    check(
        "sshd(pam_unix)",
        "session opened for user test by (uid=509)",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "status": "opened",
               "username": "test", "uid": "509"}),
    );
    check(
        "su(pam_unix)",
        "session closed for user cyrus",
        Some("authentication"),
        json!({"service": "su", "pammodule": "pam_unix", "status": "closed",
               "username": "cyrus"}),
    );
    check(
        "ftpd(pam_unix)",
        "authentication failure; logname= uid=0 euid=0 tty= ruser= rhost=scan.example.org",
        Some("authentication"),
        json!({"service": "ftpd", "pammodule": "pam_unix", "uid": "0", "euid": "0",
               "sourcehostname": "scan.example.org", "success": false,
               "failure": "authentication failure"}),
    );
    check(
        "sshd(pam_unix)",
        "2 more authentication failures; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root",
        Some("authentication"),
        json!({"service": "sshd", "pammodule": "pam_unix", "username": "root", "uid": "0",
               "euid": "0", "tty": "NODEVssh", "sourceipaddress": "218.188.2.4",
               "success": false, "failure": "more authentication failures", "count": "2"}),
    );
    none("sshd(pam_unix)", "bad line");
    none("sshd(pam_", "authentication failure; user=x");
}

#[test]
fn su_and_sudo_pam_failures() {
    check(
        "su",
        "pam_unix(su:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/0 ruser=bob rhost=  user=root",
        Some("authorization"),
        json!({"service": "su", "pammodule": "pam_unix", "username": "root",
               "originuser": "bob", "uid": "1000", "euid": "0", "tty": "/dev/pts/0",
               "success": false, "failure": "authentication failure", "touser": "root",
               "fromuser": "bob"}),
    );
    check(
        "sudo",
        "pam_unix(sudo:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob",
        Some("authorization"),
        json!({"service": "sudo", "pammodule": "pam_unix", "username": "bob",
               "originuser": "bob", "uid": "1000", "euid": "0", "tty": "/dev/pts/1",
               "success": false, "failure": "authentication failure"}),
    );
    check(
        "sudo",
        "pam_unix(sudo:auth): auth could not identify password for [dave]",
        Some("authorization"),
        json!({"service": "sudo", "pammodule": "pam_unix", "username": "dave",
               "success": false, "failure": "could not identify password"}),
    );
    check(
        "sudo",
        "pam_unix(sudo:session): session opened for user root(uid=0) by dave(uid=1000)",
        Some("authentication"),
        json!({"service": "sudo", "pammodule": "pam_unix", "status": "opened",
               "username": "root", "uid": "1000", "originuser": "dave"}),
    );
}

#[test]
fn account_changes() {
    let account = Some("account");
    check(
        "useradd",
        "new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0",
        account,
        json!({"action": "user_added", "targetuser": "bob", "uid": "1001", "gid": "1001",
               "home": "/home/bob", "shell": "/bin/bash", "tty": "/dev/pts/0", "success": true}),
    );
    check(
        "useradd",
        "new user: name=svc, UID=998, GID=998, home=/var/lib/svc, shell=/usr/sbin/nologin",
        account,
        json!({"action": "user_added", "targetuser": "svc", "uid": "998", "gid": "998",
               "home": "/var/lib/svc", "shell": "/usr/sbin/nologin", "success": true}),
    );
    check(
        "useradd",
        "new group: name=bob, GID=1001",
        account,
        json!({"action": "group_added", "group": "bob", "gid": "1001", "success": true}),
    );
    check(
        "useradd",
        "add 'bob' to group 'sudo'",
        account,
        json!({"action": "group_member_added", "targetuser": "bob", "group": "sudo",
               "success": true}),
    );
    check(
        "usermod",
        "add 'bob' to shadow group 'sudo'",
        account,
        json!({"action": "group_member_added", "targetuser": "bob", "group": "sudo",
               "success": true}),
    );
    check(
        "usermod",
        "change user 'bob' shell from '/bin/bash' to '/bin/zsh'",
        account,
        json!({"action": "user_modified", "targetuser": "bob", "change": "shell",
               "from": "/bin/bash", "to": "/bin/zsh", "success": true}),
    );
    check(
        "usermod",
        "change user 'bob' password",
        account,
        json!({"action": "password_changed", "targetuser": "bob", "success": true}),
    );
    check(
        "usermod",
        "lock user 'bob' password",
        account,
        json!({"action": "password_locked", "targetuser": "bob", "success": true}),
    );
    check(
        "usermod",
        "change user name 'bob' to 'robert'",
        account,
        json!({"action": "user_modified", "targetuser": "bob", "newname": "robert",
               "success": true}),
    );
    check(
        "userdel",
        "delete user 'bob'",
        account,
        json!({"action": "user_deleted", "targetuser": "bob", "success": true}),
    );
    check(
        "userdel",
        "removed group 'bob' owned by 'bob'",
        account,
        json!({"action": "group_deleted", "group": "bob", "targetuser": "bob",
               "success": true}),
    );
    check(
        "userdel",
        "delete 'bob' from group 'sudo'",
        account,
        json!({"action": "group_member_removed", "targetuser": "bob", "group": "sudo",
               "success": true}),
    );
    check(
        "groupadd",
        "group added to /etc/group: name=devs, GID=1002",
        account,
        json!({"action": "group_added", "group": "devs", "gid": "1002", "success": true}),
    );
    check(
        "groupdel",
        "group 'devs' removed from /etc/group",
        account,
        json!({"action": "group_deleted", "group": "devs", "success": true}),
    );
    check(
        "groupdel",
        "group 'devs' removed",
        account,
        json!({"action": "group_deleted", "group": "devs", "success": true}),
    );
    check(
        "gpasswd",
        "user alice added by root to group docker",
        account,
        json!({"action": "group_member_added", "targetuser": "alice", "username": "root",
               "group": "docker", "success": true}),
    );
    check(
        "gpasswd",
        "user alice removed by root from group docker",
        account,
        json!({"action": "group_member_removed", "targetuser": "alice", "username": "root",
               "group": "docker", "success": true}),
    );
    check(
        "gpasswd",
        "members of group docker set by root to alice,bob",
        account,
        json!({"action": "group_modified", "group": "docker", "username": "root",
               "success": true}),
    );
    check(
        "passwd",
        "password for 'bob' changed by 'root'",
        account,
        json!({"action": "password_changed", "targetuser": "bob", "username": "root",
               "success": true}),
    );
    check(
        "chage",
        "changed password expiry for bob",
        account,
        json!({"action": "user_modified", "targetuser": "bob", "success": true}),
    );
    check(
        "useradd",
        "failed adding user 'bob', data deleted",
        account,
        json!({"action": "user_added", "targetuser": "bob", "success": false}),
    );
    // Truncated and unknown lines.
    none("useradd", "new user: name=bob, UID=");
    none("userdel", "delete user ''");
    none("usermod", "no changes");
    none("passwd", "password for");
}

#[test]
fn logind_sessions() {
    let auth = Some("authentication");
    check(
        "systemd-logind",
        "New session 3 of user bob.",
        auth,
        json!({"sessionid": "3", "username": "bob", "status": "opened"}),
    );
    check(
        "systemd-logind",
        "New session c1 of user lightdm.",
        auth,
        json!({"sessionid": "c1", "username": "lightdm", "status": "opened"}),
    );
    check(
        "systemd-logind",
        "Removed session 3.",
        auth,
        json!({"sessionid": "3", "status": "closed"}),
    );
    check(
        "systemd-logind",
        "Session 3 logged out. Waiting for processes to exit.",
        auth,
        json!({"sessionid": "3", "status": "logged out"}),
    );
    none("systemd-logind", "New seat seat0.");
    none(
        "systemd-logind",
        "Watching system buttons on /dev/input/event0 (Power Button)",
    );
    none("systemd-logind", "New session ");
}

#[test]
fn sshd_disconnects_and_closes() {
    let auth = Some("authentication");
    check(
        "sshd",
        "Disconnected from user bob 198.51.100.7 port 50122",
        auth,
        json!({"username": "bob", "sourceipaddress": "198.51.100.7", "sourceport": "50122",
               "disconnect": "disconnected"}),
    );
    check(
        "sshd",
        "Connection closed by invalid user admin 203.0.113.5 port 40420 [preauth]",
        auth,
        json!({"username": "admin", "sourceipaddress": "203.0.113.5", "sourceport": "40420",
               "disconnect": "closed", "invaliduser": true, "preauth": true}),
    );
    check(
        "sshd",
        "Connection closed by authenticating user root 203.0.113.5 port 40422 [preauth]",
        auth,
        json!({"username": "root", "sourceipaddress": "203.0.113.5", "sourceport": "40422",
               "disconnect": "closed", "preauth": true}),
    );
    check(
        "sshd",
        "Connection closed by 192.0.2.4 port 39124 [preauth]",
        auth,
        json!({"sourceipaddress": "192.0.2.4", "sourceport": "39124", "disconnect": "closed",
               "preauth": true}),
    );
    check(
        "sshd",
        "Connection reset by 192.0.2.4 port 39126 [preauth]",
        auth,
        json!({"sourceipaddress": "192.0.2.4", "sourceport": "39126", "disconnect": "reset",
               "preauth": true}),
    );
    check(
        "sshd",
        "Connection closed by 192.0.2.9 [preauth]",
        auth,
        json!({"sourceipaddress": "192.0.2.9", "disconnect": "closed", "preauth": true}),
    );
    check(
        "sshd",
        "Received disconnect from 192.0.2.4 port 39124:11: Bye Bye [preauth]",
        auth,
        json!({"sourceipaddress": "192.0.2.4", "sourceport": "39124",
               "disconnect": "received"}),
    );
    check(
        "sshd",
        "Failed password for invalid user test from 192.0.2.4 port 39124 ssh2",
        auth,
        json!({"authmethod": "password", "username": "test", "authstatus": "Failed",
               "success": false, "sourceipaddress": "192.0.2.4", "sourceport": "39124",
               "invaliduser": true}),
    );
    check(
        "sshd",
        "Invalid user test from 192.0.2.4 port 39124",
        auth,
        json!({"username": "test", "sourceipaddress": "192.0.2.4", "sourceport": "39124",
               "authstatus": "Invalid", "success": false, "invaliduser": true}),
    );
    check(
        "sshd",
        "error: maximum authentication attempts exceeded for invalid user admin from 192.0.2.4 port 39124 ssh2 [preauth]",
        auth,
        json!({"username": "admin", "sourceipaddress": "192.0.2.4", "sourceport": "39124",
               "authstatus": "Failed", "success": false,
               "failure": "maximum authentication attempts exceeded", "invaliduser": true}),
    );
    check(
        "sshd",
        "Disconnecting authenticating user root 192.0.2.4 port 39124: Too many authentication failures [preauth]",
        auth,
        json!({"username": "root", "sourceipaddress": "192.0.2.4", "sourceport": "39124",
               "disconnect": "disconnecting", "reason": "Too many authentication failures",
               "authstatus": "Failed", "success": false,
               "failure": "too many authentication failures"}),
    );
    check(
        "sshd",
        "Did not receive identification string from 192.0.2.4 port 39124",
        auth,
        json!({"sourceipaddress": "192.0.2.4", "sourceport": "39124", "disconnect": "preauth"}),
    );
    check(
        "sshd",
        "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.4  user=root",
        auth,
        json!({"username": "root", "uid": "0", "euid": "0", "tty": "ssh",
               "sourceipaddress": "192.0.2.4", "success": false, "authstatus": "Failed",
               "failure": "more authentication failures", "count": "5"}),
    );
    check(
        "sshd",
        "Connection closed by scanner.example.net port 40000 [preauth]",
        auth,
        json!({"sourcehostname": "scanner.example.net", "sourceport": "40000",
               "disconnect": "closed", "preauth": true}),
    );
    none("sshd", "Connection closed by");
    none("sshd", "Disconnected from");
    none("sshd", "Failed password for root from");
}

#[test]
fn kernel_promiscuous_mode() {
    let p = parse_by_program("kernel", "device eth0 entered promiscuous mode").unwrap();
    assert_eq!(
        p.category, None,
        "the category stays syslog (MozDef's promisc rule)"
    );
    assert_eq!(p.tags, vec!["promiscuous"]);
    check(
        "kernel",
        "device eth0 entered promiscuous mode",
        None,
        json!({"device": "eth0", "promiscuous": true}),
    );
    check(
        "kernel",
        "device veth1a2b3c left promiscuous mode",
        None,
        json!({"device": "veth1a2b3c", "promiscuous": false}),
    );
    check(
        "kernel",
        "[ 1234.567890] ens3: entered promiscuous mode",
        None,
        json!({"device": "ens3", "promiscuous": true}),
    );
    none("kernel", "device eth0 entered");
    none(
        "kernel",
        "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex",
    );
    // Audit records the kernel prints still go to the auditd parser.
    let p = parse_by_program(
        "kernel",
        "audit: type=1700 audit(1700000000.123:42): dev=eth0 prom=256 old_prom=0 auid=1000 uid=0 gid=0 ses=2",
    )
    .unwrap();
    assert_eq!(p.parser, "auditd");
}
