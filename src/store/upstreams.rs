//! Upstream MCP servers, their catalogue and their attachments to servers: the rows, and the
//! [`UpstreamStore`] trait.

use async_trait::async_trait;

use super::StoreResult;

/// A registered upstream MCP server. JSON columns hold what the domain validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    /// `streamable_http`, `sse` or `stdio`.
    pub transport: String,
    pub url: Option<String>,
    pub command: Option<String>,
    /// JSON array of strings.
    pub args: String,
    /// JSON object of environment variables, sealed (purpose `upstream-env`, bound to the id).
    pub env_sealed: Option<String>,
    /// JSON object of header name → value, sealed (purpose `upstream-headers`, bound to the id).
    pub headers_sealed: Option<String>,
    pub auth_type: String,
    pub auth_header: Option<String>,
    /// Sealed (purpose `upstream-credential`, bound to the id).
    pub auth_credential: Option<String>,
    /// An org secret holding the credential instead (`auth: {type, secretId}`).
    pub auth_secret_id: Option<String>,
    pub approval_policy: String,
    pub is_enabled: bool,
    /// `connected`, `error`, `needs_auth` or `disabled`.
    pub status: String,
    pub last_error: Option<String>,
    pub protocol_version: Option<String>,
    /// JSON `serverInfo` of the last successful connection.
    pub server_info: Option<String>,
    pub template_id: Option<String>,
    pub timeout_ms: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub refreshed_at: Option<i64>,
    /// Who registered it: `user:<id>`, `token:<id>` or `dev`.
    pub created_by: Option<String>,
    /// `shared` or `per_user`: whose credential calls are made with.
    pub credential_mode: String,
}

/// A tool an upstream offers, with its approval state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamToolRecord {
    pub upstream_id: String,
    pub name: String,
    /// The MCP `Tool` object as the upstream sent it (JSON).
    pub definition: String,
    pub definition_hash: String,
    /// The hash that was approved; the tool is served only while it equals `definition_hash`.
    pub approved_hash: Option<String>,
    /// The definition (JSON) that was approved, kept while the upstream's changes.
    pub approved_definition: Option<String>,
    /// `approved`, `needs_approval` or `rejected`.
    pub approval_state: String,
    pub enabled: bool,
    /// Order in the upstream's own list.
    pub position: i64,
    pub updated_at: i64,
}

/// A prompt, resource or resource template an upstream offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamItemRecord {
    pub upstream_id: String,
    /// `prompt`, `resource` or `resource_template`.
    pub kind: String,
    /// Prompt name, resource URI or URI template.
    pub key: String,
    /// The MCP object as the upstream sent it (JSON).
    pub definition: String,
    pub position: i64,
}

/// An upstream attached to a server: all its tools (`tools: None`) or a chosen subset.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentRecord {
    pub server_id: String,
    pub upstream_id: String,
    pub org_id: String,
    /// JSON array of upstream tool names, or `None` for all.
    pub tools: Option<String>,
    /// Prepended as `prefix__` to served names; empty for none.
    pub prefix: String,
    pub created_at: i64,
}

/// What a refresh found, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub tools: Vec<UpstreamToolRecord>,
    pub items: Vec<UpstreamItemRecord>,
}

/// Persistence of upstreams. Every lookup is scoped by org.
#[async_trait]
pub trait UpstreamStore {
    /// Creates an upstream (409 on a duplicate name in the org).
    async fn upstream_create(&self, upstream: &UpstreamRecord) -> StoreResult<()>;
    /// Upstreams of an org, oldest first.
    async fn upstream_list(&self, org_id: &str) -> StoreResult<Vec<UpstreamRecord>>;
    /// One upstream of an org.
    async fn upstream_get(&self, org_id: &str, upstream_id: &str) -> StoreResult<Option<UpstreamRecord>>;
    /// Every enabled upstream of every org (stdio supervision, health checks).
    async fn upstream_list_enabled(&self) -> StoreResult<Vec<UpstreamRecord>>;
    /// Writes every configurable field (not status).
    async fn upstream_update(&self, upstream: &UpstreamRecord) -> StoreResult<()>;
    /// Records the outcome of a connection attempt.
    async fn upstream_set_status(
        &self,
        upstream_id: &str,
        status: &str,
        last_error: Option<&str>,
        connected: Option<(&str, &str)>,
        now: i64,
    ) -> StoreResult<()>;
    /// Deletes an upstream with its catalogue and attachments.
    /// `(id, JSON)` of upstreams whose request headers are still stored in the clear (written
    /// before headers were sealed).
    async fn upstream_plain_headers(&self) -> StoreResult<Vec<(String, String)>>;
    /// Stores an upstream's headers sealed and empties the clear column.
    async fn upstream_seal_plain_headers(&self, upstream_id: &str, sealed: Option<&str>) -> StoreResult<()>;
    async fn upstream_delete(&self, org_id: &str, upstream_id: &str) -> StoreResult<()>;

