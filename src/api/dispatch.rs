//! Running an operation: the one path REST and `/api/mcp` share. Initialisation, access to the
//! org (404 for orgs that are not the caller's), scope (403), the handler, and the audit record
//! of every mutation all happen here, so no surface can skip them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::registry::{Access, OpCtx, Operation};
use crate::app::AppState;
use crate::auth::{OrgAccess, Principal};
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::store::AuditRecord;

/// One call of an operation, as either surface received it.
pub struct Call {
    /// The authenticated caller, if any.
    pub principal: Option<Principal>,
    /// Path parameters by name.
    pub params: HashMap<String, String>,
    /// Body or query input; a parse failure is answered only after the caller is authorised,
    /// so unauthenticated callers learn nothing from validation messages.
    pub input: ApiResult<Value>,
    /// The caller's address.
    pub client_ip: Option<IpAddr>,
    /// Request headers (REST), for public operations that check their own credentials.
    pub headers: axum::http::HeaderMap,
}

/// The outcome of checking a caller against an operation's access rule.
enum Authorization {
    /// Go ahead (with the caller's rights in the org, for org operations).
    Granted(Option<OrgAccess>),
    /// The org is the caller's but the scope is missing: refused and audited.
    Denied { org_id: String, error: ApiError },
}

/// Authorises and runs an operation, recording mutations in the audit log.
pub async fn invoke(state: &AppState, op: &Arc<Operation>, mut call: Call) -> ApiResult<Value> {
    state.require_mode().await?;
    let access = match authorize(state, op, &call).await? {
        Authorization::Granted(access) => access,
        Authorization::Denied { org_id, error } => {
            if op.spec.mutating() {
                record(state, op, &call, org_id, error.code()).await;
            }
            return Err(error);
        }
    };
    let audit_org = Arc::new(Mutex::new(access.as_ref().map(|a| a.org.id.clone())));
    let ctx = OpCtx::new(
        state.clone(),
        call.principal.clone(),
        access,
        call.params.clone(),
        call.client_ip,
        audit_org.clone(),
    )
    .with_headers(std::mem::take(&mut call.headers));
    let input = std::mem::replace(&mut call.input, Ok(Value::Null));
    let result = match input {
        Ok(input) => op.call(ctx, input).await,
        Err(err) => Err(err),
    };
    if op.spec.mutating() {
        let org_id = audit_org.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(org_id) = org_id {
            let outcome = result.as_ref().map_or_else(ApiError::code, |_| "success");
            record(state, op, &call, org_id, outcome).await;
        }
    }
    result
}

async fn authorize(state: &AppState, op: &Operation, call: &Call) -> ApiResult<Authorization> {
    match op.spec.access {
        Access::Public => Ok(Authorization::Granted(None)),
        Access::Authenticated => {
            require_principal(&call.principal)?;
            Ok(Authorization::Granted(None))
        }
        Access::Org(scope) => {
            let principal = require_principal(&call.principal)?;
            let key = call.params.get("org").map(String::as_str).unwrap_or_default();
            let org = state.store.org_find(key).await?.ok_or(ApiError::NotFound("organization"))?;
            let org_id = org.id.clone();
            let access = principal
                .access(state.store.as_ref(), org)
                .await?
                .ok_or(ApiError::NotFound("organization"))?;
            if !access.allows(scope) {
                let error = ApiError::ForbiddenCode {
                    code: "insufficient_scope",
                    message: format!("this operation requires the {scope} scope"),
                };
                return Ok(Authorization::Denied { org_id, error });
            }
            Ok(Authorization::Granted(Some(access)))
        }
    }
}

fn require_principal(principal: &Option<Principal>) -> ApiResult<&Principal> {
    principal.as_ref().ok_or_else(|| {
        ApiError::Unauthorized("credentials required: X-Management-Token or Authorization: Bearer".into())
    })
}

async fn record(state: &AppState, op: &Operation, call: &Call, org_id: String, outcome: &str) {
    let actor = call.principal.as_ref().map(Principal::actor);
    let event = AuditRecord {
        id: ids::new_id("evt"),
        org_id: Some(org_id),
        actor_type: actor.as_ref().map_or("anonymous", |a| a.kind).to_string(),
        actor_id: actor.and_then(|a| a.id),
        action: op.spec.name.to_string(),
        target: op.concrete_path(&call.params),
        outcome: outcome.to_string(),
        created_at: time::now_ms(),
    };
    if let Err(err) = state.store.audit_insert(&event).await {
        // The org may have just been deleted, and its audit trail with it.
        tracing::debug!(error = %err, action = op.spec.name, "audit event not recorded");
    }
}
