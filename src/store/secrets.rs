//! Secrets of an org (provider keys, credentials) and who uses them, with the [`SecretStore`]
//! trait. Values are sealed before they reach the store; the store never sees them in clear.

use async_trait::async_trait;

use super::StoreResult;

/// A secret. `value` is sealed with the master key (purpose `secret`, bound to the id).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SecretRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub provider: String,
    pub value: String,
    /// What lists show instead of the value, e.g. `sk-…9f2c`.
    pub masked: String,
    /// `active` or `disabled`.
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
    pub disabled_at: Option<i64>,
}

/// Something that references a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUser {
    /// `http_tool` (later also `upstream`, `plugin`).
    pub kind: &'static str,
    /// The user's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The server it belongs to, if any, and that server's name.
    pub server_id: Option<String>,
    pub server_name: Option<String>,
}

/// Persistence of secrets. Every lookup is scoped by org.
#[async_trait]
pub trait SecretStore {
    /// Creates a secret (409 on a duplicate name in the org).
    async fn secret_create(&self, secret: &SecretRecord) -> StoreResult<()>;
    /// Secrets of an org, by name.
    async fn secret_list(&self, org_id: &str) -> StoreResult<Vec<SecretRecord>>;
    /// One secret of an org.
    async fn secret_get(&self, org_id: &str, secret_id: &str) -> StoreResult<Option<SecretRecord>>;
    /// Replaces name, provider, value, masked, status and their times (409 on a duplicate name).
    async fn secret_update(&self, secret: &SecretRecord) -> StoreResult<()>;
    /// Moves `last_used_at` forward (never back) for each `(secret id, time)`.
    async fn secret_touch(&self, uses: &[(String, i64)]) -> StoreResult<()>;
    /// What references a secret.
    async fn secret_users(&self, org_id: &str, secret_id: &str) -> StoreResult<Vec<SecretUser>>;
}
