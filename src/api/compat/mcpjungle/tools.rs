//! `/api/v0/tools`, `/api/v0/tool`: the tools of the org's upstreams under MCPJungle's names
//! (`{server}__{tool}`, the server part as the proxy server serves it), invoked through
//! `invoke_tool` on the proxy server and enabled or disabled with `update_upstream_tool`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Runner, SEPARATOR, org, prefix_of, proxy_server, runner, upstreams};
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// `?server=`.
#[derive(Debug, Deserialize)]
pub struct ServerQuery {
    server: Option<String>,
}

/// `?name=`.
#[derive(Debug, Deserialize)]
pub struct NameQuery {
    name: Option<String>,
}

/// `?entity=` (a tool's name, or a server's for all its tools).
#[derive(Debug, Deserialize)]
pub struct EntityQuery {
    entity: Option<String>,
}

/// One upstream tool, with the names it goes by.
struct Found {
    upstream_id: String,
    /// Its name at the upstream.
    tool: String,
    /// `{prefix}__{tool}`.
    name: String,
    view: Value,
}

/// Every tool of the org's upstreams (of `only` the upstream so named).
async fn tools_of(r: &Runner, org: &str, only: Option<&str>) -> ApiResult<Vec<Found>> {
    let mut found = Vec::new();
    let list = upstreams(r, org).await?;
    if let Some(name) = only {
        if !list.iter().any(|u| u["name"] == name) {
            return Err(ApiError::NotFound("MCP server"));
        }
    }
    for u in list.iter().filter(|u| only.is_none_or(|n| u["name"] == n)) {
        let id = u["upstreamId"].as_str().unwrap_or_default();
        let prefix = prefix_of(u["name"].as_str().unwrap_or_default());
        let tools = r.run("list_upstream_tools", &[("org", org), ("upstreamId", id)], json!({})).await?;
        for t in tools["tools"].as_array().into_iter().flatten() {
            let tool = t["name"].as_str().unwrap_or_default().to_string();
            let name = format!("{prefix}{SEPARATOR}{tool}");
            let d = &t["definition"];
            let mut view = json!({
                "name": name,
                "enabled": t["served"] == true && u["isEnabled"] == true,
                "description": d["description"].as_str().unwrap_or_default(),
                "input_schema": d["inputSchema"],
            });
            if d["annotations"].is_object() {
                view["annotations"] = d["annotations"].clone();
            }
            found.push(Found { upstream_id: id.to_string(), tool, name, view });
        }
    }
    Ok(found)
}

/// `GET /api/v0/tools[?server=]`.
pub async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<ServerQuery>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let found = tools_of(&r, &org, q.server.as_deref().filter(|s| !s.is_empty())).await?;
    Ok(Json(Value::Array(found.into_iter().map(|f| f.view).collect())))
}

/// `GET /api/v0/tool?name=`.
pub async fn get(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<NameQuery>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let name = q
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing 'name' query parameter"))?;
    let org = org(&r).await?;
    let found = tools_of(&r, &org, None).await?;
    found.into_iter().find(|f| f.name == name).map(|f| Json(f.view)).ok_or(ApiError::NotFound("tool"))
}

/// `POST /api/v0/tools/invoke` `{"name": …, <arguments>…}`: the tool's `CallToolResult`.
pub async fn invoke(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    let mut args: Map<String, Value> = match crate::api::strict_json::from_slice(&body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(ApiError::bad_request("failed to decode request body: expected a JSON object")),
        Err(e) => return Err(ApiError::bad_request(format!("failed to decode request body: {e}"))),
    };
    let name = match args.remove("name") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(ApiError::bad_request("'name' field must be a string")),
        None => return Err(ApiError::bad_request("missing 'name' field in request body")),
    };
    let org = org(&r).await?;
    let proxy = proxy_server(&r, &org, false).await?.ok_or(ApiError::NotFound("tool"))?;
    let input = json!({"name": name, "arguments": args});
    let result = r.run("invoke_tool", &[("org", &org), ("serverId", &proxy)], input).await?;
    let mut out = json!({"content": result["content"]});
    if result["isError"] == true {
        out["isError"] = json!(true);
    }
    if !result["structuredContent"].is_null() {
        out["structuredContent"] = result["structuredContent"].clone();
    }
    Ok(Json(out))
}

/// Enables or disables a tool, or every tool of a server: the names changed.
async fn set_enabled(r: &Runner, entity: Option<String>, enabled: bool) -> ApiResult<Json<Value>> {
    let entity = entity
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing 'entity' query parameter"))?;
    let org = org(r).await?;
    let all = tools_of(r, &org, None).await?;
    let chosen: Vec<&Found> = if entity.contains(SEPARATOR) {
        all.iter().filter(|f| f.name == entity).collect()
    } else {
        let prefix = format!("{}{SEPARATOR}", prefix_of(&entity));
        upstreams(r, &org)
            .await?
            .iter()
            .find(|u| u["name"] == entity.as_str())
            .ok_or(ApiError::NotFound("MCP server"))?;
        all.iter().filter(|f| f.name.starts_with(&prefix)).collect()
    };
    if chosen.is_empty() {
        return Err(ApiError::NotFound("tool"));
    }
    let mut changed = Vec::new();
    for f in chosen {
        let params =
            [("org", org.as_str()), ("upstreamId", f.upstream_id.as_str()), ("toolName", f.tool.as_str())];
        r.run("update_upstream_tool", &params, json!({"enabled": enabled})).await?;
        changed.push(f.name.clone());
    }
    Ok(Json(json!(changed)))
}

/// `POST /api/v0/tools/enable?entity=`.
pub async fn enable(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<EntityQuery>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    set_enabled(&r, q.entity, true).await
}

/// `POST /api/v0/tools/disable?entity=`.
pub async fn disable(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<EntityQuery>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    set_enabled(&r, q.entity, false).await
}
