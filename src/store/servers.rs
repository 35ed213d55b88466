//! Servers and their HTTP tools: the rows, and the [`ServerStore`] trait.

use async_trait::async_trait;

use super::StoreResult;

/// A server: a virtual MCP endpoint of an org.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServerRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub slug: String,
    pub description: String,
    /// `active` or `disabled`.
    pub status: String,
    pub created_at: i64,
}

/// An HTTP tool of a server. `parameters` is the JSON array as validated by the domain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HttpToolRecord {
    pub id: String,
    pub server_id: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    pub method: String,
    pub endpoint_url: String,
    pub parameters: String,
    pub auth_type: String,
    pub auth_header: Option<String>,
    /// Sealed with the master key (purpose `tool-credential`, bound to the tool id).
    pub auth_credential: Option<String>,
    /// A secret of the org used as the credential instead of `auth_credential`.
    pub auth_secret_id: Option<String>,
    /// The client-credentials grant (JSON of the domain's `ClientCredentials`) of an
    /// `oauth_client_credentials` tool, whose client secret is the credential.
    pub auth_oauth: Option<String>,
    pub timeout_ms: i64,
    /// How the request body is written (JSON of the domain's `Body`), when it is not the
    /// default: body parameters as members of a JSON object.
    pub body: Option<String>,
    /// The JSON Schema of a successful answer (the tool's `outputSchema`).
    pub output_schema: Option<String>,
    /// The OpenAPI import that made it, and the operation (`GET /pet/{petId}`).
    pub import_id: Option<String>,
    pub operation: Option<String>,
    /// `approved` (served) or `pending` (a re-import added or changed it; not served until an
    /// admin approves it).
    pub approval_state: String,
    /// The definition (JSON, as the API shows it) last approved, while a change of it waits.
    pub approved_definition: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Persistence of servers and HTTP tools. Every lookup is scoped by org (and server).
#[async_trait]
pub trait ServerStore {
    /// Creates a server (409 on a duplicate slug in the org).
    async fn server_create(&self, server: &ServerRecord) -> StoreResult<()>;
    /// Servers of an org, oldest first.
    async fn server_list(&self, org_id: &str) -> StoreResult<Vec<ServerRecord>>;
    /// One server of an org by id.
    async fn server_get(&self, org_id: &str, server_id: &str) -> StoreResult<Option<ServerRecord>>;
    /// One server of an org by slug.
    async fn server_by_slug(&self, org_id: &str, slug: &str) -> StoreResult<Option<ServerRecord>>;
    /// Changes name, slug, description, status.
    async fn server_update(&self, server: &ServerRecord) -> StoreResult<()>;
    /// Deletes a server with its tools and keys.
    async fn server_delete(&self, org_id: &str, server_id: &str) -> StoreResult<()>;

    /// Creates a tool (409 on a duplicate name in the server).
    async fn tool_create(&self, tool: &HttpToolRecord) -> StoreResult<()>;
    /// Tools of a server, by name.
    async fn tool_list(&self, org_id: &str, server_id: &str) -> StoreResult<Vec<HttpToolRecord>>;
    /// A page of a server's tools by name: those whose name, description or endpoint URL
    /// contains `search` (lowercase) when given; with how many match.
    async fn tool_page(
        &self,
        org_id: &str,
        server_id: &str,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<HttpToolRecord>, i64)>;
    /// One tool.
    async fn tool_get(
        &self,
        org_id: &str,
        server_id: &str,
        tool_id: &str,
    ) -> StoreResult<Option<HttpToolRecord>>;
    /// Replaces a tool's definition.
    async fn tool_update(&self, tool: &HttpToolRecord) -> StoreResult<()>;
    /// Deletes a tool; false when there was none.
    async fn tool_delete(&self, org_id: &str, server_id: &str, tool_id: &str) -> StoreResult<bool>;
}
