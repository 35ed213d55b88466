//! [`PolicyStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Row, query};

use super::StoreResult;
use super::policies::{PolicyRecord, PolicyStore};
use super::sql::SqlStore;

const COLUMNS: &str = "SELECT id, org_id, server_id, tool_pattern, action, rate_requests, rate_per_seconds, \
     rate_scope, max_argument_bytes, validate_arguments, callers, created_at, updated_at FROM policies";

fn row(r: &AnyRow) -> Result<PolicyRecord, sqlx::Error> {
    Ok(PolicyRecord {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        server_id: r.try_get("server_id")?,
        tool_pattern: r.try_get("tool_pattern")?,
        action: r.try_get("action")?,
        rate_requests: r.try_get("rate_requests")?,
        rate_per_seconds: r.try_get("rate_per_seconds")?,
        rate_scope: r.try_get("rate_scope")?,
        max_argument_bytes: r.try_get("max_argument_bytes")?,
        validate_arguments: r.try_get::<i64, _>("validate_arguments")? != 0,
        callers: r.try_get("callers")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[async_trait]
impl PolicyStore for SqlStore {
    async fn policy_upsert(&self, p: &PolicyRecord) -> StoreResult<PolicyRecord> {
        let stored = query(
            "INSERT INTO policies (id, org_id, server_id, tool_pattern, action, rate_requests, rate_per_seconds, \
             rate_scope, max_argument_bytes, validate_arguments, created_at, updated_at, callers, callers_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (server_id, tool_pattern, callers_key) DO UPDATE SET action = $5, rate_requests = $6, \
             rate_per_seconds = $7, rate_scope = $8, max_argument_bytes = $9, validate_arguments = $10, \
             updated_at = $12, callers = $13 \
             RETURNING id, org_id, server_id, tool_pattern, action, rate_requests, rate_per_seconds, rate_scope, \
             max_argument_bytes, validate_arguments, callers, created_at, updated_at",
        )
        .bind(&p.id)
        .bind(&p.org_id)
        .bind(&p.server_id)
        .bind(&p.tool_pattern)
        .bind(&p.action)
        .bind(p.rate_requests)
        .bind(p.rate_per_seconds)
        .bind(&p.rate_scope)
        .bind(p.max_argument_bytes)
        .bind(i64::from(p.validate_arguments))
        .bind(p.created_at)
        .bind(p.updated_at)
        .bind(&p.callers)
        .bind(p.callers.as_deref().unwrap_or_default())
        .fetch_one(&self.pool)
        .await?;
        Ok(row(&stored)?)
    }

    async fn policy_list(&self, org_id: &str, server_id: &str) -> StoreResult<Vec<PolicyRecord>> {
        let rows = query(&format!("{COLUMNS} WHERE org_id = $1 AND server_id = $2 ORDER BY created_at, id"))
            .bind(org_id)
            .bind(server_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    async fn policy_delete(&self, org_id: &str, server_id: &str, policy_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM policies WHERE org_id = $1 AND server_id = $2 AND id = $3")
            .bind(org_id)
            .bind(server_id)
            .bind(policy_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rate_hit(&self, counter_key: &str, hits: i64, expires_at: i64, now: i64) -> StoreResult<i64> {
        let r = query(
            "INSERT INTO rate_counters (counter_key, hits, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (counter_key) DO UPDATE SET hits = rate_counters.hits + $2 RETURNING hits",
        )
        .bind(counter_key)
        .bind(hits)
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?;
        let total: i64 = r.try_get("hits")?;
        // Expired windows are swept now and then, by the first hit of each window.
        if total == hits {
            query("DELETE FROM rate_counters WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        }
        Ok(total)
    }
}
