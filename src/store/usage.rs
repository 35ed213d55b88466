//! Usage rollups, data-logging settings and the call log: the rows, and [`UsageStore`].

use async_trait::async_trait;

use super::StoreResult;

/// Latency bucket upper bounds (ms); a 12th bucket takes the rest.
pub const LATENCY_BUCKETS_MS: [i64; 11] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

/// Counts of one (server, key, tool, outcome, day), or their sum over a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRow {
    pub org_id: String,
    pub server_id: String,
    pub key_id: String,
    pub tool: String,
    pub outcome: String,
    /// Start of the UTC day (ms).
    pub day: i64,
    pub calls: i64,
    pub latency_ms: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
    pub latency_buckets: [i64; 12],
}

/// A server's data-logging setting.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DataLoggingRecord {
    pub server_id: String,
    pub org_id: String,
    /// `off`, `metadata` or `full`.
    pub mode: String,
    pub retention_days: i64,
    pub updated_at: i64,
}

/// One logged call.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallLogRecord {
    pub id: String,
    pub org_id: String,
    pub server_id: String,
    pub key_id: String,
    pub method: String,
    pub tool: String,
    pub outcome: String,
    pub latency_ms: i64,
    /// JSON, in `full` mode only.
    pub arguments: Option<String>,
    /// JSON, in `full` mode only.
    pub result: Option<String>,
    pub created_at: i64,
}

/// Filters of the call log.
#[derive(Debug, Clone, Default)]
pub struct CallLogQuery {
    pub tool: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only entries older than this id (paging, newest first).
    pub before: Option<String>,
    pub limit: i64,
}

/// Persistence of usage and call logs.
#[async_trait]
pub trait UsageStore {
    /// Adds a batch of counts (one transaction).
    async fn usage_add(&self, rows: &[UsageRow]) -> StoreResult<()>;
    /// Rows of an org from `since_day` (inclusive), optionally of one server.
    async fn usage_rows(
        &self,
        org_id: &str,
        server_id: Option<&str>,
        since_day: i64,
    ) -> StoreResult<Vec<UsageRow>>;
    /// A server's data-logging setting, if set.
    async fn data_logging_get(&self, server_id: &str) -> StoreResult<Option<DataLoggingRecord>>;
    /// Writes a server's data-logging setting.
    async fn data_logging_put(&self, record: &DataLoggingRecord) -> StoreResult<()>;
    /// Every data-logging setting (the retention job).
    async fn data_logging_all(&self) -> StoreResult<Vec<DataLoggingRecord>>;
    /// Appends logged calls (one transaction).
    async fn call_logs_insert(&self, rows: &[CallLogRecord]) -> StoreResult<()>;
    /// A server's logged calls, newest first.
    async fn call_logs_list(
        &self,
        org_id: &str,
        server_id: &str,
        q: &CallLogQuery,
    ) -> StoreResult<Vec<CallLogRecord>>;
    /// Deletes at most `batch` calls of a server older than `before`; returns how many.
    async fn call_logs_prune(&self, server_id: &str, before: i64, batch: i64) -> StoreResult<u64>;
}
