//! The authorization code flow (OAuth 2.1 § 4.1) with PKCE S256, resource indicators and
//! refresh token rotation: an authorization request checked, a code issued at consent, the code
//! and refresh tokens exchanged at the token endpoint, tokens revoked.
//!
//! Tokens are opaque random strings whose SHA-256 is stored, not JWTs: Gatehouse is the only
//! party that ever reads them (it is both authorization and resource server), so nothing is
//! gained by making them self-contained, while opaque tokens can be revoked on every node at
//! once and say nothing to whoever finds one. The data plane checks them from memory
//! (`plane/tokens.rs`), like API keys.

use serde::Deserialize;
use serde_json::{Value, json};

use super::clients::{self, Client};
use super::error::{self, OAuthError};
use super::scope::Scopes;
use super::{pkce, redirect, resource};
use crate::crypto;
use crate::domain::client_access::SignIn;
use crate::domain::ids;
use crate::outbound::Outbound;
use crate::store::{
    CodeTake, OAuthCodeRecord, OAuthGrantRecord, OAuthTokenRecord, OrgRecord, RefreshTake, ServerRecord,
    Store,
};

/// A code is redeemable this long (OAuth 2.1 § 4.1.2 recommends at most ten minutes).
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;
/// A refresh token lives this long unless used (each use rotates it).
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Access tokens begin with this.
pub const ACCESS_PREFIX: &str = "gh_at_";
/// Refresh tokens begin with this.
pub const REFRESH_PREFIX: &str = "gh_rt_";
const CODE_PREFIX: &str = "gh_ac_";

/// The parameters of an authorization request, as sent (RFC 6749 § 4.1.1, RFC 7636, RFC 8707).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// A checked authorization request: who asks, for which server, for what.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub client: Client,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Scopes,
    pub resource: String,
    pub org: OrgRecord,
    pub server: ServerRecord,
    pub sign_in: SignIn,
}

/// Why an authorization request is refused, and how the refusal travels: to the client's
/// redirect URI once it is known to be the client's, otherwise only to the person (RFC 6749
/// § 4.1.2.1: never redirect to an unverified URI).
#[derive(Debug)]
pub enum Refusal {
    Show(OAuthError),
    Redirect { error: OAuthError, redirect_uri: String, state: Option<String> },
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        Refusal::Show(e.into())
    }
}

/// Checks an authorization request.
pub async fn check(
    store: &dyn Store,
    outbound: &Outbound,
    public_url: &str,
    p: &AuthorizeParams,
    now: i64,
) -> Result<Authorization, Refusal> {
    let client_id = p
        .client_id
        .as_deref()
        .ok_or_else(|| Refusal::Show(error::invalid_request("client_id is missing")))?;
    let client = clients::find(store, outbound, client_id, now).await.map_err(Refusal::Show)?;
    let redirect_uri = match p.redirect_uri.as_deref() {
        Some(uri) if redirect::matches(&client.redirect_uris, uri) => uri.to_string(),
        Some(_) => {
            return Err(Refusal::Show(error::invalid_request(
                "redirect_uri is not registered for this client",
            )));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(Refusal::Show(error::invalid_request("redirect_uri is missing"))),
    };
    let state = p.state.clone();
    let back = |error: OAuthError| Refusal::Redirect {
        error,
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
    };
    if state.as_ref().is_some_and(|s| s.len() > 2048) {
        return Err(back(error::invalid_request("state is longer than 2048 characters")));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(back(error::unsupported_response_type("response_type must be code")));
    }
    let challenge = p.code_challenge.as_deref().unwrap_or_default();
    if p.code_challenge_method.as_deref() != Some("S256") || !pkce::is_challenge(challenge) {
        return Err(back(error::invalid_request(
            "PKCE is required: code_challenge with code_challenge_method S256",
        )));
    }
    let scopes = Scopes::requested(p.scope.as_deref()).ok_or_else(|| {
        back(error::invalid_scope("none of the requested scopes is known (mcp:read, mcp:call)"))
    })?;
    let resource = p.resource.as_deref().ok_or_else(|| {
        back(error::invalid_target("resource is missing: send the URL of the MCP server (RFC 8707)"))
    })?;
    let (org, server, sign_in) = match target(store, public_url, resource).await {
        Ok(t) => t,
        Err(Refusal::Show(e)) => return Err(back(e)),
        Err(other) => return Err(other),
    };
    if client.org_id.as_ref().is_some_and(|o| *o != org.id) {
        return Err(back(error::invalid_target("this client is registered for another organization")));
    }
    Ok(Authorization {
        client,
        redirect_uri,
        state,
        code_challenge: challenge.to_string(),
        scopes,
        resource: resource::of(public_url, &org.slug, &server.slug),
        org,
        server,
        sign_in,
    })
}

/// The org, server and sign-in setting a resource names; `invalid_target` unless it is one of
/// this instance's servers open to sign-in.
pub async fn target(
    store: &dyn Store,
    public_url: &str,
    resource: &str,
) -> Result<(OrgRecord, ServerRecord, SignIn), Refusal> {
    let unknown = || Refusal::Show(error::invalid_target("resource is not an MCP server of this Gatehouse"));
    let (org, slug) = resource::parse(public_url, resource).ok_or_else(unknown)?;
    let org = store.org_find(&org).await?.ok_or_else(unknown)?;
    let server = store.server_by_slug(&org.id, &slug).await?.ok_or_else(unknown)?;
    let sign_in = SignIn::parse(store.client_access_get(&server.id).await?.as_deref());
    if sign_in == SignIn::Off {
        return Err(Refusal::Show(error::invalid_target(
            "this MCP server accepts API keys only, not sign-in",
        )));
    }
    Ok((org, server, sign_in))
}

/// Who consented: a person of the org or an end user of the server.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `member` or `end_user`.
    pub kind: &'static str,
    pub user_id: Option<String>,
    pub email: String,
}

