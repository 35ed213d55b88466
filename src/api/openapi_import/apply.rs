//! Applying an import: the planned tools stored with the import that made them, each carrying
//! its security scheme's credential from the org secret named for it; and reading and deleting
//! imports (an import's tools go with it).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::source::{ImportSource, unprocessable};
use crate::api::http_tools::{APPROVED, check};
use crate::api::registry::{NoInput, OpCtx};
use crate::api::servers::{announce, server_of};
use crate::domain::client_credentials::ClientCredentials;
use crate::domain::http_body::{Body, BodyEncoding};
use crate::domain::http_tool::{self, AuthType, ParamType, Parameter, QueryStyle};
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::openapi::{self, AuthKind, PlannedAuth, Skipped, ToolPlan};
use crate::secrets::{self, SecretError};
use crate::store::{HttpToolRecord, ImportRecord};

/// The secret that holds a security scheme's credential (an OAuth client's secret, for a
/// client-credentials scheme, with the client's id).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SchemeCredential {
    /// An active secret of the org.
    #[schemars(length(min = 1, max = 64))]
    secret_id: String,
    /// The OAuth client's id, for a client-credentials scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256), pattern(r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    client_id: Option<String>,
}

/// What a tool of a scheme carries: the secret and, for client credentials, the client's id.
#[derive(Debug, Clone)]
pub(super) struct Carried {
    pub secret_id: String,
    pub client_id: Option<String>,
}

impl Carried {
    /// The credential stored for `scheme` in an import's `credentials`.
    pub fn of(credentials: &Value, scheme: &str) -> Option<Self> {
        let entry = credentials.get(scheme)?;
        Some(Self {
            secret_id: entry.get("secretId")?.as_str()?.to_owned(),
            client_id: entry.get("clientId").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// Input of `create_openapi_import`: the document and, per security scheme, its credential.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateImport {
    source: ImportSource,
    /// Security scheme (as the document names it) → the secret holding its credential; tools
    /// whose scheme has none are made without a credential.
    #[serde(default)]
    credentials: BTreeMap<String, SchemeCredential>,
    /// What a later re-import's new and changed tools wait for: `manual` (default: an admin's
    /// approval) or `auto_approve`.
    #[serde(default)]
    approval_policy: ApprovalPolicy,
}

/// Whether a re-import's new and changed tools are served at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    #[default]
    Manual,
    AutoApprove,
}

impl ApprovalPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::AutoApprove => "auto_approve",
        }
    }
}

/// An import as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Import {
    import_id: String,
    server_id: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    /// The tools it made, by name.
    tools: Vec<String>,
    /// Security scheme → secret.
    credentials: Value,
    /// `manual` or `auto_approve`: what a re-import's new and changed tools wait for.
    approval_policy: String,
    created_at: String,
}

/// `{"import": …}`, with what applying it left out.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportEnvelope {
    import: Import,
    /// Operations that became no tool, and why (on the import that made them only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<Skipped>,
    /// Security schemes tools need that no secret was given for: those tools call without one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing_credentials: Vec<String>,
}

/// `{"imports": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportList {
    imports: Vec<Import>,
}

async fn view(ctx: &OpCtx, record: ImportRecord) -> ApiResult<Import> {
    let tools = ctx.state.store.import_tools(&record.org_id, &record.id).await?;
    Ok(Import {
        import_id: record.id,
        server_id: record.server_id,
        title: record.title,
        source_url: record.source_url,
        base_url: record.base_url,
        tools: tools.into_iter().map(|t| t.name).collect(),
        credentials: serde_json::from_str(&record.credentials).map_err(ApiError::internal)?,
        approval_policy: record.approval_policy,
        created_at: time::iso(record.created_at),
    })
}

