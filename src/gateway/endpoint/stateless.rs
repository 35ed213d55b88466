//! Stateless 2026-07-28 requests: their `_meta` and standard headers checked, answered in one
//! piece.

use super::*;

/// A stateless 2026-07-28 request (transports § Request Metadata, § Server Validation); its
/// headers as the map and as read in one pass.
pub(super) async fn stateless(
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
    let requested = meta_version.or(seen.text(transport::headers::PROTOCOL_VERSION)).unwrap_or_default();
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
        return match crate::gateway::tools::tools_list_json(entry, STATELESS, &params) {
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
