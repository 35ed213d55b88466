//! The authorization server's HTTP endpoints for MCP clients (`docs/AUTH_CLIENTS.md`): RFC 8414
//! metadata (also at the OpenID discovery path clients try), RFC 9728 protected resource
//! metadata per MCP endpoint, dynamic registration (RFC 7591), the token endpoint and
//! revocation (RFC 7009). They speak OAuth's own wire format — form bodies in, `{"error",
//! "error_description"}` out — not the management API's envelope. The authorization endpoint
//! is a page of the console (`console/pages/authorize.rs`): the person signs in and consents
//! there. Clients in browsers may call these endpoints from any origin (CORS): no cookie or
//! ambient credential is read here.

use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::domain::client_access::SignIn;
use crate::domain::time;
use crate::oauth::clients::{self, Client};
use crate::oauth::grants::{self, TokenForm};
use crate::oauth::{OAuthError, error, resource, scope};

/// Registrations one IP may make per window (the endpoint is open to anyone).
pub const REGISTRATIONS_PER_IP: usize = 20;
/// Token and revocation requests one IP may make per window: room for every client of a
/// large office behind one address refreshing hourly; tokens are unguessable, so this only
/// bounds load.
pub const TOKEN_REQUESTS_PER_IP: usize = 6000;
const WINDOW: Duration = Duration::from_secs(15 * 60);

type Peer = ConnectInfo<std::net::SocketAddr>;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(server_metadata).options(preflight))
        .route("/.well-known/openid-configuration", get(server_metadata).options(preflight))
        .route(
            "/.well-known/oauth-protected-resource/{transport}/{org}/{server}",
            get(resource_metadata).options(preflight),
        )
        .route("/oauth/register", post(register).options(preflight))
        .route("/oauth/token", post(token).options(preflight))
        .route("/oauth/revoke", post(revoke).options(preflight))
        .route("/oauth/openapi.json", get(openapi))
}

/// The endpoints' own OpenAPI document.
async fn openapi() -> Response {
    static DOCUMENT: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(super::oauth_openapi::document);
    cors(Json(DOCUMENT.clone()).into_response())
}

/// The issuer: Gatehouse's public URL.
fn issuer(state: &AppState) -> &str {
    state.config.public_url.trim_end_matches('/')
}

/// RFC 8414 metadata.
async fn server_metadata(State(state): State<AppState>) -> Response {
    let issuer = issuer(&state);
    let methods = ["none", "client_secret_post", "client_secret_basic"];
    cors(
        Json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "registration_endpoint": format!("{issuer}/oauth/register"),
            "revocation_endpoint": format!("{issuer}/oauth/revoke"),
            "scopes_supported": scope::ALL,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
        }))
        .into_response(),
    )
}

/// RFC 9728 metadata of one MCP endpoint (`mcp`, or `sse` for the legacy transport): 404
/// unless the server exists and accepts sign-in.
async fn resource_metadata(
    State(state): State<AppState>,
    Path((transport, org, server)): Path<(String, String, String)>,
) -> Response {
    let not_found =
        || cors(oauth_error(StatusCode::NOT_FOUND, "invalid_target", "no MCP server accepts sign-in here"));
    if transport != "mcp" && transport != "sse" {
        return not_found();
    }
    let entry = state.plane.directory.get(state.store.as_ref(), &state.master_key, &org, &server).await;
    match entry {
        Ok(Some(entry)) if entry.sign_in != SignIn::Off => {
            let issuer = issuer(&state);
            let public = &state.config.public_url;
            let mut body = json!({
                "resource": format!("{}/{transport}/{org}/{server}", public.trim_end_matches('/')),
                "authorization_servers": [issuer],
                "scopes_supported": scope::ALL,
                "bearer_methods_supported": ["header"],
                "resource_name": entry.server.name,
            });
            if transport == "mcp" {
                body["resource"] = json!(resource::of(public, &org, &server));
            }
            cors(Json(body).into_response())
        }
        Ok(_) => not_found(),
        Err(e) => cors(refused(e.into())),
    }
}

/// `POST /oauth/register` (RFC 7591): JSON in, the client (and a secret for confidential
/// clients) out, `201`.
async fn register(State(state): State<AppState>, peer: Peer, body: axum::body::Bytes) -> Response {
    if let Err(wait) =
        state.limiter.check(&format!("oauth-register:{}", peer.0.ip()), REGISTRATIONS_PER_IP, WINDOW)
    {
        return cors(too_many(wait));
    }
    let input: clients::Registration = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return cors(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_metadata",
                "the body must be a JSON object",
            ));
        }
    };
    match clients::register(state.store.as_ref(), input, None, time::now_ms()).await {
        Ok(made) => cors((StatusCode::CREATED, Json(clients::registration_response(&made))).into_response()),
        Err(e) => cors(refused(e)),
    }
}