/// Issues the code for a request the person allowed with `scopes`.
pub async fn issue_code(
    store: &dyn Store,
    a: &Authorization,
    subject: &Subject,
    scopes: Scopes,
    now: i64,
) -> Result<String, OAuthError> {
    let code = crypto::new_token(CODE_PREFIX);
    store
        .oauth_code_create(&OAuthCodeRecord {
            code_hash: crypto::sha256_hex(&code),
            client_id: a.client.id.clone(),
            org_id: a.org.id.clone(),
            server_id: a.server.id.clone(),
            redirect_uri: a.redirect_uri.clone(),
            code_challenge: a.code_challenge.clone(),
            scopes: scopes.to_param(),
            subject_kind: subject.kind.into(),
            user_id: subject.user_id.clone(),
            email: subject.email.clone(),
            created_at: now,
            expires_at: now + CODE_TTL_MS,
            used_at: None,
            grant_id: None,
        })
        .await?;
    Ok(code)
}

/// The token endpoint's form (RFC 6749 § 4.1.3 and § 6).
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// A refused token request, and the grant it revoked (a replayed code or refresh token), whose
/// revocation the caller announces to every node.
#[derive(Debug)]
pub struct TokenFailure {
    pub error: OAuthError,
    pub revoked: Option<String>,
}

impl<E: Into<OAuthError>> From<E> for TokenFailure {
    fn from(e: E) -> Self {
        TokenFailure { error: e.into(), revoked: None }
    }
}

/// Where tokens are issued: the issuer's URL and how long access tokens live.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    pub public_url: &'a str,
    pub access_ttl_secs: i64,
}

/// Answers a token request from an authenticated client.
pub async fn token(
    store: &dyn Store,
    issuer: Issuer<'_>,
    client: &Client,
    form: &TokenForm,
    now: i64,
) -> Result<Value, TokenFailure> {
    match form.grant_type.as_deref() {
        Some("authorization_code") => exchange_code(store, issuer, client, form, now).await,
        Some("refresh_token") => refresh(store, issuer, client, form, now).await,
        Some(other) => {
            Err(error::unsupported_grant_type(format!("grant_type {other} is not supported")).into())
        }
        None => Err(error::invalid_request("grant_type is missing").into()),
    }
}

async fn exchange_code(
    store: &dyn Store,
    issuer: Issuer<'_>,
    client: &Client,
    form: &TokenForm,
    now: i64,
) -> Result<Value, TokenFailure> {
    let raw = form.code.as_deref().ok_or_else(|| error::invalid_request("code is missing"))?;
    let code = match store.oauth_code_take(&crypto::sha256_hex(raw), now).await? {
        CodeTake::Taken(code) => code,
        CodeTake::Unknown => return Err(error::invalid_grant("the authorization code is not valid").into()),
        CodeTake::Replayed(grant) => {
            // OAuth 2.1 § 4.1.3: a code used twice revokes what it was exchanged for.
            let revoked = match grant {
                Some(id) if store.oauth_grant_revoke(&id, now).await? => Some(id),
                _ => None,
            };
            let error =
                error::invalid_grant("the authorization code was already used; its tokens are revoked");
            return Err(TokenFailure { error, revoked });
        }
    };
    if code.client_id != client.id {
        return Err(error::invalid_grant("the authorization code was issued to another client").into());
    }
    if code.expires_at <= now {
        return Err(error::invalid_grant("the authorization code has expired").into());
    }
    if form.redirect_uri.as_deref().is_some_and(|r| r != code.redirect_uri) {
        return Err(error::invalid_grant("redirect_uri differs from the authorization request's").into());
    }
    let verifier =
        form.code_verifier.as_deref().ok_or_else(|| error::invalid_request("code_verifier is missing"))?;
    if !pkce::verifies(verifier, &code.code_challenge) {
        return Err(error::invalid_grant("code_verifier does not match the code_challenge").into());
    }
    check_resource(store, issuer.public_url, form.resource.as_deref(), &code.server_id).await?;
    let grant = OAuthGrantRecord {
        id: ids::new_id("ocg"),
        org_id: code.org_id.clone(),
        server_id: code.server_id.clone(),
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        subject_kind: code.subject_kind.clone(),
        user_id: code.user_id.clone(),
        email: code.email.clone(),
        scopes: code.scopes.clone(),
        created_at: now,
        last_used_at: now,
        revoked_at: None,
    };
    let (tokens, records) = mint(&grant.id, issuer.access_ttl_secs, now);
    store.oauth_grant_create(&grant, &records, &code.code_hash).await?;
    Ok(answer(&tokens, &grant.scopes, issuer.access_ttl_secs))
}

