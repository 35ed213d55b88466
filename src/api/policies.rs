//! Policies of a server (management tools `read_policy`, `update_policy` upsert, `delete_policy`):
//! `/api/orgs/{org}/servers/{serverId}/policies`. Rules in [`crate::domain::policy`]; the data
//! plane applies them in `gateway/policy.rs`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::{announce, server_of};
use crate::auth::Scope;
use crate::domain::policy::{self, PolicyAction, RateLimit, RateScope};
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::store::PolicyRecord;

/// A policy as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    policy_id: String,
    server_id: String,
    /// Glob over served tool names (`*` any run, `?` one character).
    tool_pattern: String,
    /// `allow` or `deny`; a matching deny wins over every allow.
    action: String,
    rate_limit: Option<RateLimit>,
    max_argument_bytes: Option<i64>,
    /// Validate arguments against the tool's inputSchema at the gateway.
    validate_arguments: bool,
    /// Whom the policy applies to: globs over a caller's identities — a signed-in person's
    /// e-mail (`*@example.com`), `client:<client id>`, `connection:<id>`, `key:<API key id>`.
    /// Empty: every caller.
    callers: Vec<String>,
    created_at: String,
    updated_at: String,
}

impl From<PolicyRecord> for Policy {
    fn from(p: PolicyRecord) -> Self {
        let rate_limit =
            match (p.rate_requests, p.rate_per_seconds, p.rate_scope.as_deref().and_then(RateScope::parse)) {
                (Some(requests), Some(per_seconds), Some(scope)) => {
                    Some(RateLimit { requests, per_seconds, scope })
                }
                _ => None,
            };
        Self {
            policy_id: p.id,
            server_id: p.server_id,
            tool_pattern: p.tool_pattern,
            action: p.action,
            rate_limit,
            max_argument_bytes: p.max_argument_bytes,
            validate_arguments: p.validate_arguments,
            callers: p.callers.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default(),
            created_at: time::iso(p.created_at),
            updated_at: time::iso(p.updated_at),
        }
    }
}

/// `{"policy": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PolicyEnvelope {
    policy: Policy,
}

/// `{"policies": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PolicyList {
    policies: Vec<Policy>,
}

/// Query of `read_policy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadPolicy {
    /// Only the policy of this pattern (404 if none).
    #[schemars(length(min = 1, max = 200), pattern(r"^[^\s\u0000-\u001F\u007F-\u009F]+$"))]
    tool_pattern: Option<String>,
}

/// Input of `update_policy`: the whole policy of a pattern.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePolicy {
    #[schemars(length(min = 1, max = 200), pattern(r"^[^\s\u0000-\u001F\u007F-\u009F]+$"))]
    tool_pattern: String,
    /// Default `allow`.
    action: Option<PolicyAction>,
    rate_limit: Option<RateLimit>,
    #[schemars(range(min = 1, max = 10_485_760))]
    max_argument_bytes: Option<i64>,
    /// Default false.
    validate_arguments: Option<bool>,
    /// Whom it applies to (globs over a caller's e-mail, `client:<id>`, `connection:<id>`,
    /// `key:<id>`); absent or empty: every caller.
    #[schemars(
        length(max = 20),
        inner(length(min = 1, max = 254), pattern(r"^[^\s\u0000-\u001F\u007F-\u009F]+$"))
    )]
    callers: Option<Vec<String>>,
}

/// Registers the policy operations.
pub fn register(r: &mut Registry) {
    let base = "/api/orgs/{org}/servers/{serverId}/policies";
    r.add(
        OpSpec::new(
            "read_policy",
            Method::GET,
            base,
            Access::Org(Scope::PoliciesRead),
            "Read one or all policies of a server.",
        ),
        read,
    );
    r.add(
        OpSpec::new(
            "update_policy",
            Method::PUT,
            base,
            Access::Org(Scope::PoliciesWrite),
            "Create or replace the policy of a tool pattern for its callers (upsert by toolPattern and callers).",
        ),
        update,
    );
    r.add(
        OpSpec::new(
            "delete_policy",
            Method::DELETE,
            "/api/orgs/{org}/servers/{serverId}/policies/{policyId}",
            Access::Org(Scope::PoliciesWrite),
            "Delete a policy of a server.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
}

async fn read(ctx: OpCtx, input: ReadPolicy) -> ApiResult<serde_json::Value> {
    let server = server_of(&ctx).await?;
    let all = ctx.state.store.policy_list(&server.org_id, &server.id).await?;
    let out = match input.tool_pattern {
        Some(pattern) => {
            // The pattern's policy for every caller, else its first for some callers.
            let mut of_pattern: Vec<_> = all.into_iter().filter(|p| p.tool_pattern == pattern).collect();
            of_pattern.sort_by_key(|p| p.callers.is_some());
            let one = of_pattern.into_iter().next().ok_or(ApiError::NotFound("policy"))?;
            serde_json::to_value(PolicyEnvelope { policy: one.into() })
        }
        None => serde_json::to_value(PolicyList { policies: all.into_iter().map(Policy::from).collect() }),
    };
    out.map_err(ApiError::internal)
}

async fn update(ctx: OpCtx, input: UpdatePolicy) -> ApiResult<PolicyEnvelope> {
    let server = server_of(&ctx).await?;
    let pattern = input.tool_pattern.trim().to_string();
    policy::validate(&pattern, input.rate_limit.as_ref(), input.max_argument_bytes)
        .map_err(ApiError::BadRequest)?;
    let mut callers = input.callers.filter(|c| !c.is_empty());
    if let Some(c) = &mut callers {
        policy::validate_callers(c).map_err(ApiError::BadRequest)?;
        // Sorted and once each: the same callers name the same policy however they are listed.
        c.sort();
        c.dedup();
    }
    let now = time::now_ms();
    let record = PolicyRecord {
        id: ids::new_id("pol"),
        org_id: server.org_id.clone(),
        server_id: server.id.clone(),
        tool_pattern: pattern,
        action: input.action.unwrap_or(PolicyAction::Allow).as_str().to_string(),
        rate_requests: input.rate_limit.map(|r| r.requests),
        rate_per_seconds: input.rate_limit.map(|r| r.per_seconds),
        rate_scope: input.rate_limit.map(|r| r.scope.as_str().to_string()),
        max_argument_bytes: input.max_argument_bytes,
        validate_arguments: input.validate_arguments.unwrap_or(false),
        callers: callers.map(|c| serde_json::Value::from(c).to_string()),
        created_at: now,
        updated_at: now,
    };
    let stored = ctx.state.store.policy_upsert(&record).await?;
    announce(&ctx, &server.id).await?;
    Ok(PolicyEnvelope { policy: stored.into() })
}

async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    let id = ctx.param("policyId")?;
    if !ctx.state.store.policy_delete(&server.org_id, &server.id, id).await? {
        return Err(ApiError::NotFound("policy"));
    }
    announce(&ctx, &server.id).await?;
    Ok(())
}
