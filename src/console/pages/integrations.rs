//! A server's Integrations tab: RevenueCat (key, category order, refreshing an app user's
//! entitlements), PostHog (key, host) and Firebase App Check (part of the auth settings). Keys
//! are write-only: a blank key field keeps the one set.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::servers::{ServerPath, load};
use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

/// `GET /orgs/{org}/servers/{serverId}/integrations`.
pub async fn show(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    page(&ctx, &path.server_id, None, None).await
}

/// A select of on and off.
fn on_off(id: &str, on: bool, what: &str) -> Markup {
    html! {
        label for=(id) { (what) }
        select #(id) name="enabled" {
            option value="true" selected[on] { "On" }
            option value="false" selected[!on] { "Off" }
        }
    }
}

/// A write-only key field: blank keeps the key set.
fn key_field(id: &str, hint: &Value, error: Option<&FormError>) -> Markup {
    let described = format!("{id}-hint {id}-error");
    html! {
        label for=(id) { "API key" }
        input #(id) name="apiKey" type="password" autocomplete="off" aria-describedby=(described);
        p.hint id={ (id) "-hint" } {
            @if let Some(hint) = hint.as_str() { "Set (ending " code { (hint) } "). Leave blank to keep it." }
            @else { "Not set." }
        }
        (field_error(error, "apiKey", &format!("{id}-error")))
    }
}

async fn page(
    ctx: &Ctx,
    server_id: &str,
    error: Option<FormError>,
    refreshed: Option<Value>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let found = ctx.run_in_org("get_integrations", &[("serverId", server_id)], json!({})).await?;
    let auth = ctx.run_in_org("get_auth_config", &[("serverId", server_id)], json!({})).await?;
    let (rc, ph, check) = (&found["revenuecat"], &found["posthog"], &auth["authConfig"]["appCheck"]);
    let base = format!("/orgs/{}/servers/{server_id}/integrations", org.slug);
    let can_write = org.can("servers:write");
    let error = error.as_ref();
    let list = |v: &Value| {
        v.as_array()
            .map_or(String::new(), |a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
    };
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Integrations))
        p.lead { "Connect the services your app already uses. Keys are stored encrypted and never shown again." }
        (general_error(error))
        section.card {
            h2 { "RevenueCat" }
            p.hint { "Subscribers' entitlements become a category that policies match as " code { "entitlement:<category>" } ", e.g. a higher rate limit for " code { "entitlement:pro" } "." }
            form.stack method="post" action={ (base) "/revenuecat" } {
                (csrf_input(&ctx.csrf))
                fieldset disabled[!can_write] {
                    (on_off("rc-enabled", rc["enabled"] == true, "RevenueCat"))
                    (key_field("rc-key", &rc["apiKeyHint"], error))
                    label for="rc-order" { "Category order " span.muted { "(optional)" } }
                    input #rc-order name="categoryOrder" value=(list(&rc["categoryOrder"])) placeholder="pro, plus";
                    p.hint { "Entitlement ids, highest first: a subscriber holding several is in the first." }
                    @if can_write { div.actions { button.primary type="submit" { "Save" } } }
                }
            }
            @if rc["enabled"] == true && can_write {
                h3 { "Refresh a subscriber" }
                form.inline method="post" action={ (base) "/revenuecat/refresh" } {
                    (csrf_input(&ctx.csrf))
                    label for="appUserId" { "App user id" }
                    input #appUserId name="appUserId" placeholder="buyer@example.com" required;
                    button.secondary type="submit" { "Refresh" }
                }
                @if let Some(r) = &refreshed {
                    p role="status" {
                        code { (text(&r["appUserId"])) } " is " strong { (text(&r["category"])) }
                        " (refreshed " (when(&text(&r["refreshedAt"]))) ")."
                    }
                }
            }
        }
        section.card {
            h2 { "PostHog" }
            p.hint { "Every tool call is sent as an " code { "mcp tool call" } " event; arguments and results only when data logging keeps everything." }
            form.stack method="post" action={ (base) "/posthog" } {
                (csrf_input(&ctx.csrf))
                fieldset disabled[!can_write] {
                    (on_off("ph-enabled", ph["enabled"] == true, "PostHog"))
                    (key_field("ph-key", &ph["apiKeyHint"], error))
                    label for="ph-host" { "Host" }
                    input #ph-host name="host" value=(ph["host"].as_str().unwrap_or("https://us.i.posthog.com"))
                        aria-describedby="ph-host-error";
                    (field_error(error, "host", "ph-host-error"))
                    @if can_write { div.actions { button.primary type="submit" { "Save" } } }
                }
            }
        }
        section.card {
            h2 { "Firebase App Check" }
            p.hint { "When on, your app's sign-in requests (request-code, verify-code) must carry an " code { "X-Firebase-AppCheck" } " token Firebase issued to one of your apps." }
            form.stack method="post" action={ (base) "/app-check" } {
                (csrf_input(&ctx.csrf))
                fieldset disabled[!can_write] {
                    (on_off("ac-enabled", check["enabled"] == true, "App Check"))
                    label for="projectNumber" { "Project number" }
                    input #projectNumber name="projectNumber" inputmode="numeric" value=(check["projectNumber"].as_str().unwrap_or(""))
                        aria-describedby="projectNumber-error";
                    (field_error(error, "projectNumber", "projectNumber-error"))
                    label for="appIds" { "App ids " span.muted { "(optional)" } }
                    input #appIds name="appIds" value=(list(&check["appIds"])) placeholder="1:123456789012:android:0a1b2c3d";
                    p.hint { "Comma-separated; empty accepts every app of the project." }
                    @if can_write { div.actions { button.primary type="submit" { "Save" } } }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Integrations", Section::Servers, body)).into_response())
}

/// The common fields: `enabled`, and the key when one was typed.
fn common(fields: &Fields) -> Map<String, Value> {
    let mut input = Map::new();
    input.insert("enabled".into(), json!(fields.get("enabled") == "true"));
    if !fields.get("apiKey").trim().is_empty() {
        input.insert("apiKey".into(), json!(fields.get("apiKey").trim()));
    }
    input
}

fn split(raw: &str) -> Vec<&str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

async fn save(
    ctx: Ctx,
    server_id: &str,
    operation: &str,
    input: Value,
    fields: &[&str],
) -> Result<Response, Fault> {
    match ctx.run_in_org(operation, &[("serverId", server_id)], input).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{server_id}/integrations", ctx.org()?.slug))
            .into_response()),
        Err(err) => page(&ctx, server_id, Some(FormError::place(&err, fields)), None).await,
    }
}

