//! The web console: server-rendered pages at `/`, for everything a person does by hand.
//!
//! Every page reads and every form changes through the operation registry
//! ([`ops`]), so the console can do nothing the REST API cannot, with the same scopes, errors
//! and audit events. `session.rs` says who is looking and guards every request (anti-forgery,
//! origin, headers), `context.rs` builds what a signed-in page starts from, `layout.rs` draws
//! the frame, `pages/` holds one file per part of the product. See `docs/CONSOLE.md`.

pub mod assets;
pub mod chart;
pub mod context;
pub mod diff;
pub mod fault;
pub mod form;
pub mod layout;
pub mod ops;
pub mod orgs;
pub mod pages;
pub mod session;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::html;
use serde::Deserialize;

use crate::api::registry::Registry;
use crate::app::AppState;
use context::Ctx;
use fault::Fault;
use pages::{
    accounts, attachments, audit, authorize, connections, end_user_accounts, imports, integrations, keys,
    logs, members, notifications, oauth_clients, plugins, policies, secrets, server_auth, servers, settings,
    sign_in, tools, upstream, upstreams, usage,
};
use session::Visitor;

/// The console's routes, guarded by [`session::guard`].
pub fn routes(state: AppState, registry: Arc<Registry>) -> Router<AppState> {
    let server = "/orgs/{org}/servers/{serverId}";
    Router::new()
        .route("/", get(home))
        .route("/ui", get(|| async { Redirect::permanent("/") }))
        .route("/dashboard", get(|| async { Redirect::permanent("/") }))
        .route("/switch", get(switch))
        .route("/sign-in", get(sign_in::show).post(sign_in::request_code))
        .route("/sign-in/verify", post(sign_in::verify_code))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/oauth/authorize", get(authorize::show).post(authorize::decide))
        .route("/oauth/authorize/code", post(authorize::request_code))
        .route("/orgs/{org}", get(org_home))
        .route("/orgs/{org}/servers", get(servers::list).post(servers::create))
        .route("/orgs/{org}/servers/new", get(servers::new))
        .route(server, get(servers::overview).post(servers::update))
        .route(&format!("{server}/delete"), post(servers::delete))
        .route(&format!("{server}/tools"), get(tools::list).post(tools::create))
        .route(&format!("{server}/tools/new"), get(tools::new))
        .route(&format!("{server}/tools/schema"), post(tools::schema))
        .route(&format!("{server}/tools/import"), document(imports::create).get(imports::new))
        .route(&format!("{server}/tools/import/preview"), document(imports::preview))
        .route(&format!("{server}/tools/imports"), get(imports::list))
        .route(&format!("{server}/tools/imports/{{importId}}/reimport"), get(imports::reimport))
        .route(&format!("{server}/tools/imports/{{importId}}/preview"), document(imports::reimport_preview))
        .route(&format!("{server}/tools/imports/{{importId}}/apply"), document(imports::reimport_apply))
        .route(&format!("{server}/tools/imports/{{importId}}/delete"), post(imports::delete))
        .route(&format!("{server}/tools/{{toolId}}/approve"), post(imports::approve))
        .route(&format!("{server}/tools/{{toolId}}"), get(tools::edit).post(tools::update))
        .route(&format!("{server}/tools/{{toolId}}/delete"), post(tools::delete))
        .route(&format!("{server}/keys"), get(keys::list).post(keys::create))
        .route(&format!("{server}/keys/{{keyId}}/archive"), post(keys::archive))
        .route(&format!("{server}/keys/{{keyId}}/delete"), post(keys::delete))
        .route(&format!("{server}/plugins"), get(plugins::list))
        .route(&format!("{server}/plugins/{{pluginId}}"), get(plugins::configure).post(plugins::install))
        .route(&format!("{server}/plugins/{{pluginId}}/enabled"), post(plugins::set_enabled))
        .route(&format!("{server}/plugins/{{pluginId}}/uninstall"), post(plugins::uninstall))
        .route(&format!("{server}/upstreams"), get(attachments::list))
        .route(&format!("{server}/upstreams/{{upstreamId}}"), post(attachments::attach))
        .route(&format!("{server}/upstreams/{{upstreamId}}/detach"), post(attachments::detach))
        .route("/orgs/{org}/upstreams", get(upstreams::list).post(upstreams::create))
        .route("/orgs/{org}/upstreams/new", get(upstreams::new))
        .route("/orgs/{org}/upstreams/catalog", get(upstreams::catalog).post(upstreams::install))
        .route("/orgs/{org}/upstreams/{upstreamId}", get(upstream::show))
        .route("/orgs/{org}/upstreams/{upstreamId}/refresh", post(upstream::refresh))
        .route("/orgs/{org}/upstreams/{upstreamId}/enabled", post(upstream::set_enabled))
        .route("/orgs/{org}/upstreams/{upstreamId}/delete", post(upstream::delete))
        .route("/orgs/{org}/upstreams/{upstreamId}/connect", post(upstream::connect))
        .route("/orgs/{org}/upstreams/{upstreamId}/oauth-client", post(upstream::set_client))
        .route("/orgs/{org}/upstreams/{upstreamId}/tools/{toolName}", post(upstream::update_tool))
        .route(
            "/connect/{org}/{serverId}/{upstreamId}",
            get(end_user_accounts::show).post(end_user_accounts::request_code),
        )
        .route("/connect/{org}/{serverId}/{upstreamId}/verify", post(end_user_accounts::verify))
        .route("/orgs/{org}/accounts", get(accounts::list))
        .route("/orgs/{org}/accounts/{upstreamId}", get(accounts::show))
        .route("/orgs/{org}/accounts/{upstreamId}/connect", post(accounts::connect))
        .route("/orgs/{org}/accounts/{upstreamId}/disconnect", post(accounts::disconnect))
        .route("/orgs/{org}/secrets", get(secrets::list).post(secrets::create))
        .route("/orgs/{org}/secrets/{secretId}", post(secrets::update))
        .route("/orgs/{org}/secrets/{secretId}/disable", post(secrets::disable))
        .route("/orgs/{org}/notifications", get(notifications::list))
        .route("/orgs/{org}/notifications/webhook", post(notifications::set_webhook))
        .route("/orgs/{org}/notifications/webhook/delete", post(notifications::delete_webhook))
        .route("/orgs/{org}/notifications/{notificationId}/read", post(notifications::mark_read))
        .route("/orgs/{org}/audit", get(audit::list))
        .route("/orgs/{org}/usage", get(usage::org))
        .route(&format!("{server}/usage"), get(usage::server))
        .route(&format!("{server}/logs"), get(logs::list))
        .route(&format!("{server}/logs/setting"), post(logs::set))
        .route(&format!("{server}/auth"), get(server_auth::show).post(server_auth::update))
        .route(&format!("{server}/auth/rotate"), post(server_auth::rotate))
        .route(&format!("{server}/integrations"), get(integrations::show))
        .route(&format!("{server}/integrations/revenuecat"), post(integrations::revenuecat))
        .route(&format!("{server}/integrations/revenuecat/refresh"), post(integrations::refresh))
        .route(&format!("{server}/integrations/posthog"), post(integrations::posthog))
        .route(&format!("{server}/integrations/app-check"), post(integrations::app_check))
        .route(&format!("{server}/client-access"), post(connections::update_access))
        .route(
            &format!("{server}/connections/{{connectionId}}/disconnect"),
            post(connections::disconnect_from_server),
        )
        .route(
            "/orgs/{org}/settings/account/connections/{connectionId}/disconnect",
            post(connections::disconnect_mine),
        )
        .route(&format!("{server}/policies"), get(policies::list).post(policies::set))
        .route(&format!("{server}/policies/{{policyId}}/delete"), post(policies::delete))
        .route("/orgs/{org}/settings/account", get(settings::account))
        .route("/orgs/{org}/settings/account/sign-out-everywhere", post(settings::sign_out_everywhere))
        .route("/orgs/{org}/settings/members", get(members::list).post(members::add))
        .route("/orgs/{org}/settings/members/{userId}", post(members::update))
        .route("/orgs/{org}/settings/members/{userId}/remove", post(members::remove))
        .route("/orgs/{org}/settings", get(|ctx: Ctx| async move { settings_home(ctx) }))
        .route("/orgs/{org}/settings/tokens", get(settings::tokens).post(settings::create))
        .route("/orgs/{org}/settings/oauth-clients", get(oauth_clients::list).post(oauth_clients::create))
        .route("/orgs/{org}/settings/oauth-clients/{clientId}/delete", post(oauth_clients::delete))
        .route("/orgs/{org}/settings/tokens/{tokenId}/revoke", post(settings::revoke))
        .layer(axum::middleware::from_fn_with_state(state, session::guard))
        .layer(Extension(ops::Operations::new(registry)))
        .route("/assets/{file}", get(assets::serve))
}

