//! What the upstream operations take and give: inputs as written, upstreams, tools and
//! attachments as shown (credentials never), and the schemas of fields `domain::upstream` checks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::credential::AuthView;
use crate::api::registry::OpCtx;
use crate::domain::time;
use crate::domain::upstream::{
    self as rules, ApprovalPolicy, ApprovalState, CredentialMode, TransportKind, UpstreamAuth,
};
use crate::error::{ApiError, ApiResult};
use crate::store::{AttachmentRecord, UpstreamRecord, UpstreamToolRecord};

// Authorization inputs and views, used beside the upstream model by every operation file.
pub(super) use super::oauth_model::*;
use crate::upstream::catalog::Template;
use crate::upstream::spec::{ENV_PURPOSE, HEADERS_PURPOSE, open_map, seal_map};

/// Auth toward an upstream as written: the credential is write-only.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    /// `none`, `bearer`, `api_key`, `basic` or `oauth`.
    #[serde(rename = "type")]
    pub(super) kind: UpstreamAuth,
    /// Token, key, `username:password`, or an OAuth access token; write-only.
    #[schemars(length(min = 1, max = 8192), pattern(r"^[\x20-\x7E]*$"))]
    pub(super) credential: Option<String>,
    /// An org secret holding the credential, instead of `credential`.
    #[serde(rename = "secretId")]
    pub(super) secret_id: Option<String>,
    /// Header that carries an api_key credential (default `X-API-Key`).
    #[schemars(pattern(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$"))]
    pub(super) header: Option<String>,
}

/// An upstream as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    pub(super) upstream_id: String,
    pub(super) org_id: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) transport: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) command: Option<String>,
    pub(super) args: Vec<String>,
    /// Names of the environment variables set (values are sealed and never shown).
    pub(super) env_keys: Vec<String>,
    /// Values of sensitive-looking headers are masked.
    pub(super) request_headers: BTreeMap<String, String>,
    pub(super) auth: AuthView,
    /// `shared`: calls carry `auth`; `per_user`: each person's own authorization;
    /// `passthrough_exchange`: each person's token, obtained by token exchange (`auth` is, for
    /// both, what the catalogue is discovered with).
    pub(super) credential_mode: String,
    /// For `passthrough_exchange`: what its authorization server must trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) token_exchange: Option<TokenExchange>,
    /// The client Gatehouse has at the upstream's authorization server, once it has one
    /// (`get_upstream` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) oauth_client: Option<OAuthClientSet>,
    pub(super) approval_policy: String,
    pub(super) is_enabled: bool,
    /// `connected`, `error`, `needs_auth` or `disabled`.
    pub(super) status: String,
    pub(super) last_error: Option<String>,
    /// Revision negotiated at the last successful connection.
    pub(super) protocol_version: Option<String>,
    pub(super) server_info: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) template_id: Option<String>,
    pub(super) timeout_ms: i64,
    /// Servers this upstream is attached to.
    pub(super) dependent_servers: Vec<String>,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) refreshed_at: Option<String>,
    /// Who registered it (`user:<id>`, `token:<id>`, `dev`), when known.
    pub(super) created_by: Option<String>,
}

fn sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["authorization", "cookie", "token", "secret", "key", "password", "auth"].iter().any(|s| n.contains(s))
}

impl Upstream {
    pub(super) fn view(u: UpstreamRecord, opened: Opened, dependent_servers: Vec<String>) -> Self {
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
            credential_mode: u.credential_mode,
            token_exchange: None,
            oauth_client: None,
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
            created_by: u.created_by,
        }
    }
}

/// `{"upstream": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamEnvelope {
    pub(super) upstream: Upstream,
}

/// `{"upstreams": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamList {
    pub(super) upstreams: Vec<Upstream>,
}

