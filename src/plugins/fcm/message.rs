//! What an invocation asks FCM to send: its targets (one registration token or many), and the
//! message for each, Android and APNs defaults merged under what the caller gave.

use serde_json::{Map, Value, json};

use super::MAX_TOKENS;
use crate::plugins::PluginError;

/// Who a send goes to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Target {
    One(String),
    Many(Vec<String>),
}

/// A validated invocation payload.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SendRequest {
    pub(super) target: Target,
    notification: Option<Map<String, Value>>,
    data: Option<Map<String, Value>>,
    android: Map<String, Value>,
    apns: Map<String, Value>,
    webpush: Option<Map<String, Value>>,
}

pub(super) fn invalid(msg: impl Into<String>) -> PluginError {
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
    pub(super) fn parse(payload: Value) -> Result<Self, PluginError> {
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
    pub(super) fn message(&self, token: &str) -> Value {
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
