//! [`UsageStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row, query};

use super::StoreResult;
use super::sql::SqlStore;
use super::usage::{CallLogQuery, CallLogRecord, DataLoggingRecord, UsageRow, UsageStore};

const BUCKETS: [&str; 12] = [
    "lat_b0", "lat_b1", "lat_b2", "lat_b3", "lat_b4", "lat_b5", "lat_b6", "lat_b7", "lat_b8", "lat_b9",
    "lat_b10", "lat_b11",
];

fn usage_row(r: &AnyRow) -> Result<UsageRow, sqlx::Error> {
    let mut latency_buckets = [0i64; 12];
    for (i, b) in BUCKETS.iter().enumerate() {
        latency_buckets[i] = r.try_get(*b)?;
    }
    Ok(UsageRow {
        org_id: r.try_get("org_id")?,
        server_id: r.try_get("server_id")?,
        key_id: r.try_get("key_id")?,
        tool: r.try_get("tool")?,
        outcome: r.try_get("outcome")?,
        day: r.try_get("day")?,
        calls: r.try_get("calls")?,
        latency_ms: r.try_get("latency_ms")?,
        bytes_in: r.try_get("bytes_in")?,
        bytes_out: r.try_get("bytes_out")?,
        latency_buckets,
    })
}

#[async_trait]
impl UsageStore for SqlStore {
    async fn usage_add(&self, rows: &[UsageRow]) -> StoreResult<()> {
        let columns = BUCKETS.join(", ");
        let params: Vec<String> = (11..23).map(|i| format!("${i}")).collect();
        let updates: Vec<String> =
            BUCKETS.iter().map(|b| format!("{b} = usage_daily.{b} + EXCLUDED.{b}")).collect();
        let sql = format!(
            "INSERT INTO usage_daily (org_id, server_id, key_id, tool, outcome, day, calls, latency_ms, bytes_in, \
             bytes_out, {columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, {}) \
             ON CONFLICT (server_id, key_id, tool, outcome, day) DO UPDATE SET \
             calls = usage_daily.calls + EXCLUDED.calls, latency_ms = usage_daily.latency_ms + EXCLUDED.latency_ms, \
             bytes_in = usage_daily.bytes_in + EXCLUDED.bytes_in, bytes_out = usage_daily.bytes_out + EXCLUDED.bytes_out, {}",
            params.join(", "),
            updates.join(", ")
        );
        let mut tx = self.pool.begin().await?;
        for r in rows {
            let mut q = query(&sql)
                .bind(&r.org_id)
                .bind(&r.server_id)
                .bind(&r.key_id)
                .bind(&r.tool)
                .bind(&r.outcome)
                .bind(r.day)
                .bind(r.calls)
                .bind(r.latency_ms)
                .bind(r.bytes_in)
                .bind(r.bytes_out);
            for b in r.latency_buckets {
                q = q.bind(b);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn usage_rows(
        &self,
        org_id: &str,
        server_id: Option<&str>,
        since_day: i64,
    ) -> StoreResult<Vec<UsageRow>> {
        let base = format!(
            "SELECT org_id, server_id, key_id, tool, outcome, day, calls, latency_ms, bytes_in, bytes_out, {} \
             FROM usage_daily WHERE org_id = $1 AND day >= $2",
            BUCKETS.join(", ")
        );
        let rows = match server_id {
            Some(s) => {
                query(&format!("{base} AND server_id = $3 ORDER BY day"))
                    .bind(org_id)
                    .bind(since_day)
                    .bind(s)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                query(&format!("{base} ORDER BY day"))
                    .bind(org_id)
                    .bind(since_day)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(usage_row).collect::<Result<_, _>>()?)
    }

    async fn data_logging_get(&self, server_id: &str) -> StoreResult<Option<DataLoggingRecord>> {
        let row = query("SELECT server_id, org_id, mode, retention_days, updated_at FROM data_logging WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(DataLoggingRecord::from_row).transpose()?)
    }

    async fn data_logging_put(&self, r: &DataLoggingRecord) -> StoreResult<()> {
        query(
            "INSERT INTO data_logging (server_id, org_id, mode, retention_days, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (server_id) DO UPDATE SET mode = $3, retention_days = $4, updated_at = $5",
        )
        .bind(&r.server_id)
        .bind(&r.org_id)
        .bind(&r.mode)
        .bind(r.retention_days)
        .bind(r.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn data_logging_all(&self) -> StoreResult<Vec<DataLoggingRecord>> {
        let rows = query("SELECT server_id, org_id, mode, retention_days, updated_at FROM data_logging")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(DataLoggingRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn call_logs_insert(&self, rows: &[CallLogRecord]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for r in rows {
            query(
                "INSERT INTO call_logs (id, org_id, server_id, key_id, method, tool, outcome, latency_ms, arguments, \
                 result, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&r.id)
            .bind(&r.org_id)
            .bind(&r.server_id)
            .bind(&r.key_id)
            .bind(&r.method)
            .bind(&r.tool)
            .bind(&r.outcome)
            .bind(r.latency_ms)
            .bind(&r.arguments)
            .bind(&r.result)
            .bind(r.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn call_logs_list(
        &self,
        org_id: &str,
        server_id: &str,
        q: &CallLogQuery,
    ) -> StoreResult<Vec<CallLogRecord>> {
        // Optional filters as "($n IS NULL OR column …)" keep one statement for both databases;
        // PostgreSQL needs the parameter types spelled out for that.
        let rows = query(
            "SELECT id, org_id, server_id, key_id, method, tool, outcome, latency_ms, arguments, result, created_at \
             FROM call_logs WHERE org_id = $1 AND server_id = $2 \
             AND (CAST($3 AS TEXT) IS NULL OR tool = $3) AND (CAST($4 AS TEXT) IS NULL OR outcome = $4) \
             AND (CAST($5 AS BIGINT) IS NULL OR created_at >= $5) AND (CAST($6 AS BIGINT) IS NULL OR created_at < $6) \
             AND (CAST($7 AS TEXT) IS NULL OR id < $7) \
             ORDER BY id DESC LIMIT $8",
        )
        .bind(org_id)
        .bind(server_id)
        .bind(&q.tool)
        .bind(&q.outcome)
        .bind(q.since)
        .bind(q.until)
        .bind(&q.before)
        .bind(q.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(CallLogRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn call_logs_prune(&self, server_id: &str, before: i64, batch: i64) -> StoreResult<u64> {
        let done = query(
            "DELETE FROM call_logs WHERE id IN \
             (SELECT id FROM call_logs WHERE server_id = $1 AND created_at < $2 LIMIT $3)",
        )
        .bind(server_id)
        .bind(before)
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
