//! The Streamable HTTP endpoint `/mcp/{org}/{server}`: one URL for every revision.
//!
//! Which revision a POST speaks is decided per request (see `docs/PROTOCOL.md`):
//! an `Mcp-Session-Id` means the stateful revision sealed in it; `initialize` starts a stateful
//! session; a request whose `_meta` carries `io.modelcontextprotocol/protocolVersion` (or that
//! declares `MCP-Protocol-Version: 2026-07-28`) is stateless 2026-07-28; anything else lacks a
//! session and is refused. This file does HTTP only; methods live in [`super::router`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::{Map, Value, json};

use super::directory::ServerEntry;
use gatehouse_mcp::jsonrpc::{Envelope, Payload, ToolCall, is_id, result_message};
use gatehouse_mcp::{transport, version};

use super::bridge;
use super::directory::{ToolEntry, ToolTarget};
use super::request_headers::RequestHeaders;
use super::router::{self, CallCtx, RpcError, STATELESS, code};
use super::session::{OpenedSession, Session};
use crate::app::AppState;
use crate::body::{is_json_type, read_body_declared};
use crate::config::Mode;
use crate::domain::time;
use crate::error::ApiError;

/// Header carrying the session id. (Header names are kept parsed: a lookup by `&str` parses
/// the name again each time.)
pub const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
/// Tells nginx-like proxies not to buffer an SSE response.
pub(super) const NO_PROXY_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
/// Header carrying the protocol revision.
pub const VERSION_HEADER: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// Header carrying the API key.
pub(super) const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");
/// The 2026-07-28 standard headers every request carries ([`RequestHeaders::text`]).
pub(super) const MCP_METHOD_HEADER: HeaderName = HeaderName::from_static("mcp-method");
pub(super) const MCP_NAME_HEADER: HeaderName = HeaderName::from_static("mcp-name");

/// An answer before any JSON-RPC id is known. The id is left out rather than `null`: since
/// 2025-11-25 the schema makes it optional on errors (`JSONRPCErrorResponse`), and no revision's
/// schema admits `null`.
pub(super) fn http_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = json!({"jsonrpc": "2.0", "error": {"code": code, "message": message.into()}});
    (status, axum::Json(body)).into_response()
}

fn rpc_response(status: u16, message: Value, sse: bool, session: Option<&str>) -> Response {
    rpc_response_text(status, json_text(&message), sse, session)
}

/// A message as JSON text. (`serde_json::to_string` writes into a buffer; `Value`'s `Display`,
/// which `to_string()` would use, goes through the formatting machinery and costs twice as much.)
pub(super) fn json_text(message: &Value) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// [`rpc_response`] of a message already serialised.
fn rpc_response_text(status: u16, message: String, sse: bool, session: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = if sse {
        let event = transport::sse_event("message", &message);
        let mut r = (status, event).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r.headers_mut().insert(NO_PROXY_BUFFERING, HeaderValue::from_static("no"));
        r
    } else {
        let mut r = (status, message).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    if let Some(id) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        response.headers_mut().insert(SESSION_HEADER, id);
    }
    response
}

/// The response message of a tools/list: the result's text (`router::tools_list_json`) in its
/// envelope, keys in the order a serialised message has them.
fn list_message(id: &Value, result: &str) -> String {
    let id = json_text(id);
    let mut text = String::with_capacity(result.len() + id.len() + 40);
    text.push_str("{\"id\":");
    text.push_str(&id);
    text.push_str(",\"jsonrpc\":\"2.0\",\"result\":");
    text.push_str(result);
    text.push('}');
    text
}

/// A session's message when it is a well-formed tools/list request (its id and params): then it
/// is answered from the directory's text, with what [`one_stateful`] would answer.
fn session_list(message: &Value) -> Option<(&Value, Option<&Map<String, Value>>)> {
    let obj = message.as_object()?;
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0")
        || obj.get("method").and_then(Value::as_str) != Some("tools/list")
    {
        return None;
    }
    let id = obj.get("id").filter(|id| is_id(id))?;
    match obj.get("params") {
        None | Some(Value::Null) => Some((id, None)),
        Some(Value::Object(p)) => Some((id, Some(p))),
        Some(_) => None,
    }
}

/// Whether to answer with SSE rather than JSON ([`transport::prefers_sse`]), per the first
/// `Accept` value.
fn prefers_sse(accept: Option<&HeaderValue>) -> bool {
    transport::prefers_sse(accept.and_then(|v| v.to_str().ok()).unwrap_or(""))
}

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

