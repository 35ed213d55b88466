//! A server's API Keys tab: the list, + New key / Create with the raw value shown once in an
//! amber banner, and Archive or Delete by the key rules (delete only a key never used).

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::servers::{ServerPath, load};
use super::{copyable, when};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

/// A key of a server, from the path.
#[derive(Debug, Deserialize)]
pub struct KeyPath {
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "keyId")]
    key_id: String,
}

/// What the page shows besides the list.
#[derive(Default)]
struct Shown<'a> {
    /// A key just created: its label and raw value, shown this once.
    created: Option<(String, String)>,
    error: Option<FormError>,
    label: &'a str,
}

/// `GET /orgs/{org}/servers/{serverId}/keys`.
pub async fn list(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    page(&ctx, &path.server_id, Shown::default()).await
}

async fn page(ctx: &Ctx, server_id: &str, shown: Shown<'_>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let keys = ctx.run_in_org("list_keys", &[("serverId", server_id)], json!({})).await?;
    let keys: &[Value] = keys["keys"].as_array().map_or(&[], Vec::as_slice);
    let can_write = org.can("keys:write");
    let base = format!("/orgs/{}/servers/{server_id}/keys", org.slug);
    let error = shown.error.as_ref();
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Keys))
        @if let Some((label, raw)) = &shown.created {
            div.banner.amber role="status" {
                p { strong { "Copy the key “" (label) "” now." }
                    " It is shown only once and never stored in plain text: Gatehouse keeps only its SHA-256 hash." }
                (copyable("new-key", "API key", raw))
            }
        }
        p.lead { "Agents send a key in the " code { "X-API-Key" } " header. A key works only for this server." }
        (general_error(error))
        @if can_write {
            details.new-item open[error.and_then(|e| e.at("label")).is_some()] {
                summary.button.primary { "+ New key" }
                form.inline method="post" action=(base) {
                    (csrf_input(&ctx.csrf))
                    label for="label" { "Label" }
                    input #label name="label" value=(shown.label) required maxlength="200"
                        placeholder="production, staging, ci-tests" aria-describedby="label-error";
                    button.primary type="submit" { "Create" }
                    (field_error(error, "label", "label-error"))
                }
            }
        }
        @if keys.is_empty() {
            div.empty {
                h2 { "No keys yet" }
                p { "Create one key per environment, so a leaked key can be archived without stopping the others." }
            }
        } @else {
            table.list {
                thead { tr { th { "Label" } th { "Status" } th { "Created" } th.num title="request-code calls" { "Usage" } th.num { "MCP calls" } th { "Last used" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for key in keys {
                        @let id = text(&key["keyId"]);
                        @let status = text(&key["status"]);
                        @let used = key["usageCount"].as_i64().unwrap_or(0);
                        tr {
                            td { (text(&key["label"])) }
                            td { span class={ "badge " (status) } { (status) } }
                            td.nowrap { (when(&text(&key["createdAt"]))) }
                            td.num { (used) }
                            td.num { (key["callCount"].as_i64().unwrap_or(0)) }
                            td.nowrap { (key["lastUsedAt"].as_str().map_or("never".to_string(), when)) }
                            td.actions {
                                @if can_write && status == "active" {
                                    @if used == 0 {
                                        form method="post" action={ (base) "/" (id) "/delete" } {
                                            (csrf_input(&ctx.csrf))
                                            button.danger.small type="submit"
                                                data-confirm={ "Delete the key “" (text(&key["label"])) "” for good?" }
                                                title="Never used: it can be removed entirely" { "Delete" }
                                        }
                                    } @else {
                                        form method="post" action={ (base) "/" (id) "/archive" } {
                                            (csrf_input(&ctx.csrf))
                                            button.secondary.small type="submit"
                                                data-confirm={ "Archive the key “" (text(&key["label"])) "”? Agents using it are refused at once." }
                                                title="Used keys are archived, not deleted, to keep their history" { "Archive" }
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
    let status = status_of(error);
    Ok((status, ctx.page("API Keys", Section::Servers, body)).into_response())
}

/// `POST /orgs/{org}/servers/{serverId}/keys`: the new key's raw value is in this answer only.
pub async fn create(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let label = fields.get("label");
    let shown =
        match ctx.run_in_org("create_key", &[("serverId", &path.server_id)], json!({ "label": label })).await
        {
            Ok(created) => Shown {
                created: Some((text(&created["key"]["label"]), text(&created["rawValue"]))),
                ..Shown::default()
            },
            Err(err) => Shown { error: Some(FormError::place(&err, &["label"])), label, ..Shown::default() },
        };
    page(&ctx, &path.server_id, shown).await
}

/// `POST /orgs/{org}/servers/{serverId}/keys/{keyId}/archive`.
pub async fn archive(ctx: Ctx, Path(path): Path<KeyPath>, _fields: Fields) -> Result<Response, Fault> {
    act(&ctx, &path, "archive_key").await
}

/// `POST /orgs/{org}/servers/{serverId}/keys/{keyId}/delete`.
pub async fn delete(ctx: Ctx, Path(path): Path<KeyPath>, _fields: Fields) -> Result<Response, Fault> {
    act(&ctx, &path, "delete_key").await
}

async fn act(ctx: &Ctx, path: &KeyPath, op: &str) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("keyId", path.key_id.as_str())];
    match ctx.run_in_org(op, &params, json!({})).await {
        Ok(_) => {
            let org = ctx.org()?;
            Ok(Redirect::to(&format!("/orgs/{}/servers/{}/keys", org.slug, path.server_id)).into_response())
        }
        // A rule said no (409: already archived, or used and so not deletable): say why here.
        Err(err) => {
            page(ctx, &path.server_id, Shown { error: Some(FormError::place(&err, &[])), ..Shown::default() })
                .await
        }
    }
}
