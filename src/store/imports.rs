//! OpenAPI imports: the document an org imported into a server (where from, which operations,
//! which secrets carry the credentials) and the tools it made, which go with it.

use async_trait::async_trait;

use super::StoreResult;
use super::servers::HttpToolRecord;

/// One import of an OpenAPI document into a server.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ImportRecord {
    pub id: String,
    pub org_id: String,
    pub server_id: String,
    /// The document's `info.title`.
    pub title: String,
    /// Where it was fetched from, if it was.
    pub source_url: Option<String>,
    /// The base URL given instead of the document's servers.
    pub base_url: Option<String>,
    /// JSON: the operations chosen (`{tags, paths, operations}`).
    pub selection: String,
    /// JSON: security scheme → the org secret holding its credential.
    pub credentials: String,
    /// `manual`: tools a re-import adds or changes wait for approval; `auto_approve`: served.
    pub approval_policy: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Persistence of imports. Every lookup is scoped by org and server.
#[async_trait]
pub trait ImportStore {
    /// Stores an import and the tools it makes, all or nothing (409 when a name is taken).
    async fn import_create(&self, import: &ImportRecord, tools: &[HttpToolRecord]) -> StoreResult<()>;
    /// A server's imports, oldest first.
    async fn import_list(&self, org_id: &str, server_id: &str) -> StoreResult<Vec<ImportRecord>>;
    async fn import_get(&self, org_id: &str, server_id: &str, id: &str) -> StoreResult<Option<ImportRecord>>;
    /// The tools an import made.
    async fn import_tools(&self, org_id: &str, import_id: &str) -> StoreResult<Vec<HttpToolRecord>>;
    /// A re-import, all or nothing: tools added, tools changed (by id), tools removed (by id),
    /// and the import's own record updated.
    async fn import_apply(
        &self,
        import: &ImportRecord,
        added: &[HttpToolRecord],
        changed: &[HttpToolRecord],
        removed: &[String],
    ) -> StoreResult<()>;
    /// Deletes an import and its tools (404 when there is none).
    async fn import_delete(&self, org_id: &str, server_id: &str, id: &str) -> StoreResult<()>;
}
