//! Notifications of an org (management tool `list_notifications`): `/api/orgs/{org}/notifications`,
//! newest first with an unread filter, `POST …/{notificationId}/read`, and the optional webhook
//! they are delivered to (`…/notifications/webhook`). Raised through [`crate::notify::notify`].

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::crypto;
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::notify::{Notification, WEBHOOK_PURPOSE};
use crate::store::WebhookRecord;

/// A page of notifications, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    notifications: Vec<Notification>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// Input of `list_notifications`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only notifications not yet marked read.
    unread: Option<bool>,
    /// Page size, 1–200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// `{"notification": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotificationEnvelope {
    notification: Notification,
}

/// The org's webhook (its signing secret is never shown again).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    url: String,
    created_at: String,
    updated_at: String,
}

impl From<WebhookRecord> for Webhook {
    fn from(w: WebhookRecord) -> Self {
        Self { url: w.url, created_at: time::iso(w.created_at), updated_at: time::iso(w.updated_at) }
    }
}

/// `{"webhook": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WebhookEnvelope {
    webhook: Webhook,
}

/// `{"webhook": …, "signingSecret"}`: the secret is shown here once when Gatehouse made it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSet {
    webhook: Webhook,
    /// The generated signing secret (absent when one was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

/// Input of `set_notification_webhook`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWebhook {
    /// Absolute http(s) URL that receives `POST {"notification": …}`.
    #[schemars(length(max = 2048), pattern(r"^https?://[A-Za-z0-9\[]"))]
    url: String,
    /// Key of the `X-Gatehouse-Signature: sha256=<hex>` HMAC (16–256 characters); generated
    /// and shown once when omitted.
    #[schemars(length(min = 16, max = 256), pattern(r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    secret: Option<String>,
}

/// Registers the notification operations.
pub fn register(r: &mut Registry) {
    let base = "/api/orgs/{org}/notifications";
    let hook = "/api/orgs/{org}/notifications/webhook";
    r.add(
        OpSpec::new(
            "list_notifications",
            Method::GET,
            base,
            Access::Org(Scope::NotificationsRead),
            "List the org's notifications, most recent first (unread=true for unread only).",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "mark_notification_read",
            Method::POST,
            "/api/orgs/{org}/notifications/{notificationId}/read",
            Access::Org(Scope::NotificationsWrite),
            "Mark a notification read.",
        ),
        mark_read,
    );
    r.add(
        OpSpec::new(
            "get_notification_webhook",
            Method::GET,
            hook,
            Access::Org(Scope::NotificationsRead),
            "Read the webhook notifications are delivered to.",
        ),
        get_webhook,
    );
    r.add(
        OpSpec::new(
            "set_notification_webhook",
            Method::PUT,
            hook,
            Access::Org(Scope::NotificationsWrite),
            "Deliver notifications to a URL, signed with HMAC-SHA256 (X-Gatehouse-Signature).",
        ),
        set_webhook,
    );
    r.add(
        OpSpec::new(
            "delete_notification_webhook",
            Method::DELETE,
            hook,
            Access::Org(Scope::NotificationsWrite),
            "Stop delivering notifications to a webhook.",
        )
        .status(StatusCode::NO_CONTENT),
        delete_webhook,
    );
}

async fn list(ctx: OpCtx, q: NotificationQuery) -> ApiResult<NotificationPage> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let org_id = &ctx.org()?.id;
    let unread = q.unread.unwrap_or(false);
    let mut rows = ctx.state.store.notification_list(org_id, q.cursor.as_deref(), unread, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|n| n.id.clone()) } else { None };
    Ok(NotificationPage { notifications: rows.into_iter().map(Notification::from).collect(), next_cursor })
}

async fn mark_read(ctx: OpCtx, _: NoInput) -> ApiResult<NotificationEnvelope> {
    let org_id = &ctx.org()?.id;
    let id = ctx.param("notificationId")?;
    let store = ctx.state.store.as_ref();
    if !store.notification_mark_read(org_id, id, time::now_ms()).await? {
        return Err(ApiError::NotFound("notification"));
    }
    let found = store.notification_get(org_id, id).await?.ok_or(ApiError::NotFound("notification"))?;
    Ok(NotificationEnvelope { notification: found.into() })
}

async fn get_webhook(ctx: OpCtx, _: NoInput) -> ApiResult<WebhookEnvelope> {
    let found = ctx.state.store.webhook_get(&ctx.org()?.id).await?;
    Ok(WebhookEnvelope { webhook: found.ok_or(ApiError::NotFound("webhook"))?.into() })
}

async fn set_webhook(ctx: OpCtx, input: SetWebhook) -> ApiResult<WebhookSet> {
    let org_id = ctx.org()?.id.clone();
    let url = input.url.trim().to_string();
    // The same check every delivery goes through: scheme, and literal addresses the policy refuses.
    ctx.state.plane.outbound.check_url(&url).map_err(|e| ApiError::unprocessable(format!("url: {e}")))?;
    let (secret, generated) = match input.secret {
        Some(s) if (16..=256).contains(&s.chars().count()) && !s.chars().any(char::is_control) => (s, false),
        Some(_) => return Err(ApiError::bad_request("secret must be 16 to 256 characters")),
        None => (crypto::new_token("whsec_"), true),
    };
    let now = time::now_ms();
    let existing = ctx.state.store.webhook_get(&org_id).await?;
    let record = WebhookRecord {
        secret: ctx.state.master_key.encrypt(WEBHOOK_PURPOSE, secret.as_bytes(), org_id.as_bytes()),
        org_id,
        url,
        created_at: existing.map_or(now, |w| w.created_at),
        updated_at: now,
    };
    ctx.state.store.webhook_put(&record).await?;
    Ok(WebhookSet { webhook: record.into(), signing_secret: generated.then_some(secret) })
}

async fn delete_webhook(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    if !ctx.state.store.webhook_delete(&ctx.org()?.id).await? {
        return Err(ApiError::NotFound("webhook"));
    }
    Ok(())
}
