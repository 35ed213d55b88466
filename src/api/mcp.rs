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
use gatehouse_mcp::jsonrpc::{Envelope, RpcError, code, is_id, result_message};
use gatehouse_mcp::model::{
    self, CallToolResult, Implementation, InitializeResult, ServerCapabilities, Tool,
};
use gatehouse_mcp::transport::headers::PROTOCOL_VERSION;
use gatehouse_mcp::version::{ProtocolVersion, STATEFUL};
use serde_json::{Map, Value, json};

use super::compat::management_tools::{ALIASES, APP_ID, operation_of};
use super::dispatch::{self, Call};
use super::registry::{Access, Operation, Registry};
use crate::app::AppState;
use crate::auth;
use crate::body::{is_json, read_body};
use crate::error::{ApiError, ApiResult};

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

/// An error answer with its HTTP status (the message has no id that could be read).
fn refused(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    (status, axum::Json(RpcError::new(code, message).to_message(Value::Null))).into_response()
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
    // The stateful revisions: this endpoint keeps no session, but speaks `initialize`.
    if let Some(version) = headers.get(PROTOCOL_VERSION).and_then(|v| v.to_str().ok()) {
        if !STATEFUL.contains(&version) {
            let message = format!("unsupported MCP-Protocol-Version {version}");
            return Ok(refused(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, message));
        }
    }
    let bytes = read_body(&headers, body, state.config.max_body_bytes).await?;
    if !is_json(&headers) {
        let message = "expected Content-Type: application/json";
        return Ok(refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, code::INVALID_REQUEST, message));
    }
    let message = match super::strict_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Envelope::from_object(object),
        Ok(_) => {
            let message = "expected one JSON-RPC 2.0 message (batches are not supported)";
            return Ok(refused(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, message));
        }
        Err(e) => {
            return Ok(refused(StatusCode::BAD_REQUEST, code::PARSE_ERROR, format!("parse error: {e}")));
        }
    };
    if !message.is_v2() {
        let message = "expected one JSON-RPC 2.0 message (batches are not supported)";
        return Ok(refused(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, message));
    }
    let Some(rpc_method) = message.method() else {
        // A response or error from the client: nothing to answer.
        return Ok(StatusCode::ACCEPTED.into_response());
    };
    let id = match message.id.clone() {
        Some(id) if is_id(&id) => id,
        Some(_) => {
            let message = "id must be a string or an integer";
            return Ok(refused(StatusCode::BAD_REQUEST, code::INVALID_REQUEST, message));
        }
        None => return Ok(StatusCode::ACCEPTED.into_response()), // a notification
    };
    let empty = Map::new();
    let params = message.params_object().unwrap_or(&empty);
    let answer = match rpc_method {
        "initialize" => Ok(initialize(params)),
        "ping" => Ok(model::empty_result()),
        "tools/list" => Ok(json!({"tools": tools(registry)})),
        "tools/call" => call_tool(state, registry, principal, peer, params).await,
        other => Err(RpcError::new(code::METHOD_NOT_FOUND, format!("method not found: {other}"))),
    };
    let reply = match answer {
        Ok(result) => result_message(id, result),
        Err(error) => error.to_message(id),
    };
    Ok(axum::Json(reply).into_response())
}

/// `initialize`: the client's revision if it is a stateful one, else the latest of those.
fn initialize(params: &Map<String, Value>) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
    let mut result = InitializeResult::new(
        ProtocolVersion::negotiate(requested),
        ServerCapabilities { tools: Some(Default::default()), ..ServerCapabilities::default() },
        Implementation::new("gatehouse-management", env!("CARGO_PKG_VERSION")),
    );
    if let Some(tools) = &mut result.capabilities.tools {
        tools.list_changed = Some(false);
    }
    result.instructions = Some(
        "Every Gatehouse management operation as a tool. Each call is checked against the token's scopes."
            .into(),
    );
    model::to_value(&result)
}

