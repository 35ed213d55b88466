//! Who is calling an MCP endpoint: an API key (`X-API-Key`, or `Authorization: Bearer mcp_…`)
//! or an OAuth access token Gatehouse issued for this very server (`Bearer gh_at_…`), and the
//! answers when neither will do — `401` with the `WWW-Authenticate` challenge that starts a
//! client's sign-in (RFC 9728 § 5.1), `403 insufficient_scope` when a token may not call tools
//! (the authorization spec's "Scope Challenge Handling").

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::endpoint::http_error;
use super::router::code;
use crate::app::AppState;
use crate::config::Mode;
use crate::domain::client_access::SignIn;
use crate::domain::time;
use crate::error::ApiError;
use crate::oauth::grants::ACCESS_PREFIX;
use crate::oauth::{resource, scope};
use crate::plane::directory::ServerEntry;
use crate::plane::tokens::AccessGrant;

/// Who is calling.
pub struct Caller {
    /// What the call is counted and rate-limited under, and what a session is bound to: the API
    /// key's id, or the OAuth grant's (one connected client; it survives token refreshes).
    /// Empty in dev mode without a credential.
    pub key_id: String,
    /// The signed-in person and client, when the credential is an OAuth access token.
    pub grant: Option<Arc<AccessGrant>>,
}

impl Caller {
    /// Whether this caller may call tools (API keys and dev mode may; a token needs `mcp:call`).
    pub fn may_call_tools(&self) -> bool {
        self.grant.as_ref().is_none_or(|g| g.scopes.call)
    }
}

/// The credential a request presents: `X-API-Key`, or the `Authorization: Bearer` token.
pub fn credential<'a>(
    x_api_key: Option<&'a HeaderValue>,
    authorization: Option<&'a HeaderValue>,
) -> Option<&'a str> {
    if let Some(v) = x_api_key {
        return v.to_str().ok().map(str::trim);
    }
    let auth = authorization?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Resolves the server at `/{transport}/{org}/{slug}` and checks the credential (dev mode needs
/// none, but one presented is checked).
pub async fn authorize(
    state: &AppState,
    credential: Option<&str>,
    (transport, org, slug): (&str, &str, &str),
) -> Result<(Arc<ServerEntry>, Caller), Response> {
    let dev = match state.mode().await {
        Ok(Some(mode)) => mode == Mode::Dev,
        Ok(None) => return Err(ApiError::NotInitialized.into_response()),
        Err(err) => return Err(err.into_response()),
    };
    let challenge = Challenge { state, transport, org, slug };
    match credential {
        Some(token) if token.starts_with(ACCESS_PREFIX) => {
            let now = time::now_ms();
            let grant =
                state.plane.tokens.verify(state.store.as_ref(), token, now).await.map_err(store_error)?;
            let Some(grant) = grant else {
                return Err(challenge.invalid_token("the access token is invalid, expired or revoked"));
            };
            let entry = entry(state, org, slug).await?;
            // RFC 8707: a token is for one server; any other refuses it (no passthrough).
            if grant.server_id != entry.server.id {
                return Err(challenge.invalid_token("the access token was issued for another MCP server"));
            }
            if !signs_in(entry.sign_in, &grant.subject_kind) {
                return Err(challenge.invalid_token("this MCP server no longer accepts this sign-in"));
            }
            let entry = open(entry).map_err(|r| *r)?;
            Ok((entry, Caller { key_id: grant.grant_id.clone(), grant: Some(grant) }))
        }
        Some(raw) => {
            // The key is checked before the server is looked up, so callers without a valid key
            // learn nothing about which servers exist.
            let info = state.plane.keys.verify(state.store.as_ref(), raw).await.map_err(store_error)?;
            let unauthorized = || {
                http_error(StatusCode::UNAUTHORIZED, code::INVALID_REQUEST, "invalid API key for this server")
            };
            let info = info.ok_or_else(unauthorized)?;
            let entry = entry(state, org, slug).await?;
            if info.server_id != entry.server.id {
                return Err(unauthorized());
            }
            let entry = open(entry).map_err(|r| *r)?;
            Ok((entry, Caller { key_id: info.key_id.clone(), grant: None }))
        }
        None if dev => {
            let entry = open(entry(state, org, slug).await?).map_err(|r| *r)?;
            Ok((entry, Caller { key_id: String::new(), grant: None }))
        }
        None => Err(challenge.missing().await),
    }
}

/// The org and server a credential belongs to (an API key's, or an access token's), for
/// endpoints that name neither: `Ok(None)` without a credential, a 401 for one that is not valid.
pub async fn owner_of(
    state: &AppState,
    credential: Option<&str>,
) -> Result<Option<(String, String)>, Response> {
    let invalid = || http_error(StatusCode::UNAUTHORIZED, code::INVALID_REQUEST, "invalid credential");
    match credential {
        None => Ok(None),
        Some(token) if token.starts_with(ACCESS_PREFIX) => {
            let grant = state.plane.tokens.verify(state.store.as_ref(), token, time::now_ms()).await;
            let grant = grant.map_err(store_error)?.ok_or_else(invalid)?;
            Ok(Some((grant.org_id.clone(), grant.server_id.clone())))
        }
        Some(raw) => {
            let key = state.plane.keys.verify(state.store.as_ref(), raw).await.map_err(store_error)?;
            let key = key.ok_or_else(invalid)?;
            Ok(Some((key.org_id.clone(), key.server_id.clone())))
        }
    }
}

/// Whether a grant of `subject_kind` still fits the server's setting.
fn signs_in(setting: SignIn, subject_kind: &str) -> bool {
    match setting {
        SignIn::Off => false,
        SignIn::Members => subject_kind == "member",
        SignIn::EndUsers => subject_kind == "end_user",
    }
}

async fn entry(state: &AppState, org: &str, slug: &str) -> Result<Arc<ServerEntry>, Response> {
    state
        .plane
        .directory
        .get(state.store.as_ref(), &state.master_key, org, slug)
        .await
        .map_err(store_error)?
        .ok_or_else(|| http_error(StatusCode::NOT_FOUND, code::INVALID_REQUEST, "no such MCP server"))
}

/// The entry, unless the server is disabled (the refusal then, boxed: it is the rare case).
fn open(entry: Arc<ServerEntry>) -> Result<Arc<ServerEntry>, Box<Response>> {
    if entry.disabled() {
        return Err(Box::new(http_error(
            StatusCode::FORBIDDEN,
            code::INVALID_REQUEST,
            "this MCP server is disabled",
        )));
    }
    Ok(entry)
}

fn store_error(e: crate::store::StoreError) -> Response {
    ApiError::from(e).into_response()
}

/// The challenges of one endpoint.
pub struct Challenge<'a> {
    pub state: &'a AppState,
    pub transport: &'a str,
    pub org: &'a str,
    pub slug: &'a str,
}

