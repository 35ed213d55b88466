//! Signed-in MCP clients, seen from the management side: who may sign in to a server (its
//! client access setting), the clients connected to a server (for its admins) and to oneself
//! (for the person who connected them), each revocable; and the OAuth clients an org's admins
//! register themselves for identity-provider style setups. The authorization server's own
//! endpoints are `api/oauth.rs`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::{announce, server_of};
use crate::auth::{Principal, Scope};
use crate::domain::client_access::SignIn;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::oauth::{OAuthError, clients};
use crate::store::{OAuthClientRecord, OAuthGrantRecord};

/// A server's client access.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientAccess {
    /// Who may connect an MCP client by signing in (OAuth), besides API keys: `off` (API keys
    /// only), `members` (people of the org) or `end_users` (the server's end users, by its
    /// end-user auth service).
    sign_in: SignIn,
}

/// A connected client: one person, one client, one server.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    connection_id: String,
    org_id: String,
    server_id: String,
    client_id: String,
    client_name: String,
    /// `member` or `end_user`.
    subject_kind: String,
    email: String,
    /// Space-separated: `mcp:read`, `mcp:call`.
    scopes: String,
    created_at: String,
    last_used_at: String,
}

impl From<OAuthGrantRecord> for Connection {
    fn from(g: OAuthGrantRecord) -> Self {
        Self {
            connection_id: g.id,
            org_id: g.org_id,
            server_id: g.server_id,
            client_id: g.client_id,
            client_name: g.client_name,
            subject_kind: g.subject_kind,
            email: g.email,
            scopes: g.scopes,
            created_at: time::iso(g.created_at),
            last_used_at: time::iso(g.last_used_at),
        }
    }
}

/// `{"connections": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionList {
    connections: Vec<Connection>,
}

/// An OAuth client an org registered (never its secret).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    client_id: String,
    client_name: String,
    redirect_uris: Vec<String>,
    /// `none` (public), `client_secret_post` or `client_secret_basic`.
    token_endpoint_auth_method: String,
    created_at: String,
}

impl From<OAuthClientRecord> for OAuthClient {
    fn from(c: OAuthClientRecord) -> Self {
        Self {
            redirect_uris: serde_json::from_str(&c.redirect_uris).unwrap_or_default(),
            client_id: c.id,
            client_name: c.name,
            token_endpoint_auth_method: c.auth_method,
            created_at: time::iso(c.created_at),
        }
    }
}

/// `{"clients": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OAuthClientList {
    clients: Vec<OAuthClient>,
}

/// Input of `create_oauth_client`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateOAuthClient {
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    client_name: String,
    /// Exact redirect URIs (https, loopback http, or an app's own scheme).
    #[schemars(length(min = 1, max = 10), inner(length(min = 1, max = 2048), url))]
    redirect_uris: Vec<String>,
    /// Whether the client keeps a secret (a server-side app); public clients (desktop, CLI) do not.
    #[serde(default)]
    confidential: bool,
}

/// A new client with its secret, shown once.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedOAuthClient {
    client: OAuthClient,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// Registers the operations.
pub fn register(r: &mut Registry) {
    let access = "/api/orgs/{org}/servers/{serverId}/client-access";
    r.add(
        OpSpec::new(
            "get_client_access",
            Method::GET,
            access,
            Access::Org(Scope::ServersRead),
            "Who may sign in to connect an MCP client to a server.",
        ),
        get_access,
    );
    r.add(
        OpSpec::new(
            "update_client_access",
            Method::PUT,
            access,
            Access::Org(Scope::ServersWrite),
            "Set who may sign in to connect an MCP client to a server.",
        ),
        put_access,
    );
    r.add(
        OpSpec::new(
            "list_server_connections",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/connections",
            Access::Org(Scope::KeysRead),
            "List the MCP clients people connected to a server by signing in.",
        ),
        list_server,
    );
    r.add(
        OpSpec::new(
            "revoke_server_connection",
            Method::DELETE,
            "/api/orgs/{org}/servers/{serverId}/connections/{connectionId}",
            Access::Org(Scope::KeysWrite),
            "Disconnect a client from a server: its tokens stop working at once.",
        )
        .status(StatusCode::NO_CONTENT),
        revoke_server,
    );
    r.add(
        OpSpec::new(
            "list_my_connections",
            Method::GET,
            "/api/me/connections",
            Access::Authenticated,
            "List the MCP clients you connected by signing in.",
        ),
        list_mine,
    );
    r.add(
        OpSpec::new(
            "revoke_my_connection",
            Method::DELETE,
            "/api/me/connections/{connectionId}",
            Access::Authenticated,
            "Disconnect one of your clients: its tokens stop working at once.",
        )
        .status(StatusCode::NO_CONTENT),
        revoke_mine,
    );
    r.add(
        OpSpec::new(
            "list_oauth_clients",
            Method::GET,
            "/api/orgs/{org}/oauth-clients",
            Access::Org(Scope::ServersRead),
            "List the OAuth clients the org registered.",
        ),
        list_clients,
    );
    r.add(
        OpSpec::new(
            "create_oauth_client",
            Method::POST,
            "/api/orgs/{org}/oauth-clients",
            Access::Org(Scope::ServersWrite),
            "Register an OAuth client for the org's servers (its secret is shown once).",
        )
        .status(StatusCode::CREATED),
        create_client,
    );
    r.add(
        OpSpec::new(
            "delete_oauth_client",
            Method::DELETE,
            "/api/orgs/{org}/oauth-clients/{clientId}",
            Access::Org(Scope::ServersWrite),
            "Delete an OAuth client the org registered.",
        )
        .status(StatusCode::NO_CONTENT),
        delete_client,
    );
}

