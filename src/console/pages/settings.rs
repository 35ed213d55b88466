//! Settings → API tokens: management tokens minted with scopes and shown once, revoked; and the
//! status of the management MCP server that takes them.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{copyable, when};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::Section;

/// The tabs of the Settings pages.
pub fn settings_tabs(org_slug: &str, active: &str) -> Markup {
    let tab = |id: &str, label: &str| {
        html! {
            a href={ "/orgs/" (org_slug) "/settings/" (id) } aria-current=[(id == active).then_some("page")] { (label) }
        }
    };
    html! {
        nav.tabs aria-label="Settings" {
            (tab("tokens", "API tokens")) (tab("members", "Members")) (tab("oauth-clients", "OAuth clients")) (tab("account", "Your account"))
        }
    }
}

/// `GET /orgs/{org}/settings/account`: who is signed in, and signing out everywhere.
pub async fn account(ctx: Ctx) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let connections = super::connections::account_section(&ctx).await?;
    let body = html! {
        h1 { "Settings" }
        (settings_tabs(&org.slug, "account"))
        section.card {
            h2 { "Your account" }
            @if ctx.has_session() {
                p { "Signed in as " strong { (ctx.who) } "." }
                p { "Sessions last 30 days. If a device or browser you used is lost, end every session at once: "
                    "every browser and script signed in as you must sign in again." }
                form method="post" action={ "/orgs/" (org.slug) "/settings/account/sign-out-everywhere" } {
                    (csrf_input(&ctx.csrf))
                    button.danger type="submit" data-confirm="Sign out of every browser and script?" { "Sign out everywhere" }
                }
            } @else {
                p { "Dev mode: nobody signs in, and every page is the dev admin's." }
            }
        }
        (connections)
    };
    Ok(ctx.page("Your account", Section::Settings, body))
}