/// Who is calling, per the API key.
pub(super) struct Caller {
    pub(super) key_id: String,
}

/// Resolves the server and checks the API key (dev mode needs none).
pub(super) async fn authorize_request(
    state: &AppState,
    headers: &HeaderMap,
    org: &str,
    slug: &str,
) -> Result<(Arc<ServerEntry>, Caller), Response> {
    authorize(state, api_key(headers.get(API_KEY_HEADER), headers.get(header::AUTHORIZATION)), org, slug)
        .await
}

/// [`authorize_request`] of the key the request presents.
async fn authorize(
    state: &AppState,
    key: Option<&str>,
    org: &str,
    slug: &str,
) -> Result<(Arc<ServerEntry>, Caller), Response> {
    let dev = match state.mode().await {
        Ok(Some(mode)) => mode == Mode::Dev,
        Ok(None) => return Err(ApiError::NotInitialized.into_response()),
        Err(err) => return Err(err.into_response()),
    };
    let unauthorized = |message: &str| http_error(StatusCode::UNAUTHORIZED, code::INVALID_REQUEST, message);
    // The key is checked before the server is looked up, so callers without a valid key learn
    // nothing about which servers exist.
    let key = match key {
        None if dev => None,
        None => return Err(unauthorized("missing API key: send X-API-Key")),
        Some(raw) => {
            let info = state
                .gateway
                .keys
                .verify(state.store.as_ref(), raw)
                .await
                .map_err(|e| ApiError::from(e).into_response())?;
            Some(info.ok_or_else(|| unauthorized("invalid API key for this server"))?)
        }
    };
    let entry = state
        .gateway
        .directory
        .get(state.store.as_ref(), &state.master_key, org, slug)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .ok_or_else(|| http_error(StatusCode::NOT_FOUND, code::INVALID_REQUEST, "no such MCP server"))?;
    let caller = match key {
        None => Caller { key_id: String::new() },
        Some(info) if info.server_id == entry.server.id => Caller { key_id: info.key_id.clone() },
        Some(_) => return Err(unauthorized("invalid API key for this server")),
    };
    if entry.disabled() {
        return Err(http_error(StatusCode::FORBIDDEN, code::INVALID_REQUEST, "this MCP server is disabled"));
    }
    Ok((entry, caller))
}

/// The API key: `X-API-Key`, or `Authorization: Bearer mcp_…` for clients that only send that.
fn api_key<'a>(
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
    let (entry, caller) = match authorize(state, api_key(seen.api_key, seen.authorization), org, slug).await {
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
    // A stateless tools/call to a server with HTTP tools is read without a tree for its params
    // (`ToolCall`); one of an HTTP tool is answered straight away, any other goes on as the
    // general way reads it. (A server of upstream tools only is read the general way at once:
    // its calls would only pay for the short reading and then the general form made from it.)
    let short = match seen.session {
        None if !entry.tools.is_empty() => std::str::from_utf8(&bytes).ok().and_then(ToolCall::read),
        _ => None,
    };
    let message = match short {
        Some(call) => {
            if call.meta_version.as_deref() == Some(STATELESS) {
                if let Some(ToolTarget::Http(tool)) = entry.target(&call.name) {
                    if !caller.key_id.is_empty() {
                        state.gateway.keys.record_use(&caller.key_id);
                    }
                    let sse = prefers_sse(seen.accept);
                    return stateless_http_tool(state, &entry, &caller, &seen, call, tool, sse, bytes.len())
                        .await;
                }
            }
            Payload::One(call.into_envelope())
        }
        None => match Payload::read(&bytes) {
            Ok(m) => m,
            Err(e) => {
                return http_error(StatusCode::BAD_REQUEST, code::PARSE_ERROR, format!("parse error: {e}"));
            }
        },
    };
    if !caller.key_id.is_empty() {
        state.gateway.keys.record_use(&caller.key_id);
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
                    let mut ctx = CallCtx::for_session(Some(&opened.hash), &session.k);
                    ctx.request_bytes = Some(bytes.len());
                    // Inline: ~1.2 KB, its large parts boxed within.
                    return stream_call(state.clone(), entry, session.v.clone(), ctx, call, true).await;
                }
                SessionMessage::Other(envelope) => envelope.into_value(),
            },
            Payload::Other(value) => value,
        };
        return Box::pin(stateful(state, &entry, &session.v, &opened.hash, &session.k, message, sse)).await;
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

