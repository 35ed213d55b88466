//! Scoped management tokens: `/api/orgs/{org}/tokens`, and the scope list at `/api/scopes`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::auth::principal::MANAGEMENT_TOKEN_PREFIX;
use crate::auth::scopes::ScopeGrant;
use crate::crypto;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::store::TokenRecord;

/// A management token as the API shows it (never its value or hash).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    token_id: String,
    org_id: String,
    name: String,
    scopes: Vec<String>,
    /// `active`, `revoked` or `expired`.
    status: &'static str,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl Token {
    fn from_record(t: TokenRecord, now: i64) -> Self {
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        Self {
            token_id: t.id,
            org_id: t.org_id,
            name: t.name,
            scopes: t.scopes,
            status,
            created_at: time::iso(t.created_at),
            expires_at: t.expires_at.map(time::iso),
            last_used_at: t.last_used_at.map(time::iso),
            revoked_at: t.revoked_at.map(time::iso),
        }
    }
}

/// `{"tokens": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenList {
    tokens: Vec<Token>,
}

/// Answer of `create_token`: the raw value, shown once.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    token: Token,
    raw_value: String,
}

/// Input of `create_token`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateToken {
    /// What the token is for.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: String,
    /// Scopes granted (names, aliases or groups); never more than the creator's own.
    #[schemars(length(min = 1))]
    scopes: Vec<ScopeGrant>,
    /// Optional ISO-8601 expiry, in the future.
    #[schemars(extend("format" = "date-time"))]
    expires_at: Option<String>,
}

/// One scope and what it allows.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScopeInfo {
    name: &'static str,
    description: &'static str,
    /// Other names a token may be minted with for it (those of compatible APIs).
    aliases: Vec<&'static str>,
}

/// A name that stands for several scopes at once.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScopeGroup {
    name: &'static str,
    scopes: Vec<&'static str>,
}

/// `{"scopes": […], "groups": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScopeList {
    scopes: Vec<ScopeInfo>,
    groups: Vec<ScopeGroup>,
}

/// `{"ok": true}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ok {
    ok: bool,
}

/// Registers the token operations.
pub fn register(r: &mut Registry) {
    let mut scopes = OpSpec::new(
        "list_scopes",
        Method::GET,
        "/api/scopes",
        Access::Public,
        "List every management scope and what it allows.",
    );
    scopes.mcp = true;
    r.add(scopes, list_scopes);
    r.add(
        OpSpec::new(
            "list_tokens",
            Method::GET,
            "/api/orgs/{org}/tokens",
            Access::Org(Scope::TokensRead),
            "List management tokens, newest first.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "create_token",
            Method::POST,
            "/api/orgs/{org}/tokens",
            Access::Org(Scope::TokensWrite),
            "Create a scoped management token; its value is shown once.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(
        OpSpec::new(
            "revoke_token",
            Method::DELETE,
            "/api/orgs/{org}/tokens/{tokenId}",
            Access::Org(Scope::TokensWrite),
            "Revoke a management token at once.",
        ),
        revoke,
    );
}

async fn list_scopes(_: super::registry::OpCtx, _: NoInput) -> ApiResult<ScopeList> {
    Ok(ScopeList {
        scopes: Scope::ALL
            .iter()
            .map(|s| ScopeInfo {
                name: s.as_str(),
                description: s.description(),
                aliases: s.aliases().to_vec(),
            })
            .collect(),
        groups: crate::auth::scopes::GROUPS
            .iter()
            .map(|(name, scopes)| ScopeGroup { name, scopes: scopes.iter().map(|s| s.as_str()).collect() })
            .collect(),
    })
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<TokenList> {
    let now = time::now_ms();
    let tokens = ctx.state.store.token_list(&ctx.org()?.id).await?;
    Ok(TokenList { tokens: tokens.into_iter().map(|t| Token::from_record(t, now)).collect() })
}

async fn create(ctx: OpCtx, input: CreateToken) -> ApiResult<CreatedToken> {
    let access = ctx.org_access()?;
    let name = text::display_name(&input.name, "name").map_err(ApiError::BadRequest)?;
    if input.scopes.is_empty() {
        return Err(ApiError::bad_request("scopes must name at least one scope"));
    }
    let granted: Vec<Scope> = input.scopes.iter().flat_map(|g| g.scopes().iter().copied()).collect();
    if let Some(beyond) = granted.iter().find(|s| !access.allows(**s)) {
        return Err(ApiError::ForbiddenCode {
            code: "insufficient_scope",
            message: format!("cannot grant {beyond}: the caller does not hold it"),
        });
    }
    let now = time::now_ms();
    let expires_at = match input.expires_at.as_deref() {
        None => None,
        Some(text) => {
            let at = time::parse_iso(text)
                .ok_or_else(|| ApiError::bad_request("expiresAt must be an ISO-8601 time"))?;
            if at <= now {
                return Err(ApiError::Unprocessable("expiresAt must be in the future".into()));
            }
            Some(at)
        }
    };
    let mut scopes: Vec<String> = granted.iter().map(|s| s.as_str().to_string()).collect();
    scopes.sort();
    scopes.dedup();
    let raw = crypto::new_token(MANAGEMENT_TOKEN_PREFIX);
    let record = TokenRecord {
        id: ids::new_id("tok"),
        org_id: access.org.id.clone(),
        name,
        token_hash: crypto::sha256_hex(&raw),
        scopes,
        created_by: ctx.principal()?.actor().id,
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    ctx.state.store.token_create(&record).await?;
    Ok(CreatedToken { token: Token::from_record(record, now), raw_value: raw })
}

async fn revoke(ctx: OpCtx, _: NoInput) -> ApiResult<Ok> {
    let org_id = &ctx.org()?.id;
    let token_id = ctx.param("tokenId")?;
    let store = &ctx.state.store;
    store.token_get(org_id, token_id).await?.ok_or(ApiError::NotFound("token"))?;
    if !store.token_revoke(org_id, token_id, time::now_ms()).await? {
        return Err(ApiError::conflict("Token is already revoked"));
    }
    Ok(Ok { ok: true })
}
