//! The ingest endpoints, end to end against the real server.

mod common;

use common::Server;
use serde_json::{json, Value};

#[test]
fn post_events_is_normalized_and_searchable() {
    let s = Server::start(&[]);
    // MozDef's own example, sent the way `curl -d` sends it.
    let (status, v) = s.post(
        "/events",
        "application/x-www-form-urlencoded",
        r#"{"category": "demo", "hostname": "localhost", "severity": "info", "summary": "This is a test", "details": {"sourceipaddress": "10.1.2.3", "username": "averez"}}"#,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 1);
    assert_eq!(s.wait_total("category:demo", 1), 1);
    let (_, r) = s.search_with("category:demo", &[]);
    let hit = &r["hits"][0];
    assert_eq!(hit["severity"], "INFO");
    assert_eq!(hit["hostname"], "localhost");
    assert_eq!(hit["summary"], "This is a test");
    assert_eq!(hit["details"]["username"], "averez");
    for f in [
        "utctimestamp",
        "receivedtimestamp",
        "timestamp",
        "mozdefhostname",
    ] {
        assert!(hit[f].is_string(), "{f} missing in {hit}");
    }
    assert!(chrono::DateTime::parse_from_rfc3339(hit["utctimestamp"].as_str().unwrap()).is_ok());
}

#[test]
fn bulk_accepts_es_bulk_array_and_ndjson() {
    let s = Server::start(&[]);
    let es = concat!(
        "{\"index\":{\"_index\":\"events\"}}\n",
        "{\"category\":\"bulk-es\",\"summary\":\"one\"}\n",
        "{\"create\":{}}\n",
        "{\"category\":\"bulk-es\",\"summary\":\"two\"}\n"
    );
    let (status, v) = s.post("/_bulk", "application/x-ndjson", es);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    let arr = json!([{"category": "bulk-arr", "summary": "a"}, {"category": "bulk-arr", "summary": "b"}, {"category": "bulk-arr", "summary": "c"}]);
    let (status, v) = s.post_json("/_bulk", &arr);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 3);
    let nd = "{\"category\":\"bulk-nd\",\"summary\":\"x\"}\n\n{\"category\":\"bulk-nd\",\"summary\":\"y\"}\n";
    let (status, v) = s.post("/_bulk", "application/x-ndjson", nd);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(s.wait_total("category:bulk-es", 2), 2);
    assert_eq!(s.wait_total("category:bulk-arr", 3), 3);
    assert_eq!(s.wait_total("category:bulk-nd", 2), 2);
}

