//! A server used from the management API as an MCP client uses it: `invoke_tool` (the served
//! tool — HTTP tool or upstream's — under the server's policies, with usage, call log and
//! analytics), `list_server_prompts` and `render_prompt`, all run by
//! [`crate::gateway::router::handle`] and counted under the principal (`user:<id>`,
//! `token:<id>`, `dev`), for scripts, the CLI and the compatible REST surfaces.

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::registry::{Access, OpCtx, OpSpec, Registry};
use super::servers::server_of;
use crate::auth::Scope;
use crate::error::{ApiError, ApiResult};
use crate::gateway::context::CallCtx;
use crate::gateway::router::{self, RpcError, code};

/// The revision results are shaped for: the stateful one every client understands.
const RESULT_REVISION: &str = "2025-06-18";

/// Input of `invoke_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeTool {
    /// The tool's name as the server serves it (`tools/list`).
    #[schemars(length(min = 1, max = 256))]
    name: String,
    /// Its arguments.
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

/// The tool's result, as MCP's `CallToolResult`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolResult {
    /// Text, images, resources the tool answered.
    content: Vec<Value>,
    /// Its structured result, when it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<Value>,
    /// Whether the tool reports a failure (the call itself went through).
    is_error: bool,
}

/// Input of `render_prompt`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderPrompt {
    /// The prompt's name as the server serves it (`prompts/list`).
    #[schemars(length(min = 1, max = 256))]
    name: String,
    /// Its arguments (MCP prompt arguments are strings).
    #[serde(default)]
    arguments: Option<std::collections::BTreeMap<String, String>>,
}

/// `{"prompts": […]}` as the server lists them (`name`, `description`, `arguments`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct PromptList {
    prompts: Vec<Value>,
}

/// A rendered prompt, as MCP's `GetPromptResult`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RenderedPrompt {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// `{role, content}` messages.
    messages: Vec<Value>,
}

/// Registers the operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "list_server_prompts",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/prompts",
            Access::Org(Scope::ServersRead),
            "List the prompts a server serves (its upstreams', namespaced).",
        ),
        list_prompts,
    );
    r.add(
        OpSpec::new(
            "render_prompt",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/prompts/render",
            Access::Org(Scope::ToolsCall),
            "Render one of a server's prompts with arguments, as an MCP client would.",
        ),
        render_prompt,
    );
    r.add(
        OpSpec::new(
            "invoke_tool",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/invoke",
            Access::Org(Scope::ToolsCall),
            "Call one of a server's tools, as an MCP client would (policies, usage and logs apply).",
        ),
        invoke,
    );
}

/// The principal a call is counted under.
fn counted_as(ctx: &OpCtx) -> ApiResult<String> {
    let actor = ctx.principal()?.actor();
    Ok(match actor.id {
        Some(id) => format!("{}:{id}", actor.kind),
        None => actor.kind.to_string(),
    })
}

/// A protocol error of the call as the REST error it stands for.
fn refused(error: RpcError) -> ApiError {
    match error.code {
        code::INVALID_PARAMS => ApiError::unprocessable(error.message),
        crate::gateway::policy::RATE_LIMITED => ApiError::RateLimited { retry_after_secs: 1 },
        code::INTERNAL_ERROR => ApiError::internal(anyhow::anyhow!(error.message)),
        _ => ApiError::BadGateway(error.message),
    }
}

/// The server of the path as the data plane serves it (409 when disabled).
async fn served(ctx: &OpCtx) -> ApiResult<std::sync::Arc<crate::plane::directory::ServerEntry>> {
    let server = server_of(ctx).await?;
    let state = &ctx.state;
    let entry = state
        .plane
        .directory
        .get(state.store.as_ref(), &state.master_key, &server.org_id, &server.slug)
        .await?
        .ok_or(ApiError::NotFound("server"))?;
    if entry.disabled() {
        return Err(ApiError::conflict("the server is disabled"));
    }
    Ok(entry)
}

async fn list_prompts(ctx: OpCtx, _: super::registry::NoInput) -> ApiResult<PromptList> {
    Ok(PromptList { prompts: served(&ctx).await?.prompt_listings.clone() })
}

async fn render_prompt(ctx: OpCtx, input: RenderPrompt) -> ApiResult<RenderedPrompt> {
    let entry = served(&ctx).await?;
    if entry.prompt(&input.name).is_none() {
        return Err(ApiError::NotFound("prompt"));
    }
    let mut params = Map::new();
    params.insert("name".into(), Value::String(input.name));
    params.insert(
        "arguments".into(),
        serde_json::to_value(input.arguments.unwrap_or_default()).unwrap_or_default(),
    );
    let mut call = CallCtx::for_key(&counted_as(&ctx)?);
    let result = router::handle(&ctx.state, &entry, RESULT_REVISION, &mut call, "prompts/get", &params)
        .await
        .map_err(refused)?;
    Ok(RenderedPrompt {
        description: result.get("description").and_then(Value::as_str).map(str::to_string),
        messages: result.get("messages").and_then(Value::as_array).cloned().unwrap_or_default(),
    })
}

async fn invoke(ctx: OpCtx, input: InvokeTool) -> ApiResult<ToolResult> {
    let entry = served(&ctx).await?;
    let state = &ctx.state;
    if entry.target(&input.name).is_none() {
        return Err(ApiError::NotFound("tool"));
    }
    let mut params = Map::new();
    params.insert("name".into(), Value::String(input.name));
    params.insert("arguments".into(), Value::Object(input.arguments.unwrap_or_default()));
    let mut call = CallCtx::for_key(&counted_as(&ctx)?);
    let result = router::handle(state, &entry, RESULT_REVISION, &mut call, "tools/call", &params)
        .await
        .map_err(refused)?;
    Ok(ToolResult {
        content: result.get("content").and_then(Value::as_array).cloned().unwrap_or_default(),
        structured_content: result.get("structuredContent").cloned(),
        is_error: result.get("isError") == Some(&Value::Bool(true)),
    })
}
