//! The Streamable HTTP endpoint `/mcp/{org}/{server}`: one URL for every revision.
//!
//! Which revision a POST speaks is decided per request (see `docs/PROTOCOL.md`):
//! an `Mcp-Session-Id` means the stateful revision sealed in it; `initialize` starts a stateful
//! session; a request whose `_meta` carries `io.modelcontextprotocol/protocolVersion` (or that
//! declares `MCP-Protocol-Version: 2026-07-28`) is stateless 2026-07-28; a request with neither
//! a session nor a version header is answered on its own in 2025-03-26 (`stateful.rs`,
//! `sessionless`); one naming an older revision without its session is refused. This folder
//! does HTTP only; methods live in [`super::router`]. Here: the request read, authorized and
//! routed to a revision; `stateful.rs`, `stateless.rs` and `relayed.rs` answer it, `answer.rs`
//! shapes the HTTP answers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use serde_json::{Map, Value, json};

use crate::plane::directory::ServerEntry;
use gatehouse_mcp::jsonrpc::{Envelope, Payload, is_id, result_message};
use gatehouse_mcp::{transport, version};

use super::bridge;
use super::caller::{self, Caller};
use super::context::CallCtx;
use super::request_headers::{API_KEY_HEADER, RequestHeaders, SESSION_HEADER};
use super::router::{self, RpcError, STATELESS, code};
use crate::app::AppState;
use crate::body::{is_json_type, read_body_declared};
use crate::domain::time;
use crate::error::ApiError;
use crate::plane::directory::ToolTarget;
use crate::plane::session::{OpenedSession, Session};

mod answer;
mod relayed;
mod stateful;
mod stateless;

use answer::*;
use relayed::*;
use stateful::*;
use stateless::*;

pub(super) use answer::{http_error, json_text};
pub(super) use stateful::one_stateful_in;

/// Tells nginx-like proxies not to buffer an SSE response.
pub(super) const NO_PROXY_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Origin check against DNS rebinding (transports § Security): a present Origin must be this
/// server's public origin or a loopback origin.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    origin_ok(state, headers.get(header::ORIGIN))
}

/// [`origin_allowed`] of the first `Origin` value.
fn origin_ok(state: &AppState, origin: Option<&HeaderValue>) -> bool {
    let Some(origin) = origin else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if origin.trim_end_matches('/') == state.config.public_url.trim_end_matches('/') {
        return true;
    }
    match url::Url::parse(origin) {
        Ok(u) => matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        Err(_) => false,
    }
}

/// Resolves the server and checks the caller's credential ([`caller::authorize`]) for an
/// endpoint of `transport` (`mcp`, or `sse` for the legacy transport).
pub(super) async fn authorize_request(
    state: &AppState,
    headers: &HeaderMap,
    (transport, org, slug): (&str, &str, &str),
) -> Result<(Arc<ServerEntry>, Caller), Response> {
    let credential = caller::credential(headers.get(API_KEY_HEADER), headers.get(header::AUTHORIZATION));
    caller::authorize(state, credential, (transport, org, slug)).await
}

/// Whether a message (or a batch) calls a tool, which an OAuth token needs `mcp:call` for.
pub(super) fn calls_tool(message: &Payload) -> bool {
    match message {
        Payload::One(envelope) => envelope.method() == Some("tools/call"),
        Payload::Other(Value::Array(batch)) => {
            batch.iter().any(|m| m.get("method").and_then(Value::as_str) == Some("tools/call"))
        }
        Payload::Other(value) => value.get("method").and_then(Value::as_str) == Some("tools/call"),
    }
}

/// `POST /mcp/{org}/{server}` as the router serves it (a path that needed decoding); plain
/// paths come straight from `front.rs` to [`post_request`].
pub async fn post(
    State(state): State<AppState>,
    Path((org, slug)): Path<(String, String)>,
    request: axum::extract::Request,
) -> Response {
    // The request's own headers, taken rather than copied (the `HeaderMap` extractor clones).
    let (parts, body) = request.into_parts();
    post_request(&state, &org, &slug, parts.headers, body).await
}

