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

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::server_of;
use crate::app::App;
use crate::auth::Scope;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::plugins::{self, Plugin, SplitConfig};
use crate::secrets::{self, SecretError};
use crate::store::PluginInstallRecord;

mod invoke;
mod model;

use invoke::{invocations, invoke};
use model::*;

/// Sealing purpose of plugin secrets.
const PURPOSE: &str = "plugin-secrets";

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

pub(super) fn plugin_of(ctx: &OpCtx) -> ApiResult<&'static dyn Plugin> {
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
pub(super) async fn open_config(state: &App, install: &PluginInstallRecord) -> ApiResult<SplitConfig> {
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
