//! FCM Integration: push notifications through Firebase Cloud Messaging HTTP v1.
//!
//! Installation takes the service-account key file. An invocation signs a JWT assertion with
//! the account's private key (RS256), exchanges it at the account's `token_uri` for an OAuth
//! access token (cached until a minute before it expires), and posts one
//! `{fcm_base_url}/v1/projects/{project_id}/messages:send` per registration token.

use std::time::{Duration, Instant};

use crate::outbound::Method;
use async_trait::async_trait;
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Plugin, PluginEnv, PluginError, PluginInfo, SplitConfig};
use crate::outbound::Outbound;

/// OAuth scope FCM sends need.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// OAuth grant type of a signed assertion (RFC 7523).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Tokens one invocation may target.
pub const MAX_TOKENS: usize = 500;
/// Sends in flight at once for one multicast.
const CONCURRENCY: usize = 16;
/// Largest answer read from Google (or a fake of it).
const MAX_RESPONSE: usize = 64 * 1024;
/// Timeout of each outbound request.
const TIMEOUT: Duration = Duration::from_secs(15);
/// An access token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The secret configuration field.
const SERVICE_ACCOUNT_FIELD: &str = "serviceAccountJson";

/// The FCM plugin.
pub struct Fcm;

/// The fields of a service-account key file that are used.
#[derive(Debug, Deserialize)]
struct ServiceAccount {
    #[serde(rename = "type")]
    kind: String,
    project_id: String,
    private_key: String,
    client_email: String,
    token_uri: String,
    #[serde(default)]
    private_key_id: Option<String>,
}

impl ServiceAccount {
    fn parse(text: &str) -> Result<Self, String> {
        let account: ServiceAccount = serde_json::from_str(text)
            .map_err(|e| format!("serviceAccountJson is not a service-account key file: {e}"))?;
        if account.kind != "service_account" {
            return Err("serviceAccountJson: type must be \"service_account\"".into());
        }
        let id_ok = (1..=100).contains(&account.project_id.len())
            && account.project_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !id_ok {
            return Err("serviceAccountJson: project_id is missing or invalid".into());
        }
        if !account.client_email.contains('@') || account.client_email.len() > 320 {
            return Err("serviceAccountJson: client_email is missing or invalid".into());
        }
        let uri = url::Url::parse(&account.token_uri)
            .map_err(|_| "serviceAccountJson: token_uri must be an absolute URL".to_string())?;
        if !matches!(uri.scheme(), "https" | "http") || uri.host().is_none() {
            return Err("serviceAccountJson: token_uri must be an http(s) URL".into());
        }
        account.signing_key().map_err(|_| {
            "serviceAccountJson: private_key must be an RSA private key in PEM form".to_string()
        })?;
        Ok(account)
    }

    fn signing_key(&self) -> Result<EncodingKey, ()> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pem = self.private_key.trim();
        let parsed =
            rsa::RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem));
        parsed.map_err(|_| ())?;
        EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| ())
    }
}

#[async_trait]
impl Plugin for Fcm {
    fn info(&self) -> PluginInfo {
        PluginInfo {
            id: "fcm",
            name: "FCM Integration",
            category: "notifications",
            description: "Send push notifications via Google Firebase Cloud Messaging.",
        }
    }

