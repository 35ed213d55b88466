//! The surfaces of other management APIs that Gatehouse speaks for (docs/COMPATIBILITY.md):
//! each is a thin mapping onto the operation registry — names, paths, envelopes — and never a
//! second implementation of a rule. [`Runner`] is how they call an operation: the same
//! [`super::dispatch::invoke`] as REST, so org access, scopes and audit are the registry's.

pub mod installations;
pub mod management_tools;
pub mod mcp_servers;
pub mod mcpjungle;
pub mod openapi;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::dispatch::{self, Call};
use super::registry::Registry;
use crate::app::AppState;
use crate::auth::{self, Principal};
use crate::error::{ApiError, ApiResult};

/// Runs registry operations for one request of a compatible surface.
pub struct Runner {
    pub state: AppState,
    registry: Arc<Registry>,
    pub principal: Option<Principal>,
    client_ip: Option<IpAddr>,
}

impl Runner {
    /// The runner of a request: its credential resolved as REST resolves it (503 before
    /// `/init`).
    pub async fn of(
        state: &AppState,
        registry: &Arc<Registry>,
        headers: &HeaderMap,
        client_ip: Option<IpAddr>,
    ) -> ApiResult<Self> {
        let mode = state.require_mode().await?;
        let principal = auth::authenticate(state.store.as_ref(), Some(mode), headers).await?;
        Ok(Self { state: state.clone(), registry: registry.clone(), principal, client_ip })
    }

    /// Runs the operation `name` with path parameters and input, as REST would.
    pub async fn run(&self, name: &str, params: &[(&str, &str)], input: Value) -> ApiResult<Value> {
        let op = self
            .registry
            .get(name)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no operation {name}")))?;
        let call = Call {
            principal: self.principal.clone(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect::<HashMap<_, _>>(),
            input: Ok(input),
            client_ip: self.client_ip,
            headers: HeaderMap::new(),
        };
        dispatch::invoke(&self.state, op, call).await
    }

    /// The org a request of a surface without orgs means: [`default_org`], or 401 without a
    /// credential, or a 400 that says how to choose one.
    pub async fn org(&self) -> ApiResult<String> {
        let principal = self.principal.as_ref().ok_or_else(|| {
            ApiError::Unauthorized("credentials required: Authorization: Bearer <token>".into())
        })?;
        if let Some(org) = default_org(&self.state, principal).await {
            return Ok(org);
        }
        Err(ApiError::bad_request(match self.orgs_of_person().await?.len() {
            0 => "this person belongs to no organization yet: create one (POST /api/orgs)",
            _ => "this person belongs to several organizations: use a management token of the one you mean",
        }))
    }

    /// The id of the org's server `slug`; made with `made` (name, description) when absent and
    /// given, else `None`.
    pub async fn server_with_slug(
        &self,
        org: &str,
        slug: &str,
        made: Option<(&str, &str)>,
    ) -> ApiResult<Option<String>> {
        let servers = self.run("list_servers", &[("org", org)], json!({})).await?;
        let found = servers["servers"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["slug"] == slug))
            .and_then(|s| s["serverId"].as_str())
            .map(str::to_string);
        let Some((name, description)) = made.filter(|_| found.is_none()) else { return Ok(found) };
        let input = json!({"name": name, "slug": slug, "description": description});
        let created = self.run("create_server", &[("org", org)], input).await?;
        Ok(created["server"]["serverId"].as_str().map(str::to_string))
    }

    /// The orgs the person behind the request belongs to (none for other principals).
    pub async fn orgs_of_person(&self) -> ApiResult<Vec<crate::store::OrgRecord>> {
        match &self.principal {
            Some(Principal::User(user)) => Ok(self.state.store.org_list_for_user(&user.id).await?),
            _ => Ok(Vec::new()),
        }
    }
}

/// A JSON body as `T`, read strictly (a member given twice is refused); an empty body is `{}`.
pub fn input<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        super::strict_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid input: {e}")))?
    };
    serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("invalid input: {e}")))
}

/// A request body, within the configured limit (413 in the envelope beyond it).
pub async fn read(state: &AppState, headers: &HeaderMap, raw: axum::body::Body) -> ApiResult<bytes::Bytes> {
    crate::body::read_body(headers, raw, state.config.max_body_bytes).await
}

/// The org a call means when it names none: a management token's own org; in dev mode the
/// default org; a person's only org.
pub async fn default_org(state: &AppState, principal: &Principal) -> Option<String> {
    match principal {
        Principal::Token(token) => Some(token.org_id.clone()),
        Principal::Dev => Some(crate::bootstrap::DEFAULT_ORG_SLUG.to_string()),
        Principal::User(user) => match state.store.org_list_for_user(&user.id).await {
            Ok(orgs) if orgs.len() == 1 => orgs.into_iter().next().map(|o| o.id),
            _ => None,
        },
    }
}
