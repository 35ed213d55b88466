//! `/api/mcp-servers` (docs/COMPATIBILITY.md): a registry of MCP servers with approval policies,
//! authenticated by `X-API-KEY` / `X-API-SECRET`, answering `{message, status, error, data}`.
//! A registered MCP server is an upstream of the credential's org: `config` maps onto
//! `create_upstream` / `update_upstream` (snake_case fields, `secret_token.secret_id` naming an
//! org secret by id or name), and an unreachable URL registers anyway, its state in `status`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Runner;
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::domain::time;
use crate::error::{ApiError, ApiResult};

/// The routes, with the registry they run.
pub fn routes(registry: Arc<Registry>) -> Router<AppState> {
    Router::new()
        .route("/api/mcp-servers", get(list).post(create))
        .route("/api/mcp-servers/{id}", get(read).put(update).patch(update).delete(delete))
        .layer(Extension(registry))
}

/// `{"config": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    config: Config,
}

/// `secret_token`: an org secret holding the bearer token sent to the server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretToken {
    secret_id: String,
}

/// The `config` of a registration (all optional on update).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    name: Option<String>,
    url: Option<String>,
    description: Option<String>,
    approval_policy: Option<String>,
    transport: Option<String>,
    request_headers: Option<BTreeMap<String, String>>,
    secret_token: Option<SecretToken>,
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    is_enabled: Option<bool>,
    timeout_ms: Option<i64>,
}

