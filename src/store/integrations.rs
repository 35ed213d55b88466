//! A server's vendor integrations (RevenueCat, PostHog) and the entitlements RevenueCat
//! reported for its app users, with the [`IntegrationStore`] trait.

use async_trait::async_trait;

use super::StoreResult;

/// One integration of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRecord {
    /// `int_…`; the associated data of the sealed key.
    pub id: String,
    pub server_id: String,
    pub org_id: String,
    /// `revenuecat` or `posthog`.
    pub kind: String,
    pub enabled: bool,
    /// The settings besides the key, as JSON text.
    pub settings: String,
    /// The vendor API key, sealed (purpose `integration-key`).
    pub api_key: Option<String>,
    /// The key's last four characters, to tell keys apart.
    pub api_key_hint: Option<String>,
    pub updated_at: i64,
}

/// An app user's entitlements on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementRecord {
    pub server_id: String,
    pub app_user_id: String,
    /// What policies match (`entitlement:<category>`).
    pub category: String,
    /// The active entitlement identifiers.
    pub entitlements: Vec<String>,
    pub refreshed_at: i64,
}

/// Persistence of integrations.
#[async_trait]
pub trait IntegrationStore {
    /// A server's integration of `kind`.
    async fn integration_get(&self, server_id: &str, kind: &str) -> StoreResult<Option<IntegrationRecord>>;
    /// Every integration of a server.
    async fn integration_list(&self, server_id: &str) -> StoreResult<Vec<IntegrationRecord>>;
    /// Creates or replaces a server's integration of its kind (the id of an existing one stays).
    async fn integration_put(&self, record: &IntegrationRecord) -> StoreResult<()>;
    /// An app user's entitlements.
    async fn entitlement_get(
        &self,
        server_id: &str,
        app_user_id: &str,
    ) -> StoreResult<Option<EntitlementRecord>>;
    /// Creates or replaces an app user's entitlements.
    async fn entitlement_put(&self, record: &EntitlementRecord) -> StoreResult<()>;
}
