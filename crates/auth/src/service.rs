//! [`Auth`]: users, tokens, sessions, login throttling and the security events they cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

use crate::file::{AuthFile, SessionFile, Stamp};
use crate::model::{check_name, ApiToken, AuthData, TokenOwner, TokenView, User, UserView};
use crate::secret::{ct_eq, random_hex, random_token, sha256_hex};
use crate::security::{Actor, RequestInfo, SecurityEvent, SecurityLog};
use crate::session::{NewSession, Sessions};
use crate::throttle::IpThrottle;
use crate::{password, AuthError, Clock, Permission, Role};

/// Prefix of every API token (`fdt_<id>_<secret>`), so secret scanners can find leaked ones.
pub const TOKEN_PREFIX: &str = "fdt_";

/// Settings (the `[auth]` section of the config file).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Failed logins in a row that lock an account [5].
    pub max_failures: u32,
    /// How long a lock lasts [15 min].
    pub lock_duration: Duration,
    /// Failed logins from one address, within `ip_window`, after which the address is refused
    /// [20].
    pub ip_max_failures: u32,
    /// See `ip_max_failures` [10 min].
    pub ip_window: Duration,
    /// Longest session [12 h].
    pub session_ttl: Duration,
    /// A session unused this long ends [1 h].
    pub session_idle: Duration,
    /// How long a verified HTTP Basic password is remembered (hash of name and password), so
    /// scripts do not pay for Argon2 on every request [5 min].
    pub basic_cache_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            max_failures: 5,
            lock_duration: Duration::minutes(15),
            ip_max_failures: 20,
            ip_window: Duration::minutes(10),
            session_ttl: Duration::hours(12),
            session_idle: Duration::hours(1),
            basic_cache_ttl: Duration::minutes(5),
        }
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A console session; unsafe requests must carry `csrf`.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
    /// An API token.
    Token {
        /// Its id.
        id: String,
    },
    /// HTTP Basic with a user's password.
    Basic,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User name, or `source:<name>` for a source's token.
    pub name: String,
    /// User id (0 for a source's token).
    pub user_id: u64,
    /// Effective role.
    pub role: Role,
    /// How it authenticated.
    pub via: Via,
}

impl Principal {
    /// Whether the role allows `p`.
    pub fn allows(&self, p: Permission) -> bool {
        self.role.allows(p)
    }

    /// The actor of security events.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            id: self.user_id,
        }
    }

    /// The owner name of tokens this principal creates for itself (its user).
    pub fn user_name(&self) -> Option<&str> {
        (self.user_id != 0).then_some(self.name.as_str())
    }
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password or disabled account (not told apart, on purpose).
    #[error("invalid user name or password")]
    BadCredentials,
    /// The account is locked after too many failures.
    #[error(
        "the account is locked after too many failed logins until {until}; an admin can unlock it"
    )]
    Locked {
        /// Until when.
        until: DateTime<Utc>,
    },
    /// Too many failures from this address.
    #[error("too many failed logins from this address; retry in {retry_after} s")]
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The state could not be read or written.
    #[error("{0}")]
    Storage(String),
}

/// A change to a user (`PATCH /api/users/{name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// New role.
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// Clear a lock and the failure counter.
    pub unlock: bool,
}

struct Loaded {
    data: Arc<AuthData>,
    stamp: Option<Stamp>,
}

/// How often, at most, sessions whose only change is their last use are written again (a
/// restart may then end a session up to this much before its idle time).
const SESSION_SAVE_INTERVAL: Duration = Duration::seconds(30);

/// Where the sessions are kept on disk, once the server asked for it.
struct SessionStore {
    file: SessionFile,
    /// (generation of the sessions last written, when).
    saved: Mutex<(u64, Option<DateTime<Utc>>)>,
}

