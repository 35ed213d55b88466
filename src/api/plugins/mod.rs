//! Plugins: the catalogue at `/api/plugins`; per server, installations at
//! `/api/orgs/{org}/servers/{serverId}/plugins/{pluginId}` (PUT install or update, PATCH
//! enable/disable, DELETE uninstall), `POST …/invoke` with the server's `X-API-Key`, and the
//! invocation log at `GET …/invocations`.
//!
//! Secret configuration fields are sealed with the master key (bound to the installation) and
//! never answered: an installation shows its public fields and which secrets are set. A secret
//! field may instead name an org secret, `{"secretId": "sec_…"}`: the reference is stored, the
//! value is read at each invocation (so a new value applies at once, and a disabled secret
//! stops the plugin), and disabling a secret used this way is refused unless forced.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::end_user_auth::server_key;
use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::server_of;
use crate::app::App;
use crate::auth::Scope;
use crate::crypto;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::plugins::{self, Plugin, PluginEnv, PluginError, SplitConfig};
use crate::secrets::{self, SecretError};
use crate::store::{PluginInstallRecord, PluginInvocationRecord};

/// Sealing purpose of plugin secrets.
const PURPOSE: &str = "plugin-secrets";

/// A plugin of the catalogue.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPlugin {
    id: &'static str,
    name: &'static str,
    category: &'static str,
    description: &'static str,
    /// JSON Schema of the configuration; secret fields are `writeOnly`.
    config_schema: Value,
    /// The fields that are stored encrypted and never shown.
    secret_fields: Vec<String>,
}

impl CatalogPlugin {
    fn of(plugin: &dyn Plugin) -> Self {
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
    plugins: Vec<CatalogPlugin>,
}

/// A plugin installed on a server (secrets never included).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    plugin_id: String,
    server_id: String,
    org_id: String,
    enabled: bool,
    /// The configuration's public fields.
    config: Map<String, Value>,
    /// The secret fields that are set (their values are never shown).
    secret_fields: Vec<String>,
    /// Secret fields taken from org secrets: field → secret id.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    secret_refs: BTreeMap<String, String>,
    created_at: String,
    updated_at: String,
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
    plugin_id: &'static str,
    name: &'static str,
    category: &'static str,
    description: &'static str,
    installed: bool,
    installation: Option<Installation>,
}

/// `{"plugins": […]}`: every plugin with its install status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerPluginList {
    plugins: Vec<ServerPlugin>,
}

/// `{"plugin": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InstallationAnswer {
    plugin: Installation,
}

/// Input of `install_plugin`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallPlugin {
    /// The configuration, as the plugin's `configSchema` describes it. On update, secret
    /// fields left out keep their stored value.
    #[serde(default)]
    config: Map<String, Value>,
    /// Default true on install; unchanged on update.
    enabled: Option<bool>,
}

/// Input of `set_plugin_enabled`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnabled {
    /// Whether `/invoke` runs the plugin.
    enabled: bool,
}

/// `{"result": …}`: what the plugin answered.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvokeResult {
    result: Value,
}

/// One logged invocation.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    invocation_id: String,
    plugin_id: String,
    key_id: Option<String>,
    /// `success`, `invalid_request`, `failure`, `error`, `disabled` or `not_installed`.
    outcome: String,
    /// The HTTP status answered.
    status: i64,
    duration_ms: i64,
    error: Option<String>,
    created_at: String,
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
    invocations: Vec<Invocation>,
    /// Pass as `before` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// Input of `list_plugin_invocations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvocationQuery {
    /// Page size, 1–200 (default 50).
    #[schemars(range(min = 1, max = 200))]
    limit: Option<i64>,
    /// Cursor from the previous page.
    before: Option<String>,
}