    fn config_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                SERVICE_ACCOUNT_FIELD: {
                    "type": ["string", "object"],
                    "title": "Service Account Key JSON",
                    "description": "The whole key file from Firebase Console → Project Settings → Service Accounts → Generate new private key.",
                    "writeOnly": true
                }
            },
            "required": [SERVICE_ACCOUNT_FIELD],
            "additionalProperties": false
        })
    }

    fn validate_config(&self, config: &Map<String, Value>) -> Result<SplitConfig, String> {
        if let Some(unknown) = config.keys().find(|k| *k != SERVICE_ACCOUNT_FIELD) {
            return Err(format!("unknown configuration field {unknown}"));
        }
        let text = match config.get(SERVICE_ACCOUNT_FIELD) {
            Some(Value::String(text)) => text.clone(),
            Some(object @ Value::Object(_)) => object.to_string(),
            Some(_) => return Err("serviceAccountJson must be the key file's JSON".into()),
            None => return Err("serviceAccountJson is required".into()),
        };
        let account = ServiceAccount::parse(&text)?;
        let mut public = Map::new();
        public.insert("projectId".into(), json!(account.project_id));
        public.insert("clientEmail".into(), json!(account.client_email));
        public.insert("tokenUri".into(), json!(account.token_uri));
        let mut secret = Map::new();
        secret.insert(SERVICE_ACCOUNT_FIELD.into(), Value::String(text));
        Ok(SplitConfig { public, secret })
    }

    async fn invoke(
        &self,
        env: &PluginEnv<'_>,
        config: &SplitConfig,
        payload: Value,
    ) -> Result<Value, PluginError> {
        let mut request = SendRequest::parse(payload)?;
        let target = std::mem::replace(&mut request.target, Target::Many(Vec::new()));
        let text = config.secret.get(SERVICE_ACCOUNT_FIELD).and_then(Value::as_str).unwrap_or_default();
        let account = ServiceAccount::parse(text).map_err(PluginError::Internal)?;
        let token = access_token(env, &account).await?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            env.config.fcm_base_url.trim_end_matches('/'),
            account.project_id
        );
        let send = |registration: String| {
            let message = request.message(&registration);
            let (url, token) = (url.clone(), token.clone());
            async move { send_one(env.outbound, &url, &token, message).await }
        };
        match target {
            Target::One(registration) => match send(registration).await {
                Ok(message_id) => Ok(json!({"messageId": message_id})),
                Err(SendError::Fcm { code, message }) => {
                    if code == "authentication-error" {
                        env.cache.forget(env.cache_key);
                    }
                    Err(PluginError::Failed { code, message })
                }
                Err(SendError::Transport(e)) => Err(PluginError::Internal(format!("FCM unreachable: {e}"))),
            },
            Target::Many(tokens) => {
                let results: Vec<Result<String, SendError>> =
                    futures_util::stream::iter(tokens).map(send).buffered(CONCURRENCY).collect().await;
                let success_count = results.iter().filter(|r| r.is_ok()).count();
                let responses: Vec<Value> = results
                    .into_iter()
                    .map(|r| match r {
                        Ok(id) => json!({"success": true, "messageId": id}),
                        Err(SendError::Fcm { code, .. }) => json!({"success": false, "error": code}),
                        Err(SendError::Transport(_)) => json!({"success": false, "error": "unknown-error"}),
                    })
                    .collect();
                Ok(json!({
                    "successCount": success_count,
                    "failureCount": responses.len() - success_count,
                    "responses": responses,
                }))
            }
        }
    }
}

/// Who a send goes to.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    One(String),
    Many(Vec<String>),
}

/// A validated invocation payload.
#[derive(Debug, Clone, PartialEq)]
struct SendRequest {
    target: Target,
    notification: Option<Map<String, Value>>,
    data: Option<Map<String, Value>>,
    android: Map<String, Value>,
    apns: Map<String, Value>,
    webpush: Option<Map<String, Value>>,
}

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidRequest(msg.into())
}

fn object_field(
    payload: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, PluginError> {
    match payload.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(invalid(format!("{name} must be an object"))),
    }
}