struct CachedBasic {
    user_id: u64,
    password_changed: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// Users, tokens and sessions of one data directory. Safe to share between threads; every
/// method is synchronous and may block on the disk (and on Argon2 for password checks): call
/// them from blocking threads in async code.
pub struct Auth {
    file: AuthFile,
    settings: AuthSettings,
    clock: Arc<dyn Clock>,
    log: SecurityLog,
    loaded: Mutex<Loaded>,
    sessions: Mutex<Sessions>,
    session_store: std::sync::OnceLock<SessionStore>,
    throttle: Mutex<IpThrottle>,
    basic: Mutex<HashMap<String, CachedBasic>>,
    token_used: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("file", &self.file)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The lock state of `u` at `now`: `Some(until)` while locked.
fn locked(u: &User, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    u.locked_until.filter(|t| *t > now)
}

impl Auth {
    /// The auth state of `data_dir` (`<data_dir>/auth/auth.json`).
    pub fn open(
        data_dir: &Path,
        settings: AuthSettings,
        clock: Arc<dyn Clock>,
        log: SecurityLog,
    ) -> Result<Auth, AuthError> {
        let file = AuthFile::open(data_dir)?;
        let (data, stamp) = file.load()?;
        Ok(Auth {
            file,
            settings,
            clock,
            log,
            loaded: Mutex::new(Loaded {
                data: Arc::new(data),
                stamp,
            }),
            sessions: Mutex::new(Sessions::default()),
            session_store: std::sync::OnceLock::new(),
            throttle: Mutex::new(IpThrottle::default()),
            basic: Mutex::new(HashMap::new()),
            token_used: Mutex::new(HashMap::new()),
        })
    }

    /// The security log (to add sinks).
    pub fn security_log(&self) -> &SecurityLog {
        &self.log
    }

    /// Sends the spooled records (from `ferrodef user`/`token` commands) to the sinks; the
    /// server calls it at start and every few seconds. Returns how many.
    pub fn drain_spool(&self) -> Result<usize, AuthError> {
        let records = self.file.take_spool()?;
        for r in &records {
            self.log.record(r);
        }
        Ok(records.len())
    }

