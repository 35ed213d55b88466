//! HTTP tools of a server: `/api/orgs/{org}/servers/{serverId}/tools`.
//! Credentials are sealed with the master key and never returned; instead of a credential, a
//! tool may reference a secret of the org (`auth: {type, secretId}`).

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::credential::AuthView;
use super::http_tool_auth::{AuthInput, apply_auth};
use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::{announce, server_of};
use crate::auth::Scope;
use crate::domain::client_credentials::ClientCredentials;
use crate::domain::http_body::Body;
use crate::domain::http_tool::{self, AuthType, CredentialPlace, HttpMethod, Parameter};
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::store::HttpToolRecord;

pub use crate::domain::http_tool::CREDENTIAL_PURPOSE;

/// A tool that is served.
pub const APPROVED: &str = "approved";
/// A tool a re-import added or changed, not served until approved.
pub const PENDING: &str = "pending";

/// Whether a tool is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalInput {
    /// Serve it.
    Approved,
    /// Stop serving it until approved again.
    Pending,
}

/// An HTTP tool as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    tool_id: String,
    server_id: String,
    name: String,
    description: String,
    method: String,
    endpoint_url: String,
    parameters: Vec<Parameter>,
    /// How the request body is written, when not as body parameters' JSON members.
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Body>,
    auth: AuthView,
    timeout_ms: i64,
    /// Generated from `parameters` and `body`.
    input_schema: Value,
    /// The schema of a successful answer's structured content.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_schema: Option<Value>,
    /// `approved` (served) or `pending` (a re-import added or changed it).
    approval_state: String,
    /// While a re-import's change of it waits for approval: the definition last approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_definition: Option<Value>,
    /// The OpenAPI import that made it, and its operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    import_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    created_at: String,
    updated_at: String,
}

impl Tool {
    fn from_record(t: HttpToolRecord) -> ApiResult<Self> {
        let parameters: Vec<Parameter> = serde_json::from_str(&t.parameters).map_err(ApiError::internal)?;
        let body: Option<Body> =
            t.body.as_deref().map(serde_json::from_str).transpose().map_err(ApiError::internal)?;
        let output_schema: Option<Value> =
            t.output_schema.as_deref().map(serde_json::from_str).transpose().map_err(ApiError::internal)?;
        let oauth: Option<ClientCredentials> =
            t.auth_oauth.as_deref().map(serde_json::from_str).transpose().map_err(ApiError::internal)?;
        let approved_definition: Option<Value> = t
            .approved_definition
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(ApiError::internal)?;
        Ok(Self {
            approved_definition,
            input_schema: http_tool::input_schema(&parameters, body.as_ref()),
            body,
            output_schema,
            approval_state: t.approval_state,
            import_id: t.import_id,
            operation: t.operation,
            tool_id: t.id,
            server_id: t.server_id,
            name: t.name,
            description: t.description,
            method: t.method,
            endpoint_url: t.endpoint_url,
            parameters,
            auth: AuthView::new(t.auth_type, t.auth_credential.is_some(), t.auth_secret_id, t.auth_header)
                .with_oauth(oauth),
            timeout_ms: t.timeout_ms,
            created_at: time::iso(t.created_at),
            updated_at: time::iso(t.updated_at),
        })
    }
}

/// The fields of a tool's view that are no part of its definition: ids, times, approval.
pub const NOT_DEFINITION: [&str; 7] =
    ["toolId", "serverId", "approvalState", "approvedDefinition", "importId", "createdAt", "updatedAt"];

/// What a tool is, as a re-import compares it and an approval keeps it.
pub(super) fn definition(record: &HttpToolRecord) -> ApiResult<Value> {
    let mut view = serde_json::to_value(Tool::from_record(record.clone())?).map_err(ApiError::internal)?;
    if let Some(fields) = view.as_object_mut() {
        NOT_DEFINITION.iter().for_each(|key| drop(fields.remove(*key)));
    }
    Ok(view)
}

/// `{"tool": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ToolEnvelope {
    tool: Tool,
}

/// `{"tools": […], "total": n}`: every tool, or one page of those matching a search.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolList {
    tools: Vec<Tool>,
    /// How many tools match (all of them without `q`).
    total: usize,
    /// `offset` of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_offset: Option<usize>,
}

/// Query of `list_tools`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTools {
    /// Only tools whose name, description or endpoint URL contains this (any case).
    #[schemars(length(max = 200))]
    q: Option<String>,
    /// Page size, 1 to 1000 (default: every tool).
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<i64>,
    /// Matching tools to skip (the previous page's `nextOffset`).
    #[schemars(range(min = 0, max = 1_000_000))]
    offset: Option<i64>,
}

