//! `/api/v0/servers`: MCPJungle servers are the org's upstreams. Registering one creates the
//! upstream (`create_upstream`, tools approved as found: MCPJungle has no approval step, and
//! changed definitions are still withheld until approved) and attaches it to the proxy server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{SEPARATOR, org, prefix_of, proxy_server, runner, upstream_named, upstreams, valid_name};
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// `RegisterServerInput`, as MCPJungle takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    name: String,
    transport: String,
    #[serde(default)]
    description: String,
    url: Option<String>,
    bearer_token: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    session_mode: Option<String>,
    oauth_redirect_uri: Option<String>,
    oauth_client_id: Option<String>,
    oauth_client_secret: Option<String>,
    oauth_scopes: Option<Vec<String>>,
}

/// `?force=true`.
#[derive(Debug, Deserialize)]
pub struct Force {
    force: Option<String>,
}

/// An upstream as MCPJungle's `McpServer` (secrets — environment values, tokens — are never
/// answered, by Gatehouse's rule; `env` names the variables with empty values).
fn server_view(u: &Value) -> Value {
    let mut out = json!({
        "name": u["name"],
        "transport": u["transport"],
        "enabled": u["isEnabled"],
        "description": u["description"],
        "session_mode": "stateless",
    });
    if let Some(url) = u["url"].as_str() {
        out["url"] = json!(url);
    }
    if let Some(command) = u["command"].as_str() {
        out["command"] = json!(command);
        out["args"] = u["args"].clone();
        let env: Map<String, Value> = u["envKeys"]
            .as_array()
            .map(|keys| keys.iter().filter_map(Value::as_str).map(|k| (k.to_string(), json!(""))).collect())
            .unwrap_or_default();
        out["env"] = Value::Object(env);
    }
    out
}

/// `GET /api/v0/servers`.
pub async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    Ok(Json(Value::Array(upstreams(&r, &org).await?.iter().map(server_view).collect())))
}

/// The `create_upstream` input of a registration.
fn create_input(input: &Register) -> ApiResult<Value> {
    if !valid_name(&input.name) {
        return Err(ApiError::bad_request(format!(
            "invalid server name: '{}' must follow the regular expression ^[a-zA-Z0-9_-]+$ (without {SEPARATOR})",
            input.name
        )));
    }
    if input.oauth_redirect_uri.is_some()
        || input.oauth_client_id.is_some()
        || input.oauth_client_secret.is_some()
        || input.oauth_scopes.is_some()
    {
        return Err(ApiError::unprocessable(
            "upstream OAuth is authorized through Gatehouse's own API (POST /api/orgs/{org}/upstreams/{upstreamId}/authorize)",
        ));
    }
    if let Some(mode) = input.session_mode.as_deref().filter(|m| !matches!(*m, "stateless" | "stateful")) {
        return Err(ApiError::bad_request(format!("invalid session_mode {mode:?}: stateless or stateful")));
    }
    let mut create = json!({
        "name": input.name,
        "description": input.description,
        "transport": input.transport,
        "approvalPolicy": "auto_approve",
    });
    match input.transport.as_str() {
        "streamable_http" | "sse" => {
            let url = input.url.as_deref().filter(|u| !u.is_empty());
            create["url"] =
                json!(url.ok_or_else(|| ApiError::bad_request("url is required for this transport"))?);
            if let Some(headers) = &input.headers {
                create["requestHeaders"] = json!(headers);
            }
            if let Some(token) = input.bearer_token.as_deref().filter(|t| !t.is_empty()) {
                create["auth"] = json!({"type": "bearer", "credential": token});
            }
        }
        "stdio" => {
            let command = input.command.as_deref().filter(|c| !c.is_empty());
            create["command"] =
                json!(command.ok_or_else(|| ApiError::bad_request("command is required for stdio"))?);
            create["args"] = json!(input.args.clone().unwrap_or_default());
            if let Some(env) = &input.env {
                create["env"] = json!(env);
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid transport {other:?}: streamable_http, sse or stdio"
            )));
        }
    }
    Ok(create)
}

/// `POST /api/v0/servers[?force=true]`: 201 `{"server": …}`.
pub async fn register(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(force): Query<Force>,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let input: Register = crate::api::compat::input(&body)?;
    let create = create_input(&input)?;
    let force = matches!(force.force.as_deref(), Some("true" | "1"));
    if force {
        if let Ok(existing) = upstream_named(&r, &org, &input.name).await {
            remove(&r, &org, &existing).await?;
        }
    }
    let proxy =
        proxy_server(&r, &org, true).await?.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no proxy")))?;
    let made = r.run("create_upstream", &[("org", &org)], create).await?;
    let upstream = &made["upstream"];
    let id = upstream["upstreamId"].as_str().unwrap_or_default();
    let attach = json!({"prefix": prefix_of(&input.name)});
    if let Err(e) =
        r.run("attach_upstream", &[("org", &org), ("serverId", &proxy), ("upstreamId", id)], attach).await
    {
        // Not registered at all rather than half: the upstream goes again.
        let _ = r.run("delete_upstream", &[("org", &org), ("upstreamId", id)], json!({})).await;
        return Err(e);
    }
    let mut server = server_view(upstream);
    if let Some(env) = &input.env {
        server["env"] = json!(env);
    }
    Ok((StatusCode::CREATED, Json(json!({"server": server}))).into_response())
}

/// Detaches an upstream from the proxy server and deletes it (409 while other servers of the
/// org still serve it).
async fn remove(r: &super::Runner, org: &str, upstream: &Value) -> ApiResult<()> {
    let id = upstream["upstreamId"].as_str().unwrap_or_default();
    if let Some(proxy) = proxy_server(r, org, false).await? {
        let detached = r
            .run("detach_upstream", &[("org", org), ("serverId", &proxy), ("upstreamId", id)], json!({}))
            .await;
        if let Err(e) = detached {
            if !matches!(e, ApiError::NotFound(_)) {
                return Err(e);
            }
        }
    }
    r.run("delete_upstream", &[("org", org), ("upstreamId", id)], json!({})).await?;
    Ok(())
}

/// `DELETE /api/v0/servers/{name}`: 204.
pub async fn deregister(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let upstream = upstream_named(&r, &org, &name).await?;
    remove(&r, &org, &upstream).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enables or disables a server: `{name, tools_affected, prompts_affected}`.
async fn set_enabled(
    state: AppState,
    registry: Arc<Registry>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    name: String,
    enabled: bool,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    let org = org(&r).await?;
    let upstream = upstream_named(&r, &org, &name).await?;
    let id = upstream["upstreamId"].as_str().unwrap_or_default();
    r.run("update_upstream", &[("org", &org), ("upstreamId", id)], json!({"isEnabled": enabled})).await?;
    let tools = r.run("list_upstream_tools", &[("org", &org), ("upstreamId", id)], json!({})).await?;
    let prefix = prefix_of(&name);
    let affected: Vec<String> = tools["tools"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|t| t["name"].as_str())
                .map(|t| format!("{prefix}{SEPARATOR}{t}"))
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(json!({"name": name, "tools_affected": affected, "prompts_affected": []})))
}

/// `POST /api/v0/servers/{name}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    set_enabled(state, registry, peer, headers, name, true).await
}

/// `POST /api/v0/servers/{name}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    set_enabled(state, registry, peer, headers, name, false).await
}
