//! What every MCP method handler works with: a request's context besides its params
//! ([`CallCtx`]), the one way to relay it to an attached upstream ([`relay`]), and the one way
//! a result is finished for the client's revision ([`finish_result`]).

use gatehouse_mcp::jsonrpc::{RpcError, code};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::app::AppState;
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
}

impl CallCtx {
    /// The context of a request in a stateful session, named by the SHA-256 of its id
    /// ([`crate::plane::session::OpenedSession::hash`], computed once per id and node).
    pub fn for_session(session_hash: Option<&str>, key: &str) -> Self {
        Self { session: session_hash.map(str::to_string), key: key.to_string(), ..Self::default() }
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
/// upstream's own errors pass through; transport failures are -32603 naming the upstream.
pub async fn relay(
    state: &AppState,
    entry: &ServerEntry,
    upstream: usize,
    ctx: &mut CallCtx,
    method: &str,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
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
    let exchange = Box::pin(call::call(state, &attached.spec, call, method, Value::Object(params)));
    match exchange.await {
        Ok(result) => Ok(result),
        Err(UpstreamError::Rpc { code, message, data }) => Err(RpcError { status: 200, code, message, data }),
        Err(UpstreamError::NotConnected(person)) => {
            let message = connect_first(state, entry, upstream, person.is_some());
            // A tool's caller reads a tool result; other requests can only fail.
            if method == "tools/call" {
                Ok(serde_json::json!({"content": [{"type": "text", "text": message}], "isError": true}))
            } else {
                Err(RpcError::new(code::INVALID_REQUEST, message))
            }
        }
        Err(other) => {
            Err(RpcError::new(code::INTERNAL_ERROR, format!("upstream {}: {other}", attached.name)))
        }
    }
}

/// What a caller of a per-person upstream is told before they connected their account: where
/// to connect it (a console page that signs them in first, so the link is no one else's to
/// use), or that an API key is no person.
fn connect_first(state: &AppState, entry: &ServerEntry, upstream: usize, person: bool) -> String {
    let attached = &entry.upstreams[upstream];
    if !person {
        return format!(
            "{} is reached with each person's own account, and an API key is no person: connect this client by signing in (OAuth) to use it.",
            attached.name
        );
    }
    format!(
        "Connect your {name} account to use this: open {url}, authorize {name}, then call again.",
        name = attached.name,
        url = connect_url(state, &entry.server.org_id, &attached.spec.id)
    )
}

/// The console page where a person connects their account to an upstream.
pub fn connect_url(state: &AppState, org_id: &str, upstream_id: &str) -> String {
    let base = state.config.public_url.trim_end_matches('/');
    format!("{base}{}", crate::gateway::upstream::personal::connect_path(org_id, upstream_id))
}
