//! MCP server installations (docs/COMPATIBILITY.md): `/api/environments/{environment_id}/…` and
//! `/api/projects/{project_id}/mcp_server_installations…`, where an environment or project is
//! an org (id or slug) and an installation an upstream of it. Scopes are the native ones
//! (`project:read` and `project:write` are accepted as names of `upstreams:read` and
//! `upstreams:write`). Calls through `proxy` go to the org's installations server (slug
//! [`PROXY_SLUG`]), which serves every installation's approved tools.

mod tools;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Runner;
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// The server that serves every installation's tools.
pub const PROXY_SLUG: &str = "mcp-installations";
/// Installations listed at most per page.
pub const MAX_LIMIT: usize = 1000;
/// Installations per page unless `limit` says.
const DEFAULT_LIMIT: usize = 100;

/// The routes under both prefixes.
pub fn routes(registry: Arc<Registry>) -> Router<AppState> {
    let mut router = Router::new();
    for prefix in [
        "/api/environments/{scope}/mcp_server_installations",
        "/api/projects/{scope}/mcp_server_installations",
    ] {
        router = router
            .route(prefix, get(list).post(create))
            .route(&format!("{prefix}/install_custom"), post(install_custom))
            .route(&format!("{prefix}/install_template"), post(install_template))
            .route(&format!("{prefix}/authorize"), get(authorize))
            .route(&format!("{prefix}/{{id}}"), get(read).patch(update).delete(delete))
            .route(&format!("{prefix}/{{id}}/proxy"), post(tools::proxy))
            .route(&format!("{prefix}/{{id}}/tools"), get(tools::list))
            .route(&format!("{prefix}/{{id}}/tools/refresh"), post(tools::refresh))
            .route(&format!("{prefix}/{{id}}/tools/{{tool_name}}"), patch(tools::update));
    }
    router.layer(Extension(registry))
}

/// `?limit=&offset=`.
#[derive(Debug, Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Create (and `proxy`'s documented parameters).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallationInput {
    display_name: Option<String>,
    url: Option<String>,
    description: Option<String>,
    auth_type: Option<String>,
    is_enabled: Option<bool>,
}

/// `install_custom`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomInput {
    name: String,
    url: String,
    #[serde(default)]
    auth_type: Option<String>,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    install_source: Option<String>,
    #[serde(default)]
    posthog_code_callback_url: String,
}

/// `install_template`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    template_id: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    install_source: Option<String>,
    #[serde(default)]
    posthog_code_callback_url: String,
}

/// The request's runner and the org its environment or project names.
pub(super) async fn scoped(
    state: &AppState,
    registry: &Arc<Registry>,
    headers: &HeaderMap,
    peer: SocketAddr,
    scope: &str,
) -> ApiResult<(Runner, String)> {
    let r = Runner::of(state, registry, headers, Some(peer.ip())).await?;
    // The id or slug resolved to the id; whether the caller may reach it is for each operation
    // run in it (404 when it is not theirs, as natively).
    let org = state.store.org_find(scope).await?.ok_or(ApiError::NotFound("organization"))?;
    Ok((r, org.id))
}

/// An upstream as an installation.
fn view(u: &Value) -> Value {
    let auth = match u["auth"]["type"].as_str() {
        Some("oauth") => "oauth",
        Some("none") | None => "none",
        Some(_) => "api_key",
    };
    json!({
        "id": u["upstreamId"],
        "template_id": u["templateId"],
        "display_name": u["name"],
        "url": u["url"],
        "description": u["description"],
        "auth_type": auth,
        "is_enabled": u["isEnabled"],
        "status": u["status"],
        "last_error": u["lastError"],
        "needs_reauth": u["status"] == "needs_auth",
        "created_at": u["createdAt"],
        "updated_at": u["updatedAt"],
    })
}

/// `create_upstream` input for an HTTP installation.
fn create_input(
    name: &str,
    url: &str,
    description: &str,
    auth_type: &str,
    api_key: &str,
) -> ApiResult<Value> {
    let mut input =
        json!({"name": name, "url": url, "description": description, "transport": "streamable_http"});
    match auth_type {
        "none" | "" => {}
        "api_key" => {
            if api_key.is_empty() {
                return Err(ApiError::bad_request("api_key is required when auth_type is api_key"));
            }
            input["auth"] = json!({"type": "bearer", "credential": api_key});
        }
        "oauth" => input["auth"] = json!({"type": "oauth"}),
        other => return Err(ApiError::bad_request(format!("auth_type {other:?}: none, api_key or oauth"))),
    }
    Ok(input)
}

async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let offset = page.offset.unwrap_or(0);
    let all = r.run("list_upstreams", &[("org", &org)], json!({})).await?;
    let all = all["upstreams"].as_array().cloned().unwrap_or_default();
    let count = all.len();
    let results: Vec<Value> = all.iter().skip(offset).take(limit).map(view).collect();
    let link = |o: usize| {
        json!(format!(
            "{}/api/projects/{scope}/mcp_server_installations?limit={limit}&offset={o}",
            state.config.public_url
        ))
    };
    let next = if offset + limit < count { link(offset + limit) } else { Value::Null };
    let previous = if offset > 0 { link(offset.saturating_sub(limit)) } else { Value::Null };
    Ok(Json(json!({"count": count, "next": next, "previous": previous, "results": results})))
}

