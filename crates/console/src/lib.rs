//! ferrodef's web console, served from the binary.
//!
//! The front-end (Preact, uPlot, d3-geo with Natural Earth's countries; sources in
//! `crates/console/web`, choices in `docs/console.md`) is built by this crate's build script
//! and embedded: the server needs no files and no internet at run time. [`router`] serves it:
//!
//! - `/` redirects to `/ui/`;
//! - `/ui/assets/<name>`: the bundles, under content-hashed names, cached for a year
//!   (`immutable`); the few unhashed files are revalidated with their ETag;
//! - every other `/ui/...` path answers the application's page (`index.html`, revalidated
//!   by ETag), which shows the view the path names (single-page application);
//! - gzip bodies (compressed at build time) to clients that accept them;
//! - a strict Content-Security-Policy: scripts, styles and connections only from the server
//!   itself, no inline script, no framing.

mod assets;

pub use assets::{find, Asset, ASSETS};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// The Content-Security-Policy of every console response: nothing from other origins, no
/// inline script or style element, no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Where the application lives.
pub const UI_PREFIX: &str = "/ui/";

/// The console's routes: `/`, `/ui` and everything under `/ui/`. Generic in the state so it
/// merges into any router (`Router::merge`) before its `with_state`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary(UI_PREFIX) }))
        .route("/ui", get(|| async { Redirect::temporary(UI_PREFIX) }))
        .route("/ui/", get(|headers: HeaderMap| async move { serve("", &headers) }))
        .route(
            "/ui/{*path}",
            get(
                |axum::extract::Path(path): axum::extract::Path<String>, headers: HeaderMap| async move {
                    serve(&path, &headers)
                },
            ),
        )
}

/// The answer for `/ui/<path>`.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    if let Some(name) = path.strip_prefix("assets/") {
        return match find(&format!("assets/{name}")) {
            Some(asset) => respond(asset, headers, cache_control(name)),
            None => with_security_headers(
                (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("no such console file: /ui/{path}\n"),
                )
                    .into_response(),
            ),
        };
    }
    // Every page of the application is the same document; it reads its view from the URL.
    match find("index.html") {
        Some(index) => respond(index, headers, "no-cache"),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the console was built without index.html",
        )
            .into_response(),
    }
}

/// Built names carry a content hash (`main-7TNA6IG3.js`): they never change, so they are
/// cached for good. Others (the icon) are revalidated.
fn cache_control(name: &str) -> &'static str {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let hashed = stem
        .rsplit_once('-')
        .is_some_and(|(_, h)| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_alphanumeric()));
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

fn respond(asset: &Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == asset.etag
        });
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match asset.gzip.filter(|_| accepts_gzip(headers)) {
            Some(gz) => (
                [
                    (header::CONTENT_TYPE, asset.content_type),
                    (header::CONTENT_ENCODING, "gzip"),
                ],
                gz,
            )
                .into_response(),
            None => ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response(),
        }
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if asset.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    with_security_headers(resp)
}

/// The client takes gzip (`Accept-Encoding: gzip`, not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

fn with_security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}
