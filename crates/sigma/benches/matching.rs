//! Rule engine throughput: all 263 corpus rules (linux + network) loaded, a realistic
//! ferrodef event mix (syslog lines of sshd/cron/sudo/kernel, auditd execve and account
//! events, a few network device lines), plus the Windows regression rules on their samples.
//! Run: `cargo bench -p ferrodef-sigma --bench matching` (needs the shared corpora).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodef_sigma::{regression, SigmaRules};
use serde_json::{json, Value};

#[path = "support/mix.rs"]
mod mix;

fn corpora() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("FERRODEF_CORPORA") {
        Some(d) => root.join(d),
        None => root.join("../shared/corpora"),
    }
}

fn syslog(host: &str, program: &str, summary: &str) -> Value {
    json!({
        "utctimestamp": "2026-05-01T10:00:00+00:00", "receivedtimestamp": "2026-05-01T10:00:00+00:00",
        "category": "syslog", "hostname": host, "processname": program, "severity": "INFO",
        "summary": summary, "tags": ["syslog"], "details": {"program": program}
    })
}

fn execve(exe: &str, args: &[&str]) -> Value {
    json!({
        "utctimestamp": "2026-05-01T10:00:00+00:00", "receivedtimestamp": "2026-05-01T10:00:00+00:00",
        "category": "execution", "hostname": "web1", "processname": "auditd", "severity": "INFO",
        "summary": format!("execve {}", args.join(" ")), "tags": ["auditd"],
        "details": {"audittype": "SYSCALL", "recordtypes": ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"],
                    "syscall": "execve", "exe": exe, "args": args, "command": args.join(" "),
                    "cwd": "/home/alice", "uid": "1000", "auid": "1000", "username": "alice", "ses": "3",
                    "pid": "4242", "ppid": "4000", "success": true, "paths": [exe]}
    })
}

/// 100 events in the proportions of a Linux fleet's stream.
pub fn linux_mix() -> Vec<Value> {
    let mut v = Vec::new();
    for i in 0..30 {
        v.push(syslog(
            "web1",
            "sshd",
            &format!(
                "Accepted publickey for alice from 10.0.0.{i} port 50022 ssh2: RSA SHA256:abc"
            ),
        ));
    }
    for i in 0..15 {
        v.push(syslog(
            "web1",
            "sshd",
            &format!("Failed password for invalid user admin from 203.0.113.{i} port 4711 ssh2"),
        ));
    }
    for _ in 0..10 {
        v.push(syslog(
            "web1",
            "CRON",
            "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        ));
    }
    for _ in 0..10 {
        v.push(syslog(
            "web1",
            "sudo",
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update",
        ));
    }
    for _ in 0..5 {
        v.push(syslog(
            "web1",
            "kernel",
            "device eth0 entered promiscuous mode",
        ));
    }
    for _ in 0..5 {
        v.push(syslog(
            "web1",
            "systemd",
            "Started Session 42 of user alice.",
        ));
    }
    let cmds: [&[&str]; 10] = [
        &["ls", "-la"],
        &["cat", "/etc/passwd"],
        &["grep", "-r", "foo", "."],
        &["ps", "aux"],
        &["curl", "-s", "https://example.com"],
        &["python3", "app.py"],
        &["git", "status"],
        &["vim", "notes.txt"],
        &["tar", "czf", "b.tgz", "dir"],
        &["id"],
    ];
    for c in cmds.iter().cycle().take(20) {
        v.push(execve(&format!("/usr/bin/{}", c[0]), c));
    }
    for _ in 0..5 {
        v.push(syslog(
            "core1",
            "cisco",
            "%SYS-5-CONFIG_I: Configured from console by admin on vty0",
        ));
    }
    v
}

fn bench(c: &mut Criterion) {
    let (rules, problems) = SigmaRules::load_dir(&corpora().join("sigma/rules"));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(rules.len(), 263);
    let events = linux_mix();
    let mut g = c.benchmark_group("sigma");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("263_rules_linux_mix", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &events {
                rules.for_each_match(e, |_| n += 1);
            }
            n
        })
    });
    for (name, events) in [
        ("263_rules_ingest_mix", mix::realistic_mix(1000)),
        (
            "263_rules_ingest_mix_10pct_matching",
            mix::matching_mix(1000),
        ),
    ] {
        g.throughput(Throughput::Elements(events.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for e in &events {
                    rules.for_each_match(e, |_| n += 1);
                }
                n
            })
        });
    }
    let win = corpora().join("sigma/regression_windows");
    let (wrules, _) = SigmaRules::load_dir(&win);
    let mut all = Vec::new();
    collect(&win.join("regression_data"), &mut all);
    let wevents: Vec<Value> = all
        .iter()
        .flat_map(|p| regression::read_events(p).unwrap_or_default())
        .collect();
    g.throughput(Throughput::Elements(wevents.len() as u64));
    g.bench_function("windows_regression_rules_samples", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &wevents {
                wrules.for_each_match(e, |_| n += 1);
            }
            n
        })
    });
    g.finish();
}

fn collect(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
