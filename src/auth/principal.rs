//! Resolving credentials to a principal, and a principal's rights in an org.

use axum::http::HeaderMap;

use super::Scope;
use crate::config::Mode;
use crate::crypto;
use crate::error::ApiError;
use crate::store::{OrgRecord, Role, Store, TokenRecord, UserRecord};

/// Prefix of platform (login) tokens.
pub const PLATFORM_TOKEN_PREFIX: &str = "gh_pt_";
/// Prefix of management tokens.
pub const MANAGEMENT_TOKEN_PREFIX: &str = "gh_mt_";

/// An authenticated caller of the management API.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Dev mode: no credentials, every right.
    Dev,
    /// A person, by platform token.
    User(UserRecord),
    /// A scoped management token, bound to one org.
    Token(TokenRecord),
}

/// Who did something, as the audit log records it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `dev`, `user` or `token`.
    pub kind: &'static str,
    /// The user or token id.
    pub id: Option<String>,
}

/// A principal's rights in one org.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    /// The org, resolved from its id or slug.
    pub org: OrgRecord,
    /// What the principal may do there.
    pub scopes: Vec<Scope>,
}

impl OrgAccess {
    /// Whether `scope` is granted.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Dev mode's one person, as OAuth grants and per-person upstream credentials name them.
pub const DEV_EMAIL: &str = "dev@localhost";

impl Principal {
    /// The person behind the principal, by e-mail in lower case (a management token is none).
    pub fn person(&self) -> Option<String> {
        match self {
            Principal::Dev => Some(DEV_EMAIL.to_string()),
            Principal::User(u) => Some(u.email.to_ascii_lowercase()),
            Principal::Token(_) => None,
        }
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Dev => Actor { kind: "dev", id: None },
            Principal::User(u) => Actor { kind: "user", id: Some(u.id.clone()) },
            Principal::Token(t) => Actor { kind: "token", id: Some(t.id.clone()) },
        }
    }

    /// The principal's scopes in `org`, or `None` when the org is not theirs (answered as 404).
    pub async fn access(&self, store: &dyn Store, org: OrgRecord) -> Result<Option<OrgAccess>, ApiError> {
        let scopes = match self {
            Principal::Dev => Scope::ALL.to_vec(),
            Principal::User(user) if user.instance_admin => Scope::ALL.to_vec(),
            Principal::User(user) => match store.member_get(&org.id, &user.id).await? {
                Some(member) => role_scopes(member.role),
                None => return Ok(None),
            },
            Principal::Token(token) if token.org_id == org.id => {
                token.scopes.iter().filter_map(|s| Scope::parse(s)).collect()
            }
            Principal::Token(_) => return Ok(None),
        };
        Ok(Some(OrgAccess { org, scopes }))
    }
}

/// The scopes a role grants: admins everything, members every read scope.
pub fn role_scopes(role: Role) -> Vec<Scope> {
    match role {
        Role::Admin => Scope::ALL.to_vec(),
        // Members read everything and call tools (as they may by signing in with an MCP client).
        Role::Member => {
            Scope::ALL.iter().copied().filter(|s| s.is_read() || *s == Scope::ToolsCall).collect()
        }
    }
}

/// The credential a request carries: `X-Management-Token`, else `Authorization: Bearer`.
pub fn credential(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    if let Some(value) = headers.get("x-management-token") {
        let value = value.to_str().map_err(|_| unauthorized())?.trim();
        return Ok(Some(value));
    }
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| unauthorized())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized("expected Authorization: Bearer <token>".into()));
    }
    Ok(Some(token.trim()))
}

fn unauthorized() -> ApiError {
    ApiError::Unauthorized("invalid or expired credentials".into())
}

/// Resolves the caller on an instance in `mode`. `Ok(None)` means anonymous (allowed only on
/// public operations).
pub async fn authenticate(
    store: &dyn Store,
    mode: Option<Mode>,
    headers: &HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    if mode == Some(Mode::Dev) {
        return Ok(Some(Principal::Dev));
    }
    let Some(token) = credential(headers)? else {
        return Ok(None);
    };
    let now = crate::domain::time::now_ms();
    if token.starts_with(PLATFORM_TOKEN_PREFIX) {
        crypto::check_token_shape(token, PLATFORM_TOKEN_PREFIX).map_err(|_| unauthorized())?;
        let found = store.session_find(&crypto::sha256_hex(token)).await?;
        return match found {
            Some((session, user)) if session.expires_at.is_none_or(|e| e > now) => {
                Ok(Some(Principal::User(user)))
            }
            _ => Err(unauthorized()),
        };
    }
    if token.starts_with(MANAGEMENT_TOKEN_PREFIX) {
        crypto::check_token_shape(token, MANAGEMENT_TOKEN_PREFIX).map_err(|_| unauthorized())?;
        let found = store.token_find_by_hash(&crypto::sha256_hex(token)).await?;
        return match found {
            Some(t) if t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now) => {
                store.token_touch(&t.id, now).await?;
                Ok(Some(Principal::Token(t)))
            }
            _ => Err(unauthorized()),
        };
    }
    Err(unauthorized())
}