    /// A sink keeping records in this data directory's spool.
    pub fn spool_sink(&self) -> crate::security::SpoolSink {
        crate::security::SpoolSink(self.file.clone())
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The current state, re-read when another process (a `ferrodef user` command) changed
    /// the file.
    pub fn data(&self) -> Result<Arc<AuthData>, AuthError> {
        let stamp = self.file.stamp()?;
        let mut l = self.loaded.lock();
        if stamp != l.stamp {
            let (data, stamp) = self.file.load()?;
            l.data = Arc::new(data);
            l.stamp = stamp;
        }
        Ok(l.data.clone())
    }

    /// Changes the state under the writers' lock and keeps the result.
    fn update<T>(
        &self,
        f: impl FnOnce(&mut AuthData, DateTime<Utc>) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let now = self.now();
        let (out, data, stamp) = self.file.update(|d| f(d, now))?;
        let mut l = self.loaded.lock();
        l.data = Arc::new(data);
        l.stamp = stamp;
        Ok(out)
    }

    fn emit(&self, ev: SecurityEvent, actor: &Actor, req: &RequestInfo) {
        self.log.emit(&ev, actor, req, self.now());
    }

    /// First start: when there is no user at all, creates `admin` with `password`, or with a
    /// random password that is returned (to be shown once). `Ok(None)` when users exist or
    /// the given password was used.
    pub fn bootstrap_admin(&self, password: Option<&str>) -> Result<Option<String>, AuthError> {
        if !self.data()?.users.is_empty() {
            return Ok(None);
        }
        let (pw, generated) = match password {
            Some(p) => {
                password::check_policy(p).map_err(|e| {
                    AuthError::Invalid(format!("the first admin password (FERRODEF_ADMIN_PASSWORD / [auth] admin_password): {e}"))
                })?;
                (p.to_string(), false)
            }
            None => (random_token(18), true),
        };
        let hash = password::hash(&pw).map_err(AuthError::Storage)?;
        let created = self.update(|d, now| {
            if !d.users.is_empty() {
                return Ok(false);
            }
            let id = d.next_user_id;
            d.next_user_id += 1;
            d.users.push(User {
                id,
                name: "admin".into(),
                role: Role::Admin,
                disabled: false,
                password_hash: hash,
                failed_logins: 0,
                locked_until: None,
                created: now,
                changed: now,
                password_changed: now,
            });
            Ok(true)
        })?;
        // Installing is no security event: the first admin goes to the server's log only, so
        // a new data directory's store stays empty and no rule alerts on every installation.
        if created {
            tracing::info!(
                target: "ferrodef::security",
                generated,
                "first start: created the user 'admin' (role admin)"
            );
        }
        Ok((created && generated).then_some(pw))
    }

    // ---- logins ----

    /// Checks a user's password (console login or HTTP Basic), with the address throttle and
    /// the account lock; records failures, locks, and the security events.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        req: &RequestInfo,
    ) -> Result<Principal, LoginError> {
        let now = self.now();
        let s = &self.settings;
        let fail_event = |actor: &Actor, reason: &str| {
            self.emit(
                SecurityEvent::LoginFailed {
                    reason: reason.into(),
                },
                actor,
                req,
            )
        };
        let attempted = Actor {
            name: name.to_string(),
            id: 0,
        };
        if let Some(ip) = req.src {
            let blocked = self
                .throttle
                .lock()
                .blocked_for(ip, now, s.ip_max_failures, s.ip_window);
            if let Some(retry_after) = blocked {
                fail_event(&attempted, "too many failed logins from this address");
                return Err(LoginError::Throttled { retry_after });
            }
        }
        let data = self
            .data()
            .map_err(|e| LoginError::Storage(e.to_string()))?;
        let Some(user) = data.user(name).cloned() else {
            // Same work as a wrong password: no timing difference for unknown names.
            let _ = password::verify(password, password::dummy_hash());
            self.ip_failed(req.src, now);
            fail_event(&attempted, "unknown user");
            return Err(LoginError::BadCredentials);
        };
        let actor = Actor {
            name: user.name.clone(),
            id: user.id,
        };
        if let Some(until) = locked(&user, now) {
            self.ip_failed(req.src, now);
            fail_event(&actor, "account locked");
            return Err(LoginError::Locked { until });
        }
        if self.basic_cached(name, password, &user, now) {
            if user.disabled {
                fail_event(&actor, "account disabled");
                return Err(LoginError::BadCredentials);
            }
            return Ok(Principal {
                name: user.name,
                user_id: user.id,
                role: user.role,
                via: Via::Basic,
            });
        }
        if !password::verify(password, &user.password_hash) {
            self.ip_failed(req.src, now);
            fail_event(&actor, "wrong password");
            self.count_failure(&user, req)
                .map_err(|e| LoginError::Storage(e.to_string()))?;
            return Err(LoginError::BadCredentials);
        }
        if user.disabled {
            fail_event(&actor, "account disabled");
            return Err(LoginError::BadCredentials);
        }
        if user.failed_logins > 0 || user.locked_until.is_some() {
            let id = user.id;
            self.update(|d, _| {
                if let Some(u) = d.users.iter_mut().find(|u| u.id == id) {
                    u.failed_logins = 0;
                    u.locked_until = None;
                }
                Ok(())
            })
            .map_err(|e| LoginError::Storage(e.to_string()))?;
        }
        self.basic.lock().insert(
            basic_key(name, password),
            CachedBasic {
                user_id: user.id,
                password_changed: user.password_changed,
                until: now + s.basic_cache_ttl,
            },
        );
        Ok(Principal {
            name: user.name,
            user_id: user.id,
            role: user.role,
            via: Via::Basic,
        })
    }

    fn basic_cached(&self, name: &str, password: &str, user: &User, now: DateTime<Utc>) -> bool {
        let key = basic_key(name, password);
        let mut cache = self.basic.lock();
        let hit = cache.get(&key).is_some_and(|c| {
            c.user_id == user.id && c.password_changed == user.password_changed && c.until > now
        });
        if !hit {
            cache.remove(&key);
            if cache.len() > 10_000 {
                cache.retain(|_, c| c.until > now);
            }
        }
        hit
    }

    fn ip_failed(&self, ip: Option<IpAddr>, now: DateTime<Utc>) {
        if let Some(ip) = ip {
            self.throttle
                .lock()
                .fail(ip, now, self.settings.ip_max_failures);
        }
    }

