//! Console sessions, held by the server. The browser holds a random id in an HttpOnly
//! cookie; the server keys sessions by the id's SHA-256, so neither a memory dump nor the
//! sessions file (`auth/sessions.json`, written by the server so that a restart logs nobody
//! out, see [`crate::file::SessionFile`]) holds a usable cookie. Each session has its own CSRF
//! token.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::{random_token, sha256_hex};

/// Most sessions held; beyond, the least recently used is dropped.
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// A session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user's id.
    pub user_id: u64,
    /// The user's name.
    pub user: String,
    /// The CSRF token unsafe requests must carry (`X-CSRF-Token`).
    pub csrf: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last used.
    pub last_seen: DateTime<Utc>,
    /// Ends then, whatever the use.
    pub expires: DateTime<Utc>,
}

/// A new session, as the login answer gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The cookie value.
    pub id: String,
    /// The CSRF token.
    pub csrf: String,
    /// When it ends at the latest.
    pub expires: DateTime<Utc>,
}

/// A session as the sessions file holds it: keyed by the SHA-256 of its cookie value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    /// SHA-256 (hex) of the cookie value.
    pub id_sha256: String,
    #[serde(flatten)]
    pub session: Session,
}

/// All sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    by_hash: HashMap<String, Session>,
    /// Moves on every change (last use included): what the sessions file was written from.
    generation: u64,
}

impl Sessions {
    /// The current generation: it moves on every change.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The live sessions at `now` (neither expired nor idle for `idle`), for the file.
    pub(crate) fn stored(&self, now: DateTime<Utc>, idle: Duration) -> Vec<StoredSession> {
        self.by_hash
            .iter()
            .filter(|(_, s)| s.expires > now && s.last_seen + idle > now)
            .map(|(k, s)| StoredSession {
                id_sha256: k.clone(),
                session: s.clone(),
            })
            .collect()
    }

    /// Takes sessions read from the file: the live ones at `now`, the most recently used
    /// first, up to the limit. Returns how many were taken.
    pub(crate) fn restore(
        &mut self,
        mut stored: Vec<StoredSession>,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> usize {
        stored.retain(|s| {
            s.session.expires > now
                && s.session.last_seen + idle > now
                && s.id_sha256.len() == 64
                && s.id_sha256.bytes().all(|b| b.is_ascii_hexdigit())
        });
        stored.sort_by_key(|s| std::cmp::Reverse(s.session.last_seen));
        stored.truncate(MAX_SESSIONS.saturating_sub(self.by_hash.len()));
        let n = stored.len();
        for s in stored {
            self.by_hash.insert(s.id_sha256, s.session);
        }
        self.generation += 1;
        n
    }

    /// Starts a session for `user`.
    pub fn create(
        &mut self,
        user_id: u64,
        user: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> NewSession {
        if self.by_hash.len() >= MAX_SESSIONS {
            let oldest = self
                .by_hash
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.by_hash.remove(&k);
            }
        }
        self.generation += 1;
        let id = random_token(32);
        let csrf = random_token(32);
        let expires = now + ttl;
        self.by_hash.insert(
            sha256_hex(id.as_bytes()),
            Session {
                user_id,
                user: user.to_string(),
                csrf: csrf.clone(),
                created: now,
                last_seen: now,
                expires,
            },
        );
        NewSession { id, csrf, expires }
    }

    /// The live session of cookie value `id` (an expired or idle one is removed).
    pub fn get(&mut self, id: &str, now: DateTime<Utc>, idle: Duration) -> Option<Session> {
        let key = sha256_hex(id.as_bytes());
        let live = self
            .by_hash
            .get(&key)
            .is_some_and(|s| s.expires > now && s.last_seen + idle > now);
        if !live {
            if self.by_hash.remove(&key).is_some() {
                self.generation += 1;
            }
            return None;
        }
        let s = self.by_hash.get_mut(&key)?;
        s.last_seen = now;
        self.generation += 1;
        Some(s.clone())
    }

    /// Ends the session of cookie value `id`.
    pub fn remove(&mut self, id: &str) {
        if self.by_hash.remove(&sha256_hex(id.as_bytes())).is_some() {
            self.generation += 1;
        }
    }

    /// Ends every session of user `user_id` (disabled, password changed).
    pub fn remove_user(&mut self, user_id: u64) {
        self.by_hash.retain(|_, s| s.user_id != user_id);
        self.generation += 1;
    }

    /// Ends every session of user `user_id` started before `t` (password changed elsewhere).
    pub fn remove_user_before(&mut self, user_id: u64, t: DateTime<Utc>) {
        self.by_hash
            .retain(|_, s| s.user_id != user_id || s.created >= t);
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_idle_out() {
        let mut s = Sessions::default();
        let now = Utc::now();
        let n = s.create(1, "ann", now, Duration::hours(8));
        assert_ne!(n.id, n.csrf);
        let idle = Duration::hours(1);
        assert_eq!(
            s.get(&n.id, now + Duration::minutes(50), idle)
                .unwrap()
                .user,
            "ann"
        );
        assert!(s.get(&n.id, now + Duration::minutes(100), idle).is_some());
        assert!(s.get("nope", now, idle).is_none());
        assert!(s.get(&n.id, now + Duration::hours(9), idle).is_none());
        let n2 = s.create(1, "ann", now, Duration::hours(8));
        assert!(
            s.get(&n2.id, now + Duration::hours(2), idle).is_none(),
            "idle"
        );
        let n3 = s.create(2, "bob", now, Duration::hours(8));
        s.remove_user(2);
        assert!(s.get(&n3.id, now, idle).is_none());
    }
}
