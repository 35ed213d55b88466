//! Policies of servers and the counters of their rate limits: the rows, and [`PolicyStore`].

use async_trait::async_trait;

use super::StoreResult;

/// A policy of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub id: String,
    pub org_id: String,
    pub server_id: String,
    pub tool_pattern: String,
    /// `allow` or `deny`.
    pub action: String,
    pub rate_requests: Option<i64>,
    pub rate_per_seconds: Option<i64>,
    /// `key` or `server`.
    pub rate_scope: Option<String>,
    pub max_argument_bytes: Option<i64>,
    pub validate_arguments: bool,
    /// JSON array of caller patterns; `None` applies to every caller.
    pub callers: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Persistence of policies and rate counters.
#[async_trait]
pub trait PolicyStore {
    /// Inserts or replaces the policy of a server for its tool pattern; returns the stored row
    /// (an existing policy keeps its id and creation time).
    async fn policy_upsert(&self, policy: &PolicyRecord) -> StoreResult<PolicyRecord>;
    /// Policies of a server, oldest first.
    async fn policy_list(&self, org_id: &str, server_id: &str) -> StoreResult<Vec<PolicyRecord>>;
    /// Deletes one; false when it did not exist.
    async fn policy_delete(&self, org_id: &str, server_id: &str, policy_id: &str) -> StoreResult<bool>;
    /// Adds `hits` to a fixed window's counter and returns its total so far. Atomic on both
    /// databases, so every node sharing the database shares the count.
    async fn rate_hit(&self, counter_key: &str, hits: i64, expires_at: i64, now: i64) -> StoreResult<i64>;
}