/// The tool list, generated from the registry: every operation offered over MCP, then the
/// same operations under the names of the compatible management API.
pub fn tools(registry: &Registry) -> Vec<Value> {
    let native =
        registry.operations().iter().filter(|op| op.spec.mcp).map(|op| tool(op, op.spec.name, false));
    let aliases = ALIASES.iter().filter_map(|alias| {
        let op = registry.get(alias.operation).filter(|op| op.spec.mcp)?;
        Some(tool(op, alias.name, true))
    });
    native.chain(aliases).collect()
}

/// One operation as a tool named `name`; an alias takes `appId` for `serverId`.
fn tool(op: &Operation, name: &str, alias: bool) -> Value {
    let scope = match op.spec.access {
        Access::Org(scope) => match scope.aliases() {
            [] => format!(" Requires the {scope} scope."),
            aliases => format!(" Requires the {scope} scope (also granted as {}).", aliases.join(", ")),
        },
        _ => String::new(),
    };
    let same = if alias { format!(" The same as {}.", op.spec.name) } else { String::new() };
    let summary = format!("{}{scope}{same} REST: {} {}", op.spec.summary, op.spec.method, op.spec.path);
    let tool = Tool {
        description: Some(summary),
        output_schema: (op.output_schema.get("type") == Some(&json!("object")))
            .then(|| op.output_schema.clone()),
        ..Tool::new(name, input_schema(op, alias))
    };
    model::to_value(&tool)
}

/// A tool's input schema: the operation's, with `org` optional (a management token's own org is
/// the default) and, for an alias, `serverId` named `appId`.
fn input_schema(op: &Operation, alias: bool) -> Value {
    let mut schema = op.tool_input_schema();
    let rename = |name: &str| if alias && name == "serverId" { APP_ID.to_string() } else { name.to_string() };
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| r != "org");
        for r in required.iter_mut() {
            if let Some(name) = r.as_str() {
                *r = json!(rename(name));
            }
        }
    }
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        if let Some(org) = props.get_mut("org") {
            org["description"] = json!(
                "The organization (id or slug); defaults to the management token's own, or in dev mode to `default`."
            );
        }
        if alias {
            if let Some(server) = props.remove("serverId") {
                props.insert(APP_ID.into(), server);
            }
        }
    }
    schema
}

async fn call_tool(
    state: &AppState,
    registry: &Registry,
    principal: auth::Principal,
    peer: SocketAddr,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let invalid = |message: String| RpcError::new(code::INVALID_PARAMS, message);
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("params.name is required".into()))?;
    let (operation, alias) = operation_of(name);
    let op = registry
        .get(operation)
        .filter(|op| op.spec.mcp)
        .ok_or_else(|| invalid(format!("unknown tool: {name}")))?;
    let mut arguments = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(invalid("arguments must be an object".into())),
    };
    if alias {
        if let Some(app) = arguments.remove(APP_ID) {
            arguments.insert("serverId".into(), app);
        }
    }
    if op.path_params.iter().any(|p| p == "org") && !arguments.contains_key("org") {
        if let Some(org) = super::compat::default_org(state, &principal).await {
            arguments.insert("org".into(), Value::String(org));
        }
    }
    let mut path_params = HashMap::new();
    for p in &op.path_params {
        match arguments.remove(p) {
            Some(Value::String(v)) if !v.is_empty() => {
                path_params.insert(p.clone(), v);
            }
            _ => {
                let p = if alias && p == "serverId" { APP_ID } else { p.as_str() };
                return Err(invalid(format!("argument {p} is required and must be a string")));
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
    let result = match dispatch::invoke(state, op, call).await {
        Ok(Value::Null) => CallToolResult::text("Done."),
        Ok(output @ Value::Object(_)) => CallToolResult::structured(output),
        Ok(output) => CallToolResult::text(output.to_string()),
        Err(err) => {
            if let ApiError::Internal(e) = &err {
                tracing::error!(error = ?e, tool = name, "management tool failed");
            }
            let status = err.status().as_u16();
            CallToolResult::error(format!("Error: HTTP {status} {}: {err}", err.code()))
        }
    };
    Ok(model::to_value(&result))
}
