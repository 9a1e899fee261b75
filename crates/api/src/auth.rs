//! Authentication and authorization of every request, and the user, token and session
//! endpoints.
//!
//! The middleware reads the credentials (session cookie, `Authorization: Bearer <token>`, or
//! HTTP Basic with a user's password), looks up what the endpoint needs in
//! [`crate::policy::POLICY`], checks CSRF for unsafe requests, and hands the [`Principal`] to
//! the handler as a request extension. Refusals are JSON `{"error": ...}`: 401 (with
//! `WWW-Authenticate: Basic realm="ferrodef"` for API clients), 403, or 429 for a throttled
//! address; refusals that matter are security events in CEF.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ferrodef_auth::{
    Actor, Auth, AuthError, LoginError, Permission, Principal, RequestInfo, Role, TokenOwner,
    UserChange, Via,
};
use serde::Deserialize;
use serde_json::json;

use crate::policy::{self, Access};
use crate::server::ConnInfo;
use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ferrodef_session";
/// The header carrying the CSRF token on unsafe requests made with a session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Settings of authentication in the API.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Ingest endpoints need an ingest-capable token or user.
    pub require_ingest_token: bool,
}

/// The request as security events describe it.
pub fn request_info(req: &Request) -> RequestInfo {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let scheme = if conn.is_some_and(|c| c.tls) {
        "https"
    } else {
        "http"
    };
    let path = redact_query_token(req.uri().path_and_query().map_or("/", |p| p.as_str()));
    RequestInfo {
        src: conn.map(|c| c.peer.ip()),
        dst: conn.map(|c| c.local.ip()),
        method: req.method().to_string(),
        url: if host.is_empty() {
            path.to_string()
        } else {
            format!("{scheme}://{host}{path}")
        },
        user_agent: headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    }
}

/// The one path that accepts a token in its query string (`?token=`): the plain-text
/// blocklist, for firewalls that can fetch a URL but not send a header (docs/lists.md).
pub const QUERY_TOKEN_PATH: &str = "/api/blocklist.txt";

/// The `token` parameter of a query string.
fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// `path?query` with the value of a `token` parameter replaced, so that security events and
/// logs never hold a token.
fn redact_query_token(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_string();
    };
    let query: Vec<&str> = query
        .split('&')
        .map(|kv| {
            if kv.starts_with("token=") {
                "token=REDACTED"
            } else {
                kv
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Credentials a request carries.
enum Credentials {
    None,
    Bearer(String),
    Basic(String, String),
    Session(String),
    Malformed(&'static str),
}

fn credentials(headers: &HeaderMap) -> Credentials {
    use ferrodef_auth::credentials::{parse_authorization, Authorization};
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        return match parse_authorization(v.as_bytes()) {
            Ok(Authorization::Bearer(t)) => Credentials::Bearer(t),
            Ok(Authorization::Basic { user, password }) => Credentials::Basic(user, password),
            Err(m) => Credentials::Malformed(m),
        };
    }
    match session_cookie(headers) {
        Some(id) => Credentials::Session(id),
        None => Credentials::None,
    }
}

/// The session cookie's value.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    ferrodef_auth::credentials::cookie(
        headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()),
        SESSION_COOKIE,
    )
}

/// Why a request has no principal.
enum Refused {
    /// No credentials.
    Missing,
    /// Credentials that did not work.
    Bad(String),
    /// The address is throttled.
    Throttled(u64),
    /// The state could not be read.
    Internal(String),
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Refused> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Refused::Internal(e.to_string()))
}

async fn authenticate(
    auth: &Arc<Auth>,
    creds: Credentials,
    info: &RequestInfo,
) -> Result<Principal, Refused> {
    let auth = auth.clone();
    let info = info.clone();
    match creds {
        Credentials::None => Err(Refused::Missing),
        Credentials::Malformed(m) => Err(Refused::Bad(m.into())),
        Credentials::Bearer(t) => match blocking(move || auth.check_token(&t, &info)).await? {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(Refused::Bad("invalid or revoked API token".into())),
            Err(e) => Err(Refused::Internal(e.to_string())),
        },
        Credentials::Basic(u, p) => match blocking(move || auth.login(&u, &p, &info)).await? {
            Ok(p) => Ok(p),
            Err(LoginError::Throttled { retry_after }) => Err(Refused::Throttled(retry_after)),
            Err(LoginError::Storage(e)) => Err(Refused::Internal(e)),
            Err(e) => Err(Refused::Bad(e.to_string())),
        },
        Credentials::Session(id) => match blocking(move || auth.session(&id)).await? {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(Refused::Bad("the session has ended: log in again".into())),
            Err(e) => Err(Refused::Internal(e.to_string())),
        },
    }
}

