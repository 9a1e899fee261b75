//! The benchmark event mix: sshd logins and failures, sudo, proxy and web events from a
//! deterministic generator, as MozDef JSON documents. `ferrodef bench` sends them (ingest,
//! detect, store benchmarks) and the engines' criterion benches evaluate them, so that every
//! benchmark measures the same events.

use chrono::{DateTime, SecondsFormat};
use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*), enough for varied test data.
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

/// When the generated events happen.
#[derive(Debug, Clone, Copy)]
pub enum Times {
    /// At random within the `spread_ms` before `now_ms`.
    Random {
        /// Milliseconds covered.
        spread_ms: i64,
        /// The latest time.
        now_ms: i64,
    },
    /// All at `at_ms` (criterion benches: the same events at every run).
    Fixed {
        /// The time.
        at_ms: i64,
    },
    /// Event `i` of `events` at `i / events` of the `spread_ms` before `now_ms` (oldest
    /// first), within a second.
    Ordered {
        /// Milliseconds covered.
        spread_ms: i64,
        /// The latest time.
        now_ms: i64,
        /// Events of the run.
        events: usize,
    },
}

/// Generates event number `i` of a run, as a MozDef JSON document, at a random time within
/// `spread_ms` before `now_ms`.
pub fn generate(i: usize, run: &str, spread_ms: i64, needle: bool, now_ms: i64) -> Value {
    generate_at(i, run, Times::Random { spread_ms, now_ms }, needle)
}

/// Generates event number `i` of a run, as a MozDef JSON document, at a time set by `times`.
pub fn generate_at(i: usize, run: &str, times: Times, needle: bool) -> Value {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64).wrapping_mul(0x1000_0000_01B3) | 1);
    let t = match times {
        Times::Random { spread_ms, now_ms } => now_ms - (r.below(spread_ms.max(1) as u64) as i64),
        Times::Fixed { at_ms } => {
            // The same draws as `Random` over a minute: the same events but for their time.
            r.below(60_000);
            at_ms
        }
        Times::Ordered {
            spread_ms,
            now_ms,
            events,
        } => {
            let jitter = r.below(1000) as i64;
            let step = (i as i128 * i128::from(spread_ms.max(1)) / events.max(1) as i128) as i64;
            (now_ms - spread_ms + step + jitter).min(now_ms)
        }
    };
    let ts = DateTime::from_timestamp_millis(t)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let src = if needle {
        "203.0.113.7".to_string()
    } else {
        r.ip()
    };
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
            json!({"utctimestamp": ts, "category": "syslog", "hostname": host, "processname": "sshd",
                   "processid": pid.to_string(), "severity": "INFO", "summary": summary, "tags": ["syslog"],
                   "details": {"program": "sshd", "sourceipaddress": src, "username": user,
                               "success": success, "benchrun": run}})
        }
        4 | 5 => {
            json!({"utctimestamp": ts, "category": "syslog", "hostname": host, "processname": "sudo",
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
            json!({"utctimestamp": ts, "category": "proxy", "hostname": "proxy-1.example.com", "processname": "squid",
                   "severity": "INFO", "summary": format!("{src} {action} GET http://{dst}/"),
                   "details": {"sourceipaddress": src, "destination": format!("http://{dst}/"), "host": dst,
                               "method": "GET", "proxyaction": action, "status": 200 + 100 * (r.below(3) as i64),
                               "bytes": r.below(100_000), "useragent": r.pick(&UAS), "benchrun": run}})
        }
        _ => {
            let url = r.pick(&URLS);
            let status = [200, 200, 301, 404, 403, 500][r.below(6) as usize];
            json!({"utctimestamp": ts, "category": "web", "hostname": host, "processname": "nginx",
                   "severity": "INFO", "summary": format!("{src} GET {url} {status}"),
                   "details": {"sourceipaddress": src, "method": "GET", "url": url, "status": status,
                               "bytes": r.below(50_000), "useragent": r.pick(&UAS), "benchrun": run}})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_deterministic_and_needles_carry_their_address() {
        let at_ms = 1_764_496_800_000; // 2025-11-30T10:00:00Z
        let fixed = Times::Fixed { at_ms };
        let a: Vec<Value> = (0..50).map(|i| generate_at(i, "r", fixed, false)).collect();
        let b: Vec<Value> = (0..50).map(|i| generate_at(i, "r", fixed, false)).collect();
        assert_eq!(a, b);
        assert!(a
            .iter()
            .all(|e| e["utctimestamp"] == "2025-11-30T10:00:00.000Z"));
        let categories: std::collections::HashSet<&str> =
            a.iter().filter_map(|e| e["category"].as_str()).collect();
        assert!(categories.len() >= 3, "{categories:?}");
        let needle = generate_at(7, "r", fixed, true);
        assert_eq!(needle["details"]["sourceipaddress"], "203.0.113.7");
        let random = Times::Random {
            spread_ms: 3_600_000,
            now_ms: at_ms,
        };
        for i in 0..50 {
            let t = generate_at(i, "r", random, false)["utctimestamp"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp_millis())
                .unwrap_or_default();
            assert!((at_ms - 3_600_000..=at_ms).contains(&t), "{t}");
        }
    }
}