fn string_field(payload: &mut Map<String, Value>, name: &str) -> Result<Option<String>, PluginError> {
    match payload.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn registration(token: Value, field: &str) -> Result<String, PluginError> {
    match token {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 4096 => Ok(s),
        _ => Err(invalid(format!("{field} must be non-empty strings"))),
    }
}

impl SendRequest {
    fn parse(payload: Value) -> Result<Self, PluginError> {
        let Value::Object(mut p) = payload else { return Err(invalid("the payload must be a JSON object")) };
        let one = p.remove("registrationToken").filter(|v| !v.is_null());
        let many = p.remove("registrationTokens").filter(|v| !v.is_null());
        let target = match (one, many) {
            (Some(_), Some(_)) => {
                return Err(invalid("pass registrationToken or registrationTokens, not both"));
            }
            (None, None) => return Err(invalid("registrationToken or registrationTokens is required")),
            (Some(token), None) => Target::One(registration(token, "registrationToken")?),
            (None, Some(Value::Array(tokens))) => {
                if tokens.is_empty() || tokens.len() > MAX_TOKENS {
                    return Err(invalid(format!("registrationTokens must hold 1 to {MAX_TOKENS} tokens")));
                }
                let tokens = tokens
                    .into_iter()
                    .map(|t| registration(t, "registrationTokens"))
                    .collect::<Result<_, _>>()?;
                Target::Many(tokens)
            }
            (None, Some(_)) => return Err(invalid("registrationTokens must be an array of strings")),
        };
        let title = string_field(&mut p, "title")?;
        let body = string_field(&mut p, "body")?;
        let data = object_field(&mut p, "data")?;
        if let Some((key, _)) = data.iter().flatten().find(|(_, v)| !v.is_string()) {
            return Err(invalid(format!("data values must be strings (data.{key} is not)")));
        }
        let overrides = object_field(&mut p, "notification")?;
        let android = object_field(&mut p, "android")?;
        let apns = object_field(&mut p, "apns")?;
        let webpush = object_field(&mut p, "webpush")?;
        if let Some(unknown) = p.keys().next() {
            return Err(invalid(format!("unknown field {unknown}")));
        }

        let mut notification = Map::new();
        if let Some(title) = title {
            notification.insert("title".into(), Value::String(title));
        }
        if let Some(body) = body {
            notification.insert("body".into(), Value::String(body));
        }
        notification.extend(overrides.unwrap_or_default());

        let mut android_defaults = json!({"priority": "high", "notification": {"channel_id": "default"}});
        let user_android = android.unwrap_or_default();
        if user_android.get("notification").and_then(|n| n.get("channelId")).is_some() {
            android_defaults["notification"].as_object_mut().map(|n| n.remove("channel_id"));
        }
        let android = merged(android_defaults, user_android);
        let apns = merged(json!({"payload": {"aps": {"sound": "default"}}}), apns.unwrap_or_default());
        Ok(Self {
            target,
            notification: (!notification.is_empty()).then_some(notification),
            data,
            android,
            apns,
            webpush,
        })
    }

    /// The FCM v1 `message` for one registration token.
    fn message(&self, token: &str) -> Value {
        let mut m = Map::new();
        m.insert("token".into(), json!(token));
        if let Some(n) = &self.notification {
            m.insert("notification".into(), Value::Object(n.clone()));
        }
        if let Some(d) = &self.data {
            m.insert("data".into(), Value::Object(d.clone()));
        }
        m.insert("android".into(), Value::Object(self.android.clone()));
        m.insert("apns".into(), Value::Object(self.apns.clone()));
        if let Some(w) = &self.webpush {
            m.insert("webpush".into(), Value::Object(w.clone()));
        }
        json!({"message": m})
    }
}

/// `overrides` deep-merged over `defaults`.
fn merged(defaults: Value, overrides: Map<String, Value>) -> Map<String, Value> {
    let Value::Object(mut out) = defaults else { return overrides };
    for (key, value) in overrides {
        let merged_value = match (out.remove(&key), value) {
            (Some(d @ Value::Object(_)), Value::Object(o)) => Value::Object(merged(d, o)),
            (_, v) => v,
        };
        out.insert(key, merged_value);
    }
    out
}

/// A cached access token, or a new one from the account's token endpoint.
async fn access_token(env: &PluginEnv<'_>, account: &ServiceAccount) -> Result<String, PluginError> {
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
enum SendError {
    /// FCM answered with an error, mapped to the Admin SDK's code.
    Fcm { code: String, message: String },
    /// FCM could not be reached or answered nonsense.
    Transport(String),
}

async fn send_one(outbound: &Outbound, url: &str, token: &str, message: Value) -> Result<String, SendError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<SendRequest, String> {
        SendRequest::parse(v).map_err(|e| e.to_string())
    }

    #[test]
    fn one_of_the_targets_is_required() {
        assert!(parse(json!({"title": "x"})).unwrap_err().contains("required"));
        assert!(
            parse(json!({"registrationToken": "a", "registrationTokens": ["b"]}))
                .unwrap_err()
                .contains("not both")
        );
        assert!(parse(json!({"registrationTokens": []})).is_err());
        assert!(parse(json!({"registrationTokens": vec!["t"; 501]})).is_err());
        assert!(parse(json!({"registrationTokens": vec!["t"; 500]})).is_ok());
        assert!(parse(json!({"registrationTokens": ["a", 1]})).is_err());
        assert!(parse(json!({"registrationToken": ""})).is_err());
        assert!(parse(json!({"registrationToken": "a", "bogus": 1})).unwrap_err().contains("bogus"));
    }

    #[test]
    fn data_values_must_be_strings() {
        let err = parse(json!({"registrationToken": "a", "data": {"ok": "1", "n": 2}})).unwrap_err();
        assert!(err.contains("data.n"), "{err}");
        assert!(parse(json!({"registrationToken": "a", "data": "x"})).is_err());
    }

    #[test]
    fn the_message_merges_overrides_over_defaults() {
        let r = parse(json!({
            "registrationToken": "tok",
            "title": "T", "body": "B",
            "notification": {"body": "B2", "image": "https://x/i.png"},
            "data": {"k": "v"},
            "android": {"ttl": "60s", "notification": {"color": "#ff0000"}},
            "apns": {"headers": {"apns-priority": "10"}}
        }))
        .unwrap();
        assert_eq!(
            r.message("tok"),
            json!({"message": {
                "token": "tok",
                "notification": {"title": "T", "body": "B2", "image": "https://x/i.png"},
                "data": {"k": "v"},
                "android": {"priority": "high", "ttl": "60s", "notification": {"channel_id": "default", "color": "#ff0000"}},
                "apns": {"payload": {"aps": {"sound": "default"}}, "headers": {"apns-priority": "10"}}
            }})
        );
        let r = parse(json!({"registrationToken": "t", "android": {"priority": "normal", "notification": {"channelId": "c"}}, "apns": {"payload": {"aps": {"sound": "ping.caf"}}}})).unwrap();
        let m = r.message("t");
        assert_eq!(
            m["message"]["android"],
            json!({"priority": "normal", "notification": {"channelId": "c"}})
        );
        assert_eq!(m["message"]["apns"]["payload"]["aps"]["sound"], "ping.caf");
        assert!(m["message"].get("notification").is_none());
    }

    #[test]
    fn errors_map_to_admin_sdk_codes() {
        assert_eq!(error_code("UNREGISTERED", "NOT_FOUND", 404), "registration-token-not-registered");
        assert_eq!(error_code("", "INVALID_ARGUMENT", 400), "invalid-argument");
        assert_eq!(error_code("", "", 401), "authentication-error");
        assert_eq!(error_code("SENDER_ID_MISMATCH", "PERMISSION_DENIED", 403), "mismatched-credential");
        assert_eq!(error_code("", "", 418), "unknown-error");
    }

    #[test]
    fn service_accounts_are_validated() {
        let cfg = |v: Value| {
            let mut m = Map::new();
            m.insert(SERVICE_ACCOUNT_FIELD.into(), v);
            Fcm.validate_config(&m)
        };
        assert!(cfg(json!("not json")).is_err());
        assert!(cfg(json!({"type": "user"})).is_err());
        let bad_key = json!({
            "type": "service_account", "project_id": "p-1", "client_email": "a@p-1.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
            "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        });
        assert!(cfg(bad_key).unwrap_err().contains("private_key"));
        assert!(Fcm.validate_config(&Map::new()).is_err());
    }
}
