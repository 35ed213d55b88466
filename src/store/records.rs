//! Plain rows as the store reads and writes them. Times are milliseconds since the epoch.

use serde::{Deserialize, Serialize};

/// An organization (tenant).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgRecord {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

/// A person who can log in to the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    /// Created by `/init`: admin of every org.
    pub instance_admin: bool,
    pub created_at: i64,
}

/// A role within an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Full control of the org.
    Admin,
    /// Read access.
    Member,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// A membership joined with the member's e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub org_id: String,
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
}

/// A platform session: who a platform token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// A one-time login code (stored as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginCodeRecord {
    pub id: String,
    pub email: String,
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub consumed_at: Option<i64>,
}

/// A scoped management token of an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub token_hash: String,
    pub scopes: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// One recorded mutation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: String,
    pub org_id: Option<String>,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub created_at: i64,
}
