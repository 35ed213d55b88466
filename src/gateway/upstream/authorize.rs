//! The OAuth flows toward upstreams, with the store: start (discover, register, PKCE, a flow
//! row), finish (the callback: code for tokens), and token refresh — before expiry from the
//! background task, and at once when an upstream answers 401. See [`crate::upstream::oauth`].

use super::service;
use crate::app::AppState;
use crate::crypto;
use crate::domain::time;
use crate::domain::upstream::{TransportKind, UpstreamAuth, UpstreamStatus};
use crate::store::{OAuthFlowRecord, UpstreamOAuthRecord, UpstreamRecord};
use crate::upstream::UpstreamError;
use crate::upstream::oauth::{self, CALLBACK_PATH, FLOW_PURPOSE, SECRET_PURPOSE, TokenSet};
use crate::upstream::spec::CREDENTIAL_PURPOSE;

/// How long a person has to complete an authorization.
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
/// Access tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN_MS: i64 = 2 * 60 * 1000;

pub(super) fn store_err(e: crate::store::StoreError) -> UpstreamError {
    UpstreamError::Connect(format!("storage: {e}"))
}

/// Where the authorization server sends the person back.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}{CALLBACK_PATH}", state.config.public_url.trim_end_matches('/'))
}

/// The authorization server of an HTTP upstream, discovered (RFC 9728, RFC 8414).
async fn authorization_server(
    state: &AppState,
    record: &UpstreamRecord,
) -> Result<oauth::AuthServer, UpstreamError> {
    let url = match (TransportKind::parse(&record.transport), &record.url) {
        (Some(TransportKind::StreamableHttp | TransportKind::Sse), Some(url)) => url.clone(),
        _ => return Err(UpstreamError::Config("only HTTP upstreams can be authorized with OAuth".into())),
    };
    oauth::discover(&state.plane.outbound, &url).await
}

/// Keeps a client registered at the upstream's authorization server by hand (its id, and its
/// secret sealed), for authorizations to use instead of registering Gatehouse; tokens of an
/// earlier client are dropped. Answers the issuer.
pub async fn set_client(
    state: &AppState,
    record: &UpstreamRecord,
    client_id: &str,
    client_secret: Option<&str>,
) -> Result<String, UpstreamError> {
    let server = authorization_server(state, record).await?;
    let sealed =
        client_secret.map(|s| state.master_key.encrypt(SECRET_PURPOSE, s.as_bytes(), record.id.as_bytes()));
    state
        .store
        .oauth_put(&UpstreamOAuthRecord {
            upstream_id: record.id.clone(),
            org_id: record.org_id.clone(),
            issuer: server.issuer.clone(),
            authorization_endpoint: server.authorization_endpoint.clone(),
            token_endpoint: server.token_endpoint.clone(),
            resource: server.resource.clone(),
            scope: server.scope.clone(),
            client_id: client_id.to_string(),
            client_secret: sealed,
            refresh_token: None,
            expires_at: None,
            updated_at: time::now_ms(),
        })
        .await
        .map_err(store_err)?;
    Ok(server.issuer)
}

