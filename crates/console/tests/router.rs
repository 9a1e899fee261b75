//! The console router: what it serves, with which headers, from the real embedded build.

use std::io::Read;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use ferrodef_console::{router, ASSETS, CONTENT_SECURITY_POLICY};
use tower::ServiceExt;

async fn get(path: &str, headers: &[(&str, &str)]) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let app: Router = router();
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = to_bytes(resp.into_body(), 16 << 20).await.unwrap().to_vec();
    (status, headers, body)
}

/// The paths of the entry script and stylesheet named by index.html.
fn entry_assets(index: &str) -> Vec<String> {
    index
        .split(['"', '\''])
        .filter(|s| s.starts_with("/ui/assets/"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn root_redirects_to_the_console() {
    for path in ["/", "/ui"] {
        let (status, headers, _) = get(path, &[]).await;
        assert_eq!(status, StatusCode::TEMPORARY_REDIRECT, "{path}");
        assert_eq!(headers[header::LOCATION], "/ui/");
    }
}

#[tokio::test]
async fn pages_answer_the_application_with_a_strict_policy() {
    let (status, h, body) = get("/ui/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let index = String::from_utf8(body).unwrap();
    assert!(index.contains("<div id=\"app\">"), "{index}");
    // No inline script: the policy would block it.
    assert!(
        !index.contains("<script>") && !index.contains("<style"),
        "{index}"
    );
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    // Deep links (single-page application) answer the same document.
    for path in ["/ui/search", "/ui/dashboards?from=now-1h", "/ui/alerts/abc"] {
        let (status, h, body) = get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            h[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(String::from_utf8(body).unwrap(), index, "{path}");
    }
}

#[tokio::test]
async fn bundles_have_content_types_and_are_cached_for_good() {
    let (_, _, body) = get("/ui/", &[]).await;
    let entries = entry_assets(&String::from_utf8(body).unwrap());
    assert_eq!(entries.len(), 3, "icon, stylesheet and script: {entries:?}");
    for path in &entries {
        let (status, h, body) = get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.is_empty(), "{path}");
        let ct = h[header::CONTENT_TYPE].to_str().unwrap();
        let expected = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else if path.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "image/svg+xml"
        };
        assert_eq!(ct, expected, "{path}");
        let cache = h[header::CACHE_CONTROL].to_str().unwrap();
        if path.ends_with("favicon.svg") {
            assert_eq!(cache, "no-cache");
        } else {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
        }
    }
}

#[tokio::test]
async fn etags_answer_not_modified() {
    let (_, h, _) = get("/ui/search", &[]).await;
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let (status, h2, body) = get("/ui/search", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(h2[header::ETAG], etag.as_str());
    let (status, _, _) = get("/ui/search", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn gzip_only_when_accepted_and_it_decodes_to_the_file() {
    let asset = ASSETS
        .iter()
        .find(|a| a.path.ends_with(".js") && a.gzip.is_some())
        .expect("a compressed script");
    let path = format!("/ui/{}", asset.path);
    let (_, h, body) = get(&path, &[("accept-encoding", "br, gzip;q=0.8")]).await;
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert_eq!(h[header::VARY], "Accept-Encoding");
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, asset.body);
    for refused in ["", "gzip;q=0", "br"] {
        let (_, h, body) = get(&path, &[("accept-encoding", refused)]).await;
        assert!(h.get(header::CONTENT_ENCODING).is_none(), "{refused:?}");
        assert_eq!(body, asset.body, "{refused:?}");
    }
}

#[tokio::test]
async fn a_missing_asset_is_404_not_the_page() {
    let (status, h, body) = get("/ui/assets/main-DOESNOTEXIST.js", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(h[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("/ui/assets/main-DOESNOTEXIST.js"));
}

#[test]
fn the_map_data_and_the_charts_are_embedded() {
    // The attackers page's chunk carries Natural Earth's countries (no tile server).
    let js: Vec<&str> = ASSETS
        .iter()
        .filter(|a| a.path.ends_with(".js"))
        .map(|a| std::str::from_utf8(a.body).unwrap())
        .collect();
    assert!(js
        .iter()
        .any(|s| s.contains("Topology") && s.contains("Antarctica")));
    assert!(js.iter().any(|s| s.contains("uplot")));
    // The entry script stays small: the map loads only with its page.
    let (_, _, body) = futures_lite_block(get("/ui/", &[]));
    let index = String::from_utf8(body).unwrap();
    let main = entry_assets(&index)
        .into_iter()
        .find(|p| p.ends_with(".js"))
        .unwrap();
    let main = ASSETS
        .iter()
        .find(|a| format!("/ui/{}", a.path) == main)
        .unwrap();
    assert!(
        main.gzip.map_or(main.body.len(), <[u8]>::len) < 60_000,
        "entry script gzipped: {} bytes",
        main.gzip.map_or(main.body.len(), <[u8]>::len)
    );
    assert!(!std::str::from_utf8(main.body)
        .unwrap()
        .contains("Antarctica"));
}

fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
