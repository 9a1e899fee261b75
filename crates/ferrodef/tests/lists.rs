//! The blocklist and the watchlist through the real server: adding, renewing, listing,
//! removing, expiry, the plain-text blocklist for firewalls, MozDef's `/blockip`,
//! `/watchitem` and `/getwatchlist`, refusals with their reasons, and lists that survive a
//! restart (rebuilt from their streams). Who may call what: tests/auth.rs.

mod common;

use std::time::Duration;

use common::{Server, ADMIN_PASSWORD};
use serde_json::{json, Value};

fn send(s: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut r = Server::client()
        .request(m, format!("{}{path}", s.url))
        .basic_auth("admin", Some(ADMIN_PASSWORD));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn values(v: &Value) -> Vec<String> {
    v["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["value"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn entries_are_added_renewed_listed_removed_and_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &[]);

    // An address, a network (normalized), a host name and a user name.
    let (st, a) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(
            json!({"kind": "ip", "value": "203.0.113.9", "reason": "ssh bruteforce", "expires": "30d"}),
        ),
    );
    assert_eq!(st, 201, "{a}");
    let e = &a["entry"];
    assert!(e["id"].as_str().unwrap().starts_with("bl-"), "{e}");
    assert_eq!(e["kind"], "ip");
    assert_eq!(e["creator"], "admin");
    assert_eq!(e["reason"], "ssh bruteforce");
    let expires = chrono::DateTime::parse_from_rfc3339(e["expires"].as_str().unwrap()).unwrap();
    let in_days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((719..=720).contains(&in_days), "{e}");
    let ip_id = e["id"].as_str().unwrap().to_string();
    // The kind is inferred for a network; the network is normalized.
    let (st, n) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(json!({"value": "198.51.100.77/24", "reason": "scanner net"})),
    );
    assert_eq!(st, 201, "{n}");
    assert_eq!(n["entry"]["kind"], "cidr");
    assert_eq!(n["entry"]["value"], "198.51.100.0/24");
    assert_eq!(n["entry"]["expires"], Value::Null);
    for (kind, value) in [("hostname", "Evil.Example.com"), ("username", "mallory")] {
        let (st, v) = send(
            &s,
            "POST",
            "/api/blocklist",
            Some(
                json!({"kind": kind, "value": value, "reason": "r", "expires": "2031-01-01T00:00:00Z"}),
            ),
        );
        assert_eq!(st, 201, "{v}");
    }
    // The same address again renews its entry: same id, new reason and expiry, 200.
    let (st, r) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(
            json!({"kind": "ip", "value": "203.0.113.9", "reason": "still at it", "expires": "1d"}),
        ),
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["created"], false);
    assert_eq!(r["entry"]["id"], ip_id.as_str());
    assert_eq!(r["entry"]["reason"], "still at it");

    let (st, list) = send(&s, "GET", "/api/blocklist", None);
    assert_eq!(st, 200);
    assert_eq!(list["total"], 4, "{list}");
    let mut got = values(&list);
    got.sort();
    assert_eq!(
        got,
        [
            "198.51.100.0/24",
            "203.0.113.9",
            "evil.example.com",
            "mallory"
        ]
    );
    let (_, only) = send(&s, "GET", "/api/blocklist?kind=username", None);
    assert_eq!(values(&only), ["mallory"]);
    let (_, q) = send(&s, "GET", "/api/blocklist?q=scanner", None);
    assert_eq!(values(&q), ["198.51.100.0/24"]);

    // The firewall's view: addresses and networks only, one a line, sorted.
    let (st, txt) = s.get_text("/api/blocklist.txt");
    assert_eq!(st, 200);
    assert_eq!(txt, "198.51.100.0/24\n203.0.113.9\n");

    // The watchlist is separate.
    let (st, w) = send(
        &s,
        "POST",
        "/api/watchlist",
        Some(
            json!({"kind": "username", "value": "contractor7", "reason": "offboarding", "expires": "7d"}),
        ),
    );
    assert_eq!(st, 201, "{w}");
    assert!(w["entry"]["id"].as_str().unwrap().starts_with("wl-"));
    let (_, wl) = send(&s, "GET", "/api/watchlist", None);
    assert_eq!(values(&wl), ["contractor7"]);

    // Removing.
    let (st, d) = send(&s, "DELETE", &format!("/api/blocklist/{ip_id}"), None);
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["removed"]["value"], "203.0.113.9");
    let (st, d) = send(&s, "DELETE", &format!("/api/blocklist/{ip_id}"), None);
    assert_eq!(st, 404, "{d}");
    assert!(d["error"].as_str().unwrap().contains(&ip_id), "{d}");
    assert_eq!(s.get_text("/api/blocklist.txt").1, "198.51.100.0/24\n");

    // Every change is a searchable record: who did what.
    // (searchable a moment after it is written)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let hist = loop {
        let (_, hist) = s.search_with(
            "action:remove",
            &[("stream", "blocklist"), ("from", "now-1h")],
        );
        if hist["total"] != 0 || std::time::Instant::now() > deadline {
            break hist;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(hist["total"], 1, "{hist}");
    assert_eq!(hist["hits"][0]["user"], "admin");
    assert_eq!(hist["hits"][0]["id"], ip_id.as_str());

    // A restart rebuilds both lists from their streams.
    drop(s.child.take().map(|mut c| {
        let _ = c.kill();
        c.wait()
    }));
    s = Server::start_in(tmp.path(), &[]);
    let (_, list) = send(&s, "GET", "/api/blocklist", None);
    let mut got = values(&list);
    got.sort();
    assert_eq!(got, ["198.51.100.0/24", "evil.example.com", "mallory"]);
    let (_, wl) = send(&s, "GET", "/api/watchlist", None);
    assert_eq!(values(&wl), ["contractor7"]);
    assert_eq!(s.get_text("/api/blocklist.txt").1, "198.51.100.0/24\n");
}

