//! Users, tokens, sessions and authorization, end to end on the real binary: every endpoint
//! against every kind of caller (one table: add a row for a new endpoint), CSRF, lockout,
//! first start, the `user`/`token` commands on a live data directory, cookies, HTTPS, and the
//! security events landing in the store as CEF with the prescribed fields.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use common::{Server, ADMIN_PASSWORD};
use ferrodef_api::policy::{self, Access};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};

fn client() -> Client {
    Server::client()
}

/// Runs a `ferrodef user|token ...` command on `dir`; returns stdout, failing on error.
fn cli(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(common::bin())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut si = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            si.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ferrodef {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A config file raising the per-address throttle: every test request comes from 127.0.0.1.
fn config(dir: &std::path::Path, extra: &str) -> String {
    let p = dir.join("auth-test.toml");
    std::fs::write(&p, format!("[auth]\nip_max_failures = 100000\n{extra}")).unwrap();
    p.display().to_string()
}

struct Session {
    cookie: String,
    csrf: String,
}

fn login(
    url: &str,
    user: &str,
    password: &str,
) -> (u16, Option<Session>, reqwest::header::HeaderMap) {
    let r = client()
        .post(format!("{url}/api/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let v: Value = r.json().unwrap();
    let cookie = headers
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    let s = cookie.map(|cookie| Session {
        cookie,
        csrf: v["csrf_token"].as_str().unwrap_or("").to_string(),
    });
    (status, s, headers)
}

/// One kind of caller.
struct Who {
    name: &'static str,
    auth: Box<dyn Fn(RequestBuilder) -> RequestBuilder>,
}

fn bearer(t: String) -> Box<dyn Fn(RequestBuilder) -> RequestBuilder> {
    Box::new(move |r| r.bearer_auth(&t))
}

fn basic(u: &'static str, p: &'static str) -> Box<dyn Fn(RequestBuilder) -> RequestBuilder> {
    Box::new(move |r| r.basic_auth(u, Some(p)))
}

fn token_of(dir: &std::path::Path, args: &[&str]) -> String {
    let mut a = vec!["token", "create"];
    a.extend_from_slice(args);
    cli(dir, &a, None).trim().to_string()
}

/// Searches the store as admin; returns the hits.
fn search(s: &Server, q: &str) -> Vec<Value> {
    let (status, v) = s.search_with(q, &[("size", "100")]);
    assert_eq!(status, 200, "{v}");
    v["hits"].as_array().cloned().unwrap_or_default()
}

/// Waits (up to 15 s) for `q` to match at least one event.
fn wait_hits(s: &Server, q: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let h = search(s, q);
        if !h.is_empty() {
            return h;
        }
        assert!(Instant::now() < deadline, "no event matches {q}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The values the matrix's paths and bodies name: made by the test before it runs the rows.
struct Ids {
    /// An admin's token (the admin's `DELETE /api/tokens/{id}` revokes it).
    victim_id: String,
    /// An entry of each list (the DELETE rows).
    block_id: String,
    watch_id: String,
    /// An incident.
    inc: String,
    /// An alert raised by a shipped rule, and the address it is about.
    alert: String,
    attacker: String,
    /// A viewer's token and a revoked one, for the rows with a token in the query string.
    viewer_q: String,
    revoked_q: String,
}

impl Ids {
    /// Stand-ins, for the check that every endpoint has a row (it sends nothing).
    fn placeholder() -> Ids {
        let x = || "x1".to_string();
        Ids {
            victim_id: x(),
            block_id: x(),
            watch_id: x(),
            inc: x(),
            alert: x(),
            attacker: "192.0.2.1".into(),
            viewer_q: x(),
            revoked_q: x(),
        }
    }
}

/// A row of the matrix: (method, path, body, content type, expected status for each caller of
/// `every_endpoint_against_every_caller`, in its order: anonymous viewer analyst admin ingest
/// revoked disabled locked). `{who}` in a body is the caller's name.
type Row = (&'static str, String, String, &'static str, [u16; 8]);

/// The rows, in the order they run (some change what later ones find). A new endpoint gets a
/// row here: `the_matrix_has_a_row_for_every_endpoint_and_policy_rule` fails until it has one.
fn rows(ids: &Ids) -> Vec<Row> {
    let Ids {
        victim_id,
        block_id,
        watch_id,
        inc,
        alert,
        attacker,
        viewer_q,
        revoked_q,
    } = ids;
    let ev = r#"{"summary":"authz row"}"#;
    // (method, path, body, content type, expected: anonymous viewer analyst admin ingest revoked disabled locked)
    let mut rows: Vec<Row> = vec![
        (
            "GET",
            "/health".into(),
            String::new(),
            "",
            [200, 200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/openapi.json".into(),
            String::new(),
            "",
            [200, 200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/search?q=*".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/aggregate?q=*&terms=category".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/status".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/metrics".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/me".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 200, 401, 401, 401],
        ),
        (
            "GET",
            "/api/users".into(),
            String::new(),
            "",
            [401, 403, 403, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/api/users".into(),
            r#"{"name":"new-{who}","role":"viewer","password":"new user password"}"#.into(),
            "application/json",
            [401, 403, 403, 201, 403, 401, 401, 401],
        ),
        (
            "PATCH",
            "/api/users/target1".into(),
            r#"{"disabled":false}"#.into(),
            "application/json",
            [401, 403, 403, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/api/users/target1/password".into(),
            r#"{"password":"target1 new password"}"#.into(),
            "application/json",
            [401, 403, 403, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/tokens".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/api/tokens".into(),
            r#"{"name":"t-{who}","role":"viewer"}"#.into(),
            "application/json",
            [401, 201, 201, 201, 403, 401, 401, 401],
        ),
        (
            "DELETE",
            format!("/api/tokens/{victim_id}"),
            String::new(),
            "",
            [401, 403, 403, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/events".into(),
            ev.into(),
            "application/json",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/_bulk".into(),
            ev.into(),
            "application/x-ndjson",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/cef".into(),
            "CEF:0|a|b|1|s|n|3|src=10.0.0.1".into(),
            "text/plain",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/nxlog".into(),
            ev.into(),
            "application/json",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/syslog".into(),
            "<13>Jan  1 00:00:00 h app: authz row".into(),
            "text/plain",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/custom/app1".into(),
            ev.into(),
            "application/json",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "GET",
            "/api/nothing-here".into(),
            String::new(),
            "",
            [401, 404, 404, 404, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/console/page".into(),
            String::new(),
            "",
            [404, 404, 404, 404, 404, 404, 404, 404],
        ),
        // The lists. Additions: a new value per caller (201); MozDef's /blockip renews the
        // address the analyst blocked (200). Removals: the analyst removes the entry, after
        // which the admin finds none (404).
        (
            "GET",
            "/api/blocklist".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/api/blocklist".into(),
            r#"{"kind":"hostname","value":"{who}.example.com","reason":"authz row","expires":"1d"}"#.into(),
            "application/json",
            [401, 403, 201, 201, 403, 401, 401, 401],
        ),
        (
            "DELETE",
            format!("/api/blocklist/{block_id}"),
            String::new(),
            "",
            [401, 403, 200, 404, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/blocklist.txt".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        // A token in the query string (firewalls): a viewer's works for anyone without other
        // credentials; a revoked one does not. Credentials in a header or cookie win.
        (
            "GET",
            format!("/api/blocklist.txt?token={viewer_q}"),
            String::new(),
            "",
            [200, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("/api/blocklist.txt?token={revoked_q}"),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/watchlist".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/api/watchlist".into(),
            r#"{"kind":"username","value":"{who}","reason":"authz row"}"#.into(),
            "application/json",
            [401, 403, 201, 201, 403, 401, 401, 401],
        ),
        (
            "DELETE",
            format!("/api/watchlist/{watch_id}"),
            String::new(),
            "",
            [401, 403, 200, 404, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/blockip".into(),
            r#"{"ipaddress":"81.2.69.200","duration":"1d","comment":"authz row"}"#.into(),
            "application/json",
            [401, 403, 201, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/watchitem".into(),
            r#"{"watchcontent":"{who}-watched","duration":"1d"}"#.into(),
            "application/json",
            [401, 403, 201, 201, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/getwatchlist".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        // Incidents: viewers read, analysts and admins change. The analyst moves the
        // incident to investigating, after which the admin's same move is refused (409).
        (
            "GET",
            "/api/incidents".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/api/incidents".into(),
            r#"{"title":"by {who}"}"#.into(),
            "application/json",
            [401, 403, 201, 201, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/incidents/veris".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("/api/incidents/{inc}"),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "PATCH",
            format!("/api/incidents/{inc}"),
            r#"{"summary":"edited by {who}"}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/incidents/{inc}/notes"),
            r#"{"text":"note by {who}"}"#.into(),
            "application/json",
            [401, 403, 201, 201, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/incidents/{inc}/status"),
            r#"{"status":"investigating"}"#.into(),
            "application/json",
            [401, 403, 200, 409, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/incidents/{inc}/tags"),
            r#"{"add":["actor.external"]}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/incidents/{inc}/alerts"),
            r#"{"unlink":["no-such-alert"]}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/incidents/{inc}/assign"),
            r#"{"assignee":"{who}"}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        // Alerts: viewers read, analysts and admins triage (every change is recorded, so the
        // admin's after the analyst's is accepted too). The live feed is checked by its status
        // only: its body does not end.
        (
            "GET",
            "/api/alerts".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/alerts/stream".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("/api/alerts/{alert}"),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/alerts/{alert}/status"),
            r#"{"status":"acknowledged"}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/alerts/{alert}/assign"),
            r#"{"assignee":"{who}"}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            format!("/api/alerts/{alert}/comment"),
            r#"{"comment":"comment by {who}"}"#.into(),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/alertstatus".into(),
            format!(r#"{{"alertid":"{alert}","status":"escalated"}}"#),
            "application/json",
            [401, 403, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/api/attackers".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "GET",
            format!("/api/attackers/{attacker}"),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        // MozDef's paths with a trailing slash: the same endpoints, the same access.
        (
            "POST",
            "/events/".into(),
            ev.into(),
            "application/json",
            [401, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "POST",
            "/blockip/".into(),
            r#"{"ipaddress":"81.2.69.201","duration":"1d","comment":"authz row"}"#.into(),
            "application/json",
            [401, 403, 201, 200, 403, 401, 401, 401],
        ),
        (
            "POST",
            "/watchitem/".into(),
            r#"{"watchcontent":"{who}-watched-slash","duration":"1d"}"#.into(),
            "application/json",
            [401, 403, 201, 201, 403, 401, 401, 401],
        ),
        (
            "GET",
            "/getwatchlist/".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        // Logging in is open to anyone, whatever credentials the request carries.
        (
            "POST",
            "/api/login".into(),
            r#"{"username":"viewer1","password":"viewer1-password"}"#.into(),
            "application/json",
            [200, 200, 200, 200, 200, 200, 200, 200],
        ),
        // HEAD runs the GET handler (without the body): it needs what GET needs.
        (
            "HEAD",
            "/status".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "HEAD",
            "/getwatchlist".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 403, 401, 401, 401],
        ),
        (
            "HEAD",
            "/api/nothing-here".into(),
            String::new(),
            "",
            [401, 404, 404, 404, 403, 401, 401, 401],
        ),
        // Changing anything else under /api/ needs triage.
        (
            "POST",
            "/api/nothing-here".into(),
            "{}".into(),
            "application/json",
            [401, 403, 404, 404, 403, 401, 401, 401],
        ),
        // The console's pages are open (the page asks for a login; its data needs one).
        (
            "GET",
            "/".into(),
            String::new(),
            "",
            [307, 307, 307, 307, 307, 307, 307, 307],
        ),
        (
            "GET",
            "/ui".into(),
            String::new(),
            "",
            [307, 307, 307, 307, 307, 307, 307, 307],
        ),
        (
            "GET",
            "/ui/".into(),
            String::new(),
            "",
            [200, 200, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/ui/alerts".into(),
            String::new(),
            "",
            [200, 200, 200, 200, 200, 200, 200, 200],
        ),
        // Last: the admin's session ends here.
        (
            "POST",
            "/api/logout".into(),
            String::new(),
            "",
            [401, 200, 200, 200, 200, 401, 401, 401],
        ),
    ];
    // Ingest takes PUT as it takes POST: the same rows with PUT, before the logout (last).
    let put: Vec<Row> = rows
        .iter()
        .filter(|(m, p, ..)| *m == "POST" && policy::access(&Method::POST, p) == Access::Ingest)
        .map(|(_, p, b, c, e)| ("PUT", p.clone(), b.clone(), *c, *e))
        .collect();
    let last = rows.len() - 1;
    rows.splice(last..last, put);
    rows
}

/// Whether `path` is one of OpenAPI path `template` (a `{name}` is one non-empty segment).
fn fits(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// What `rows` leaves out: each operation of the OpenAPI document (which the api crate's tests
/// keep equal to the router) without a row calling it with its method on a path of its
/// template, and each row of the access policy that decides no row's call.
fn missing_rows(rows: &[Row]) -> Vec<String> {
    let calls: Vec<(Method, &str)> = rows
        .iter()
        .map(|(m, p, ..)| {
            let method = Method::from_bytes(m.as_bytes()).expect("a method");
            (method, p.split('?').next().unwrap_or_default())
        })
        .collect();
    let doc = ferrodef_api::openapi::document().expect("the OpenAPI document parses");
    let operations = ferrodef_api::openapi::operations(doc);
    assert!(
        operations.len() > 40,
        "only {} operations",
        operations.len()
    );
    let mut missing = Vec::new();
    for (m, template, _) in operations {
        if !calls
            .iter()
            .any(|(cm, p)| cm.as_str() == m && fits(&template, p))
        {
            missing.push(format!("{m} {template} (crates/api/openapi.yaml)"));
        }
    }
    for (i, (m, pattern, access)) in policy::POLICY.iter().enumerate() {
        if !calls.iter().any(|(cm, p)| policy::rule(cm, p) == Some(i)) {
            missing.push(format!(
                "{m} {pattern} ({access:?}; row {i} of ferrodef_api::policy::POLICY)"
            ));
        }
    }
    missing
}

/// The matrix leaves no endpoint and no rule of the access policy out.
#[test]
fn the_matrix_has_a_row_for_every_endpoint_and_policy_rule() {
    let missing = missing_rows(&rows(&Ids::placeholder()));
    assert!(
        missing.is_empty(),
        "every_endpoint_against_every_caller has no row for:\n{}",
        missing.join("\n")
    );
}

/// The check above names what a matrix leaves out: an endpoint, and a policy rule that only
/// unrouted paths reach.
#[test]
fn the_row_check_names_what_is_left_out() {
    let fewer: Vec<Row> = rows(&Ids::placeholder())
        .into_iter()
        .filter(|(m, p, ..)| {
            let alert_assign = p.starts_with("/api/alerts/") && p.ends_with("/assign");
            let api_change = *m == "POST" && p == "/api/nothing-here";
            !alert_assign && !api_change
        })
        .collect();
    let missing = missing_rows(&fewer);
    assert_eq!(
        missing,
        [
            "POST /api/alerts/{id}/assign (crates/api/openapi.yaml)".to_string(),
            format!(
                "POST /api/alerts/{{}}/assign (Need(Triage); row {} of ferrodef_api::policy::POLICY)",
                policy::POLICY
                    .iter()
                    .position(|r| r.1 == "/api/alerts/{}/assign")
                    .expect("the assign rule")
            ),
            format!(
                "* /api/* (Need(Triage); row {} of ferrodef_api::policy::POLICY)",
                policy::POLICY.len() - 1
            ),
        ],
    );
    assert!(fits("/api/alerts/{id}", "/api/alerts/x1"));
    assert!(!fits("/api/alerts/{id}", "/api/alerts/"));
    assert!(!fits("/api/alerts/{id}", "/api/alerts/x1/status"));
}

/// The address the alert of [`raise_alert`] is about.
const ALERT_SOURCE: &str = "203.0.113.77";

/// Makes the server raise an alert with a shipped rule (bruteforce_ssh: ten sshd failures from
/// one address); returns its id.
fn raise_alert(url: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    let body: String = (0..10)
        .map(|i| {
            let ev = json!({
                "utctimestamp": now,
                "hostname": "web1",
                "category": "authentication",
                "summary": format!("Failed password for invalid user admin{i} from {ALERT_SOURCE} port 4242 ssh2 login failed"),
                "details": {"program": "sshd", "sourceipaddress": ALERT_SOURCE},
            });
            format!("{ev}\n")
        })
        .collect();
    let r = client()
        .post(format!("{url}/_bulk"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v: Value = client()
            .get(format!("{url}/api/alerts"))
            .query(&[("rule", "bruteforce_ssh")])
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if let Some(id) = v["alerts"][0]["id"].as_str() {
            return id.to_string();
        }
        assert!(Instant::now() < deadline, "no alert raised: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every endpoint × every kind of caller. Expected statuses per row, in the order of `WHO`.
#[test]
fn every_endpoint_against_every_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let cfg = config(tmp.path(), "require_ingest_token = true\n");
    let s = Server::start_in(&dir, &["-c", &cfg]);
    let url = s.url.clone();
    // Users and tokens, made with the commands while the server runs.
    for (user, role) in [
        ("viewer1", "viewer"),
        ("analyst1", "analyst"),
        ("disabled1", "analyst"),
        ("locked1", "analyst"),
        ("target1", "viewer"),
    ] {
        cli(
            &dir,
            &["user", "add", user, "--role", role, "--password-stdin"],
            Some(&format!("{user}-password\n")),
        );
    }
    cli(&dir, &["user", "disable", "disabled1"], None);
    let viewer_token = token_of(
        &dir,
        &["--user", "viewer1", "--role", "viewer", "--name", "v"],
    );
    let ingest_token = token_of(
        &dir,
        &["--source", "fw1", "--role", "ingest", "--name", "fw"],
    );
    let revoked = token_of(
        &dir,
        &["--source", "old", "--role", "admin", "--name", "old"],
    );
    let victim = token_of(
        &dir,
        &["--user", "admin", "--role", "admin", "--name", "victim"],
    );
    let victim_id = &victim[4..16];
    let revoked_id = revoked[4..16].to_string();
    cli(&dir, &["token", "revoke", &revoked_id], None);
    // Lock locked1: five wrong passwords.
    for _ in 0..5 {
        let r = client()
            .get(format!("{url}/api/me"))
            .basic_auth("locked1", Some("nope"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let (st, admin, _) = login(&url, "admin", ADMIN_PASSWORD);
    assert_eq!(st, 200);
    let admin = admin.unwrap();
    let admin_cookie = admin.cookie.clone();
    let admin_csrf = admin.csrf.clone();
    // For the rows with a token in the query string.
    let (viewer_q, revoked_q) = (viewer_token.clone(), revoked.clone());
    let who: Vec<Who> = vec![
        Who {
            name: "anonymous",
            auth: Box::new(|r| r),
        },
        Who {
            name: "viewer",
            auth: bearer(viewer_token),
        },
        Who {
            name: "analyst",
            auth: basic("analyst1", "analyst1-password"),
        },
        Who {
            name: "admin",
            auth: Box::new(move |r| {
                r.header("cookie", &admin_cookie)
                    .header("x-csrf-token", &admin_csrf)
            }),
        },
        Who {
            name: "ingest",
            auth: bearer(ingest_token),
        },
        Who {
            name: "revoked",
            auth: bearer(revoked),
        },
        Who {
            name: "disabled",
            auth: basic("disabled1", "disabled1-password"),
        },
        Who {
            name: "locked",
            auth: basic("locked1", "locked1-password"),
        },
    ];
    // One entry on each list, for the DELETE rows.
    let entry_id = |list: &str| -> String {
        let r = client()
            .post(format!("{url}/api/{list}"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&serde_json::json!({"kind": "username", "value": "to-remove", "reason": "authz row"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().unwrap()["entry"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (block_id, watch_id) = (entry_id("blocklist"), entry_id("watchlist"));
    // An incident, for the incident rows.
    let r = client()
        .post(format!("{url}/api/incidents"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"title": "authz rows"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let inc = r.json::<Value>().unwrap()["incident"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let alert = raise_alert(&url);
    let ids = Ids {
        victim_id: victim_id.to_string(),
        block_id,
        watch_id,
        inc,
        alert,
        attacker: ALERT_SOURCE.to_string(),
        viewer_q,
        revoked_q: revoked_q.clone(),
    };
    let rows = rows(&ids);
    // Redirects are answers of their own here (the console's `/`).
    let no_redirects = Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for (method, path, body, ctype, expected) in &rows {
        for (w, want) in who.iter().zip(expected) {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut r = (w.auth)(no_redirects.request(m, format!("{url}{path}")));
            if !ctype.is_empty() {
                r = r
                    .header("content-type", *ctype)
                    .body(body.replace("{who}", w.name));
            }
            let resp = r.send().unwrap();
            let got = resp.status().as_u16();
            let www = resp.headers().get("www-authenticate").cloned();
            let event_stream = resp
                .headers()
                .get("content-type")
                .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"));
            // A live feed does not end: dropping the answer closes it.
            let text = if event_stream {
                String::new()
            } else {
                resp.text().unwrap()
            };
            if got != *want {
                failures.push(format!(
                    "{method} {path} as {}: {got} (want {want}): {text}",
                    w.name
                ));
                continue;
            }
            if path == "/api/alerts/stream" && got == 200 {
                assert!(event_stream, "{path} as {}: not an event stream", w.name);
            }
            // A HEAD answer has no body.
            if got >= 400 && *method != "HEAD" {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                assert!(
                    v["error"].is_string(),
                    "{method} {path} as {}: {text}",
                    w.name
                );
            }
            if got == 401 {
                assert_eq!(
                    www.as_ref().and_then(|v| v.to_str().ok()),
                    Some("Basic realm=\"ferrodef\", charset=\"UTF-8\""),
                    "{method} {path} as {}",
                    w.name
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The anonymous health answer says nothing more than the status.
    let anon: Value = client()
        .get(format!("{url}/health"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(anon.as_object().unwrap().len(), 1, "{anon}");
    // The refusals are security events in the store, with the prescribed fields.
    let denied = wait_hits(
        &s,
        "details.cef.signature:ACE0 AND details.username:viewer1",
    );
    let d = &denied[0]["details"];
    assert_eq!(d["cef"]["vendor"], "mozilla");
    assert_eq!(d["cef"]["product"], "ferrodef");
    assert_eq!(d["sourceipaddress"], "127.0.0.1");
    assert_eq!(d["destinationipaddress"], "127.0.0.1");
    assert_eq!(d["action"], "Action Denied");
    assert!(d["requestMethod"].is_string(), "{d}");
    assert!(
        d["url"].as_str().unwrap().starts_with("http://127.0.0.1:"),
        "{d}"
    );
    assert!(d["requestClientApplication"].is_string(), "{d}");
    assert_eq!(d["sourceUserId"], "2", "{d}");
    assert!(d["deviceReceiptTime"].is_string(), "{d}");
    assert_eq!(denied[0]["summary"], "Access Control Violation");
    assert_eq!(denied[0]["category"], "cef");
    wait_hits(&s, "details.cef.signature:AL0 AND details.username:locked1");
    // A token sent in the query string is not written into the security events.
    let invalid = wait_hits(&s, "details.cef.signature:TOK2 AND details.url:*blocklist*");
    assert!(
        invalid
            .iter()
            .all(|h| !h.to_string().contains(&revoked_q[4..])),
        "{invalid:?}"
    );
    assert!(
        invalid[0]["details"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/blocklist.txt?token=REDACTED")),
        "{invalid:?}"
    );
    // Events of the commands (spooled) reached the store too.
    // (The command's spool is stored within 2 s: the API's own revocation may be found first.)
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let revokes = wait_hits(&s, "details.cef.signature:TOK1");
        let found = revokes.iter().any(|h| {
            h["details"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(&revoked_id)
        });
        if found {
            break;
        }
        assert!(Instant::now() < deadline, "{revokes:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_hits(
        &s,
        "details.cef.signature:UD0 AND details.destinationusername:disabled1",
    );
}

#[test]
fn csrf_missing_wrong_or_cross_origin_is_refused_and_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Server::start_in(&tmp.path().join("d"), &[]);
    let url = &s.url;
    let (_, sess, _) = login(url, "admin", ADMIN_PASSWORD);
    let sess = sess.unwrap();
    let body = json!({"name": "csrf-user", "role": "viewer", "password": "long password"});
    let post = |csrf: Option<&str>, origin: Option<&str>| {
        let mut r = client()
            .post(format!("{url}/api/users"))
            .header("cookie", &sess.cookie)
            .json(&body);
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        let resp = r.send().unwrap();
        (resp.status().as_u16(), resp.json::<Value>().unwrap())
    };
    let (st, v) = post(None, None);
    assert_eq!(st, 403, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("missing CSRF token"),
        "{v}"
    );
    let (st, _) = post(Some("AAAA"), None);
    assert_eq!(st, 403);
    let (st, v) = post(Some("<script>"), None);
    assert_eq!(st, 403);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unexpected characters"),
        "{v}"
    );
    let (st, _) = post(Some(&sess.csrf), Some("https://evil.example"));
    assert_eq!(st, 403);
    // Same origin with the right token works.
    let host = url.trim_start_matches("http://");
    let (st, v) = post(Some(&sess.csrf), Some(&format!("http://{host}")));
    assert_eq!(st, 201, "{v}");
    // GET needs no CSRF token.
    let r = client()
        .get(format!("{url}/api/me"))
        .header("cookie", &sess.cookie)
        .send()
        .unwrap();
    let me: Value = r.json().unwrap();
    assert_eq!(me["csrf_token"], sess.csrf.as_str());
    assert_eq!(me["via"], "session");
    let hits = wait_hits(&s, "details.cef.signature:CSRF0 AND details.username:admin");
    assert!(hits.len() >= 3, "{hits:?}");
    let cross = hits
        .iter()
        .chain(
            search(
                &s,
                "details.cef.signature:CSRF0 AND details.username:unauthenticated",
            )
            .iter(),
        )
        .find(|h| {
            h["details"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("evil.example")
        })
        .cloned();
    let cross = cross.expect("a CSRF event for the cross-origin request");
    assert_eq!(cross["details"]["username"], "unauthenticated");
    assert_eq!(cross["severity"], "ERROR");
}

#[test]
fn lockout_after_failures_event_and_admin_unlock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let cfg = config(tmp.path(), "max_failures = 3\n");
    let s = Server::start_in(&dir, &["-c", &cfg]);
    let url = &s.url;
    cli(
        &dir,
        &[
            "user",
            "add",
            "bob",
            "--role",
            "analyst",
            "--password-stdin",
        ],
        Some("bob password 1\n"),
    );
    for _ in 0..3 {
        assert_eq!(login(url, "bob", "guess").0, 401);
    }
    let r = client()
        .post(format!("{url}/api/login"))
        .json(&json!({"username": "bob", "password": "bob password 1"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().unwrap();
    assert!(v["error"].as_str().unwrap().contains("locked"), "{v}");
    let lock = wait_hits(&s, "details.cef.signature:AL0");
    assert_eq!(lock[0]["details"]["username"], "bob");
    assert_eq!(lock[0]["summary"], "Account Locked");
    let fails = wait_hits(&s, "details.cef.signature:AUTH0 AND details.username:bob");
    assert!(fails.len() >= 3);
    // Listed as locked; an admin unlocks it over the API.
    let users: Value = client()
        .get(format!("{url}/api/users"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let bob = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "bob")
        .unwrap()
        .clone();
    assert!(bob["locked_until"].is_string(), "{bob}");
    let r = client()
        .patch(format!("{url}/api/users/bob"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"unlock": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(login(url, "bob", "bob password 1").0, 200);
}

#[test]
fn session_cookie_attributes_logout_and_password_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let s = Server::start_in(&dir, &[]);
    let url = &s.url;
    let (st, sess, headers) = login(url, "admin", ADMIN_PASSWORD);
    assert_eq!(st, 200);
    let set = headers["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "no Secure over plain HTTP: {set}");
    assert_eq!(headers["cache-control"], "no-store");
    let sess = sess.unwrap();
    // Own password change needs the old password; it ends the session.
    let change = |body: Value| {
        client()
            .post(format!("{url}/api/users/admin/password"))
            .header("cookie", &sess.cookie)
            .header("x-csrf-token", &sess.csrf)
            .json(&body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(change(json!({"password": "a new admin password"})), 400);
    assert_eq!(
        change(json!({"password": "a new admin password", "old_password": "wrong"})),
        403
    );
    assert_eq!(
        change(json!({"password": "a new admin password", "old_password": ADMIN_PASSWORD})),
        200
    );
    let r = client()
        .get(format!("{url}/api/me"))
        .header("cookie", &sess.cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // Logout ends a session and clears the cookie.
    let (_, s2, _) = login(url, "admin", "a new admin password");
    let s2 = s2.unwrap();
    let r = client()
        .post(format!("{url}/api/logout"))
        .header("cookie", &s2.cookie)
        .header("x-csrf-token", &s2.csrf)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = client()
        .get(format!("{url}/api/me"))
        .header("cookie", &s2.cookie)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // Back to the harness's password (an admin reset from the command line), then the event.
    cli(
        &dir,
        &["user", "passwd", "admin", "--password-stdin"],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );
    wait_hits(&s, "details.cef.signature:APC0 AND details.username:admin");
    let reset = wait_hits(&s, "details.cef.signature:APR0");
    assert_eq!(reset[0]["details"]["destinationusername"], "admin");
    assert!(
        reset[0]["details"]["username"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{}",
        reset[0]
    );
    // A browser script gets no Basic challenge (no browser login box).
    let r = client()
        .get(format!("{url}/api/me"))
        .header("sec-fetch-mode", "cors")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
}

/// Reads the child's stderr until it is listening; returns (url, stderr text).
fn spawn_fresh(dir: &std::path::Path) -> (std::process::Child, String, String) {
    spawn_on(dir, "127.0.0.1:0")
}

fn spawn_on(dir: &std::path::Path, listen: &str) -> (std::process::Child, String, String) {
    spawn_with(dir, listen, &[])
}

/// A server on `dir` without `FERRODEF_ADMIN_PASSWORD`, with `extra` arguments; returns it,
/// its URL and what it wrote to stderr while starting.
fn spawn_with(
    dir: &std::path::Path,
    listen: &str,
    extra: &[&str],
) -> (std::process::Child, String, String) {
    let mut child = Command::new(common::bin())
        .args([
            "serve",
            "--listen",
            listen,
            "--syslog-udp",
            "off",
            "--syslog-tcp",
            "off",
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .env_remove("FERRODEF_ADMIN_PASSWORD")
        .env("FERRODEF_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines() {
            if tx.send(l.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut text = String::new();
    let url = loop {
        match out.next() {
            Some(l) => {
                if let Some(u) = l.unwrap().strip_prefix("ferrodef listening on ") {
                    break u.trim().to_string();
                }
            }
            None => {
                while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
                    text.push_str(&l);
                    text.push('\n');
                }
                panic!("the server stopped: {text}");
            }
        }
    };
    std::thread::spawn(move || for _ in out {});
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        text.push_str(&l);
        text.push('\n');
    }
    (child, url, text)
}

#[test]
fn first_start_prints_a_generated_admin_password_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let (child, url, err) = spawn_fresh(&dir);
    let pw = err
        .lines()
        .skip_while(|l| !l.contains("created the user 'admin'"))
        .nth(2)
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| panic!("no password in: {err}"));
    assert!(pw.len() >= 20, "{err}");
    assert_eq!(login(&url, "admin", &pw).0, 200);
    assert_eq!(login(&url, "admin", "something else").0, 401);
    stop(child);
    let (child, url, err) = spawn_fresh(&dir);
    assert!(!err.contains("created the user"), "{err}");
    assert!(!err.contains(&pw), "never printed again");
    assert_eq!(login(&url, "admin", &pw).0, 200);
    stop(child);
}

#[test]
fn the_config_file_sets_the_first_admin_password_and_sends_cef_to_syslog() {
    // A syslog receiver (UDP on loopback) for the CEF lines, named in the config file with the
    // first admin password.
    let syslog = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = syslog.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("ferrodef.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nadmin_password = \"config-file-password-1\"\ncef_syslog = \"udp:127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let dir = tmp.path().join("d");
    let (child, url, err) =
        spawn_with(&dir, "127.0.0.1:0", &["--config", config.to_str().unwrap()]);
    assert!(
        !err.contains("created the user 'admin' with the password"),
        "no generated password when the config file gives one: {err}"
    );
    assert_eq!(login(&url, "admin", "config-file-password-1").0, 200);
    assert_eq!(login(&url, "admin", "not-the-password").0, 401);
    // The failed login reaches the receiver as CEF, facility LOCAL4 (PRI 160-167).
    let mut buf = [0u8; 8192];
    let line = loop {
        let n = match syslog.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => panic!("no CEF line with the failed login reached syslog: {e}"),
        };
        let l = String::from_utf8_lossy(&buf[..n]).to_string();
        if l.contains("|AUTH0|Login Failed|") {
            break l;
        }
    };
    let pri: u32 = line
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .and_then(|(p, _)| p.parse().ok())
        .unwrap_or_else(|| panic!("no PRI in {line}"));
    assert!((160..=167).contains(&pri), "LOCAL4: {line}");
    assert!(line.contains("CEF:0|mozilla|ferrodef|"), "{line}");
    assert!(line.contains("suser=admin"), "{line}");
    assert!(line.contains("requestMethod=POST"), "{line}");
    assert!(line.contains("cs1Label=requestClientApplication"), "{line}");
    stop(child);
}

/// SIGTERM and wait for a clean exit.
fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    assert!(child.wait().unwrap().success());
}

#[test]
fn commands_manage_users_and_tokens_while_the_server_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let s = Server::start_in(&dir, &[]);
    let url = &s.url;
    let out = cli(
        &dir,
        &[
            "user",
            "add",
            "carol",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some("carol password\n"),
    );
    assert!(out.contains("added user carol"), "{out}");
    let list = cli(&dir, &["user", "list"], None);
    assert!(list.contains("carol") && list.contains("viewer"), "{list}");
    let read = |u: &str, p: &str| {
        client()
            .get(format!("{url}/api/search?q=*"))
            .basic_auth(u, Some(p))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(read("carol", "carol password"), 200);
    cli(
        &dir,
        &["user", "passwd", "carol", "--password-stdin"],
        Some("carol password 2\n"),
    );
    assert_eq!(
        read("carol", "carol password"),
        401,
        "the cached old password stops working"
    );
    assert_eq!(read("carol", "carol password 2"), 200);
    cli(&dir, &["user", "role", "carol", "admin"], None);
    let r = client()
        .get(format!("{url}/api/users"))
        .basic_auth("carol", Some("carol password 2"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    cli(&dir, &["user", "disable", "carol"], None);
    assert_eq!(read("carol", "carol password 2"), 401);
    cli(&dir, &["user", "enable", "carol"], None);
    assert_eq!(read("carol", "carol password 2"), 200);
    let token = token_of(
        &dir,
        &["--user", "carol", "--role", "analyst", "--name", "script"],
    );
    assert!(token.starts_with("fdt_"), "{token}");
    let me: Value = client()
        .get(format!("{url}/api/me"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (me["user"].as_str(), me["role"].as_str(), me["via"].as_str()),
        (Some("carol"), Some("analyst"), Some("token"))
    );
    let tokens = cli(&dir, &["token", "list"], None);
    assert!(
        tokens.contains("script") && tokens.contains("user:carol"),
        "{tokens}"
    );
    assert!(!tokens.contains(&token[17..]), "no secret in the list");
    cli(&dir, &["token", "revoke", &token[4..16]], None);
    let r = client()
        .get(format!("{url}/api/me"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // The search command authenticates with a token.
    let reader = token_of(
        &dir,
        &["--user", "carol", "--role", "viewer", "--name", "cli"],
    );
    let out = Command::new(common::bin())
        .args([
            "search", "--server", url, "--token", &reader, "*", "-o", "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(common::bin())
        .args(["search", "--server", url, "*"])
        .env_remove("FERRODEF_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bad input is refused with a clear message.
    let out = Command::new(common::bin())
        .args([
            "user",
            "add",
            "bad name",
            "--role",
            "viewer",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    wait_hits(
        &s,
        "details.cef.signature:NPA0 AND details.destinationusername:carol",
    );
}

#[test]
fn a_listener_beyond_loopback_needs_ingest_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let (child, url, _) = spawn_on(&dir, "0.0.0.0:0");
    let port = url.rsplit(':').next().unwrap().to_string();
    let url = format!("http://127.0.0.1:{port}");
    let post = |auth: Option<&str>| {
        let mut r = client()
            .post(format!("{url}/events"))
            .header("content-type", "application/json")
            .body(r#"{"summary":"x"}"#);
        if let Some(t) = auth {
            r = r.bearer_auth(t);
        }
        r.send().unwrap().status().as_u16()
    };
    assert_eq!(post(None), 401);
    let t = token_of(
        &dir,
        &["--source", "host1", "--role", "ingest", "--name", "h"],
    );
    assert_eq!(post(Some(&t)), 200);
    stop(child);
}

#[test]
fn https_with_a_client_ca_needs_a_client_certificate_it_signed() {
    let pki = common::Pki::new();
    let (server_cert, server_key) = pki.issue("server", false);
    let (client_cert, client_key) = pki.issue("client", true);
    let stranger = common::Pki::new();
    let (other_cert, other_key) = stranger.issue("stranger", true);
    let dir = pki.path("d");
    let s = Server::start_in(
        std::path::Path::new(&dir),
        &[
            "--http-tls-cert",
            &server_cert,
            "--http-tls-key",
            &server_key,
            "--http-tls-client-ca",
            &pki.path("ca.pem"),
        ],
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.path("ca.pem")).unwrap()).unwrap();
    let with = |identity: Option<(&str, &str)>| {
        let mut b = Client::builder().add_root_certificate(ca.clone());
        if let Some((c, k)) = identity {
            let mut pem = std::fs::read(c).unwrap();
            pem.extend(std::fs::read(k).unwrap());
            b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    };
    let url = s.url.replace("127.0.0.1", "localhost");
    // Without a certificate, or with one another CA signed: no TLS session.
    assert!(with(None).get(format!("{url}/health")).send().is_err());
    assert!(with(Some((&other_cert, &other_key)))
        .get(format!("{url}/health"))
        .send()
        .is_err());
    // With one the configured CA signed: the API answers (and still asks for credentials).
    let c = with(Some((&client_cert, &client_key)));
    assert_eq!(c.get(format!("{url}/health")).send().unwrap().status(), 200);
    assert_eq!(c.get(format!("{url}/status")).send().unwrap().status(), 401);
}

#[test]
fn https_end_to_end_with_a_generated_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let (cp, kp) = (tmp.path().join("c.pem"), tmp.path().join("k.pem"));
    std::fs::write(&cp, cert.cert.pem()).unwrap();
    std::fs::write(&kp, cert.key_pair.serialize_pem()).unwrap();
    let dir = tmp.path().join("d");
    let s = Server::start_in(
        &dir,
        &[
            "--http-tls-cert",
            cp.to_str().unwrap(),
            "--http-tls-key",
            kp.to_str().unwrap(),
        ],
    );
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let tls = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = tls
        .post(format!("{}/api/login", s.url))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.contains("; Secure"), "{set}");
    let r = tls
        .post(format!("{}/events", s.url))
        .header("content-type", "application/json")
        .body(r#"{"summary":"over tls"}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v: Value = tls
            .get(format!("{}/api/search", s.url))
            .query(&[("q", "summary:\"over tls\""), ("size", "0")])
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if v["total"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Plain HTTP to the HTTPS port gets no answer.
    let plain = s.url.replace("https://", "http://");
    assert!(client().get(format!("{plain}/health")).send().is_err());
    // The search command trusts the CA given.
    let out = Command::new(common::bin())
        .args([
            "search",
            "--server",
            &s.url,
            "--ca-cert",
            cp.to_str().unwrap(),
            "--user",
            "admin",
            "*",
        ])
        .env("FERRODEF_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sessions_survive_a_restart_and_logout_still_ends_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let mut s = Server::start_in(&dir, &[]);
    let (st, kept, _) = login(&s.url, "admin", ADMIN_PASSWORD);
    assert_eq!(st, 200);
    let kept = kept.unwrap();
    let (_, ended, _) = login(&s.url, "admin", ADMIN_PASSWORD);
    let ended = ended.unwrap();
    let me = |url: &str, sess: &Session| {
        let r = client()
            .get(format!("{url}/api/me"))
            .header("cookie", &sess.cookie)
            .send()
            .unwrap();
        let st = r.status().as_u16();
        (st, r.json::<Value>().unwrap_or(Value::Null))
    };
    assert_eq!(me(&s.url, &kept).0, 200);
    s.stop();

    // On disk: owner-only, hashes of the cookies, never the cookies.
    let file = dir.join("auth/sessions.json");
    let text = std::fs::read_to_string(&file).unwrap();
    for sess in [&kept, &ended] {
        let value = sess.cookie.split_once('=').unwrap().1;
        assert!(!text.contains(value), "a cookie value is on disk");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Restarted: both cookies still work, with the same CSRF token for unsafe requests.
    let mut s = Server::start_in(&dir, &[]);
    let (st, v) = me(&s.url, &kept);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["user"], "admin");
    assert_eq!(v["csrf_token"], kept.csrf.as_str());
    let r = client()
        .post(format!("{}/api/logout", s.url))
        .header("cookie", &ended.cookie)
        .header("x-csrf-token", &ended.csrf)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(me(&s.url, &ended).0, 401);
    s.stop();

    // Logged out before the restart: still out after it; the other session still in.
    let s = Server::start_in(&dir, &[]);
    assert_eq!(me(&s.url, &ended).0, 401);
    assert_eq!(me(&s.url, &kept).0, 200);
}

/// `bench ingest --server` and `bench query --server` against a server that requires
/// credentials for ingest and reads: they run with a token and with a user (password from
/// FERRODEF_PASSWORD); without credentials, or with a viewer's token for ingest, they fail
/// with a message naming the authentication problem.
#[test]
fn bench_commands_authenticate_with_a_token_or_a_user() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let cfg = config(tmp.path(), "require_ingest_token = true\n");
    let s = Server::start_in(&dir, &["-c", &cfg]);
    let token = token_of(
        &dir,
        &["--user", "admin", "--role", "analyst", "--name", "bench"],
    );
    let viewer = token_of(
        &dir,
        &[
            "--user",
            "admin",
            "--role",
            "viewer",
            "--name",
            "bench-viewer",
        ],
    );
    let bench = |args: &[String], env: &[(&str, &str)]| {
        let mut c = Command::new(common::bin());
        c.arg("bench")
            .args(args)
            .args(["--server", &s.url])
            .env_remove("FERRODEF_TOKEN")
            .env_remove("FERRODEF_USER")
            .env_remove("FERRODEF_PASSWORD")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.success(), stdout, stderr)
    };
    let ingest = ["ingest", "--events", "2000", "--batch", "500", "--json"];
    let query = ["query", "--runs", "1", "--json"];
    let json_of = |stdout: &str| -> Value {
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
        serde_json::from_str(last.unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };
    let args = |args: &[&str], extra: &[&str]| -> Vec<String> {
        args.iter().chain(extra).map(|a| a.to_string()).collect()
    };
    let with_token = |a: &[&str]| args(a, &["--token", &token]);
    let with_user = |a: &[&str]| args(a, &["--user", "admin"]);
    let password = [("FERRODEF_PASSWORD", ADMIN_PASSWORD)];

    let (ok, out, err) = bench(&with_token(&ingest), &[]);
    assert!(ok, "bench ingest --token: {err}");
    assert_eq!(json_of(&out)["accepted"], 2000, "{out}");
    let (ok, out, err) = bench(&with_user(&ingest), &password);
    assert!(ok, "bench ingest --user: {err}");
    assert_eq!(json_of(&out)["accepted"], 2000, "{out}");
    for (how, args, env) in [
        ("--token", with_token(&query), &[][..]),
        ("--user", with_user(&query), &password[..]),
    ] {
        let (ok, out, err) = bench(&args, env);
        assert!(ok, "bench query {how}: {err}");
        let v = json_of(&out);
        // Ten needles in each of the two runs above.
        assert_eq!(v["needle"]["matches"], 20, "{out}");
        assert_eq!(v["needle"]["runs"], 1, "{out}");
        assert!(v["events_stored"].as_u64().unwrap() >= 4000, "{out}");
    }

    // No credentials: refused at the first request, with what to give.
    for a in [&ingest[..], &query[..]] {
        let (ok, out, err) = bench(&args(a, &[]), &[]);
        assert!(!ok, "bench {a:?} without credentials succeeded: {out}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("/status answered 401 Unauthorized")
                && err.contains("the server needs credentials: --token (FERRODEF_TOKEN) or --user"),
            "bench {a:?}: {err}"
        );
    }
    // A wrong password: refused the same way.
    let (ok, _, err) = bench(&with_user(&query), &[("FERRODEF_PASSWORD", "wrong")]);
    assert!(!ok && err.contains("answered 401"), "{err}");
    // A viewer's token reads but may not ingest: the bulk request is refused (403), named.
    let (ok, _, err) = bench(&args(&ingest, &["--token", &viewer]), &[]);
    assert!(!ok, "bench ingest with a viewer token succeeded");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("/_bulk answered 403 Forbidden")
            && err.contains("does not allow ingest")
            && err.contains("the credentials given do not allow this"),
        "{err}"
    );
}
