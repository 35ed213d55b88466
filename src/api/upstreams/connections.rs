//! People's own connections to per-person upstreams (`credentialMode: per_user`): a person
//! connects, reconnects or disconnects their account; admins see who is connected (never a
//! token). The flow is the upstream's OAuth flow, started for the calling person.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;

use super::authorize_and_install::{return_to, start};
use super::model::{Authorization, AuthorizeInput};
use super::upstream_of;
use crate::api::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::domain::time;
use crate::domain::upstream::CredentialMode;
use crate::error::{ApiError, ApiResult};
use crate::gateway::upstream::personal;
use crate::store::UpstreamRecord;

/// One person's connection to one per-person upstream.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyConnection {
    upstream_id: String,
    name: String,
    connected: bool,
    /// When they last authorized (or their token was last refreshed).
    updated_at: Option<String>,
    /// When their access token expires, if the upstream said (it is refreshed before).
    expires_at: Option<String>,
}

/// `{"connections": […]}`: the org's per-person upstreams, each with the caller's state.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MyConnections {
    connections: Vec<MyConnection>,
}

/// Someone connected to an upstream.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonConnection {
    /// Their e-mail.
    email: String,
    connected_at: String,
    updated_at: String,
    expires_at: Option<String>,
}

/// `{"connections": […]}`: who connected their account to an upstream.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PersonConnections {
    connections: Vec<PersonConnection>,
}

/// Registers the operations.
pub(super) fn register(r: &mut Registry) {
    let mine = "/api/orgs/{org}/upstreams/{upstreamId}/connection";
    r.add(
        OpSpec::new(
            "connect_upstream",
            Method::POST,
            mine,
            Access::Org(Scope::ToolsCall),
            "Connect your own account to a per-person upstream: returns the URL to authorize at.",
        ),
        connect,
    );
    r.add(
        OpSpec::new(
            "disconnect_upstream",
            Method::DELETE,
            mine,
            Access::Org(Scope::ToolsCall),
            "Disconnect your own account from a per-person upstream (its tokens are deleted).",
        )
        .status(StatusCode::NO_CONTENT),
        disconnect,
    );
    r.add(
        OpSpec::new(
            "list_my_upstream_connections",
            Method::GET,
            "/api/orgs/{org}/me/upstream-connections",
            Access::Org(Scope::ToolsCall),
            "List the org's per-person upstreams and whether your account is connected to each.",
        ),
        list_mine,
    );
    r.add(
        OpSpec::new(
            "list_upstream_connections",
            Method::GET,
            "/api/orgs/{org}/upstreams/{upstreamId}/connections",
            Access::Org(Scope::UpstreamsRead),
            "List who has connected their own account to a per-person upstream (never their tokens).",
        ),
        list_people,
    );
}

/// The calling person (a management token is none) and the per-person upstream of the path.
async fn person_and_upstream(ctx: &OpCtx) -> ApiResult<(String, UpstreamRecord)> {
    let person = ctx.principal()?.person().ok_or_else(|| {
        ApiError::unprocessable("only a person connects their own account; sign in rather than use a token")
    })?;
    let u = upstream_of(ctx).await?;
    match CredentialMode::parse(&u.credential_mode) {
        Some(CredentialMode::PerUser) => {}
        Some(CredentialMode::PassthroughExchange) => {
            return Err(ApiError::unprocessable(
                "this upstream's authorization server gives each person a token for Gatehouse's assertion (token exchange): there is nothing to connect",
            ));
        }
        _ => {
            return Err(ApiError::unprocessable(
                "this upstream is reached with one shared credential, which its admins authorize (GET …/authorize)",
            ));
        }
    }
    Ok((person, u))
}

async fn connect(ctx: OpCtx, input: AuthorizeInput) -> ApiResult<Authorization> {
    let (person, u) = person_and_upstream(&ctx).await?;
    let return_to = return_to(&ctx, input, personal::connect_path(&ctx.org()?.slug, &u.id))?;
    start(&ctx, &u, return_to, Some(person)).await
}

async fn disconnect(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let (person, u) = person_and_upstream(&ctx).await?;
    personal::forget(&ctx.state, &u.org_id, Some(&u.id), &person).await.map_err(super::upstream_error)?;
    Ok(())
}

async fn list_mine(ctx: OpCtx, _: NoInput) -> ApiResult<MyConnections> {
    let person = ctx.principal()?.person().ok_or_else(|| {
        ApiError::unprocessable("only a person has connections; sign in rather than use a token")
    })?;
    let org_id = &ctx.org()?.id;
    let store = ctx.state.store.as_ref();
    let mine = store.user_tokens_of_subject(org_id, &person).await?;
    let connections = store
        .upstream_list(org_id)
        .await?
        .into_iter()
        .filter(|u| u.credential_mode == CredentialMode::PerUser.as_str())
        .map(|u| {
            let token = mine.iter().find(|t| t.upstream_id == u.id);
            MyConnection {
                connected: token.is_some(),
                updated_at: token.map(|t| time::iso(t.updated_at)),
                expires_at: token.and_then(|t| t.expires_at).map(time::iso),
                upstream_id: u.id,
                name: u.name,
            }
        })
        .collect();
    Ok(MyConnections { connections })
}

async fn list_people(ctx: OpCtx, _: NoInput) -> ApiResult<PersonConnections> {
    let u = upstream_of(&ctx).await?;
    let connections = ctx
        .state
        .store
        .user_tokens_of_upstream(&u.id)
        .await?
        .into_iter()
        .map(|t| PersonConnection {
            email: t.subject,
            connected_at: time::iso(t.created_at),
            updated_at: time::iso(t.updated_at),
            expires_at: t.expires_at.map(time::iso),
        })
        .collect();
    Ok(PersonConnections { connections })
}
