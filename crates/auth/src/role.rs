//! Roles and what they allow.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a principal may do. Roles are ordered: each allows what the one before allows, except
/// [`Role::Ingest`], which only sends events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: search, aggregations, alerts, dashboards, status.
    Viewer,
    /// Reads, triages (alerts, incidents, blocklist) and sends events.
    Analyst,
    /// Everything, users and tokens included.
    Admin,
    /// Sends events only (tokens of log sources; never a user's role).
    Ingest,
}

/// One kind of action, as the API's policy table names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read events, alerts, status.
    Read,
    /// Change alerts, incidents, the blocklist.
    Triage,
    /// Send events to the ingest endpoints.
    Ingest,
    /// Manage users and every token.
    Admin,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Admin, Role::Ingest];

    /// Whether this role allows `p`.
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Viewer => matches!(p, P::Read),
            Role::Analyst => matches!(p, P::Read | P::Triage | P::Ingest),
            Role::Admin => true,
            Role::Ingest => matches!(p, P::Ingest),
        }
    }

    /// Whether a user may have this role (`ingest` is for tokens only).
    pub fn is_user_role(self) -> bool {
        self != Role::Ingest
    }

    /// Whether a holder of `self` may hand out a token of role `other` (no escalation).
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(other, Role::Viewer | Role::Analyst | Role::Ingest),
            Role::Viewer => other == Role::Viewer,
            Role::Ingest => false,
        }
    }

    /// The role's name (`viewer`, `analyst`, `admin`, `ingest`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Ingest => "ingest",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown role {s:?}: expected viewer, analyst, admin or ingest"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_the_docs_say() {
        use Permission as P;
        let table = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Analyst, [true, true, true, false]),
            (Role::Admin, [true, true, true, true]),
            (Role::Ingest, [false, false, true, false]),
        ];
        for (role, expect) in table {
            for (p, e) in [P::Read, P::Triage, P::Ingest, P::Admin]
                .into_iter()
                .zip(expect)
            {
                assert_eq!(role.allows(p), e, "{role} {p:?}");
            }
        }
        assert_eq!("Analyst".parse::<Role>(), Ok(Role::Analyst));
        assert!("root".parse::<Role>().unwrap_err().contains("root"));
        assert!(!Role::Analyst.may_grant(Role::Admin));
        assert!(!Role::Ingest.is_user_role());
    }
}
