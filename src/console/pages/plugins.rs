//! A server's Plugins tab: every plugin with its install status; **Install** opens a
//! configuration form made from the plugin's schema (secret fields write-only); enable,
//! disable, update, uninstall.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::servers::{ServerPath, load};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};
use crate::error::ApiError;

/// A plugin of a server, from the path.
#[derive(Debug, Deserialize)]
pub struct PluginPath {
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "pluginId")]
    plugin_id: String,
}

/// `GET /orgs/{org}/servers/{serverId}/plugins`.
pub async fn list(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    list_page(&ctx, &path.server_id, None).await
}

async fn list_page(ctx: &Ctx, server_id: &str, error: Option<FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let plugins = ctx.run_in_org("list_server_plugins", &[("serverId", server_id)], json!({})).await?;
    let can_write = org.can("plugins:write");
    let base = format!("/orgs/{}/servers/{server_id}/plugins", org.slug);
    let error = error.as_ref();
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Plugins))
        p.lead { "Plugins are integrations your backend calls with the server's API key at "
            code { "POST /api/orgs/" (org.id) "/servers/" (server_id) "/plugins/{pluginId}/invoke" } "." }
        (general_error(error))
        div.cards {
            @for p in plugins["plugins"].as_array().into_iter().flatten() {
                @let id = text(&p["pluginId"]);
                @let installed = p["installed"].as_bool().unwrap_or(false);
                @let enabled = p["installation"]["enabled"].as_bool().unwrap_or(false);
                article.card.plugin aria-labelledby={ "plugin-" (id) } {
                    div.page-head {
                        h2 #{ "plugin-" (id) } { (text(&p["name"])) }
                        @if !installed { span.badge { "Not installed" } }
                        @else if enabled { span.badge.active { "Enabled" } }
                        @else { span.badge.disabled { "Disabled" } }
                    }
                    p.muted.small { code { (id) } " · " (text(&p["category"])) }
                    p { (text(&p["description"])) }
                    @if can_write {
                        div.actions {
                            @if !installed {
                                a.button.primary href={ (base) "/" (id) } { "Install" }
                            } @else {
                                a.button.secondary href={ (base) "/" (id) } { "Configure" }
                                form method="post" action={ (base) "/" (id) "/enabled" } {
                                    (csrf_input(&ctx.csrf))
                                    input type="hidden" name="enabled" value=(if enabled { "false" } else { "true" });
                                    button.secondary type="submit" { (if enabled { "Disable" } else { "Enable" }) }
                                }
                                form method="post" action={ (base) "/" (id) "/uninstall" } {
                                    (csrf_input(&ctx.csrf))
                                    button.danger type="submit"
                                        data-confirm={ "Uninstall " (text(&p["name"])) "? Its configuration is deleted." } { "Uninstall" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Plugins", Section::Servers, body)).into_response())
}

/// A plugin of the catalogue, with its configuration schema.
async fn catalog_entry(ctx: &Ctx, plugin_id: &str) -> Result<Value, Fault> {
    let catalog = ctx.run("list_plugins", &[], json!({})).await?;
    let found = catalog["plugins"].as_array().into_iter().flatten().find(|p| p["id"] == plugin_id).cloned();
    Ok(found.ok_or(ApiError::NotFound("plugin"))?)
}

/// `GET /orgs/{org}/servers/{serverId}/plugins/{pluginId}`: the configuration form.
pub async fn configure(ctx: Ctx, Path(path): Path<PluginPath>) -> Result<Response, Fault> {
    config_page(&ctx, &path, &Map::new(), None).await
}

async fn config_page(
    ctx: &Ctx,
    path: &PluginPath,
    typed: &Map<String, Value>,
    error: Option<FormError>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, &path.server_id).await?;
    let plugin = catalog_entry(ctx, &path.plugin_id).await?;
    let params = [("serverId", path.server_id.as_str())];
    let listed = ctx.run_in_org("list_server_plugins", &params, json!({})).await?;
    let installation = listed["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["pluginId"] == path.plugin_id.as_str())
        .and_then(|p| p.get("installation").filter(|i| !i.is_null()))
        .cloned();
    let installed = installation.is_some();
    let schema = &plugin["configSchema"];
    let required: Vec<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let set_secrets: Vec<&str> = installation
        .as_ref()
        .map(|i| i["secretFields"].as_array().into_iter().flatten().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let base = format!("/orgs/{}/servers/{}/plugins", org.slug, path.server_id);
    let can_write = org.can("plugins:write");
    let error = error.as_ref();
    let body = html! {
        (server_header(&org.slug, &path.server_id, &text(&server["name"]), ServerTab::Plugins))
        h2 { (if installed { "Configure " } else { "Install " }) (text(&plugin["name"])) }
        p.lead { (text(&plugin["description"])) }
        (general_error(error))
        form.card.stack method="post" action={ (base) "/" (path.plugin_id) } {
            (csrf_input(&ctx.csrf))
            fieldset disabled[!can_write] {
                @for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                    @let current = installation.as_ref().and_then(|i| i["config"].get(name)).or_else(|| typed.get(name));
                    (config_field(name, prop, required.contains(&name.as_str()), set_secrets.contains(&name.as_str()), installed, current, error))
                }
                @if can_write {
                    div.actions {
                        button.primary type="submit" { (if installed { "Save configuration" } else { "Install plugin" }) }
                        a.button.secondary href=(base) { "Cancel" }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page(&text(&plugin["name"]), Section::Servers, body)).into_response())
}

/// One configuration field from its JSON Schema: secret (write-only) fields never show a value.
fn config_field(
    name: &str,
    prop: &Value,
    required: bool,
    secret_set: bool,
    installed: bool,
    current: Option<&Value>,
    error: Option<&FormError>,
) -> Markup {
    let title = prop["title"].as_str().unwrap_or(name);
    let id = format!("cfg-{name}");
    let secret = prop["writeOnly"].as_bool().unwrap_or(false);
    let types: Vec<&str> = match &prop["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let multiline = secret || types.contains(&"object") || types.contains(&"array");
    let value = match current {
        Some(Value::String(s)) if !secret => s.clone(),
        Some(v) if !secret && !v.is_null() => v.to_string(),
        _ => String::new(),
    };
    let placeholder = if secret && secret_set { "Stored — leave blank to keep it" } else { "" };
    let must = required && !(installed && secret_set);
    html! {
        label for=(id) { (title) @if !required { " " span.muted { "(optional)" } } }
        @if types.contains(&"boolean") {
            select #(id) name=(name) {
                option value="true" selected[value == "true"] { "Yes" }
                option value="false" selected[value != "true"] { "No" }
            }
        } @else if multiline {
            textarea #(id) name=(name) rows=(if secret { 8 } else { 4 }) required[must] placeholder=(placeholder)
                spellcheck="false" autocomplete="off" aria-describedby={ (id) "-hint " (id) "-error" } { (value) }
        } @else {
            input #(id) name=(name) value=(value) required[must] placeholder=(placeholder)
                aria-describedby={ (id) "-hint " (id) "-error" };
        }
        @if let Some(d) = prop["description"].as_str() { p.hint #{ (id) "-hint" } { (d) @if secret { " Stored encrypted; never shown again." } } }
        (field_error(error, name, &format!("{id}-error")))
    }
}

/// `POST /orgs/{org}/servers/{serverId}/plugins/{pluginId}`: install, or update the config.
pub async fn install(ctx: Ctx, Path(path): Path<PluginPath>, fields: Fields) -> Result<Response, Fault> {
    let plugin = catalog_entry(&ctx, &path.plugin_id).await?;
    let mut config = Map::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, prop) in plugin["configSchema"]["properties"].as_object().into_iter().flatten() {
        names.push(name);
        let raw = fields.get(name);
        if raw.is_empty() {
            continue; // left out: optional, or a stored secret kept
        }
        let value = match prop["type"].as_str() {
            Some("boolean") => json!(raw == "true"),
            Some("integer") | Some("number") => serde_json::from_str(raw).unwrap_or(json!(raw)),
            _ => json!(raw),
        };
        config.insert(name.clone(), value);
    }
    let params = [("serverId", path.server_id.as_str()), ("pluginId", path.plugin_id.as_str())];
    match ctx.run_in_org("install_plugin", &params, json!({ "config": config })).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/plugins", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => {
            let error = FormError::place(&err, &names);
            let shown: Map<String, Value> = config
                .into_iter()
                .filter(|(k, _)| plugin["configSchema"]["properties"][k]["writeOnly"] != true)
                .collect();
            config_page(&ctx, &path, &shown, Some(error)).await
        }
    }
}

/// `POST …/plugins/{pluginId}/enabled`.
pub async fn set_enabled(ctx: Ctx, Path(path): Path<PluginPath>, fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("pluginId", path.plugin_id.as_str())];
    let enabled = fields.get("enabled") == "true";
    finish(&ctx, &path, ctx.run_in_org("set_plugin_enabled", &params, json!({ "enabled": enabled })).await)
        .await
}

/// `POST …/plugins/{pluginId}/uninstall`.
pub async fn uninstall(ctx: Ctx, Path(path): Path<PluginPath>, _fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("pluginId", path.plugin_id.as_str())];
    finish(&ctx, &path, ctx.run_in_org("uninstall_plugin", &params, json!({})).await).await
}

async fn finish(ctx: &Ctx, path: &PluginPath, result: Result<Value, ApiError>) -> Result<Response, Fault> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/plugins", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => list_page(ctx, &path.server_id, Some(FormError::place(&err, &[]))).await,
    }
}