/// Input of `create_upstream`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUpstream {
    /// Unique in the org.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    pub(super) name: String,
    #[schemars(length(max = 4000), pattern(r"^[^\u0000]*$"))]
    pub(super) description: Option<String>,
    /// `streamable_http`, `sse` or `stdio`.
    pub(super) transport: TransportKind,
    /// Endpoint of an HTTP upstream.
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    pub(super) url: Option<String>,
    /// Program of a stdio upstream (must be allowed by `GATEHOUSE_STDIO_COMMANDS`).
    #[schemars(length(max = 1024), pattern(r"^[^\u0000]*\S[^\u0000]*$"))]
    pub(super) command: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "field_schemas::args")]
    pub(super) args: Option<Vec<String>>,
    /// Environment of a stdio upstream; values are sealed and never returned.
    #[serde(default)]
    #[schemars(schema_with = "field_schemas::env")]
    pub(super) env: Option<BTreeMap<String, String>>,
    /// Headers sent on every request to an HTTP upstream.
    #[serde(default)]
    #[schemars(schema_with = "field_schemas::request_headers")]
    pub(super) request_headers: Option<BTreeMap<String, String>>,
    pub(super) auth: Option<AuthInput>,
    /// Default `shared`. `per_user` (HTTP upstreams with OAuth): each person authorizes the
    /// upstream with their own account and calls carry their token. `passthrough_exchange`
    /// (HTTP upstreams whose authorization server trusts this org's Gatehouse issuer): each
    /// person's token is obtained by RFC 8693 token exchange of an assertion Gatehouse signs.
    pub(super) credential_mode: Option<CredentialMode>,
    /// Default `require_approval_all`: nothing is served before a person approves it.
    pub(super) approval_policy: Option<ApprovalPolicy>,
    pub(super) is_enabled: Option<bool>,
    /// Per-request timeout (default 30000, at most 600000).
    #[schemars(range(min = 1, max = 600_000))]
    pub(super) timeout_ms: Option<i64>,
}

/// Input of `update_upstream`: any field of `create_upstream` (maps replace the old ones).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUpstream {
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    pub(super) name: Option<String>,
    #[schemars(length(max = 4000), pattern(r"^[^\u0000]*$"))]
    pub(super) description: Option<String>,
    pub(super) transport: Option<TransportKind>,
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    pub(super) url: Option<String>,
    #[schemars(length(max = 1024), pattern(r"^[^\u0000]*\S[^\u0000]*$"))]
    pub(super) command: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "field_schemas::args")]
    pub(super) args: Option<Vec<String>>,
    #[serde(default)]
    #[schemars(schema_with = "field_schemas::env")]
    pub(super) env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    #[schemars(schema_with = "field_schemas::request_headers")]
    pub(super) request_headers: Option<BTreeMap<String, String>>,
    /// Without `credential`, the stored credential is kept (if the type is unchanged).
    pub(super) auth: Option<AuthInput>,
    pub(super) credential_mode: Option<CredentialMode>,
    pub(super) approval_policy: Option<ApprovalPolicy>,
    pub(super) is_enabled: Option<bool>,
    #[schemars(range(min = 1, max = 600_000))]
    pub(super) timeout_ms: Option<i64>,
}

/// A tool an upstream offers, with its approval.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamTool {
    pub(super) name: String,
    pub(super) description: Option<String>,
    /// `approved`, `needs_approval` or `rejected`.
    pub(super) approval_state: String,
    pub(super) enabled: bool,
    /// Whether servers offer it now (approved, enabled, definition unchanged since approval).
    pub(super) served: bool,
    /// SHA-256 over name, description, inputSchema, outputSchema and annotations.
    pub(super) definition_hash: String,
    /// The hash that was approved.
    pub(super) approved_hash: Option<String>,
    /// The tool as the upstream defines it now.
    pub(super) definition: Value,
    /// The definition that was approved, when the upstream has changed it since (shown beside
    /// `definition` before approving again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) approved_definition: Option<Value>,
    pub(super) updated_at: String,
}

impl From<UpstreamToolRecord> for UpstreamTool {
    fn from(t: UpstreamToolRecord) -> Self {
        let definition: Value = serde_json::from_str(&t.definition).unwrap_or(Value::Null);
        let changed = t.approved_hash.as_deref().is_some_and(|h| h != t.definition_hash);
        let approved_definition =
            t.approved_definition.as_deref().filter(|_| changed).and_then(|d| serde_json::from_str(d).ok());
        Self {
            approved_definition,
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
    pub(super) tools: Vec<UpstreamTool>,
}

/// `{"tool": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamToolEnvelope {
    pub(super) tool: UpstreamTool,
}

/// Input of `update_upstream_tool`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUpstreamTool {
    /// `approved` pins the current definition; `rejected` withholds the tool for good.
    pub(super) approval_state: Option<ApprovalState>,
    pub(super) enabled: Option<bool>,
}

