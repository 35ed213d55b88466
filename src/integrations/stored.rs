//! How an integration is kept: its kind, its settings as JSON beside the row, and its vendor
//! key sealed with the master key (purpose [`KEY_PURPOSE`], bound to the row id).

use serde::{Deserialize, Serialize};

use crate::crypto::MasterKey;
use crate::store::IntegrationRecord;

/// The sealing purpose of integration keys.
pub const KEY_PURPOSE: &str = "integration-key";
/// RevenueCat's kind.
pub const REVENUECAT: &str = "revenuecat";
/// PostHog's kind.
pub const POSTHOG: &str = "posthog";
/// PostHog's US cloud, the host unless one is configured.
pub const DEFAULT_POSTHOG_HOST: &str = "https://us.i.posthog.com";

/// RevenueCat's settings besides the key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RevenueCatSettings {
    /// Entitlement identifiers in order of precedence: an app user's category is the first of
    /// these they hold.
    #[serde(default)]
    pub category_order: Vec<String>,
}

/// PostHog's settings besides the key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PostHogSettings {
    /// The ingestion host, e.g. `https://eu.i.posthog.com`.
    pub host: String,
}

impl Default for PostHogSettings {
    fn default() -> Self {
        Self { host: DEFAULT_POSTHOG_HOST.into() }
    }
}

/// The settings of `record`, or their defaults when unreadable.
pub fn settings<T: serde::de::DeserializeOwned + Default>(record: &IntegrationRecord) -> T {
    serde_json::from_str(&record.settings).unwrap_or_default()
}

/// Seals a vendor key for the integration `id`.
pub fn seal_key(master_key: &MasterKey, id: &str, key: &str) -> String {
    master_key.encrypt(KEY_PURPOSE, key.as_bytes(), id.as_bytes())
}

/// The vendor key of `record`, if it has one that opens.
pub fn open_key(master_key: &MasterKey, record: &IntegrationRecord) -> Option<String> {
    let sealed = record.api_key.as_deref()?;
    let bytes = master_key.decrypt(KEY_PURPOSE, sealed, record.id.as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

/// The last four characters of a key, shown in place of it.
pub fn hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}
