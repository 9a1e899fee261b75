//! ferrodef's users, roles, API tokens, console sessions, login throttling, and the
//! platform's own security events in CEF.
//!
//! - [`Auth`] holds one data directory's users and tokens (`<data_dir>/auth/auth.json`, see
//!   [`file`] for why a JSON file and how it stays consistent), the console sessions (in
//!   memory), the failed-login throttle per address, and the account locks.
//! - Passwords are Argon2id ([`password`]); API tokens (`fdt_<id>_<secret>`) are stored as
//!   their SHA-256 only and shown once.
//! - [`Role`]s: `viewer` reads, `analyst` also triages and ingests, `admin` does everything;
//!   `ingest` is a token-only role that only sends events.
//! - Every security-relevant action or refusal goes to the [`SecurityLog`] as a CEF line built
//!   as Mozilla's logging recommendations say ([`security`]); its sinks are ferrodef's own
//!   store and, when configured, syslog.
//!
//! ```
//! use std::sync::Arc;
//! use ferrodef_auth::{Auth, AuthSettings, RequestInfo, Role, SecurityLog, SystemClock, MemorySink};
//!
//! let dir = tempfile::tempdir()?;
//! let log = SecurityLog::new();
//! let events = MemorySink::default();
//! log.add_sink(Arc::new(events.clone()));
//! let auth = Auth::open(dir.path(), AuthSettings::default(), Arc::new(SystemClock), log)?;
//! auth.bootstrap_admin(Some("first admin password"))?;
//! let req = RequestInfo::default();
//! let admin = auth.login("admin", "first admin password", &req)?;
//! assert_eq!(admin.role, Role::Admin);
//! assert!(auth.login("admin", "guess", &req).is_err());
//! assert_eq!(events.records().last().unwrap().signature, "AUTH0");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod clock;
pub mod credentials;
pub mod file;
mod model;
pub mod password;
mod role;
pub mod secret;
pub mod security;
mod service;
mod session;
mod throttle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use model::{check_name, ApiToken, AuthData, TokenOwner, TokenView, User, UserView};
pub use role::{Permission, Role};
pub use security::{
    Actor, MemorySink, RequestInfo, SecurityEvent, SecurityLog, SecurityRecord, SecuritySink,
    SpoolSink, SyslogSink,
};
pub use service::{Auth, AuthSettings, LoginError, Principal, UserChange, Via, TOKEN_PREFIX};
pub use session::NewSession;

/// An error of a user or token operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Bad input (a name, a role, a password too short).
    #[error("{0}")]
    Invalid(String),
    /// No such user or token.
    #[error("{0}")]
    NotFound(String),
    /// It exists already, or the change would leave no admin.
    #[error("{0}")]
    Conflict(String),
    /// Not allowed (wrong current password).
    #[error("{0}")]
    Forbidden(String),
    /// The state file could not be read or written.
    #[error("auth state: {0}")]
    Storage(String),
}