/// What a refresh found.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResult {
    pub(super) upstream: Upstream,
    pub(super) tools: Vec<UpstreamTool>,
    /// Approved tools whose definition changed: withheld until approved again.
    pub(super) changed: Vec<String>,
}

/// An upstream attached to a server.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub(super) server_id: String,
    pub(super) upstream_id: String,
    /// Tool names chosen, or `null` for all of the upstream's tools.
    pub(super) tools: Option<Vec<String>>,
    /// Served names are `prefix__tool` (no prefix when empty).
    pub(super) prefix: String,
    pub(super) created_at: String,
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
    pub(super) attachment: Attachment,
}

/// `{"attachments": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttachmentList {
    pub(super) attachments: Vec<Attachment>,
}

/// Input of `attach_upstream`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttachUpstream {
    /// Upstream tool names to serve, or `null`/absent for all of them.
    pub(super) tools: Option<Vec<String>>,
    /// Name prefix (snake_case; `""` for none). Default: the upstream's name in snake_case.
    #[schemars(length(max = 40), pattern(r"^([a-z]([a-z0-9]|_(?!_)){0,39})?$"))]
    pub(super) prefix: Option<String>,
}

/// `{"templates": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateList {
    pub(super) templates: Vec<Template>,
}

/// Input of `install_template`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstallTemplate {
    /// A `templateId` from `GET /api/catalog`.
    #[schemars(schema_with = "field_schemas::template_id")]
    pub(super) template_id: String,
    /// Default: the template's name.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    pub(super) name: Option<String>,
    /// The template's settings by name.
    #[serde(default)]
    pub(super) settings: serde_json::Map<String, Value>,
    pub(super) approval_policy: Option<ApprovalPolicy>,
    pub(super) is_enabled: Option<bool>,
    #[schemars(range(min = 1, max = 600_000))]
    pub(super) timeout_ms: Option<i64>,
}

/// Where to send a person to authorize Gatehouse toward an upstream.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// Open this in a browser; the authorization server sends the person back to `redirectUri`.
    pub(super) authorization_url: String,
    pub(super) redirect_uri: String,
    pub(super) expires_at: String,
}

/// What an authorization server appends to the callback URL.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CallbackInput {
    pub(super) code: Option<String>,
    pub(super) state: Option<String>,
    pub(super) error: Option<String>,
    pub(super) error_description: Option<String>,
}

/// The outcome of an authorization.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackResult {
    pub(super) ok: bool,
    pub(super) upstream_id: String,
    /// The upstream's status after connecting with the new token.
    pub(super) status: String,
    /// The console page that started the flow: the answer is then a redirect there (303).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) return_to: Option<String>,
}

/// An upstream's sealed maps, opened: its stdio environment and its HTTP request headers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Opened {
    pub(super) env: BTreeMap<String, String>,
    pub(super) headers: BTreeMap<String, String>,
}

impl Opened {
    pub(super) fn of(ctx: &OpCtx, u: &UpstreamRecord) -> ApiResult<Self> {
        let key = &ctx.state.master_key;
        Ok(Self {
            env: open_map(key, ENV_PURPOSE, &u.id, u.env_sealed.as_deref()).map_err(ApiError::internal)?,
            headers: open_map(key, HEADERS_PURPOSE, &u.id, u.headers_sealed.as_deref())
                .map_err(ApiError::internal)?,
        })
    }

    /// Seals both into the record.
    pub(super) fn seal_into(&self, ctx: &OpCtx, u: &mut UpstreamRecord) {
        let key = &ctx.state.master_key;
        u.env_sealed = seal_map(key, ENV_PURPOSE, &u.id, &self.env);
        u.headers_sealed = seal_map(key, HEADERS_PURPOSE, &u.id, &self.headers);
    }
}

/// Schemas of the fields whose rules `domain::upstream` checks, for the OpenAPI document.
pub(super) mod field_schemas {
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