/// A POST route whose form carries an OpenAPI document: its body may be as large as the API
/// takes a document.
fn document<H, T>(handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    post(handler).layer(axum::extract::DefaultBodyLimit::max(crate::openapi::MAX_SET_BYTES + 64 * 1024))
}

/// `GET /`: the first org's servers, or sign-in.
async fn home(visitor: Visitor, ctx: Result<Ctx, Fault>) -> Result<Response, Fault> {
    if visitor.mode.is_none() {
        return Err(Fault::Api(crate::error::ApiError::NotInitialized));
    }
    let ctx = ctx?;
    match ctx.orgs.first() {
        Some(org) => Ok(Redirect::to(&format!("/orgs/{}/servers", org.slug)).into_response()),
        None => {
            let body = html! {
                div.empty {
                    h1 { "No organization yet" }
                    p { "You are signed in as " (ctx.who) " but belong to no organization. "
                        "Ask an admin of yours to add you, then reload this page." }
                }
            };
            Ok(ctx.page("Welcome", layout::Section::Servers, body))
        }
    }
}

/// `GET /orgs/{org}`.
async fn org_home(ctx: Ctx) -> Result<Response, Fault> {
    Ok(Redirect::to(&format!("/orgs/{}/servers", ctx.org()?.slug)).into_response())
}

fn settings_home(ctx: Ctx) -> Result<Response, Fault> {
    Ok(Redirect::to(&format!("/orgs/{}/settings/tokens", ctx.org()?.slug)).into_response())
}

#[derive(Deserialize)]
struct SwitchQuery {
    org: String,
}

/// `GET /switch?org=…`: the org switcher's target.
async fn switch(
    State(_state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SwitchQuery>,
) -> Result<Response, Fault> {
    let org = ctx
        .orgs
        .iter()
        .find(|o| o.slug == q.org || o.id == q.org)
        .ok_or(Fault::Api(crate::error::ApiError::NotFound("organization")))?;
    Ok(Redirect::to(&format!("/orgs/{}/servers", org.slug)).into_response())
}
