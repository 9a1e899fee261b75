//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the API.
//!
//! The document is written by hand in `crates/api/openapi.yaml` (docs/api.md says why),
//! embedded in the binary, read once and served as JSON. The tests below fail when it and the
//! code drift apart: every route of the router is documented with the same methods and every
//! documented operation is a route; every operation names, in `x-ferrodef-access`, the access
//! [`crate::policy::POLICY`] gives it, and its `security` agrees; every `$ref` resolves and
//! every path parameter is declared.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::ApiError;

/// The document as written (YAML).
pub const SOURCE: &str = include_str!("../openapi.yaml");

/// The document, read from [`SOURCE`], with `info.version` set to this build's version.
pub fn document() -> Result<&'static Value, &'static str> {
    static DOC: OnceLock<Result<Value, String>> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc: Value =
            serde_yaml_ng::from_str(SOURCE).map_err(|e| format!("crates/api/openapi.yaml: {e}"))?;
        if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
            info.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        }
        Ok(doc)
    })
    .as_ref()
    .map_err(String::as_str)
}

/// The document as JSON bytes, made once.
fn json() -> Result<&'static [u8], &'static str> {
    static JSON: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    JSON.get_or_init(|| {
        let doc = document()?;
        serde_json::to_vec(doc).map_err(|e| e.to_string())
    })
    .as_deref()
    .map_err(String::as_str)
}

