//! An upstream's discovered tools (approval, refresh) and its attachments to servers.

use std::collections::HashSet;

use crate::api::registry::{NoInput, OpCtx};
use crate::api::servers::{announce as announce_server, server_of};
use crate::domain::time;
use crate::domain::upstream::{self as rules, ApprovalState};
use crate::error::{ApiError, ApiResult};
use crate::gateway::upstream::service;
use crate::store::AttachmentRecord;

use super::model::*;
use super::{upstream_error, upstream_of, view};

pub(super) async fn list_tools(ctx: OpCtx, _: NoInput) -> ApiResult<UpstreamToolList> {
    let u = upstream_of(&ctx).await?;
    let tools = ctx.state.store.upstream_tools(&u.id).await?;
    Ok(UpstreamToolList { tools: tools.into_iter().map(UpstreamTool::from).collect() })
}

pub(super) async fn refresh(ctx: OpCtx, _: NoInput) -> ApiResult<RefreshResult> {
    let u = upstream_of(&ctx).await?;
    if !u.is_enabled {
        return Err(ApiError::Conflict("the upstream is disabled; enable it first".into()));
    }
    let report = service::refresh(&ctx.state, &u).await.map_err(upstream_error)?;
    let tools = ctx.state.store.upstream_tools(&u.id).await?;
    let stored =
        ctx.state.store.upstream_get(&u.org_id, &u.id).await?.ok_or(ApiError::NotFound("upstream"))?;
    Ok(RefreshResult {
        upstream: view(&ctx, stored).await?,
        tools: tools.into_iter().map(UpstreamTool::from).collect(),
        changed: report.changed.into_iter().map(|c| c.name).collect(),
    })
}

pub(super) async fn update_tool(ctx: OpCtx, input: UpdateUpstreamTool) -> ApiResult<UpstreamToolEnvelope> {
    let u = upstream_of(&ctx).await?;
    let name = ctx.param("toolName")?;
    let mut tool = ctx
        .state
        .store
        .upstream_tools(&u.id)
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or(ApiError::NotFound("tool"))?;
    if input.approval_state.is_none() && input.enabled.is_none() {
        return Err(ApiError::unprocessable("give approvalState and/or enabled"));
    }
    if let Some(state) = input.approval_state {
        tool.approval_state = state.as_str().to_string();
        // Approval pins the definition seen now.
        if state == ApprovalState::Approved {
            tool.approved_hash = Some(tool.definition_hash.clone());
            tool.approved_definition = Some(tool.definition.clone());
        }
    }
    if let Some(enabled) = input.enabled {
        tool.enabled = enabled;
    }
    tool.updated_at = time::now_ms();
    ctx.state.store.upstream_tool_update(&tool).await?;
    service::announce(&ctx.state, &u.id).await;
    Ok(UpstreamToolEnvelope { tool: tool.into() })
}

pub(super) async fn list_attachments(ctx: OpCtx, _: NoInput) -> ApiResult<AttachmentList> {
    let server = server_of(&ctx).await?;
    let list = ctx.state.store.attachments_of_server(&server.org_id, &server.id).await?;
    Ok(AttachmentList { attachments: list.into_iter().map(Attachment::from).collect() })
}

pub(super) async fn attach_upstream(ctx: OpCtx, input: AttachUpstream) -> ApiResult<AttachmentEnvelope> {
    let server = server_of(&ctx).await?;
    let u = upstream_of(&ctx).await?;
    let prefix = match input.prefix {
        Some(p) => {
            rules::validate_prefix(&p).map_err(ApiError::BadRequest)?;
            p
        }
        None => rules::default_prefix(&u.name),
    };
    let catalogue: Vec<String> =
        ctx.state.store.upstream_tools(&u.id).await?.into_iter().map(|t| t.name).collect();
    if let Some(chosen) = &input.tools {
        let known: HashSet<&String> = catalogue.iter().collect();
        let unknown: Vec<&str> = chosen.iter().filter(|t| !known.contains(t)).map(String::as_str).collect();
        if !unknown.is_empty() {
            return Err(ApiError::unprocessable(format!(
                "the upstream has no tool named {}",
                unknown.join(", ")
            )));
        }
    }
    // Names must stay unique on the server, including tools not yet approved.
    let mine: Vec<String> = match &input.tools {
        Some(chosen) => chosen.iter().map(|t| rules::served_name(&prefix, t)).collect(),
        None => catalogue.iter().map(|t| rules::served_name(&prefix, t)).collect(),
    };
    let mut taken: HashSet<String> =
        ctx.state.store.tool_list(&server.org_id, &server.id).await?.into_iter().map(|t| t.name).collect();
    for other in ctx.state.store.attachments_of_server(&server.org_id, &server.id).await? {
        if other.upstream_id == u.id {
            continue;
        }
        let chosen: Option<Vec<String>> = other.tools.as_deref().and_then(|t| serde_json::from_str(t).ok());
        let names = match chosen {
            Some(c) => c,
            None => ctx
                .state
                .store
                .upstream_tools(&other.upstream_id)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect(),
        };
        taken.extend(names.iter().map(|n| rules::served_name(&other.prefix, n)));
    }
    if let Some(clash) = mine.iter().find(|n| taken.contains(*n)) {
        return Err(ApiError::Conflict(format!(
            "the server already serves a tool named {clash}; attach with another prefix"
        )));
    }
    let attachment = AttachmentRecord {
        server_id: server.id.clone(),
        upstream_id: u.id.clone(),
        org_id: server.org_id.clone(),
        tools: input.tools.map(|t| serde_json::to_string(&t)).transpose().map_err(ApiError::internal)?,
        prefix,
        created_at: time::now_ms(),
    };
    ctx.state.store.attachment_put(&attachment).await?;
    announce_server(&ctx, &server.id).await?;
    let stored = ctx
        .state
        .store
        .attachments_of_server(&server.org_id, &server.id)
        .await?
        .into_iter()
        .find(|a| a.upstream_id == u.id)
        .ok_or(ApiError::NotFound("attachment"))?;
    Ok(AttachmentEnvelope { attachment: stored.into() })
}

pub(super) async fn detach_upstream(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    let upstream_id = ctx.param("upstreamId")?;
    if !ctx.state.store.attachment_delete(&server.org_id, &server.id, upstream_id).await? {
        return Err(ApiError::NotFound("attachment"));
    }
    announce_server(&ctx, &server.id).await?;
    Ok(())
}