impl Challenge<'_> {
    fn metadata(&self) -> String {
        resource::metadata_url(&self.state.config.public_url, self.transport, self.org, self.slug)
    }

    /// No credential: a server open to sign-in says where to start (RFC 9728 § 5.1, RFC 6750
    /// § 3); one taking API keys only says so.
    async fn missing(&self) -> Response {
        let open = entry(self.state, self.org, self.slug).await.is_ok_and(|e| e.sign_in != SignIn::Off);
        if !open {
            return http_error(
                StatusCode::UNAUTHORIZED,
                code::INVALID_REQUEST,
                "missing API key: send X-API-Key",
            );
        }
        let value =
            format!(r#"Bearer resource_metadata="{}", scope="{}""#, self.metadata(), scope::ALL.join(" "));
        with_challenge(
            http_error(
                StatusCode::UNAUTHORIZED,
                code::INVALID_REQUEST,
                "sign in or send an API key (X-API-Key)",
            ),
            &value,
        )
    }

    /// A token that is not (or no longer) good here (RFC 6750 § 3.1 `invalid_token`).
    fn invalid_token(&self, why: &str) -> Response {
        let value = format!(
            r#"Bearer error="invalid_token", error_description="{why}", resource_metadata="{}""#,
            self.metadata()
        );
        with_challenge(http_error(StatusCode::UNAUTHORIZED, code::INVALID_REQUEST, why), &value)
    }

    /// A token without `mcp:call` calling a tool: `403` naming the scope to ask for.
    pub fn insufficient_scope(&self) -> Response {
        let why = "calling tools needs the mcp:call scope";
        let value = format!(
            r#"Bearer error="insufficient_scope", scope="{}", resource_metadata="{}", error_description="{why}""#,
            scope::CALL,
            self.metadata()
        );
        with_challenge(http_error(StatusCode::FORBIDDEN, code::INVALID_REQUEST, why), &value)
    }
}

fn with_challenge(mut response: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}
