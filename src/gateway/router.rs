//! MCP methods of a Gatehouse server, independent of transport: given the revision the
//! connection speaks and a request, produce a result or a JSON-RPC error. Results are shaped
//! for the revision here (e.g. no `structuredContent` before 2025-06-18; `resultType`,
//! `ttlMs` and `cacheScope` on 2026-07-28).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::directory::ServerEntry;
use super::upstream::http_tool;
use crate::app::AppState;

pub use gatehouse_mcp::jsonrpc::{RpcError, code};
pub use gatehouse_mcp::version::{ALL, STATELESS, negotiate};

/// Tools per tools/list page.
pub const PAGE_SIZE: usize = 500;

fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}, "prompts": {"listChanged": false}, "resources": {"listChanged": false}})
}

/// The result of `initialize` for a negotiated revision.
pub fn initialize_result(entry: &ServerEntry, version: &str) -> Value {
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": {"name": entry.server.name, "version": env!("CARGO_PKG_VERSION")},
    });
    if !entry.server.description.is_empty() {
        result["instructions"] = json!(entry.server.description);
    }
    result
}

/// Runs one request (not `initialize`) and shapes its result for `version`.
pub async fn handle(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let stateless = version == STATELESS;
    let mut result = match method {
        "ping" => json!({}),
        "server/discover" if stateless => json!({
            "supportedVersions": ALL,
            "capabilities": capabilities(),
            "instructions": entry.server.description,
        }),
        "tools/list" => tools_list(entry, params)?,
        "tools/call" => tools_call(state, entry, params).await?,
        "prompts/list" => json!({"prompts": []}),
        "resources/list" => json!({"resources": []}),
        "resources/templates/list" => json!({"resourceTemplates": []}),
        "prompts/get" => return Err(RpcError::new(code::INVALID_PARAMS, "unknown prompt")),
        "resources/read" => return Err(RpcError::new(code::RESOURCE_NOT_FOUND, "resource not found")),
        _ => {
            let err = RpcError::new(code::METHOD_NOT_FOUND, format!("method not found: {method}"));
            // 2026-07-28 transport: an unimplemented method is HTTP 404.
            return Err(if stateless { err.with_status(404) } else { err });
        }
    };
    gatehouse_mcp::shape::shape_result(&mut result, version, method);
    gatehouse_mcp::shape::stamp_server_info(
        &mut result,
        version,
        &entry.server.name,
        env!("CARGO_PKG_VERSION"),
    );
    Ok(result)
}

fn tools_list(entry: &ServerEntry, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => c
            .strip_prefix("o:")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= entry.tools.len())
            .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "invalid cursor"))?,
        Some(_) => return Err(RpcError::new(code::INVALID_PARAMS, "cursor must be a string")),
    };
    let end = (start + PAGE_SIZE).min(entry.tools.len());
    let tools: Vec<Value> = entry.tools[start..end].iter().map(|t| t.listing.clone()).collect();
    let mut result = json!({"tools": tools});
    if end < entry.tools.len() {
        result["nextCursor"] = json!(format!("o:{end}"));
    }
    Ok(result)
}

async fn tools_call(
    state: &AppState,
    entry: &ServerEntry,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "params.name is required"))?;
    let tool = entry
        .tool(name)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("unknown tool: {name}")))?;
    let empty = Map::new();
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(RpcError::new(code::INVALID_PARAMS, "arguments must be an object")),
    };
    http_tool::validate(tool, arguments).map_err(|e| RpcError::new(code::INVALID_PARAMS, e.0))?;
    Ok(http_tool::call(&state.gateway.outbound, tool, arguments).await)
}
