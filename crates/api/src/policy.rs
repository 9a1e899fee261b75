//! Who may call what: one table, method and path pattern to the access needed. The auth
//! middleware and the tests read it; a new endpoint gets a row here.

use axum::http::Method;
use ferrodef_auth::Permission;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing (health, login, the console's pages and assets).
    Open,
    /// Any authenticated principal (the handler checks more).
    LoggedIn,
    /// A principal whose role allows this.
    Need(Permission),
    /// Ingest: an ingest-capable principal when tokens are required (listener not
    /// loopback-only, or `[auth] require_ingest_token`), else anyone.
    Ingest,
}

use Access::{Ingest, LoggedIn, Need, Open};
use Permission::{Admin, Read, Triage};

/// The table, first match wins: (method or `*`, path pattern, access). In patterns `{}`
/// matches one path segment and a final `*` the rest of the path. A `GET` row decides `HEAD`
/// too: the router answers `HEAD` with the `GET` handler (the body dropped).
pub const POLICY: &[(&str, &str, Access)] = &[
    ("GET", "/health", Open),
    // The API's description holds no data: tools and the console read it before logging in.
    ("GET", "/api/openapi.json", Open),
    ("POST", "/api/login", Open),
    ("POST", "/api/logout", LoggedIn),
    ("GET", "/api/me", LoggedIn),
    ("GET", "/api/users", Need(Admin)),
    ("POST", "/api/users", Need(Admin)),
    ("PATCH", "/api/users/{}", Need(Admin)),
    // Admins reset anyone's; every user changes their own (the handler checks which).
    ("POST", "/api/users/{}/password", LoggedIn),
    // Everyone manages their own tokens; admins everyone's (the handler checks).
    ("GET", "/api/tokens", LoggedIn),
    ("POST", "/api/tokens", LoggedIn),
    ("DELETE", "/api/tokens/{}", LoggedIn),
    ("GET", "/api/search", Need(Read)),
    ("GET", "/api/aggregate", Need(Read)),
    ("GET", "/api/alerts", Need(Read)),
    ("GET", "/api/alerts/stream", Need(Read)),
    ("GET", "/api/alerts/{}", Need(Read)),
    ("POST", "/api/alerts/{}/status", Need(Triage)),
    ("POST", "/api/alerts/{}/assign", Need(Triage)),
    ("POST", "/api/alerts/{}/comment", Need(Triage)),
    // MozDef's alert status endpoint.
    ("POST", "/alertstatus", Need(Triage)),
    // Incidents: viewers read, analysts and admins change (docs/incidents.md).
    ("GET", "/api/incidents", Need(Read)),
    ("POST", "/api/incidents", Need(Triage)),
    ("GET", "/api/incidents/veris", Need(Read)),
    ("GET", "/api/incidents/{}", Need(Read)),
    ("PATCH", "/api/incidents/{}", Need(Triage)),
    ("POST", "/api/incidents/{}/notes", Need(Triage)),
    ("POST", "/api/incidents/{}/status", Need(Triage)),
    ("POST", "/api/incidents/{}/tags", Need(Triage)),
    ("POST", "/api/incidents/{}/alerts", Need(Triage)),
    ("POST", "/api/incidents/{}/assign", Need(Triage)),
    ("GET", "/api/attackers", Need(Read)),
    ("GET", "/api/attackers/{}", Need(Read)),
    // Lists: reading needs read (the plain-text blocklist too: firewalls fetch it with a
    // viewer token, as a bearer or `?token=`), changing needs triage.
    ("GET", "/api/blocklist", Need(Read)),
    ("POST", "/api/blocklist", Need(Triage)),
    ("DELETE", "/api/blocklist/{}", Need(Triage)),
    ("GET", "/api/blocklist.txt", Need(Read)),
    ("GET", "/api/watchlist", Need(Read)),
    ("POST", "/api/watchlist", Need(Triage)),
    ("DELETE", "/api/watchlist/{}", Need(Triage)),
    // MozDef's list endpoints.
    ("POST", "/blockip", Need(Triage)),
    ("POST", "/blockip/", Need(Triage)),
    ("POST", "/watchitem", Need(Triage)),
    ("POST", "/watchitem/", Need(Triage)),
    ("GET", "/getwatchlist", Need(Read)),
    ("GET", "/getwatchlist/", Need(Read)),
    ("GET", "/status", Need(Read)),
    ("GET", "/metrics", Need(Read)),
    ("*", "/events", Ingest),
    ("*", "/events/", Ingest),
    ("*", "/_bulk", Ingest),
    ("*", "/cef", Ingest),
    ("*", "/nxlog", Ingest),
    ("*", "/syslog", Ingest),
    ("*", "/custom/{}", Ingest),
    // The rest of the API: reading needs read, changing needs triage.
    ("GET", "/api/*", Need(Read)),
    ("*", "/api/*", Need(Triage)),
];

