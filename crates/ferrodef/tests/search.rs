//! Search semantics and aggregations through the HTTP API and the CLI.

mod common;

use chrono::{Duration, SecondsFormat, Utc};
use common::Server;
use serde_json::{json, Value};

fn ago(hours: i64) -> String {
    (Utc::now() - Duration::hours(hours) - Duration::minutes(1))
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn fixture() -> Server {
    let s = Server::start(&[]);
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let events = json!([
        {"utctimestamp": now, "category": "authentication", "hostname": "web-1.example.com",
         "summary": "Failed password for invalid user admin from 10.1.2.3 port 22 ssh2",
         "details": {"sourceipaddress": "10.1.2.3", "username": "admin", "status": 401, "bytes": 1500, "success": false}},
        {"utctimestamp": now, "category": "authentication", "hostname": "web-2.example.com",
         "summary": "Accepted publickey for alice from 192.168.1.10 port 5000 ssh2",
         "details": {"sourceipaddress": "192.168.1.10", "username": "alice", "status": 200, "bytes": 300, "success": true}},
        {"utctimestamp": now, "category": "proxy", "hostname": "Proxy-1", "tags": ["squid", "proxy"],
         "summary": "TCP_DENIED CONNECT evil.example.com:8443",
         "details": {"sourceipaddress": "2001:db8::5", "destinationipaddress": "203.0.113.7", "status": 403, "bytes": 0, "proxyaction": "TCP_DENIED"}},
        {"utctimestamp": ago(3), "category": "web", "hostname": "web-1.example.com",
         "summary": "GET /index.html 500",
         "details": {"sourceipaddress": "172.16.5.4", "status": 500, "bytes": 99999, "url": "/index.html"}}
    ]);
    let (status, v) = s.post_json("/_bulk", &events);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 4, "{v}");
    assert_eq!(s.wait_total("*", 4), 4);
    s
}