/// Registers the plugin operations.
pub fn register(r: &mut Registry) {
    let mut catalog = OpSpec::new(
        "list_plugins",
        Method::GET,
        "/api/plugins",
        Access::Public,
        "List the plugins that can be installed on a server, with their configuration schemas.",
    );
    catalog.mcp = true;
    r.add(catalog, list_catalog);
    let base = "/api/orgs/{org}/servers/{serverId}/plugins";
    r.add(
        OpSpec::new(
            "list_server_plugins",
            Method::GET,
            base,
            Access::Org(Scope::PluginsRead),
            "List every plugin with its install status on a server.",
        ),
        list_server,
    );
    let one = "/api/orgs/{org}/servers/{serverId}/plugins/{pluginId}";
    r.add(
        OpSpec::new(
            "get_server_plugin",
            Method::GET,
            one,
            Access::Org(Scope::PluginsRead),
            "Read a plugin installation.",
        ),
        get_one,
    );
    r.add(
        OpSpec::new(
            "install_plugin",
            Method::PUT,
            one,
            Access::Org(Scope::PluginsWrite),
            "Install a plugin on a server, or update its configuration.",
        ),
        install,
    );
    r.add(
        OpSpec::new(
            "set_plugin_enabled",
            Method::PATCH,
            one,
            Access::Org(Scope::PluginsWrite),
            "Enable or disable an installed plugin.",
        ),
        set_enabled,
    );
    r.add(
        OpSpec::new(
            "uninstall_plugin",
            Method::DELETE,
            one,
            Access::Org(Scope::PluginsWrite),
            "Uninstall a plugin.",
        )
        .status(StatusCode::NO_CONTENT),
        uninstall,
    );
    r.add(
        OpSpec::new(
            "invoke_plugin",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/plugins/{pluginId}/invoke",
            Access::Public,
            "Run an installed plugin (X-API-Key of the server); the body is plugin-specific.",
        ),
        invoke,
    );
    r.add(
        OpSpec::new(
            "list_plugin_invocations",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/plugins/{pluginId}/invocations",
            Access::Org(Scope::PluginsRead),
            "Read a plugin's invocations on a server, newest first, a page at a time.",
        ),
        invocations,
    );
}

fn plugin_of(ctx: &OpCtx) -> ApiResult<&'static dyn Plugin> {
    plugins::find(ctx.param("pluginId")?).ok_or(ApiError::NotFound("plugin"))
}

async fn list_catalog(_: OpCtx, _: NoInput) -> ApiResult<Catalog> {
    Ok(Catalog { plugins: plugins::all().iter().map(|p| CatalogPlugin::of(*p)).collect() })
}

async fn list_server(ctx: OpCtx, _: NoInput) -> ApiResult<ServerPluginList> {
    let server = server_of(&ctx).await?;
    let mut installed = ctx.state.store.plugin_install_list(&server.id).await?;
    let plugins = plugins::all()
        .iter()
        .map(|p| {
            let info = p.info();
            let installation = installed
                .iter()
                .position(|i| i.plugin_id == info.id)
                .map(|at| installed.swap_remove(at).into());
            ServerPlugin {
                plugin_id: info.id,
                name: info.name,
                category: info.category,
                description: info.description,
                installed: installation.is_some(),
                installation,
            }
        })
        .collect();
    Ok(ServerPluginList { plugins })
}

async fn get_one(ctx: OpCtx, _: NoInput) -> ApiResult<InstallationAnswer> {
    let server = server_of(&ctx).await?;
    let plugin = plugin_of(&ctx)?;
    let found = ctx.state.store.plugin_install_get(&server.id, plugin.info().id).await?;
    Ok(InstallationAnswer { plugin: found.ok_or(ApiError::NotFound("plugin installation"))?.into() })
}

/// Opens an installation's stored configuration: public fields and sealed secret fields
/// (not the fields it takes from org secrets).
fn unseal(state: &App, install: &PluginInstallRecord) -> ApiResult<SplitConfig> {
    let public = serde_json::from_str(&install.config).map_err(ApiError::internal)?;
    let secret = match &install.secrets {
        None => Map::new(),
        Some(sealed) => {
            let bytes = state.master_key.decrypt(PURPOSE, sealed, install.id.as_bytes()).map_err(|e| {
                ApiError::internal(anyhow::anyhow!("opening plugin secrets of {}: {e}", install.id))
            })?;
            serde_json::from_slice(&bytes).map_err(ApiError::internal)?
        }
    };
    Ok(SplitConfig { public, secret })
}

