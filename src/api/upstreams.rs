//! Upstream MCP servers: `/api/orgs/{org}/upstreams`, their discovered tools
//! with approval, refresh, and attaching them to servers. `docs/UPSTREAMS.md` is the design.

use std::collections::{BTreeMap, HashSet};

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::credential::AuthView;
use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::{announce as announce_server, server_of};
use crate::auth::Scope;
use crate::domain::upstream::{
    self as rules, ApprovalPolicy, ApprovalState, TransportKind, UpstreamAuth, UpstreamStatus,
};
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::outbound::OutboundError;
use crate::store::{AttachmentRecord, UpstreamRecord, UpstreamToolRecord};
use crate::upstream::UpstreamError;
use crate::upstream::authorize;
use crate::upstream::catalog::{self, Template};
use crate::upstream::launch::Launch;
use crate::upstream::service;
use crate::upstream::spec::{CREDENTIAL_PURPOSE, ENV_PURPOSE, HEADERS_PURPOSE, open_map, seal_map};

/// Auth toward an upstream as written: the credential is write-only.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    /// `none`, `bearer`, `api_key`, `basic` or `oauth`.
    #[serde(rename = "type")]
    kind: UpstreamAuth,
    /// Token, key, `username:password`, or an OAuth access token; write-only.
    #[schemars(length(min = 1, max = 8192), pattern(r"^[\x20-\x7E]*$"))]
    credential: Option<String>,
    /// An org secret holding the credential, instead of `credential`.
    #[serde(rename = "secretId")]
    secret_id: Option<String>,
    /// Header that carries an api_key credential (default `X-API-Key`).
    #[schemars(pattern(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$"))]
    header: Option<String>,
}

/// An upstream as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    upstream_id: String,
    org_id: String,
    name: String,
    description: String,
    transport: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    args: Vec<String>,
    /// Names of the environment variables set (values are sealed and never shown).
    env_keys: Vec<String>,
    /// Values of sensitive-looking headers are masked.
    request_headers: BTreeMap<String, String>,
    auth: AuthView,
    approval_policy: String,
    is_enabled: bool,
    /// `connected`, `error`, `needs_auth` or `disabled`.
    status: String,
    last_error: Option<String>,
    /// Revision negotiated at the last successful connection.
    protocol_version: Option<String>,
    server_info: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template_id: Option<String>,
    timeout_ms: i64,
    /// Servers this upstream is attached to.
    dependent_servers: Vec<String>,
    created_at: String,
    updated_at: String,
    refreshed_at: Option<String>,
}

fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["authorization", "cookie", "token", "secret", "key", "password", "auth"].iter().any(|s| n.contains(s))
}

impl Upstream {
    fn view(u: UpstreamRecord, opened: Opened, dependent_servers: Vec<String>) -> Self {
        let env_keys = opened.env.into_keys().collect();
        let request_headers = opened
            .headers
            .into_iter()
            .map(|(k, v)| if sensitive_header(&k) { (k, "********".to_string()) } else { (k, v) })
            .collect();
        Self {
            upstream_id: u.id,
            org_id: u.org_id,
            name: u.name,
            description: u.description,
            transport: u.transport,
            url: u.url,
            command: u.command,
            args: serde_json::from_str(&u.args).unwrap_or_default(),
            env_keys,
            request_headers,
            auth: AuthView::new(u.auth_type, u.auth_credential.is_some(), u.auth_secret_id, u.auth_header),
            approval_policy: u.approval_policy,
            is_enabled: u.is_enabled,
            status: u.status,
            last_error: u.last_error,
            protocol_version: u.protocol_version,
            server_info: u.server_info.and_then(|s| serde_json::from_str(&s).ok()),
            template_id: u.template_id,
            timeout_ms: u.timeout_ms,
            dependent_servers,
            created_at: time::iso(u.created_at),
            updated_at: time::iso(u.updated_at),
            refreshed_at: u.refreshed_at.map(time::iso),
        }
    }
}

/// `{"upstream": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamEnvelope {
    upstream: Upstream,
}

/// `{"upstreams": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamList {
    upstreams: Vec<Upstream>,
}

