//! Enterprise mode's users and clients. An MCPJungle **user** (role `user`: read and invoke) is
//! a management token of the org named [`USER_TOKEN`]` <username>` with the read scopes and
//! `tools:call`; its access token is the token. An MCPJungle **client** (an agent) is an API key:
//! of the proxy server when its allow list is `*`, else of a server of its own
//! ([`CLIENT_SLUG`]`-<name>`) composed of the upstreams it may use, so the global `/mcp` serves
//! it exactly those. Custom access tokens cannot be imported: Gatehouse makes every credential.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PROXY_SLUG, Runner, org, prefix_of, proxy_server, runner, upstream_named, valid_name};
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::auth::Principal;
use crate::config::Mode;
use crate::error::{ApiError, ApiResult};

/// The name of a user's token, before the username.
pub const USER_TOKEN: &str = "mcpjungle-user";
/// The slug of a client's own server, before its name.
pub const CLIENT_SLUG: &str = "mcpjungle-client";
/// The label of a client's key, before its name.
const CLIENT_KEY: &str = "mcpjungle-client";
/// What a user may do.
const USER_SCOPES: [&str; 3] = ["servers:read", "upstreams:read", "tools:call"];

/// `CreateOrUpdateUserRequest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    username: Option<String>,
    access_token: Option<String>,
}

/// `McpClient` as MCPJungle takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    allow_list: Vec<String>,
    access_token: Option<String>,
    #[serde(default)]
    is_custom_access_token: bool,
}

/// Users and clients exist in enterprise mode only, as MCPJungle says.
async fn enterprise(r: &Runner) -> ApiResult<()> {
    match r.state.mode().await? {
        Some(Mode::Enterprise) => Ok(()),
        _ => Err(ApiError::bad_request("this endpoint is only available in enterprise mode")),
    }
}

fn no_custom_token(token: Option<&str>) -> ApiResult<()> {
    match token {
        Some(t) if !t.is_empty() => Err(ApiError::unprocessable(
            "custom access tokens are not accepted: Gatehouse issues every credential",
        )),
        _ => Ok(()),
    }
}