/// A failure in this surface's envelope, with the status it stands for.
struct Failure(ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let e = self.0;
        if let ApiError::Internal(inner) = &e {
            tracing::error!(error = ?inner, "mcp-servers request failed");
        }
        let body = json!({"message": e.to_string(), "status": "error", "error": e.code(), "data": null});
        let mut response = (e.status(), Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = e {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

fn success(status: StatusCode, message: &str, data: Value) -> Response {
    (status, Json(json!({"message": message, "status": "success", "error": null, "data": data})))
        .into_response()
}

/// The request's runner: `X-API-SECRET` (or `X-API-KEY` alone) is a management token or a
/// person's platform token; with both, `X-API-KEY` is that token itself or its id.
async fn runner(
    state: &AppState,
    registry: &Arc<Registry>,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Runner, Failure> {
    let header =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let (key, secret) = (header("x-api-key"), header("x-api-secret"));
    let mut auth = headers.clone();
    if let Some(token) = secret.or(key) {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ApiError::Unauthorized("invalid X-API-SECRET".into()))?;
        auth.insert(header::AUTHORIZATION, value);
    }
    let r = Runner::of(state, registry, &auth, Some(peer.ip())).await?;
    if let (Some(key), Some(secret)) = (key, secret) {
        let id = match &r.principal {
            Some(Principal::Token(t)) => Some(t.id.as_str()),
            _ => None,
        };
        if key != secret && Some(key) != id {
            return Err(ApiError::Unauthorized("X-API-KEY does not belong to X-API-SECRET".into()).into());
        }
    }
    Ok(r)
}

/// Our transport names for theirs (`SSE`, `STREAMABLE_HTTP`/`HTTP`, `STDIO`).
fn transport_in(raw: &str) -> Result<&'static str, ApiError> {
    match raw.to_ascii_lowercase().replace('-', "_").as_str() {
        "sse" => Ok("sse"),
        "streamable_http" | "http" | "streamablehttp" => Ok("streamable_http"),
        "stdio" => Ok("stdio"),
        _ => Err(ApiError::bad_request(format!("transport {raw:?}: SSE, STREAMABLE_HTTP or STDIO"))),
    }
}

fn transport_out(ours: &str) -> &'static str {
    match ours {
        "sse" => "SSE",
        "stdio" => "STDIO",
        _ => "STREAMABLE_HTTP",
    }
}

/// The org secret a `secret_id` names, by id or by name.
async fn secret_of(r: &Runner, org: &str, named: &str) -> ApiResult<String> {
    let list = r.run("list_provider_keys", &[("org", org)], json!({})).await?;
    list["secrets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["secretId"] == named || s["name"] == named)
        .and_then(|s| s["secretId"].as_str().map(str::to_string))
        .ok_or_else(|| {
            ApiError::unprocessable(format!(
                "secret_token.secret_id {named:?} names no secret of this organization"
            ))
        })
}

/// `config` as `create_upstream` / `update_upstream` input.
async fn upstream_input(r: &Runner, org: &str, c: Config) -> ApiResult<Value> {
    let mut input = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        input.insert(k.to_string(), v);
    };
    if let Some(v) = c.name {
        put("name", json!(v));
    }
    if let Some(v) = c.url {
        put("url", json!(v));
    }
    if let Some(v) = c.description {
        put("description", json!(v));
    }
    if let Some(v) = c.approval_policy {
        put("approvalPolicy", json!(v));
    }
    if let Some(v) = c.transport {
        put("transport", json!(transport_in(&v)?));
    }
    if let Some(v) = c.request_headers {
        put("requestHeaders", json!(v));
    }
    if let Some(v) = c.command {
        put("command", json!(v));
    }
    if let Some(v) = c.args {
        put("args", json!(v));
    }
    if let Some(v) = c.env {
        put("env", json!(v));
    }
    if let Some(v) = c.is_enabled {
        put("isEnabled", json!(v));
    }
    if let Some(v) = c.timeout_ms {
        put("timeoutMs", json!(v));
    }
    if let Some(secret) = c.secret_token {
        let id = secret_of(r, org, &secret.secret_id).await?;
        put("auth", json!({"type": "bearer", "secretId": id}));
    }
    Ok(Value::Object(input))
}

/// An upstream as this surface shows it.
async fn view(r: &Runner, org: &str, u: &Value) -> ApiResult<Value> {
    let id = u["upstreamId"].as_str().unwrap_or_default();
    let tools = r.run("list_upstream_tools", &[("org", org), ("upstreamId", id)], json!({})).await?;
    let hashes: Vec<Value> = tools["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["approvalState"] == "approved")
        .filter_map(|t| t["approvedHash"].as_str().map(|h| json!(h)))
        .collect();
    let ms = |field: &str| u[field].as_str().and_then(time::parse_iso).map_or(Value::Null, Value::from);
    let principal = r.principal.as_ref();
    let me = principal.map(|p| {
        let a = p.actor();
        a.id.map_or_else(|| a.kind.to_string(), |i| format!("{}:{i}", a.kind))
    });
    let is_creator = me.is_some() && u["createdBy"].as_str() == me.as_deref();
    let record = r.state.store.org_find(org).await?.ok_or(ApiError::NotFound("organization"))?;
    let may_write = match principal {
        Some(p) => {
            p.access(r.state.store.as_ref(), record).await?.is_some_and(|a| a.allows(Scope::UpstreamsWrite))
        }
        None => false,
    };
    let role = if may_write { "admin" } else { "member" };
    let (creator_email, creator_name) = creator(r, org, u["createdBy"].as_str()).await?;
    let config = json!({
        "tool_approval_hashes": hashes,
        "approval_policy": u["approvalPolicy"],
        "name": u["name"],
        "request_headers": u["requestHeaders"],
        "description": u["description"],
        "transport": transport_out(u["transport"].as_str().unwrap_or_default()),
        "url": u["url"],
    });
    Ok(json!({
        "id": id,
        "organization_id": u["orgId"],
        "url": u["url"],
        "name": u["name"],
        "approval_policy": u["approvalPolicy"],
        "transport": transport_out(u["transport"].as_str().unwrap_or_default()),
        "description": u["description"],
        "request_headers": u["requestHeaders"],
        "is_creator": is_creator,
        "role": role,
        "created_at": ms("createdAt"),
        "updated_at": ms("updatedAt"),
        "tool_approval_hashes": hashes,
        "dependent_agents": u["dependentServers"],
        "config": config,
        "access_info": {"role": role, "creator_email": creator_email, "creator_name": creator_name,
                        "is_creator": is_creator},
        "metadata": {"owner_user_id": u["createdBy"].as_str().and_then(|c| c.strip_prefix("user:")),
                     "created_at": ms("createdAt")},
        "status": u["status"],
        "last_error": u["lastError"],
    }))
}

/// Who registered an upstream: a person's e-mail, or a token's name.
async fn creator(r: &Runner, org: &str, created_by: Option<&str>) -> ApiResult<(Value, Value)> {
    let store = r.state.store.as_ref();
    Ok(match created_by.and_then(|c| c.split_once(':')) {
        Some(("user", id)) => match store.user_get(id).await? {
            Some(u) => (json!(u.email), json!(u.email)),
            None => (Value::Null, Value::Null),
        },
        Some(("token", id)) => match store.token_get(org, id).await? {
            Some(t) => (Value::Null, json!(t.name)),
            None => (Value::Null, Value::Null),
        },
        _ => (Value::Null, Value::Null),
    })
}

/// `POST /api/mcp-servers`: 201.
async fn create(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Body,
) -> Result<Response, Failure> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer.0).await?;
    let org = r.org().await?;
    let config = crate::api::compat::input::<Envelope>(&body)?.config;
    if config.name.is_none() || config.transport.is_none() {
        return Err(ApiError::bad_request("config.name and config.transport are required").into());
    }
    let input = upstream_input(&r, &org, config).await?;
    let made = r.run("create_upstream", &[("org", &org)], input).await?;
    let data = view(&r, &org, &made["upstream"]).await?;
    Ok(success(StatusCode::CREATED, "MCP server created successfully", data))
}