/// Whether the client is a script in a browser (the console): no Basic challenge then, or
/// the browser would show its own login box.
fn from_browser_script(headers: &HeaderMap) -> bool {
    headers.contains_key("x-requested-with")
        || headers
            .get("sec-fetch-mode")
            .is_some_and(|m| m.as_bytes() != b"navigate")
}

fn unauthorized(message: impl Into<String>, headers: &HeaderMap) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    if !from_browser_script(headers) {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ferrodef\", charset=\"UTF-8\""),
        );
    }
    r
}

fn refusal(r: Refused, headers: &HeaderMap) -> Response {
    match r {
        Refused::Missing => unauthorized(
            "authentication required: log in, or send a token (Authorization: Bearer) or a user's password (HTTP Basic)",
            headers,
        ),
        Refused::Bad(m) => unauthorized(m, headers),
        Refused::Throttled(s) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins from this address; retry in {s} s"),
        )
        .retry_after(s)
        .into_response(),
        Refused::Internal(m) => ApiError::internal("authentication", m).into_response(),
    }
}

/// A cross-origin unsafe request: its `Origin` names another site than `Host`, or the browser
/// says it is cross-site.
fn cross_origin(headers: &HeaderMap) -> Option<String> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Some("Sec-Fetch-Site: cross-site".into());
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("?");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    (origin_host != host).then(|| format!("Origin {origin} is not this server ({host})"))
}

/// The middleware: see the module documentation.
pub async fn layer(State(s): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let access = policy::access(req.method(), req.uri().path());
    let info = request_info(&req);
    let headers = req.headers().clone();
    let unsafe_method = policy::is_unsafe(req.method());
    if unsafe_method && access != Access::Ingest {
        if let Some(why) = cross_origin(&headers) {
            let auth = s.auth.clone();
            let i = info.clone();
            let _ = blocking(move || auth.csrf_failed(&Actor::unauthenticated(), &why, &i)).await;
            return ApiError::new(StatusCode::FORBIDDEN, "cross-origin request refused")
                .into_response();
        }
    }
    let creds = match credentials(&headers) {
        Credentials::None if req.uri().path() == QUERY_TOKEN_PATH => {
            query_token(req.uri().query()).map_or(Credentials::None, Credentials::Bearer)
        }
        c => c,
    };
    let has_creds = !matches!(creds, Credentials::None);
    let result = authenticate(&s.auth, creds, &info).await;
    let principal = match (access, result) {
        (Access::Open, r) => r.ok(),
        (Access::Ingest, Err(Refused::Missing)) if !s.auth_config.require_ingest_token => None,
        (_, Err(r)) => return refusal(r, &headers),
        (_, Ok(p)) => Some(p),
    };
    if let Some(p) = &principal {
        let needed = match access {
            Access::Need(perm) => Some(perm),
            Access::Ingest if s.auth_config.require_ingest_token || has_creds => {
                Some(Permission::Ingest)
            }
            _ => None,
        };
        if let Some(perm) = needed.filter(|perm| !p.allows(*perm)) {
            let (auth, p2, i) = (s.auth.clone(), p.clone(), info.clone());
            let _ = blocking(move || auth.access_denied(&p2, perm, &i)).await;
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} has role {}, which does not allow {}",
                    p.name,
                    p.role,
                    format!("{perm:?}").to_lowercase()
                ),
            )
            .into_response();
        }
        if let (true, Via::Session { csrf }) = (unsafe_method, &p.via) {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let why = match sent {
                None => Some("missing CSRF token"),
                Some(t) if !ferrodef_auth::secret::ct_eq(t, csrf) => {
                    if t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    {
                        Some("wrong CSRF token")
                    } else {
                        Some("CSRF token with unexpected characters")
                    }
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                let (auth, actor, i) = (s.auth.clone(), p.actor(), info.clone());
                let _ = blocking(move || auth.csrf_failed(&actor, why, &i)).await;
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("{why}: send the token from /api/me or the login answer in the {CSRF_HEADER} header"),
                )
                .into_response();
            }
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    req.extensions_mut().insert(info);
    next.run(req).await
}

// ---- handlers ----

fn auth_error(e: AuthError) -> ApiError {
    let status = match &e {
        AuthError::Invalid(_) => StatusCode::BAD_REQUEST,
        AuthError::NotFound(_) => StatusCode::NOT_FOUND,
        AuthError::Conflict(_) => StatusCode::CONFLICT,
        AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
        AuthError::Storage(m) => {
            return ApiError::internal("reading or writing the users and tokens", m)
        }
    };
    ApiError::new(status, e.to_string())
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("the users and tokens task", e))?
        .map_err(auth_error)
}