/// Input of `create_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTool {
    /// snake_case name the model sees; unique in the server.
    #[schemars(length(max = 64), pattern(r"^[a-z][a-z0-9_]*$"))]
    name: String,
    /// What the tool does (shown to the model).
    #[schemars(length(max = 4000), pattern(crate::domain::text::DESCRIPTION_PATTERN))]
    description: String,
    /// HTTP method.
    method: HttpMethod,
    /// Absolute URL with `{param}` placeholders for path parameters.
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    endpoint_url: String,
    /// Arguments and where they go.
    #[serde(default)]
    parameters: Vec<Parameter>,
    /// How the body is written (default: `body` parameters as members of a JSON object).
    body: Option<Body>,
    /// The JSON Schema (an object) of a successful answer, shown as the tool's `outputSchema`.
    output_schema: Option<Value>,
    /// How to authenticate to the API (default none).
    auth: Option<AuthInput>,
    /// Per-call timeout (default 30000, at most 120000).
    #[schemars(range(min = 1, max = 120_000))]
    timeout_ms: Option<i64>,
}

/// Input of `update_tool`: any field of `create_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateTool {
    #[schemars(length(max = 64), pattern(r"^[a-z][a-z0-9_]*$"))]
    name: Option<String>,
    #[schemars(length(max = 4000), pattern(crate::domain::text::DESCRIPTION_PATTERN))]
    description: Option<String>,
    method: Option<HttpMethod>,
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    endpoint_url: Option<String>,
    parameters: Option<Vec<Parameter>>,
    body: Option<Body>,
    output_schema: Option<Value>,
    /// `approved` serves a tool a re-import added or changed; `pending` withdraws it.
    approval_state: Option<ApprovalInput>,
    /// Without `credential`, the stored credential is kept (if the type is unchanged).
    auth: Option<AuthInput>,
    #[schemars(range(min = 1, max = 120_000))]
    timeout_ms: Option<i64>,
}

