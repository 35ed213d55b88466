//! FCM HTTP v1 on the wire: the service account's JWT assertion exchanged for an OAuth access
//! token (cached until shortly before it expires), one message sent, FCM's errors named.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use super::{GRANT_TYPE, MAX_RESPONSE, RENEW_BEFORE, SCOPE, ServiceAccount, TIMEOUT};
use crate::outbound::{Method, Outbound};
use crate::plugins::{PluginEnv, PluginError};

/// A cached access token, or a new one from the account's token endpoint.
pub(super) async fn access_token(
    env: &PluginEnv<'_>,
    account: &ServiceAccount,
) -> Result<String, PluginError> {
    if let Some(token) = env.cache.get(env.cache_key) {
        return Ok(token);
    }
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": now,
        "exp": now + 3600,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = account.private_key_id.clone();
    let key = account.signing_key().map_err(|()| PluginError::Internal("unusable private key".into()))?;
    let assertion = jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| PluginError::Internal(format!("signing the assertion: {e}")))?;
    let request = env
        .outbound
        .request(Method::POST, &account.token_uri)
        .map_err(|e| PluginError::Internal(format!("token endpoint: {e}")))?
        .timeout(TIMEOUT)
        .form(&[("grant_type", GRANT_TYPE), ("assertion", assertion.as_str())]);
    let response = env
        .outbound
        .send(request)
        .await
        .map_err(|e| PluginError::Internal(format!("token endpoint: {e}")))?;
    let status = response.status();
    let body = Outbound::read_limited(response, MAX_RESPONSE)
        .await
        .map_err(|e| PluginError::Internal(format!("token endpoint: {e}")))?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !status.is_success() {
        let description =
            answer["error_description"].as_str().or(answer["error"].as_str()).unwrap_or("refused");
        return Err(PluginError::Failed {
            code: "invalid-credential".into(),
            message: format!(
                "the token endpoint refused the service account ({status}): {}",
                clip(description)
            ),
        });
    }
    let token = answer["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| PluginError::Internal("the token endpoint answered no access_token".into()))?
        .to_string();
    let lifetime = Duration::from_secs(answer["expires_in"].as_u64().unwrap_or(3600));
    if let Some(until) = Instant::now().checked_add(lifetime.saturating_sub(RENEW_BEFORE)) {
        env.cache.put(env.cache_key, token.clone(), until);
    }
    Ok(token)
}

/// Why one send failed.
#[derive(Debug)]
pub(super) enum SendError {
    /// FCM answered with an error, mapped to the Admin SDK's code.
    Fcm { code: String, message: String },
    /// FCM could not be reached or answered nonsense.
    Transport(String),
}

pub(super) async fn send_one(
    outbound: &Outbound,
    url: &str,
    token: &str,
    message: Value,
) -> Result<String, SendError> {
    let request = outbound
        .request(Method::POST, url)
        .map_err(|e| SendError::Transport(e.to_string()))?
        .timeout(TIMEOUT)
        .bearer_auth(token)
        .json(&message);
    let response = outbound.send(request).await.map_err(|e| SendError::Transport(e.to_string()))?;
    let status = response.status();
    let body = Outbound::read_limited(response, MAX_RESPONSE)
        .await
        .map_err(|e| SendError::Transport(e.to_string()))?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status.is_success() {
        return answer["name"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::Transport("FCM answered no message name".into()));
    }
    let error = &answer["error"];
    let detail = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["errorCode"].as_str())
        .unwrap_or_default();
    let code = error_code(detail, error["status"].as_str().unwrap_or_default(), status.as_u16());
    let message = error["message"].as_str().map_or_else(|| format!("FCM answered {status}"), clip);
    Err(SendError::Fcm { code: code.to_string(), message })
}

/// The Firebase Admin SDK's name for an FCM v1 error (`messaging/…` without the prefix).
pub fn error_code(fcm_error_code: &str, status: &str, http: u16) -> &'static str {
    match fcm_error_code {
        "UNREGISTERED" => return "registration-token-not-registered",
        "INVALID_ARGUMENT" => return "invalid-argument",
        "SENDER_ID_MISMATCH" => return "mismatched-credential",
        "QUOTA_EXCEEDED" => return "message-rate-exceeded",
        "UNAVAILABLE" => return "server-unavailable",
        "INTERNAL" => return "internal-error",
        "APNS_AUTH_ERROR" | "THIRD_PARTY_AUTH_ERROR" => return "third-party-auth-error",
        _ => {}
    }
    match (status, http) {
        ("NOT_FOUND", _) | (_, 404) => "registration-token-not-registered",
        ("INVALID_ARGUMENT", _) | (_, 400) => "invalid-argument",
        ("UNAUTHENTICATED", _) | (_, 401) => "authentication-error",
        ("PERMISSION_DENIED", _) | (_, 403) => "mismatched-credential",
        ("RESOURCE_EXHAUSTED", _) | (_, 429) => "message-rate-exceeded",
        ("UNAVAILABLE", _) | (_, 503) => "server-unavailable",
        ("INTERNAL", _) | (_, 500) => "internal-error",
        _ => "unknown-error",
    }
}

/// A message from a remote service, bounded and on one line.
fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}