/// Input of `create_upstream`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUpstream {
    /// Unique in the org.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: String,
    #[schemars(length(max = 4000))]
    description: Option<String>,
    /// `streamable_http`, `sse` or `stdio`.
    transport: TransportKind,
    /// Endpoint of an HTTP upstream.
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    url: Option<String>,
    /// Program of a stdio upstream (must be allowed by `GATEHOUSE_STDIO_COMMANDS`).
    #[schemars(length(max = 1024), pattern(r"^[^\u0000]*\S[^\u0000]*$"))]
    command: Option<String>,
    #[schemars(schema_with = "field_schemas::args")]
    args: Option<Vec<String>>,
    /// Environment of a stdio upstream; values are sealed and never returned.
    #[schemars(schema_with = "field_schemas::env")]
    env: Option<BTreeMap<String, String>>,
    /// Headers sent on every request to an HTTP upstream.
    #[schemars(schema_with = "field_schemas::request_headers")]
    request_headers: Option<BTreeMap<String, String>>,
    auth: Option<AuthInput>,
    /// Default `require_approval_all`: nothing is served before a person approves it.
    approval_policy: Option<ApprovalPolicy>,
    is_enabled: Option<bool>,
    /// Per-request timeout (default 30000, at most 600000).
    #[schemars(range(min = 1, max = 600_000))]
    timeout_ms: Option<i64>,
}

/// Input of `update_upstream`: any field of `create_upstream` (maps replace the old ones).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUpstream {
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: Option<String>,
    #[schemars(length(max = 4000))]
    description: Option<String>,
    transport: Option<TransportKind>,
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    url: Option<String>,
    #[schemars(length(max = 1024), pattern(r"^[^\u0000]*\S[^\u0000]*$"))]
    command: Option<String>,
    #[schemars(schema_with = "field_schemas::args")]
    args: Option<Vec<String>>,
    #[schemars(schema_with = "field_schemas::env")]
    env: Option<BTreeMap<String, String>>,
    #[schemars(schema_with = "field_schemas::request_headers")]
    request_headers: Option<BTreeMap<String, String>>,
    /// Without `credential`, the stored credential is kept (if the type is unchanged).
    auth: Option<AuthInput>,
    approval_policy: Option<ApprovalPolicy>,
    is_enabled: Option<bool>,
    #[schemars(range(min = 1, max = 600_000))]
    timeout_ms: Option<i64>,
}

/// A tool an upstream offers, with its approval.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamTool {
    name: String,
    description: Option<String>,
    /// `approved`, `needs_approval` or `rejected`.
    approval_state: String,
    enabled: bool,
    /// Whether servers offer it now (approved, enabled, definition unchanged since approval).
    served: bool,
    /// SHA-256 over name, description, inputSchema, outputSchema and annotations.
    definition_hash: String,
    /// The hash that was approved.
    approved_hash: Option<String>,
    /// The tool as the upstream defines it now.
    definition: Value,
    updated_at: String,
}

impl From<UpstreamToolRecord> for UpstreamTool {
    fn from(t: UpstreamToolRecord) -> Self {
        let definition: Value = serde_json::from_str(&t.definition).unwrap_or(Value::Null);
        Self {
            served: rules::is_served(
                &t.approval_state,
                t.enabled,
                &t.definition_hash,
                t.approved_hash.as_deref(),
            ),
            description: definition.get("description").and_then(Value::as_str).map(str::to_string),
            name: t.name,
            approval_state: t.approval_state,
            enabled: t.enabled,
            definition_hash: t.definition_hash,
            approved_hash: t.approved_hash,
            definition,
            updated_at: time::iso(t.updated_at),
        }
    }
}

/// `{"tools": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamToolList {
    tools: Vec<UpstreamTool>,
}

/// `{"tool": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamToolEnvelope {
    tool: UpstreamTool,
}

/// Input of `update_upstream_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUpstreamTool {
    /// `approved` pins the current definition; `rejected` withholds the tool for good.
    approval_state: Option<ApprovalState>,
    enabled: Option<bool>,
}

/// What a refresh found.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResult {
    upstream: Upstream,
    tools: Vec<UpstreamTool>,
    /// Approved tools whose definition changed: withheld until approved again.
    changed: Vec<String>,
}

/// An upstream attached to a server.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    server_id: String,
    upstream_id: String,
    /// Tool names chosen, or `null` for all of the upstream's tools.
    tools: Option<Vec<String>>,
    /// Served names are `prefix__tool` (no prefix when empty).
    prefix: String,
    created_at: String,
}

