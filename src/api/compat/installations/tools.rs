//! An installation's tools: listed, approved one by one, refreshed, and called through `proxy`
//! (one JSON-RPC request) by `invoke_tool` on the org's installations server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{prefix_of, proxy_server, scoped};
use crate::api::compat::Runner;
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// `{approval_state}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolInput {
    approval_state: String,
}

/// A tool of an installation.
fn tool_view(t: &Value) -> Value {
    let d = &t["definition"];
    json!({
        "tool_name": t["name"],
        "description": d["description"],
        "input_schema": d["inputSchema"],
        "approval_state": t["approvalState"],
        "enabled": t["enabled"],
        "served": t["served"],
        "definition_hash": t["definitionHash"],
        "updated_at": t["updatedAt"],
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let listed = r.run("list_upstream_tools", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    Ok(Json(json!(listed["tools"].as_array().into_iter().flatten().map(tool_view).collect::<Vec<_>>())))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id, tool)): Path<(String, String, String)>,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let input: ToolInput = crate::api::compat::input(&body)?;
    let params = [("org", org.as_str()), ("upstreamId", id.as_str()), ("toolName", tool.as_str())];
    let changed =
        r.run("update_upstream_tool", &params, json!({"approvalState": input.approval_state})).await?;
    Ok(Json(tool_view(&changed["tool"])))
}

pub(super) async fn refresh(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    r.run("refresh_upstream_tools", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    let listed = r.run("list_upstream_tools", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    Ok(Json(json!(listed["tools"].as_array().into_iter().flatten().map(tool_view).collect::<Vec<_>>())))
}

/// The installation's part of the installations server's tools, by their names at the
/// installation.
async fn served_tools(r: &Runner, org: &str, id: &str) -> ApiResult<(String, String, Vec<Value>)> {
    let got = r.run("get_upstream", &[("org", org), ("upstreamId", id)], json!({})).await?;
    let prefix = format!("{}__", prefix_of(got["upstream"]["name"].as_str().unwrap_or_default(), id));
    let proxy = proxy_server(r, org).await?;
    let listed = r.run("list_upstream_tools", &[("org", org), ("upstreamId", id)], json!({})).await?;
    let tools = listed["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["served"] == true)
        .map(|t| {
            let d = &t["definition"];
            let mut tool = json!({"name": t["name"], "inputSchema": d["inputSchema"]});
            if let Some(desc) = d["description"].as_str() {
                tool["description"] = json!(desc);
            }
            tool
        })
        .collect();
    Ok((proxy, prefix, tools))
}

/// `POST …/{id}/proxy`: one JSON-RPC request to the installation (`initialize`, `ping`,
/// `tools/list`, `tools/call`), answered in JSON-RPC; the call runs `invoke_tool` on the
/// installations server, so approval, policies and usage hold.
pub(super) async fn proxy(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id)): Path<(String, String)>,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let message = match crate::api::strict_json::from_slice(&body) {
        Ok(Value::Object(m)) => m,
        _ => return Ok(Json(rpc_error(Value::Null, -32700, "expected one JSON-RPC request"))),
    };
    let rpc_id = message.get("id").cloned().unwrap_or(Value::Null);
    let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
    let params = message.get("params").cloned().unwrap_or(json!({}));
    let (proxy, prefix, tools) = served_tools(&r, &org, &id).await?;
    let result = match method {
        "initialize" => json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                               "serverInfo": {"name": "gatehouse-installation", "version": env!("CARGO_PKG_VERSION")}}),
        "ping" => json!({}),
        "tools/list" => json!({"tools": tools}),
        "tools/call" => {
            let Some(name) = params["name"].as_str() else {
                return Ok(Json(rpc_error(rpc_id, -32602, "params.name is required")));
            };
            if !tools.iter().any(|t| t["name"] == name) {
                return Ok(Json(rpc_error(rpc_id, -32602, &format!("unknown tool: {name}"))));
            }
            let input = json!({"name": format!("{prefix}{name}"), "arguments": params.get("arguments").cloned().unwrap_or(json!({}))});
            match r.run("invoke_tool", &[("org", &org), ("serverId", &proxy)], input).await {
                Ok(done) => done,
                Err(ApiError::Unprocessable(m)) => return Ok(Json(rpc_error(rpc_id, -32602, &m))),
                Err(e) => return Err(e),
            }
        }
        other => return Ok(Json(rpc_error(rpc_id, -32601, &format!("method not found: {other}")))),
    };
    Ok(Json(json!({"jsonrpc": "2.0", "id": rpc_id, "result": result})))
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}
