//! What every MCP method handler works with: a request's context besides its params
//! ([`CallCtx`]), the one way to relay it to an attached upstream ([`relay`]), and the one way
//! a result is finished for the client's revision ([`finish_result`]).

use gatehouse_mcp::jsonrpc::{RpcError, code};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::app::AppState;
use crate::gateway::connect_first;
use crate::gateway::upstream::call;
use crate::plane::directory::ServerEntry;
use crate::upstream::{CallSink, UpstreamError};

/// What a request carries besides its params: whose session it is (upstream sessions follow
/// it), where what the upstream sends during the call goes, and how the client cancels it.
#[derive(Default)]
pub struct CallCtx {
    /// SHA-256 of the client's `Mcp-Session-Id` (stateful revisions only).
    pub session: Option<String>,
    /// Receives progress, logging and upstream requests while a relayed call runs.
    pub sink: Option<CallSink>,
    /// Fires when the client cancels the request.
    pub cancel: Option<oneshot::Receiver<String>>,
    /// The caller's API key id (empty in dev mode without a key): per-key rate limits.
    pub key: String,
    /// The size of the client's message, when it came alone in its body: counted as the call's
    /// bytes in, rather than its params serialised once more to be measured.
    pub request_bytes: Option<usize>,
    /// The client of this stateful session declared URL-mode elicitation.
    pub url_elicitation: bool,
}

impl CallCtx {
    /// The context of a request in a stateful session, named by the SHA-256 of its id
    /// ([`crate::plane::session::OpenedSession::hash`], computed once per id and node).
    pub fn for_session(opened: &crate::plane::session::OpenedSession) -> Self {
        Self {
            session: Some(opened.hash.clone()),
            key: opened.session.k.clone(),
            url_elicitation: opened.session.u,
            ..Self::default()
        }
    }

    /// The context of a request without a session.
    pub fn for_key(key: &str) -> Self {
        Self { key: key.to_string(), ..Self::default() }
    }
}

/// Shapes a result for `version` and stamps the server's identity on it (2026-07-28): what
/// every result goes through, tools/list's spliced text included.
pub fn finish_result(entry: &ServerEntry, version: &str, method: &str, result: &mut Value) {
    if let Some(v) = gatehouse_mcp::ProtocolVersion::parse(version) {
        let options = gatehouse_mcp::shape::ShapeOptions::default();
        let _ = gatehouse_mcp::shape::render_result(result, v, method, &options);
        gatehouse_mcp::shape::stamp_server_info_json(result, v, &entry.server_info);
    }
}

/// Sends a request to one of the server's upstreams, mapping failures to JSON-RPC errors: the
/// upstream's own errors pass through; transport failures are -32603 naming the upstream. A
/// per-person upstream's caller who has not connected their account is asked to
/// ([`connect_first`]), and a tool call made again once they have.
pub async fn relay(
    state: &AppState,
    entry: &ServerEntry,
    upstream: usize,
    ctx: &mut CallCtx,
    method: &str,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
    let attached = &entry.upstreams[upstream];
    // Kept only where the call may be made again once the person connects.
    let connectable = attached.spec.per_user && !attached.spec.exchanged;
    let again = (connectable && connect_first::may_wait(ctx, method, &params)).then(|| params.clone());
    let person = match exchange(state, entry, upstream, ctx, method, params).await {
        Err(UpstreamError::NotConnected(person)) => person.is_some(),
        Err(UpstreamError::Withheld(tool)) if method == "tools/call" => {
            let message = UpstreamError::Withheld(tool).to_string();
            return Ok(serde_json::json!({"content": [{"type": "text", "text": message}], "isError": true}));
        }
        other => return other.map_err(|e| rpc_error(attached, e)),
    };
    if let Some(params) = again.filter(|_| person) {
        if connect_first::ask_and_wait(state, entry, upstream, ctx).await {
            match exchange(state, entry, upstream, ctx, method, params).await {
                Err(UpstreamError::NotConnected(_)) => {}
                other => return other.map_err(|e| rpc_error(attached, e)),
            }
        }
    }
    connect_first::not_connected(state, entry, upstream, ctx, method, person).await
}

/// One exchange with the upstream for the caller.
async fn exchange(
    state: &AppState,
    entry: &ServerEntry,
    upstream: usize,
    ctx: &mut CallCtx,
    method: &str,
    params: Map<String, Value>,
) -> Result<Value, UpstreamError> {
    let attached = &entry.upstreams[upstream];
    let call = call::Call {
        session: ctx.session.as_deref(),
        key: &ctx.key,
        sink: ctx.sink.clone(),
        cancel: ctx.cancel.take(),
    };
    // Boxed: the upstream exchange's future is kilobytes, and inline it would size every future
    // that may relay (tools_call, handle_inner, answer, the endpoint's), HTTP-tool calls included,
    // which are then moved into their boxes whole on every request.
    Box::pin(call::call(state, &attached.spec, call, method, Value::Object(params))).await
}

fn rpc_error(attached: &crate::plane::directory::AttachedUpstream, e: UpstreamError) -> RpcError {
    match e {
        UpstreamError::Rpc { code, message, data } => RpcError { status: 200, code, message, data },
        other => RpcError::new(code::INTERNAL_ERROR, format!("upstream {}: {other}", attached.name)),
    }
}