/// `POST …/integrations/revenuecat`.
pub async fn revenuecat(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let mut input = common(&fields);
    input.insert("categoryOrder".into(), json!(split(fields.get("categoryOrder"))));
    save(ctx, &path.server_id, "update_revenuecat_config", Value::Object(input), &["apiKey", "categoryOrder"])
        .await
}

/// `POST …/integrations/revenuecat/refresh`: shows the category found.
pub async fn refresh(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let input = json!({"appUserId": fields.get("appUserId").trim()});
    match ctx.run_in_org("trigger_revenuecat_refresh", &[("serverId", &path.server_id)], input).await {
        Ok(found) => page(&ctx, &path.server_id, None, Some(found["entitlement"].clone())).await,
        Err(err) => page(&ctx, &path.server_id, Some(FormError::place(&err, &["appUserId"])), None).await,
    }
}

/// `POST …/integrations/posthog`.
pub async fn posthog(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let mut input = common(&fields);
    input.insert("host".into(), json!(fields.get("host").trim()));
    save(ctx, &path.server_id, "update_posthog_config", Value::Object(input), &["apiKey", "host"]).await
}

/// `POST …/integrations/app-check`: App Check is part of the auth settings.
pub async fn app_check(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let mut check = Map::new();
    check.insert("enabled".into(), json!(fields.get("enabled") == "true"));
    let number = fields.get("projectNumber").trim();
    if !number.is_empty() {
        check.insert("projectNumber".into(), json!(number));
    }
    check.insert("appIds".into(), json!(split(fields.get("appIds"))));
    let input = json!({"appCheck": check});
    save(ctx, &path.server_id, "update_auth_config", input, &["projectNumber", "appIds"]).await
}