    /// Counts a wrong password; locks the account at the limit.
    fn count_failure(&self, user: &User, req: &RequestInfo) -> Result<(), AuthError> {
        let (max, lock_for) = (
            self.settings.max_failures.max(1),
            self.settings.lock_duration,
        );
        let id = user.id;
        let locked_now = self.update(|d, now| {
            let Some(u) = d.users.iter_mut().find(|u| u.id == id) else {
                return Ok(None);
            };
            // A lock that expired starts a new count.
            if u.locked_until.is_some_and(|t| t <= now) {
                u.locked_until = None;
                u.failed_logins = 0;
            }
            u.failed_logins += 1;
            if u.failed_logins >= max {
                let until = now + lock_for;
                u.locked_until = Some(until);
                let failures = u.failed_logins;
                u.failed_logins = 0;
                return Ok(Some((u.role == Role::Admin, failures, until)));
            }
            Ok(None)
        })?;
        if let Some((admin, failures, until)) = locked_now {
            self.emit(
                SecurityEvent::AccountLocked {
                    admin,
                    failures,
                    until,
                },
                &Actor {
                    name: user.name.clone(),
                    id: user.id,
                },
                req,
            );
        }
        Ok(())
    }

    // ---- sessions ----

    /// Keeps the console sessions in the data directory (`auth/sessions.json`, see
    /// [`SessionFile`]) from now on, so that a restart logs nobody out, and takes the live
    /// ones stored there. Only the server calls it (the `user` and `token` commands leave the
    /// file alone). Answers how many sessions were restored; a file that cannot be trusted or
    /// read is an error naming the problem, and is then replaced at the next change.
    pub fn keep_sessions(&self, data_dir: &Path) -> Result<usize, AuthError> {
        let file = SessionFile::open(data_dir)?;
        let loaded = file.load();
        let store = SessionStore {
            file,
            saved: Mutex::new((0, None)),
        };
        if self.session_store.set(store).is_err() {
            return Err(AuthError::Storage("sessions are kept already".into()));
        }
        let n = self
            .sessions
            .lock()
            .restore(loaded?, self.now(), self.settings.session_idle);
        // What was written is what was read (less what expired meanwhile).
        if let Some(st) = self.session_store.get() {
            *st.saved.lock() = (self.sessions.lock().generation(), Some(self.now()));
        }
        Ok(n)
    }

    /// Writes the sessions to their file when they changed: at once when `urgent`
    /// (a session began or ended), else at most every [`SESSION_SAVE_INTERVAL`] (only last
    /// uses changed). A failure is logged; the sessions stay in memory and are written at the
    /// next try.
    pub fn save_sessions(&self, urgent: bool) {
        let Some(store) = self.session_store.get() else {
            return;
        };
        let now = self.now();
        // Held while writing: writers take turns, the newest generation wins.
        let mut saved = store.saved.lock();
        let (generation, stored) = {
            let s = self.sessions.lock();
            if s.generation() == saved.0 {
                return;
            }
            if !urgent && saved.1.is_some_and(|t| now - t < SESSION_SAVE_INTERVAL) {
                return;
            }
            (s.generation(), s.stored(now, self.settings.session_idle))
        };
        match store.file.write(stored) {
            Ok(()) => *saved = (generation, Some(now)),
            Err(e) => tracing::error!("console sessions not saved: {e}"),
        }
    }

    /// Starts a console session for a logged-in user.
    pub fn create_session(&self, p: &Principal) -> NewSession {
        let s =
            self.sessions
                .lock()
                .create(p.user_id, &p.name, self.now(), self.settings.session_ttl);
        self.save_sessions(true);
        s
    }

    /// The principal of session cookie `id`, when the session lives and its user is still
    /// enabled and has not changed password since.
    pub fn session(&self, id: &str) -> Result<Option<Principal>, AuthError> {
        let now = self.now();
        let found = self
            .sessions
            .lock()
            .get(id, now, self.settings.session_idle);
        let Some(s) = found else {
            self.save_sessions(true);
            return Ok(None);
        };
        self.save_sessions(false);
        let data = self.data()?;
        let user = data.users.iter().find(|u| u.id == s.user_id);
        match user {
            Some(u) if !u.disabled && u.password_changed <= s.created => Ok(Some(Principal {
                name: u.name.clone(),
                user_id: u.id,
                role: u.role,
                via: Via::Session { csrf: s.csrf },
            })),
            _ => {
                self.sessions.lock().remove(id);
                self.save_sessions(true);
                Ok(None)
            }
        }
    }

    /// Ends session `id`.
    pub fn end_session(&self, id: &str) {
        self.sessions.lock().remove(id);
        self.save_sessions(true);
    }

