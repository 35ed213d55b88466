//! `/api/v0/tool-groups`: an MCPJungle tool group is a server of the org (slug from the group's
//! name) composed of upstream attachments — an included server is an attachment of all its
//! tools, included tools an attachment of those — and its excluded tools are deny policies for
//! every caller, so a group keeps following its servers' catalogues as MCPJungle's do. Nothing
//! else is stored: a group is read back from its server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PROXY_SLUG, Runner, SEPARATOR, org, prefix_of, runner, upstreams, valid_name};
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// `ToolGroup`, as MCPJungle takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    included_tools: Vec<String>,
    #[serde(default)]
    included_servers: Vec<String>,
    #[serde(default)]
    excluded_tools: Vec<String>,
}

/// The server slug of a group name (`My_Group` → `my-group`).
pub fn slug_of(name: &str) -> String {
    let slug: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let slug = slug.trim_matches('-').to_string();
    if slug.len() < 2 { format!("group-{slug}") } else { slug }
}

/// Where a group is served.
fn endpoints(state: &AppState, name: &str) -> Value {
    let base = format!("{}/v0/groups/{name}", state.config.public_url);
    json!({"streamable_http_endpoint": format!("{base}/mcp"), "sse_endpoint": format!("{base}/sse"),
           "sse_message_endpoint": format!("{base}/message")})
}

/// The org's servers that are groups: every one but the proxy and clients' own.
async fn group_servers(r: &Runner, org: &str) -> ApiResult<Vec<Value>> {
    let list = r.run("list_servers", &[("org", org)], json!({})).await?;
    let client = format!("{}-", super::access::CLIENT_SLUG);
    let is_group =
        |s: &&Value| s["slug"].as_str().is_some_and(|slug| slug != PROXY_SLUG && !slug.starts_with(&client));
    Ok(list["servers"].as_array().into_iter().flatten().filter(is_group).cloned().collect())
}

async fn group_server(r: &Runner, org: &str, name: &str) -> ApiResult<Value> {
    let slug = slug_of(name);
    group_servers(r, org)
        .await?
        .into_iter()
        .find(|s| s["slug"] == slug)
        .ok_or(ApiError::NotFound("tool group"))
}

