//! FCM Integration: push notifications through Firebase Cloud Messaging HTTP v1.
//!
//! Installation takes the service-account key file. An invocation signs a JWT assertion with
//! the account's private key (RS256), exchanges it at the account's `token_uri` for an OAuth
//! access token (cached until a minute before it expires), and posts one
//! `{fcm_base_url}/v1/projects/{project_id}/messages:send` per registration token.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use jsonwebtoken::EncodingKey;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Plugin, PluginEnv, PluginError, PluginInfo, SplitConfig};

mod http_v1;
mod message;

pub use http_v1::error_code;
use http_v1::{SendError, access_token, send_one};
use message::{SendRequest, Target};

/// OAuth scope FCM sends need.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// OAuth grant type of a signed assertion (RFC 7523).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Tokens one invocation may target.
pub const MAX_TOKENS: usize = 500;
/// Sends in flight at once for one multicast.
const CONCURRENCY: usize = 16;
/// Largest answer read from Google (or a fake of it).
pub(super) const MAX_RESPONSE: usize = 64 * 1024;
/// Timeout of each outbound request.
pub(super) const TIMEOUT: Duration = Duration::from_secs(15);
/// An access token is renewed this long before it expires.
pub(super) const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The secret configuration field.
const SERVICE_ACCOUNT_FIELD: &str = "serviceAccountJson";

/// The FCM plugin.
pub struct Fcm;

/// The fields of a service-account key file that are used.
#[derive(Debug, Deserialize)]
pub(super) struct ServiceAccount {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) project_id: String,
    pub(super) private_key: String,
    pub(super) client_email: String,
    pub(super) token_uri: String,
    #[serde(default)]
    pub(super) private_key_id: Option<String>,
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
