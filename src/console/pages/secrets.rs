//! Secrets (provider keys): listed masked with what uses each; New secret, Replace value,
//! Disable (refused while in use unless forced) and Enable.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::Section;
use crate::error::ApiError;

/// A secret from the path.
#[derive(Debug, Deserialize)]
pub struct SecretPath {
    #[serde(rename = "secretId")]
    secret_id: String,
}

/// `GET /orgs/{org}/secrets`.
pub async fn list(ctx: Ctx) -> Result<Response, Fault> {
    page(&ctx, None, None).await
}

/// What the page shows besides the list: an error, and which form it belongs to.
async fn page(ctx: &Ctx, error: Option<FormError>, failed: Option<&str>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let all = ctx.run_in_org("list_provider_keys", &[], json!({})).await?;
    let secrets: &[Value] = all["secrets"].as_array().map_or(&[], Vec::as_slice);
    let base = format!("/orgs/{}/secrets", org.slug);
    let can_write = org.can("secrets:write");
    let error = error.as_ref();
    let new_failed = failed == Some("new");
    let body = html! {
        div.page-head { h1 { "Secrets" } }
        p.lead { "Credentials your HTTP tools, plugins and upstreams present: stored encrypted, never shown again, listed masked." }
        @if !new_failed { (general_error(error)) }
        @if can_write {
            details.new-item open[new_failed] {
                summary.button.primary { "New secret" }
                form.card.stack method="post" action=(base) {
                    (csrf_input(&ctx.csrf))
                    @if new_failed { (general_error(error)) }
                    label for="name" { "Name" }
                    input #name name="name" required maxlength="200" placeholder="openai-production";
                    (field_error(error.filter(|_| new_failed), "name", "name-error"))
                    label for="provider" { "Provider" }
                    input #provider name="provider" required maxlength="64" placeholder="openai, anthropic, generic";
                    (field_error(error.filter(|_| new_failed), "provider", "provider-error"))
                    label for="value" { "Value" }
                    input #value name="value" type="password" required autocomplete="off";
                    (field_error(error.filter(|_| new_failed), "value", "value-error"))
                    div.actions { button.primary type="submit" { "Save secret" } }
                }
            }
        }
        @if secrets.is_empty() {
            div.empty { h2 { "No secrets yet" } p { "Keep API keys here once and reference them from tools, plugins and upstreams." } }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Value" } th { "Status" } th { "Used by" } th { "Last used" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for s in secrets {
                        @let id = text(&s["secretId"]);
                        @let status = text(&s["status"]);
                        @let users: &[Value] = s["usedBy"].as_array().map_or(&[], Vec::as_slice);
                        tr {
                            td { (text(&s["name"])) p.muted.small { (text(&s["provider"])) } }
                            td { code { (text(&s["masked"])) } }
                            td { span class={ "badge " (status) } { (status) } }
                            td.small {
                                @if users.is_empty() { span.muted { "nothing" } }
                                @for u in users {
                                    div { (text(&u["kind"]).replace('_', " ")) " " code { (text(&u["name"])) }
                                        @if let Some(server) = u["serverName"].as_str() { " on " (server) } }
                                }
                            }
                            td.nowrap { (s["lastUsedAt"].as_str().map_or("never".to_string(), when)) }
                            td.actions {
                                @if can_write {
                                    details.inline-edit {
                                        summary.button.secondary.small { "Replace value" }
                                        form method="post" action={ (base) "/" (id) } {
                                            (csrf_input(&ctx.csrf))
                                            label for={ "value-" (id) } { "New value for " (text(&s["name"])) }
                                            input #{ "value-" (id) } name="value" type="password" required autocomplete="off";
                                            button.primary.small type="submit" { "Replace" }
                                        }
                                    }
                                    @if status == "active" {
                                        form method="post" action={ (base) "/" (id) "/disable" } {
                                            (csrf_input(&ctx.csrf))
                                            @if !users.is_empty() { input type="hidden" name="force" value="true"; }
                                            button.danger.small type="submit"
                                                data-confirm=(if users.is_empty() { format!("Disable {}?", text(&s["name"])) } else {
                                                    format!("{} is in use: what presents it fails until changed. Disable anyway?", text(&s["name"])) }) { "Disable" }
                                        }
                                    } @else {
                                        form method="post" action={ (base) "/" (id) } {
                                            (csrf_input(&ctx.csrf))
                                            input type="hidden" name="status" value="active";
                                            button.secondary.small type="submit" { "Enable" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Secrets", Section::Secrets, body)).into_response())
}

/// `POST /orgs/{org}/secrets`.
pub async fn create(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let input = json!({ "name": fields.get("name"), "provider": fields.get("provider"), "value": fields.get("value") });
    match ctx.run_in_org("set_provider_key", &[], input).await {
        Ok(_) => done(&ctx),
        Err(err) => {
            page(&ctx, Some(FormError::place(&err, &["name", "provider", "value"])), Some("new")).await
        }
    }
}

/// `POST /orgs/{org}/secrets/{secretId}`: a new value, or enable.
pub async fn update(ctx: Ctx, Path(path): Path<SecretPath>, fields: Fields) -> Result<Response, Fault> {
    let mut input = json!({});
    if let Some(value) = fields.some("value") {
        input["value"] = json!(value);
    }
    if let Some(status) = fields.some("status") {
        input["status"] = json!(status);
    }
    let result = ctx.run_in_org("update_provider_key", &[("secretId", &path.secret_id)], input).await;
    finish(&ctx, result).await
}

/// `POST /orgs/{org}/secrets/{secretId}/disable`.
pub async fn disable(ctx: Ctx, Path(path): Path<SecretPath>, fields: Fields) -> Result<Response, Fault> {
    let input = if fields.get("force") == "true" { json!({"force": true}) } else { json!({}) };
    let result = ctx.run_in_org("delete_provider_key", &[("secretId", &path.secret_id)], input).await;
    finish(&ctx, result).await
}

async fn finish(ctx: &Ctx, result: Result<Value, ApiError>) -> Result<Response, Fault> {
    match result {
        Ok(_) => done(ctx),
        Err(err) => page(ctx, Some(FormError::place(&err, &[])), None).await,
    }
}

fn done(ctx: &Ctx) -> Result<Response, Fault> {
    Ok(Redirect::to(&format!("/orgs/{}/secrets", ctx.org()?.slug)).into_response())
}