    /// Replaces an upstream's catalogue in one transaction.
    async fn catalogue_replace(&self, upstream_id: &str, catalogue: &Catalogue, now: i64) -> StoreResult<()>;
    /// An upstream's tools in the upstream's order.
    async fn upstream_tools(&self, upstream_id: &str) -> StoreResult<Vec<UpstreamToolRecord>>;
    /// An upstream's prompts, resources and templates in the upstream's order.
    async fn upstream_items(&self, upstream_id: &str) -> StoreResult<Vec<UpstreamItemRecord>>;
    /// Changes the approval state, approved hash and enabled flag of one tool.
    async fn upstream_tool_update(&self, tool: &UpstreamToolRecord) -> StoreResult<()>;

    /// Attaches (or re-attaches) an upstream to a server.
    async fn attachment_put(&self, attachment: &AttachmentRecord) -> StoreResult<()>;
    /// Detaches; false when it was not attached.
    async fn attachment_delete(&self, org_id: &str, server_id: &str, upstream_id: &str) -> StoreResult<bool>;
    /// Attachments of a server, in attachment order.
    async fn attachments_of_server(
        &self,
        org_id: &str,
        server_id: &str,
    ) -> StoreResult<Vec<AttachmentRecord>>;
    /// Attachments of an upstream (its dependent servers).
    async fn attachments_of_upstream(
        &self,
        org_id: &str,
        upstream_id: &str,
    ) -> StoreResult<Vec<AttachmentRecord>>;
}

/// OAuth state of an upstream: its authorization server, Gatehouse's client there, tokens.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UpstreamOAuthRecord {
    pub upstream_id: String,
    pub org_id: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub resource: String,
    pub scope: Option<String>,
    pub client_id: String,
    /// Sealed (purpose `upstream-oauth`, bound to the upstream id).
    pub client_secret: Option<String>,
    /// Sealed (purpose `upstream-oauth`, bound to the upstream id).
    pub refresh_token: Option<String>,
    /// When the access token expires (ms), if the server said.
    pub expires_at: Option<i64>,
    pub updated_at: i64,
}

/// An authorization flow in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthFlowRecord {
    /// SHA-256 of the `state` parameter.
    pub state_hash: String,
    pub upstream_id: String,
    pub org_id: String,
    /// The PKCE verifier, sealed (purpose `upstream-oauth-flow`, bound to the state hash).
    pub verifier: String,
    pub redirect_uri: String,
    pub expires_at: i64,
    /// The console page to return to after the callback, when the console started the flow.
    pub return_to: Option<String>,
    /// The person the authorization is for (a per-person upstream); `None`: the shared one.
    pub subject: Option<String>,
}

/// A person's tokens for a per-person upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUserTokenRecord {
    pub id: String,
    pub upstream_id: String,
    pub org_id: String,
    /// The person's e-mail, in lower case.
    pub subject: String,
    /// Sealed (purpose `upstream-user-access`, bound to the id).
    pub access_token: String,
    /// Sealed (purpose `upstream-user-refresh`, bound to the id).
    pub refresh_token: Option<String>,
    /// When the access token expires (ms), if the server said.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Persistence of OAuth toward upstreams.
#[async_trait]
pub trait UpstreamOAuthStore {
    /// Writes (inserts or replaces) an upstream's OAuth state.
    async fn oauth_put(&self, record: &UpstreamOAuthRecord) -> StoreResult<()>;
    /// An upstream's OAuth state.
    async fn oauth_get(&self, upstream_id: &str) -> StoreResult<Option<UpstreamOAuthRecord>>;
    /// OAuth states whose access token expires before `before` and that can be refreshed.
    async fn oauth_expiring(&self, before: i64) -> StoreResult<Vec<UpstreamOAuthRecord>>;
    /// Stores a flow in progress (and forgets expired ones).
    async fn oauth_flow_create(&self, flow: &OAuthFlowRecord, now: i64) -> StoreResult<()>;
    /// Takes a flow by state hash: it can be used once.
    async fn oauth_flow_take(&self, state_hash: &str) -> StoreResult<Option<OAuthFlowRecord>>;
    /// Writes a person's tokens for an upstream (replacing theirs, row id and all: the values
    /// are sealed bound to it).
    async fn user_token_put(&self, record: &UpstreamUserTokenRecord) -> StoreResult<UpstreamUserTokenRecord>;
    /// A person's tokens for an upstream.
    async fn user_token_get(
        &self,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UpstreamUserTokenRecord>>;
    /// Everyone's tokens for an upstream, by subject.
    async fn user_tokens_of_upstream(&self, upstream_id: &str) -> StoreResult<Vec<UpstreamUserTokenRecord>>;
    /// A person's tokens for every upstream of an org.
    async fn user_tokens_of_subject(
        &self,
        org_id: &str,
        subject: &str,
    ) -> StoreResult<Vec<UpstreamUserTokenRecord>>;
    /// Forgets a person's tokens for an upstream, or for every upstream of the org (`None`);
    /// the upstreams they were for.
    async fn user_token_delete(
        &self,
        org_id: &str,
        subject: &str,
        upstream_id: Option<&str>,
    ) -> StoreResult<Vec<String>>;
    /// Tokens that expire before `before` and can be refreshed.
    async fn user_tokens_expiring(&self, before: i64) -> StoreResult<Vec<UpstreamUserTokenRecord>>;
}