/// A request relayed to an upstream, answered as a stream.
pub(super) struct StreamedCall {
    id: Value,
    method: String,
    params: Map<String, Value>,
}

/// A message within a session: a call to stream, or anything else.
enum SessionMessage {
    /// It goes to an upstream and the client takes SSE: the upstream may send progress,
    /// logging or requests of its own before the result.
    Streamed(StreamedCall),
    /// Everything else, for [`stateful`].
    Other(Envelope),
}

/// Sorts a session's message; a streamed call's params are moved out, not copied.
fn streamable_call(entry: &ServerEntry, message: Envelope, accepts_sse: bool) -> SessionMessage {
    let streams = accepts_sse
        && !entry.upstreams.is_empty()
        && message.is_v2()
        && message.id.as_ref().is_some_and(is_id)
        && match (message.method(), message.params_object()) {
            (Some(method), Some(params)) => relays(entry, method, params),
            _ => false,
        };
    match message {
        Envelope {
            id: Some(id),
            method: Some(Value::String(method)),
            params: Some(Value::Object(params)),
            ..
        } if streams => SessionMessage::Streamed(StreamedCall { id, method, params }),
        other => SessionMessage::Other(other),
    }
}

/// Whether a request goes to an upstream (and may stream what the upstream sends meanwhile).
fn relays(entry: &ServerEntry, method: &str, params: &Map<String, Value>) -> bool {
    match method {
        "tools/call" => params
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| matches!(entry.target(name), Some(ToolTarget::Upstream(_)))),
        "prompts/get" | "resources/read" | "completion/complete" => true,
        _ => false,
    }
}

/// Answers a relayed request as an SSE stream: what the upstream sends during the call
/// (progress, logging, its own requests with gateway ids), then the response.
/// (basic/transports § Sending Messages to the Server: the server MAY send requests and
/// notifications related to the request before the response.)
async fn stream_call(
    state: AppState,
    entry: Arc<ServerEntry>,
    version: String,
    mut ctx: CallCtx,
    call: StreamedCall,
    can_ask: bool,
) -> Response {
    let (sink_tx, mut sink_rx) = tokio::sync::mpsc::unbounded_channel();
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel::<Relayed>();
    let relay_key = ctx.session.clone().unwrap_or_default();
    let leave = match &ctx.session {
        Some(session) => {
            ctx.cancel = Some(state.gateway.relay.register_call(session, &call.id));
            Leave::Finish
        }
        None => {
            let (cancel, cancelled) = super::relay::CancelOnDrop::new();
            ctx.cancel = Some(cancelled);
            Leave::Cancel(cancel)
        }
    };
    ctx.sink = Some(sink_tx);
    let task = async move {
        let relay = &state.gateway.relay;
        let session = ctx.session.clone();
        // Boxed: the spawned future stays small (see `bridge::start`).
        let handled =
            Box::pin(router::handle(&state, &entry, &version, &mut ctx, &call.method, &call.params));
        let reply = relay.drive(&relay_key, can_ask, &mut sink_rx, handled, &Notes(&out_tx)).await;
        if let Some(session) = &session {
            relay.finish_call(session, &call.id);
        }
        let message = match reply {
            Ok(result) => gatehouse_mcp::jsonrpc::result_message_text(&call.id, &result),
            // basic/utilities/cancellation: no response for a request the client cancelled.
            Err(err) if err.code == CANCELLED => return,
            Err(err) => json_text(&err.to_message(call.id)),
        };
        let _ = out_tx.send(Relayed::Answer(message));
    };
    relayed_response(task, out_rx, leave).await
}