async fn create(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let input: InstallationInput = super::input(&body)?;
    let name = input.display_name.ok_or_else(|| ApiError::bad_request("display_name is required"))?;
    let url = input.url.ok_or_else(|| ApiError::bad_request("url is required"))?;
    let mut create = create_input(
        &name,
        &url,
        &input.description.unwrap_or_default(),
        input.auth_type.as_deref().unwrap_or("none"),
        "",
    )?;
    if let Some(enabled) = input.is_enabled {
        create["isEnabled"] = json!(enabled);
    }
    let made = installed(&r, &org, create).await?;
    Ok((StatusCode::CREATED, Json(view(&made))).into_response())
}

/// Creates the upstream and serves it on the installations server.
async fn installed(r: &Runner, org: &str, create: Value) -> ApiResult<Value> {
    let made = r.run("create_upstream", &[("org", org)], create).await?;
    let upstream = made["upstream"].clone();
    let id = upstream["upstreamId"].as_str().unwrap_or_default();
    let proxy = proxy_server(r, org).await?;
    let prefix = prefix_of(upstream["name"].as_str().unwrap_or_default(), id);
    let params = [("org", org), ("serverId", proxy.as_str()), ("upstreamId", id)];
    if let Err(e) = r.run("attach_upstream", &params, json!({"prefix": prefix})).await {
        let _ = r.run("delete_upstream", &[("org", org), ("upstreamId", id)], json!({})).await;
        return Err(e);
    }
    Ok(upstream)
}

/// The prefix an installation's tools are served under on the installations server: its id's
/// tail, which no other installation shares (display names may repeat or change).
pub(super) fn prefix_of(_name: &str, id: &str) -> String {
    let tail: String = id
        .chars()
        .rev()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("i{}", tail.to_ascii_lowercase())
}

/// The org's installations server, made at the first installation.
pub(super) async fn proxy_server(r: &Runner, org: &str) -> ApiResult<String> {
    let made = ("MCP server installations", "Every MCP server installation of the project, through /proxy.");
    Ok(r.server_with_slug(org, PROXY_SLUG, Some(made)).await?.unwrap_or_default())
}

async fn read(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let got = r.run("get_upstream", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    Ok(Json(view(&got["upstream"])))
}

async fn update(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id)): Path<(String, String)>,
    raw: axum::body::Body,
) -> ApiResult<Json<Value>> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let input: InstallationInput = super::input(&body)?;
    if input.url.is_some() || input.auth_type.is_some() {
        return Err(ApiError::bad_request("only display_name, description and is_enabled can be changed"));
    }
    let mut change = Map::new();
    if let Some(v) = input.display_name {
        change.insert("name".into(), json!(v));
    }
    if let Some(v) = input.description {
        change.insert("description".into(), json!(v));
    }
    if let Some(v) = input.is_enabled {
        change.insert("isEnabled".into(), json!(v));
    }
    let changed =
        r.run("update_upstream", &[("org", &org), ("upstreamId", &id)], Value::Object(change)).await?;
    Ok(Json(view(&changed["upstream"])))
}