    // ---- tokens ----

    /// The principal of API token `token`; records an `InvalidToken` event when it is
    /// malformed, unknown, revoked, or its user is disabled.
    pub fn check_token(
        &self,
        token: &str,
        req: &RequestInfo,
    ) -> Result<Option<Principal>, AuthError> {
        let refuse = |reason: &str| {
            self.emit(
                SecurityEvent::InvalidToken {
                    reason: reason.into(),
                },
                &Actor::unauthenticated(),
                req,
            );
            Ok(None)
        };
        let Some(id) = crate::credentials::token_id(token) else {
            return refuse("malformed token");
        };
        let data = self.data()?;
        let Some(t) = data.tokens.iter().find(|t| t.id == id) else {
            return refuse(&format!("unknown token id {id}"));
        };
        if !ct_eq(&sha256_hex(token.as_bytes()), &t.hash) {
            return refuse(&format!("wrong secret for token id {id}"));
        }
        if t.revoked.is_some() {
            return refuse(&format!("revoked token {id}"));
        }
        let (name, user_id, role) = match &t.owner {
            TokenOwner::Source(s) => (format!("source:{s}"), 0, t.role),
            TokenOwner::User(u) => match data.user(u) {
                Some(user) if !user.disabled => {
                    // A token never gives more than its user has now.
                    let role = if user.role.may_grant(t.role) {
                        t.role
                    } else {
                        user.role
                    };
                    (user.name.clone(), user.id, role)
                }
                _ => return refuse(&format!("token {id} of a disabled or deleted user")),
            },
        };
        self.touch_token(&t.id, t.last_used);
        Ok(Some(Principal {
            name,
            user_id,
            role,
            via: Via::Token { id: t.id.clone() },
        }))
    }

    /// Records a token's use; written to disk at most once a minute per token.
    fn touch_token(&self, id: &str, stored: Option<DateTime<Utc>>) {
        let now = self.now();
        let mut used = self.token_used.lock();
        let last = used.get(id).copied().or(stored);
        used.insert(id.to_string(), now);
        drop(used);
        if last.is_none_or(|t| now - t >= Duration::minutes(1)) {
            let id = id.to_string();
            let res = self.update(|d, now| {
                if let Some(t) = d.tokens.iter_mut().find(|t| t.id == id) {
                    t.last_used = Some(now);
                }
                Ok(())
            });
            if let Err(e) = res {
                tracing::warn!("recording the last use of token {id}: {e}");
            }
        }
    }

    /// Tokens, all (`None`) or those of one user; the last use as seen by this process.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenView>, AuthError> {
        let data = self.data()?;
        let used = self.token_used.lock();
        Ok(data
            .tokens
            .iter()
            .filter(|t| user.is_none_or(|u| t.owner == TokenOwner::User(u.to_string())))
            .map(|t| {
                let mut v = TokenView::from(t);
                if let Some(u) = used.get(&t.id) {
                    v.last_used = Some(*u);
                }
                v
            })
            .collect())
    }