/// A relayed request of a 2026-07-28 client: the upstream's requests become `input_required`
/// rounds ([`bridge`]); notifications stream first when the client takes SSE.
async fn bridged(
    state: AppState,
    entry: Arc<ServerEntry>,
    key_id: String,
    call: StreamedCall,
    sse: bool,
    request_bytes: usize,
) -> Response {
    let to_message = |id: Value, reply: Result<Value, RpcError>| match reply {
        Ok(result) => gatehouse_mcp::jsonrpc::result_message_text(&id, &result),
        Err(err) => json_text(&err.to_message(id)),
    };
    if !sse {
        let (method, params, bytes) = (&call.method, call.params, Some(request_bytes));
        let reply = bridge::run(&state, &entry, &key_id, method, params, bytes, &mut |_| {}).await;
        return rpc_response_text(200, to_message(call.id, reply), false, None);
    }
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel::<Relayed>();
    let task = async move {
        let notes = out_tx.clone();
        let mut on_note = move |msg: Value| {
            let _ = notes.send(Relayed::Note(msg));
        };
        let bytes = Some(request_bytes);
        let run = bridge::run(&state, &entry, &key_id, &call.method, call.params, bytes, &mut on_note);
        let reply = run.await;
        let _ = out_tx.send(Relayed::Answer(to_message(call.id, reply)));
    };
    // Dropping `bridge::run` drops its parked call, which cancels the upstream call.
    relayed_response(task, out_rx, Leave::Drop).await
}

/// What a relayed call's task passes to the response: messages the upstream sent during the
/// call, then the answer as text (none when the client cancelled the call).
enum Relayed {
    Note(Value),
    Answer(String),
}

/// The notes half of a relayed call's channel, as [`crate::gateway::relay::Relay::drive`]
/// takes it.
struct Notes<'a>(&'a tokio::sync::mpsc::UnboundedSender<Relayed>);

impl super::relay::Outlet for Notes<'_> {
    async fn put(&self, msg: Value) {
        let _ = self.0.send(Relayed::Note(msg));
    }
}

/// A relayed call's task, run in place by the response that carries its messages: in the
/// request's own task, no spawn and no hand-over between tasks per call. What happens when the
/// response is dropped before the task ends (the client went away) is its [`Leave`].
struct InPlace {
    task: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    leave: Leave,
}

/// What a relayed call does when its client goes away before the answer.
enum Leave {
    /// Runs to its end (2024-11-05 … 2025-11-25, basic/transports: a disconnection SHOULD NOT
    /// be read as a cancellation; the client cancels with `notifications/cancelled`).
    Finish,
    /// Is cancelled, then runs on so that it tells the upstream and cleans up (2026-07-28:
    /// the disconnect is the cancellation).
    Cancel(super::relay::CancelOnDrop),
    /// Is dropped: what it drives cancels itself when dropped (the MRTR bridge's call).
    Drop,
}

impl Drop for InPlace {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else { return };
        let spawn = |task| {
            // Outside a runtime (it is shutting down) there is nothing left to finish it on.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(task);
            }
        };
        match std::mem::replace(&mut self.leave, Leave::Drop) {
            Leave::Finish => spawn(task),
            Leave::Cancel(cancel) => {
                drop(cancel);
                spawn(task);
            }
            Leave::Drop => drop(task),
        }
    }
}

impl std::future::Future for InPlace {
    type Output = ();

    /// Runs the task; ready once it has ended.
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let Some(task) = self.task.as_mut() else { return std::task::Poll::Ready(()) };
        let poll = task.as_mut().poll(cx);
        if poll.is_ready() {
            self.task = None;
        }
        poll
    }
}

/// The next message of a relayed call, running its task meanwhile; `None` once the task has
/// ended and everything it passed has been taken.
async fn next_relayed(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Relayed>,
    task: &mut InPlace,
) -> Option<Relayed> {
    tokio::select! {
        biased;
        message = rx.recv() => message,
        // Ended: what it passed is queued, and the channel closed behind it.
        () = task => rx.recv().await,
    }
}

/// The SSE response of a relayed call, which `task` runs, passing what the upstream sends and
/// then the answer through `rx`. When the answer comes before anything else (most calls: no
/// progress, logging or requests from the upstream), it is one whole event with a length,
/// written at once; otherwise the response streams each message as it comes, the answer last,
/// and the stream runs the task as it is read. (A stream costs another write and another
/// wake-up of the client for its end.)
async fn relayed_response(
    task: impl std::future::Future<Output = ()> + Send + 'static,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Relayed>,
    leave: Leave,
) -> Response {
    let mut task = InPlace { task: Some(Box::pin(task)), leave };
    let first = match next_relayed(&mut rx, &mut task).await {
        // The task has ended (the answer is the last thing it sends).
        Some(Relayed::Answer(answer)) => return rpc_response_text(200, answer, true, None),
        Some(Relayed::Note(note)) => json_text(&note),
        // Cancelled by the client: no answer.
        None => return sse_response(Body::empty()),
    };
    let events = stream::unfold((Some(first), Some((rx, task))), |(first, rest)| async move {
        let (msg, rest) = match (first, rest) {
            (Some(first), rest) => (first, rest),
            (None, Some((mut rx, mut task))) => match next_relayed(&mut rx, &mut task).await? {
                Relayed::Note(note) => (json_text(&note), Some((rx, task))),
                // The answer ends the stream.
                Relayed::Answer(answer) => (answer, None),
            },
            (None, None) => return None,
        };
        let event = transport::sse_event("message", &msg);
        Some((Ok::<_, Infallible>(axum::body::Bytes::from(event)), (None, rest)))
    });
    sse_response(Body::from_stream(events))
}