/// Starts an authorization, of the upstream's own credential or (`subject`) of one person's:
/// returns the URL to open and when it stops being valid.
pub async fn start(
    state: &AppState,
    record: &UpstreamRecord,
    return_to: Option<String>,
    subject: Option<String>,
) -> Result<(String, i64), UpstreamError> {
    let outbound = &state.plane.outbound;
    let server = authorization_server(state, record).await?;
    let redirect = redirect_uri(state);
    let previous = state.store.oauth_get(&record.id).await.map_err(store_err)?;
    // A client registered at this same server before is reused (its tokens stay valid).
    let (client_id, client_secret) = match previous.as_ref().filter(|p| p.issuer == server.issuer) {
        Some(p) => (p.client_id.clone(), p.client_secret.clone()),
        None => {
            let endpoint = server.registration_endpoint.as_deref().ok_or_else(|| {
                UpstreamError::Config(
                    "the authorization server offers no dynamic client registration: register Gatehouse there by hand and give its client (PUT …/upstreams/{upstreamId}/oauth-client)"
                        .into(),
                )
            })?;
            let (id, secret) = oauth::register(outbound, endpoint, &redirect).await?;
            let sealed =
                secret.map(|s| state.master_key.encrypt(SECRET_PURPOSE, s.as_bytes(), record.id.as_bytes()));
            (id, sealed)
        }
    };
    let now = time::now_ms();
    state
        .store
        .oauth_put(&UpstreamOAuthRecord {
            upstream_id: record.id.clone(),
            org_id: record.org_id.clone(),
            issuer: server.issuer.clone(),
            authorization_endpoint: server.authorization_endpoint.clone(),
            token_endpoint: server.token_endpoint.clone(),
            resource: server.resource.clone(),
            scope: server.scope.clone(),
            client_id: client_id.clone(),
            client_secret,
            refresh_token: previous.as_ref().and_then(|p| p.refresh_token.clone()),
            expires_at: previous.as_ref().and_then(|p| p.expires_at),
            updated_at: now,
        })
        .await
        .map_err(store_err)?;
    let (verifier, challenge) = oauth::pkce();
    let state_token = crypto::new_token("st_");
    let state_hash = crypto::sha256_hex(&state_token);
    let expires_at = now + FLOW_TTL_MS;
    state
        .store
        .oauth_flow_create(
            &OAuthFlowRecord {
                verifier: state.master_key.encrypt(FLOW_PURPOSE, verifier.as_bytes(), state_hash.as_bytes()),
                state_hash,
                upstream_id: record.id.clone(),
                org_id: record.org_id.clone(),
                redirect_uri: redirect.clone(),
                expires_at,
                return_to,
                subject,
            },
            now,
        )
        .await
        .map_err(store_err)?;
    let url = oauth::authorization_url(&server, &client_id, &redirect, &state_token, &challenge)?;
    Ok((url, expires_at))
}

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// Unknown, used or expired `state`.
    #[error("unknown or expired authorization state; start again")]
    State,
    /// The exchange failed.
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
}

/// Finishes an authorization: exchanges the code, stores the tokens, connects; says where the
/// console that started it continues, if it did.
pub async fn finish(
    state: &AppState,
    code: &str,
    state_token: &str,
) -> Result<(UpstreamRecord, Option<String>), CallbackError> {
    let flow = state.store.oauth_flow_take(&crypto::sha256_hex(state_token)).await.map_err(store_err)?;
    let flow = flow.filter(|f| f.expires_at > time::now_ms()).ok_or(CallbackError::State)?;
    let verifier = state
        .master_key
        .decrypt(FLOW_PURPOSE, &flow.verifier, flow.state_hash.as_bytes())
        .map_err(|_| CallbackError::State)?;
    let verifier = String::from_utf8_lossy(&verifier).into_owned();
    let record = state.store.upstream_get(&flow.org_id, &flow.upstream_id).await.map_err(store_err)?;
    let record = record.ok_or(CallbackError::State)?;
    let auth = state.store.oauth_get(&record.id).await.map_err(store_err)?.ok_or(CallbackError::State)?;
    let secret = open_secret(state, &record.id, auth.client_secret.as_deref());
    let tokens = oauth::token(
        &state.plane.outbound,
        &auth.token_endpoint,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &flow.redirect_uri),
            ("client_id", &auth.client_id),
            ("code_verifier", &verifier),
            ("resource", &auth.resource),
        ],
        secret.as_deref().map(|s| (auth.client_id.as_str(), s)),
    )
    .await?;
    if let Some(subject) = &flow.subject {
        super::personal::store_tokens(state, &record, subject, tokens).await?;
        return Ok((record, flow.return_to));
    }
    let record = store_tokens(state, record, auth, tokens).await?;
    let _ = service::refresh(state, &record).await;
    let stored = state.store.upstream_get(&record.org_id, &record.id).await.map_err(store_err)?;
    Ok((stored.unwrap_or(record), flow.return_to))
}

