//! MCPJungle's proxy endpoints: `/mcp` (Streamable HTTP), `/sse` and `/message` (the legacy
//! transport) serve the server the credential belongs to — the org's proxy server, or a
//! client's own server of the upstreams it may use; in dev mode without one, the default org's
//! proxy server — and `/v0/groups/{name}/…` a tool group's server in the credential's org,
//! through the data plane's own handlers, so nothing about the protocol differs from
//! `/mcp/{org}/{server}`.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::PROXY_SLUG;
use super::groups::slug_of;
use crate::app::AppState;
use crate::config::Mode;
use crate::error::ApiError;
use crate::gateway::request_headers::RequestHeaders;
use crate::gateway::{caller, endpoint, sse};

/// Whom a request reaches: the org and server its credential belongs to (an MCPJungle client's
/// key is a key of its own server, or of the proxy server), or in dev mode without one the
/// default org's `fallback` server.
async fn target(state: &AppState, headers: &HeaderMap, fallback: &str) -> Result<(String, String), Response> {
    let seen = RequestHeaders::of(headers);
    let credential = caller::credential(seen.api_key, seen.authorization);
    if let Some((org, server)) = caller::owner_of(state, credential).await? {
        // From the directory's memory once the server was served here; else from the store.
        if let Some(slug) = state.plane.directory.slug_of(&server) {
            return Ok((org, slug));
        }
        let found =
            state.store.server_get(&org, &server).await.map_err(|e| ApiError::from(e).into_response())?;
        let slug = found.map(|s| s.slug).ok_or_else(|| ApiError::NotFound("server").into_response())?;
        return Ok((org, slug));
    }
    match state.mode().await {
        Ok(Some(Mode::Dev)) => Ok((crate::bootstrap::DEFAULT_ORG_SLUG.to_string(), fallback.to_string())),
        Ok(Some(_)) => {
            let error = json!({"jsonrpc": "2.0", "id": null,
                "error": {"code": -32600, "message": "an API key is required (X-API-Key or Authorization: Bearer)"}});
            Err((StatusCode::UNAUTHORIZED, axum::Json(error)).into_response())
        }
        Ok(None) => Err(ApiError::NotInitialized.into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// The org of the request's credential, for an endpoint that names its server (`slug`).
async fn org(state: &AppState, headers: &HeaderMap, slug: &str) -> Result<String, Response> {
    target(state, headers, slug).await.map(|(org, _)| org)
}

/// Serves Streamable HTTP: the group `Some(slug)` of the credential's org, or (`None`) the
/// server the credential belongs to.
async fn streamable(state: AppState, request: Request, group: Option<String>) -> Response {
    let (parts, body) = request.into_parts();
    let found = match &group {
        Some(slug) => org(&state, &parts.headers, slug).await.map(|org| (org, slug.clone())),
        None => target(&state, &parts.headers, PROXY_SLUG).await,
    };
    let path = match found {
        Ok(found) => Path(found),
        Err(response) => return response,
    };
    match parts.method {
        Method::POST => endpoint::post_request(&state, &path.0.0, &path.0.1, parts.headers, body).await,
        Method::GET => endpoint::get(State(state), path, parts.headers).await,
        Method::DELETE => endpoint::delete(State(state), path, parts.headers).await,
        other => endpoint::other(other).await,
    }
}

/// Opens the legacy stream of the group `Some(slug)`, or of the credential's server.
async fn open(state: AppState, headers: HeaderMap, group: Option<String>) -> Response {
    let found = match &group {
        Some(slug) => org(&state, &headers, slug).await.map(|org| (org, slug.clone())),
        None => target(&state, &headers, PROXY_SLUG).await,
    };
    match found {
        Ok(found) => sse::open(State(state), Path(found), headers).await,
        Err(response) => response,
    }
}

/// A message of the legacy transport for the group `Some(slug)`, or the credential's server.
async fn post_message(
    state: AppState,
    query: Query<sse::MessageQuery>,
    headers: HeaderMap,
    body: Body,
    group: Option<String>,
) -> Response {
    let found = match &group {
        Some(slug) => org(&state, &headers, slug).await.map(|org| (org, slug.clone())),
        None => target(&state, &headers, PROXY_SLUG).await,
    };
    match found {
        Ok(found) => sse::message(State(state), Path(found), query, headers, body).await,
        Err(response) => response,
    }
}

/// `ANY /mcp`.
pub async fn mcp(State(state): State<AppState>, request: Request) -> Response {
    streamable(state, request, None).await
}

/// `GET /sse`.
pub async fn sse(State(state): State<AppState>, headers: HeaderMap) -> Response {
    open(state, headers, None).await
}

/// `POST /message?sessionId=…`.
pub async fn message(
    State(state): State<AppState>,
    query: Query<sse::MessageQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    post_message(state, query, headers, body, None).await
}

/// `ANY /v0/groups/{name}/mcp`: the group's server.
pub async fn group_mcp(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    streamable(state, request, Some(slug_of(&name))).await
}

/// `GET /v0/groups/{name}/sse`.
pub async fn group_sse(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    open(state, headers, Some(slug_of(&name))).await
}

/// `POST /v0/groups/{name}/message?sessionId=…`.
pub async fn group_message(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Query<sse::MessageQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    post_message(state, query, headers, body, Some(slug_of(&name))).await
}
