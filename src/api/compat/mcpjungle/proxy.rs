//! MCPJungle's proxy endpoints: `/mcp` (Streamable HTTP), `/sse` and `/message` (the legacy
//! transport) serve the org's proxy server, `/v0/groups/{name}/…` a tool group's server — in
//! the org of the credential (an API key of that server, or a client's access token; in dev mode
//! `default`) — through the data plane's own handlers, so nothing about the protocol differs
//! from `/mcp/{org}/{server}`.

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

/// The org the request's credential belongs to (`default` in dev mode without one).
async fn org(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    let seen = RequestHeaders::of(headers);
    let credential = caller::credential(seen.api_key, seen.authorization);
    if let Some(org) = caller::org_of(state, credential).await? {
        return Ok(org);
    }
    match state.mode().await {
        Ok(Some(Mode::Dev)) => Ok(crate::bootstrap::DEFAULT_ORG_SLUG.to_string()),
        Ok(Some(_)) => {
            let error = json!({"jsonrpc": "2.0", "id": null,
                "error": {"code": -32600, "message": "an API key is required (X-API-Key or Authorization: Bearer)"}});
            Err((StatusCode::UNAUTHORIZED, axum::Json(error)).into_response())
        }
        Ok(None) => Err(ApiError::NotInitialized.into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// Serves Streamable HTTP for the server `slug` of the credential's org.
async fn streamable(state: AppState, request: Request, slug: String) -> Response {
    let (parts, body) = request.into_parts();
    let org = match org(&state, &parts.headers).await {
        Ok(org) => org,
        Err(response) => return response,
    };
    let path = Path((org, slug));
    match parts.method {
        Method::POST => endpoint::post_request(&state, &path.0.0, &path.0.1, parts.headers, body).await,
        Method::GET => endpoint::get(State(state), path, parts.headers).await,
        Method::DELETE => endpoint::delete(State(state), path, parts.headers).await,
        other => endpoint::other(other).await,
    }
}

/// Opens the legacy stream of the server `slug` of the credential's org.
async fn open(state: AppState, headers: HeaderMap, slug: String) -> Response {
    match org(&state, &headers).await {
        Ok(org) => sse::open(State(state), Path((org, slug)), headers).await,
        Err(response) => response,
    }
}

/// A message of the legacy transport for the server `slug` of the credential's org.
async fn post_message(
    state: AppState,
    query: Query<sse::MessageQuery>,
    headers: HeaderMap,
    body: Body,
    slug: String,
) -> Response {
    match org(&state, &headers).await {
        Ok(org) => sse::message(State(state), Path((org, slug)), query, headers, body).await,
        Err(response) => response,
    }
}

/// `ANY /mcp`.
pub async fn mcp(State(state): State<AppState>, request: Request) -> Response {
    streamable(state, request, PROXY_SLUG.to_string()).await
}

/// `GET /sse`.
pub async fn sse(State(state): State<AppState>, headers: HeaderMap) -> Response {
    open(state, headers, PROXY_SLUG.to_string()).await
}

/// `POST /message?sessionId=…`.
pub async fn message(
    State(state): State<AppState>,
    query: Query<sse::MessageQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    post_message(state, query, headers, body, PROXY_SLUG.to_string()).await
}

/// `ANY /v0/groups/{name}/mcp`: the group's server.
pub async fn group_mcp(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    streamable(state, request, slug_of(&name)).await
}

/// `GET /v0/groups/{name}/sse`.
pub async fn group_sse(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    open(state, headers, slug_of(&name)).await
}

/// `POST /v0/groups/{name}/message?sessionId=…`.
pub async fn group_message(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Query<sse::MessageQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    post_message(state, query, headers, body, slug_of(&name)).await
}
