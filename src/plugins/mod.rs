//! Plugins: optional integrations installed per server. The registry is
//! code: each plugin is one file implementing [`Plugin`], listed in [`all`].
//!
//! A plugin declares its configuration as a JSON Schema; fields marked `writeOnly` are secrets,
//! sealed at rest and never answered. The API layer (`api/plugins.rs`) stores installations,
//! checks the server's API key and logs every invocation; a plugin only validates its
//! configuration and runs.

pub mod fcm;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::outbound::Outbound;

/// What the plugin catalogue says about a plugin.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// Stable id used in paths, e.g. `fcm`.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// e.g. `notifications`.
    pub category: &'static str,
    /// One line on what it does.
    pub description: &'static str,
}

/// A configuration split as it is stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitConfig {
    /// Shown to admins.
    pub public: Map<String, Value>,
    /// Sealed at rest, never shown.
    pub secret: Map<String, Value>,
}

/// Why an invocation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The payload is invalid (400).
    #[error("{0}")]
    InvalidRequest(String),
    /// The plugin ran and its service refused (422), with a stable code such as
    /// `registration-token-not-registered`.
    #[error("{code}: {message}")]
    Failed { code: String, message: String },
    /// Something unexpected (500); the message is logged, never answered.
    #[error("{0}")]
    Internal(String),
}

/// What a plugin may use while it runs.
pub struct PluginEnv<'a> {
    /// Every outbound request goes through it.
    pub outbound: &'a Outbound,
    /// Instance configuration (e.g. `fcm_base_url`).
    pub config: &'a Config,
    /// Per-installation caches (e.g. access tokens).
    pub cache: &'a TokenCache,
    /// Identifies the installation and its configuration version, for caches.
    pub cache_key: &'a str,
}

/// A plugin.
#[async_trait]
pub trait Plugin: Send + Sync {
    /// Catalogue entry.
    fn info(&self) -> PluginInfo;
    /// JSON Schema of the configuration; secret fields carry `"writeOnly": true`.
    fn config_schema(&self) -> Value;
    /// Validates a configuration and splits it into what is shown and what is sealed.
    fn validate_config(&self, config: &Map<String, Value>) -> Result<SplitConfig, String>;
    /// Runs one invocation with the installation's full configuration.
    async fn invoke(
        &self,
        env: &PluginEnv<'_>,
        config: &SplitConfig,
        payload: Value,
    ) -> Result<Value, PluginError>;
}

/// Every plugin, in catalogue order.
pub fn all() -> &'static [&'static dyn Plugin] {
    &[&fcm::Fcm]
}

/// A plugin by id.
pub fn find(id: &str) -> Option<&'static dyn Plugin> {
    all().iter().copied().find(|p| p.info().id == id)
}

/// Names of the secret (`writeOnly`) fields of a configuration schema.
pub fn secret_fields(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .filter(|(_, s)| s["writeOnly"].as_bool() == Some(true))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Short-lived credentials (OAuth access tokens) by cache key, until shortly before expiry.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

/// Cached credentials kept at most before the cache starts over.
const MAX_CACHED_TOKENS: usize = 10_000;

impl TokenCache {
    /// A token that is still valid.
    pub fn get(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.get(key).filter(|(_, until)| Instant::now() < *until).map(|(t, _)| t.clone())
    }

    /// Remembers a token until `until`.
    pub fn put(&self, key: &str, token: String, until: Instant) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if tokens.len() >= MAX_CACHED_TOKENS {
            let now = Instant::now();
            tokens.retain(|_, (_, u)| *u > now);
            if tokens.len() >= MAX_CACHED_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert(key.to_string(), (token, until));
    }

    /// Forgets a token (e.g. the service refused it).
    pub fn forget(&self, key: &str) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// What plugins share at run time (outbound requests use the gateway's client).
#[derive(Default)]
pub struct PluginRuntime {
    /// Access tokens of installations.
    pub tokens: TokenCache,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_consistent() {
        let mut ids = std::collections::HashSet::new();
        for p in all() {
            let info = p.info();
            assert!(ids.insert(info.id), "duplicate plugin id {}", info.id);
            assert!(find(info.id).is_some());
            let schema = p.config_schema();
            assert_eq!(schema["type"], "object");
            for secret in secret_fields(&schema) {
                assert!(schema["properties"][&secret].is_object());
            }
        }
        assert!(find("nope").is_none());
        assert_eq!(secret_fields(&fcm::Fcm.config_schema()), vec!["serviceAccountJson".to_string()]);
    }

    #[test]
    fn tokens_expire() {
        let cache = TokenCache::default();
        cache.put("a", "t".into(), Instant::now() + std::time::Duration::from_secs(60));
        cache.put("b", "t".into(), Instant::now());
        assert_eq!(cache.get("a").as_deref(), Some("t"));
        assert_eq!(cache.get("b"), None);
        cache.forget("a");
        assert_eq!(cache.get("a"), None);
    }
}