impl From<AttachmentRecord> for Attachment {
    fn from(a: AttachmentRecord) -> Self {
        Self {
            server_id: a.server_id,
            upstream_id: a.upstream_id,
            tools: a.tools.and_then(|t| serde_json::from_str(&t).ok()),
            prefix: a.prefix,
            created_at: time::iso(a.created_at),
        }
    }
}

/// `{"attachment": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentEnvelope {
    attachment: Attachment,
}

/// `{"attachments": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentList {
    attachments: Vec<Attachment>,
}

/// Input of `attach_upstream`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttachUpstream {
    /// Upstream tool names to serve, or `null`/absent for all of them.
    tools: Option<Vec<String>>,
    /// Name prefix (snake_case; `""` for none). Default: the upstream's name in snake_case.
    #[schemars(length(max = 40), pattern(r"^([a-z]([a-z0-9]|_(?!_)){0,39})?$"))]
    prefix: Option<String>,
}

/// `{"templates": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateList {
    templates: Vec<Template>,
}

/// Input of `install_template`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstallTemplate {
    /// A `templateId` from `GET /api/catalog`.
    #[schemars(schema_with = "field_schemas::template_id")]
    template_id: String,
    /// Default: the template's name.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: Option<String>,
    /// The template's settings by name.
    #[serde(default)]
    settings: serde_json::Map<String, Value>,
    approval_policy: Option<ApprovalPolicy>,
    is_enabled: Option<bool>,
    #[schemars(range(min = 1, max = 600_000))]
    timeout_ms: Option<i64>,
}

/// Where to send a person to authorize Gatehouse toward an upstream.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// Open this in a browser; the authorization server sends the person back to `redirectUri`.
    authorization_url: String,
    redirect_uri: String,
    expires_at: String,
}

/// What an authorization server appends to the callback URL.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallbackInput {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The outcome of an authorization.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackResult {
    ok: bool,
    upstream_id: String,
    /// The upstream's status after connecting with the new token.
    status: String,
}