pub(super) async fn create(ctx: OpCtx, input: CreateImport) -> ApiResult<ImportEnvelope> {
    let server = server_of(&ctx).await?;
    let options = input.source.options()?;
    let set = input.source.load(&ctx.state.plane.outbound).await?;
    let plan = openapi::plan(&set, &options).map_err(unprocessable)?;
    let existing = ctx.state.store.tool_list(&server.org_id, &server.id).await?;
    let taken: Vec<&str> = plan
        .tools
        .iter()
        .map(|t| t.name.as_str())
        .filter(|n| existing.iter().any(|e| e.name == *n))
        .collect();
    if !taken.is_empty() {
        return Err(ApiError::conflict(format!(
            "the server already has tools named {}: leave them out (select) or rename them first",
            taken.join(", ")
        )));
    }
    // Each scheme's secret, checked once: active, of this org, and fit for the scheme.
    let mut secrets_by_scheme = BTreeMap::new();
    for (scheme, credential) in &input.credentials {
        let Some(auth) = plan.tools.iter().find_map(|t| t.auth.as_ref().filter(|a| a.scheme == *scheme))
        else {
            return Err(ApiError::unprocessable(format!(
                "credentials.{scheme}: no imported tool uses this scheme"
            )));
        };
        let opened = secrets::open_secret(
            ctx.state.store.as_ref(),
            &ctx.state.master_key,
            &server.org_id,
            &credential.secret_id,
        )
        .await;
        let value = match opened {
            Ok((_, value)) => value,
            Err(SecretError::NotFound(_)) => {
                return Err(ApiError::unprocessable(format!(
                    "credentials.{scheme}: no secret {} in this organization",
                    credential.secret_id
                )));
            }
            Err(SecretError::Disabled(id)) => {
                return Err(ApiError::conflict(format!("credentials.{scheme}: secret {id} is disabled")));
            }
            Err(other) => return Err(ApiError::internal(other)),
        };
        http_tool::validate_credential(auth_type(auth.kind), &value, auth.name.as_deref()).map_err(|e| {
            ApiError::unprocessable(format!("credentials.{scheme}: the secret's value does not fit: {e}"))
        })?;
        match (auth.kind, &credential.client_id) {
            (AuthKind::ClientCredentials, None) => {
                return Err(ApiError::unprocessable(format!(
                    "credentials.{scheme}.clientId is required: {scheme} is OAuth client credentials"
                )));
            }
            (AuthKind::ClientCredentials, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(ApiError::unprocessable(format!(
                    "credentials.{scheme}.clientId is only for an OAuth client-credentials scheme"
                )));
            }
        }
        secrets_by_scheme.insert(
            scheme.clone(),
            Carried { secret_id: credential.secret_id.clone(), client_id: credential.client_id.clone() },
        );
    }
    let now = time::now_ms();
    let record = ImportRecord {
        id: ids::new_id("imp"),
        org_id: server.org_id.clone(),
        server_id: server.id.clone(),
        title: plan.title.clone(),
        source_url: options.source_url.clone(),
        base_url: options.base_url.clone(),
        selection: json!({"tags": options.selection.tags, "paths": options.selection.paths,
            "operations": options.selection.operations})
        .to_string(),
        credentials: json!(
            secrets_by_scheme
                .iter()
                .map(|(k, v)| {
                    let mut entry = json!({"secretId": v.secret_id});
                    if let Some(id) = &v.client_id {
                        entry["clientId"] = json!(id);
                    }
                    (k.clone(), entry)
                })
                .collect::<serde_json::Map<_, _>>()
        )
        .to_string(),
        approval_policy: input.approval_policy.as_str().into(),
        created_at: now,
        updated_at: now,
    };
    let mut missing = Vec::new();
    let mut tools = Vec::with_capacity(plan.tools.len());
    for planned in &plan.tools {
        let carried = planned.auth.as_ref().and_then(|a| secrets_by_scheme.get(&a.scheme));
        if let (Some(auth), None) = (&planned.auth, carried) {
            if !missing.contains(&auth.scheme) {
                missing.push(auth.scheme.clone());
            }
        }
        let tool = tool_of(planned, &record, carried.cloned(), now, APPROVED)?;
        check(&tool).map_err(|e| ApiError::unprocessable(format!("{}: {}", planned.operation, e)))?;
        tools.push(tool);
    }
    ctx.state.store.import_create(&record, &tools).await?;
    announce(&ctx, &server.id).await?;
    Ok(ImportEnvelope {
        import: view(&ctx, record).await?,
        skipped: plan.skipped,
        missing_credentials: missing,
    })
}

fn auth_type(kind: AuthKind) -> AuthType {
    match kind {
        AuthKind::Bearer => AuthType::Bearer,
        AuthKind::Basic => AuthType::Basic,
        AuthKind::ApiKey => AuthType::ApiKey,
        AuthKind::ApiKeyQuery => AuthType::ApiKeyQuery,
        AuthKind::ClientCredentials => AuthType::OauthClientCredentials,
    }
}