/// The org's active user tokens, by username.
async fn user_tokens(r: &Runner, org: &str) -> ApiResult<Vec<(String, String)>> {
    let list = r.run("list_tokens", &[("org", org)], json!({})).await?;
    let prefix = format!("{USER_TOKEN} ");
    Ok(list["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] == "active")
        .filter_map(|t| {
            let user = t["name"].as_str()?.strip_prefix(&prefix)?;
            Some((user.to_string(), t["tokenId"].as_str()?.to_string()))
        })
        .collect())
}

async fn issue_user(r: &Runner, org: &str, username: &str) -> ApiResult<Value> {
    let input = json!({"name": format!("{USER_TOKEN} {username}"), "scopes": USER_SCOPES});
    let made = r.run("create_token", &[("org", org)], input).await?;
    Ok(json!({"username": username, "role": "user", "access_token": made["rawValue"]}))
}

/// `POST /api/v0/users`: `{username, role, access_token}`.
pub async fn create_user(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let input: UserInput = crate::api::compat::input(&body)?;
    no_custom_token(input.access_token.as_deref())?;
    let username = input
        .username
        .filter(|u| valid_name(u))
        .ok_or_else(|| ApiError::bad_request("username is required: letters, digits, '-' and '_'"))?;
    if user_tokens(&r, &org).await?.iter().any(|(u, _)| *u == username) {
        return Err(ApiError::conflict(format!("user {username} already exists")));
    }
    Ok((StatusCode::CREATED, Json(issue_user(&r, &org, &username).await?)).into_response())
}

/// `GET /api/v0/users`: the org's people (admins `admin`, members `user`) and its users.
pub async fn list_users(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let members = r.run("list_members", &[("org", &org)], json!({})).await?;
    let mut out: Vec<Value> = members["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| json!({"username": m["email"], "role": if m["role"] == "admin" { "admin" } else { "user" }}))
        .collect();
    out.extend(user_tokens(&r, &org).await?.into_iter().map(|(u, _)| json!({"username": u, "role": "user"})));
    Ok(Json(Value::Array(out)))
}

/// `PUT /api/v0/users/{username}`: a new access token (the old one stops working).
pub async fn update_user(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(username): Path<String>,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let input: UserInput = crate::api::compat::input(&body)?;
    no_custom_token(input.access_token.as_deref())?;
    let tokens = user_tokens(&r, &org).await?;
    let (_, id) = tokens.iter().find(|(u, _)| *u == username).ok_or(ApiError::NotFound("user"))?;
    r.run("revoke_token", &[("org", &org), ("tokenId", id)], json!({})).await?;
    Ok(Json(issue_user(&r, &org, &username).await?))
}

/// `DELETE /api/v0/users/{username}`: 204.
pub async fn delete_user(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let tokens = user_tokens(&r, &org).await?;
    let (_, id) = tokens.iter().find(|(u, _)| *u == username).ok_or(ApiError::NotFound("user"))?;
    r.run("revoke_token", &[("org", &org), ("tokenId", id)], json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v0/users/whoami`: `{username, role}`.
pub async fn whoami(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let me = match r.principal.as_ref() {
        Some(Principal::Token(t)) => match t.name.strip_prefix(&format!("{USER_TOKEN} ")) {
            Some(user) => json!({"username": user, "role": "user"}),
            None => {
                let admin = t.scopes.iter().any(|s| s == "upstreams:write");
                json!({"username": t.name, "role": if admin { "admin" } else { "user" }})
            }
        },
        Some(Principal::User(u)) => {
            let members = r.run("list_members", &[("org", &org)], json!({})).await?;
            let admin = members["members"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["email"] == u.email.as_str() && m["role"] == "admin");
            json!({"username": u.email, "role": if admin || u.instance_admin { "admin" } else { "user" }})
        }
        _ => {
            return Err(ApiError::Unauthorized("credentials required: Authorization: Bearer <token>".into()));
        }
    };
    Ok(Json(me))
}

/// A client's key, found among the keys of the proxy server and of its own server.
struct ClientKey {
    server_id: String,
    key_id: String,
    own_server: bool,
}

async fn client_keys(r: &Runner, org: &str) -> ApiResult<Vec<(String, ClientKey)>> {
    let servers = r.run("list_servers", &[("org", org)], json!({})).await?;
    let mut out = Vec::new();
    let label_prefix = format!("{CLIENT_KEY} ");
    for s in servers["servers"].as_array().into_iter().flatten() {
        let slug = s["slug"].as_str().unwrap_or_default();
        let own_server = slug.starts_with(&format!("{CLIENT_SLUG}-"));
        if slug != PROXY_SLUG && !own_server {
            continue;
        }
        let sid = s["serverId"].as_str().unwrap_or_default();
        let keys = r.run("list_keys", &[("org", org), ("serverId", sid)], json!({})).await?;
        for k in keys["keys"].as_array().into_iter().flatten().filter(|k| k["status"] == "active") {
            if let Some(name) = k["label"].as_str().and_then(|l| l.strip_prefix(&label_prefix)) {
                let key = ClientKey {
                    server_id: sid.to_string(),
                    key_id: k["keyId"].as_str().unwrap_or_default().to_string(),
                    own_server,
                };
                out.push((name.to_string(), key));
            }
        }
    }
    Ok(out)
}

/// The allow list of a client: `*`, or the upstreams attached to its own server.
async fn allow_list(r: &Runner, org: &str, key: &ClientKey) -> ApiResult<Vec<String>> {
    if !key.own_server {
        return Ok(vec!["*".into()]);
    }
    let attached =
        r.run("list_server_upstreams", &[("org", org), ("serverId", &key.server_id)], json!({})).await?;
    let names = super::upstreams(r, org).await?;
    Ok(attached["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| names.iter().find(|u| u["upstreamId"] == a["upstreamId"]))
        .filter_map(|u| u["name"].as_str().map(str::to_string))
        .collect())
}

/// Attaches exactly `allowed` to a client's own server.
async fn compose(r: &Runner, org: &str, sid: &str, allowed: &[String]) -> ApiResult<()> {
    let mut wanted = Vec::new();
    for name in allowed {
        let u = upstream_named(r, org, name).await?;
        wanted.push((u["upstreamId"].as_str().unwrap_or_default().to_string(), name.clone()));
    }
    let attached = r.run("list_server_upstreams", &[("org", org), ("serverId", sid)], json!({})).await?;
    for a in attached["attachments"].as_array().into_iter().flatten() {
        let id = a["upstreamId"].as_str().unwrap_or_default();
        if !wanted.iter().any(|(w, _)| w == id) {
            r.run("detach_upstream", &[("org", org), ("serverId", sid), ("upstreamId", id)], json!({}))
                .await?;
        }
    }
    for (id, name) in &wanted {
        let body = json!({"tools": null, "prefix": prefix_of(name)});
        r.run("attach_upstream", &[("org", org), ("serverId", sid), ("upstreamId", id)], body).await?;
    }
    Ok(())
}

/// `POST /api/v0/clients`: the client with its access token (shown once).
pub async fn create_client(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let input: ClientInput = crate::api::compat::input(&body)?;
    if input.is_custom_access_token {
        no_custom_token(Some("custom"))?;
    }
    no_custom_token(input.access_token.as_deref())?;
    let name = input
        .name
        .clone()
        .filter(|n| valid_name(n))
        .ok_or_else(|| ApiError::bad_request("name is required: letters, digits, '-' and '_'"))?;
    if client_keys(&r, &org).await?.iter().any(|(n, _)| *n == name) {
        return Err(ApiError::conflict(format!("client {name} already exists")));
    }
    let everything = input.allow_list.iter().any(|a| a == "*");
    let sid = if everything {
        proxy_server(&r, &org, true).await?.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no proxy")))?
    } else {
        for allowed in &input.allow_list {
            upstream_named(&r, &org, allowed).await?;
        }
        let slug = format!("{CLIENT_SLUG}-{}", super::groups::slug_of(&name));
        let made = r
            .run(
                "create_server",
                &[("org", &org)],
                json!({"name": format!("MCPJungle client {name}"), "slug": slug,
                  "description": input.description}),
            )
            .await?;
        let sid = made["server"]["serverId"].as_str().unwrap_or_default().to_string();
        if let Err(e) = compose(&r, &org, &sid, &input.allow_list).await {
            let _ = r.run("delete_server", &[("org", &org), ("serverId", &sid)], json!({})).await;
            return Err(e);
        }
        sid
    };
    let key = r
        .run(
            "create_key",
            &[("org", &org), ("serverId", &sid)],
            json!({"label": format!("{CLIENT_KEY} {name}")}),
        )
        .await?;
    let allow = if everything { vec!["*".to_string()] } else { input.allow_list.clone() };
    let client = json!({"name": name, "description": input.description, "access_token": key["rawValue"],
                        "is_custom_access_token": false, "allow_list": allow});
    Ok((StatusCode::CREATED, Json(client)).into_response())
}

/// `GET /api/v0/clients`.
pub async fn list_clients(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let mut out = Vec::new();
    for (name, key) in client_keys(&r, &org).await? {
        let allow = allow_list(&r, &org, &key).await?;
        out.push(
            json!({"name": name, "description": "", "is_custom_access_token": false, "allow_list": allow}),
        );
    }
    Ok(Json(Value::Array(out)))
}

/// `PUT /api/v0/clients/{name}`: a new allow list (among servers, for a client of its own).
pub async fn update_client(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let input: ClientInput = crate::api::compat::input(&body)?;
    no_custom_token(input.access_token.as_deref())?;
    let keys = client_keys(&r, &org).await?;
    let (_, key) = keys.iter().find(|(n, _)| *n == name).ok_or(ApiError::NotFound("client"))?;
    let everything = input.allow_list.iter().any(|a| a == "*");
    if everything == key.own_server {
        return Err(ApiError::unprocessable(
            "a client's allow list cannot switch between * and named servers: delete it and create it again",
        ));
    }
    if key.own_server {
        compose(&r, &org, &key.server_id, &input.allow_list).await?;
        r.run(
            "update_server",
            &[("org", &org), ("serverId", &key.server_id)],
            json!({"description": input.description}),
        )
        .await?;
    }
    let allow = allow_list(&r, &org, key).await?;
    Ok(Json(
        json!({"name": name, "description": input.description, "is_custom_access_token": false, "allow_list": allow}),
    ))
}

/// `DELETE /api/v0/clients/{name}`: 204; its key stops working at once.
pub async fn delete_client(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let r = runner(&state, &registry, &headers, peer).await?;
    enterprise(&r).await?;
    let org = org(&r).await?;
    let keys = client_keys(&r, &org).await?;
    let (_, key) = keys.iter().find(|(n, _)| *n == name).ok_or(ApiError::NotFound("client"))?;
    if key.own_server {
        r.run("delete_server", &[("org", &org), ("serverId", &key.server_id)], json!({})).await?;
    } else {
        let params =
            [("org", org.as_str()), ("serverId", key.server_id.as_str()), ("keyId", key.key_id.as_str())];
        r.run("archive_key", &params, json!({})).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
