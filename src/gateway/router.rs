//! MCP methods of a Gatehouse server, independent of transport: given the revision the
//! connection speaks and a request, produce a result or a JSON-RPC error. Results are shaped
//! for the revision here (e.g. no `structuredContent` before 2025-06-18; `resultType`,
//! `ttlMs` and `cacheScope` on 2026-07-28).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::directory::ServerEntry;
use super::upstream::http_tool;
use crate::app::AppState;

/// Revisions with `initialize` and sessions, newest first.
pub const STATEFUL: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The stateless revision.
pub const STATELESS: &str = "2026-07-28";
/// Every revision served, newest first.
pub const ALL: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// Tools per tools/list page.
pub const PAGE_SIZE: usize = 500;
/// How long 2026-07-28 clients may cache lists (ms).
pub const LIST_TTL_MS: u64 = 10_000;

/// A JSON-RPC error with the HTTP status it travels with.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub status: u16,
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    /// An error answered with HTTP 200 (the JSON-RPC error carries the meaning).
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { status: 200, code, message: message.into(), data: None }
    }

    /// The same error with another HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The JSON-RPC error response (without `id` when none is known; see `endpoint::http_error`).
    pub fn to_message(&self, id: Value) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        if id.is_null() {
            json!({"jsonrpc": "2.0", "error": error})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "error": error})
        }
    }
}

/// JSON-RPC and MCP error codes.
pub mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// 2026-07-28: HTTP headers do not match the body.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: unsupported protocol version.
    pub const UNSUPPORTED_VERSION: i64 = -32022;
}

/// Whether a revision has `structuredContent` / `outputSchema` (added in 2025-06-18).
fn has_structured_content(version: &str) -> bool {
    version >= "2025-06-18"
}

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

/// Picks the revision to answer `initialize` with (lifecycle: the client's if supported,
/// else our latest stateful one).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested.and_then(|r| STATEFUL.iter().find(|v| **v == r).copied()).unwrap_or(STATEFUL[0])
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
        "resources/read" => return Err(RpcError::new(-32002, "resource not found")),
        _ => {
            let err = RpcError::new(code::METHOD_NOT_FOUND, format!("method not found: {method}"));
            // 2026-07-28 transport: an unimplemented method is HTTP 404.
            return Err(if stateless { err.with_status(404) } else { err });
        }
    };
    shape(&mut result, version, method);
    Ok(result)
}

/// Adapts a result to what `version`'s schema has.
pub fn shape(result: &mut Value, version: &str, method: &str) {
    let Some(obj) = result.as_object_mut() else { return };
    if !has_structured_content(version) {
        obj.remove("structuredContent");
    }
    if version == STATELESS {
        obj.insert("resultType".into(), json!("complete"));
        if method.ends_with("/list") || method == "server/discover" {
            obj.insert("ttlMs".into(), json!(LIST_TTL_MS));
            // Lists depend on the caller's key and org: never shared across authorization contexts.
            obj.insert("cacheScope".into(), json!("private"));
        }
    }
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