#[test]
fn query_language_semantics() {
    let s = fixture();
    let cases: &[(&str, u64)] = &[
        ("", 4),
        ("*", 4),
        // analysed text vs exact keywords
        ("summary:failed", 1),
        ("FAILED", 1),
        ("summary:\"invalid user admin\"", 1),
        ("summary:\"admin invalid\"", 0),
        ("hostname:web-1.example.com", 2),
        ("hostname:web-1", 0),
        ("hostname:proxy-1", 0),
        ("hostname:Proxy-1", 1),
        ("hostname:\"Proxy-1\"", 1),
        // wildcards and regular expressions
        ("hostname:web-*", 3),
        ("hostname:web-?.example.com", 3),
        ("details.username:al*", 1),
        ("fail*", 1),
        ("hostname:/web-[12]\\.example\\.com/", 3),
        // ranges on numbers and times
        ("details.status:[400 TO 499]", 2),
        ("details.status:{200 TO 500}", 2),
        ("details.status:[200 TO 500]", 4),
        ("details.bytes:>=1500", 2),
        ("details.status:<300", 1),
        ("details.status:401", 1),
        ("utctimestamp:[now-1h TO now+1m]", 3),
        ("utctimestamp:<now-2h", 1),
        // IP fields: exact and CIDR, v4 and v6
        ("details.sourceipaddress:10.1.2.3", 1),
        ("details.sourceipaddress:10.0.0.0/8", 1),
        ("details.sourceipaddress:192.168.0.0/16", 1),
        ("details.sourceipaddress:172.16.0.0/12", 1),
        ("details.sourceipaddress:2001:db8::/32", 1),
        ("details.destinationipaddress:203.0.113.0/24", 1),
        ("details.sourceipaddress:[10.0.0.0 TO 10.255.255.255]", 1),
        // boolean logic
        ("category:authentication AND NOT details.username:admin", 1),
        ("category:proxy OR category:web", 2),
        ("(category:proxy OR category:web) AND details.status:500", 1),
        ("-category:authentication", 2),
        ("category:authentication details.username:alice", 1),
        ("category:(proxy OR web)", 2),
        // existence, lists, booleans, nested details
        ("_exists_:details.destinationipaddress", 1),
        ("_exists_:details.url", 1),
        ("NOT _exists_:details.url", 3),
        ("tags:squid", 1),
        ("details.success:false", 1),
        ("details.username:alice", 1),
        ("details.proxyaction:TCP_DENIED", 1),
    ];
    let mut failures = Vec::new();
    for (q, want) in cases {
        let got = s.total(q);
        if got != *want {
            failures.push(format!("{q:?}: want {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Exact times and the existence of the time fields (fast fields, not indexed).
    let (_, v) = s.search_with("category:web", &[]);
    let t = v["hits"][0]["utctimestamp"].as_str().unwrap().to_string();
    assert_eq!(s.total(&format!("utctimestamp:\"{t}\"")), 1, "{t}");
    assert_eq!(s.total("_exists_:utctimestamp"), 4);
    assert_eq!(s.total("_exists_:receivedtimestamp"), 4);
    assert_eq!(s.total("receivedtimestamp:[now-1h TO now+1m]"), 4);
    // `timestamp` (a date field of its own) answers as the other times do.
    let ts = v["hits"][0]["timestamp"].as_str().unwrap().to_string();
    assert_eq!(s.total(&format!("timestamp:\"{ts}\"")), 1, "{ts}");
    assert_eq!(s.total("_exists_:timestamp"), 4);
    assert_eq!(s.total("timestamp:[now-1h TO now+1m]"), 3);
    assert_eq!(s.total("timestamp:<now-2h"), 1);
}

#[test]
fn time_bounds_sort_size_and_errors() {
    let s = fixture();
    let (st, v) = s.search_with("*", &[("from", "now-2h")]);
    assert_eq!(st, 200);
    assert_eq!(v["total"], 3);
    let (_, v) = s.search_with("*", &[("to", "now-2h")]);
    assert_eq!(v["total"], 1);
    let (_, v) = s.search_with("*", &[("from", &ago(5)), ("to", &ago(2))]);
    assert_eq!(v["total"], 1);
    let (_, v) = s.search_with("*", &[("size", "1")]);
    assert_eq!(v["total"], 4);
    assert_eq!(v["hits"].as_array().unwrap().len(), 1);
    assert_ne!(v["hits"][0]["category"], "web", "newest first by default");
    let (_, v) = s.search_with("*", &[("sort", "utctimestamp:asc"), ("size", "1")]);
    assert_eq!(v["hits"][0]["category"], "web", "oldest first: {v}");

    // Syntax errors answer 400 with the position.
    let (st, v) = s.search_with("category:(auth", &[]);
    assert_eq!(st, 400, "{v}");
    assert!(v["position"].is_u64(), "{v}");
    let (st, v) = s.search_with("hostname:", &[]);
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["position"], 9, "{v}");
    let (st, v) = s.search_with("*", &[("from", "last tuesday")]);
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("from"), "{v}");
    let (st, v) = s.search_with("hostname:10.0.0.0/8", &[]);
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.search_with("*", &[("sort", "hostname:asc")]);
    assert_eq!(st, 400, "{v}");
}

fn buckets(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap_or_default().to_string(),
                b["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn aggregations() {
    let s = fixture();
    let (st, v) = s.get("/api/aggregate?q=*&terms=category");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["total"], 4);
    assert_eq!(
        buckets(&v["terms"]),
        vec![
            ("authentication".into(), 2),
            ("proxy".into(), 1),
            ("web".into(), 1)
        ]
    );
    let (_, v) =
        s.get("/api/aggregate?q=category:authentication&terms=details.sourceipaddress&interval=1h");
    let mut ips = buckets(&v["terms"]);
    ips.sort();
    assert_eq!(
        ips,
        vec![("10.1.2.3".into(), 1), ("192.168.1.10".into(), 1)]
    );
    let h = v["histogram"].as_array().unwrap();
    assert_eq!(
        h.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(),
        2
    );

    // A date histogram over the last 6 hours with a terms sub-aggregation.
    let (st, v) = s.get("/api/aggregate?q=*&from=now-6h&to=now&interval=1h&terms=category");
    assert_eq!(st, 200, "{v}");
    let h = v["histogram"].as_array().unwrap();
    assert!(h.len() >= 6, "empty buckets are kept: {v}");
    assert_eq!(
        h.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(),
        4
    );
    let web_bucket = h
        .iter()
        .find(|b| {
            b["terms"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x["key"] == "web"))
        })
        .unwrap();
    assert_eq!(web_bucket["count"], 1);
    let (_, v) = s.get("/api/aggregate?q=*");
    assert_eq!(v["total"], 4);
    let (st, v) = s.get("/api/aggregate?q=*&terms=summary");
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.get("/api/aggregate?q=*&interval=fortnight");
    assert_eq!(st, 400, "{v}");
}

#[test]
fn cli_search_table_and_json() {
    let s = fixture();
    let out = common::cli()
        .args([
            "search",
            "--server",
            &s.url,
            "category:authentication",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 2);
    let out = common::cli()
        .args(["search", "--server", &s.url, "hostname:web-*"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("UTCTIMESTAMP"), "{text}");
    assert!(text.contains("GET /index.html 500"), "{text}");
    assert!(text.contains("3 of 3 matching events"), "{text}");
    let out = common::cli()
        .args(["search", "--server", &s.url, "category:(auth"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("query syntax error") && err.contains('^'),
        "{err}"
    );
}

/// Hostile or absurd parameters answer 400 naming the limit (and the position in the query),
/// never a dropped connection (`get` panics on one).
#[test]
fn hostile_parameters_answer_400_naming_the_limit() {
    let s = fixture();
    let enc = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let cases: &[(&str, &str, &str)] = &[
        ("from", "now-264170y", "from"),
        ("from", "now-264169y", "years 0 to 9999"),
        ("to", "now+99999999d", "to"),
        ("from", "-262143-01-01T00:00:00Z", "from"),
        ("size", "99999999999999999999999", "limit"),
        ("size", "10001", "limit"),
        ("q", "utctimestamp:[now-300000y TO now]", "now-300000y"),
        ("q", "details.status:/a{1000}{1000}/", "too large"),
    ];
    for endpoint in ["/api/search", "/api/aggregate"] {
        for (param, value, says) in cases {
            let (st, v) = s.get(&format!("{endpoint}?{param}={}", enc(value)));
            assert_eq!(st, 400, "{endpoint} {param}={value}: {v}");
            let msg = v["error"].as_str().unwrap();
            assert!(msg.contains(says), "{endpoint} {param}={value}: {v}");
            assert_eq!(v["parameter"], *param, "{v}");
        }
    }
    let (_, v) = s.get(&format!(
        "/api/search?q={}",
        enc("utctimestamp:[now-300000y TO now]")
    ));
    assert_eq!(v["position"], 13, "{v}");
    let many = (0..1100)
        .map(|i| format!("u{i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let (st, v) = s.get(&format!(
        "/api/search?q={}",
        enc(&format!("details.username:({many})"))
    ));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("1024 clauses"), "{v}");
    assert!(v["position"].as_u64().unwrap() > 0, "{v}");
    let long = "a".repeat(ferrodef_query::MAX_QUERY_BYTES + 1);
    let (st, v) = s.get(&format!("/api/search?q={long}"));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("limit"), "{v}");
    // Aggregations: intervals that overflow or make too many buckets.
    for q in [
        "interval=99999999999999999999d",
        "interval=1ms&from=now-10y",
        "interval=1ms",
        "terms=category&size=100000",
    ] {
        let (st, v) = s.get(&format!("/api/aggregate?{q}"));
        assert_eq!(st, 400, "{q}: {v}");
    }
    // The server is still well.
    assert_eq!(s.total("*"), 4);
}

#[test]
fn cli_search_on_a_data_dir_reads_parameters_as_the_api_does() {
    let s = fixture();
    let out = common::cli()
        .args(["search", "--server", &s.url, "--from", "now-264170y", "*"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let remote = String::from_utf8_lossy(&out.stderr).to_string();
    // Stop the server (its data directory stays) and read the store directly.
    let dir = s.data_dir.clone();
    let mut s = s;
    if let Some(mut child) = s.child.take() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = common::cli()
        .args(["search", "--data-dir"])
        .arg(&dir)
        .args(["--from", "now-264170y", "*"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let local = String::from_utf8_lossy(&out.stderr).to_string();
    for err in [&remote, &local] {
        assert!(
            err.contains("parameter 'from'") && err.contains("now-264170y"),
            "{err}"
        );
    }
    let out = common::cli()
        .args(["search", "--format", "json", "--data-dir"])
        .arg(&dir)
        .arg("category:authentication")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 2);
}

/// `bench console` loads a store and times the console's screens through a logged-in session;
/// every request answers 200 and the numbers are those of the data loaded.
#[test]
fn bench_console_loads_and_times_the_consoles_screens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let out = std::process::Command::new(common::bin())
        .args(["bench", "console", "--data-dir"])
        .arg(&dir)
        .args([
            "--load",
            "--events",
            "4000",
            "--spread-hours",
            "48",
            "--needles",
            "4",
        ])
        .args([
            "--batch",
            "1000",
            "--cold-runs",
            "1",
            "--runs",
            "2",
            "--json",
        ])
        .env("FERRODEF_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(v["load"]["accepted"], 4000, "{v}");
    let screens = v["screens"].as_object().unwrap();
    for name in [
        "search_page",
        "needle_page",
        "top_details.sourceipaddress",
        "dashboard",
    ] {
        let s = &screens[name];
        assert_eq!(s["warm"]["runs"], 2, "{name}: {s}");
        assert_eq!(s["cold"]["runs"], 1, "{name}: {s}");
        for (label, r) in s["requests"].as_object().unwrap() {
            assert_eq!(r["failed"], json!([]), "{name} {label}: {r}");
        }
    }
    // Events over 48 h in time order: about half in the last 24 h; the needles evenly spread.
    let day = screens["search_page"]["requests"]["search"]["matches"]
        .as_u64()
        .unwrap();
    assert!((1800..=2200).contains(&day), "{day}");
    let needles = screens["needle_page"]["requests"]["search"]["matches"]
        .as_u64()
        .unwrap();
    assert!((1..=3).contains(&needles), "{needles}");
    assert_eq!(
        screens["dashboard"]["requests"].as_object().unwrap().len(),
        5
    );
}
