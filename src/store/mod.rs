//! Storage: the [`Store`] trait every other module talks to, its records, and the backends.
//!
//! One SQL implementation ([`sql::SqlStore`]) serves both databases: its statements are written
//! in the dialect SQLite and PostgreSQL share (`$n` placeholders, `ON CONFLICT`, `RETURNING`).
//! What differs per backend — connection setup, durability pragmas, migrations folder — lives in
//! [`sqlite`] and [`postgres`].

pub mod end_user;
mod health;
pub mod imports;
pub mod integrations;
pub mod keys;
pub mod notifications;
pub mod oauth;
pub mod plugins;
pub mod policies;
pub mod postgres;
pub mod records;
pub mod sealed;
pub mod secrets;
pub mod servers;
pub mod sql;
mod sql_end_user;
mod sql_imports;
mod sql_integrations;
mod sql_keys;
mod sql_notifications;
mod sql_oauth;
mod sql_plugins;
mod sql_policies;
mod sql_sealed;
mod sql_secrets;
mod sql_servers;
mod sql_upstream_oauth;
mod sql_upstreams;
mod sql_usage;
pub mod sqlite;
pub mod upstreams;
pub mod usage;

use std::sync::Arc;

use async_trait::async_trait;

pub use end_user::{AuthConfigRecord, EndUserCodeRecord, EndUserStore, SigningKeyRecord};
pub use imports::{ImportRecord, ImportStore};
pub use integrations::{EntitlementRecord, IntegrationRecord, IntegrationStore};
pub use keys::{ApiKeyRecord, KeyRotationRecord, KeyStore};
pub use notifications::{NotificationRecord, NotificationStore, WebhookRecord};
pub use oauth::{
    CodeTake, OAuthClientRecord, OAuthCodeRecord, OAuthGrantRecord, OAuthStore, OAuthTokenRecord, RefreshTake,
};
pub use plugins::{PluginInstallRecord, PluginInvocationRecord, PluginStore};
pub use policies::{PolicyRecord, PolicyStore};
pub use records::*;
pub use sealed::{SEALED_COLUMNS, SealedColumn, SealedStore};
pub use secrets::{SecretRecord, SecretStore, SecretUser};
pub use servers::{HttpToolRecord, ServerRecord, ServerStore};
pub use upstreams::{
    AttachmentRecord, Catalogue, OAuthFlowRecord, UpstreamItemRecord, UpstreamOAuthRecord,
    UpstreamOAuthStore, UpstreamRecord, UpstreamStore, UpstreamToolRecord, UpstreamUserTokenRecord,
};
pub use usage::{CallLogQuery, CallLogRecord, DataLoggingRecord, UsageRow, UsageStore};

/// A storage failure, typed so the API layer can map it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule would be broken.
    #[error("{0}")]
    Conflict(String),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data is not what it should be (e.g. a sealed value that does not open).
    #[error("{0}")]
    Invalid(String),
}