/// `POST /oauth/token`.
async fn token(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let now = time::now_ms();
    let (form, client) =
        match caller(&state, &peer, &headers, form, |f: &TokenForm| (&f.client_id, &f.client_secret), now)
            .await
        {
            Ok(ok) => ok,
            Err(refusal) => return refusal,
        };
    let issuer = grants::Issuer {
        public_url: &state.config.public_url,
        access_ttl_secs: state.config.oauth_access_ttl.as_secs() as i64,
    };
    match grants::token(state.store.as_ref(), issuer, &client, &form, now).await {
        Ok(tokens) => {
            let mut r = Json(tokens).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            cors(r)
        }
        Err(failure) => {
            if let Some(grant) = &failure.revoked {
                announce_revoked(&state, grant).await;
            }
            cors(refused(failure.error))
        }
    }
}

/// The revocation request (RFC 7009 § 2.1).
#[derive(Debug, Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oauth/revoke`: `200` whether or not the token was known (§ 2.2).
async fn revoke(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let now = time::now_ms();
    let (form, client) =
        match caller(&state, &peer, &headers, form, |f: &RevokeForm| (&f.client_id, &f.client_secret), now)
            .await
        {
            Ok(ok) => ok,
            Err(refusal) => return refusal,
        };
    let Some(token) = form.token.filter(|t| !t.is_empty()) else {
        return cors(refused(error::invalid_request("token is missing")));
    };
    match grants::revoke(state.store.as_ref(), &client, &token, now).await {
        Ok(revoked) => {
            if let Some(grant) = revoked {
                announce_revoked(&state, &grant).await;
            }
            cors(StatusCode::OK.into_response())
        }
        Err(e) => cors(refused(e)),
    }
}

/// What the token and revocation endpoints do first: the address's budget, the form, and the
/// client that sent it, authenticated (`credentials` picks the form's `client_id` and
/// `client_secret`). The refusal, when one of them fails.
async fn caller<T>(
    state: &AppState,
    peer: &Peer,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
    credentials: impl Fn(&T) -> (&Option<String>, &Option<String>),
    now: i64,
) -> Result<(T, Client), Response> {
    let key = format!("oauth-token:{}", peer.0.ip());
    if let Err(wait) = state.limiter.check(&key, TOKEN_REQUESTS_PER_IP, WINDOW) {
        return Err(cors(too_many(wait)));
    }
    let Ok(Form(form)) = form else {
        return Err(cors(refused(error::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))));
    };
    let (id, secret) = credentials(&form);
    match client_of(state, headers, id.as_deref(), secret.as_deref(), now).await {
        Ok(client) => Ok((form, client)),
        Err(e) => Err(cors(refused(e))),
    }
}

/// Tells every node a grant is revoked (their token caches drop it).
pub async fn announce_revoked(state: &AppState, grant_id: &str) {
    if let Err(e) = state.announce(&format!("oauth_grant:{grant_id}")).await {
        tracing::warn!(error = %e, "could not announce a revoked grant");
    }
}

/// The client a token or revocation request comes from, authenticated: HTTP Basic (RFC 6749
/// § 2.3.1, form-encoded parts) or the form's `client_id` and `client_secret`.
async fn client_of(
    state: &AppState,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
    now: i64,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let (id, secret) = match &basic {
        Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
        None => (form_id, form_secret),
    };
    let id = id.ok_or_else(|| error::invalid_client("client authentication is missing: send client_id"))?;
    let client = clients::find(state.store.as_ref(), &state.plane.outbound, id, now).await?;
    let method_ok = match client.auth_method.as_str() {
        "client_secret_basic" => basic.is_some(),
        "client_secret_post" => basic.is_none() && form_secret.is_some(),
        _ => true,
    };
    if client.confidential() && !method_ok {
        return Err(error::invalid_client(format!("this client authenticates with {}", client.auth_method)));
    }
    clients::authenticate(&client, secret.filter(|s| !s.is_empty()))?;
    Ok(client)
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || error::invalid_client("malformed Basic credentials");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced).decode_utf8().map(|c| c.into_owned()).map_err(|_| bad())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// An OAuth error answer: `401` for client authentication, `500` for our own failures, else `400`.
pub fn refused(e: OAuthError) -> Response {
    let status = match e.code() {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    if let OAuthError::Store(err) = &e {
        tracing::error!(error = %err, "authorization server: store failure");
    }
    oauth_error(status, e.code(), &e.description())
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut r = (status, Json(json!({"error": code, "error_description": description}))).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"gatehouse\""));
    }
    r
}

fn too_many(wait: Duration) -> Response {
    let mut r = oauth_error(StatusCode::TOO_MANY_REQUESTS, "slow_down", "too many requests; try again later");
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Lets a client in a browser read the answer: these endpoints read no cookie, so any origin
/// may call them.
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("www-authenticate"));
    r
}

async fn preflight() -> Response {
    let mut r = cors(StatusCode::NO_CONTENT.into_response());
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    r
}
