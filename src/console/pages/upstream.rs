//! One upstream: its status and last error, Refresh, enable/disable, Delete, and its tools with
//! their approval; a tool changed since approval is shown side by side with what was approved
//! before it can be approved again.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::upstream_client;
use super::upstreams::status_badge;
use super::when;
use crate::console::context::{Ctx, text};
use crate::console::diff::side_by_side;
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, general_error, status_of};
use crate::console::layout::Section;
use crate::error::ApiError;

/// An upstream from the path.
#[derive(Debug, Deserialize)]
pub struct UpstreamPath {
    #[serde(rename = "upstreamId")]
    upstream_id: String,
}

/// A tool of an upstream from the path.
#[derive(Debug, Deserialize)]
pub struct UpstreamToolPath {
    #[serde(rename = "upstreamId")]
    upstream_id: String,
    #[serde(rename = "toolName")]
    tool_name: String,
}

/// `?connected=<status>`: back from an OAuth authorization.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    connected: Option<String>,
}

/// `GET /orgs/{org}/upstreams/{upstreamId}`.
pub async fn show(
    ctx: Ctx,
    Path(path): Path<UpstreamPath>,
    Query(back): Query<Back>,
) -> Result<Response, Fault> {
    page_with(&ctx, &path.upstream_id, None, back.connected.as_deref()).await
}

async fn page(ctx: &Ctx, id: &str, error: Option<FormError>) -> Result<Response, Fault> {
    page_with(ctx, id, error, None).await
}