pub(super) fn open_secret(state: &AppState, upstream_id: &str, sealed: Option<&str>) -> Option<String> {
    let bytes = state.master_key.decrypt(SECRET_PURPOSE, sealed?, upstream_id.as_bytes()).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

async fn store_tokens(
    state: &AppState,
    mut record: UpstreamRecord,
    mut auth: UpstreamOAuthRecord,
    tokens: TokenSet,
) -> Result<UpstreamRecord, UpstreamError> {
    let now = time::now_ms();
    record.auth_type = UpstreamAuth::Oauth.as_str().to_string();
    record.auth_header = None;
    record.auth_credential = Some(state.master_key.encrypt(
        CREDENTIAL_PURPOSE,
        tokens.access_token.as_bytes(),
        record.id.as_bytes(),
    ));
    record.updated_at = now;
    state.store.upstream_update(&record).await.map_err(store_err)?;
    if let Some(refresh) = &tokens.refresh_token {
        auth.refresh_token =
            Some(state.master_key.encrypt(SECRET_PURPOSE, refresh.as_bytes(), record.id.as_bytes()));
    }
    auth.expires_at = tokens.expires_in.map(|s| now + s.max(0) * 1000);
    auth.updated_at = now;
    state.store.oauth_put(&auth).await.map_err(store_err)?;
    // Connections made with the old token are replaced where they are next used.
    service::announce(state, &record.id).await;
    Ok(record)
}

/// Redeems a refresh token at the upstream's token endpoint with the client Gatehouse has there
/// (its secret, if any, opened): the upstream's own and each person's refresh alike.
pub(super) async fn refresh_grant(
    state: &AppState,
    auth: &UpstreamOAuthRecord,
    refresh: &str,
) -> Result<TokenSet, UpstreamError> {
    let secret = open_secret(state, &auth.upstream_id, auth.client_secret.as_deref());
    oauth::token(
        &state.plane.outbound,
        &auth.token_endpoint,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &auth.client_id),
            ("resource", &auth.resource),
        ],
        secret.as_deref().map(|s| (auth.client_id.as_str(), s)),
    )
    .await
}

/// Uses the refresh token; true when a new access token was stored. A refused refresh marks
/// the upstream `needs_auth` (a person must authorize again).
pub async fn refresh(state: &AppState, org_id: &str, upstream_id: &str) -> Result<bool, UpstreamError> {
    let Some(auth) = state.store.oauth_get(upstream_id).await.map_err(store_err)? else { return Ok(false) };
    let Some(refresh) = open_secret(state, upstream_id, auth.refresh_token.as_deref()) else {
        return Ok(false);
    };
    let Some(record) = state.store.upstream_get(org_id, upstream_id).await.map_err(store_err)? else {
        return Ok(false);
    };
    let answer = refresh_grant(state, &auth, &refresh).await;
    match answer {
        Ok(tokens) => {
            store_tokens(state, record, auth, tokens).await?;
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(upstream = %upstream_id, error = %e, "OAuth refresh refused; the upstream needs authorization");
            let message = format!("OAuth refresh failed: {e}");
            let _ = state
                .store
                .upstream_set_status(
                    upstream_id,
                    UpstreamStatus::NeedsAuth.as_str(),
                    Some(&message),
                    None,
                    time::now_ms(),
                )
                .await;
            Err(e)
        }
    }
}

/// Refreshes every access token that expires soon (called by the background task).
pub async fn refresh_expiring(state: &AppState) {
    let due = match state.store.oauth_expiring(time::now_ms() + REFRESH_MARGIN_MS).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "cannot list OAuth tokens to refresh");
            return;
        }
    };
    for auth in due {
        let _ = refresh(state, &auth.org_id, &auth.upstream_id).await;
    }
}
