//! The MCPJungle surface (docs/COMPATIBILITY.md): its REST API under `/api/v0` and its MCP
//! proxy endpoints, mapped onto an org of Gatehouse. An MCPJungle *server* is an upstream of the
//! org; its tools are served by the org's proxy server (slug [`PROXY_SLUG`]) under
//! `{name}__{tool}`, which is what the global `/mcp`, `/sse` and `/message` serve. The org is
//! the credential's (in dev mode, `default`). Tool groups (`groups.rs`) and clients with an allow
//! list (`access.rs`) are servers of the org composed of those upstreams.

mod access;
mod groups;
mod prompts;
mod proxy;
mod servers;
mod tools;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Extension};
use axum::http::HeaderMap;
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use super::Runner;
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// The slug of the server that serves every MCPJungle-registered upstream's tools.
pub const PROXY_SLUG: &str = "mcpjungle";
/// What separates an MCPJungle server's name from its tool's.
pub const SEPARATOR: &str = "__";

/// The routes, with the registry they run.
pub fn routes(registry: Arc<Registry>) -> Router<AppState> {
    Router::new()
        .route("/api/v0/servers", get(servers::list).post(servers::register))
        .route("/api/v0/servers/{name}", axum::routing::delete(servers::deregister))
        .route("/api/v0/servers/{name}/enable", post(servers::enable))
        .route("/api/v0/servers/{name}/disable", post(servers::disable))
        .route("/api/v0/tools", get(tools::list))
        .route("/api/v0/tool", get(tools::get))
        .route("/api/v0/tools/invoke", post(tools::invoke))
        .route("/api/v0/tools/enable", post(tools::enable))
        .route("/api/v0/tools/disable", post(tools::disable))
        .route("/api/v0/prompts", get(prompts::list))
        .route("/api/v0/prompt", get(prompts::get))
        .route("/api/v0/prompts/render", post(prompts::render))
        .route("/api/v0/tool-groups", get(groups::list).post(groups::create))
        .route("/api/v0/tool-groups/{name}", get(groups::get).put(groups::update).delete(groups::delete))
        .route("/api/v0/tool-groups/{name}/effective-tools", get(groups::effective_tools))
        .route("/api/v0/users", get(access::list_users).post(access::create_user))
        .route("/api/v0/users/whoami", get(access::whoami))
        .route(
            "/api/v0/users/{username}",
            axum::routing::put(access::update_user).delete(access::delete_user),
        )
        .route("/api/v0/clients", get(access::list_clients).post(access::create_client))
        .route(
            "/api/v0/clients/{name}",
            axum::routing::put(access::update_client).delete(access::delete_client),
        )
        .route("/mcp", any(proxy::mcp))
        .route("/v0/groups/{name}/mcp", any(proxy::group_mcp))
        .route("/v0/groups/{name}/sse", get(proxy::group_sse))
        .route("/v0/groups/{name}/message", post(proxy::group_message))
        .route("/sse", get(proxy::sse))
        .route("/message", post(proxy::message))
        .layer(Extension(registry))
}

/// A request's runner.
async fn runner(
    state: &AppState,
    registry: &Arc<Registry>,
    headers: &HeaderMap,
    peer: ConnectInfo<SocketAddr>,
) -> ApiResult<Runner> {
    Runner::of(state, registry, headers, Some(peer.0.ip())).await
}

/// Whether `name` is an MCPJungle server name: letters, digits, `-` and `_`, without the
/// separator.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.contains(SEPARATOR)
}

/// The prefix an upstream's tools are served under on the proxy server (Gatehouse's prefixes
/// are snake_case: `My-Server` serves `my_server__tool`).
pub fn prefix_of(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    let mut out = out.trim_end_matches('_').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "s_");
    }
    out.truncate(40);
    out.trim_end_matches('_').to_string()
}

/// The org's upstreams, as `list_upstreams` answers.
async fn upstreams(r: &Runner, org: &str) -> ApiResult<Vec<Value>> {
    let list = r.run("list_upstreams", &[("org", org)], json!({})).await?;
    Ok(list["upstreams"].as_array().cloned().unwrap_or_default())
}

/// The upstream named `name` (404 as MCPJungle says it).
async fn upstream_named(r: &Runner, org: &str, name: &str) -> ApiResult<Value> {
    upstreams(r, org).await?.into_iter().find(|u| u["name"] == name).ok_or(ApiError::NotFound("MCP server"))
}

/// The org's proxy server's id, made when `create` and it does not exist yet.
async fn proxy_server(r: &Runner, org: &str, create: bool) -> ApiResult<Option<String>> {
    let made = ("MCPJungle proxy", "Every MCP server registered through the MCPJungle API, at /mcp.");
    r.server_with_slug(org, PROXY_SLUG, create.then_some(made)).await
}

/// The org an MCPJungle request means ([`Runner::org`]). MCPJungle has one namespace, ready
/// after `/init`: an instance admin who has no org yet (right after `/init`) gets the `default`
/// org, made by `create_org` as them, at their first request.
async fn org(r: &Runner) -> ApiResult<String> {
    if let Some(crate::auth::Principal::User(user)) = &r.principal {
        if user.instance_admin && r.orgs_of_person().await?.is_empty() {
            let input = json!({"name": "Default", "slug": crate::bootstrap::DEFAULT_ORG_SLUG});
            let made = r.run("create_org", &[], input).await?;
            return made["org"]["orgId"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("create_org answered no id")));
        }
    }
    r.org().await
}