/// Result alias for storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything Gatehouse persists. Implementations must be safe to share between tasks.
/// Resources beyond the foundation have their own traits (one file each) as supertraits.
#[async_trait]
pub trait Store:
    ServerStore
    + ImportStore
    + KeyStore
    + UpstreamStore
    + UpstreamOAuthStore
    + EndUserStore
    + IntegrationStore
    + PluginStore
    + PolicyStore
    + UsageStore
    + SecretStore
    + NotificationStore
    + OAuthStore
    + SealedStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Round trip to the database (for `/ready`).
    async fn ping(&self) -> StoreResult<()>;
    /// Whether the database holds every migration this binary has (an older backup restored
    /// under a running node does not).
    async fn schema_current(&self) -> StoreResult<bool>;
    /// Closes every connection cleanly (checkpointing SQLite's WAL).
    async fn close(&self);
    /// The connection pool's connections now.
    fn pool_reading(&self) -> crate::node_metrics::PoolReading;

    /// Announces a change that caches on every node must see (`api_key:<hash>`, `server:<id>`).
    async fn publish_change(&self, change: &str) -> StoreResult<()>;
    /// Changes announced by any node (this one included). `*` means "drop every cache": sent
    /// after the feed reconnects, when events may have been missed.
    fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<String>;

    /// Reads an instance setting.
    async fn setting_get(&self, key: &str) -> StoreResult<Option<String>>;
    /// Writes a setting unless it exists; true when this call wrote it.
    async fn setting_insert_if_absent(&self, key: &str, value: &str) -> StoreResult<bool>;

    /// Creates an org, and makes `admin` its admin in the same transaction.
    async fn org_create(&self, org: &OrgRecord, admin: Option<&str>) -> StoreResult<()>;
    /// Finds an org by id or slug.
    async fn org_find(&self, id_or_slug: &str) -> StoreResult<Option<OrgRecord>>;
    /// Every org, oldest first.
    async fn org_list_all(&self) -> StoreResult<Vec<OrgRecord>>;
    /// The orgs a user belongs to, oldest first.
    async fn org_list_for_user(&self, user_id: &str) -> StoreResult<Vec<OrgRecord>>;
    /// Renames an org and/or changes its slug.
    async fn org_update(&self, org: &OrgRecord) -> StoreResult<()>;
    /// Deletes an org and everything it owns.
    async fn org_delete(&self, org_id: &str) -> StoreResult<()>;

    /// Creates a user.
    async fn user_create(&self, user: &UserRecord) -> StoreResult<()>;
    /// Finds a user by (normalised) e-mail.
    async fn user_find_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    /// Finds a user by id.
    async fn user_get(&self, user_id: &str) -> StoreResult<Option<UserRecord>>;

    /// Adds a member or changes their role.
    async fn member_upsert(&self, org_id: &str, user_id: &str, role: Role, now: i64) -> StoreResult<()>;
    /// Members of an org, oldest first.
    async fn member_list(&self, org_id: &str) -> StoreResult<Vec<MemberRecord>>;
    /// One member.
    async fn member_get(&self, org_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>>;
    /// Removes a member; false when they were not one.
    async fn member_remove(&self, org_id: &str, user_id: &str) -> StoreResult<bool>;

    /// Stores a platform session (hash of its token).
    async fn session_create(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Finds a session and its user by token hash.
    async fn session_find(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>>;
    /// Ends a session.
    async fn session_delete(&self, token_hash: &str) -> StoreResult<()>;
    /// Ends every session of a person; how many there were.
    async fn session_delete_user(&self, user_id: &str) -> StoreResult<u64>;

    /// Stores a login code.
    async fn login_code_create(&self, code: &LoginCodeRecord) -> StoreResult<()>;
    /// The newest code for an e-mail that is neither used nor expired.
    async fn login_code_active(&self, email: &str, now: i64) -> StoreResult<Option<LoginCodeRecord>>;
    /// Counts a wrong attempt; returns the new count.
    async fn login_code_fail(&self, code_id: &str) -> StoreResult<i64>;
    /// Marks a code used; false when it was used already (single use under races).
    async fn login_code_consume(&self, code_id: &str, now: i64) -> StoreResult<bool>;
    /// How many codes an e-mail was sent since a time (rate limit).
    async fn login_code_count_since(&self, email: &str, since: i64) -> StoreResult<i64>;

    /// Stores a management token.
    async fn token_create(&self, token: &TokenRecord) -> StoreResult<()>;
    /// Tokens of an org, newest first.
    async fn token_list(&self, org_id: &str) -> StoreResult<Vec<TokenRecord>>;
    /// Finds a token by hash.
    async fn token_find_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    /// Finds a token of an org by id.
    async fn token_get(&self, org_id: &str, token_id: &str) -> StoreResult<Option<TokenRecord>>;
    /// Revokes a token; false when it was revoked already.
    async fn token_revoke(&self, org_id: &str, token_id: &str, now: i64) -> StoreResult<bool>;
    /// Records a use of a token.
    async fn token_touch(&self, token_id: &str, now: i64) -> StoreResult<()>;

    /// Appends an audit event.
    async fn audit_insert(&self, event: &AuditRecord) -> StoreResult<()>;
    /// An org's audit events that pass `filter`, newest first.
    async fn audit_list(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>>;
}

/// Which audit events to read; every field left `None` lets all through.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events older than this event id (the page cursor).
    pub before: Option<String>,
    /// Only this actor: an actor id, or a kind (`dev`, `user`, `token`, `anonymous`).
    pub actor: Option<String>,
    /// Only this action (an operation name).
    pub action: Option<String>,
    /// Only this outcome: `success`, `failure` (anything else), or an error code.
    pub outcome: Option<String>,
    /// Only events at or after this time (ms).
    pub since: Option<i64>,
    /// Only events before this time (ms).
    pub until: Option<i64>,
}

/// Connects to the configured database and applies its migrations; at most `pool_max`
/// connections to PostgreSQL (SQLite keeps its own small pool).
pub async fn open(database_url: &str, pool_max: u32) -> StoreResult<Arc<dyn Store>> {
    let store = if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        postgres::open(database_url, pool_max).await?
    } else {
        sqlite::open(database_url).await?
    };
    Ok(Arc::new(store))
}