/// The full configuration an invocation runs with: stored fields plus the current value of
/// every referenced org secret (422 when one is disabled or gone).
async fn open_config(state: &App, install: &PluginInstallRecord) -> ApiResult<SplitConfig> {
    let mut config = unseal(state, install)?;
    for (field, id) in &install.secret_refs {
        let value = secrets::resolve_secret(state.store.as_ref(), &state.master_key, &install.org_id, id)
            .await
            .map_err(|e| match e {
                SecretError::NotFound(_) | SecretError::Disabled(_) => {
                    ApiError::Unprocessable(format!("{field}: {e}"))
                }
                other => ApiError::internal(other),
            })?;
        config.secret.insert(field.clone(), Value::String(value));
    }
    Ok(config)
}

/// `{"secretId": "sec_…"}` as a secret field's value: a reference to an org secret.
fn secret_ref(value: &Value) -> Option<String> {
    let object = value.as_object().filter(|o| o.len() == 1)?;
    object.get("secretId").and_then(Value::as_str).map(str::to_string)
}

async fn install(ctx: OpCtx, input: InstallPlugin) -> ApiResult<InstallationAnswer> {
    let server = server_of(&ctx).await?;
    let plugin = plugin_of(&ctx)?;
    let state = &ctx.state;
    let store = state.store.as_ref();
    let existing = store.plugin_install_get(&server.id, plugin.info().id).await?;
    let mut config = input.config;
    let mut refs = BTreeMap::new();
    for field in plugins::secret_fields(&plugin.config_schema()) {
        if let Some(id) = config.get(&field).and_then(secret_ref) {
            refs.insert(field, id);
        }
    }
    if let Some(old) = &existing {
        // Secrets cannot be read back, so an update may leave them out to keep them.
        for (name, value) in unseal(state, old)?.secret {
            config.entry(name).or_insert(value);
        }
        for (name, id) in &old.secret_refs {
            if !config.contains_key(name) {
                refs.insert(name.clone(), id.clone());
            }
        }
    }
    // Referenced secrets are validated with their current value, and stored as references.
    for (field, id) in &refs {
        let value = match secrets::open_secret(store, &state.master_key, &server.org_id, id).await {
            Ok((_, value)) => value,
            Err(SecretError::NotFound(_)) => {
                return Err(ApiError::unprocessable(format!("{field}: no secret {id} in this organization")));
            }
            Err(SecretError::Disabled(_)) => {
                return Err(ApiError::conflict(format!("{field}: secret {id} is disabled")));
            }
            Err(other) => return Err(ApiError::internal(other)),
        };
        config.insert(field.clone(), Value::String(value));
    }
    // The plugin's own configSchema decides: a body the API's schema admits may still not fit it.
    let mut split = plugin.validate_config(&config).map_err(ApiError::Unprocessable)?;
    let mut secret_fields: Vec<String> = split.secret.keys().cloned().collect();
    secret_fields.sort();
    split.secret.retain(|name, _| !refs.contains_key(name));
    let now = time::now_ms();
    let id = existing.as_ref().map_or_else(|| ids::new_id("plg"), |e| e.id.clone());
    let secrets = (!split.secret.is_empty()).then(|| {
        let json = serde_json::to_vec(&split.secret).expect("a JSON map serialises");
        state.master_key.encrypt(PURPOSE, &json, id.as_bytes())
    });
    let record = PluginInstallRecord {
        enabled: input.enabled.unwrap_or_else(|| existing.as_ref().is_none_or(|e| e.enabled)),
        created_at: existing.as_ref().map_or(now, |e| e.created_at),
        id,
        server_id: server.id.clone(),
        org_id: server.org_id.clone(),
        plugin_id: plugin.info().id.to_string(),
        config: Value::Object(split.public).to_string(),
        secrets,
        secret_fields,
        secret_refs: refs,
        updated_at: now,
    };
    if existing.is_some() {
        store.plugin_install_update(&record).await?;
    } else {
        store.plugin_install_create(&record).await?;
    }
    Ok(InstallationAnswer { plugin: record.into() })
}

