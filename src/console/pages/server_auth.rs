//! A server's Auth tab: its end-user auth service — on or off, code and token
//! lifetimes, allowed e-mail domains, the code mail's sender and subject — the endpoints and
//! the JWKS URL to configure a backend with, who may sign in with an MCP client
//! (`connections.rs`), and the org's signing keys.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::{Value, json};

use super::servers::{ServerPath, load};
use super::{copyable, when};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

const FIELDS: [&str; 6] = [
    "tokenLifetimeSeconds",
    "codeLifetimeSeconds",
    "allowedEmailDomains",
    "emailSenderName",
    "emailSubject",
    "enabled",
];

/// `GET /orgs/{org}/servers/{serverId}/auth`.
pub async fn show(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    page(&ctx, &path.server_id, None).await
}

async fn page(ctx: &Ctx, server_id: &str, error: Option<FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let config = ctx.run_in_org("get_auth_config", &[("serverId", server_id)], json!({})).await?;
    let c = &config["authConfig"];
    let keys = if org.can("keys:read") {
        ctx.run_in_org("list_signing_keys", &[], json!({})).await.ok()
    } else {
        None
    };
    let public = &ctx.state.config.public_url;
    let api = format!("{public}/api/orgs/{}/servers/{server_id}/auth", org.id);
    let jwks = format!("{public}/api/orgs/{}/.well-known/jwks.json", org.id);
    let audience = format!("{public}/orgs/{}/servers/{server_id}", org.id);
    let can_write = org.can("servers:write");
    let clients = super::connections::server_section(ctx, server_id).await?;
    let error = error.as_ref();
    let domains = c["allowedEmailDomains"]
        .as_array()
        .map_or(String::new(), |d| d.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "));
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Auth))
        p.lead { "Passwordless e-mail sign-in for your own users: your backend calls it with this server's API key, and gets RS256 JWTs it verifies with the JWKS." }
        section.card {
            h2 { "Endpoints" }
            (copyable("auth-request", "Request a code (POST, X-API-Key)", &format!("{api}/request-code")))
            (copyable("auth-verify", "Verify the code (POST, X-API-Key)", &format!("{api}/verify-code")))
            (copyable("auth-me", "Check a token and its key (GET, Authorization: Bearer)", &format!("{api}/me")))
            (copyable("auth-jwks", "JWKS URL", &jwks))
            (copyable("auth-audience", "Audience of this server's tokens", &audience))
            (copyable("auth-issuer", "Issuer", public))
        }
        section.card {
            h2 { "Settings" }
            (general_error(error))
            form.stack method="post" action={ "/orgs/" (org.slug) "/servers/" (server_id) "/auth" } {
                (csrf_input(&ctx.csrf))
                fieldset disabled[!can_write] {
                    label for="enabled" { "Sign-in" }
                    select #enabled name="enabled" {
                        option value="true" selected[c["enabled"] == true] { "On: request-code and verify-code answer" }
                        option value="false" selected[c["enabled"] == false] { "Off: they answer 403" }
                    }
                    label for="tokenLifetimeSeconds" { "Token lifetime (seconds)" }
                    input #tokenLifetimeSeconds name="tokenLifetimeSeconds" inputmode="numeric"
                        value=(c["tokenLifetimeSeconds"].as_i64().unwrap_or(0)) aria-describedby="tokenLifetimeSeconds-hint tokenLifetimeSeconds-error";
                    p.hint #tokenLifetimeSeconds-hint { "300 (5 minutes) to 2592000 (30 days)." }
                    (field_error(error, "tokenLifetimeSeconds", "tokenLifetimeSeconds-error"))
                    label for="codeLifetimeSeconds" { "Code lifetime (seconds)" }
                    input #codeLifetimeSeconds name="codeLifetimeSeconds" inputmode="numeric"
                        value=(c["codeLifetimeSeconds"].as_i64().unwrap_or(0)) aria-describedby="codeLifetimeSeconds-hint codeLifetimeSeconds-error";
                    p.hint #codeLifetimeSeconds-hint { "60 to 3600." }
                    (field_error(error, "codeLifetimeSeconds", "codeLifetimeSeconds-error"))
                    label for="allowedEmailDomains" { "Allowed e-mail domains" }
                    input #allowedEmailDomains name="allowedEmailDomains" value=(domains) placeholder="example.com, example.org"
                        aria-describedby="allowedEmailDomains-hint allowedEmailDomains-error";
                    p.hint #allowedEmailDomains-hint { "Comma-separated; empty lets every address sign in." }
                    (field_error(error, "allowedEmailDomains", "allowedEmailDomains-error"))
                    label for="emailSenderName" { "Sender name " span.muted { "(optional)" } }
                    input #emailSenderName name="emailSenderName" value=(c["emailSenderName"].as_str().unwrap_or("")) maxlength="100";
                    (field_error(error, "emailSenderName", "emailSenderName-error"))
                    label for="emailSubject" { "Mail subject " span.muted { "(optional)" } }
                    input #emailSubject name="emailSubject" value=(c["emailSubject"].as_str().unwrap_or("")) maxlength="200";
                    (field_error(error, "emailSubject", "emailSubject-error"))
                    @if can_write { div.actions { button.primary type="submit" { "Save" } } }
                }
            }
        }
        (clients)
        @if let Some(keys) = &keys {
            section.card {
                h2 { "Signing keys of the organization" }
                p.hint { "One RSA-2048 key signs every server's tokens; a retired key stays in the JWKS until the tokens it signed expire." }
                @let list: &[Value] = keys["keys"].as_array().map_or(&[], Vec::as_slice);
                @if list.is_empty() { p.muted { "None yet: the first verified code creates one." } } @else {
                    table.list.compact {
                        thead { tr { th { "Key id" } th { "Status" } th { "Created" } th { "Published until" } } }
                        tbody {
                            @for k in list {
                                tr {
                                    td { code { (text(&k["kid"])) } }
                                    td { span class={ "badge " (if k["status"] == "active" { "active" } else { "disabled" }) } { (text(&k["status"])) } }
                                    td.nowrap { (when(&text(&k["createdAt"]))) }
                                    td.nowrap { (k["publishedUntil"].as_str().map_or("—".to_string(), when)) }
                                }
                            }
                        }
                    }
                }
                @if org.can("keys:rotate") {
                    form method="post" action={ "/orgs/" (org.slug) "/servers/" (server_id) "/auth/rotate" } {
                        (csrf_input(&ctx.csrf))
                        button.secondary type="submit" data-confirm="Rotate the signing key? New tokens are signed with a new key; existing ones stay valid until they expire." { "Rotate signing key" }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Auth", Section::Servers, body)).into_response())
}

/// `POST /orgs/{org}/servers/{serverId}/auth`.
pub async fn update(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let number = |name: &str| -> Result<Value, FormError> {
        fields
            .get(name)
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| FormError::invalid(name, format!("{name} must be a whole number")))
    };
    let input = (|| -> Result<Value, FormError> {
        let domains: Vec<&str> =
            fields.get("allowedEmailDomains").split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
        Ok(json!({
            "enabled": fields.get("enabled") != "false",
            "tokenLifetimeSeconds": number("tokenLifetimeSeconds")?,
            "codeLifetimeSeconds": number("codeLifetimeSeconds")?,
            "allowedEmailDomains": domains,
            "emailSenderName": fields.get("emailSenderName"),
            "emailSubject": fields.get("emailSubject"),
        }))
    })();
    let input = match input {
        Ok(input) => input,
        Err(error) => return page(&ctx, &path.server_id, Some(error)).await,
    };
    match ctx.run_in_org("update_auth_config", &[("serverId", &path.server_id)], input).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/auth", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => page(&ctx, &path.server_id, Some(FormError::place(&err, &FIELDS))).await,
    }
}

/// `POST /orgs/{org}/servers/{serverId}/auth/rotate`: rotates the org's signing key.
pub async fn rotate(ctx: Ctx, Path(path): Path<ServerPath>, _fields: Fields) -> Result<Response, Fault> {
    match ctx.run_in_org("rotate_signing_key", &[], json!({})).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/auth", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => page(&ctx, &path.server_id, Some(FormError::place(&err, &[]))).await,
    }
}
