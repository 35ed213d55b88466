//! RevenueCat: an app user's active entitlements read from RevenueCat's REST API
//! (`GET /v1/subscribers/{app_user_id}` with the project's secret key) and reduced to one
//! category that policies can match (`entitlement:<category>`).

use std::time::Duration;

use http::Method;
use serde::Deserialize;

use crate::outbound::{Outbound, OutboundError};

/// The category of an app user with no active entitlement.
pub const NO_ENTITLEMENT: &str = "free";
/// Largest subscriber document read.
const MAX_BYTES: usize = 1024 * 1024;

/// Why entitlements could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RevenueCatError {
    /// RevenueCat refused the key.
    #[error("RevenueCat refused the API key (HTTP {0})")]
    Unauthorized(u16),
    /// RevenueCat answered with another error.
    #[error("RevenueCat answered HTTP {0}")]
    Status(u16),
    /// The answer was not a subscriber document.
    #[error("RevenueCat's answer could not be read: {0}")]
    Malformed(String),
    /// RevenueCat could not be reached.
    #[error("RevenueCat could not be reached: {0}")]
    Unreachable(#[from] OutboundError),
}

#[derive(Deserialize)]
struct SubscriberAnswer {
    subscriber: Subscriber,
}

#[derive(Deserialize)]
struct Subscriber {
    #[serde(default)]
    entitlements: std::collections::BTreeMap<String, Entitlement>,
}

#[derive(Deserialize)]
struct Entitlement {
    /// ISO-8601; `null` for lifetime entitlements.
    expires_date: Option<String>,
    grace_period_expires_date: Option<String>,
}

/// What RevenueCat says of an app user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlements {
    /// Active entitlement identifiers, sorted.
    pub active: Vec<String>,
    /// The category: the first of `order` that is active, else the first active one, else
    /// [`NO_ENTITLEMENT`].
    pub category: String,
}

/// Reads `app_user_id`'s entitlements from RevenueCat at `base` with `api_key`.
pub async fn fetch(
    outbound: &Outbound,
    base: &str,
    api_key: &str,
    app_user_id: &str,
    order: &[String],
    now_ms: i64,
) -> Result<Entitlements, RevenueCatError> {
    let user = percent_encoding::utf8_percent_encode(app_user_id, percent_encoding::NON_ALPHANUMERIC);
    let request = outbound
        .request(Method::GET, &format!("{base}/v1/subscribers/{user}"))?
        .bearer_auth(api_key)
        .header(http::header::ACCEPT, "application/json")
        .timeout(Duration::from_secs(15));
    let response = outbound.send(request).await?;
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        return Err(RevenueCatError::Unauthorized(status));
    }
    if !response.status().is_success() {
        return Err(RevenueCatError::Status(status));
    }
    let body = response.read_limited(MAX_BYTES).await?;
    let answer: SubscriberAnswer =
        serde_json::from_slice(&body).map_err(|e| RevenueCatError::Malformed(e.to_string()))?;
    Ok(reduce(&answer.subscriber, order, now_ms))
}

fn reduce(subscriber: &Subscriber, order: &[String], now_ms: i64) -> Entitlements {
    let active: Vec<String> = subscriber
        .entitlements
        .iter()
        .filter(|(_, e)| {
            let until = |d: &Option<String>| d.as_deref().map(crate::domain::time::parse_iso);
            match (until(&e.expires_date), until(&e.grace_period_expires_date)) {
                (None, _) => true,
                (Some(expires), grace) => {
                    expires.is_some_and(|t| t > now_ms) || grace.flatten().is_some_and(|t| t > now_ms)
                }
            }
        })
        .map(|(id, _)| id.clone())
        .collect();
    let category = order
        .iter()
        .find(|c| active.contains(c))
        .or_else(|| active.first())
        .cloned()
        .unwrap_or_else(|| NO_ENTITLEMENT.to_string());
    Entitlements { active, category }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriber(json: serde_json::Value) -> Subscriber {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn active_entitlements_reduce_to_the_first_category_in_order() {
        let now = crate::domain::time::parse_iso("2026-06-01T00:00:00Z").unwrap();
        let s = subscriber(serde_json::json!({"entitlements": {
            "plus": {"expires_date": "2026-07-01T00:00:00Z"},
            "pro": {"expires_date": null},
            "old": {"expires_date": "2026-01-01T00:00:00Z"},
            "grace": {"expires_date": "2026-05-01T00:00:00Z", "grace_period_expires_date": "2026-06-10T00:00:00Z"},
        }}));
        let e = reduce(&s, &["pro".into(), "plus".into()], now);
        assert_eq!(e.active, ["grace", "plus", "pro"]);
        assert_eq!(e.category, "pro");
        assert_eq!(reduce(&s, &[], now).category, "grace");
        assert_eq!(reduce(&subscriber(serde_json::json!({})), &[], now).category, NO_ENTITLEMENT);
    }
}