fn sse_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert(NO_PROXY_BUFFERING, HeaderValue::from_static("no"));
    response
}

async fn open_session(
    state: &AppState,
    entry: &ServerEntry,
    caller: &Caller,
    id: &HeaderValue,
) -> Result<Arc<OpenedSession>, Response> {
    let not_found = || {
        http_error(
            StatusCode::NOT_FOUND,
            code::INVALID_REQUEST,
            "session not found or ended: initialize again",
        )
    };
    let id = id.to_str().map_err(|_| not_found())?;
    let opened = state.gateway.sessions.open(&state.master_key, id, time::now_ms()).ok_or_else(not_found)?;
    // A session belongs to the server and the key that opened it.
    if opened.session.s != entry.server.id || (opened.session.k != caller.key_id) {
        return Err(not_found());
    }
    match state.gateway.sessions.is_ended(state.store.as_ref(), &opened.hash).await {
        Ok(false) => Ok(opened),
        Ok(true) => Err(not_found()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

async fn initialize(
    state: &AppState,
    entry: &ServerEntry,
    caller: &Caller,
    message: &Envelope,
    sse: bool,
) -> Response {
    let Some(id) = message.id.as_ref().filter(|id| is_id(id)).cloned() else {
        return http_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "initialize must be a request with an id",
        );
    };
    let requested = message.params.as_ref().and_then(|p| p.get("protocolVersion")).and_then(Value::as_str);
    let version = router::negotiate(requested);
    let session = Session {
        o: entry.server.org_id.clone(),
        s: entry.server.id.clone(),
        k: caller.key_id.clone(),
        v: version.to_string(),
        t: time::now_ms(),
    };
    let session_id = session.mint(&state.master_key);
    let result = router::initialize_result(entry, version);
    rpc_response(200, result_message(id, result), sse, Some(&session_id))
}

/// Most messages in one batch.
pub const MAX_BATCH: usize = 100;
/// Most messages in one batch that reach a tool, a prompt, a resource or an upstream: each
/// costs an outbound request, so one body must not turn into thousands of them.
pub const MAX_BATCH_CALLS: usize = 10;

/// Whether a batch is small enough to answer, and if not, why.
fn batch_within_bounds(items: &[Value]) -> Result<(), String> {
    if items.len() > MAX_BATCH {
        return Err(format!("batch of {} messages; at most {MAX_BATCH} are accepted", items.len()));
    }
    let calls = items
        .iter()
        .filter(|m| {
            matches!(
                m.get("method").and_then(Value::as_str),
                Some("tools/call" | "prompts/get" | "resources/read" | "completion/complete")
            )
        })
        .count();
    if calls > MAX_BATCH_CALLS {
        return Err(format!(
            "batch with {calls} tools/call, prompts/get, resources/read or completion/complete; at most \
             {MAX_BATCH_CALLS} are accepted in one batch"
        ));
    }
    Ok(())
}

/// Requests within a stateful session (batches allowed in 2025-03-26 only, and bounded).
async fn stateful(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    session_hash: &str,
    key: &str,
    message: Value,
    sse: bool,
) -> Response {
    let session = None;
    match message {
        Value::Array(items) => {
            if !version::allows_batches(version) {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    code::INVALID_REQUEST,
                    format!("batches are not supported in {version}"),
                );
            }
            if items.is_empty() {
                return http_error(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, "empty batch");
            }
            if let Err(why) = batch_within_bounds(&items) {
                return http_error(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, why);
            }
            let mut replies = Vec::new();
            for item in items {
                if let Some(reply) = one_stateful(state, entry, version, Some(session_hash), key, item).await
                {
                    replies.push(reply.1);
                }
            }
            if replies.is_empty() {
                return StatusCode::ACCEPTED.into_response();
            }
            rpc_response(200, Value::Array(replies), sse, session)
        }
        single => {
            if let Some((id, params)) = session_list(&single) {
                let empty = Map::new();
                return match router::tools_list_json(entry, version, params.unwrap_or(&empty)) {
                    Ok(result) => rpc_response_text(200, list_message(id, &result), sse, session),
                    Err(err) => rpc_response(err.status, err.to_message(id.clone()), sse, session),
                };
            }
            match one_stateful(state, entry, version, Some(session_hash), key, single).await {
                None => StatusCode::ACCEPTED.into_response(),
                Some((status, reply)) => rpc_response(status, reply, sse, session),
            }
        }
    }
}

/// One message of a stateful session (named by its id's hash); `None` for notifications and
/// client responses.
pub(super) async fn one_stateful(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    session_hash: Option<&str>,
    key: &str,
    message: Value,
) -> Option<(u16, Value)> {
    one_stateful_in(state, entry, version, CallCtx::for_session(session_hash, key), message).await
}

/// [`one_stateful`] with a prepared context (a sink for what upstreams send meanwhile).
pub(super) async fn one_stateful_in(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    mut ctx: CallCtx,
    message: Value,
) -> Option<(u16, Value)> {
    let Some(obj) = message.as_object().filter(|o| o.get("jsonrpc").and_then(Value::as_str) == Some("2.0"))
    else {
        return Some((
            400,
            RpcError::new(code::INVALID_REQUEST, "not a JSON-RPC 2.0 message").to_message(Value::Null),
        ));
    };
    let hash = ctx.session.clone();
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // The answer to a request an upstream made, relayed to this client earlier.
        if let Some(hash) = &hash {
            state.gateway.relay.from_client(hash, &message);
        }
        return None;
    };
    let Some(id) = obj.get("id").cloned() else {
        // A notification; a cancellation follows the request to its upstream.
        if let (Some(hash), "notifications/cancelled") = (&hash, method) {
            let params = obj.get("params");
            if let Some(request) = params.and_then(|p| p.get("requestId")) {
                let reason =
                    params.and_then(|p| p.get("reason")).and_then(Value::as_str).unwrap_or("cancelled");
                state.gateway.relay.cancel(hash, request, reason);
            }
        }
        return None;
    };
    if !is_id(&id) {
        return Some((
            400,
            RpcError::new(code::INVALID_REQUEST, "id must be a string or an integer").to_message(Value::Null),
        ));
    }
    let method = method.to_string();
    let Value::Object(mut obj) = message else { return None };
    // The params are taken out, not copied: they may be large and are passed on as they are.
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Some((
                200,
                RpcError::new(code::INVALID_PARAMS, "params must be an object").to_message(id),
            ));
        }
    };
    if method == "initialize" {
        return Some((
            200,
            RpcError::new(code::INVALID_REQUEST, "this session is already initialized").to_message(id),
        ));
    }
    Some(match router::handle(state, entry, version, &mut ctx, &method, &params).await {
        Ok(result) => (200, result_message(id, result)),
        Err(err) => (err.status, err.to_message(id)),
    })
}