    /// Creates a token for `owner` with `role` by `actor`; returns it with the token text,
    /// which is shown once and never stored.
    pub fn create_token(
        &self,
        actor: &Actor,
        owner: TokenOwner,
        role: Role,
        name: &str,
        req: &RequestInfo,
    ) -> Result<(TokenView, String), AuthError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AuthError::Invalid(
                "a token needs a name of 1 to 100 printable characters".into(),
            ));
        }
        match &owner {
            TokenOwner::User(u) => {
                let data = self.data()?;
                let user = data
                    .user(u)
                    .ok_or_else(|| AuthError::NotFound(format!("no user {u:?}")))?;
                if !user.role.may_grant(role) {
                    return Err(AuthError::Invalid(format!(
                        "user {u} has role {}: a token of role {role} would give more",
                        user.role
                    )));
                }
            }
            TokenOwner::Source(s) => check_name("source", s).map_err(AuthError::Invalid)?,
        }
        let id = random_hex(6);
        let secret = format!("{TOKEN_PREFIX}{id}_{}", random_token(32));
        let token = ApiToken {
            id: id.clone(),
            name: name.to_string(),
            owner: owner.clone(),
            role,
            hash: sha256_hex(secret.as_bytes()),
            created: self.now(),
            created_by: actor.name.clone(),
            last_used: None,
            revoked: None,
        };
        let view = TokenView::from(&token);
        self.update(move |d, _| {
            d.tokens.push(token);
            Ok(())
        })?;
        let owner_text = match &owner {
            TokenOwner::User(u) => format!("user:{u}"),
            TokenOwner::Source(s) => format!("source:{s}"),
        };
        self.emit(
            SecurityEvent::TokenCreated {
                id,
                role,
                owner: owner_text,
            },
            actor,
            req,
        );
        Ok((view, secret))
    }

    /// The token `id`.
    pub fn token(&self, id: &str) -> Result<TokenView, AuthError> {
        let data = self.data()?;
        data.tokens
            .iter()
            .find(|t| t.id == id)
            .map(TokenView::from)
            .ok_or_else(|| AuthError::NotFound(format!("no token {id:?}")))
    }

    /// Revokes token `id`.
    pub fn revoke_token(
        &self,
        actor: &Actor,
        id: &str,
        req: &RequestInfo,
    ) -> Result<TokenView, AuthError> {
        let view = self.update(|d, now| {
            let t = d
                .tokens
                .iter_mut()
                .find(|t| t.id == id)
                .ok_or_else(|| AuthError::NotFound(format!("no token {id:?}")))?;
            if t.revoked.is_none() {
                t.revoked = Some(now);
            }
            Ok(TokenView::from(&*t))
        })?;
        self.emit(SecurityEvent::TokenRevoked { id: id.into() }, actor, req);
        Ok(view)
    }

    // ---- users ----

    /// Every user.
    pub fn users(&self) -> Result<Vec<UserView>, AuthError> {
        let now = self.now();
        Ok(self
            .data()?
            .users
            .iter()
            .map(|u| UserView::of(u, now))
            .collect())
    }

    /// The user `name`.
    pub fn user(&self, name: &str) -> Result<UserView, AuthError> {
        let data = self.data()?;
        data.user(name)
            .map(|u| UserView::of(u, self.now()))
            .ok_or_else(|| AuthError::NotFound(format!("no user {name:?}")))
    }

    /// Adds a user.
    pub fn add_user(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        password: &str,
        req: &RequestInfo,
    ) -> Result<UserView, AuthError> {
        check_name("user", name).map_err(AuthError::Invalid)?;
        if !role.is_user_role() {
            return Err(AuthError::Invalid(
                "the ingest role is for tokens only; users are viewer, analyst or admin".into(),
            ));
        }
        password::check_policy(password).map_err(AuthError::Invalid)?;
        let hash = password::hash(password).map_err(AuthError::Storage)?;
        let view = self.update(|d, now| {
            if d.user(name).is_some() {
                return Err(AuthError::Conflict(format!("user {name:?} exists")));
            }
            let id = d.next_user_id;
            d.next_user_id += 1;
            let u = User {
                id,
                name: name.to_string(),
                role,
                disabled: false,
                password_hash: hash,
                failed_logins: 0,
                locked_until: None,
                created: now,
                changed: now,
                password_changed: now,
            };
            let v = UserView::of(&u, now);
            d.users.push(u);
            Ok(v)
        })?;
        if role == Role::Admin {
            self.emit(
                SecurityEvent::NewPrivilegedAccount {
                    target: name.into(),
                    how: "created",
                },
                actor,
                req,
            );
        }
        Ok(view)
    }

    /// Changes a user's role or state, or unlocks it. The last enabled admin cannot lose its
    /// role or be disabled.
    pub fn update_user(
        &self,
        actor: &Actor,
        name: &str,
        change: &UserChange,
        req: &RequestInfo,
    ) -> Result<UserView, AuthError> {
        if let Some(r) = change.role {
            if !r.is_user_role() {
                return Err(AuthError::Invalid(
                    "the ingest role is for tokens only".into(),
                ));
            }
        }
        let (view, before) = self.update(|d, now| {
            let before = d
                .user(name)
                .cloned()
                .ok_or_else(|| AuthError::NotFound(format!("no user {name:?}")))?;
            let stays_admin = change.role.unwrap_or(before.role) == Role::Admin
                && !change.disabled.unwrap_or(before.disabled);
            let other_admins = d
                .users
                .iter()
                .filter(|u| u.id != before.id && u.role == Role::Admin && !u.disabled)
                .count();
            if before.role == Role::Admin && !stays_admin && other_admins == 0 {
                return Err(AuthError::Conflict(format!(
                    "{name} is the last enabled admin: make another admin first"
                )));
            }
            let u = d
                .user_mut(name)
                .ok_or_else(|| AuthError::NotFound(format!("no user {name:?}")))?;
            if let Some(r) = change.role {
                u.role = r;
            }
            if let Some(dis) = change.disabled {
                u.disabled = dis;
            }
            if change.unlock {
                u.locked_until = None;
                u.failed_logins = 0;
            }
            u.changed = now;
            Ok((UserView::of(u, now), before))
        })?;
        let now = self.now();
        if change.role == Some(Role::Admin) && before.role != Role::Admin {
            self.emit(
                SecurityEvent::NewPrivilegedAccount {
                    target: name.into(),
                    how: "granted",
                },
                actor,
                req,
            );
        }
        if change.disabled == Some(true) && !before.disabled {
            self.sessions.lock().remove_user(before.id);
            self.save_sessions(true);
            self.emit(
                SecurityEvent::UserDisabled {
                    target: name.into(),
                },
                actor,
                req,
            );
        }
        if change.unlock && locked(&before, now).is_some() {
            self.emit(
                SecurityEvent::UserUnlocked {
                    target: name.into(),
                },
                actor,
                req,
            );
        }
        Ok(view)
    }

    /// Sets `name`'s password. With `old`, it is the user changing its own password (`old`
    /// must match); without, an admin's reset. Ends the user's sessions.
    pub fn set_password(
        &self,
        actor: &Actor,
        name: &str,
        old: Option<&str>,
        new: &str,
        req: &RequestInfo,
    ) -> Result<(), AuthError> {
        password::check_policy(new).map_err(AuthError::Invalid)?;
        let data = self.data()?;
        let user = data
            .user(name)
            .cloned()
            .ok_or_else(|| AuthError::NotFound(format!("no user {name:?}")))?;
        if let Some(old) = old {
            if !password::verify(old, &user.password_hash) {
                self.emit(
                    SecurityEvent::LoginFailed {
                        reason: "wrong current password on a password change".into(),
                    },
                    actor,
                    req,
                );
                self.count_failure(&user, req)?;
                return Err(AuthError::Forbidden("the current password is wrong".into()));
            }
        }
        let hash = password::hash(new).map_err(AuthError::Storage)?;
        let changed_at = self.update(|d, now| {
            let u = d
                .user_mut(name)
                .ok_or_else(|| AuthError::NotFound(format!("no user {name:?}")))?;
            u.password_hash = hash;
            u.password_changed = now;
            u.changed = now;
            u.failed_logins = 0;
            u.locked_until = None;
            Ok(now)
        })?;
        self.sessions
            .lock()
            .remove_user_before(user.id, changed_at + Duration::milliseconds(1));
        self.save_sessions(true);
        if user.role == Role::Admin {
            let ev = if actor.id == user.id {
                SecurityEvent::AdminPasswordChange
            } else {
                SecurityEvent::AdminPasswordReset {
                    target: name.into(),
                }
            };
            self.emit(ev, actor, req);
        }
        Ok(())
    }

    /// Records a denied action (403) by `p`.
    pub fn access_denied(&self, p: &Principal, needed: Permission, req: &RequestInfo) {
        self.emit(
            SecurityEvent::AccessDenied {
                needed: format!("{needed:?}").to_lowercase(),
            },
            &p.actor(),
            req,
        );
    }

    /// Records a failed CSRF check.
    pub fn csrf_failed(&self, actor: &Actor, reason: &str, req: &RequestInfo) {
        self.emit(
            SecurityEvent::CsrfInvalid {
                reason: reason.into(),
            },
            actor,
            req,
        );
    }
}

fn basic_key(name: &str, password: &str) -> String {
    let mut b = Vec::with_capacity(name.len() + password.len() + 1);
    b.extend_from_slice(name.as_bytes());
    b.push(0);
    b.extend_from_slice(password.as_bytes());
    sha256_hex(&b)
}