async fn delete(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((scope, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    r.run("get_upstream", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    let proxy = proxy_server(&r, &org).await?;
    let detached = r
        .run("detach_upstream", &[("org", &org), ("serverId", &proxy), ("upstreamId", &id)], json!({}))
        .await;
    if let Err(e) = detached {
        if !matches!(e, ApiError::NotFound(_)) {
            return Err(e);
        }
    }
    r.run("delete_upstream", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer of `install_*`: 201 with the installation when it is ready; 200 with it and a
/// `redirect_url` to open when it needs the person to authorize it (OAuth), after which the
/// browser returns to `callback` when one is given (else to the console).
async fn installed_answer(r: &Runner, org: &str, upstream: Value, callback: &str) -> ApiResult<Response> {
    if upstream["auth"]["type"] != "oauth" || upstream["status"] == "connected" {
        return Ok((StatusCode::CREATED, Json(view(&upstream))).into_response());
    }
    let id = upstream["upstreamId"].as_str().unwrap_or_default();
    let url = start_authorization(r, org, id, callback).await?;
    let mut answer = view(&upstream);
    answer["redirect_url"] = json!(url);
    Ok((StatusCode::OK, Json(answer)).into_response())
}

/// Starts the OAuth flow of an installation: the URL to send the browser to.
async fn start_authorization(r: &Runner, org: &str, id: &str, callback: &str) -> ApiResult<String> {
    let input = if callback.is_empty() { json!({"console": true}) } else { json!({"returnUrl": callback}) };
    let started = r.run("authorize_upstream", &[("org", org), ("upstreamId", id)], input).await?;
    started["authorizationUrl"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("authorize_upstream answered no URL")))
}

/// `?installation_id=&template_id=&install_source=&posthog_code_callback_url=`.
#[derive(Debug, Deserialize)]
pub(super) struct AuthorizeQuery {
    install_source: Option<String>,
    installation_id: Option<String>,
    template_id: Option<String>,
    #[serde(default)]
    posthog_code_callback_url: String,
}

/// `GET …/authorize`: (re)starts an installation's OAuth flow and sends the browser to the
/// authorization server (302); it comes back through Gatehouse's callback to
/// `posthog_code_callback_url` (a loopback listener or under Gatehouse's URL) or the console.
async fn authorize(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(q): Query<AuthorizeQuery>,
) -> ApiResult<Response> {
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    check_source(q.install_source.as_deref())?;
    let id = match (q.installation_id, q.template_id) {
        (Some(id), None) => id,
        (None, Some(template)) => {
            crate::upstream::catalog::template(&template)
                .ok_or_else(|| ApiError::bad_request(format!("unknown template_id {template}")))?;
            return Err(ApiError::unprocessable(
                "catalogue templates run on this host and need no authorization: install_template installs them",
            ));
        }
        _ => return Err(ApiError::bad_request("pass installation_id or template_id")),
    };
    let url = start_authorization(&r, &org, &id, &q.posthog_code_callback_url).await?;
    let location = axum::http::HeaderValue::from_str(&url).map_err(ApiError::internal)?;
    Ok((StatusCode::FOUND, [(axum::http::header::LOCATION, location)]).into_response())
}

fn check_source(source: Option<&str>) -> ApiResult<()> {
    match source {
        None | Some("posthog" | "posthog-code") => Ok(()),
        Some(other) => {
            Err(ApiError::bad_request(format!("install_source {other:?}: posthog or posthog-code")))
        }
    }
}

async fn install_custom(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let input: CustomInput = super::input(&body)?;
    check_source(input.install_source.as_deref())?;
    let auth_type =
        input.auth_type.as_deref().unwrap_or(if input.api_key.is_empty() { "none" } else { "api_key" });
    let preregistered = !input.client_id.is_empty();
    if (preregistered || !input.client_secret.is_empty()) && (auth_type != "oauth" || !preregistered) {
        return Err(ApiError::bad_request("client_id (and client_secret) go with auth_type oauth"));
    }
    let create = create_input(&input.name, &input.url, &input.description, auth_type, &input.api_key)?;
    let made = installed(&r, &org, create).await?;
    if preregistered {
        // A client registered by hand at the authorization server is the one authorizations use.
        let id = made["upstreamId"].as_str().unwrap_or_default();
        let mut client = json!({"clientId": input.client_id});
        if !input.client_secret.is_empty() {
            client["clientSecret"] = json!(input.client_secret);
        }
        if let Err(e) = r.run("set_upstream_oauth_client", &[("org", &org), ("upstreamId", id)], client).await
        {
            let proxy = proxy_server(&r, &org).await?;
            let _ = r
                .run("detach_upstream", &[("org", &org), ("serverId", &proxy), ("upstreamId", id)], json!({}))
                .await;
            let _ = r.run("delete_upstream", &[("org", &org), ("upstreamId", id)], json!({})).await;
            return Err(e);
        }
    }
    installed_answer(&r, &org, made, &input.posthog_code_callback_url).await
}

async fn install_template(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    raw: axum::body::Body,
) -> ApiResult<Response> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let (r, org) = scoped(&state, &registry, &headers, peer.0, &scope).await?;
    let input: TemplateInput = super::input(&body)?;
    check_source(input.install_source.as_deref())?;
    let template = crate::upstream::catalog::template(&input.template_id).ok_or_else(|| {
        ApiError::bad_request(format!("unknown template_id {}; see GET /api/catalog", input.template_id))
    })?;
    let mut settings = Map::new();
    if !input.api_key.is_empty() {
        let secret: Vec<_> = template.settings.iter().filter(|s| s.secret).collect();
        let [only] = secret.as_slice() else {
            return Err(ApiError::unprocessable(
                "this template takes no single API key: install it natively with its settings",
            ));
        };
        settings.insert(only.name.to_string(), json!(input.api_key));
    }
    let made = r
        .run(
            "install_template",
            &[("org", &org)],
            json!({"templateId": input.template_id, "settings": settings}),
        )
        .await?;
    let upstream = made["upstream"].clone();
    let id = upstream["upstreamId"].as_str().unwrap_or_default();
    let proxy = proxy_server(&r, &org).await?;
    let prefix = prefix_of(upstream["name"].as_str().unwrap_or_default(), id);
    r.run(
        "attach_upstream",
        &[("org", &org), ("serverId", &proxy), ("upstreamId", id)],
        json!({"prefix": prefix}),
    )
    .await?;
    installed_answer(&r, &org, upstream, &input.posthog_code_callback_url).await
}