async fn page_with(
    ctx: &Ctx,
    id: &str,
    error: Option<FormError>,
    connected: Option<&str>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let params = [("upstreamId", id)];
    let u = ctx.run_in_org("get_upstream", &params, json!({})).await?;
    let u = &u["upstream"];
    let tools = ctx.run_in_org("list_upstream_tools", &params, json!({})).await?;
    let tools: &[Value] = tools["tools"].as_array().map_or(&[], Vec::as_slice);
    let changed: Vec<&Value> = tools.iter().filter(|t| t.get("approvedDefinition").is_some()).collect();
    let base = format!("/orgs/{}/upstreams/{id}", org.slug);
    let can_write = org.can("upstreams:write");
    let enabled = u["isEnabled"].as_bool().unwrap_or(true);
    let error = error.as_ref();
    // Who connected their own account, for a per-person upstream (never their tokens).
    let people = match u["credentialMode"] != "shared" {
        true => Some(ctx.run_in_org("list_upstream_connections", &params, json!({})).await?),
        false => None,
    };
    let body = html! {
        p.crumbs { a href={ "/orgs/" (org.slug) "/upstreams" } { "Upstreams" } " / " }
        div.page-head {
            h1 { (text(&u["name"])) " " (status_badge(&text(&u["status"]))) }
            @if can_write {
                div.actions {
                    form method="post" action={ (base) "/refresh" } {
                        (csrf_input(&ctx.csrf))
                        button.secondary type="submit" { "Refresh" }
                    }
                    form method="post" action={ (base) "/enabled" } {
                        (csrf_input(&ctx.csrf))
                        input type="hidden" name="enabled" value=(!enabled);
                        button.secondary type="submit" { (if enabled { "Disable" } else { "Enable" }) }
                    }
                }
            }
        }
        (general_error(error))
        @if let Some(status) = connected {
            div.alert.ok role="status" { "Authorized. The upstream is " strong { (status.replace('_', " ")) } "." }
        }
        @if let Some(e) = u["lastError"].as_str() { div.alert.error role="alert" { strong { "Last error: " } (e) } }
        @if u["auth"]["type"] == "oauth" {
            div class={ "alert " (if u["status"] == "needs_auth" { "warn" } else { "info" }) } {
                @if u["status"] == "needs_auth" { "This upstream needs you to authorize Gatehouse at its authorization server. " }
                @else { "Gatehouse holds an OAuth grant for this upstream and refreshes it. " }
                @if can_write {
                    form.inline-action method="post" action={ (base) "/connect" } {
                        (csrf_input(&ctx.csrf))
                        button.primary.small type="submit" { (if u["status"] == "needs_auth" { "Connect" } else { "Connect again" }) }
                    }
                }
            }
        }
        dl.facts {
            dt { "Transport" } dd { (text(&u["transport"])) }
            @if let Some(url) = u["url"].as_str() { dt { "URL" } dd { code { (url) } } }
            @if let Some(cmd) = u["command"].as_str() {
                dt { "Command" } dd { code { (cmd) @for a in u["args"].as_array().into_iter().flatten() { " " (text(a)) } } }
            }
            dt { "Protocol" } dd { (u["protocolVersion"].as_str().unwrap_or("—")) }
            @if let Some(info) = u["serverInfo"].as_object() {
                dt { "Server" } dd { (info.get("name").and_then(Value::as_str).unwrap_or("")) " " (info.get("version").and_then(Value::as_str).unwrap_or("")) }
            }
            dt { "Approval policy" } dd { (text(&u["approvalPolicy"]).replace('_', " ")) }
            dt { "Calls use" } dd { (match u["credentialMode"].as_str() {
                Some("per_user") => "each person's own account",
                Some("passthrough_exchange") => "each person's token, obtained by token exchange",
                _ => "one shared credential",
            }) }
            dt { "Refreshed" } dd { (u["refreshedAt"].as_str().map_or("never".to_string(), when)) }
            dt { "Used by" } dd { (u["dependentServers"].as_array().map_or(0, Vec::len)) " server(s)" }
        }
        @if let Some(people) = &people { (super::accounts::people_section(people)) }
        @if upstream_client::shown(u) { (upstream_client::card(ctx, &base, u, can_write, error)) }
        @for t in &changed {
            section.card.changed aria-labelledby={ "changed-" (text(&t["name"])) } {
                h2 #{ "changed-" (text(&t["name"])) } { "“" (text(&t["name"])) "” changed since it was approved" }
                p { "It is withheld from every server until approved again. Compare before you decide:" }
                (side_by_side(("Approved", &t["approvedDefinition"]), ("Now", &t["definition"])))
                @if can_write { (tool_actions(ctx, &base, t, "Approve again")) }
            }
        }
        h2 { "Tools" }
        @if tools.is_empty() {
            p.muted { "No tools discovered. Refresh after fixing what the last error says." }
        } @else {
            table.list {
                thead { tr { th { "Tool" } th { "Approval" } th { "Served" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for t in tools {
                        @let state = text(&t["approvalState"]);
                        tr {
                            td { code { (text(&t["name"])) } p.muted.small { (text(&t["description"])) } }
                            td { span class={ "badge " (state) } { (state.replace('_', " ")) } }
                            td { (if t["served"].as_bool().unwrap_or(false) { "yes" } else { "no" }) }
                            td.actions { @if can_write { (tool_actions(ctx, &base, t, "Approve")) } }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card.danger {
                h2 { "Delete upstream" }
                p { "Its tools leave every server at once." }
                form method="post" action={ (base) "/delete" } {
                    (csrf_input(&ctx.csrf))
                    button.danger type="submit" data-confirm={ "Delete " (text(&u["name"])) "?" } { "Delete upstream" }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page(&text(&u["name"]), Section::Upstreams, body)).into_response())
}

fn tool_actions(ctx: &Ctx, base: &str, t: &Value, approve_label: &str) -> Markup {
    let name = text(&t["name"]);
    let state = text(&t["approvalState"]);
    let enabled = t["enabled"].as_bool().unwrap_or(true);
    let action = format!("{base}/tools/{name}");
    let button = |field: &str, value: &str, label: &str, class: &str| {
        html! {
            form method="post" action=(action) {
                (csrf_input(&ctx.csrf))
                input type="hidden" name=(field) value=(value);
                button class={ (class) " small" } type="submit" aria-label={ (label) " " (name) } { (label) }
            }
        }
    };
    html! {
        div.button-row {
            @if state != "approved" { (button("approvalState", "approved", approve_label, "primary")) }
            @if state != "rejected" { (button("approvalState", "rejected", "Reject", "secondary")) }
            @if enabled { (button("enabled", "false", "Disable", "secondary")) } @else { (button("enabled", "true", "Enable", "secondary")) }
        }
    }
}

/// `POST …/upstreams/{upstreamId}/tools/{toolName}`: approve, reject, enable or disable.
pub async fn update_tool(
    ctx: Ctx,
    Path(path): Path<UpstreamToolPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let mut input = json!({});
    if let Some(state) = fields.some("approvalState") {
        input["approvalState"] = json!(state);
    }
    if let Some(enabled) = fields.some("enabled") {
        input["enabled"] = json!(enabled == "true");
    }
    let params = [("upstreamId", path.upstream_id.as_str()), ("toolName", path.tool_name.as_str())];
    let result = ctx.run_in_org("update_upstream_tool", &params, input).await;
    finish(&ctx, &path.upstream_id, result).await
}

/// `POST …/upstreams/{upstreamId}/refresh`.
pub async fn refresh(ctx: Ctx, Path(path): Path<UpstreamPath>, _fields: Fields) -> Result<Response, Fault> {
    let result =
        ctx.run_in_org("refresh_upstream_tools", &[("upstreamId", &path.upstream_id)], json!({})).await;
    finish(&ctx, &path.upstream_id, result).await
}

/// `POST …/upstreams/{upstreamId}/enabled`.
pub async fn set_enabled(
    ctx: Ctx,
    Path(path): Path<UpstreamPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let input = json!({ "isEnabled": fields.get("enabled") == "true" });
    let result = ctx.run_in_org("update_upstream", &[("upstreamId", &path.upstream_id)], input).await;
    finish(&ctx, &path.upstream_id, result).await
}

/// `POST …/upstreams/{upstreamId}/connect`: starts OAuth toward the upstream and says where to
/// go. A link, not a redirect: forms may only lead back to Gatehouse (CSP `form-action`).
pub async fn connect(ctx: Ctx, Path(path): Path<UpstreamPath>, _fields: Fields) -> Result<Response, Fault> {
    let started = ctx
        .run_in_org("authorize_upstream", &[("upstreamId", &path.upstream_id)], json!({"console": true}))
        .await;
    let started = match started {
        Ok(started) => started,
        Err(err) => return page(&ctx, &path.upstream_id, Some(FormError::place(&err, &[]))).await,
    };
    let url = text(&started["authorizationUrl"]);
    let host = url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let org = ctx.org()?;
    let body = html! {
        p.crumbs { a href={ "/orgs/" (org.slug) "/upstreams/" (path.upstream_id) } { "Back to the upstream" } }
        section.card.narrow-card {
            h1 { "Authorize at " (host) }
            p { "You will sign in at " strong { (host) } " and allow Gatehouse to call this upstream for your organization. "
                "It then sends you back here." }
            p.hint { "The link is valid for 10 minutes and works once." }
            div.actions { a.button.primary #continue-authorization href=(url) rel="noreferrer" { "Continue to " (host) } }
        }
    };
    Ok(ctx.page("Authorize", Section::Upstreams, body))
}

/// `POST …/upstreams/{upstreamId}/oauth-client`.
pub async fn set_client(ctx: Ctx, Path(path): Path<UpstreamPath>, fields: Fields) -> Result<Response, Fault> {
    let mut input = json!({"clientId": fields.get("clientId")});
    if let Some(secret) = fields.some("clientSecret") {
        input["clientSecret"] = json!(secret);
    }
    match ctx.run_in_org("set_upstream_oauth_client", &[("upstreamId", &path.upstream_id)], input).await {
        Ok(_) => {
            let to = format!("/orgs/{}/upstreams/{}#authorization-server", ctx.org()?.slug, path.upstream_id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(err) => {
            page(&ctx, &path.upstream_id, Some(FormError::place(&err, &["clientId", "clientSecret"]))).await
        }
    }
}

/// `POST …/upstreams/{upstreamId}/delete`.
pub async fn delete(ctx: Ctx, Path(path): Path<UpstreamPath>, _fields: Fields) -> Result<Response, Fault> {
    match ctx.run_in_org("delete_upstream", &[("upstreamId", &path.upstream_id)], json!({})).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/upstreams", ctx.org()?.slug)).into_response()),
        Err(err) => page(&ctx, &path.upstream_id, Some(FormError::place(&err, &[]))).await,
    }
}

async fn finish(ctx: &Ctx, id: &str, result: Result<Value, ApiError>) -> Result<Response, Fault> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/upstreams/{id}", ctx.org()?.slug)).into_response()),
        Err(err) => page(ctx, id, Some(FormError::place(&err, &[]))).await,
    }
}
