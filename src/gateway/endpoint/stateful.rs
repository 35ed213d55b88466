//! Stateful sessions: `initialize` opens one (its id sealed, no store), and the messages of an
//! open session are answered one by one or as a bounded 2025-03-26 batch.

use super::*;

pub(super) async fn open_session(
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
    let opened = state.plane.sessions.open(&state.master_key, id, time::now_ms()).ok_or_else(not_found)?;
    // A session belongs to the server and the key that opened it.
    if opened.session.s != entry.server.id || (opened.session.k != caller.key_id) {
        return Err(not_found());
    }
    match state.plane.sessions.is_ended(state.store.as_ref(), &opened.hash).await {
        Ok(false) => Ok(opened),
        Ok(true) => Err(not_found()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

pub(super) async fn initialize(
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
        u: message
            .params
            .as_ref()
            .and_then(|p| p.get("capabilities"))
            .and_then(|c| c.get("elicitation"))
            .is_some_and(|e| e.get("url").is_some()),
    };
    let session_id = session.mint(&state.master_key);
    let result = router::initialize_result(entry, version);
    rpc_response(200, result_message(id, result), sse, Some(&session_id))
}

/// What a request without a session and without a protocol version is answered in: transports
/// § Protocol Version Header tells servers to assume 2025-03-26 when nothing says otherwise.
pub(super) const ASSUMED: &str = "2025-03-26";

/// A request with neither a session nor a protocol version — the getting-started `tools/list`
/// a person sends with curl and an API key — answered on its own, without a session, in
/// [`ASSUMED`]. What needs a session (server-to-client requests, the GET stream, batches) still
/// needs `initialize`, and clients that initialize get one as before.
pub(super) async fn sessionless(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    caller: &Caller,
    envelope: Envelope,
    sse: bool,
) -> Response {
    let ctx = CallCtx::for_key(&caller.key_id);
    match Box::pin(one_stateful_in(state, entry, ASSUMED, ctx, envelope.into_value())).await {
        Some((status, message)) => rpc_response(status, message, sse, None),
        None => StatusCode::ACCEPTED.into_response(),
    }
}

/// Most messages in one batch.
pub const MAX_BATCH: usize = 100;
/// Most messages in one batch that reach a tool, a prompt, a resource or an upstream: each
/// costs an outbound request, so one body must not turn into thousands of them.
pub const MAX_BATCH_CALLS: usize = 10;

/// Whether a batch is small enough to answer, and if not, why.
pub(super) fn batch_within_bounds(items: &[Value]) -> Result<(), String> {
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
pub(super) async fn stateful(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    opened: &OpenedSession,
    message: Value,
    sse: bool,
) -> Response {
    let version = opened.session.v.as_str();
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
                if let Some(reply) = one_stateful(state, entry, opened, item).await {
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
                return match crate::gateway::tools::tools_list_json(entry, version, params.unwrap_or(&empty))
                {
                    Ok(result) => rpc_response_text(200, list_message(id, &result), sse, session),
                    Err(err) => rpc_response(err.status, err.to_message(id.clone()), sse, session),
                };
            }
            match one_stateful(state, entry, opened, single).await {
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
    opened: &OpenedSession,
    message: Value,
) -> Option<(u16, Value)> {
    one_stateful_in(state, entry, &opened.session.v, CallCtx::for_session(opened), message).await
}

/// [`one_stateful`] with a prepared context (a sink for what upstreams send meanwhile).
pub(in crate::gateway) async fn one_stateful_in(
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
            state.plane.relay.from_client(hash, &message);
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
                state.plane.relay.cancel(hash, request, reason);
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
