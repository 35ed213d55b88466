//! Plugin installations per server and their invocation log, with the [`PluginStore`] trait.

use async_trait::async_trait;

use super::StoreResult;

/// A plugin installed on a server. Secret fields are sealed together with the master key
/// (purpose `plugin-secrets`, bound to the installation id) and never leave the store in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInstallRecord {
    pub id: String,
    pub server_id: String,
    pub org_id: String,
    pub plugin_id: String,
    pub enabled: bool,
    /// The non-secret part of the configuration, a JSON object.
    pub config: String,
    /// Sealed JSON object of the secret fields.
    pub secrets: Option<String>,
    /// Names of the secret fields that are set.
    pub secret_fields: Vec<String>,
    /// Secret fields taken from org secrets: field → secret id (not in `secrets`).
    pub secret_refs: std::collections::BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One call of a plugin's `/invoke`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PluginInvocationRecord {
    pub id: String,
    pub server_id: String,
    pub org_id: String,
    pub plugin_id: String,
    /// The API key that called.
    pub key_id: Option<String>,
    /// `success`, `invalid_request`, `failure`, `error`, `disabled` or `not_installed`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: i64,
    pub duration_ms: i64,
    /// What went wrong, without secrets.
    pub error: Option<String>,
    pub created_at: i64,
}

/// Persistence of plugins.
#[async_trait]
pub trait PluginStore {
    /// One installation.
    async fn plugin_install_get(
        &self,
        server_id: &str,
        plugin_id: &str,
    ) -> StoreResult<Option<PluginInstallRecord>>;
    /// A server's installations.
    async fn plugin_install_list(&self, server_id: &str) -> StoreResult<Vec<PluginInstallRecord>>;
    /// Installs (409 when the plugin is installed already).
    async fn plugin_install_create(&self, install: &PluginInstallRecord) -> StoreResult<()>;
    /// Replaces an installation's configuration and enabled flag (by id).
    async fn plugin_install_update(&self, install: &PluginInstallRecord) -> StoreResult<()>;
    /// Enables or disables; false when not installed.
    async fn plugin_install_set_enabled(
        &self,
        server_id: &str,
        plugin_id: &str,
        enabled: bool,
        now: i64,
    ) -> StoreResult<bool>;
    /// Uninstalls; false when not installed.
    async fn plugin_install_delete(&self, server_id: &str, plugin_id: &str) -> StoreResult<bool>;

    /// Records an invocation.
    async fn plugin_invocation_insert(&self, invocation: &PluginInvocationRecord) -> StoreResult<()>;
    /// A plugin's invocations on a server, newest first, before an invocation id.
    async fn plugin_invocation_list(
        &self,
        server_id: &str,
        plugin_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<PluginInvocationRecord>>;
}
