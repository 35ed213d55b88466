//! Invoking an installed plugin with the server's `X-API-Key`: the server's policies, the
//! configuration opened, the plugin run and its invocation logged; the org told when a plugin
//! keeps failing; and the invocation log.

use std::time::Instant;

use serde_json::Value;

use super::model::*;
use super::{open_config, plugin_of};
use crate::api::end_user_auth::server_key;
use crate::api::registry::OpCtx;
use crate::api::servers::server_of;
use crate::crypto;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::plugins::{Plugin, PluginEnv, PluginError};
use crate::store::PluginInvocationRecord;

pub(super) async fn invoke(ctx: OpCtx, payload: Value) -> ApiResult<InvokeResult> {
    let started = Instant::now();
    let key = server_key(&ctx).await?;
    let plugin = plugin_of(&ctx)?;
    governed(&ctx, &key.org_id, &key.server_id, &key.key_id, plugin.info().id, &payload).await?;
    let outcome = run(&ctx, &key.server_id, plugin, payload).await;
    let (label, error) = match &outcome {
        Ok(_) => ("success", None),
        Err(ApiError::BadRequest(m)) => ("invalid_request", Some(m.clone())),
        Err(ApiError::Unprocessable(m)) => ("failure", Some(m.clone())),
        Err(ApiError::ForbiddenCode { message, .. }) => ("disabled", Some(message.clone())),
        Err(ApiError::NotFound(_)) => {
            ("not_installed", Some("the plugin is not installed on this server".into()))
        }
        Err(ApiError::Internal(e)) => ("error", Some(e.to_string())),
        Err(other) => ("error", Some(other.to_string())),
    };
    let record = PluginInvocationRecord {
        id: ids::new_id("inv"),
        server_id: key.server_id.clone(),
        org_id: key.org_id.clone(),
        plugin_id: plugin.info().id.to_string(),
        key_id: Some(key.key_id.clone()),
        outcome: label.to_string(),
        status: i64::from(outcome.as_ref().map_or_else(|e| e.status().as_u16(), |_| 200)),
        duration_ms: started.elapsed().as_millis() as i64,
        error: error.map(|e| e.chars().take(500).collect()),
        created_at: time::now_ms(),
    };
    if let Err(err) = ctx.state.store.plugin_invocation_insert(&record).await {
        tracing::error!(error = %err, plugin = record.plugin_id, "plugin invocation not logged");
    } else if failed(&record) {
        raise_if_failing(&ctx, &record).await;
    }
    outcome.map(|result| InvokeResult { result })
}

/// Applies the server's policies to an invocation, matched as the tool `plugins/<pluginId>`:
/// deny → 403, argument limit → 400, rate limit → 429 with `Retry-After`.
async fn governed(
    ctx: &OpCtx,
    org_id: &str,
    server_id: &str,
    key_id: &str,
    plugin_id: &str,
    payload: &Value,
) -> ApiResult<()> {
    let rules: Vec<_> = ctx
        .state
        .store
        .policy_list(org_id, server_id)
        .await?
        .into_iter()
        .filter_map(crate::plane::directory::rule)
        .collect();
    if rules.is_empty() {
        return Ok(());
    }
    let tool = format!("plugins/{plugin_id}");
    // Plugins are invoked with the server's API key, whose identity is all there is.
    let verdict = crate::domain::policy::evaluate(&rules, &tool, None);
    if let Some(pattern) = verdict.denied_by {
        return Err(ApiError::Forbidden(format!(
            "Denied by policy {pattern}: {tool} is not allowed on this server"
        )));
    }
    if let Some(max) = verdict.max_argument_bytes {
        let size = serde_json::to_vec(payload).map(|b| b.len() as i64).unwrap_or(i64::MAX);
        if size > max {
            return Err(ApiError::bad_request(format!(
                "the payload is {size} bytes; the policy allows at most {max}"
            )));
        }
    }
    let server = ctx.state.store.server_get(org_id, server_id).await?.ok_or(ApiError::NotFound("server"))?;
    match crate::gateway::policy::count(&ctx.state, &server, (key_id, None), &tool, &verdict.rates).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(limited)) => {
            Err(ApiError::RateLimited { retry_after_secs: (limited.retry_after_ms as u64).div_ceil(1000) })
        }
        Err(e) => Err(ApiError::internal(anyhow::anyhow!(e.message))),
    }
}

/// Consecutive failed invocations after which the org is notified (once per streak).
pub const FAILING_AFTER: usize = 3;

fn failed(invocation: &PluginInvocationRecord) -> bool {
    matches!(invocation.outcome.as_str(), "failure" | "error")
}

/// Notifies the org when this failure makes [`FAILING_AFTER`] in a row.
async fn raise_if_failing(ctx: &OpCtx, last: &PluginInvocationRecord) {
    let recent = match ctx
        .state
        .store
        .plugin_invocation_list(&last.server_id, &last.plugin_id, None, FAILING_AFTER as i64 + 1)
        .await
    {
        Ok(rows) => rows,
        Err(err) => {
            tracing::warn!(error = %err, "could not read recent plugin invocations");
            return;
        }
    };
    if recent.iter().take_while(|i| failed(i)).count() != FAILING_AFTER {
        return;
    }
    let message = format!(
        "Plugin {} failed {FAILING_AFTER} times in a row on server {}; last error: {}",
        last.plugin_id,
        last.server_id,
        last.error.as_deref().unwrap_or("unknown")
    );
    let data = serde_json::json!({"serverId": last.server_id, "pluginId": last.plugin_id, "lastInvocationId": last.id});
    crate::notify::notify(&ctx.state, &last.org_id, "plugin.failing", "Plugin failing", &message, data).await;
}

async fn run(ctx: &OpCtx, server_id: &str, plugin: &dyn Plugin, payload: Value) -> ApiResult<Value> {
    let state = &ctx.state;
    let install = state
        .store
        .plugin_install_get(server_id, plugin.info().id)
        .await?
        .ok_or(ApiError::NotFound("plugin installation"))?;
    if !install.enabled {
        return Err(ApiError::ForbiddenCode {
            code: "plugin_disabled",
            message: "the plugin is installed but disabled".into(),
        });
    }
    let config = open_config(state, &install).await?;
    // A new configuration (or a new value of a referenced secret) never reuses credentials
    // cached for the old one.
    let secret_json = Value::Object(config.secret.clone()).to_string();
    let cache_key = crypto::sha256_hex(&format!("{}:{secret_json}", install.id));
    let env = PluginEnv {
        outbound: &state.plane.outbound,
        config: &state.config,
        cache: &state.plugins.tokens,
        cache_key: &cache_key,
    };
    plugin.invoke(&env, &config, payload).await.map_err(|e| match e {
        PluginError::InvalidRequest(m) => ApiError::BadRequest(m),
        PluginError::Failed { code, message } => ApiError::Unprocessable(format!("{code}: {message}")),
        PluginError::Internal(m) => ApiError::internal(anyhow::anyhow!("plugin {}: {m}", plugin.info().id)),
    })
}

pub(super) async fn invocations(ctx: OpCtx, q: InvocationQuery) -> ApiResult<InvocationPage> {
    let server = server_of(&ctx).await?;
    let plugin_id = plugin_of(&ctx)?.info().id;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let store = ctx.state.store.as_ref();
    let mut rows =
        store.plugin_invocation_list(&server.id, plugin_id, q.before.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|i| i.id.clone()) } else { None };
    Ok(InvocationPage { invocations: rows.into_iter().map(Invocation::from).collect(), next_cursor })
}
