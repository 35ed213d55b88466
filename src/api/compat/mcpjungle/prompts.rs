//! `/api/v0/prompts`, `/api/v0/prompt`, `/api/v0/prompts/render`: the prompts the org's proxy
//! server serves (its upstreams', named `{server}__{prompt}`), through `list_server_prompts`
//! and `render_prompt`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Runner, SEPARATOR, org, prefix_of, proxy_server, runner, upstream_named};
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

/// `PromptGetRequest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Render {
    name: Option<String>,
    #[serde(default)]
    arguments: std::collections::BTreeMap<String, String>,
}

/// The proxy server's prompts as MCPJungle lists them.
async fn prompts(r: &Runner, org: &str) -> ApiResult<Vec<Value>> {
    let Some(proxy) = proxy_server(r, org, false).await? else { return Ok(Vec::new()) };
    let listed = r.run("list_server_prompts", &[("org", org), ("serverId", &proxy)], json!({})).await?;
    Ok(listed["prompts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            json!({"name": p["name"], "enabled": true, "description": p["description"].as_str().unwrap_or_default(),
                   "arguments": p["arguments"].as_array().cloned().unwrap_or_default()})
        })
        .collect())
}

/// `GET /api/v0/prompts[?server=]`.
pub async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<ServerQuery>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let mut all = prompts(&r, &org).await?;
    if let Some(server) = q.server.filter(|s| !s.is_empty()) {
        upstream_named(&r, &org, &server).await?;
        let prefix = format!("{}{SEPARATOR}", prefix_of(&server));
        all.retain(|p| p["name"].as_str().is_some_and(|n| n.starts_with(&prefix)));
    }
    Ok(Json(Value::Array(all)))
}

/// `GET /api/v0/prompt?name=`.
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
    prompts(&r, &org)
        .await?
        .into_iter()
        .find(|p| p["name"] == name.as_str())
        .map(Json)
        .ok_or(ApiError::NotFound("prompt"))
}

/// `POST /api/v0/prompts/render` `{name, arguments}` → `{description, messages}`.
pub async fn render(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    let input: Render = crate::api::compat::input(&body)?;
    let name = input
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing 'name' field in request body"))?;
    let org = org(&r).await?;
    let proxy = proxy_server(&r, &org, false).await?.ok_or(ApiError::NotFound("prompt"))?;
    let rendered = r
        .run(
            "render_prompt",
            &[("org", &org), ("serverId", &proxy)],
            json!({"name": name, "arguments": input.arguments}),
        )
        .await?;
    Ok(Json(
        json!({"description": rendered["description"].as_str().unwrap_or_default(), "messages": rendered["messages"]}),
    ))
}