/// Registers the upstream operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "authorize_upstream",
            Method::GET,
            "/api/orgs/{org}/upstreams/{upstreamId}/authorize",
            Access::Org(Scope::UpstreamsWrite),
            "Start (or restart) OAuth authorization toward an upstream: returns the URL to open.",
        ),
        authorize_upstream,
    );
    r.add(
        OpSpec::new(
            "upstream_oauth_callback",
            Method::GET,
            crate::upstream::oauth::CALLBACK_PATH,
            Access::Public,
            "Where the authorization server returns: exchanges the code and connects the upstream.",
        ),
        oauth_callback,
    );
    r.add(
        OpSpec::new(
            "list_catalog",
            Method::GET,
            "/api/catalog",
            Access::Authenticated,
            "List the MCP servers that can be installed from a template.",
        ),
        list_catalog,
    );
    r.add(
        OpSpec::new(
            "install_template",
            Method::POST,
            "/api/orgs/{org}/upstreams/install-template",
            Access::Org(Scope::UpstreamsWrite),
            "Install an upstream from a catalogue template in one call.",
        )
        .status(StatusCode::CREATED),
        install_template,
    );
    r.add(
        OpSpec::new(
            "install_custom",
            Method::POST,
            "/api/orgs/{org}/upstreams/install-custom",
            Access::Org(Scope::UpstreamsWrite),
            "Install a custom upstream (the same as create_upstream).",
        )
        .status(StatusCode::CREATED),
        create,
    );
    let base = "/api/orgs/{org}/upstreams";
    let one = "/api/orgs/{org}/upstreams/{upstreamId}";
    let tools = "/api/orgs/{org}/upstreams/{upstreamId}/tools";
    let read = Access::Org(Scope::UpstreamsRead);
    let write = Access::Org(Scope::UpstreamsWrite);
    r.add(OpSpec::new("list_upstreams", Method::GET, base, read, "List upstream MCP servers."), list);
    r.add(
        OpSpec::new(
            "create_upstream",
            Method::POST,
            base,
            write,
            "Register an upstream MCP server and discover it.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(OpSpec::new("get_upstream", Method::GET, one, read, "Read an upstream."), get);
    r.add(OpSpec::new("update_upstream", Method::PATCH, one, write, "Change an upstream."), update);
    r.add(
        OpSpec::new(
            "delete_upstream",
            Method::DELETE,
            one,
            write,
            "Delete an upstream; its tools leave every server.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
    r.add(
        OpSpec::new(
            "list_upstream_tools",
            Method::GET,
            tools,
            read,
            "List an upstream's tools with their approval.",
        ),
        list_tools,
    );
    r.add(
        OpSpec::new(
            "refresh_upstream_tools",
            Method::POST,
            "/api/orgs/{org}/upstreams/{upstreamId}/tools/refresh",
            write,
            "Reconnect and rediscover an upstream's tools, prompts and resources.",
        ),
        refresh,
    );
    r.add(
        OpSpec::new(
            "update_upstream_tool",
            Method::PATCH,
            "/api/orgs/{org}/upstreams/{upstreamId}/tools/{toolName}",
            write,
            "Approve, reject, enable or disable an upstream tool.",
        ),
        update_tool,
    );
    let attach = "/api/orgs/{org}/servers/{serverId}/upstreams/{upstreamId}";
    r.add(
        OpSpec::new(
            "list_server_upstreams",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/upstreams",
            Access::Org(Scope::ServersRead),
            "List the upstreams attached to a server.",
        ),
        list_attachments,
    );
    r.add(
        OpSpec::new(
            "attach_upstream",
            Method::PUT,
            attach,
            Access::Org(Scope::ServersWrite),
            "Serve all or some of an upstream's tools from a server.",
        ),
        attach_upstream,
    );
    r.add(
        OpSpec::new(
            "detach_upstream",
            Method::DELETE,
            attach,
            Access::Org(Scope::ServersWrite),
            "Stop serving an upstream's tools from a server.",
        )
        .status(StatusCode::NO_CONTENT),
        detach_upstream,
    );
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request(msg)
}

/// The API error for an upstream failure during a management call.
fn upstream_error(e: UpstreamError) -> ApiError {
    match e {
        UpstreamError::Config(m) => ApiError::BadRequest(m),
        other => ApiError::BadGateway(other.to_string()),
    }
}

async fn view(ctx: &OpCtx, u: UpstreamRecord) -> ApiResult<Upstream> {
    let deps = ctx.state.store.attachments_of_upstream(&u.org_id, &u.id).await?;
    // A value that cannot be opened shows as absent rather than failing the listing.
    let opened = Opened::of(ctx, &u).unwrap_or_default();
    Ok(Upstream::view(u, opened, deps.into_iter().map(|a| a.server_id).collect()))
}

async fn upstream_of(ctx: &OpCtx) -> ApiResult<UpstreamRecord> {
    let org_id = &ctx.org()?.id;
    let id = ctx.param("upstreamId")?;
    ctx.state.store.upstream_get(org_id, id).await?.ok_or(ApiError::NotFound("upstream"))
}

/// Checks the whole record: transport fields, URL policy, stdio allow-list, limits.
fn check(ctx: &OpCtx, u: &UpstreamRecord, opened: &Opened) -> ApiResult<()> {
    let (env, headers) = (&opened.env, &opened.headers);
    let transport = TransportKind::parse(&u.transport).ok_or_else(|| bad("unknown transport"))?;
    let args: Vec<String> = serde_json::from_str(&u.args).map_err(ApiError::internal)?;
    rules::validate_headers(headers).map_err(ApiError::Unprocessable)?;
    if !(1..=rules::MAX_TIMEOUT_MS).contains(&u.timeout_ms) {
        return Err(bad(format!("timeoutMs must be 1 to {}", rules::MAX_TIMEOUT_MS)));
    }
    match transport {
        TransportKind::StreamableHttp | TransportKind::Sse => {
            let url = u
                .url
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable(format!("url is required for {}", u.transport)))?;
            if u.command.is_some() || !args.is_empty() || !env.is_empty() {
                return Err(ApiError::unprocessable("command, args and env are for stdio upstreams"));
            }
            rules::validate_url(url).map_err(ApiError::Unprocessable)?;
            match ctx.state.gateway.outbound.request(Method::GET, url) {
                Ok(_) => {}
                Err(OutboundError::Forbidden(m)) => {
                    return Err(ApiError::unprocessable(format!("url is not allowed: {m}")));
                }
                Err(e) => return Err(ApiError::unprocessable(format!("url: {e}"))),
            }
        }
        TransportKind::Stdio => {
            let command = u
                .command
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable("command is required for stdio"))?;
            if u.url.is_some() || !headers.is_empty() {
                return Err(ApiError::unprocessable("url and requestHeaders are for HTTP upstreams"));
            }
            rules::validate_command(command, &args).map_err(ApiError::BadRequest)?;
            rules::validate_env(env).map_err(ApiError::BadRequest)?;
            let launch = Launch { template_id: u.template_id.as_deref(), command, args: &args, env };
            ctx.state
                .gateway
                .upstreams
                .launch_policy()
                .check(launch)
                .map_err(|refused| ApiError::Forbidden(refused.to_string()))?;
        }
    }
    Ok(())
}

async fn apply_auth(ctx: &OpCtx, u: &mut UpstreamRecord, auth: AuthInput) -> ApiResult<()> {
    if let Some(secret_id) = auth.secret_id {
        if auth.credential.is_some() {
            return Err(ApiError::unprocessable("auth takes a credential or a secretId, not both"));
        }
        if matches!(auth.kind, UpstreamAuth::None | UpstreamAuth::Oauth) {
            return Err(ApiError::unprocessable("auth.secretId is for bearer, api_key and basic"));
        }
        let opened = crate::secrets::open_secret(
            ctx.state.store.as_ref(),
            &ctx.state.master_key,
            &u.org_id,
            &secret_id,
        )
        .await;
        match opened {
            Ok(_) => {}
            Err(crate::secrets::SecretError::NotFound(_)) => {
                return Err(ApiError::unprocessable(format!(
                    "auth.secretId: no secret {secret_id} in this organization"
                )));
            }
            Err(crate::secrets::SecretError::Disabled(_)) => {
                return Err(ApiError::conflict(format!("auth.secretId: secret {secret_id} is disabled")));
            }
            Err(other) => return Err(ApiError::internal(other)),
        }
        u.auth_type = auth.kind.as_str().to_string();
        u.auth_header = match (auth.kind, auth.header) {
            (UpstreamAuth::ApiKey, h) => Some(h.unwrap_or_else(|| "X-API-Key".to_string())),
            (_, Some(_)) => return Err(ApiError::unprocessable("auth.header is only for api_key")),
            (_, None) => None,
        };
        u.auth_secret_id = Some(secret_id);
        u.auth_credential = None;
        return Ok(());
    }
    u.auth_secret_id = None;
    let same_type = u.auth_type == auth.kind.as_str();
    u.auth_type = auth.kind.as_str().to_string();
    u.auth_header = match (auth.kind, auth.header) {
        (UpstreamAuth::ApiKey, Some(h)) => {
            rules::validate_headers(&BTreeMap::from([(h.clone(), "x".to_string())]))
                .map_err(ApiError::Unprocessable)?;
            Some(h)
        }
        (UpstreamAuth::ApiKey, None) => Some("X-API-Key".to_string()),
        (_, Some(_)) => return Err(ApiError::unprocessable("auth.header is only for api_key")),
        (_, None) => None,
    };
    match (auth.kind, auth.credential) {
        (UpstreamAuth::None, Some(_)) => Err(ApiError::unprocessable("auth type none takes no credential")),
        (UpstreamAuth::None, None) => {
            u.auth_credential = None;
            Ok(())
        }
        (kind, Some(credential)) => {
            let ok = !credential.is_empty()
                && credential.len() <= 8192
                && credential.bytes().all(|b| (0x20..0x7f).contains(&b))
                && (kind != UpstreamAuth::Basic || credential.contains(':'));
            if !ok {
                return Err(ApiError::unprocessable(match kind {
                    UpstreamAuth::Basic => "auth.credential must be username:password",
                    _ => "auth.credential must be printable ASCII, at most 8192 characters",
                }));
            }
            u.auth_credential = Some(ctx.state.master_key.encrypt(
                CREDENTIAL_PURPOSE,
                credential.as_bytes(),
                u.id.as_bytes(),
            ));
            Ok(())
        }
        // OAuth tokens come from the authorization flow; others keep what they had.
        (UpstreamAuth::Oauth, None) => {
            if !same_type {
                u.auth_credential = None;
            }
            Ok(())
        }
        (_, None) if same_type && u.auth_credential.is_some() => Ok(()),
        (kind, None) => {
            Err(ApiError::unprocessable(format!("auth type {} needs a credential", kind.as_str())))
        }
    }
}

/// An upstream's sealed maps, opened: its stdio environment and its HTTP request headers.
#[derive(Debug, Default, PartialEq, Eq)]
struct Opened {
    env: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
}

impl Opened {
    fn of(ctx: &OpCtx, u: &UpstreamRecord) -> ApiResult<Self> {
        let key = &ctx.state.master_key;
        Ok(Self {
            env: open_map(key, ENV_PURPOSE, &u.id, u.env_sealed.as_deref()).map_err(ApiError::internal)?,
            headers: open_map(key, HEADERS_PURPOSE, &u.id, u.headers_sealed.as_deref())
                .map_err(ApiError::internal)?,
        })
    }

    /// Seals both into the record.
    fn seal_into(&self, ctx: &OpCtx, u: &mut UpstreamRecord) {
        let key = &ctx.state.master_key;
        u.env_sealed = seal_map(key, ENV_PURPOSE, &u.id, &self.env);
        u.headers_sealed = seal_map(key, HEADERS_PURPOSE, &u.id, &self.headers);
    }
}

fn description(raw: Option<String>) -> ApiResult<String> {
    let d = raw.unwrap_or_default().trim().to_string();
    if d.chars().count() > 4000 {
        return Err(bad("description must be at most 4000 characters"));
    }
    Ok(d)
}

async fn authorize_upstream(ctx: OpCtx, _: NoInput) -> ApiResult<Authorization> {
    let u = upstream_of(&ctx).await?;
    let (url, expires_at) = authorize::start(&ctx.state, &u).await.map_err(upstream_error)?;
    Ok(Authorization {
        authorization_url: url,
        redirect_uri: authorize::redirect_uri(&ctx.state),
        expires_at: time::iso(expires_at),
    })
}

async fn oauth_callback(ctx: OpCtx, input: CallbackInput) -> ApiResult<CallbackResult> {
    if let Some(error) = input.error {
        let detail = input.error_description.map(|d| format!(": {d}")).unwrap_or_default();
        return Err(ApiError::unprocessable(format!("the authorization server refused: {error}{detail}")));
    }
    let (Some(code), Some(state)) = (input.code, input.state) else {
        return Err(ApiError::unprocessable("code and state are required"));
    };
    match authorize::finish(&ctx.state, &code, &state).await {
        Ok(record) => {
            ctx.set_audit_org(&record.org_id);
            Ok(CallbackResult { ok: true, upstream_id: record.id, status: record.status })
        }
        Err(authorize::CallbackError::State) => {
            Err(ApiError::unprocessable("unknown or expired authorization state; start again"))
        }
        Err(authorize::CallbackError::Upstream(e)) => Err(upstream_error(e)),
    }
}

async fn list_catalog(_: OpCtx, _: NoInput) -> ApiResult<TemplateList> {
    Ok(TemplateList { templates: catalog::templates() })
}

async fn install_template(ctx: OpCtx, input: InstallTemplate) -> ApiResult<UpstreamEnvelope> {
    let template = catalog::template(&input.template_id)
        .ok_or_else(|| bad(format!("unknown templateId {}; see GET /api/catalog", input.template_id)))?;
    let installation = catalog::install(&template, &input.settings).map_err(ApiError::Unprocessable)?;
    let create_input = CreateUpstream {
        name: input.name.unwrap_or_else(|| template.name.to_string()),
        description: Some(template.description.to_string()),
        transport: template.transport,
        url: None,
        command: Some(template.command.to_string()),
        args: Some(installation.args),
        env: Some(installation.env),
        request_headers: None,
        auth: None,
        approval_policy: input.approval_policy,
        is_enabled: input.is_enabled,
        timeout_ms: input.timeout_ms,
    };
    create_upstream(ctx, create_input, Some(template.template_id.to_string())).await
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<UpstreamList> {
    let mut upstreams = Vec::new();
    for u in ctx.state.store.upstream_list(&ctx.org()?.id).await? {
        upstreams.push(view(&ctx, u).await?);
    }
    Ok(UpstreamList { upstreams })
}

async fn create(ctx: OpCtx, input: CreateUpstream) -> ApiResult<UpstreamEnvelope> {
    create_upstream(ctx, input, None).await
}

async fn create_upstream(
    ctx: OpCtx,
    input: CreateUpstream,
    template_id: Option<String>,
) -> ApiResult<UpstreamEnvelope> {
    let org_id = ctx.org()?.id.clone();
    let now = time::now_ms();
    let is_enabled = input.is_enabled.unwrap_or(true);
    let opened =
        Opened { env: input.env.unwrap_or_default(), headers: input.request_headers.unwrap_or_default() };
    let mut u = UpstreamRecord {
        id: ids::new_id("ups"),
        org_id,
        name: text::display_name(&input.name, "name").map_err(ApiError::BadRequest)?,
        description: description(input.description)?,
        transport: input.transport.as_str().to_string(),
        url: input.url.map(|s| s.trim().to_string()),
        command: input.command.map(|s| s.trim().to_string()),
        args: serde_json::to_string(&input.args.unwrap_or_default()).map_err(ApiError::internal)?,
        env_sealed: None,
        headers_sealed: None,
        auth_type: UpstreamAuth::None.as_str().to_string(),
        auth_header: None,
        auth_credential: None,
        auth_secret_id: None,
        approval_policy: input
            .approval_policy
            .unwrap_or(ApprovalPolicy::RequireApprovalAll)
            .as_str()
            .to_string(),
        is_enabled,
        status: if is_enabled { UpstreamStatus::Error } else { UpstreamStatus::Disabled }
            .as_str()
            .to_string(),
        last_error: is_enabled.then(|| "not connected yet".to_string()),
        protocol_version: None,
        server_info: None,
        template_id,
        timeout_ms: input.timeout_ms.unwrap_or(rules::DEFAULT_TIMEOUT_MS),
        created_at: now,
        updated_at: now,
        refreshed_at: None,
    };
    check(&ctx, &u, &opened)?;
    opened.seal_into(&ctx, &mut u);
    if let Some(auth) = input.auth {
        apply_auth(&ctx, &mut u, auth).await?;
    }
    ctx.state.store.upstream_create(&u).await?;
    if is_enabled {
        // A failure to connect is not a failure to register: it shows in status/lastError.
        let _ = service::refresh(&ctx.state, &u).await;
    }
    let stored =
        ctx.state.store.upstream_get(&u.org_id, &u.id).await?.ok_or(ApiError::NotFound("upstream"))?;
    Ok(UpstreamEnvelope { upstream: view(&ctx, stored).await? })
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<UpstreamEnvelope> {
    let u = upstream_of(&ctx).await?;
    Ok(UpstreamEnvelope { upstream: view(&ctx, u).await? })
}

async fn update(ctx: OpCtx, input: UpdateUpstream) -> ApiResult<UpstreamEnvelope> {
    let mut u = upstream_of(&ctx).await?;
    let before = u.clone();
    let mut opened = Opened::of(&ctx, &u)?;
    if let Some(name) = input.name {
        u.name = text::display_name(&name, "name").map_err(ApiError::BadRequest)?;
    }
    if input.description.is_some() {
        u.description = description(input.description)?;
    }
    if let Some(t) = input.transport {
        u.transport = t.as_str().to_string();
        // Fields of the other kind no longer apply.
        if t == TransportKind::Stdio {
            u.url = None;
            opened.headers.clear();
        } else {
            u.command = None;
            u.args = "[]".into();
            opened.env.clear();
        }
    }
    if let Some(url) = input.url {
        u.url = Some(url.trim().to_string());
    }
    if let Some(command) = input.command {
        u.command = Some(command.trim().to_string());
    }
    if let Some(args) = input.args {
        u.args = serde_json::to_string(&args).map_err(ApiError::internal)?;
    }
    if let Some(env) = input.env {
        opened.env = env;
    }
    if let Some(headers) = input.request_headers {
        opened.headers = headers;
    }
    if let Some(p) = input.approval_policy {
        u.approval_policy = p.as_str().to_string();
    }
    if let Some(t) = input.timeout_ms {
        u.timeout_ms = t;
    }
    if let Some(enabled) = input.is_enabled {
        u.is_enabled = enabled;
    }
    check(&ctx, &u, &opened)?;
    opened.seal_into(&ctx, &mut u);
    if let Some(auth) = input.auth {
        apply_auth(&ctx, &mut u, auth).await?;
    }
    let reconfigured = u.transport != before.transport
        || u.url != before.url
        || u.command != before.command
        || u.args != before.args
        || opened != Opened::of(&ctx, &before)?
        || u.auth_type != before.auth_type
        || u.auth_header != before.auth_header
        || u.auth_credential != before.auth_credential
        || u.auth_secret_id != before.auth_secret_id
        || u.timeout_ms != before.timeout_ms;
    if !u.is_enabled {
        u.status = UpstreamStatus::Disabled.as_str().to_string();
    } else if !before.is_enabled {
        u.status = UpstreamStatus::Error.as_str().to_string();
    }
    u.updated_at = time::now_ms();
    ctx.state.store.upstream_update(&u).await?;
    if !u.is_enabled {
        // Connections to a disabled upstream close on every node (a reconfigured one is
        // replaced where it is next used: its connection fingerprint changed).
        ctx.state.announce(&format!("upstream_gone:{}", u.id)).await?;
    }
    if u.is_enabled && (reconfigured || !before.is_enabled) {
        let _ = service::refresh(&ctx.state, &u).await;
    }
    if !u.is_enabled {
        ctx.state
            .store
            .upstream_set_status(&u.id, UpstreamStatus::Disabled.as_str(), None, None, u.updated_at)
            .await?;
    }
    service::announce(&ctx.state, &u.id).await;
    let stored =
        ctx.state.store.upstream_get(&u.org_id, &u.id).await?.ok_or(ApiError::NotFound("upstream"))?;
    Ok(UpstreamEnvelope { upstream: view(&ctx, stored).await? })
}

async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let u = upstream_of(&ctx).await?;
    ctx.state.store.upstream_delete(&u.org_id, &u.id).await?;
    ctx.state.announce(&format!("upstream_gone:{}", u.id)).await?;
    service::announce(&ctx.state, &u.id).await;
    Ok(())
}

async fn list_tools(ctx: OpCtx, _: NoInput) -> ApiResult<UpstreamToolList> {
    let u = upstream_of(&ctx).await?;
    let tools = ctx.state.store.upstream_tools(&u.id).await?;
    Ok(UpstreamToolList { tools: tools.into_iter().map(UpstreamTool::from).collect() })
}

async fn refresh(ctx: OpCtx, _: NoInput) -> ApiResult<RefreshResult> {
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

async fn update_tool(ctx: OpCtx, input: UpdateUpstreamTool) -> ApiResult<UpstreamToolEnvelope> {
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
        tool.approved_hash = match state {
            ApprovalState::Approved => Some(tool.definition_hash.clone()),
            _ => tool.approved_hash,
        };
    }
    if let Some(enabled) = input.enabled {
        tool.enabled = enabled;
    }
    tool.updated_at = time::now_ms();
    ctx.state.store.upstream_tool_update(&tool).await?;
    service::announce(&ctx.state, &u.id).await;
    Ok(UpstreamToolEnvelope { tool: tool.into() })
}

async fn list_attachments(ctx: OpCtx, _: NoInput) -> ApiResult<AttachmentList> {
    let server = server_of(&ctx).await?;
    let list = ctx.state.store.attachments_of_server(&server.org_id, &server.id).await?;
    Ok(AttachmentList { attachments: list.into_iter().map(Attachment::from).collect() })
}

async fn attach_upstream(ctx: OpCtx, input: AttachUpstream) -> ApiResult<AttachmentEnvelope> {
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

async fn detach_upstream(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    let upstream_id = ctx.param("upstreamId")?;
    if !ctx.state.store.attachment_delete(&server.org_id, &server.id, upstream_id).await? {
        return Err(ApiError::NotFound("attachment"));
    }
    announce_server(&ctx, &server.id).await?;
    Ok(())
}

/// Schemas of the fields whose rules `domain::upstream` checks, for the OpenAPI document.
mod field_schemas {
    use schemars::{Schema, SchemaGenerator, json_schema};

    pub fn request_headers(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["object", "null"],
            "maxProperties": 50,
            "propertyNames": {"pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$"},
            "additionalProperties": {"type": "string", "maxLength": 8192, "pattern": "^[\\t\\x20-\\x7E]*$"}
        })
    }

    pub fn env(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["object", "null"],
            "maxProperties": 100,
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,255}$"},
            "additionalProperties": {"type": "string", "maxLength": 32768, "pattern": "^[^\\u0000]*$"}
        })
    }

    pub fn args(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["array", "null"],
            "maxItems": 100,
            "items": {"type": "string", "maxLength": 4096, "pattern": "^[^\\u0000]*$"}
        })
    }

    pub fn template_id(_: &mut SchemaGenerator) -> Schema {
        let ids: Vec<&str> = crate::upstream::catalog::templates().iter().map(|t| t.template_id).collect();
        json_schema!({"type": "string", "enum": ids})
    }
}