fn matches(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some("{}"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The index in [`POLICY`] of the row that decides `method` on `path` (the first that
/// matches), or `None` for a path outside the table. The tests use it to check that every
/// row is exercised.
pub fn rule(method: &Method, path: &str) -> Option<usize> {
    let method = if *method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    POLICY
        .iter()
        .position(|(m, pat, _)| (*m == "*" || *m == method) && matches(pat, path))
}

/// The access `method` on `path` needs: the first matching row of [`POLICY`]; paths outside
/// the table (the console's pages and assets) are open, but anything under `/api/` is not.
pub fn access(method: &Method, path: &str) -> Access {
    rule(method, path).map_or(Open, |i| POLICY[i].2)
}

/// Whether `method` may change something (CSRF checks apply).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert_eq!(access(&Method::GET, "/health"), Open);
        assert_eq!(access(&Method::POST, "/health"), Open);
        assert_eq!(access(&Method::GET, "/"), Open);
        assert_eq!(rule(&Method::GET, "/"), None);
        assert_eq!(rule(&Method::GET, "/health"), Some(0));
        assert_eq!(
            rule(&Method::PUT, "/api/alerts/1").map(|i| POLICY[i].1),
            Some("/api/*")
        );
        assert_eq!(access(&Method::GET, "/api/openapi.json"), Open);
        assert_eq!(access(&Method::POST, "/api/openapi.json"), Need(Triage));
        assert_eq!(access(&Method::PATCH, "/api/users/ann"), Need(Admin));
        assert_eq!(access(&Method::PATCH, "/api/users/"), Need(Triage));
        assert_eq!(access(&Method::POST, "/api/users/ann/password"), LoggedIn);
        assert_eq!(access(&Method::PUT, "/custom/app1"), Ingest);
        assert_eq!(access(&Method::GET, "/api/alerts"), Need(Read));
        // HEAD runs the GET handler: it needs what GET needs, outside /api/ too.
        assert_eq!(access(&Method::HEAD, "/status"), Need(Read));
        assert_eq!(access(&Method::HEAD, "/getwatchlist/"), Need(Read));
        assert_eq!(access(&Method::HEAD, "/api/users"), Need(Admin));
        assert_eq!(access(&Method::HEAD, "/api/nothing"), Need(Read));
        assert_eq!(access(&Method::HEAD, "/health"), Open);
        assert_eq!(access(&Method::POST, "/api/alerts/1/ack"), Need(Triage));
        assert_eq!(access(&Method::DELETE, "/api/users/ann"), Need(Triage));
        assert_eq!(access(&Method::GET, "/api/incidents"), Need(Read));
        assert_eq!(access(&Method::GET, "/api/incidents/INC-1"), Need(Read));
        assert_eq!(access(&Method::POST, "/api/incidents"), Need(Triage));
        assert_eq!(
            access(&Method::POST, "/api/incidents/INC-1/notes"),
            Need(Triage)
        );
        assert_eq!(access(&Method::PATCH, "/api/incidents/INC-1"), Need(Triage));
        assert_eq!(
            access(&Method::DELETE, "/api/incidents/INC-1"),
            Need(Triage)
        );
    }
}
