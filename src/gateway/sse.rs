//! The legacy HTTP+SSE transport of 2024-11-05 (`GET /sse/{org}/{server}` plus its message
//! endpoint), for clients that predate Streamable HTTP. The stream lives on the node that
//! opened it, so its session is in memory: posts to the message endpoint must reach that node
//! (sticky routing), as with every HTTP+SSE server.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::caller::Challenge;
use super::context::CallCtx;
use super::endpoint::{authorize_request, http_error, one_stateful_in};
use super::router::{self, code};
use crate::app::AppState;
use crate::body::read_body;
use crate::crypto;
use crate::plane::legacy::LegacySession;

/// Removes the session when its stream is dropped (the client went away).
struct Cleanup {
    state: AppState,
    id: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.state.plane.legacy.remove(&self.id);
    }
}

/// `GET /sse/{org}/{server}`: opens the stream; its first event names the message endpoint.
pub async fn open(
    State(state): State<AppState>,
    Path((org, slug)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (entry, caller) = match authorize_request(&state, &headers, ("sse", &org, &slug)).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let id = crypto::new_token("").chars().filter(char::is_ascii_alphanumeric).collect::<String>();
    let (tx, rx) = mpsc::channel::<Value>(64);
    state.plane.legacy.insert(
        id.clone(),
        LegacySession {
            server_id: entry.server.id.clone(),
            key_id: caller.key_id.clone(),
            version: None,
            tx,
            relay_key: crypto::sha256_hex(&id),
        },
    );
    let cleanup = Cleanup { state: state.clone(), id: id.clone() };
    let first = format!("event: endpoint\ndata: /sse/{org}/{slug}/message?sessionId={id}\n\n");
    let messages = tokio_stream_from(rx).map(|m| format!("event: message\ndata: {m}\n\n"));
    let keepalive = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_secs(15)).await;
        Some((":\n\n".to_string(), ()))
    });
    let body = futures_util::stream::once(async move { first })
        .chain(futures_util::stream::select(messages, keepalive))
        .map(move |chunk| {
            let _keep = &cleanup;
            Ok::<_, Infallible>(Bytes::from(chunk))
        })
        // A draining node ends the stream (and with it the session, which lives here).
        .take_until(async move { state.lifecycle.drained().await });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert(super::endpoint::NO_PROXY_BUFFERING, HeaderValue::from_static("no"));
    response
}

fn tokio_stream_from(mut rx: mpsc::Receiver<Value>) -> impl futures_util::Stream<Item = Value> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Query of the message endpoint.
#[derive(serde::Deserialize)]
pub struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// `POST /sse/{org}/{server}/message?sessionId=…`: accepts a message; the answer goes out on
/// the stream.
pub async fn message(
    State(state): State<AppState>,
    Path((org, slug)): Path<(String, String)>,
    Query(q): Query<MessageQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (entry, caller) = match authorize_request(&state, &headers, ("sse", &org, &slug)).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let Some((tx, version, relay_key)) =
        state.plane.legacy.find(&q.session_id, &entry.server.id, &caller.key_id)
    else {
        return http_error(StatusCode::NOT_FOUND, code::INVALID_REQUEST, "unknown SSE session");
    };
    let bytes = match read_body(&headers, body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::INVALID_REQUEST,
                "request body too large",
            );
        }
    };
    let message: Value = match gatehouse_mcp::jsonrpc::from_json_bytes(&bytes) {
        Ok(v) => v,
        Err(e) => return http_error(StatusCode::BAD_REQUEST, code::PARSE_ERROR, format!("parse error: {e}")),
    };
    if !caller.may_call_tools() && message.get("method").and_then(Value::as_str) == Some("tools/call") {
        return Challenge { state: &state, transport: "sse", org: &org, slug: &slug }.insufficient_scope();
    }
    if caller.grant.is_none() && !caller.key_id.is_empty() {
        state.plane.keys.record_use(&caller.key_id);
    }
    let reply = if message.get("method").and_then(Value::as_str) == Some("initialize") {
        let requested = message.get("params").and_then(|p| p.get("protocolVersion")).and_then(Value::as_str);
        let negotiated = router::negotiate(requested);
        state.plane.legacy.set_version(&q.session_id, negotiated);
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        Some(json!({"jsonrpc": "2.0", "id": id, "result": router::initialize_result(&entry, negotiated)}))
    } else {
        // Answered on the stream, not in the POST's response: run it apart, relaying what
        // upstreams send meanwhile (progress, logging, their requests) to the same stream.
        let version = version.unwrap_or_else(|| "2024-11-05".to_string());
        let (sink, mut incoming) = mpsc::unbounded_channel();
        let ctx = CallCtx {
            session: Some(relay_key.clone()),
            sink: Some(sink),
            cancel: None,
            key: caller.key_id.clone(),
            request_bytes: None,
            // The legacy transport is 2024-11-05's, before URL-mode elicitation.
            url_elicitation: false,
        };
        let stream = tx.clone();
        tokio::spawn(async move {
            let relay = &state.plane.relay;
            let call = Box::pin(one_stateful_in(&state, &entry, &version, ctx, message));
            let reply = relay.drive(&relay_key, true, &mut incoming, call, &stream).await;
            if let Some((_, reply)) = reply {
                let _ = stream.send(reply).await;
            }
        });
        None
    };
    if let Some(reply) = reply {
        if tx.send(reply).await.is_err() {
            return http_error(StatusCode::NOT_FOUND, code::INVALID_REQUEST, "the SSE stream is closed");
        }
    }
    StatusCode::ACCEPTED.into_response()
}
