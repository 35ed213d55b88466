//! [`KeyStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::{FromRow, query};

use super::StoreResult;
use super::keys::{ApiKeyRecord, KeyRotationRecord, KeyStore};
use super::sql::SqlStore;

const KEY_COLUMNS: &str = "SELECT id, server_id, org_id, label, key_hash, status, usage_count, created_at, archived_at, \
     call_count, last_used_at FROM api_keys";

const INSERT_KEY: &str = "INSERT INTO api_keys (id, server_id, org_id, label, key_hash, status, usage_count, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

#[async_trait]
impl KeyStore for SqlStore {
    async fn key_create(&self, k: &ApiKeyRecord) -> StoreResult<()> {
        query(INSERT_KEY)
            .bind(&k.id)
            .bind(&k.server_id)
            .bind(&k.org_id)
            .bind(&k.label)
            .bind(&k.key_hash)
            .bind(&k.status)
            .bind(k.usage_count)
            .bind(k.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn key_list(&self, server_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = query(&format!("{KEY_COLUMNS} WHERE server_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(server_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(ApiKeyRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn key_get(&self, server_id: &str, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = query(&format!("{KEY_COLUMNS} WHERE server_id = $1 AND id = $2"))
            .bind(server_id)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ApiKeyRecord::from_row).transpose()?)
    }

    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = query(&format!("{KEY_COLUMNS} WHERE key_hash = $1"))
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ApiKeyRecord::from_row).transpose()?)
    }

    async fn key_archive(&self, server_id: &str, key_id: &str, now: i64) -> StoreResult<bool> {
        let done = query(
            "UPDATE api_keys SET status = 'archived', archived_at = $3 WHERE server_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(server_id)
        .bind(key_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn key_delete_unused(&self, server_id: &str, key_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM api_keys WHERE server_id = $1 AND id = $2 AND usage_count = 0")
            .bind(server_id)
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn key_add_usage(&self, counts: &[(String, i64)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (key_id, n) in counts {
            query("UPDATE api_keys SET usage_count = usage_count + $2 WHERE id = $1")
                .bind(key_id)
                .bind(*n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn key_add_calls(&self, calls: &[(String, i64, i64)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (key_id, n, at) in calls {
            query(
                "UPDATE api_keys SET call_count = call_count + $2, \
                 last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 ELSE last_used_at END \
                 WHERE id = $1",
            )
            .bind(key_id)
            .bind(*n)
            .bind(*at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn key_rotate(
        &self,
        new: &ApiKeyRecord,
        old_key_id: &str,
        r: &KeyRotationRecord,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let archived = query(
            "UPDATE api_keys SET status = 'archived', archived_at = $3 WHERE server_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(&new.server_id)
        .bind(old_key_id)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await?;
        if archived.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        query(INSERT_KEY)
            .bind(&new.id)
            .bind(&new.server_id)
            .bind(&new.org_id)
            .bind(&new.label)
            .bind(&new.key_hash)
            .bind(&new.status)
            .bind(new.usage_count)
            .bind(new.created_at)
            .execute(&mut *tx)
            .await?;
        query(
            "INSERT INTO key_rotations (id, server_id, old_key_id, new_key_id, actor_type, actor_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.server_id)
        .bind(&r.old_key_id)
        .bind(&r.new_key_id)
        .bind(&r.actor_type)
        .bind(&r.actor_id)
        .bind(r.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn key_rotations(&self, server_id: &str) -> StoreResult<Vec<KeyRotationRecord>> {
        let rows = query(
            "SELECT id, server_id, old_key_id, new_key_id, actor_type, actor_id, created_at FROM key_rotations \
             WHERE server_id = $1 ORDER BY id DESC",
        )
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(KeyRotationRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn session_end(&self, id_hash: &str, expires_at: i64) -> StoreResult<()> {
        query("INSERT INTO ended_sessions (id_hash, expires_at) VALUES ($1, $2) ON CONFLICT (id_hash) DO NOTHING")
            .bind(id_hash)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_is_ended(&self, id_hash: &str) -> StoreResult<bool> {
        let row = query("SELECT 1 AS one FROM ended_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}