/// `POST /orgs/{org}/settings/account/sign-out-everywhere`.
pub async fn sign_out_everywhere(ctx: Ctx, _fields: Fields) -> Result<Response, Fault> {
    ctx.run("sign_out_everywhere", &[], json!({})).await?;
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&ctx.visitor.clear_session_cookie()) {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A token from the path.
#[derive(Debug, Deserialize)]
pub struct TokenPath {
    #[serde(rename = "tokenId")]
    token_id: String,
}

#[derive(Default)]
struct Shown {
    created: Option<(String, String)>,
    error: Option<FormError>,
    name: String,
    scopes: Vec<String>,
}

/// `GET /orgs/{org}/settings/tokens`.
pub async fn tokens(ctx: Ctx) -> Result<Response, Fault> {
    page(&ctx, Shown::default()).await
}

async fn page(ctx: &Ctx, shown: Shown) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let tokens = ctx.run_in_org("list_tokens", &[], json!({})).await?;
    let tokens: &[Value] = tokens["tokens"].as_array().map_or(&[], Vec::as_slice);
    let scopes = ctx.run("list_scopes", &[], json!({})).await?;
    let scopes: &[Value] = scopes["scopes"].as_array().map_or(&[], Vec::as_slice);
    let can_write = org.can("tokens:write");
    let base = format!("/orgs/{}/settings/tokens", org.slug);
    let mcp_on = ctx.state.config.mcp_server_enabled;
    let error = shown.error.as_ref();
    let body = html! {
        h1 { "Settings" }
        (settings_tabs(&org.slug, "tokens"))
        section.card {
            h2 { "Management MCP server" }
            p {
                code { "POST /api/mcp" } " is "
                @if mcp_on { span.badge.active { "on" } } @else { span.badge.disabled { "off" } }
                @if mcp_on {
                    " — an MCP client with a token below (in " code { "X-Management-Token" } ") manages this organization with the token's scopes."
                } @else {
                    " — it answers 404 until the instance runs with " code { "MCP_SERVER_ENABLED=true" } "."
                }
            }
        }
        @if let Some((name, raw)) = &shown.created {
            div.banner.amber role="status" {
                p { strong { "Copy the token “" (name) "” now." } " It is shown only once; Gatehouse keeps only its hash." }
                (copyable("new-token", "Management token", raw))
            }
        }
        div.page-head {
            p.lead { "Tokens let scripts, CI and agents use the management API and MCP server. Each is limited to the scopes you pick." }
        }
        (general_error(error))
        @if can_write {
            details.new-item open[error.is_some()] {
                summary.button.primary { "New token" }
                form.card.stack method="post" action=(base) {
                    (csrf_input(&ctx.csrf))
                    label for="name" { "Name" }
                    input #name name="name" value=(shown.name) required maxlength="200" placeholder="ci-deploy"
                        aria-describedby="name-error";
                    (field_error(error, "name", "name-error"))
                    fieldset.scopes {
                        legend { "Scopes" }
                        (field_error(error, "scopes", "scopes-error"))
                        div.scope-grid {
                            @for s in scopes {
                                @let name = text(&s["name"]);
                                @let held = org.can(&name);
                                label.check title=[(!held).then_some("You do not hold this scope yourself")] {
                                    input type="checkbox" name="scopes" value=(name)
                                        checked[shown.scopes.contains(&name)] disabled[!held];
                                    span { code { (name) } br; span.muted.small { (text(&s["description"])) } }
                                }
                            }
                        }
                    }
                    label for="expires" { "Expires " span.muted { "(optional)" } }
                    input #expires type="date" name="expires" aria-describedby="expires-error";
                    (field_error(error, "expiresAt", "expires-error"))
                    div.actions { button.primary type="submit" { "Create token" } }
                }
            }
        }
        @if tokens.is_empty() {
            div.empty { h2 { "No tokens yet" } p { "Create one for each script or agent, with only the scopes it needs." } }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Scopes" } th { "Status" } th { "Created" } th { "Last used" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for t in tokens {
                        @let status = text(&t["status"]);
                        tr {
                            td { (text(&t["name"])) }
                            td.small { @for s in t["scopes"].as_array().into_iter().flatten() { code { (text(s)) } " " } }
                            td { span class={ "badge " (status) } { (status) } }
                            td.nowrap { (when(&text(&t["createdAt"]))) }
                            td.nowrap { (t["lastUsedAt"].as_str().map_or("never".to_string(), when)) }
                            td.actions {
                                @if can_write && status == "active" {
                                    form method="post" action={ (base) "/" (text(&t["tokenId"])) "/revoke" } {
                                        (csrf_input(&ctx.csrf))
                                        button.danger.small type="submit"
                                            data-confirm={ "Revoke the token “" (text(&t["name"])) "”? It stops working at once." } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = status_of(error);
    Ok((status, ctx.page("API tokens", Section::Settings, body)).into_response())
}

/// `POST /orgs/{org}/settings/tokens`: the raw value is in this answer only.
pub async fn create(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let scopes: Vec<String> = fields.all("scopes").into_iter().map(str::to_string).collect();
    let mut input = json!({ "name": fields.get("name"), "scopes": scopes });
    if let Some(day) = fields.some("expires") {
        // The end of the chosen day, UTC.
        input["expiresAt"] = json!(format!("{day}T23:59:59Z"));
    }
    let shown = match ctx.run_in_org("create_token", &[], input).await {
        Ok(created) => Shown {
            created: Some((text(&created["token"]["name"]), text(&created["rawValue"]))),
            ..Shown::default()
        },
        Err(err) => Shown {
            error: Some(FormError::place(&err, &["name", "scopes", "expiresAt"])),
            name: fields.get("name").to_string(),
            scopes,
            ..Shown::default()
        },
    };
    page(&ctx, shown).await
}

/// `POST /orgs/{org}/settings/tokens/{tokenId}/revoke`.
pub async fn revoke(ctx: Ctx, Path(path): Path<TokenPath>, _fields: Fields) -> Result<Response, Fault> {
    match ctx.run_in_org("revoke_token", &[("tokenId", &path.token_id)], json!({})).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/settings/tokens", ctx.org()?.slug)).into_response()),
        Err(err) => page(&ctx, Shown { error: Some(FormError::place(&err, &[])), ..Shown::default() }).await,
    }
}