/// A stateless 2026-07-28 request (transports § Request Metadata, § Server Validation); its
/// headers as the map and as read in one pass.
async fn stateless(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    caller: &Caller,
    (headers, seen): (&HeaderMap, &RequestHeaders<'_>),
    message: Envelope,
    sse: bool,
    request_bytes: usize,
) -> Response {
    let Envelope { id: given_id, method, params, .. } = message;
    let Some(Value::String(method)) = method else {
        return http_error(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, "expected a JSON-RPC request");
    };
    let method = method.as_str();
    // The params are taken out, not copied: they may be large and are passed on as they are.
    let params = match params {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            // basic § Requests: params, when present, is an object.
            let id = given_id.filter(is_id).unwrap_or(Value::Null);
            let err = RpcError::new(code::INVALID_PARAMS, "params must be an object").with_status(400);
            return rpc_response(400, err.to_message(id), false, None);
        }
    };
    let meta_version =
        params.get("_meta").and_then(|m| m.get(version::META_PROTOCOL_VERSION)).and_then(Value::as_str);
    let notification = given_id.is_none();
    let id = given_id.unwrap_or(Value::Null);
    let mismatch = |message: String| {
        let err = RpcError::new(code::HEADER_MISMATCH, message).with_status(400);
        rpc_response(400, err.to_message(id.clone()), false, None)
    };
    let requested = meta_version.or(seen.text("mcp-protocol-version")).unwrap_or_default();
    if !router::ALL.contains(&requested) || requested != STATELESS {
        let mut err =
            RpcError::new(code::UNSUPPORTED_VERSION, format!("unsupported protocol version {requested:?}"));
        err.data = Some(json!({"supported": [STATELESS], "requested": requested}));
        return rpc_response(400, err.to_message(id), false, None);
    }
    let header = |name: &str| seen.text(name);
    if let Err(message) = transport::check_request_headers(header, method, &params, meta_version) {
        return mismatch(message);
    }
    if notification {
        return StatusCode::ACCEPTED.into_response();
    }
    if !is_id(&id) {
        return http_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "id must be a string or an integer",
        );
    }
    if relays(entry, method, &params) {
        let sse = accepts_sse(headers);
        let mrtr = bridge::supports_mrtr(method);
        if mrtr || sse {
            let call = StreamedCall { id, method: method.to_string(), params };
            // Inline: both keep their large parts in boxes of their own (~1.3 KB each), less
            // than the stateless answer below, which sizes this future.
            if mrtr {
                let key = caller.key_id.clone();
                return bridged(state.clone(), entry.clone(), key, call, sse, request_bytes).await;
            }
            let mut ctx = CallCtx::for_key(&caller.key_id);
            ctx.request_bytes = Some(request_bytes);
            return stream_call(state.clone(), entry.clone(), STATELESS.to_string(), ctx, call, false).await;
        }
    }
    if method == "tools/list" {
        return match router::tools_list_json(entry, STATELESS, &params) {
            Ok(result) => rpc_response_text(200, list_message(&id, &result), sse, None),
            Err(err) => rpc_response(err.status, err.to_message(id), sse && err.status == 200, None),
        };
    }
    let mut ctx = CallCtx::for_key(&caller.key_id);
    // Inline: this is the path the request's one box (`front.rs`) is sized for. The larger
    // branches of this function and of `post_request` are boxed, so that box, moved whole on
    // every request, is as large as this call needs: 4.7 KB, where it was 7.6 KB and this call
    // took a second box of 5.8 KB (memmove 4.1 % → 3.3 % of the gateway's time).
    let (status, text) =
        router::answer(state, entry, STATELESS, &mut ctx, method, &params, &id, request_bytes).await;
    rpc_response_text(status, text, sse && status == 200, None)
}

