//! How the endpoint answers: JSON-RPC errors before an id is known, a message as JSON or as
//! one SSE event, a session's `tools/list` from its cached text, and the SSE response itself.

use super::*;

/// An answer before any JSON-RPC id is known. The id is left out rather than `null`: since
/// 2025-11-25 the schema makes it optional on errors (`JSONRPCErrorResponse`), and no revision's
/// schema admits `null`.
pub(in crate::gateway) fn http_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = json!({"jsonrpc": "2.0", "error": {"code": code, "message": message.into()}});
    (status, axum::Json(body)).into_response()
}

pub(super) fn rpc_response(status: u16, message: Value, sse: bool, session: Option<&str>) -> Response {
    rpc_response_text(status, json_text(&message), sse, session)
}

/// A message as JSON text. (`serde_json::to_string` writes into a buffer; `Value`'s `Display`,
/// which `to_string()` would use, goes through the formatting machinery and costs twice as much.)
pub(in crate::gateway) fn json_text(message: &Value) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// [`rpc_response`] of a message already serialised.
pub(super) fn rpc_response_text(status: u16, message: String, sse: bool, session: Option<&str>) -> Response {
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

/// The response message of a tools/list: the result's text (`tools::tools_list_json`) in its
/// envelope, keys in the order a serialised message has them.
pub(super) fn list_message(id: &Value, result: &str) -> String {
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
pub(super) fn session_list(message: &Value) -> Option<(&Value, Option<&Map<String, Value>>)> {
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
pub(super) fn prefers_sse(accept: Option<&HeaderValue>) -> bool {
    transport::prefers_sse(accept.and_then(|v| v.to_str().ok()).unwrap_or(""))
}

pub(super) fn sse_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert(NO_PROXY_BUFFERING, HeaderValue::from_static("no"));
    response
}
