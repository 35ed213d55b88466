//! Settings → OAuth clients: clients the org registers itself for its servers (an identity
//! provider or a portal of its own), with the secret of a confidential one shown once; and
//! Delete. Registry operations `list_oauth_clients`, `create_oauth_client`,
//! `delete_oauth_client`.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::settings::settings_tabs;
use super::{copyable, when};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::Section;

/// A client from the path.
#[derive(Debug, Deserialize)]
pub struct ClientPath {
    #[serde(rename = "clientId")]
    client_id: String,
}

#[derive(Default)]
struct Shown {
    created: Option<(String, String, Option<String>)>,
    error: Option<FormError>,
    name: String,
    uris: String,
}

/// `GET /orgs/{org}/settings/oauth-clients`.
pub async fn list(ctx: Ctx) -> Result<Response, Fault> {
    page(&ctx, Shown::default()).await
}

async fn page(ctx: &Ctx, shown: Shown) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let clients = ctx.run_in_org("list_oauth_clients", &[], json!({})).await?;
    let clients: &[Value] = clients["clients"].as_array().map_or(&[], Vec::as_slice);
    let can_write = org.can("servers:write");
    let base = format!("/orgs/{}/settings/oauth-clients", org.slug);
    let error = shown.error.as_ref();
    let body = html! {
        h1 { "Settings" }
        (settings_tabs(&org.slug, "oauth-clients"))
        @if let Some((name, id, secret)) = &shown.created {
            div.banner.amber role="status" {
                p { strong { "“" (name) "” is registered." } @if secret.is_some() { " Copy its secret now: it is shown only once." } }
                (copyable("new-client-id", "Client ID", id))
                @if let Some(secret) = secret { (copyable("new-client-secret", "Client secret", secret)) }
            }
        }
        div.page-head {
            p.lead { "Most MCP clients identify themselves when they sign in. Register one here when you run it yourself — "
                "a portal or an identity provider — and give it this client ID; it may only ask for this organization's servers." }
        }
        (general_error(error))
        @if can_write {
            details.new-item open[error.is_some()] {
                summary.button.primary { "Register client" }
                form.card.stack method="post" action=(base) {
                    (csrf_input(&ctx.csrf))
                    label for="clientName" { "Name" }
                    input #clientName name="clientName" value=(shown.name) required maxlength="200" aria-describedby="clientName-error";
                    (field_error(error, "clientName", "clientName-error"))
                    label for="redirectUris" { "Redirect URIs" }
                    textarea #redirectUris name="redirectUris" rows="3" required placeholder="https://portal.example.com/oauth/callback"
                        aria-describedby="redirectUris-hint redirectUris-error" { (shown.uris) }
                    p.hint #redirectUris-hint { "One per line: https, a loopback http address, or an app's own scheme." }
                    (field_error(error, "redirectUris", "redirectUris-error"))
                    label.check { input type="checkbox" name="confidential"; " It keeps a secret (runs on a server)" }
                    div.actions { button.primary type="submit" { "Register" } }
                }
            }
        }
        @if clients.is_empty() {
            div.empty { h2 { "No registered clients" } p { "Clients that identify themselves need nothing here." } }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Client ID" } th { "Redirect URIs" } th { "Kind" } th { "Registered" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for c in clients {
                        tr {
                            td { (text(&c["clientName"])) }
                            td { code { (text(&c["clientId"])) } }
                            td.small { @for u in c["redirectUris"].as_array().into_iter().flatten() { code { (text(u)) } br; } }
                            td { @if c["tokenEndpointAuthMethod"] == "none" { "public" } @else { "confidential" } }
                            td.nowrap { (when(&text(&c["createdAt"]))) }
                            td.actions {
                                @if can_write {
                                    form method="post" action={ (base) "/" (text(&c["clientId"])) "/delete" } {
                                        (csrf_input(&ctx.csrf))
                                        button.danger.small type="submit"
                                            data-confirm={ "Delete “" (text(&c["clientName"])) "”? It can no longer sign anyone in." } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("OAuth clients", Section::Settings, body)).into_response())
}

/// `POST /orgs/{org}/settings/oauth-clients`.
pub async fn create(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let name = fields.get("clientName").to_string();
    let uris_text = fields.get("redirectUris").to_string();
    let uris: Vec<&str> = uris_text.lines().map(str::trim).filter(|u| !u.is_empty()).collect();
    let input =
        json!({"clientName": name, "redirectUris": uris, "confidential": fields.get("confidential") == "on"});
    match ctx.run_in_org("create_oauth_client", &[], input).await {
        Ok(made) => {
            let created =
                (name, text(&made["client"]["clientId"]), made["clientSecret"].as_str().map(str::to_string));
            page(&ctx, Shown { created: Some(created), ..Shown::default() }).await
        }
        Err(err) => {
            let error = FormError::place(&err, &["clientName", "redirectUris"]);
            page(&ctx, Shown { error: Some(error), name, uris: uris_text, ..Shown::default() }).await
        }
    }
}

/// `POST /orgs/{org}/settings/oauth-clients/{clientId}/delete`.
pub async fn delete(ctx: Ctx, Path(path): Path<ClientPath>, _fields: Fields) -> Result<Response, Fault> {
    ctx.run_in_org("delete_oauth_client", &[("clientId", &path.client_id)], json!({})).await?;
    Ok(Redirect::to(&format!("/orgs/{}/settings/oauth-clients", ctx.org()?.slug)).into_response())
}
