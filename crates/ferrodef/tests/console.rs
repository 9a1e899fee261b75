//! The web console in a real browser: `ferrodef serve` with known events and a GeoIP city
//! database, then the browser tests of crates/console/web/e2e (headless Chromium through
//! playwright-core, both installed by scripts/test and the console's build). Screenshots:
//! target/console-screenshots/*.png.

mod common;
#[path = "../../transforms/tests/support/geoip_fixture.rs"]
mod geoip_fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, Utc};
use common::Server;
use serde_json::json;

/// 20 authentications over the last hour (12 succeeded from 203.0.113.7, 8 failed from
/// 198.51.100.23, on web-1 and web-2) and 10 sshd events: what e2e/console.test.mjs expects.
fn events() -> String {
    let now = Utc::now();
    let mut lines = Vec::new();
    for i in 0..20i64 {
        let ok = i < 12;
        let at = now - Duration::minutes(2 + i * 3);
        lines.push(json!({
            "utctimestamp": at.to_rfc3339(),
            "category": "authentication",
            "hostname": if i % 2 == 0 { "web-1" } else { "web-2" },
            "processname": "sshd",
            "severity": if ok { "INFO" } else { "WARNING" },
            "summary": if ok { format!("Accepted password for alice{i}") } else { format!("Failed password for root{i}") },
            "tags": ["auth", "ssh"],
            "details": {
                "sourceipaddress": if ok { "203.0.113.7" } else { "198.51.100.23" },
                "username": if ok { format!("alice{i}") } else { format!("root{i}") },
                "success": ok,
            },
        }));
    }
    for i in 0..10i64 {
        lines.push(json!({
            "utctimestamp": (now - Duration::minutes(1 + i * 5)).to_rfc3339(),
            "category": "syslog",
            "hostname": "db-1",
            "summary": format!("connection {i} closed"),
            "details": {"port": 5432 + i},
        }));
    }
    lines
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect::<String>()
}

/// An HTTP receiver on loopback that answers 200 to every request (after reading its body);
/// returns its URL.
fn webhook_ok() -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the webhook receiver");
    let url = format!(
        "http://{}/hook",
        l.local_addr().expect("the receiver's address")
    );
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let n = c.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                let Some(end) = text.find("\r\n\r\n") else {
                    continue;
                };
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    url
}

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/web")
}

#[test]
fn console_in_headless_chromium() {
    let chromium =
        std::env::var("FERRODEF_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: the browser tests need Debian's chromium (scripts/test installs it)"
    );
    let web = console_dir();
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules is missing: building ferrodef-console installs it (npm ci)",
        web.display()
    );

    // The first start creates `admin` with common::ADMIN_PASSWORD; the browser tests log in
    // with it.
    // GeoIP databases in MaxMind's format, built for the test (no dependency on the shared
    // corpora): 81.2.69.0/24 is London, GB (as in MaxMind's own test database), so the attacker
    // the browser tests create has a real place on the map.
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = geoip_fixture::write(dir.path());
    let cfg = dir.path().join("ferrodef.toml");
    // A notifier for the bruteforce alert the browser tests raise: the health page shows its
    // delivery.
    let hook = webhook_ok();
    std::fs::write(
        &cfg,
        format!(
            "[transforms.geoip]\ncity_db = \"{}\"\nasn_db = \"{}\"\n\
             [notify]\n[[notify.notifiers]]\nname = \"soc\"\n\
             route = {{ categories = [\"bruteforce\"] }}\n\
             [notify.notifiers.webhook]\nurl = {hook:?}\n",
            geo.city.display(),
            geo.asn.display()
        ),
    )
    .expect("write the config");
    let server = Server::start_in(
        &dir.path().join("data"),
        &["--config", &cfg.to_string_lossy()],
    );
    let (status, body) = server.post("/_bulk", "application/x-ndjson", events());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 30, "{body}");
    assert_eq!(server.wait_total("*", 30), 30);

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "e2e/console.test.mjs"])
        .current_dir(&web)
        .env("FERRODEF_URL", &server.url)
        .env("FERRODEF_SCREENSHOTS", &shots)
        .env("FERRODEF_CHROMIUM", &chromium)
        .env("FERRODEF_USER", "admin")
        .env("FERRODEF_PASSWORD", common::ADMIN_PASSWORD)
        .env("FERRODEF_ATTACKER_IP", "81.2.69.160")
        .env("FERRODEF_ATTACKER_COUNTRY", "United Kingdom")
        .output()
        .expect("run node (Node.js is needed to build and test the console)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "browser tests failed ({}); screenshots in {}",
        out.status,
        shots.display()
    );
    // The runner ran the tests (not zero of them) and none failed.
    let count = |what: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim_start_matches("ℹ ").strip_prefix(what))
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    assert!(
        count("pass ").is_some_and(|n| n >= 10),
        "too few browser tests ran:\n{stdout}"
    );
    assert_eq!(count("fail "), Some(0), "{stdout}");
}