/// When the token request names a resource (the MCP authorization spec says it must), it
/// must be the server the code or grant is for.
async fn check_resource(
    store: &dyn Store,
    public_url: &str,
    named: Option<&str>,
    server_id: &str,
) -> Result<(), TokenFailure> {
    let Some(named) = named else { return Ok(()) };
    let (_, server, _) = target(store, public_url, named).await.map_err(|r| match r {
        Refusal::Show(error) | Refusal::Redirect { error, .. } => TokenFailure { error, revoked: None },
    })?;
    if server.id != server_id {
        return Err(error::invalid_target("the resource is not the server this grant is for").into());
    }
    Ok(())
}

async fn refresh(
    store: &dyn Store,
    issuer: Issuer<'_>,
    client: &Client,
    form: &TokenForm,
    now: i64,
) -> Result<Value, TokenFailure> {
    let raw =
        form.refresh_token.as_deref().ok_or_else(|| error::invalid_request("refresh_token is missing"))?;
    let hash = crypto::sha256_hex(raw);
    let invalid = || error::invalid_grant("the refresh token is not valid");
    let (token, grant) = store.oauth_token_find(&hash).await?.ok_or_else(invalid)?;
    if token.kind != "refresh" || grant.client_id != client.id {
        return Err(invalid().into());
    }
    if let Some(asked) = form.scope.as_deref() {
        let asked = Scopes::requested(Some(asked)).ok_or_else(|| error::invalid_scope("unknown scope"))?;
        if !Scopes::parse(&grant.scopes).covers(asked) {
            return Err(error::invalid_scope("a refresh cannot widen the scopes granted at consent").into());
        }
    }
    check_resource(store, issuer.public_url, form.resource.as_deref(), &grant.server_id).await?;
    let (tokens, records) = mint(&grant.id, issuer.access_ttl_secs, now);
    match store.oauth_refresh_rotate(&hash, now, &records).await? {
        RefreshTake::Rotated(grant) => Ok(answer(&tokens, &grant.scopes, issuer.access_ttl_secs)),
        RefreshTake::Invalid => Err(invalid().into()),
        RefreshTake::Reused(grant_id) => {
            // OAuth 2.1 § 4.3.1: a rotated refresh token presented again means one of two
            // parties holds a stolen copy; the whole family ends.
            let revoked = store.oauth_grant_revoke(&grant_id, now).await?.then_some(grant_id);
            let error =
                error::invalid_grant("the refresh token was already used; this connection is revoked");
            Err(TokenFailure { error, revoked })
        }
    }
}

/// New tokens: their raw values, and their records for the store.
struct Minted {
    access: String,
    refresh: String,
}

fn mint(grant_id: &str, access_ttl_secs: i64, now: i64) -> (Minted, Vec<OAuthTokenRecord>) {
    let minted =
        Minted { access: crypto::new_token(ACCESS_PREFIX), refresh: crypto::new_token(REFRESH_PREFIX) };
    let record = |raw: &str, kind: &str, expires_at: i64| OAuthTokenRecord {
        hash: crypto::sha256_hex(raw),
        grant_id: grant_id.to_string(),
        kind: kind.into(),
        created_at: now,
        expires_at,
        rotated_at: None,
    };
    let records = vec![
        record(&minted.access, "access", now + access_ttl_secs * 1000),
        record(&minted.refresh, "refresh", now + REFRESH_TTL_MS),
    ];
    (minted, records)
}

fn answer(t: &Minted, scopes: &str, access_ttl_secs: i64) -> Value {
    json!({
        "access_token": t.access,
        "token_type": "Bearer",
        "expires_in": access_ttl_secs,
        "refresh_token": t.refresh,
        "scope": scopes,
    })
}

/// Revokes the grant of a token the client holds (RFC 7009): revoking either of its tokens ends
/// the connection. Unknown tokens and other clients' tokens are ignored (§ 2.2); the grant
/// revoked, if any, is returned to be announced.
pub async fn revoke(
    store: &dyn Store,
    client: &Client,
    raw: &str,
    now: i64,
) -> Result<Option<String>, OAuthError> {
    let Some((_, grant)) = store.oauth_token_find(&crypto::sha256_hex(raw)).await? else { return Ok(None) };
    if grant.client_id != client.id {
        return Ok(None);
    }
    Ok(store.oauth_grant_revoke(&grant.id, now).await?.then_some(grant.id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn minted_tokens_carry_their_prefixes() {
        let (t, records) = super::mint("ocg_x", 3600, 0);
        assert!(t.access.starts_with(super::ACCESS_PREFIX) && t.refresh.starts_with(super::REFRESH_PREFIX));
        assert_eq!(records.len(), 2);
        assert_ne!(records[0].hash, records[1].hash);
    }
}