/// `GET /api/openapi.json`.
pub async fn serve() -> Response {
    match json() {
        Ok(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal("reading the OpenAPI document", e).into_response(),
    }
}

/// The methods of an OpenAPI path item that are operations.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation of the document: (method in capitals, path template, operation).
pub fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_ascii_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use axum::http::Method;
    use ferrodef_auth::Permission;

    use super::*;
    use crate::policy::{self, Access};

    /// The `.route("path", get(..).post(..))` calls of a Rust source: (path, methods). Fails on
    /// a way of adding routes this reader does not follow.
    fn routes_in(file: &Path, src: &str) -> Vec<(String, Vec<String>)> {
        for unsupported in [
            ".nest(",
            ".nest_service(",
            ".route_service(",
            ".route_layer(",
        ] {
            assert!(
                !src.contains(unsupported),
                "{}: `{unsupported}` adds routes this test does not read: extend routes_in",
                file.display()
            );
        }
        let mut out = Vec::new();
        let mut rest = src;
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let t = rest.trim_start();
            let t = t.strip_prefix('"').unwrap_or_else(|| {
                panic!(
                    "{}: a .route( whose path is not a string literal",
                    file.display()
                )
            });
            let end = t.find('"').expect("end of the path literal");
            let path = t[..end].to_string();
            // The method routers: identifiers followed by `(` at the call's own depth.
            let mut methods = Vec::new();
            let mut depth = 0usize;
            let mut ident = String::new();
            let mut chars = t[end + 1..].chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        // Skip a string literal.
                        let mut escaped = false;
                        for c in chars.by_ref() {
                            match (escaped, c) {
                                (false, '\\') => escaped = true,
                                (false, '"') => break,
                                _ => escaped = false,
                            }
                        }
                        ident.clear();
                    }
                    '(' | '[' | '{' => {
                        if depth == 0 && c == '(' && !ident.is_empty() {
                            methods.push(std::mem::take(&mut ident));
                        }
                        ident.clear();
                        depth += 1;
                    }
                    ')' | ']' | '}' => {
                        ident.clear();
                        if depth == 0 {
                            break; // the end of .route(
                        }
                        depth -= 1;
                    }
                    c if c.is_alphanumeric() || c == '_' => ident.push(c),
                    _ => ident.clear(),
                }
            }
            let methods = methods
                .into_iter()
                .map(|m| {
                    assert!(
                        METHODS.contains(&m.as_str()),
                        "{}: route {path}: `{m}` is not a method router this test reads",
                        file.display()
                    );
                    m.to_ascii_uppercase()
                })
                .collect();
            out.push((path, methods));
        }
        out
    }

    /// Every route of the API's router: the `.route(...)` calls of crates/api/src (all its
    /// files, whichever adds routes) and of the console's router, merged into it. As a map of
    /// OpenAPI path templates (`{*rest}` written `{rest}`) to methods.
    fn router_routes() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for dir in [root.join("src"), root.join("../console/src")] {
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "rs"))
                .collect();
            files.sort();
            for f in files {
                if f.ends_with("openapi.rs") {
                    continue; // this reader's own text
                }
                let src = std::fs::read_to_string(&f).expect("read source");
                for (path, methods) in routes_in(&f, &src) {
                    let path = path.replace("{*", "{");
                    routes.entry(path).or_default().extend(methods);
                }
            }
        }
        routes
    }

    fn doc() -> &'static Value {
        document().expect("the document parses")
    }

    #[test]
    fn the_document_is_openapi_3_1_with_this_version() {
        let d = doc();
        assert_eq!(d["openapi"], "3.1.0");
        assert_eq!(d["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(json().is_ok());
    }

    #[test]
    fn the_route_reader_reads_method_chains_and_closures() {
        let src = r#"Router::new()
            .route("/a", post(x::a).put(x::a))
            .route(
                "/b/{id}",
                get(|h: HeaderMap| async move { f("(", &h) }).delete(y),
            )
            .route("/c", get(c))"#;
        let r = routes_in(Path::new("t.rs"), src);
        assert_eq!(
            r,
            vec![
                (
                    "/a".to_string(),
                    vec!["POST".to_string(), "PUT".to_string()]
                ),
                ("/b/{id}".into(), vec!["GET".into(), "DELETE".into()]),
                ("/c".into(), vec!["GET".into()]),
            ]
        );
    }

    #[test]
    fn every_route_is_documented_with_its_methods_and_nothing_else() {
        let routes = router_routes();
        // The reader found the router (a sanity check on the reader itself).
        assert!(routes.len() > 40, "only {} routes read", routes.len());
        assert!(routes["/api/openapi.json"].contains("GET"));
        assert!(routes["/custom/{app}"].contains("PUT"));
        let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, path, _) in operations(doc()) {
            documented.entry(path).or_default().insert(m);
        }
        let mut problems = Vec::new();
        for (path, methods) in &routes {
            match documented.get(path) {
                None => problems.push(format!(
                    "route {path} ({methods:?}) is not in crates/api/openapi.yaml"
                )),
                Some(d) if d != methods => problems.push(format!(
                    "{path}: the router has {methods:?}, the document {d:?}"
                )),
                _ => {}
            }
        }
        for path in documented.keys() {
            if !routes.contains_key(path) {
                problems.push(format!(
                    "{path} is in crates/api/openapi.yaml but not a route"
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// A concrete path for a template (`{x}` → `x1`).
    fn concrete(template: &str) -> String {
        template
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') && seg.ends_with('}') {
                    "x1".to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn access_name(a: Access) -> &'static str {
        match a {
            Access::Open => "open",
            Access::LoggedIn => "logged-in",
            Access::Ingest => "ingest",
            Access::Need(Permission::Read) => "read",
            Access::Need(Permission::Triage) => "triage",
            Access::Need(Permission::Ingest) => "ingest",
            Access::Need(Permission::Admin) => "admin",
        }
    }

    #[test]
    fn every_operation_names_the_access_of_the_policy_and_matching_security() {
        let mut problems = Vec::new();
        for (m, path, op) in operations(doc()) {
            let method = Method::from_bytes(m.as_bytes()).expect("method");
            let want = access_name(policy::access(&method, &concrete(&path)));
            let id = format!("{m} {path}");
            let said = op["x-ferrodef-access"].as_str().unwrap_or("(none)");
            if said != want {
                problems.push(format!(
                    "{id}: x-ferrodef-access is {said}, the policy says {want}"
                ));
            }
            let Some(security) = op["security"].as_array() else {
                problems.push(format!("{id}: no security"));
                continue;
            };
            let anonymous = security.is_empty()
                || security
                    .iter()
                    .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            match want {
                "open" | "ingest" if !anonymous => problems.push(format!(
                    "{id}: {want} but its security does not allow anonymous callers"
                )),
                "open" | "ingest" => {}
                _ if anonymous => problems.push(format!(
                    "{id}: needs {want} but its security allows anonymous callers"
                )),
                _ => {
                    for scheme in ["bearer", "basic", "session"] {
                        if !security.iter().any(|s| s.get(scheme).is_some()) {
                            problems.push(format!("{id}: {scheme} is not in its security"));
                        }
                    }
                    // Unsafe requests with a session need the CSRF token, safe ones do not.
                    let csrf = security
                        .iter()
                        .filter(|s| s.get("session").is_some())
                        .all(|s| s.get("csrf").is_some());
                    if csrf != policy::is_unsafe(&method) {
                        problems.push(format!(
                            "{id}: csrf is {} with the session",
                            if csrf { "required" } else { "not required" }
                        ));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Every `$ref` of `v`, with where it is.
    fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        if let Some(r) = v.as_str() {
                            out.push((at.clone(), r));
                        }
                    } else {
                        refs(v, format!("{at}/{k}"), out);
                    }
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    refs(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    fn resolve<'a>(d: &'a Value, v: &'a Value) -> &'a Value {
        match v["$ref"].as_str() {
            Some(r) => d
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{r} does not resolve")),
            None => v,
        }
    }

    #[test]
    fn refs_resolve_path_parameters_are_declared_and_operation_ids_are_unique() {
        let d = doc();
        let mut all = Vec::new();
        refs(d, String::new(), &mut all);
        assert!(all.len() > 100);
        let mut problems: Vec<String> = all
            .iter()
            .filter(|(_, r)| {
                !r.starts_with("#/")
                    || d.pointer(&r[1..].replace("~1", "/").replace("~0", "~"))
                        .is_none()
            })
            .map(|(at, r)| format!("{at}: {r} does not resolve"))
            .collect();
        let mut ids = BTreeSet::new();
        for (m, path, op) in operations(d) {
            let id = format!("{m} {path}");
            match op["operationId"].as_str() {
                Some(oid) if !ids.insert(oid.to_string()) => {
                    problems.push(format!("{id}: operationId {oid} is used twice"))
                }
                Some(_) => {}
                None => problems.push(format!("{id}: no operationId")),
            }
            if op["responses"].as_object().is_none_or(|r| r.is_empty()) {
                problems.push(format!("{id}: no responses"));
            }
            // Links name operations that exist.
            for (code, r) in op["responses"].as_object().into_iter().flatten() {
                let r = resolve(d, r);
                for (name, link) in r["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"].as_str().unwrap_or("");
                    if !operations(d)
                        .iter()
                        .any(|(_, _, o)| o["operationId"] == target)
                    {
                        problems.push(format!(
                            "{id} {code}: link {name} names no operation ({target:?})"
                        ));
                    }
                }
            }
            let item = &d["paths"][&path];
            let declared: BTreeSet<&str> = [&item["parameters"], &op["parameters"]]
                .into_iter()
                .filter_map(Value::as_array)
                .flatten()
                .map(|p| resolve(d, p))
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            if declared != in_template {
                problems.push(format!(
                    "{id}: path parameters declared {declared:?}, in the path {in_template:?}"
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
