//! The transform pipeline through the real server: GeoIP, ip fix-up, watchlists, drop rules.

mod common;

use common::Server;
use serde_json::json;

#[test]
fn transforms_enrich_tag_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let corpora = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/geoip");
    let watch = dir.path().join("watchlist.txt");
    std::fs::write(&watch, "watch ip 203.0.113.7\nblock user mallory\n").unwrap();
    let cfg = dir.path().join("ferrodef.toml");
    std::fs::write(
        &cfg,
        format!(
            "[transforms]\norder = [\"drop\", \"ipfixup\", \"geoip\", \"watchlist\"]\ndrop = [\"category=noise\"]\n\
             [transforms.geoip]\ncountry_db = \"{corpora}/country_mmdb/iptoasn-country.mmdb\"\nasn_db = \"{corpora}/maxmind_test_data/GeoLite2-ASN-Test.mmdb\"\n\
             [transforms.watchlist]\nfile = \"{}\"\n",
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