async fn get_access(ctx: OpCtx, _: NoInput) -> ApiResult<ClientAccess> {
    let server = server_of(&ctx).await?;
    let stored = ctx.state.store.client_access_get(&server.id).await?;
    Ok(ClientAccess { sign_in: SignIn::parse(stored.as_deref()) })
}

async fn put_access(ctx: OpCtx, input: ClientAccess) -> ApiResult<ClientAccess> {
    let server = server_of(&ctx).await?;
    let now = time::now_ms();
    ctx.state.store.client_access_put(&server.org_id, &server.id, input.sign_in.as_str(), now).await?;
    announce(&ctx, &server.id).await?;
    Ok(input)
}

async fn list_server(ctx: OpCtx, _: NoInput) -> ApiResult<ConnectionList> {
    let server = server_of(&ctx).await?;
    let grants = ctx.state.store.oauth_grant_list_for_server(&server.id).await?;
    Ok(ConnectionList { connections: grants.into_iter().map(Connection::from).collect() })
}

async fn revoke_server(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    let id = ctx.param("connectionId")?;
    let grant = ctx.state.store.oauth_grant_get(id).await?;
    let grant = grant.filter(|g| g.server_id == server.id && g.revoked_at.is_none());
    revoke(&ctx, grant).await
}

/// The person behind a call: connections are a person's (a management token has none).
fn person(ctx: &OpCtx) -> ApiResult<Option<String>> {
    match ctx.principal()? {
        Principal::User(u) => Ok(Some(u.id.clone())),
        Principal::Dev => Ok(None),
        Principal::Token(_) => Err(ApiError::Forbidden("connections belong to a person: sign in".into())),
    }
}

async fn list_mine(ctx: OpCtx, _: NoInput) -> ApiResult<ConnectionList> {
    let Some(user) = person(&ctx)? else { return Ok(ConnectionList { connections: vec![] }) };
    let grants = ctx.state.store.oauth_grant_list_for_user(&user).await?;
    Ok(ConnectionList { connections: grants.into_iter().map(Connection::from).collect() })
}

async fn revoke_mine(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let user = person(&ctx)?;
    let grant = ctx.state.store.oauth_grant_get(ctx.param("connectionId")?).await?;
    let grant = grant.filter(|g| g.user_id.is_some() && g.user_id == user && g.revoked_at.is_none());
    if let Some(g) = &grant {
        ctx.set_audit_org(&g.org_id);
    }
    revoke(&ctx, grant).await
}

async fn revoke(ctx: &OpCtx, grant: Option<OAuthGrantRecord>) -> ApiResult<()> {
    let grant = grant.ok_or(ApiError::NotFound("connection"))?;
    ctx.state.store.oauth_grant_revoke(&grant.id, time::now_ms()).await?;
    ctx.state.announce(&format!("oauth_grant:{}", grant.id)).await?;
    Ok(())
}

async fn list_clients(ctx: OpCtx, _: NoInput) -> ApiResult<OAuthClientList> {
    let clients = ctx.state.store.oauth_client_list_for_org(&ctx.org()?.id).await?;
    Ok(OAuthClientList { clients: clients.into_iter().map(OAuthClient::from).collect() })
}

async fn create_client(ctx: OpCtx, input: CreateOAuthClient) -> ApiResult<CreatedOAuthClient> {
    let org = ctx.org()?.id.clone();
    let registration = clients::Registration {
        redirect_uris: Some(input.redirect_uris),
        client_name: Some(input.client_name),
        token_endpoint_auth_method: Some(
            if input.confidential { "client_secret_basic" } else { "none" }.into(),
        ),
        grant_types: None,
        response_types: None,
        application_type: None,
        client_uri: None,
        scope: None,
    };
    let made = clients::register(ctx.state.store.as_ref(), registration, Some(&org), time::now_ms())
        .await
        .map_err(|e| match e {
            OAuthError::Store(e) => e.into(),
            // What the schema cannot say (a URI's scheme and form): 422.
            other => ApiError::Unprocessable(other.description()),
        })?;
    Ok(CreatedOAuthClient { client_secret: made.secret, client: OAuthClient::from(made.record) })
}

async fn delete_client(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let org = &ctx.org()?.id;
    if !ctx.state.store.oauth_client_delete(org, ctx.param("clientId")?).await? {
        return Err(ApiError::NotFound("OAuth client"));
    }
    Ok(())
}
