//! Each person's token for a `passthrough_exchange` upstream, obtained without them: Gatehouse
//! signs a short-lived assertion of who the caller is with the org's signing key and trades it
//! at the upstream's authorization server for an access token (RFC 8693 token exchange,
//! § 2.1). The client's own token never leaves Gatehouse; the assertion is addressed to that one
//! authorization server. Safe only where that server trusts this org's Gatehouse issuer for the
//! people it names (`docs/UPSTREAMS.md` "Per-person credentials").

use serde::Serialize;

use super::authorize::{open_secret, store_err};
use super::personal;
use crate::app::AppState;
use crate::domain::{ids, time};
use crate::upstream::oauth;
use crate::upstream::{Spec, UpstreamError};

/// `grant_type` of a token exchange (RFC 8693 § 2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The assertion's token type (RFC 8693 § 3).
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The token type asked for (RFC 8693 § 3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// How long an assertion is good for: only the exchange it was made for.
pub const ASSERTION_LIFETIME_SECS: i64 = 60;

/// The issuer of an org's assertions; its keys are at `{issuer}/.well-known/jwks.json`.
pub fn issuer(state: &AppState, org_id: &str) -> String {
    format!("{}/api/orgs/{org_id}", state.config.public_url.trim_end_matches('/'))
}

/// What an assertion says: who the caller is, to which authorization server, until when.
#[derive(Serialize)]
struct Assertion<'a> {
    iss: String,
    sub: &'a str,
    email: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

/// An assertion that `subject` is calling, for the authorization server `audience` only.
async fn assertion(
    state: &AppState,
    org_id: &str,
    audience: &str,
    subject: &str,
) -> Result<String, UpstreamError> {
    // Never addressed to Gatehouse itself, so it can never pass for one of its own tokens.
    if audience.starts_with(state.config.public_url.trim_end_matches('/')) {
        return Err(UpstreamError::Config("the upstream's authorization server is Gatehouse itself".into()));
    }
    let signing = &state.end_user.signing;
    let signer = |e: crate::error::ApiError| UpstreamError::Config(format!("signing the assertion: {e}"));
    let key = signing.active(state.store.as_ref(), &state.master_key, org_id).await.map_err(signer)?;
    let iat = time::now_ms() / 1000;
    let claims = Assertion {
        iss: issuer(state, org_id),
        sub: subject,
        email: subject,
        aud: audience,
        iat,
        exp: iat + ASSERTION_LIFETIME_SECS,
        jti: ids::new_id("jti"),
    };
    let token = signing.sign(&state.master_key, &key, &claims).map_err(signer)?;
    // Keeps the key published for as long as the assertion can be checked.
    state.store.signing_key_note_exp(&key.id, claims.exp * 1000).await.map_err(store_err)?;
    Ok(token)
}

/// `subject`'s access token for a `passthrough_exchange` upstream: the one stored, unless it is
/// `stale` (the upstream just refused it), else a new one obtained by exchange and stored. One
/// exchange at a time per person and upstream: concurrent first calls share its token.
pub async fn token_for(
    state: &AppState,
    spec: &Spec,
    subject: &str,
    stale: Option<&str>,
) -> Result<String, UpstreamError> {
    let tokens = &state.plane.user_tokens;
    let _one_at_a_time = tokens.obtaining(&spec.id, subject).lock().await;
    let stored = tokens.load(state.store.as_ref(), &state.master_key, &spec.id, subject).await;
    if let Some(token) = stored.map_err(store_err)?.filter(|t| Some(&*t.access_token) != stale) {
        return Ok(token.access_token.to_string());
    }
    exchange(state, spec, subject).await
}

/// Trades an assertion of `subject` for their access token and stores it.
async fn exchange(state: &AppState, spec: &Spec, subject: &str) -> Result<String, UpstreamError> {
    let store = state.store.as_ref();
    let auth = store.oauth_get(&spec.id).await.map_err(store_err)?.ok_or_else(|| {
        UpstreamError::Config(
            "Gatehouse has no client at the upstream's authorization server: give the one it was registered with (PUT …/upstreams/{upstreamId}/oauth-client)"
                .into(),
        )
    })?;
    let record = store
        .upstream_get(&spec.org_id, &spec.id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| UpstreamError::Config("the upstream was deleted".into()))?;
    let assertion = assertion(state, &spec.org_id, &auth.issuer, subject).await?;
    let secret = open_secret(state, &spec.id, auth.client_secret.as_deref());
    let mut form = vec![
        ("grant_type", GRANT_TYPE),
        ("subject_token", assertion.as_str()),
        ("subject_token_type", JWT_TOKEN_TYPE),
        ("requested_token_type", ACCESS_TOKEN_TYPE),
        ("client_id", auth.client_id.as_str()),
        ("resource", auth.resource.as_str()),
    ];
    if let Some(scope) = &auth.scope {
        form.push(("scope", scope));
    }
    let client = secret.as_deref().map(|s| (auth.client_id.as_str(), s));
    let tokens = match oauth::token(&state.plane.outbound, &auth.token_endpoint, &form, client).await {
        Ok(tokens) => tokens,
        // RFC 8693 § 2.2.2: the server's refusal (invalid_grant, invalid_target…) is about this
        // person or this assertion, not the upstream's health.
        Err(UpstreamError::Http(400..=403, why)) => return Err(UpstreamError::ExchangeRefused(why)),
        Err(e) => return Err(e),
    };
    let access = tokens.access_token.clone();
    personal::store_tokens(state, &record, subject, tokens).await?;
    Ok(access)
}