/// A group's definition, read back from its server.
async fn definition(r: &Runner, org: &str, server: &Value) -> ApiResult<Value> {
    let sid = server["serverId"].as_str().unwrap_or_default();
    let names: BTreeMap<String, String> = upstreams(r, org)
        .await?
        .iter()
        .map(|u| {
            (
                u["upstreamId"].as_str().unwrap_or_default().to_string(),
                u["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let attached = r.run("list_server_upstreams", &[("org", org), ("serverId", sid)], json!({})).await?;
    let (mut servers, mut tools) = (Vec::new(), Vec::new());
    for a in attached["attachments"].as_array().into_iter().flatten() {
        let Some(name) = a["upstreamId"].as_str().and_then(|id| names.get(id)) else { continue };
        match a["tools"].as_array() {
            None => servers.push(json!(name)),
            Some(list) => {
                let prefix = a["prefix"].as_str().unwrap_or_default();
                tools.extend(
                    list.iter().filter_map(Value::as_str).map(|t| json!(format!("{prefix}{SEPARATOR}{t}"))),
                );
            }
        }
    }
    let policies = r.run("read_policy", &[("org", org), ("serverId", sid)], json!({})).await?;
    let excluded: Vec<Value> = policies["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["action"] == "deny" && p["callers"].as_array().is_none_or(Vec::is_empty))
        .map(|p| p["toolPattern"].clone())
        .collect();
    let mut group = json!({"name": server["name"], "description": server["description"]});
    for (field, list) in
        [("included_tools", tools), ("included_servers", servers), ("excluded_tools", excluded)]
    {
        if !list.is_empty() {
            group[field] = Value::Array(list);
        }
    }
    Ok(group)
}

/// The upstreams a definition names, each with `None` (all its tools) or the tools chosen.
async fn resolve(
    r: &Runner,
    org: &str,
    input: &GroupInput,
) -> ApiResult<Vec<(String, String, Option<Vec<String>>)>> {
    if input.included_tools.is_empty() && input.included_servers.is_empty() {
        return Err(ApiError::bad_request("a tool group must include at least one tool or server"));
    }
    let all = upstreams(r, org).await?;
    let by_name = |name: &str| all.iter().find(|u| u["name"] == name);
    let mut chosen: BTreeMap<String, (String, Option<Vec<String>>)> = BTreeMap::new();
    for name in &input.included_servers {
        let u = by_name(name).ok_or_else(|| ApiError::bad_request(format!("MCP server {name} not found")))?;
        let id = u["upstreamId"].as_str().unwrap_or_default().to_string();
        chosen.insert(id, (name.clone(), None));
    }
    for tool in &input.included_tools {
        let Some((server, name)) = tool.split_once(SEPARATOR) else {
            return Err(ApiError::bad_request(format!(
                "invalid tool name {tool:?}: expected <server>{SEPARATOR}<tool>"
            )));
        };
        let u = all
            .iter()
            .find(|u| u["name"].as_str().is_some_and(|n| prefix_of(n) == server || n == server))
            .ok_or_else(|| ApiError::bad_request(format!("tool {tool} not found")))?;
        let id = u["upstreamId"].as_str().unwrap_or_default().to_string();
        let listed = r.run("list_upstream_tools", &[("org", org), ("upstreamId", &id)], json!({})).await?;
        if !listed["tools"].as_array().into_iter().flatten().any(|t| t["name"] == name) {
            return Err(ApiError::bad_request(format!("tool {tool} not found")));
        }
        let entry = chosen
            .entry(id)
            .or_insert_with(|| (u["name"].as_str().unwrap_or_default().to_string(), Some(vec![])));
        if let Some(list) = &mut entry.1 {
            list.push(name.to_string());
        }
    }
    Ok(chosen.into_iter().map(|(id, (name, tools))| (id, name, tools)).collect())
}

/// Gives the group server exactly the attachments and exclusions of `input`.
async fn apply(r: &Runner, org: &str, sid: &str, input: &GroupInput) -> ApiResult<()> {
    let wanted = resolve(r, org, input).await?;
    let attached = r.run("list_server_upstreams", &[("org", org), ("serverId", sid)], json!({})).await?;
    for a in attached["attachments"].as_array().into_iter().flatten() {
        let id = a["upstreamId"].as_str().unwrap_or_default();
        if !wanted.iter().any(|(w, _, _)| w == id) {
            r.run("detach_upstream", &[("org", org), ("serverId", sid), ("upstreamId", id)], json!({}))
                .await?;
        }
    }
    for (id, name, tools) in &wanted {
        let body = json!({"tools": tools, "prefix": prefix_of(name)});
        r.run("attach_upstream", &[("org", org), ("serverId", sid), ("upstreamId", id)], body).await?;
    }
    let policies = r.run("read_policy", &[("org", org), ("serverId", sid)], json!({})).await?;
    for p in policies["policies"].as_array().into_iter().flatten() {
        let exclusion = p["action"] == "deny" && p["callers"].as_array().is_none_or(Vec::is_empty);
        let kept = p["toolPattern"].as_str().is_some_and(|t| input.excluded_tools.iter().any(|e| e == t));
        if exclusion && !kept {
            let id = p["policyId"].as_str().unwrap_or_default();
            r.run("delete_policy", &[("org", org), ("serverId", sid), ("policyId", id)], json!({})).await?;
        }
    }
    for tool in &input.excluded_tools {
        let deny = json!({"toolPattern": tool, "action": "deny"});
        r.run("update_policy", &[("org", org), ("serverId", sid)], deny).await?;
    }
    Ok(())
}

/// `POST /api/v0/tool-groups`: 201 with the group's endpoints.
pub async fn create(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let input: GroupInput = crate::api::compat::input(&body)?;
    let name = input.name.clone().filter(|n| valid_name(n)).ok_or_else(|| {
        ApiError::bad_request("name is required: letters, digits, '-' and '_' (without __)")
    })?;
    if group_server(&r, &org, &name).await.is_ok() || slug_of(&name) == PROXY_SLUG {
        return Err(ApiError::conflict(format!("tool group {name} already exists")));
    }
    resolve(&r, &org, &input).await?;
    let made = r
        .run(
            "create_server",
            &[("org", &org)],
            json!({"name": name, "slug": slug_of(&name), "description": input.description}),
        )
        .await?;
    let sid = made["server"]["serverId"].as_str().unwrap_or_default().to_string();
    if let Err(e) = apply(&r, &org, &sid, &input).await {
        let _ = r.run("delete_server", &[("org", &org), ("serverId", &sid)], json!({})).await;
        return Err(e);
    }
    Ok((StatusCode::CREATED, Json(endpoints(&state, &name))).into_response())
}

/// `GET /api/v0/tool-groups`.
pub async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let mut out = Vec::new();
    for server in group_servers(&r, &org).await? {
        out.push(definition(&r, &org, &server).await?);
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /api/v0/tool-groups/{name}`: the definition and its endpoints.
pub async fn get(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let server = group_server(&r, &org, &name).await?;
    let mut group = definition(&r, &org, &server).await?;
    if let (Some(g), Value::Object(e)) = (group.as_object_mut(), endpoints(&state, &name)) {
        g.extend(e);
    }
    Ok(Json(group))
}

/// `PUT /api/v0/tool-groups/{name}`: `{name, old, new}`.
pub async fn update(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let input: GroupInput = crate::api::compat::input(&body)?;
    if input.name.as_deref().is_some_and(|n| n != name) {
        return Err(ApiError::bad_request("a tool group cannot be renamed"));
    }
    let server = group_server(&r, &org, &name).await?;
    let sid = server["serverId"].as_str().unwrap_or_default().to_string();
    let old = definition(&r, &org, &server).await?;
    resolve(&r, &org, &input).await?;
    r.run("update_server", &[("org", &org), ("serverId", &sid)], json!({"description": input.description}))
        .await?;
    apply(&r, &org, &sid, &input).await?;
    let server = group_server(&r, &org, &name).await?;
    let new = definition(&r, &org, &server).await?;
    Ok(Json(json!({"name": name, "old": old, "new": new})))
}

/// `DELETE /api/v0/tool-groups/{name}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let server = group_server(&r, &org, &name).await?;
    let sid = server["serverId"].as_str().unwrap_or_default();
    r.run("delete_server", &[("org", &org), ("serverId", sid)], json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v0/tool-groups/{name}/effective-tools`: `{"tools": [names]}` as the group serves
/// them now.
pub async fn effective_tools(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let server = group_server(&r, &org, &name).await?;
    let group = definition(&r, &org, &server).await?;
    let excluded: Vec<&str> =
        group["excluded_tools"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut tools: Vec<String> = group["included_tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    for server_name in group["included_servers"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let Some(u) = upstreams(&r, &org).await?.into_iter().find(|u| u["name"] == server_name) else {
            continue;
        };
        let id = u["upstreamId"].as_str().unwrap_or_default();
        let listed = r.run("list_upstream_tools", &[("org", &org), ("upstreamId", id)], json!({})).await?;
        let prefix = prefix_of(server_name);
        tools.extend(
            listed["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["served"] == true)
                .filter_map(|t| t["name"].as_str())
                .map(|t| format!("{prefix}{SEPARATOR}{t}")),
        );
    }
    tools.retain(|t| !excluded.contains(&t.as_str()));
    tools.sort();
    tools.dedup();
    Ok(Json(json!({"tools": tools})))
}