/// `POST /mcp/{org}/{server}`: its headers and body (hyper's own from `front.rs`, axum's from
/// the router).
pub async fn post_request<B>(state: &AppState, org: &str, slug: &str, headers: HeaderMap, body: B) -> Response
where
    B: hyper::body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let seen = RequestHeaders::of(&headers);
    if !origin_ok(state, seen.origin) {
        return http_error(StatusCode::FORBIDDEN, code::INVALID_REQUEST, "Origin not allowed");
    }
    let credential = caller::credential(seen.api_key, seen.authorization);
    let (entry, caller) = match caller::authorize(state, credential, ("mcp", org, slug)).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let bytes = match read_body_declared(seen.content_length, body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::INVALID_REQUEST,
                "request body too large",
            );
        }
    };
    if !is_json_type(seen.content_type) {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::INVALID_REQUEST,
            "Content-Type must be application/json",
        );
    }
    // transports § Sending Messages: the answer is JSON or an SSE stream; a client that takes
    // neither (a browser's `text/html`) cannot be answered.
    if transport::Accept::parse(seen.accept.and_then(|v| v.to_str().ok())).response_format().is_none() {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "Accept must admit application/json or text/event-stream",
        );
    }
    let message = match Payload::read(&bytes) {
        Ok(m) => m,
        Err(e) => {
            return http_error(StatusCode::BAD_REQUEST, code::PARSE_ERROR, format!("parse error: {e}"));
        }
    };
    if !caller.may_call_tools() && calls_tool(&message) {
        return caller::Challenge { state, transport: "mcp", org, slug }.insufficient_scope();
    }
    if caller.grant.is_none() && !caller.key_id.is_empty() {
        state.plane.keys.record_use(&caller.key_id);
    }
    let sse = prefers_sse(seen.accept);

    // A session id decides the revision for everything that follows initialize.
    if let Some(id) = seen.session {
        let opened = match open_session(state, &entry, &caller, id).await {
            Ok(s) => s,
            Err(response) => return response,
        };
        let session = &opened.session;
        // transports § Protocol Version Header: an invalid or unsupported version is 400. The
        // header SHOULD be the negotiated one; another supported stateful revision is tolerated
        // (as the reference SDK does), and the session's own revision governs the answer.
        if let Some(v) = seen.version.and_then(|v| v.to_str().ok()) {
            if !router::ALL.contains(&v) || v == STATELESS {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    code::INVALID_REQUEST,
                    format!(
                        "unsupported MCP-Protocol-Version {v} for a session (this one speaks {})",
                        session.v
                    ),
                );
            }
        }
        let message = match message {
            Payload::One(envelope) => match streamable_call(&entry, envelope, accepts_sse(&headers)) {
                SessionMessage::Streamed(call) => {
                    let mut ctx = CallCtx::for_session(&opened);
                    ctx.request_bytes = Some(bytes.len());
                    // Inline: ~1.2 KB, its large parts boxed within.
                    return stream_call(state.clone(), entry, session.v.clone(), ctx, call, true).await;
                }
                SessionMessage::Other(envelope) => envelope.into_value(),
            },
            Payload::Other(value) => value,
        };
        return Box::pin(stateful(state, &entry, &opened, message, sse)).await;
    }
    let Payload::One(envelope) = message else {
        return http_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "expected a JSON-RPC request (batches need a 2025-03-26 session)",
        );
    };
    if !envelope.is_v2() {
        return http_error(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, "not a JSON-RPC 2.0 message");
    }
    if envelope.method() == Some("initialize") {
        return Box::pin(initialize(state, &entry, &caller, &envelope, sse)).await;
    }
    let header_version = seen.version.and_then(|v| v.to_str().ok());
    if meta_version(envelope.params.as_ref()).is_some() || header_version == Some(STATELESS) {
        return stateless(state, &entry, &caller, (&headers, &seen), envelope, sse, bytes.len()).await;
    }
    if header_version.is_none() {
        return sessionless(state, &entry, &caller, envelope, sse).await;
    }
    http_error(
        StatusCode::BAD_REQUEST,
        code::INVALID_REQUEST,
        "no Mcp-Session-Id: send initialize first, or use protocol 2026-07-28 with _meta",
    )
}

/// The revision a 2026-07-28 request names in `params._meta`.
fn meta_version(params: Option<&Value>) -> Option<&str> {
    params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str)
}

/// The code of the error a call cancelled by the client ends with (never sent to it).
const CANCELLED: i64 = -32800;

/// Whether the client accepts an SSE response (it may then get one even if it also takes JSON).
fn accepts_sse(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// `GET /mcp/{org}/{server}`: the standalone SSE stream of a stateful session (HTTP-tool
/// servers send nothing on it but keep-alives); 405 without a session (2026-07-28 has none).
pub async fn get(
    State(state): State<AppState>,
    Path((org, slug)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !origin_allowed(&state, &headers) {
        return http_error(StatusCode::FORBIDDEN, code::INVALID_REQUEST, "Origin not allowed");
    }
    let Some(id) = headers.get(SESSION_HEADER).cloned() else {
        return method_not_allowed();
    };
    let (entry, caller) = match authorize_request(&state, &headers, ("mcp", &org, &slug)).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if let Err(response) = open_session(&state, &entry, &caller, &id).await {
        return response;
    }
    // Messages outside any call (list changes, resource updates, upstream requests) and
    // keep-alives; a second GET of the same session replaces this one.
    let hash = crate::crypto::sha256_hex(id.to_str().unwrap_or_default());
    let rx = state.plane.relay.open_stream(&hash, &entry.server.id);
    let events = stream::unfold(rx, |mut rx| async move {
        tokio::select! {
            msg = rx.recv() => {
                let event = transport::sse_event("message", &json_text(&msg?));
                Some((Ok::<_, Infallible>(axum::body::Bytes::from(event)), rx))
            }
            _ = tokio::time::sleep(Duration::from_secs(15)) => {
                Some((Ok(axum::body::Bytes::from_static(b":\n\n")), rx))
            }
        }
    });
    // A draining node ends the stream: the client opens it again through another node.
    let draining = async move { state.lifecycle.drained().await };
    sse_response(Body::from_stream(events.take_until(draining)))
}

/// `DELETE /mcp/{org}/{server}`: ends a session (404 if unknown; 405 without one).
pub async fn delete(
    State(state): State<AppState>,
    Path((org, slug)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !origin_allowed(&state, &headers) {
        return http_error(StatusCode::FORBIDDEN, code::INVALID_REQUEST, "Origin not allowed");
    }
    let Some(id) = headers.get(SESSION_HEADER).cloned() else {
        return method_not_allowed();
    };
    let (entry, caller) = match authorize_request(&state, &headers, ("mcp", &org, &slug)).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let session = match open_session(&state, &entry, &caller, &id).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    match state.plane.sessions.end(state.store.as_ref(), &session).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn method_not_allowed() -> Response {
    let mut r = http_error(StatusCode::METHOD_NOT_ALLOWED, code::INVALID_REQUEST, "method not allowed");
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

/// Any other method on the endpoint.
pub async fn other(method: Method) -> Response {
    let _ = method;
    method_not_allowed()
}
