//! An org's token-signing keys: the public JWKS at
//! `/api/orgs/{org}/.well-known/jwks.json`, and for admins the list of keys and rotation.

use axum::http::Method;
use schemars::JsonSchema;
use serde::Serialize;

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::auth::signing::{self, Jwk};
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::store::SigningKeyRecord;

/// `{"keys": […]}` (RFC 7517).
#[derive(Debug, Serialize, JsonSchema)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

/// A signing key as admins see it (never its private half).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    kid: String,
    algorithm: String,
    /// `active` (signs new tokens), `retired` (still published: tokens it signed are valid),
    /// or `expired` (no longer published).
    status: &'static str,
    created_at: String,
    retired_at: Option<String>,
    /// When a retired key leaves the JWKS.
    published_until: Option<String>,
}

impl SigningKey {
    fn from_record(k: SigningKeyRecord, now: i64) -> Self {
        let status = match k.retired_at {
            None => "active",
            Some(_) if signing::is_published(&k, now) => "retired",
            Some(_) => "expired",
        };
        Self {
            published_until: k.retired_at.map(|r| time::iso(k.max_exp.max(r))),
            kid: k.id,
            algorithm: k.algorithm,
            status,
            created_at: time::iso(k.created_at),
            retired_at: k.retired_at.map(time::iso),
        }
    }
}

/// `{"keys": […]}`, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SigningKeyList {
    keys: Vec<SigningKey>,
}

/// `{"key": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RotatedKey {
    key: SigningKey,
}

/// Registers the signing-key operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "get_jwks",
            Method::GET,
            "/api/orgs/{org}/.well-known/jwks.json",
            Access::Public,
            "The org's public token-signing keys (JWKS) of end-user tokens and of the assertions traded for per-person upstream tokens; empty until the first is signed.",
        )
        .cache_control("public, max-age=3600"),
        jwks,
    );
    r.add(
        OpSpec::new(
            "list_signing_keys",
            Method::GET,
            "/api/orgs/{org}/signing-keys",
            Access::Org(Scope::KeysRead),
            "List the org's end-user token-signing keys, newest first.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "rotate_signing_key",
            Method::POST,
            "/api/orgs/{org}/signing-keys/rotate",
            Access::Org(Scope::KeysRotate),
            "Sign new end-user tokens with a new key; the old key stays published until its tokens expire.",
        ),
        rotate,
    );
}

async fn jwks(ctx: OpCtx, _: NoInput) -> ApiResult<JwkSet> {
    let store = &ctx.state.store;
    let org = store.org_find(ctx.param("org")?).await?.ok_or(ApiError::NotFound("organization"))?;
    let now = time::now_ms();
    let keys = store.signing_key_list(&org.id).await?;
    Ok(JwkSet { keys: keys.iter().filter(|k| signing::is_published(k, now)).map(Jwk::of).collect() })
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<SigningKeyList> {
    let now = time::now_ms();
    let keys = ctx.state.store.signing_key_list(&ctx.org()?.id).await?;
    Ok(SigningKeyList { keys: keys.into_iter().map(|k| SigningKey::from_record(k, now)).collect() })
}

async fn rotate(ctx: OpCtx, _: NoInput) -> ApiResult<RotatedKey> {
    let state = &ctx.state;
    let key = state.end_user.signing.rotate(state.store.as_ref(), &state.master_key, &ctx.org()?.id).await?;
    Ok(RotatedKey { key: SigningKey::from_record(key, time::now_ms()) })
}
