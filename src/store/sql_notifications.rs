//! [`NotificationStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::{FromRow, query};

use super::StoreResult;
use super::notifications::{NotificationRecord, NotificationStore, WebhookRecord};
use super::sql::SqlStore;

const NOTIFICATION_COLUMNS: &str =
    "SELECT id, org_id, kind, title, message, data, created_at, read_at FROM notifications";

#[async_trait]
impl NotificationStore for SqlStore {
    async fn notification_insert(&self, n: &NotificationRecord) -> StoreResult<()> {
        query(
            "INSERT INTO notifications (id, org_id, kind, title, message, data, created_at, read_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&n.id)
        .bind(&n.org_id)
        .bind(&n.kind)
        .bind(&n.title)
        .bind(&n.message)
        .bind(&n.data)
        .bind(n.created_at)
        .bind(n.read_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn notification_list(
        &self,
        org_id: &str,
        before: Option<&str>,
        unread_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRecord>> {
        let rows = query(&format!(
            "{NOTIFICATION_COLUMNS} WHERE org_id = $1 AND ($2 IS NULL OR id < $2) \
             AND ($3 = 0 OR read_at IS NULL) ORDER BY id DESC LIMIT $4"
        ))
        .bind(org_id)
        .bind(before)
        .bind(i64::from(unread_only))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(NotificationRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn notification_get(&self, org_id: &str, id: &str) -> StoreResult<Option<NotificationRecord>> {
        let row = query(&format!("{NOTIFICATION_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(NotificationRecord::from_row).transpose()?)
    }

    async fn notification_mark_read(&self, org_id: &str, id: &str, now: i64) -> StoreResult<bool> {
        let done =
            query("UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE org_id = $1 AND id = $2")
                .bind(org_id)
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn webhook_get(&self, org_id: &str) -> StoreResult<Option<WebhookRecord>> {
        let row = query(
            "SELECT org_id, url, secret, created_at, updated_at FROM notification_webhooks WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(WebhookRecord::from_row).transpose()?)
    }

    async fn webhook_put(&self, w: &WebhookRecord) -> StoreResult<()> {
        query(
            "INSERT INTO notification_webhooks (org_id, url, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO UPDATE SET url = excluded.url, \
             secret = excluded.secret, updated_at = excluded.updated_at",
        )
        .bind(&w.org_id)
        .bind(&w.url)
        .bind(&w.secret)
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhook_delete(&self, org_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM notification_webhooks WHERE org_id = $1")
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
