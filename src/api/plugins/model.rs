//! What the plugin operations take and give.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::time;
use crate::plugins::{self, Plugin};
use crate::store::{PluginInstallRecord, PluginInvocationRecord};

/// A plugin of the catalogue.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPlugin {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) category: &'static str,
    pub(super) description: &'static str,
    /// JSON Schema of the configuration; secret fields are `writeOnly`.
    pub(super) config_schema: Value,
    /// The fields that are stored encrypted and never shown.
    pub(super) secret_fields: Vec<String>,
}

impl CatalogPlugin {
    pub(super) fn of(plugin: &dyn Plugin) -> Self {
        let info = plugin.info();
        let config_schema = plugin.config_schema();
        Self {
            id: info.id,
            name: info.name,
            category: info.category,
            description: info.description,
            secret_fields: plugins::secret_fields(&config_schema),
            config_schema,
        }
    }
}

/// `{"plugins": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Catalog {
    pub(super) plugins: Vec<CatalogPlugin>,
}

/// A plugin installed on a server (secrets never included).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub(super) plugin_id: String,
    pub(super) server_id: String,
    pub(super) org_id: String,
    pub(super) enabled: bool,
    /// The configuration's public fields.
    pub(super) config: Map<String, Value>,
    /// The secret fields that are set (their values are never shown).
    pub(super) secret_fields: Vec<String>,
    /// Secret fields taken from org secrets: field → secret id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) secret_refs: BTreeMap<String, String>,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

impl From<PluginInstallRecord> for Installation {
    fn from(p: PluginInstallRecord) -> Self {
        Self {
            config: serde_json::from_str(&p.config).unwrap_or_default(),
            plugin_id: p.plugin_id,
            server_id: p.server_id,
            org_id: p.org_id,
            enabled: p.enabled,
            secret_fields: p.secret_fields,
            secret_refs: p.secret_refs,
            created_at: time::iso(p.created_at),
            updated_at: time::iso(p.updated_at),
        }
    }
}

/// A catalogue plugin and its install status on a server.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerPlugin {
    pub(super) plugin_id: &'static str,
    pub(super) name: &'static str,
    pub(super) category: &'static str,
    pub(super) description: &'static str,
    pub(super) installed: bool,
    pub(super) installation: Option<Installation>,
}

/// `{"plugins": […]}`: every plugin with its install status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerPluginList {
    pub(super) plugins: Vec<ServerPlugin>,
}

/// `{"plugin": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstallationAnswer {
    pub(super) plugin: Installation,
}

/// Input of `install_plugin`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallPlugin {
    /// The configuration, as the plugin's `configSchema` describes it. On update, secret
    /// fields left out keep their stored value.
    #[serde(default)]
    pub(super) config: Map<String, Value>,
    /// Default true on install; unchanged on update.
    pub(super) enabled: Option<bool>,
}

/// Input of `set_plugin_enabled`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnabled {
    /// Whether `/invoke` runs the plugin.
    pub(super) enabled: bool,
}

/// `{"result": …}`: what the plugin answered.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvokeResult {
    pub(super) result: Value,
}

/// One logged invocation.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub(super) invocation_id: String,
    pub(super) plugin_id: String,
    pub(super) key_id: Option<String>,
    /// `success`, `invalid_request`, `failure`, `error`, `disabled` or `not_installed`.
    pub(super) outcome: String,
    /// The HTTP status answered.
    pub(super) status: i64,
    pub(super) duration_ms: i64,
    pub(super) error: Option<String>,
    pub(super) created_at: String,
}

impl From<PluginInvocationRecord> for Invocation {
    fn from(i: PluginInvocationRecord) -> Self {
        Self {
            invocation_id: i.id,
            plugin_id: i.plugin_id,
            key_id: i.key_id,
            outcome: i.outcome,
            status: i.status,
            duration_ms: i.duration_ms,
            error: i.error,
            created_at: time::iso(i.created_at),
        }
    }
}

/// A page of invocations, newest first.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvocationPage {
    pub(super) invocations: Vec<Invocation>,
    /// Pass as `before` for the next page; absent on the last page.
    pub(super) next_cursor: Option<String>,
}

/// Input of `list_plugin_invocations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvocationQuery {
    /// Page size, 1–200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub(super) limit: Option<i64>,
    /// Cursor from the previous page.
    pub(super) before: Option<String>,
}