/// `GET /api/mcp-servers`.
async fn list(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let r = runner(&state, &registry, &headers, peer.0).await?;
    let org = r.org().await?;
    let listed = r.run("list_upstreams", &[("org", &org)], json!({})).await?;
    let mut data = Vec::new();
    for u in listed["upstreams"].as_array().into_iter().flatten() {
        data.push(view(&r, &org, u).await?);
    }
    Ok(success(StatusCode::OK, "MCP servers retrieved successfully", Value::Array(data)))
}

/// `GET /api/mcp-servers/{id}`.
async fn read(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let r = runner(&state, &registry, &headers, peer.0).await?;
    let org = r.org().await?;
    let got = r.run("get_upstream", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    Ok(success(StatusCode::OK, "MCP server retrieved successfully", view(&r, &org, &got["upstream"]).await?))
}

/// `PUT` or `PATCH /api/mcp-servers/{id}`: the fields of `config` given change.
async fn update(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Body,
) -> Result<Response, Failure> {
    let body = crate::api::compat::read(&state, &headers, raw).await?;
    let r = runner(&state, &registry, &headers, peer.0).await?;
    let org = r.org().await?;
    let input = upstream_input(&r, &org, crate::api::compat::input::<Envelope>(&body)?.config).await?;
    let changed = r.run("update_upstream", &[("org", &org), ("upstreamId", &id)], input).await?;
    Ok(success(
        StatusCode::OK,
        "MCP server updated successfully",
        view(&r, &org, &changed["upstream"]).await?,
    ))
}

/// `DELETE /api/mcp-servers/{id}`.
async fn delete(
    State(state): State<AppState>,
    Extension(registry): Extension<Arc<Registry>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let r = runner(&state, &registry, &headers, peer.0).await?;
    let org = r.org().await?;
    r.run("delete_upstream", &[("org", &org), ("upstreamId", &id)], json!({})).await?;
    Ok(success(StatusCode::OK, "MCP server deleted successfully", Value::Null))
}
