//! The transform pipeline through the real server: GeoIP, ip fix-up, watchlists, drop rules.

mod common;
#[path = "../../transforms/tests/support/geoip_fixture.rs"]
mod geoip_fixture;

use common::Server;
use serde_json::json;

#[test]
fn transforms_enrich_tag_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let geo = geoip_fixture::write(dir.path());
    let watch = dir.path().join("watchlist.txt");
    std::fs::write(&watch, "watch ip 203.0.113.7\nblock user mallory\n").unwrap();
    let cfg = dir.path().join("ferrodef.toml");
    std::fs::write(
        &cfg,
        format!(
            "[transforms]\norder = [\"drop\", \"ipfixup\", \"geoip\", \"watchlist\"]\ndrop = [\"category=noise\"]\n\
             [transforms.geoip]\ncountry_db = \"{}\"\nasn_db = \"{}\"\n\
             [transforms.watchlist]\nfile = \"{}\"\n",
            geo.country.display(),
            geo.asn.display(),
            watch.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let s = Server::start_in(&data, &["--config", cfg.to_str().unwrap()]);
    let events = json!([
        {"category": "authentication", "summary": "from google dns", "details": {"sourceipaddress": "8.8.8.8"}},
        {"category": "authentication", "summary": "needle", "details": {"sourceipaddress": "203.0.113.7:4444"}},
        {"category": "authentication", "summary": "bad user", "details": {"username": "mallory", "sourceipaddress": "10.1.1.1"}},
        {"category": "noise", "summary": "dropped on purpose"}
    ]);
    let (st, v) = s.post_json("/_bulk", &events);
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["dropped"].as_u64()),
        (Some(3), Some(1)),
        "{v}"
    );
    assert_eq!(s.wait_total("category:authentication", 3), 3);
    assert_eq!(s.total("details.sourceipgeolocation.country_code:US"), 1);
    assert_eq!(s.total("tags:watchlist"), 1);
    assert_eq!(s.total("tags:blocklisted AND details.username:mallory"), 1);
    assert_eq!(
        s.total("details.sourceipaddress:203.0.113.7"),
        1,
        "ipfixup strips the port"
    );
    // 10.1.1.1 (private) and 203.0.113.7 (reserved for documentation).
    assert_eq!(s.total("details.sourceipprivate:true"), 2);
    assert_eq!(s.total("category:noise"), 0);
    let (_, r) = s.search_with("summary:needle", &[]);
    let plugins: Vec<&str> = r["hits"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(plugins, vec!["ipfixup", "watchlist"]);
    let (_, text) = s.get_text("/metrics");
    assert!(
        text.lines()
            .any(|l| l.starts_with("ferrodef_events_dropped_total{")
                && l.contains("drop")
                && l.ends_with(" 1")),
        "{text}"
    );
}

/// A real-looking sshd log goes in; failed logins per source IP come out of the aggregation API.
#[test]
fn failed_sshd_logins_per_source_ip() {
    let s = Server::start(&[]);
    let log = "\
Nov 22 10:00:01 bastion sshd[101]: Failed password for invalid user admin from 198.51.100.23 port 52311 ssh2
Nov 22 10:00:03 bastion sshd[101]: Failed password for invalid user admin from 198.51.100.23 port 52312 ssh2
Nov 22 10:00:05 bastion sshd[102]: Failed password for root from 198.51.100.23 port 52313 ssh2
Nov 22 10:00:07 bastion sshd[103]: Invalid user oracle from 203.0.113.50 port 40000
Nov 22 10:00:08 bastion sshd[103]: Failed password for invalid user oracle from 203.0.113.50 port 40000 ssh2
Nov 22 10:00:09 bastion sshd[104]: Accepted publickey for alice from 192.0.2.10 port 51000 ssh2: ED25519 SHA256:q1w2e3
Nov 22 10:00:10 bastion sshd[104]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)
Nov 22 10:00:11 bastion sshd[105]: Received disconnect from 203.0.113.50 port 40000:11: Bye Bye [preauth]
";
    // Imported as a file, the way an analyst would: `ferrodef ingest auth.log`.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.log");
    std::fs::write(&file, log).unwrap();
    let out = common::cli()
        .args(["ingest", "--quiet", "--server", &s.url])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("read 8 events") && stdout.contains("accepted 8"),
        "{stdout}"
    );
    assert_eq!(s.wait_total("*", 8), 8);
    let (st, v) = s.get("/api/aggregate?q=category:authentication%20AND%20details.authstatus:Failed&terms=details.sourceipaddress");
    assert_eq!(st, 200, "{v}");
    let buckets: Vec<(String, u64)> = v["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        buckets,
        vec![
            ("198.51.100.23".to_string(), 3),
            ("203.0.113.50".to_string(), 1)
        ]
    );
    assert_eq!(
        s.total("details.username:alice AND details.success:true"),
        1
    );
    assert_eq!(s.total("details.invaliduser:true"), 4);
}