/// The stored tool of a planned one, `approval` its state.
pub(super) fn tool_of(
    planned: &ToolPlan,
    import: &ImportRecord,
    carried: Option<Carried>,
    now: i64,
    approval: &str,
) -> ApiResult<HttpToolRecord> {
    let defs = planned.input_schema.get("$defs").cloned();
    let mut parameters: Vec<Parameter> = planned
        .parameters
        .iter()
        .map(|p| Parameter {
            schema: Some(p.schema.clone()),
            wire_name: p.wire_name.clone(),
            style: p.style.as_deref().and_then(|s| serde_json::from_value::<QueryStyle>(json!(s)).ok()),
            explode: p.explode,
            ..Parameter::simple(&p.name, p.location, ParamType::String, p.required)
        })
        .collect();
    let mut body = planned.body.as_ref().map(|b| Body {
        encoding: match b.encoding {
            openapi::BodyEncoding::Json => BodyEncoding::Json,
            openapi::BodyEncoding::Form => BodyEncoding::Form,
        },
        argument: Some(b.argument.clone()),
        required: b.required,
        schema: planned.input_schema["properties"].get(&b.argument).cloned(),
        description: String::new(),
    });
    // Schemas that contain themselves are shared definitions: they ride on one schema and are
    // gathered at the top of inputSchema again.
    if let Some(defs) = defs {
        let holder = match (&mut body, parameters.first_mut()) {
            (Some(body), _) => body.schema.as_mut(),
            (None, Some(first)) => first.schema.as_mut(),
            (None, None) => None,
        };
        if let Some(Value::Object(schema)) = holder {
            schema.insert("$defs".into(), defs);
        }
    }
    let (auth_type, auth_header) = match (&planned.auth, &carried) {
        (Some(auth), Some(_)) => (self::auth_type(auth.kind).as_str().to_owned(), auth.name.clone()),
        _ => ("none".to_owned(), None),
    };
    let auth_oauth = match (&planned.auth, &carried) {
        (
            Some(auth @ PlannedAuth { token_url: Some(token_url), .. }),
            Some(Carried { client_id: Some(id), .. }),
        ) => {
            let grant = ClientCredentials {
                token_url: token_url.clone(),
                client_id: id.clone(),
                scope: (!auth.scopes.is_empty()).then(|| auth.scopes.join(" ")),
            };
            Some(serde_json::to_string(&grant).map_err(ApiError::internal)?)
        }
        _ => None,
    };
    Ok(HttpToolRecord {
        id: ids::new_id("tool"),
        server_id: import.server_id.clone(),
        org_id: import.org_id.clone(),
        name: planned.name.clone(),
        description: planned.description.clone(),
        method: planned.method.as_str().to_owned(),
        endpoint_url: planned.endpoint_url.clone(),
        parameters: serde_json::to_string(&parameters).map_err(ApiError::internal)?,
        auth_type,
        auth_header,
        auth_credential: None,
        auth_secret_id: carried.map(|c| c.secret_id),
        auth_oauth,
        timeout_ms: http_tool::DEFAULT_TIMEOUT_MS,
        body: body.map(|b| serde_json::to_string(&b)).transpose().map_err(ApiError::internal)?,
        output_schema: planned.output_schema.as_ref().map(Value::to_string),
        import_id: Some(import.id.clone()),
        operation: Some(planned.operation.clone()),
        approval_state: approval.into(),
        approved_definition: None,
        created_at: now,
        updated_at: now,
    })
}

async fn import_of(ctx: &OpCtx) -> ApiResult<ImportRecord> {
    let server = server_of(ctx).await?;
    let id = ctx.param("importId")?;
    ctx.state.store.import_get(&server.org_id, &server.id, id).await?.ok_or(ApiError::NotFound("import"))
}

pub(super) async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<ImportList> {
    let server = server_of(&ctx).await?;
    let mut imports = Vec::new();
    for record in ctx.state.store.import_list(&server.org_id, &server.id).await? {
        imports.push(view(&ctx, record).await?);
    }
    Ok(ImportList { imports })
}

pub(super) async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<ImportEnvelope> {
    let record = import_of(&ctx).await?;
    Ok(ImportEnvelope {
        import: view(&ctx, record).await?,
        skipped: Vec::new(),
        missing_credentials: Vec::new(),
    })
}

pub(super) async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let record = import_of(&ctx).await?;
    ctx.state.store.import_delete(&record.org_id, &record.server_id, &record.id).await?;
    announce(&ctx, &record.server_id).await?;
    Ok(())
}
