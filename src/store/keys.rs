//! API keys of servers, their rotation log, and ended data-plane sessions.

use async_trait::async_trait;

use super::StoreResult;

/// A server-scoped API key (only the SHA-256 of its value is stored).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRecord {
    pub id: String,
    pub server_id: String,
    pub org_id: String,
    pub label: String,
    pub key_hash: String,
    /// `active` or `archived`.
    pub status: String,
    /// `request-code` calls made with the key (a used key can only be archived).
    pub usage_count: i64,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    /// MCP requests made with the key.
    pub call_count: i64,
    pub last_used_at: Option<i64>,
}

/// One rotation: which key replaced which, by whom.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRotationRecord {
    pub id: String,
    pub server_id: String,
    pub old_key_id: String,
    pub new_key_id: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub created_at: i64,
}

/// Persistence of API keys.
#[async_trait]
pub trait KeyStore {
    /// Stores a new key.
    async fn key_create(&self, key: &ApiKeyRecord) -> StoreResult<()>;
    /// Keys of a server, newest first.
    async fn key_list(&self, server_id: &str) -> StoreResult<Vec<ApiKeyRecord>>;
    /// One key of a server.
    async fn key_get(&self, server_id: &str, key_id: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// Finds a key by the hash of its value (the data plane's cache fill).
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// Archives an active key; false when it was archived already.
    async fn key_archive(&self, server_id: &str, key_id: &str, now: i64) -> StoreResult<bool>;
    /// Deletes a key that was never used; false when it has been used (or is gone).
    async fn key_delete_unused(&self, server_id: &str, key_id: &str) -> StoreResult<bool>;
    /// Adds buffered uses to keys' counts.
    async fn key_add_usage(&self, counts: &[(String, i64)]) -> StoreResult<()>;
    /// Adds MCP requests to keys' call counts: (key id, requests, when last used).
    async fn key_add_calls(&self, calls: &[(String, i64, i64)]) -> StoreResult<()>;
    /// Creates `new`, archives `old_key_id` and records the rotation, atomically; false when
    /// the old key was not active.
    async fn key_rotate(
        &self,
        new: &ApiKeyRecord,
        old_key_id: &str,
        rotation: &KeyRotationRecord,
    ) -> StoreResult<bool>;
    /// Rotations of a server, newest first.
    async fn key_rotations(&self, server_id: &str) -> StoreResult<Vec<KeyRotationRecord>>;

    /// Records an ended session until it would have expired anyway.
    async fn session_end(&self, id_hash: &str, expires_at: i64) -> StoreResult<()>;
    /// Whether a session was ended.
    async fn session_is_ended(&self, id_hash: &str) -> StoreResult<bool>;
}
