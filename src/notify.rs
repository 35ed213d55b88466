//! Notifications: [`notify`] is the one function other code calls when an org should hear
//! about something (a key archived or rotated, a plugin failing, a secret disabled while in
//! use). Each is stored for `GET /api/orgs/{org}/notifications` and, when the org has set a
//! webhook, POSTed to it through [`crate::outbound`] (so the network policy applies), signed
//! with `X-Gatehouse-Signature: sha256=<hex HMAC-SHA256 of the body>` and retried with backoff.
//!
//! Best effort by design: a notification that cannot be stored or delivered is logged and
//! never fails the action that raised it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::crypto::{self, MasterKey};
use crate::domain::{ids, time};
use crate::outbound::Outbound;
use crate::store::{NotificationRecord, WebhookRecord};

/// Sealing purpose of webhook signing secrets (bound to the org id).
pub const WEBHOOK_PURPOSE: &str = "webhook-secret";
/// Header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Gatehouse-Signature";
/// Delivery attempts per notification.
const ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubled each time.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Per-attempt timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// A notification as the API (and the webhook) shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    notification_id: String,
    org_id: String,
    /// Dotted kind: `key.archived`, `key.rotated`, `plugin.failing`, `secret.disabled_in_use`.
    kind: String,
    title: String,
    message: String,
    /// The ids involved (server, key, plugin, secret…).
    data: Value,
    created_at: String,
    /// When it was marked read; null while unread.
    read_at: Option<String>,
}

impl From<NotificationRecord> for Notification {
    fn from(n: NotificationRecord) -> Self {
        Self {
            data: serde_json::from_str(&n.data).unwrap_or(Value::Null),
            notification_id: n.id,
            org_id: n.org_id,
            kind: n.kind,
            title: n.title,
            message: n.message,
            created_at: time::iso(n.created_at),
            read_at: n.read_at.map(time::iso),
        }
    }
}

/// Tells `org_id` about something: stored, then delivered to the org's webhook if it has one.
pub async fn notify(state: &AppState, org_id: &str, kind: &str, title: &str, message: &str, data: Value) {
    let record = NotificationRecord {
        id: ids::new_id("ntf"),
        org_id: org_id.to_string(),
        kind: kind.to_string(),
        title: title.to_string(),
        message: message.to_string(),
        data: data.to_string(),
        created_at: time::now_ms(),
        read_at: None,
    };
    if let Err(err) = state.store.notification_insert(&record).await {
        tracing::error!(org = org_id, kind, error = %err, "notification not stored");
        return;
    }
    match state.store.webhook_get(org_id).await {
        Ok(Some(webhook)) => {
            let state = state.clone();
            tokio::spawn(async move {
                deliver(&state.plane.outbound, &state.master_key, &webhook, Notification::from(record)).await;
            });
        }
        Ok(None) => {}
        Err(err) => {
            tracing::warn!(org = org_id, error = %err, "webhook lookup failed; notification not delivered")
        }
    }
}

/// The signature header value of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", crypto::hmac_sha256_hex(secret.as_bytes(), body))
}

/// POSTs one notification to a webhook, retrying non-2xx answers and failures with backoff.
async fn deliver(outbound: &Outbound, master_key: &MasterKey, webhook: &WebhookRecord, n: Notification) {
    let secret = match master_key.decrypt(WEBHOOK_PURPOSE, &webhook.secret, webhook.org_id.as_bytes()) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            tracing::error!(org = %webhook.org_id, error = %err, "webhook secret cannot be opened; not delivered");
            return;
        }
    };
    let body = json!({ "notification": n }).to_string();
    let signature = signature(&secret, body.as_bytes());
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let outcome = match outbound.request(crate::outbound::Method::POST, &webhook.url) {
            Ok(request) => {
                let request = request
                    .timeout(ATTEMPT_TIMEOUT)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .header(SIGNATURE_HEADER, &signature)
                    .header("X-Gatehouse-Event", &n.kind)
                    .header("X-Gatehouse-Delivery", &n.notification_id)
                    .body(body.clone());
                match outbound.send(request).await {
                    Ok(r) if r.status().is_success() => {
                        tracing::debug!(org = %webhook.org_id, notification = %n.notification_id, attempt, "webhook delivered");
                        return;
                    }
                    Ok(r) => format!("HTTP {}", r.status().as_u16()),
                    Err(err) => err.to_string(),
                }
            }
            // Refused by the network policy or not a URL: retrying cannot help.
            Err(err) => {
                tracing::warn!(org = %webhook.org_id, error = %err, "webhook not delivered");
                return;
            }
        };
        tracing::warn!(org = %webhook.org_id, attempt, outcome, "webhook delivery failed");
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    tracing::warn!(org = %webhook.org_id, notification = %n.notification_id, "webhook delivery gave up");
}