async fn set_enabled(ctx: OpCtx, input: SetEnabled) -> ApiResult<InstallationAnswer> {
    let server = server_of(&ctx).await?;
    let plugin_id = plugin_of(&ctx)?.info().id;
    let store = ctx.state.store.as_ref();
    if !store.plugin_install_set_enabled(&server.id, plugin_id, input.enabled, time::now_ms()).await? {
        return Err(ApiError::NotFound("plugin installation"));
    }
    let found = store.plugin_install_get(&server.id, plugin_id).await?;
    Ok(InstallationAnswer { plugin: found.ok_or(ApiError::NotFound("plugin installation"))?.into() })
}

async fn uninstall(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    let plugin_id = plugin_of(&ctx)?.info().id;
    if !ctx.state.store.plugin_install_delete(&server.id, plugin_id).await? {
        return Err(ApiError::NotFound("plugin installation"));
    }
    Ok(())
}

async fn invoke(ctx: OpCtx, payload: Value) -> ApiResult<InvokeResult> {
    let started = Instant::now();
    let key = server_key(&ctx).await?;
    let plugin = plugin_of(&ctx)?;
    governed(&ctx, &key.org_id, &key.server_id, &key.key_id, plugin.info().id, &payload).await?;
    let outcome = run(&ctx, &key.server_id, plugin, payload).await;
    let (label, error) = match &outcome {
        Ok(_) => ("success", None),
        Err(ApiError::BadRequest(m)) => ("invalid_request", Some(m.clone())),
        Err(ApiError::Unprocessable(m)) => ("failure", Some(m.clone())),
        Err(ApiError::ForbiddenCode { message, .. }) => ("disabled", Some(message.clone())),
        Err(ApiError::NotFound(_)) => {
            ("not_installed", Some("the plugin is not installed on this server".into()))
        }
        Err(ApiError::Internal(e)) => ("error", Some(e.to_string())),
        Err(other) => ("error", Some(other.to_string())),
    };
    let record = PluginInvocationRecord {
        id: ids::new_id("inv"),
        server_id: key.server_id.clone(),
        org_id: key.org_id.clone(),
        plugin_id: plugin.info().id.to_string(),
        key_id: Some(key.key_id.clone()),
        outcome: label.to_string(),
        status: i64::from(outcome.as_ref().map_or_else(|e| e.status().as_u16(), |_| 200)),
        duration_ms: started.elapsed().as_millis() as i64,
        error: error.map(|e| e.chars().take(500).collect()),
        created_at: time::now_ms(),
    };
    if let Err(err) = ctx.state.store.plugin_invocation_insert(&record).await {
        tracing::error!(error = %err, plugin = record.plugin_id, "plugin invocation not logged");
    } else if failed(&record) {
        raise_if_failing(&ctx, &record).await;
    }
    outcome.map(|result| InvokeResult { result })
}

/// Applies the server's policies to an invocation, matched as the tool `plugins/<pluginId>`:
/// deny → 403, argument limit → 400, rate limit → 429 with `Retry-After`.
async fn governed(
    ctx: &OpCtx,
    org_id: &str,
    server_id: &str,
    key_id: &str,
    plugin_id: &str,
    payload: &Value,
) -> ApiResult<()> {
    let rules: Vec<_> = ctx
        .state
        .store
        .policy_list(org_id, server_id)
        .await?
        .into_iter()
        .filter_map(crate::plane::directory::rule)
        .collect();
    if rules.is_empty() {
        return Ok(());
    }
    let tool = format!("plugins/{plugin_id}");
    let verdict = crate::domain::policy::evaluate(&rules, &tool);
    if let Some(pattern) = verdict.denied_by {
        return Err(ApiError::Forbidden(format!(
            "Denied by policy {pattern}: {tool} is not allowed on this server"
        )));
    }
    if let Some(max) = verdict.max_argument_bytes {
        let size = serde_json::to_vec(payload).map(|b| b.len() as i64).unwrap_or(i64::MAX);
        if size > max {
            return Err(ApiError::bad_request(format!(
                "the payload is {size} bytes; the policy allows at most {max}"
            )));
        }
    }
    let server = ctx.state.store.server_get(org_id, server_id).await?.ok_or(ApiError::NotFound("server"))?;
    match crate::gateway::policy::count(&ctx.state, &server, key_id, &tool, &verdict.rates).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(limited)) => {
            Err(ApiError::RateLimited { retry_after_secs: (limited.retry_after_ms as u64).div_ceil(1000) })
        }
        Err(e) => Err(ApiError::internal(anyhow::anyhow!(e.message))),
    }
}