#[test]
fn cef_nxlog_and_custom_endpoints() {
    let s = Server::start(&[]);
    let (status, v) = s.post_json(
        "/cef",
        &json!({"category": "cefjson", "summary": "from cef"}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.post_json(
        "/nxlog",
        &json!({"category": "nx", "summary": "from nxlog"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        s.wait_total("details.endpoint:cef AND category:cefjson", 1),
        1
    );
    assert_eq!(s.wait_total("details.endpoint:nxlog", 1), 1);

    // Custom documents are stored as sent, in their own stream.
    let doc = json!({"cve": "CVE-2024-0001", "score": 9.8, "asset": {"host": "db-1"}});
    let (status, v) = s.post_json("/custom/vulnerabilities", &doc);
    assert_eq!(status, 200, "{v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let hits = loop {
        let (st, r) = s.search_with("cve:CVE-2024-0001", &[("stream", "custom-vulnerabilities")]);
        assert_eq!(st, 200, "{r}");
        if r["total"] == 1 || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(hits["total"], 1, "{hits}");
    assert_eq!(hits["hits"][0], doc, "custom documents are not normalized");
    // ...and not in the events stream.
    assert_eq!(s.total("cve:CVE-2024-0001"), 0);
    let (status, v) = s.post_json("/custom/Bad%20Name", &doc);
    assert_eq!(status, 400, "{v}");
}

#[test]
fn status_health_metrics() {
    let s = Server::start(&[]);
    let (status, v) = s.get("/health");
    assert_eq!((status, v["status"].as_str()), (200, Some("ok")));
    let (status, v) = s.get("/status");
    assert_eq!(status, 200);
    assert_eq!(v["status"], "ok");
    assert!(v["peak_rss_bytes"].as_u64().unwrap_or(0) > 0, "{v}");

    s.post_json("/events", &json!({"summary": "counted"}));
    s.post(
        "/_bulk",
        "application/x-ndjson",
        "{\"summary\":\"ok\"}\n{not json}\n",
    );
    s.wait_total("counted", 1);
    // Wait (with a deadline) until both requests' events are committed and counted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (status, text) = loop {
        let (status, text) = s.get_text("/metrics");
        let settled = text.lines().any(|l| l == "ferrodef_events_pending 0")
            && text
                .lines()
                .any(|l| l.starts_with("ferrodef_events_indexed_total{source=\"http_bulk\"}"));
        if settled || std::time::Instant::now() > deadline {
            break (status, text);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status, 200);
    let metric = |name: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(
        metric("ferrodef_events_received_total{source=\"http_events\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric("ferrodef_events_accepted_total{source=\"http_events\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric("ferrodef_events_received_total{source=\"http_bulk\"}"),
        2.0,
        "{text}"
    );
    assert_eq!(
        metric("ferrodef_events_accepted_total{source=\"http_bulk\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric("ferrodef_events_rejected_total{source=\"http_bulk\""),
        1.0,
        "{text}"
    );
    assert_eq!(metric("ferrodef_events_indexed_total"), 2.0, "{text}");
    // Every commit that made events searchable is timed, and so is the wait of its oldest
    // event between acknowledgement and search (an idle server commits within the interval).
    let commits = metric("ferrodef_store_commits_total");
    assert!(commits >= 1.0, "{text}");
    assert_eq!(
        metric("ferrodef_store_commit_seconds_count"),
        commits,
        "{text}"
    );
    assert_eq!(
        metric("ferrodef_searchable_lag_seconds_count"),
        commits,
        "{text}"
    );
    let lag = metric("ferrodef_searchable_lag_seconds_sum");
    assert!(lag > 0.0, "{text}");
}

#[test]
fn bad_input_gets_clear_4xx() {
    let s = Server::start(&["--max-body-bytes", "1000"]);
    // Malformed JSON: 400 naming line and column.
    let (status, v) = s.post(
        "/events",
        "application/json",
        "{\"summary\": \"x\",\n \"oops\" }",
    );
    assert_eq!(status, 400, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains("line 2"), "{msg}");
    // Not an object.
    let (status, v) = s.post("/events", "application/json", "[1,2]");
    assert_eq!(status, 400, "{v}");
    // Unknown bulk action: reported with its line; the good document is kept.
    let body = "{\"index\":{}}\n{\"summary\":\"good one\",\"category\":\"mixed\"}\n{\"delete\":{\"_id\":\"1\"}}\n";
    let (status, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["rejected"], 1);
    assert_eq!(v["errors"][0]["line"], 3, "{v}");
    assert!(
        v["errors"][0]["error"].as_str().unwrap().contains("delete"),
        "{v}"
    );
    // Body over the limit.
    let big = format!("{{\"summary\":\"{}\"}}", "a".repeat(2000));
    let (status, v) = s.post("/events", "application/json", big);
    assert_eq!(status, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("1000"), "{v}");
    // Unparsable timestamp: 400 naming the field and the value.
    let (status, v) = s.post_json(
        "/events",
        &json!({"summary": "t", "utctimestamp": "yesterday-ish"}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("yesterday-ish"),
        "{v}"
    );
    // Wrong content type.
    let (status, v) = s.post("/events", "application/xml", "<event/>");
    assert_eq!(status, 415, "{v}");
    // A bulk body with some bad documents accepts the good ones and reports each bad one.
    let body = "{\"summary\":\"g1\",\"category\":\"mixed2\"}\n{bad\n{\"summary\":\"g2\",\"category\":\"mixed2\"}\n{\"summary\":\"b\",\"utctimestamp\":\"notatime\"}\n";
    let (status, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 4], "{v}");
    assert_eq!(s.wait_total("category:mixed2", 2), 2);
    // Only bad documents: 400.
    let (status, v) = s.post("/_bulk", "application/x-ndjson", "{bad\n");
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["line"], 1, "{v}");
    // Unknown endpoint.
    let (status, _) = s.get("/nope");
    assert_eq!(status, 404);
}

#[test]
fn four_mib_bulk_body_is_accepted() {
    let s = Server::start(&[]);
    let mut body = String::new();
    let mut n = 0u64;
    while body.len() < 4 << 20 {
        body.push_str(&format!(
            "{{\"category\":\"big\",\"summary\":\"event number {n} with some padding text to look like a real log line\",\"details\":{{\"n\":{n}}}}}\n"
        ));
        n += 1;
    }
    assert!(body.len() >= 4 << 20);
    let (status, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"].as_u64(), Some(n));
    assert_eq!(s.wait_total("category:big", n), n);
    let _: Value = v;
}
