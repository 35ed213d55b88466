//! Notifications of an org and the webhook they are delivered to, with the
//! [`NotificationStore`] trait.

use async_trait::async_trait;

use super::StoreResult;

/// Something an org should know about (a key archived, a plugin failing…).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NotificationRecord {
    pub id: String,
    pub org_id: String,
    /// Dotted kind, e.g. `key.archived`.
    pub kind: String,
    pub title: String,
    pub message: String,
    /// A JSON object with the ids involved.
    pub data: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// Where an org's notifications are also POSTed. `secret` is sealed (purpose
/// `webhook-secret`, bound to the org id).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRecord {
    pub org_id: String,
    pub url: String,
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Persistence of notifications.
#[async_trait]
pub trait NotificationStore {
    /// Stores a notification.
    async fn notification_insert(&self, n: &NotificationRecord) -> StoreResult<()>;
    /// An org's notifications, newest first, before an id, optionally only unread ones.
    async fn notification_list(
        &self,
        org_id: &str,
        before: Option<&str>,
        unread_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRecord>>;
    /// One notification of an org.
    async fn notification_get(&self, org_id: &str, id: &str) -> StoreResult<Option<NotificationRecord>>;
    /// Marks a notification read (keeps the first read time); false when there is none.
    async fn notification_mark_read(&self, org_id: &str, id: &str, now: i64) -> StoreResult<bool>;

    /// The org's webhook.
    async fn webhook_get(&self, org_id: &str) -> StoreResult<Option<WebhookRecord>>;
    /// Sets the org's webhook.
    async fn webhook_put(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    /// Removes the org's webhook; false when there was none.
    async fn webhook_delete(&self, org_id: &str) -> StoreResult<bool>;
}
