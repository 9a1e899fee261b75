//! The OpenAPI document against the real server: `GET /api/openapi.json` is served to anyone
//! and is the embedded document; it is valid OpenAPI (openapi-spec-validator); every documented
//! operation is a route of the running server; and schemathesis, generating requests from the
//! document, finds no server error and no answer that the document does not describe.
//!
//! The Python tools come from a virtual environment that scripts/test makes
//! (`target/pytools`, versions pinned in scripts/python-tools.txt); `FERRODEF_PYTOOLS` names
//! another one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, ADMIN_PASSWORD};
use serde_json::Value;

/// The `bin` directory of the virtual environment with the Python tools.
fn pytools() -> PathBuf {
    let dir = std::env::var_os("FERRODEF_PYTOOLS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pytools"),
        PathBuf::from,
    );
    let bin = dir.join("bin");
    assert!(
        bin.join("schemathesis").exists() && bin.join("openapi-spec-validator").exists(),
        "{} lacks schemathesis or openapi-spec-validator: scripts/test installs them \
         (python3 -m venv target/pytools && target/pytools/bin/pip install -r \
         scripts/python-tools.txt)",
        dir.display()
    );
    bin
}

/// A server whose per-address login throttle does not stop a fuzzer's failed logins (every
/// request comes from 127.0.0.1), with a rule that turns each event of category `openapitest`
/// into an alert about its source address.
fn server(tmp: &Path) -> Server {
    let rules = tmp.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(
        rules.join("openapi_test.yaml"),
        "classname: OpenapiTest\n\
         description: An alert for the OpenAPI test.\n\
         query: 'category:openapitest'\n\
         window: 1m\n\
         aggregate: {field: details.sourceipaddress, threshold: 1}\n\
         summary: 'test alert for {value}'\n\
         severity: WARNING\n\
         category: openapitest\n\
         suppress: 0s\n",
    )
    .expect("rule");
    let cfg = tmp.join("openapi-test.toml");
    std::fs::write(
        &cfg,
        format!(
            "[auth]\nip_max_failures = 1000000\n[detection]\nrules_dirs = [{:?}]\n",
            rules.display().to_string()
        ),
    )
    .expect("config");
    Server::start_in(&tmp.join("data"), &["-c", &cfg.display().to_string()])
}

fn fetch_document(s: &Server) -> Value {
    // Anonymous: the document is open.
    let r = Server::client()
        .get(format!("{}/api/openapi.json", s.url))
        .send()
        .expect("GET /api/openapi.json");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().expect("JSON")
}

/// A concrete path for a template (`{x}` → `x1`).
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "x1"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_document_is_served_valid_and_every_operation_is_a_route() {
    let bin = pytools();
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = server(tmp.path());
    let doc = fetch_document(&s);
    assert_eq!(
        &doc,
        ferrodef_api::openapi::document().expect("document"),
        "the server serves the embedded document"
    );

    // Valid OpenAPI 3.1.
    let file = tmp.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let out = Command::new(bin.join("openapi-spec-validator"))
        .args(["--schema", "3.1", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Every documented operation reaches a handler of the running server: neither the
    // fallback's 404 nor 405.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let ops = ferrodef_api::openapi::operations(&doc);
    assert!(ops.len() > 40);
    for (method, path, _) in ops {
        let url = format!("{}{}", s.url, concrete(&path));
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = client
            .request(m, &url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("content-type", "application/json")
            .send()
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        if path == "/api/alerts/stream" {
            assert_eq!(status, 200);
            continue; // endless: the headers are enough
        }
        let body = resp.text().unwrap_or_default();
        assert!(
            status != 405 && !(status == 404 && body.contains("no such endpoint")),
            "{method} {path} is documented but not a route: {status} {body}"
        );
    }

    // The answers axum makes itself have the documented error shape too: a path segment that is
    // not UTF-8, a query string that does not deserialize, a method the route does not have.
    for (method, path, status) in [
        ("GET", "/api/alerts/%FF", 400),
        ("POST", "/custom/%FF", 400),
        ("DELETE", "/api/blocklist/%FF", 400),
        ("GET", "/api/blocklist?kind=ip&kind=cidr", 400),
        ("GET", "/api/tokens?user=a&user=b", 400),
        ("GET", "/api/attackers?size=many", 400),
        ("PATCH", "/api/search", 405),
        // Found by schemathesis: longer than the store counts, it was a 500.
        ("GET", "/api/aggregate?interval=53350304h", 400),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = client
            .request(m, format!("{}{path}", s.url))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .expect("request");
        assert_eq!(resp.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "{method} {path}"
        );
        if status == 405 {
            assert!(resp.headers().contains_key("allow"), "{method} {path}");
        }
        let v: Value = resp.json().expect("JSON error");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path}: {v}"
        );
    }
}

/// schemathesis, with the admin's password, over every operation but those that would end
/// the run (the endless alert stream; changing users, whose generated values may name the
/// admin), in every phase (stateful: following the document's links): no 5xx; statuses,
/// content types, headers and bodies as documented; operations that need credentials refuse
/// requests without them; methods a path does not have answer 405 with `Allow`.
/// (Not checked: that schema-valid input is always accepted and invalid input refused; the
/// schema cannot say everything a handler checks, such as which time expressions parse.)
#[test]
fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let bin = pytools();
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = server(tmp.path());
    // Something to find: events, and alerts (with their attackers) for the triage operations,
    // which schemathesis reaches through the document's links from the alert list.
    let body: String = ["203.0.113.9", "2001:db8::7"]
        .iter()
        .map(|ip| {
            format!(
                "{{\"summary\":\"failed password for root\",\"category\":\"openapitest\",\
                 \"details\":{{\"sourceipaddress\":\"{ip}\"}}}}\n"
            )
        })
        .collect();
    let (st, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(st, 200, "{v}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (st, v) = s.get("/api/alerts");
        assert_eq!(st, 200, "{v}");
        if v["total"].as_u64() >= Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "no alerts: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let examples = std::env::var("FERRODEF_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "8".into());
    let seed = std::env::var("FERRODEF_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let started = Instant::now();
    let out = Command::new(bin.join("schemathesis"))
        .current_dir(tmp.path())
        .args(["run", &format!("{}/api/openapi.json", s.url)])
        .args(["--url", &s.url])
        .args(["--auth", &format!("admin:{ADMIN_PASSWORD}")])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance,ignored_auth,\
             unsupported_method,allow_header_conformance,use_after_free,\
             ensure_resource_availability",
        ])
        .args(["--exclude-path", "/api/alerts/stream"])
        .args(["--exclude-path", "/api/users/{name}"])
        .args(["--exclude-path", "/api/users/{name}/password"])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--max-redirects", "0", "--request-timeout", "30"])
        // One worker: with two threads, CPython 3.11's ast module (which hypothesis uses to
        // describe its strategies) fails at random with "AST constructor recursion depth
        // mismatch" (seen with 3.11.7; ast.parse is not safe across threads there).
        .args(["--workers", "1", "--generation-database", "none"])
        .args(["--no-color", "--output-truncate", "false"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "schemathesis ran {:.0} s:\n{stdout}{stderr}",
        started.elapsed().as_secs_f64()
    );
    assert!(out.status.success(), "schemathesis found problems (above)");
    // It tested the operations, rather than nothing.
    assert!(
        stdout.contains("passed") || stdout.contains("Passed"),
        "schemathesis reported no passed operation"
    );
}
