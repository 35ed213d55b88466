//! Connected accounts: the org's per-person upstreams, each with the visitor's own connection
//! to it — connect, reconnect, disconnect. A tool result that asks a person to connect links to
//! one upstream's page here, so they sign in to Gatehouse first and connect only their own
//! account.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, general_error};
use crate::console::layout::Section;

/// An upstream from the path.
#[derive(Debug, Deserialize)]
pub struct AccountPath {
    #[serde(rename = "upstreamId")]
    upstream_id: String,
}

/// `?connected=<status>`: back from the upstream's authorization server.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    connected: Option<String>,
}

/// `GET /orgs/{org}/accounts`.
pub async fn list(ctx: Ctx) -> Result<Response, Fault> {
    page(&ctx, None, None, None).await
}

/// `GET /orgs/{org}/accounts/{upstreamId}`: one upstream, where a tool result sends a person.
pub async fn show(
    ctx: Ctx,
    Path(path): Path<AccountPath>,
    Query(back): Query<Back>,
) -> Result<Response, Fault> {
    page(&ctx, Some(&path.upstream_id), None, back.connected.as_deref()).await
}

async fn page(
    ctx: &Ctx,
    only: Option<&str>,
    error: Option<FormError>,
    connected: Option<&str>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let found = ctx.run_in_org("list_my_upstream_connections", &[], json!({})).await?;
    let all: &[Value] = found["connections"].as_array().map_or(&[], Vec::as_slice);
    let shown: Vec<&Value> = all.iter().filter(|c| only.is_none_or(|id| c["upstreamId"] == id)).collect();
    let base = format!("/orgs/{}/accounts", org.slug);
    let body = html! {
        @if only.is_some() {
            p.crumbs { a href=(base) { "All connected accounts" } }
        }
        h1 { "Connected accounts" }
        p.hint { "Some upstreams act as the person who calls them. Connect your own account to each one you use; "
                 "your tokens are kept sealed and are never shown, to you or to admins." }
        @if connected.is_some() {
            p.notice role="status" { "Your account is connected. Call the tool again from your client." }
        }
        (general_error(error.as_ref()))
        @if shown.is_empty() {
            p.empty { @if only.is_some() { "This upstream is not reached with people's own accounts." }
                      @else { "No upstream of this organization is reached with people's own accounts." } }
        } @else {
            table {
                thead { tr { th { "Upstream" } th { "Your account" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for c in &shown { (row(ctx, &base, c)) }
                }
            }
        }
    };
    Ok(ctx.page("Connected accounts", Section::Accounts, body))
}

fn row(ctx: &Ctx, base: &str, c: &Value) -> Markup {
    let id = text(&c["upstreamId"]);
    let connected = c["connected"].as_bool().unwrap_or(false);
    html! {
        tr {
            td { a href={ (base) "/" (id) } { (text(&c["name"])) } }
            td {
                @if connected {
                    span.badge.ok { "connected" }
                    " " span.hint { "since " (when(&text(&c["updatedAt"]))) }
                } @else {
                    span.badge { "not connected" }
                }
            }
            td.actions {
                form method="post" action={ (base) "/" (id) "/connect" } {
                    (csrf_input(&ctx.csrf))
                    button.primary type="submit" { @if connected { "Reconnect" } @else { "Connect" } }
                }
                @if connected {
                    form method="post" action={ (base) "/" (id) "/disconnect" } {
                        (csrf_input(&ctx.csrf))
                        button.secondary type="submit" { "Disconnect" }
                    }
                }
            }
        }
    }
}

/// `POST …/accounts/{upstreamId}/connect`: starts the person's authorization and says where to
/// go (a link: forms may only lead back to Gatehouse, CSP `form-action`).
pub async fn connect(ctx: Ctx, Path(path): Path<AccountPath>, _fields: Fields) -> Result<Response, Fault> {
    let id = path.upstream_id.as_str();
    let started =
        match ctx.run_in_org("connect_upstream", &[("upstreamId", id)], json!({"console": true})).await {
            Ok(started) => started,
            Err(err) => return page(&ctx, Some(id), Some(FormError::place(&err, &[])), None).await,
        };
    let url = text(&started["authorizationUrl"]);
    let host = url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let org = ctx.org()?;
    let body = html! {
        p.crumbs { a href={ "/orgs/" (org.slug) "/accounts/" (id) } { "Back to your account" } }
        section.card.narrow-card {
            h1 { "Authorize at " (host) }
            p { "You will sign in at " strong { (host) } " with your own account and allow Gatehouse to call this upstream "
                "as you. It then sends you back here." }
            p.hint { "The link is valid for 10 minutes and works once." }
            div.actions { a.button.primary #continue-authorization href=(url) rel="noreferrer" { "Continue to " (host) } }
        }
    };
    Ok(ctx.page("Authorize", Section::Accounts, body))
}

/// `POST …/accounts/{upstreamId}/disconnect`.
pub async fn disconnect(ctx: Ctx, Path(path): Path<AccountPath>, _fields: Fields) -> Result<Response, Fault> {
    let id = path.upstream_id.as_str();
    match ctx.run_in_org("disconnect_upstream", &[("upstreamId", id)], json!({})).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/accounts/{id}", ctx.org()?.slug)).into_response()),
        Err(err) => page(&ctx, Some(id), Some(FormError::place(&err, &[])), None).await,
    }
}

/// On a per-person upstream's page, for its admins: who connected their own account, and when.
pub fn people_section(found: &Value) -> Markup {
    let people: &[Value] = found["connections"].as_array().map_or(&[], Vec::as_slice);
    html! {
        section aria-labelledby="people" {
            h2 #people { "People connected" }
            @if people.is_empty() {
                p.muted { "Nobody has connected their account yet. People connect theirs under Accounts; "
                          "a tool call tells them where." }
            } @else {
                table.list {
                    thead { tr { th { "Person" } th { "Connected" } th { "Last authorized" } } }
                    tbody {
                        @for p in people {
                            tr {
                                td { (text(&p["email"])) }
                                td { (when(&text(&p["connectedAt"]))) }
                                td { (when(&text(&p["updatedAt"]))) }
                            }
                        }
                    }
                }
            }
        }
    }
}
