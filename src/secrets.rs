//! Secrets at work: sealing a value, resolving a secret for code that needs the credential
//! (HTTP tools and plugins now; upstreams next), who uses a secret, and the buffered
//! `lastUsedAt` of secrets used by the data plane.
//!
//! A value is sealed with the master key (purpose [`PURPOSE`], bound to the secret id) and is
//! opened only here. A change to a secret publishes `secret:<id>`, and every node drops the
//! cached servers whose tools use it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::crypto::{CipherError, MasterKey};
use crate::domain::time;
use crate::store::{SecretRecord, SecretUser, Store, StoreError, StoreResult};

/// Sealing purpose of secret values.
pub const PURPOSE: &str = "secret";
/// `lastUsedAt` is written at most this often per secret by [`resolve_secret`].
const TOUCH_EVERY_MS: i64 = 60_000;

/// Why a secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No such secret in the org.
    #[error("secret {0} does not exist")]
    NotFound(String),
    /// Disabled (soft-deleted).
    #[error("secret {0} is disabled")]
    Disabled(String),
    /// The sealed value does not open with this master key.
    #[error("secret {0} cannot be opened: {1}")]
    Unreadable(String, CipherError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seals a value for the secret `secret_id`.
pub fn seal(master_key: &MasterKey, secret_id: &str, value: &str) -> String {
    master_key.encrypt(PURPOSE, value.as_bytes(), secret_id.as_bytes())
}

/// Opens an active secret of `org_id` without recording a use (to check a reference).
pub async fn open_secret(
    store: &dyn Store,
    master_key: &MasterKey,
    org_id: &str,
    secret_id: &str,
) -> Result<(SecretRecord, String), SecretError> {
    let secret =
        store.secret_get(org_id, secret_id).await?.ok_or_else(|| SecretError::NotFound(secret_id.into()))?;
    if secret.status != "active" {
        return Err(SecretError::Disabled(secret.id));
    }
    let bytes = master_key
        .decrypt(PURPOSE, &secret.value, secret.id.as_bytes())
        .map_err(|e| SecretError::Unreadable(secret.id.clone(), e))?;
    Ok((secret, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The value of an active secret of `org_id`, for code that must present it (never to show).
/// Refuses disabled secrets; records the use (`lastUsedAt`, at most once a minute).
pub async fn resolve_secret(
    store: &dyn Store,
    master_key: &MasterKey,
    org_id: &str,
    secret_id: &str,
) -> Result<String, SecretError> {
    let (secret, value) = open_secret(store, master_key, org_id, secret_id).await?;
    let now = time::now_ms();
    if secret.last_used_at.is_none_or(|t| t + TOUCH_EVERY_MS < now) {
        if let Err(err) = store.secret_touch(&[(secret.id.clone(), now)]).await {
            tracing::warn!(secret = %secret.id, error = %err, "could not record a use of a secret");
        }
    }
    Ok(value)
}

/// What references a secret: HTTP tools and plugin installations (upstreams next).
pub async fn secret_users(store: &dyn Store, org_id: &str, secret_id: &str) -> StoreResult<Vec<SecretUser>> {
    store.secret_users(org_id, secret_id).await
}

/// Users named at most in a message.
const MAX_NAMED: usize = 10;

/// `HTTP tool get_weather (server Weather), …` for error messages (ten at most, then a count).
pub fn describe_users(users: &[SecretUser]) -> String {
    let mut named = users
        .iter()
        .take(MAX_NAMED)
        .map(|u| {
            let kind = match u.kind {
                "http_tool" => "HTTP tool",
                "plugin" => "plugin",
                other => other,
            };
            match &u.server_name {
                Some(server) => format!("{kind} {} (server {server})", u.name),
                None => format!("{kind} {}", u.name),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    if users.len() > MAX_NAMED {
        named.push_str(&format!(" and {} more", users.len() - MAX_NAMED));
    }
    named
}

/// The change event that tells every node a secret changed (its users' cached entries go).
pub fn changed(secret_id: &str) -> String {
    format!("secret:{secret_id}")
}

/// Uses of secrets on the data plane, kept in memory and flushed with key usage.
#[derive(Default)]
pub struct SecretUses {
    last: Mutex<HashMap<String, i64>>,
}

impl SecretUses {
    /// Records that a secret was presented now.
    pub fn record(&self, secret_id: &str) {
        let now = time::now_ms();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last.get_mut(secret_id) {
            Some(at) => *at = now,
            None => {
                last.insert(secret_id.to_string(), now);
            }
        }
    }

    /// Writes buffered uses; on failure they are kept for the next flush.
    pub async fn flush(&self, store: &dyn Store) {
        let batch: Vec<(String, i64)> = self.last.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        if batch.is_empty() {
            return;
        }
        if let Err(err) = store.secret_touch(&batch).await {
            tracing::warn!(error = %err, "could not flush secret uses; will retry");
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            for (id, at) in batch {
                let slot = last.entry(id).or_insert(at);
                *slot = (*slot).max(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> SecretUser {
        SecretUser {
            kind: "http_tool",
            id: format!("tool_{name}"),
            name: name.into(),
            server_id: Some("srv_1".into()),
            server_name: Some("Weather".into()),
        }
    }

    #[test]
    fn users_are_named_ten_at_most() {
        let plugin =
            SecretUser { kind: "plugin", name: "fcm".into(), server_name: Some("Shop".into()), ..tool("x") };
        assert_eq!(
            describe_users(&[tool("a"), plugin]),
            "HTTP tool a (server Weather), plugin fcm (server Shop)"
        );
        let many: Vec<SecretUser> = (0..13).map(|i| tool(&format!("t{i}"))).collect();
        let text = describe_users(&many);
        assert!(text.ends_with("HTTP tool t9 (server Weather) and 3 more"), "{text}");
    }
}