/// The server's lists expire entries by the real clock (the expiry itself, on a clock the
/// test moves, is tested in `ferrodef_api::lists`): an entry of two seconds is gone soon after.
#[test]
fn expired_entries_disappear() {
    let s = Server::start(&[]);
    let (st, v) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(json!({"value": "192.0.2.10", "reason": "short", "expires": "2s"})),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(s.get_text("/api/blocklist.txt").1, "192.0.2.10\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s.get_text("/api/blocklist.txt").1.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the entry did not expire"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, list) = send(&s, "GET", "/api/blocklist", None);
    assert_eq!(list["total"], 0, "{list}");
    // An expired entry's value can be added again, as a new entry.
    let (st, v) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(json!({"value": "192.0.2.10", "reason": "back"})),
    );
    assert_eq!(st, 201, "{v}");
}

#[test]
fn bad_entries_are_refused_with_their_reason() {
    let s = Server::start(&[]);
    for (body, field, says) in [
        (
            json!({"kind": "ip", "value": "not-an-ip", "reason": "r"}),
            "value",
            "not an IP address",
        ),
        (
            json!({"kind": "ip", "value": "127.0.0.1", "reason": "r"}),
            "value",
            "loopback",
        ),
        (
            json!({"kind": "cidr", "value": "0.0.0.0/0", "reason": "r"}),
            "value",
            "wider than a /8",
        ),
        (
            json!({"kind": "hostname", "value": "a b.example", "reason": "r"}),
            "value",
            "not a host name",
        ),
        (
            json!({"kind": "domain", "value": "x.example", "reason": "r"}),
            "kind",
            "unknown kind",
        ),
        (
            json!({"value": "somebody", "reason": "r"}),
            "kind",
            "missing",
        ),
        (
            json!({"kind": "ip", "value": "192.0.2.1", "reason": "  "}),
            "reason",
            "say why",
        ),
        (
            json!({"kind": "ip", "value": "192.0.2.1", "reason": "r", "expires": "3 days"}),
            "expires",
            "not a time",
        ),
        (
            json!({"kind": "ip", "value": "192.0.2.1", "reason": "r", "expires": "2020-01-01T00:00:00Z"}),
            "expires",
            "not in the future",
        ),
        (
            json!({"kind": "ip", "value": "192.0.2.1", "reason": "r", "expires": "5y"}),
            "expires",
            "unknown unit",
        ),
    ] {
        let (st, v) = send(&s, "POST", "/api/blocklist", Some(body.clone()));
        assert_eq!(st, 400, "{body}: {v}");
        assert_eq!(v["parameter"], field, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    // Not JSON at all.
    let (st, v) = s.post_json_as_admin("/api/blocklist", &json!("x"));
    assert_eq!(st, 400, "{v}");
    // The watchlist takes what a firewall must never get: loopback is fine there.
    let (st, v) = send(
        &s,
        "POST",
        "/api/watchlist",
        Some(json!({"kind": "ip", "value": "127.0.0.1", "reason": "local oddities"})),
    );
    assert_eq!(st, 201, "{v}");
    let (_, list) = send(&s, "GET", "/api/blocklist", None);
    assert_eq!(list["total"], 0);
}

#[test]
fn mozdef_blockip_watchitem_and_getwatchlist() {
    let s = Server::start(&[]);
    // MozDef's console sent a list of one-field objects; scripts send an object.
    let (st, v) = send(
        &s,
        "POST",
        "/blockip",
        Some(
            json!([{"ipaddress": "81.2.69.160"}, {"duration": "12hr"}, {"comment": "from MozDef"}, {"referenceid": "INC-7"}, {"IPBlockList": true}]),
        ),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["entry"]["kind"], "ip");
    assert_eq!(v["entry"]["reason"], "from MozDef (reference INC-7)");
    let exp = chrono::DateTime::parse_from_rfc3339(v["entry"]["expires"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let hours = (exp - chrono::Utc::now()).num_minutes();
    assert!((715..=720).contains(&hours), "12 hours: {v}");
    // No duration: one hour, as MozDef; the same address renews its entry.
    let (st, v) = send(
        &s,
        "POST",
        "/blockip",
        Some(json!({"ipaddress": "81.2.69.160"})),
    );
    assert_eq!(st, 200, "{v}");
    let exp = chrono::DateTime::parse_from_rfc3339(v["entry"]["expires"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        (55..=60).contains(&(exp - chrono::Utc::now()).num_minutes()),
        "{v}"
    );
    assert_eq!(v["entry"]["reason"], "added through /blockip");
    // A network; private and reserved addresses refused, as MozDef.
    let (st, v) = send(
        &s,
        "POST",
        "/blockip",
        Some(json!({"ipaddress": "81.2.70.0/24", "duration": "1w"})),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["entry"]["kind"], "cidr");
    for ip in ["10.1.2.3", "192.168.0.0/16", "fd00::1", "not an address"] {
        let (st, v) = send(&s, "POST", "/blockip", Some(json!({"ipaddress": ip})));
        assert_eq!(st, 400, "{ip}: {v}");
        assert_eq!(v["parameter"], "ipaddress", "{ip}: {v}");
    }
    let (st, v) = send(&s, "POST", "/blockip", Some(json!({"duration": "1d"})));
    assert_eq!(
        (st, v["parameter"].as_str()),
        (400, Some("ipaddress")),
        "{v}"
    );
    let (st, v) = send(
        &s,
        "POST",
        "/blockip",
        Some(json!({"ipaddress": "81.2.69.161", "duration": "forever"})),
    );
    assert_eq!((st, v["parameter"].as_str()), (400, Some("expires")), "{v}");
    assert_eq!(
        s.get_text("/api/blocklist.txt").1,
        "81.2.69.160\n81.2.70.0/24\n"
    );

    // /watchitem: the content's kind is inferred; content already watched is a 409.
    for (content, kind) in [
        ("81.2.69.1", "ip"),
        ("badhost.example.com", "hostname"),
        ("jdoe", "username"),
    ] {
        let (st, v) = send(
            &s,
            "POST",
            "/watchitem",
            Some(json!([{"watchcontent": content}, {"comment": "MozDef"}, {"duration": "1d"}])),
        );
        assert_eq!(st, 201, "{content}: {v}");
        assert_eq!(v["entry"]["kind"], kind, "{content}: {v}");
    }
    let (st, v) = send(
        &s,
        "POST",
        "/watchitem",
        Some(json!({"watchcontent": "jdoe"})),
    );
    assert_eq!(st, 409, "{v}");
    let (st, v) = send(&s, "POST", "/watchitem", Some(json!({"watchcontent": "j"})));
    assert_eq!(
        (st, v["parameter"].as_str()),
        (400, Some("watchcontent")),
        "{v}"
    );
    // /getwatchlist: the contents in force, newest first.
    let (st, v) = send(&s, "GET", "/getwatchlist", None);
    assert_eq!(st, 200);
    let mut got: Vec<String> = serde_json::from_value(v).unwrap();
    got.sort();
    assert_eq!(got, ["81.2.69.1", "badhost.example.com", "jdoe"]);
}

#[test]
fn the_plain_text_blocklist_takes_a_token_in_its_url() {
    let s = Server::start(&[]);
    let (st, _) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(json!({"value": "203.0.113.50", "reason": "r"})),
    );
    assert_eq!(st, 201);
    let (st, t) = send(
        &s,
        "POST",
        "/api/tokens",
        Some(json!({"name": "firewall", "role": "viewer", "source": "fw1"})),
    );
    assert_eq!(st, 201, "{t}");
    let token = t["token"].as_str().unwrap();
    let get = |path: &str| {
        let r = Server::client()
            .get(format!("{}{path}", s.url))
            .send()
            .unwrap();
        let ctype = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (r.status().as_u16(), ctype, r.text().unwrap())
    };
    let (st, ctype, body) = get(&format!("/api/blocklist.txt?token={token}"));
    assert_eq!(st, 200, "{body}");
    assert_eq!(ctype, "text/plain; charset=utf-8");
    assert_eq!(body, "203.0.113.50\n");
    // Nowhere else: a token in the query string of another endpoint is ignored (401).
    assert_eq!(get(&format!("/api/blocklist?token={token}")).0, 401);
    assert_eq!(get("/api/blocklist.txt").0, 401);
    assert_eq!(
        get("/api/blocklist.txt?token=fdt_000000000000_wrong").0,
        401
    );
}

/// Waits (up to 15 s) until `q` matches one event; returns it.
fn wait_event(s: &Server, q: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (st, v) = s.search_with(q, &[("size", "1")]);
        assert_eq!(st, 200, "{v}");
        if let Some(hit) = v["hits"].as_array().and_then(|h| h.first()) {
            return hit.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no event matches {q}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn login_event(s: &Server, marker: &str, src: &str, user: &str) {
    let (st, v) = s.post_json(
        "/events",
        &json!({"category": "authentication", "hostname": "bastion-1.example.com",
                "summary": format!("login {marker}"), "severity": "INFO",
                "details": {"sourceipaddress": src, "username": user, "marker": marker}}),
    );
    assert_eq!(st, 200, "{v}");
}

#[test]
fn the_consoles_lists_tag_events_and_the_watchlist_alerts_without_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &[]);

    // Nothing listed: nothing tagged.
    login_event(&s, "m0", "203.0.113.77", "mallory");
    let e = wait_event(&s, "details.marker:m0");
    assert!(e["tags"].as_array().is_none_or(|t| t.is_empty()), "{e}");

    // Watched through the API: the next event from that address is tagged, names the entry,
    // and the watchlist rule alerts on it, with no restart.
    let (st, w) = send(
        &s,
        "POST",
        "/api/watchlist",
        Some(json!({"value": "203.0.113.77", "reason": "seen in an incident", "expires": "1h"})),
    );
    assert_eq!(st, 201, "{w}");
    let watch_id = w["entry"]["id"].as_str().unwrap().to_string();
    // A blocked user (MozDef's /blockip is addresses only: the API's list).
    let (st, b) = send(
        &s,
        "POST",
        "/api/blocklist",
        Some(json!({"kind": "username", "value": "mallory", "reason": "compromised"})),
    );
    assert_eq!(st, 201, "{b}");
    login_event(&s, "m1", "203.0.113.77", "mallory");
    let e = wait_event(&s, "details.marker:m1");
    assert_eq!(e["tags"], json!(["watchlist", "blocklisted"]), "{e}");
    assert_eq!(e["details"]["watchlistterm"], "203.0.113.77");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let alert = loop {
        let (st, v) = send(&s, "GET", "/api/alerts?rule=get_watchlist", None);
        assert_eq!(st, 200, "{v}");
        if v["total"] == 1 {
            break v["alerts"][0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no watchlist alert: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(alert["category"], "watchlist");
    assert_eq!(alert["severity"], "WARNING");
    assert_eq!(
        alert["summary"],
        "Watchlist term 203.0.113.77 detected by mallory from 203.0.113.77 on bastion-1.example.com"
    );
    // MozDef's /watchitem feeds the same list: a host name.
    let (st, v) = send(
        &s,
        "POST",
        "/watchitem",
        Some(json!({"watchcontent": "Bastion-1.Example.com", "duration": "1d"})),
    );
    assert_eq!(st, 201, "{v}");
    login_event(&s, "m2", "192.0.2.10", "alice");
    let e = wait_event(&s, "details.marker:m2");
    assert_eq!(e["tags"], json!(["watchlist"]), "{e}");
    assert_eq!(e["details"]["watchlistterm"], "bastion-1.example.com");

    // Removed from the list: the address no longer tags (the host entry still would, so a
    // host that is not watched).
    let (st, _) = send(&s, "DELETE", &format!("/api/watchlist/{watch_id}"), None);
    assert_eq!(st, 200);
    let (st, v) = s.post_json(
        "/events",
        &json!({"category": "authentication", "hostname": "web-9", "summary": "login m3",
                "details": {"sourceipaddress": "203.0.113.77", "username": "bob", "marker": "m3"}}),
    );
    assert_eq!(st, 200, "{v}");
    let e = wait_event(&s, "details.marker:m3");
    assert!(e["tags"].as_array().is_none_or(|t| t.is_empty()), "{e}");

    // After a restart the lists in force are read back from their streams and tag again.
    s.stop();
    let s = Server::start_in(tmp.path(), &[]);
    login_event(&s, "m4", "198.51.100.1", "mallory");
    let e = wait_event(&s, "details.marker:m4");
    assert_eq!(e["tags"], json!(["watchlist", "blocklisted"]), "{e}");
    assert_eq!(e["details"]["watchlistterm"], "bastion-1.example.com");
}
