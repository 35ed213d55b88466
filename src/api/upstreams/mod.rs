//! Upstream MCP servers: `/api/orgs/{org}/upstreams`, their discovered tools with approval,
//! refresh, and attaching them to servers. `docs/UPSTREAMS.md` is the design. `model.rs` holds
//! what the operations take and give; `lifecycle.rs`, `tools.rs` and `authorize_and_install.rs`
//! the handlers; this file registers them.

mod authorize_and_install;
mod connections;
mod lifecycle;
mod model;
mod oauth_model;
mod tools;

use axum::http::{Method, StatusCode};

use super::registry::{Access, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::domain::upstream::CredentialMode;
use crate::error::{ApiError, ApiResult};
use crate::gateway::upstream::exchange;
use crate::store::UpstreamRecord;
use crate::upstream::UpstreamError;

use authorize_and_install::*;
use lifecycle::*;
use model::*;
use tools::*;

/// Registers the upstream operations.
pub fn register(r: &mut Registry) {
    connections::register(r);
    r.add(
        OpSpec::new(
            "authorize_upstream",
            Method::GET,
            "/api/orgs/{org}/upstreams/{upstreamId}/authorize",
            Access::Org(Scope::UpstreamsWrite),
            "Start (or restart) OAuth authorization toward an upstream: returns the URL to open.",
        ),
        authorize_upstream,
    );
    r.add(
        OpSpec::new(
            "set_upstream_oauth_client",
            Method::PUT,
            "/api/orgs/{org}/upstreams/{upstreamId}/oauth-client",
            Access::Org(Scope::UpstreamsWrite),
            "Give the OAuth client registered by hand at an upstream's authorization server (instead of registration).",
        ),
        set_oauth_client,
    );
    r.add(
        OpSpec::new(
            "upstream_oauth_callback",
            Method::GET,
            crate::upstream::oauth::CALLBACK_PATH,
            Access::Public,
            "Where the authorization server returns: exchanges the code and connects the upstream.",
        )
        .redirect_from("returnTo"),
        oauth_callback,
    );
    r.add(
        OpSpec::new(
            "list_catalog",
            Method::GET,
            "/api/catalog",
            Access::Authenticated,
            "List the MCP servers that can be installed from a template.",
        ),
        list_catalog,
    );
    r.add(
        OpSpec::new(
            "install_template",
            Method::POST,
            "/api/orgs/{org}/upstreams/install-template",
            Access::Org(Scope::UpstreamsWrite),
            "Install an upstream from a catalogue template in one call.",
        )
        .status(StatusCode::CREATED),
        install_template,
    );
    r.add(
        OpSpec::new(
            "install_custom",
            Method::POST,
            "/api/orgs/{org}/upstreams/install-custom",
            Access::Org(Scope::UpstreamsWrite),
            "Install a custom upstream (the same as create_upstream).",
        )
        .status(StatusCode::CREATED),
        create,
    );
    let base = "/api/orgs/{org}/upstreams";
    let one = "/api/orgs/{org}/upstreams/{upstreamId}";
    let tools = "/api/orgs/{org}/upstreams/{upstreamId}/tools";
    let read = Access::Org(Scope::UpstreamsRead);
    let write = Access::Org(Scope::UpstreamsWrite);
    r.add(OpSpec::new("list_upstreams", Method::GET, base, read, "List upstream MCP servers."), list);
    r.add(
        OpSpec::new(
            "create_upstream",
            Method::POST,
            base,
            write,
            "Register an upstream MCP server and discover it.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(OpSpec::new("get_upstream", Method::GET, one, read, "Read an upstream."), get);
    r.add(OpSpec::new("update_upstream", Method::PATCH, one, write, "Change an upstream."), update);
    r.add(
        OpSpec::new(
            "delete_upstream",
            Method::DELETE,
            one,
            write,
            "Delete an upstream; its tools leave every server.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
    r.add(
        OpSpec::new(
            "list_upstream_tools",
            Method::GET,
            tools,
            read,
            "List an upstream's tools with their approval.",
        ),
        list_tools,
    );
    r.add(
        OpSpec::new(
            "refresh_upstream_tools",
            Method::POST,
            "/api/orgs/{org}/upstreams/{upstreamId}/tools/refresh",
            write,
            "Reconnect and rediscover an upstream's tools, prompts and resources.",
        ),
        refresh,
    );
    r.add(
        OpSpec::new(
            "update_upstream_tool",
            Method::PATCH,
            "/api/orgs/{org}/upstreams/{upstreamId}/tools/{toolName}",
            write,
            "Approve, reject, enable or disable an upstream tool.",
        ),
        update_tool,
    );
    let attach = "/api/orgs/{org}/servers/{serverId}/upstreams/{upstreamId}";
    r.add(
        OpSpec::new(
            "list_server_upstreams",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/upstreams",
            Access::Org(Scope::ServersRead),
            "List the upstreams attached to a server.",
        ),
        list_attachments,
    );
    r.add(
        OpSpec::new(
            "attach_upstream",
            Method::PUT,
            attach,
            Access::Org(Scope::ServersWrite),
            "Serve all or some of an upstream's tools from a server.",
        ),
        attach_upstream,
    );
    r.add(
        OpSpec::new(
            "detach_upstream",
            Method::DELETE,
            attach,
            Access::Org(Scope::ServersWrite),
            "Stop serving an upstream's tools from a server.",
        )
        .status(StatusCode::NO_CONTENT),
        detach_upstream,
    );
}

pub(super) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg)
}

/// The API error for an upstream failure during a management call.
pub(super) fn upstream_error(e: UpstreamError) -> ApiError {
    match e {
        UpstreamError::Config(m) => ApiError::BadRequest(m),
        other => ApiError::BadGateway(other.to_string()),
    }
}

pub(super) async fn view(ctx: &OpCtx, u: UpstreamRecord) -> ApiResult<Upstream> {
    let deps = ctx.state.store.attachments_of_upstream(&u.org_id, &u.id).await?;
    // A value that cannot be opened shows as absent rather than failing the listing.
    let opened = Opened::of(ctx, &u).unwrap_or_default();
    let exchanged = u.credential_mode == CredentialMode::PassthroughExchange.as_str();
    let org_id = u.org_id.clone();
    let mut view = Upstream::view(u, opened, deps.into_iter().map(|a| a.server_id).collect());
    if exchanged {
        view.token_exchange = Some(TokenExchange::of(exchange::issuer(&ctx.state, &org_id)));
    }
    Ok(view)
}

pub(super) async fn upstream_of(ctx: &OpCtx) -> ApiResult<UpstreamRecord> {
    let org_id = &ctx.org()?.id;
    let id = ctx.param("upstreamId")?;
    ctx.state.store.upstream_get(org_id, id).await?.ok_or(ApiError::NotFound("upstream"))
}