/// Consecutive failed invocations after which the org is notified (once per streak).
pub const FAILING_AFTER: usize = 3;

fn failed(invocation: &PluginInvocationRecord) -> bool {
    matches!(invocation.outcome.as_str(), "failure" | "error")
}

/// Notifies the org when this failure makes [`FAILING_AFTER`] in a row.
async fn raise_if_failing(ctx: &OpCtx, last: &PluginInvocationRecord) {
    let recent = match ctx
        .state
        .store
        .plugin_invocation_list(&last.server_id, &last.plugin_id, None, FAILING_AFTER as i64 + 1)
        .await
    {
        Ok(rows) => rows,
        Err(err) => {
            tracing::warn!(error = %err, "could not read recent plugin invocations");
            return;
        }
    };
    if recent.iter().take_while(|i| failed(i)).count() != FAILING_AFTER {
        return;
    }
    let message = format!(
        "Plugin {} failed {FAILING_AFTER} times in a row on server {}; last error: {}",
        last.plugin_id,
        last.server_id,
        last.error.as_deref().unwrap_or("unknown")
    );
    let data = serde_json::json!({"serverId": last.server_id, "pluginId": last.plugin_id, "lastInvocationId": last.id});
    crate::notify::notify(&ctx.state, &last.org_id, "plugin.failing", "Plugin failing", &message, data).await;
}

async fn run(ctx: &OpCtx, server_id: &str, plugin: &dyn Plugin, payload: Value) -> ApiResult<Value> {
    let state = &ctx.state;
    let install = state
        .store
        .plugin_install_get(server_id, plugin.info().id)
        .await?
        .ok_or(ApiError::NotFound("plugin installation"))?;
    if !install.enabled {
        return Err(ApiError::ForbiddenCode {
            code: "plugin_disabled",
            message: "the plugin is installed but disabled".into(),
        });
    }
    let config = open_config(state, &install).await?;
    // A new configuration (or a new value of a referenced secret) never reuses credentials
    // cached for the old one.
    let secret_json = Value::Object(config.secret.clone()).to_string();
    let cache_key = crypto::sha256_hex(&format!("{}:{secret_json}", install.id));
    let env = PluginEnv {
        outbound: &state.plane.outbound,
        config: &state.config,
        cache: &state.plugins.tokens,
        cache_key: &cache_key,
    };
    plugin.invoke(&env, &config, payload).await.map_err(|e| match e {
        PluginError::InvalidRequest(m) => ApiError::BadRequest(m),
        PluginError::Failed { code, message } => ApiError::Unprocessable(format!("{code}: {message}")),
        PluginError::Internal(m) => ApiError::internal(anyhow::anyhow!("plugin {}: {m}", plugin.info().id)),
    })
}

async fn invocations(ctx: OpCtx, q: InvocationQuery) -> ApiResult<InvocationPage> {
    let server = server_of(&ctx).await?;
    let plugin_id = plugin_of(&ctx)?.info().id;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let store = ctx.state.store.as_ref();
    let mut rows =
        store.plugin_invocation_list(&server.id, plugin_id, q.before.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|i| i.id.clone()) } else { None };
    Ok(InvocationPage { invocations: rows.into_iter().map(Invocation::from).collect(), next_cursor })
}
