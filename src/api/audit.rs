//! The audit log: `/api/orgs/{org}/audit`.

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::store::{AuditFilter, AuditRecord};

/// One audit event.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    event_id: String,
    /// `user`, `token`, `dev` or `anonymous`.
    actor_type: String,
    actor_id: Option<String>,
    /// The operation name, e.g. `create_token`.
    action: String,
    /// The path acted on.
    target: String,
    /// `success` or the error code.
    outcome: String,
    created_at: String,
}

impl From<AuditRecord> for AuditEvent {
    fn from(e: AuditRecord) -> Self {
        Self {
            event_id: e.id,
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            created_at: time::iso(e.created_at),
        }
    }
}

/// A page of events, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    events: Vec<AuditEvent>,
    /// Pass as `before` to get the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// Input of `list_audit_events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1–200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    limit: Option<i64>,
    /// Cursor from the previous page.
    #[schemars(length(max = 100))]
    before: Option<String>,
    /// Only this actor: a user or token id, or a kind (`dev`, `user`, `token`, `anonymous`).
    #[schemars(length(min = 1, max = 100))]
    actor: Option<String>,
    /// Only this action (an operation name, e.g. `create_key`).
    #[schemars(length(min = 1, max = 100))]
    action: Option<String>,
    /// `success`, `failure` (every refusal and error), or one error code.
    #[schemars(length(min = 1, max = 100))]
    outcome: Option<String>,
    /// Only events at or after this time (ISO-8601).
    #[schemars(extend("format" = "date-time"))]
    since: Option<String>,
    /// Only events before this time (ISO-8601).
    #[schemars(extend("format" = "date-time"))]
    until: Option<String>,
}

/// Registers the audit operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "list_audit_events",
            Method::GET,
            "/api/orgs/{org}/audit",
            Access::Org(Scope::AuditRead),
            "Read the audit log, newest first, a page at a time.",
        ),
        list,
    );
}

async fn list(ctx: OpCtx, q: AuditQuery) -> ApiResult<AuditPage> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let time = |field: &str, value: Option<String>| -> ApiResult<Option<i64>> {
        value
            .map(|v| {
                time::parse_iso(&v)
                    .ok_or_else(|| ApiError::bad_request(format!("{field} must be an ISO-8601 time")))
            })
            .transpose()
    };
    let filter = AuditFilter {
        since: time("since", q.since)?,
        until: time("until", q.until)?,
        before: q.before,
        actor: q.actor,
        action: q.action,
        outcome: q.outcome,
    };
    let mut events = ctx.state.store.audit_list(&ctx.org()?.id, &filter, limit + 1).await?;
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let next_cursor = if more { events.last().map(|e| e.id.clone()) } else { None };
    Ok(AuditPage { events: events.into_iter().map(AuditEvent::from).collect(), next_cursor })
}