/// Registers the tool operations.
pub fn register(r: &mut Registry) {
    let base = "/api/orgs/{org}/servers/{serverId}/tools";
    let one = "/api/orgs/{org}/servers/{serverId}/tools/{toolId}";
    r.add(
        OpSpec::new(
            "list_tools",
            Method::GET,
            base,
            Access::Org(Scope::ServersRead),
            "List a server's HTTP tools: all, or a page of those matching a search.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "create_tool",
            Method::POST,
            base,
            Access::Org(Scope::ServersWrite),
            "Map a new MCP tool onto an HTTP endpoint.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(
        OpSpec::new("get_tool", Method::GET, one, Access::Org(Scope::ServersRead), "Read an HTTP tool."),
        get,
    );
    r.add(
        OpSpec::new(
            "update_tool",
            Method::PATCH,
            one,
            Access::Org(Scope::ServersWrite),
            "Change an HTTP tool.",
        ),
        update,
    );
    r.add(
        OpSpec::new(
            "delete_tool",
            Method::DELETE,
            one,
            Access::Org(Scope::ServersWrite),
            "Delete an HTTP tool.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
}

fn description(raw: &str) -> ApiResult<String> {
    let d = raw.trim();
    if d.is_empty() || d.chars().count() > 4000 {
        return Err(ApiError::bad_request("description must be 1 to 4000 characters"));
    }
    if d.contains('\0') {
        return Err(ApiError::bad_request("description must not contain NUL"));
    }
    Ok(d.to_string())
}

pub(super) fn check(tool: &HttpToolRecord) -> ApiResult<()> {
    http_tool::validate_name(&tool.name).map_err(ApiError::BadRequest)?;
    let parameters: Vec<Parameter> = serde_json::from_str(&tool.parameters).map_err(ApiError::internal)?;
    let body: Option<Body> =
        tool.body.as_deref().map(serde_json::from_str).transpose().map_err(ApiError::internal)?;
    let auth = AuthType::parse(&tool.auth_type).unwrap_or(AuthType::None);
    let place = CredentialPlace::of(auth, tool.auth_header.as_deref());
    http_tool::validate(&tool.endpoint_url, &parameters, body.as_ref(), place, tool.timeout_ms)
        .map_err(ApiError::Unprocessable)?;
    // Every schema given must compile: the arguments are checked against it on every call.
    crate::upstream::http_tool::ArgumentCheck::compile(&http_tool::input_schema(&parameters, body.as_ref()))
        .map_err(ApiError::Unprocessable)?;
    if let Some(output) = &tool.output_schema {
        let output: Value = serde_json::from_str(output).map_err(ApiError::internal)?;
        if output.get("type").and_then(Value::as_str) != Some("object") {
            return Err(ApiError::unprocessable(
                "outputSchema must be an object schema (\"type\": \"object\")",
            ));
        }
        jsonschema::validator_for(&output)
            .map_err(|e| ApiError::unprocessable(format!("outputSchema is invalid: {e}")))?;
    }
    Ok(())
}

/// A body as stored (JSON text).
fn stored(body: &Body) -> ApiResult<String> {
    serde_json::to_string(body).map_err(ApiError::internal)
}

async fn list(ctx: OpCtx, query: ListTools) -> ApiResult<ToolList> {
    let limit = match query.limit {
        None => usize::MAX,
        Some(l @ 1..=1000) => l as usize,
        Some(_) => return Err(ApiError::bad_request("limit must be between 1 and 1000")),
    };
    let offset = match query.offset {
        None => 0,
        Some(o @ 0..=1_000_000) => o as usize,
        Some(_) => return Err(ApiError::bad_request("offset must be between 0 and 1000000")),
    };
    let server = server_of(&ctx).await?;
    let search = query.q.as_deref().map(str::to_lowercase).filter(|q| !q.is_empty());
    // The store pages and searches, so a listing reads and converts one page of tools.
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (records, total) = ctx
        .state
        .store
        .tool_page(&server.org_id, &server.id, search.as_deref(), limit, offset as i64)
        .await?;
    let total = total as usize;
    let page = records.into_iter().map(Tool::from_record).collect::<ApiResult<Vec<_>>>()?;
    let next_offset = (offset.saturating_add(page.len()) < total).then(|| offset + page.len());
    Ok(ToolList { tools: page, total, next_offset })
}

async fn create(ctx: OpCtx, input: CreateTool) -> ApiResult<ToolEnvelope> {
    let server = server_of(&ctx).await?;
    let now = time::now_ms();
    let mut tool = HttpToolRecord {
        id: ids::new_id("tool"),
        server_id: server.id.clone(),
        org_id: server.org_id.clone(),
        name: input.name,
        description: description(&input.description)?,
        method: input.method.as_str().to_string(),
        endpoint_url: input.endpoint_url.trim().to_string(),
        parameters: serde_json::to_string(&input.parameters).map_err(ApiError::internal)?,
        auth_type: "none".into(),
        auth_header: None,
        auth_credential: None,
        auth_secret_id: None,
        auth_oauth: None,
        timeout_ms: input.timeout_ms.unwrap_or(http_tool::DEFAULT_TIMEOUT_MS),
        body: None,
        output_schema: None,
        import_id: None,
        operation: None,
        approval_state: APPROVED.into(),
        approved_definition: None,
        created_at: now,
        updated_at: now,
    };
    tool.body = input.body.as_ref().map(stored).transpose()?;
    tool.output_schema = input.output_schema.map(|o| o.to_string());
    if let Some(auth) = input.auth {
        apply_auth(&ctx, &mut tool, auth).await?;
    }
    // After the auth: a header parameter may not take the credential's header.
    check(&tool)?;
    ctx.state.store.tool_create(&tool).await?;
    announce(&ctx, &server.id).await?;
    Ok(ToolEnvelope { tool: Tool::from_record(tool)? })
}

async fn tool_of(ctx: &OpCtx) -> ApiResult<HttpToolRecord> {
    let server = server_of(ctx).await?;
    let tool_id = ctx.param("toolId")?;
    ctx.state.store.tool_get(&server.org_id, &server.id, tool_id).await?.ok_or(ApiError::NotFound("tool"))
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<ToolEnvelope> {
    Ok(ToolEnvelope { tool: Tool::from_record(tool_of(&ctx).await?)? })
}

async fn update(ctx: OpCtx, input: UpdateTool) -> ApiResult<ToolEnvelope> {
    let mut tool = tool_of(&ctx).await?;
    if let Some(name) = input.name {
        tool.name = name;
    }
    if let Some(d) = input.description {
        tool.description = description(&d)?;
    }
    if let Some(m) = input.method {
        tool.method = m.as_str().to_string();
    }
    if let Some(url) = input.endpoint_url {
        tool.endpoint_url = url.trim().to_string();
    }
    if let Some(p) = input.parameters {
        tool.parameters = serde_json::to_string(&p).map_err(ApiError::internal)?;
    }
    if let Some(t) = input.timeout_ms {
        tool.timeout_ms = t;
    }
    if let Some(body) = &input.body {
        tool.body = Some(stored(body)?);
    }
    if let Some(output) = input.output_schema {
        tool.output_schema = Some(output.to_string());
    }
    if let Some(state) = input.approval_state {
        tool.approval_state = match state {
            ApprovalInput::Approved => APPROVED,
            ApprovalInput::Pending => PENDING,
        }
        .into();
        if tool.approval_state == APPROVED {
            tool.approved_definition = None; // what is served now is what was approved
        }
    }
    if let Some(auth) = input.auth {
        apply_auth(&ctx, &mut tool, auth).await?;
    }
    // After the auth: a header parameter may not take the credential's header.
    check(&tool)?;
    tool.updated_at = time::now_ms();
    ctx.state.store.tool_update(&tool).await?;
    announce(&ctx, &tool.server_id).await?;
    Ok(ToolEnvelope { tool: Tool::from_record(tool)? })
}

async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let tool = tool_of(&ctx).await?;
    ctx.state.store.tool_delete(&tool.org_id, &tool.server_id, &tool.id).await?;
    announce(&ctx, &tool.server_id).await?;
    Ok(())
}
