//! Servers: `/api/orgs/{org}/servers` — virtual MCP endpoints at `/mcp/{org}/{slug}`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::store::ServerRecord;

/// `active` or `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerStatus {
    /// Serving.
    Active,
    /// Its MCP endpoint answers 403.
    Disabled,
}

/// A server as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    server_id: String,
    org_id: String,
    name: String,
    slug: String,
    description: String,
    status: String,
    created_at: String,
}

impl From<ServerRecord> for Server {
    fn from(s: ServerRecord) -> Self {
        Self {
            server_id: s.id,
            org_id: s.org_id,
            name: s.name,
            slug: s.slug,
            description: s.description,
            status: s.status,
            created_at: time::iso(s.created_at),
        }
    }
}

/// `{"server": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerEnvelope {
    server: Server,
}

/// `{"servers": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerList {
    servers: Vec<Server>,
}

/// Input of `create_server`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServer {
    /// Display name.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: String,
    /// URL name (`a-z0-9-`), unique in the org; derived from the name when omitted.
    #[schemars(pattern(crate::domain::text::SLUG_PATTERN))]
    slug: Option<String>,
    /// What the server offers.
    #[schemars(length(max = 2000), pattern(r"^[^\u0000]*$"))]
    description: Option<String>,
}

/// Input of `update_server`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServer {
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: Option<String>,
    #[schemars(pattern(crate::domain::text::SLUG_PATTERN))]
    slug: Option<String>,
    #[schemars(length(max = 2000), pattern(r"^[^\u0000]*$"))]
    description: Option<String>,
    status: Option<ServerStatus>,
}

/// Registers the server operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "list_servers",
            Method::GET,
            "/api/orgs/{org}/servers",
            Access::Org(Scope::ServersRead),
            "List the org's servers.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "create_server",
            Method::POST,
            "/api/orgs/{org}/servers",
            Access::Org(Scope::ServersWrite),
            "Create a server (an MCP endpoint).",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(
        OpSpec::new(
            "get_server",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}",
            Access::Org(Scope::ServersRead),
            "Read a server.",
        ),
        get,
    );
    r.add(
        OpSpec::new(
            "update_server",
            Method::PATCH,
            "/api/orgs/{org}/servers/{serverId}",
            Access::Org(Scope::ServersWrite),
            "Rename, describe, enable or disable a server.",
        ),
        update,
    );
    r.add(
        OpSpec::new(
            "delete_server",
            Method::DELETE,
            "/api/orgs/{org}/servers/{serverId}",
            Access::Org(Scope::ServersDelete),
            "Delete a server with its tools and keys.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
}

fn description(raw: Option<String>) -> ApiResult<String> {
    let d = raw.unwrap_or_default();
    if d.chars().count() > 2000 {
        return Err(ApiError::bad_request("description must be at most 2000 characters"));
    }
    if d.contains('\0') {
        return Err(ApiError::bad_request("description must not contain NUL"));
    }
    Ok(d.trim().to_string())
}

fn slug(raw: &str) -> ApiResult<String> {
    if text::is_slug(raw) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::bad_request(
            "slug must be 2 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

/// The server of the path, in the caller's org (404 otherwise).
pub async fn server_of(ctx: &OpCtx) -> ApiResult<ServerRecord> {
    let org_id = &ctx.org()?.id;
    let server_id = ctx.param("serverId")?;
    ctx.state.store.server_get(org_id, server_id).await?.ok_or(ApiError::NotFound("server"))
}

/// Tells every node that a server (or something in it) changed.
pub async fn announce(ctx: &OpCtx, server_id: &str) -> ApiResult<()> {
    ctx.state.announce(&format!("server:{server_id}")).await?;
    Ok(())
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<ServerList> {
    let servers = ctx.state.store.server_list(&ctx.org()?.id).await?;
    Ok(ServerList { servers: servers.into_iter().map(Server::from).collect() })
}

async fn create(ctx: OpCtx, input: CreateServer) -> ApiResult<ServerEnvelope> {
    let name = text::display_name(&input.name, "name").map_err(ApiError::BadRequest)?;
    let slug = match input.slug {
        Some(s) => slug(&s)?,
        None => text::slug_for(&name, "server"),
    };
    let server = ServerRecord {
        id: ids::new_id("srv"),
        org_id: ctx.org()?.id.clone(),
        name,
        slug,
        description: description(input.description)?,
        status: "active".into(),
        created_at: time::now_ms(),
    };
    ctx.state.store.server_create(&server).await?;
    Ok(ServerEnvelope { server: server.into() })
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<ServerEnvelope> {
    Ok(ServerEnvelope { server: server_of(&ctx).await?.into() })
}

async fn update(ctx: OpCtx, input: UpdateServer) -> ApiResult<ServerEnvelope> {
    let mut server = server_of(&ctx).await?;
    if let Some(name) = input.name {
        server.name = text::display_name(&name, "name").map_err(ApiError::BadRequest)?;
    }
    if let Some(s) = input.slug {
        server.slug = slug(&s)?;
    }
    if input.description.is_some() {
        server.description = description(input.description)?;
    }
    if let Some(status) = input.status {
        server.status = match status {
            ServerStatus::Active => "active",
            ServerStatus::Disabled => "disabled",
        }
        .into();
    }
    ctx.state.store.server_update(&server).await?;
    announce(&ctx, &server.id).await?;
    Ok(ServerEnvelope { server: server.into() })
}

async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    let keys = ctx.state.store.key_list(&server.id).await?;
    ctx.state.store.server_delete(&server.org_id, &server.id).await?;
    announce(&ctx, &server.id).await?;
    for key in keys {
        ctx.state.announce(&format!("api_key:{}", key.key_hash)).await?;
    }
    Ok(())
}
