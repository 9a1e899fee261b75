//! What is stored: users and API tokens, and the views of them the API shows (never a hash).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id (`suid` in security events); never reused.
    pub id: u64,
    /// Login name.
    pub name: String,
    /// Role (never [`Role::Ingest`]).
    pub role: Role,
    /// A disabled user cannot log in, and its sessions and tokens stop working.
    pub disabled: bool,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Failed logins since the last success or lock.
    pub failed_logins: u32,
    /// Logins are refused until then (after too many failures).
    pub locked_until: Option<DateTime<Utc>>,
    /// When created.
    pub created: DateTime<Utc>,
    /// When last changed (role, state, password).
    pub changed: DateTime<Utc>,
    /// When the password was last set: sessions and cached credentials older than it end.
    pub password_changed: DateTime<Utc>,
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenOwner {
    /// A user: the token acts as the user, at most with the user's role, and stops working
    /// when the user is disabled.
    User(String),
    /// A log source (e.g. a forwarder host): no user behind it.
    Source(String),
}

impl TokenOwner {
    /// The name shown as `suser` for requests made with the token (`source:<name>` for
    /// sources).
    pub fn principal_name(&self) -> String {
        match self {
            TokenOwner::User(u) => u.clone(),
            TokenOwner::Source(s) => format!("source:{s}"),
        }
    }
}

/// An API token. Only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Public id (12 hex digits), part of the token, used to list and revoke it.
    pub id: String,
    /// A name saying what it is for.
    pub name: String,
    /// Its owner.
    pub owner: TokenOwner,
    /// Its role.
    pub role: Role,
    /// SHA-256 (hex) of the whole token.
    pub hash: String,
    /// When created.
    pub created: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// When last used (written at most once a minute).
    pub last_used: Option<DateTime<Utc>>,
    /// When revoked; a revoked token is kept for the record and never works again.
    pub revoked: Option<DateTime<Utc>>,
}

/// The whole persistent state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthData {
    /// Format version (1).
    pub version: u32,
    /// The id the next user gets.
    pub next_user_id: u64,
    /// Users.
    pub users: Vec<User>,
    /// Tokens, revoked ones included.
    pub tokens: Vec<ApiToken>,
}

impl Default for AuthData {
    fn default() -> Self {
        AuthData {
            version: 1,
            next_user_id: 1,
            users: Vec::new(),
            tokens: Vec::new(),
        }
    }
}

impl AuthData {
    /// The user named `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The user named `name`, to change.
    pub fn user_mut(&mut self, name: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.name == name)
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserView {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Disabled.
    pub disabled: bool,
    /// Locked until then (absent when not locked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Failed logins since the last success.
    pub failed_logins: u32,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last changed.
    pub changed: DateTime<Utc>,
}

impl UserView {
    /// The view of `u` at `now` (an expired lock is not shown).
    pub fn of(u: &User, now: DateTime<Utc>) -> UserView {
        UserView {
            id: u.id,
            name: u.name.clone(),
            role: u.role,
            disabled: u.disabled,
            locked_until: u.locked_until.filter(|t| *t > now),
            failed_logins: u.failed_logins,
            created: u.created,
            changed: u.changed,
        }
    }
}

/// A token as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owning user, when a user's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Owning source, when a source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Role.
    pub role: Role,
    /// Created.
    pub created: DateTime<Utc>,
    /// Created by.
    pub created_by: String,
    /// Last used.
    pub last_used: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked: Option<DateTime<Utc>>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        let (user, source) = match &t.owner {
            TokenOwner::User(u) => (Some(u.clone()), None),
            TokenOwner::Source(s) => (None, Some(s.clone())),
        };
        TokenView {
            id: t.id.clone(),
            name: t.name.clone(),
            user,
            source,
            role: t.role,
            created: t.created,
            created_by: t.created_by.clone(),
            last_used: t.last_used,
            revoked: t.revoked,
        }
    }
}

/// Checks a user or source name: 1–64 characters of `A-Z a-z 0-9 . _ @ -`, starting with a
/// letter or digit (names go into CEF lines and URLs unescaped).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 64 || !ok_chars || !first_ok {
        return Err(format!(
            "invalid {what} name {name:?}: use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        ));
    }
    Ok(())
}
