//! The management MCP server at `/api/mcp`: every registry operation offered over
//! MCP is a tool, tools/list is generated from the registry (so it cannot drift from REST), and
//! each tools/call goes through the same [`dispatch::invoke`] as REST, re-checking the token's
//! scopes every time. Gated by `MCP_SERVER_ENABLED`: when off, every method is 404.
//!
//! Transport: Streamable HTTP, one JSON-RPC request per POST answered
//! with one JSON response, no server-initiated stream (GET is 405), no session.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};

use super::dispatch::{self, Call};
use super::registry::Registry;
use crate::app::AppState;
use crate::auth;
use crate::body::{is_json, read_body};
use crate::error::{ApiError, ApiResult};

/// Protocol revisions this endpoint answers; the first is what it prefers.
pub const VERSIONS: &[&str] = &["2025-06-18", "2025-11-25", "2025-03-26", "2024-11-05"];

/// JSON-RPC error codes used here.
mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
}

/// The route, with the registry it serves.
pub fn routes(registry: std::sync::Arc<Registry>) -> Router<AppState> {
    Router::new().route(
        "/api/mcp",
        any(
            move |state: State<AppState>,
                  connect: ConnectInfo<SocketAddr>,
                  method: axum::http::Method,
                  headers: HeaderMap,
                  body: Body| {
                let registry = registry.clone();
                async move {
                    handle(&state, &registry, method, connect.0, headers, body)
                        .await
                        .unwrap_or_else(IntoResponse::into_response)
                }
            },
        ),
    )
}

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

async fn handle(
    state: &AppState,
    registry: &Registry,
    method: axum::http::Method,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    if !state.config.mcp_server_enabled {
        return Err(ApiError::NoRoute("/api/mcp".into()));
    }
    if method != axum::http::Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let mode = state.require_mode().await?;
    let principal = auth::authenticate(state.store.as_ref(), Some(mode), &headers)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the management MCP server needs X-Management-Token".into()))?;
    if let Some(version) = headers.get("mcp-protocol-version").and_then(|v| v.to_str().ok()) {
        if !VERSIONS.contains(&version) {
            let body = rpc_error(
                Value::Null,
                code::INVALID_REQUEST,
                format!("unsupported MCP-Protocol-Version {version}"),
            );
            return Ok((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
        }
    }
    let bytes = read_body(&headers, body, state.config.max_body_bytes).await?;
    if !is_json(&headers) {
        let body = rpc_error(Value::Null, code::INVALID_REQUEST, "expected Content-Type: application/json");
        return Ok((StatusCode::UNSUPPORTED_MEDIA_TYPE, axum::Json(body)).into_response());
    }
    let message: Value = match super::strict_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            let body = rpc_error(Value::Null, code::PARSE_ERROR, format!("parse error: {e}"));
            return Ok((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
        }
    };
    let Some(obj) = message.as_object().filter(|o| o.get("jsonrpc") == Some(&json!("2.0"))) else {
        let body = rpc_error(
            Value::Null,
            code::INVALID_REQUEST,
            "expected one JSON-RPC 2.0 message (batches are not supported)",
        );
        return Ok((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
    };
    let id = obj.get("id").cloned();
    let Some(rpc_method) = obj.get("method").and_then(Value::as_str) else {
        // A response or error from the client: nothing to answer.
        return Ok(StatusCode::ACCEPTED.into_response());
    };
    let Some(id) = id.filter(|id| id.is_string() || id.is_i64() || id.is_u64()) else {
        if obj.contains_key("id") {
            let body = rpc_error(Value::Null, code::INVALID_REQUEST, "id must be a string or an integer");
            return Ok((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
        }
        return Ok(StatusCode::ACCEPTED.into_response()); // a notification
    };
    let params = obj.get("params").cloned().unwrap_or(Value::Object(Map::new()));
    let reply = match rpc_method {
        "initialize" => rpc_result(id, initialize(&params)),
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, json!({"tools": tools(registry)})),
        "tools/call" => match call_tool(state, registry, principal, peer, &params).await {
            Ok(result) => rpc_result(id, result),
            Err((code, message)) => rpc_error(id, code, message),
        },
        other => rpc_error(id, code::METHOD_NOT_FOUND, format!("method not found: {other}")),
    };
    Ok(axum::Json(reply).into_response())
}

fn initialize(params: &Value) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
    let version = VERSIONS.iter().find(|v| **v == requested).copied().unwrap_or(VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "gatehouse-management", "version": env!("CARGO_PKG_VERSION")},
        "instructions": "Every Gatehouse management operation as a tool. Each call is checked against the token's scopes."
    })
}

/// The tool list, generated from the registry.
pub fn tools(registry: &Registry) -> Vec<Value> {
    registry
        .operations()
        .iter()
        .filter(|op| op.spec.mcp)
        .map(|op| {
            let scope = match op.spec.access {
                super::registry::Access::Org(scope) => format!(" Requires the {scope} scope."),
                _ => String::new(),
            };
            let mut tool = json!({
                "name": op.spec.name,
                "description": format!("{}{scope} REST: {} {}", op.spec.summary, op.spec.method, op.spec.path),
                "inputSchema": op.tool_input_schema(),
            });
            if op.output_schema.get("type") == Some(&json!("object")) {
                tool["outputSchema"] = op.output_schema.clone();
            }
            tool
        })
        .collect()
}

async fn call_tool(
    state: &AppState,
    registry: &Registry,
    principal: auth::Principal,
    peer: SocketAddr,
    params: &Value,
) -> Result<Value, (i64, String)> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or((code::INVALID_PARAMS, "params.name is required".to_string()))?;
    let op = registry
        .get(name)
        .filter(|op| op.spec.mcp)
        .ok_or_else(|| (code::INVALID_PARAMS, format!("unknown tool: {name}")))?;
    let mut arguments = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err((code::INVALID_PARAMS, "arguments must be an object".into())),
    };
    let mut path_params = HashMap::new();
    for p in &op.path_params {
        match arguments.remove(p) {
            Some(Value::String(v)) if !v.is_empty() => {
                path_params.insert(p.clone(), v);
            }
            _ => {
                return Err((code::INVALID_PARAMS, format!("argument {p} is required and must be a string")));
            }
        }
    }
    let call = Call {
        principal: Some(principal),
        params: path_params,
        input: Ok(Value::Object(arguments)),
        client_ip: Some(peer.ip()),
        headers: HeaderMap::new(),
    };
    Ok(match dispatch::invoke(state, op, call).await {
        Ok(output) => {
            let text = if output.is_null() { "Done.".to_string() } else { output.to_string() };
            let mut result = json!({"content": [{"type": "text", "text": text}]});
            if output.is_object() {
                result["structuredContent"] = output;
            }
            result
        }
        Err(err) => {
            if let ApiError::Internal(e) = &err {
                tracing::error!(error = ?e, tool = name, "management tool failed");
            }
            let status = err.status().as_u16();
            json!({
                "isError": true,
                "content": [{"type": "text", "text": format!("Error: HTTP {status} {}: {err}", err.code())}],
            })
        }
    })
}