/// [`stateless`] for a `tools/call` of one of the server's HTTP tools read the short way, its
/// `_meta` naming 2026-07-28: the same checks (the standard headers against the body) and the
/// same answer, with nothing taken out of a params map.
#[allow(clippy::too_many_arguments)]
async fn stateless_http_tool(
    state: &AppState,
    entry: &ServerEntry,
    caller: &Caller,
    headers: &RequestHeaders<'_>,
    call: ToolCall<'_>,
    tool: &ToolEntry,
    sse: bool,
    request_bytes: usize,
) -> Response {
    let header = |name: &str| headers.text(name);
    let named = Some(call.name.as_ref());
    if let Err(message) =
        transport::check_request_headers_named(header, "tools/call", named, call.meta_version.as_deref())
    {
        let err = RpcError::new(code::HEADER_MISMATCH, message).with_status(400);
        return rpc_response(400, err.to_message(call.id), false, None);
    }
    let ctx = CallCtx::for_key(&caller.key_id);
    let arguments = call.arguments.as_ref();
    let (status, text) =
        router::answer_http_tool(state, entry, &ctx, &call.name, tool, arguments, &call.id, request_bytes)
            .await;
    rpc_response_text(status, text, sse && status == 200, None)
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
    let (entry, caller) = match authorize_request(&state, &headers, &org, &slug).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if let Err(response) = open_session(&state, &entry, &caller, &id).await {
        return response;
    }
    // Messages outside any call (list changes, resource updates, upstream requests) and
    // keep-alives; a second GET of the same session replaces this one.
    let hash = crate::crypto::sha256_hex(id.to_str().unwrap_or_default());
    let rx = state.gateway.relay.open_stream(&hash, &entry.server.id);
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
    sse_response(Body::from_stream(events))
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
    let (entry, caller) = match authorize_request(&state, &headers, &org, &slug).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let session = match open_session(&state, &entry, &caller, &id).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    match state.gateway.sessions.end(state.store.as_ref(), &session).await {
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