/// A JSON body, with a clear error when it is not.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
            .with("line", e.line())
            .with("column", e.column())
    })
}

async fn read_small(b: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(b, 64 * 1024)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("reading the body: {e}")))
}

fn principal_of(p: Option<Extension<Principal>>) -> Result<Principal, ApiError> {
    p.map(|Extension(p)| p)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "authentication required"))
}

fn forbidden(
    s: &AppState,
    p: &Principal,
    perm: Permission,
    info: &RequestInfo,
    msg: &str,
) -> ApiError {
    s.auth.access_denied(p, perm, info);
    ApiError::new(StatusCode::FORBIDDEN, msg.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let c = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `POST /api/login`: `{"username", "password"}` → a session cookie and the CSRF token.
pub async fn login(
    State(s): State<Arc<AppState>>,
    Extension(info): Extension<RequestInfo>,
    conn: Option<Extension<ConnInfo>>,
    b: Body,
) -> Result<Response, ApiError> {
    let LoginBody { username, password } = body(&read_small(b).await?)?;
    let auth = s.auth.clone();
    let res = tokio::task::spawn_blocking(move || {
        auth.login(&username, &password, &info)
            .map(|p| (auth.create_session(&p), p))
    })
    .await
    .map_err(|e| ApiError::internal("the login task", e))?;
    let (session, p) = match res {
        Ok(x) => x,
        Err(LoginError::Throttled { retry_after }) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                LoginError::Throttled { retry_after }.to_string(),
            )
            .retry_after(retry_after))
        }
        Err(LoginError::Storage(m)) => return Err(ApiError::internal("login", m)),
        Err(e) => return Err(ApiError::new(StatusCode::UNAUTHORIZED, e.to_string())),
    };
    let tls = conn.is_some_and(|Extension(c)| c.tls);
    let max_age = s.auth.settings().session_ttl.num_seconds().max(0);
    let mut r = Json(json!({
        "user": p.name,
        "role": p.role,
        "csrf_token": session.csrf,
        "expires": session.expires,
    }))
    .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header(&session.id, max_age, tls),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `POST /api/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    conn: Option<Extension<ConnInfo>>,
) -> Response {
    if let Some(id) = session_cookie(&headers) {
        s.auth.end_session(&id);
    }
    let tls = conn.is_some_and(|Extension(c)| c.tls);
    let mut r = Json(json!({"result": "logged out"})).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header("", 0, tls));
    r
}

/// `GET /api/me`: who the caller is, and the CSRF token of its session.
pub async fn me(p: Option<Extension<Principal>>) -> Result<Response, ApiError> {
    let p = principal_of(p)?;
    let (via, csrf, token) = match &p.via {
        Via::Session { csrf } => ("session", Some(csrf.clone()), None),
        Via::Token { id } => ("token", None, Some(id.clone())),
        Via::Basic => ("basic", None, None),
    };
    let mut body = json!({
        "user": p.name,
        "user_id": p.user_id,
        "role": p.role,
        "via": via,
        "permissions": {
            "read": p.allows(Permission::Read),
            "triage": p.allows(Permission::Triage),
            "ingest": p.allows(Permission::Ingest),
            "admin": p.allows(Permission::Admin),
        },
    });
    if let Some(c) = csrf {
        body["csrf_token"] = json!(c);
    }
    if let Some(t) = token {
        body["token_id"] = json!(t);
    }
    let mut r = Json(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `GET /api/users`.
pub async fn list_users(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let auth = s.auth.clone();
    let users = run(move || auth.users()).await?;
    Ok(Json(json!({ "users": users })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

fn role(s: &str) -> Result<Role, ApiError> {
    s.parse()
        .map_err(|e: String| ApiError::new(StatusCode::BAD_REQUEST, e))
}

/// `POST /api/users`: `{"name", "role", "password"}`.
pub async fn add_user(
    State(s): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Extension(info): Extension<RequestInfo>,
    b: Body,
) -> Result<Response, ApiError> {
    let u: NewUser = body(&read_small(b).await?)?;
    let r = role(&u.role)?;
    let auth = s.auth.clone();
    let view = run(move || auth.add_user(&p.actor(), &u.name, r, &u.password, &info)).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchUser {
    role: Option<String>,
    disabled: Option<bool>,
    #[serde(default)]
    unlock: bool,
}

/// `PATCH /api/users/{name}`: `{"role"?, "disabled"?, "unlock"?}`.
pub async fn patch_user(
    State(s): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Extension(info): Extension<RequestInfo>,
    Path(name): Path<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let c: PatchUser = body(&read_small(b).await?)?;
    let change = UserChange {
        role: c.role.as_deref().map(role).transpose()?,
        disabled: c.disabled,
        unlock: c.unlock,
    };
    let auth = s.auth.clone();
    let view = run(move || auth.update_user(&p.actor(), &name, &change, &info)).await?;
    Ok(Json(view).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
    old_password: Option<String>,
}

/// `POST /api/users/{name}/password`: `{"password", "old_password"?}`. An admin resets
/// another user's password; everyone changes their own with the old one.
pub async fn set_password(
    State(s): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Extension(info): Extension<RequestInfo>,
    Path(name): Path<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let pb: PasswordBody = body(&read_small(b).await?)?;
    let own = p.user_name() == Some(name.as_str());
    if !own && !p.allows(Permission::Admin) {
        return Err(forbidden(
            &s,
            &p,
            Permission::Admin,
            &info,
            "only admins set other users' passwords",
        ));
    }
    if own && pb.old_password.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "changing your own password needs old_password",
        ));
    }
    let old = if own { pb.old_password } else { None };
    let auth = s.auth.clone();
    run(move || auth.set_password(&p.actor(), &name, old.as_deref(), &pb.password, &info)).await?;
    Ok(Json(json!({"result": "password changed"})).into_response())
}

/// Query of `GET /api/tokens`.
#[derive(Deserialize)]
pub struct TokenQuery {
    /// Only this user's tokens (admins).
    pub user: Option<String>,
}

/// `GET /api/tokens`: admins see every token (or one user's with `?user=`); others their own.
pub async fn list_tokens(
    State(s): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    q: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let filter = if p.allows(Permission::Admin) {
        q.user
    } else {
        Some(p.user_name().unwrap_or("").to_string())
    };
    if !p.allows(Permission::Admin) && p.user_id == 0 {
        return Ok(Json(json!({ "tokens": [] })).into_response());
    }
    let auth = s.auth.clone();
    let tokens = run(move || auth.tokens(filter.as_deref())).await?;
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
    user: Option<String>,
    source: Option<String>,
}

/// `POST /api/tokens`: `{"name", "role", "user"? | "source"?}`; the answer holds the token,
/// shown this once.
pub async fn create_token(
    State(s): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Extension(info): Extension<RequestInfo>,
    b: Body,
) -> Result<Response, ApiError> {
    let t: NewToken = body(&read_small(b).await?)?;
    let r = role(&t.role)?;
    let admin = p.allows(Permission::Admin);
    let owner = match (t.user, t.source) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "a token belongs to a user or a source, not both",
            ))
        }
        (None, Some(src)) if admin => TokenOwner::Source(src),
        (Some(u), None) if admin || p.user_name() == Some(u.as_str()) => TokenOwner::User(u),
        (None, None) if p.user_id != 0 => TokenOwner::User(p.name.clone()),
        _ => {
            return Err(forbidden(
                &s,
                &p,
                Permission::Admin,
                &info,
                "only admins create tokens for sources or other users",
            ))
        }
    };
    if !p.role.may_grant(r) {
        return Err(forbidden(
            &s,
            &p,
            Permission::Admin,
            &info,
            &format!("role {} may not create a token of role {r}", p.role),
        ));
    }
    let auth = s.auth.clone();
    let (view, token) =
        run(move || auth.create_token(&p.actor(), owner, r, &t.name, &info)).await?;
    let mut body =
        serde_json::to_value(&view).map_err(|e| ApiError::internal("encoding the token", e))?;
    body["token"] = json!(token);
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `DELETE /api/tokens/{id}`: admins revoke any token, others their own.
pub async fn revoke_token(
    State(s): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let auth = s.auth.clone();
    let id2 = id.clone();
    let t = run(move || auth.token(&id2)).await?;
    let own = t.user.is_some() && t.user.as_deref() == p.user_name();
    if !own && !p.allows(Permission::Admin) {
        return Err(forbidden(
            &s,
            &p,
            Permission::Admin,
            &info,
            "only admins revoke other users' tokens",
        ));
    }
    let auth = s.auth.clone();
    let view = run(move || auth.revoke_token(&p.actor(), &id, &info)).await?;
    Ok(Json(view).into_response())
}

/// Whether a request's method is one a CSRF check applies to (re-exported for the console).
pub fn needs_csrf(method: &Method) -> bool {
    policy::is_unsafe(method)
}
