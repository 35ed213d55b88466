//! Notifications: what the org should know (keys archived or rotated, tools changed upstream,
//! plugins failing, secrets disabled), unread first to the eye; mark read; the webhook they are
//! also delivered to.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::copyable;
use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::Section;

/// `?unread=true&cursor=…`.
#[derive(Debug, Default, Deserialize)]
pub struct NotificationQuery {
    #[serde(default)]
    unread: bool,
    cursor: Option<String>,
}

/// A notification from the path.
#[derive(Debug, Deserialize)]
pub struct NotificationPath {
    #[serde(rename = "notificationId")]
    notification_id: String,
}

#[derive(Default)]
struct Shown {
    error: Option<FormError>,
    /// A webhook signing secret Gatehouse just generated, shown once.
    signing_secret: Option<String>,
}

/// `GET /orgs/{org}/notifications`.
pub async fn list(ctx: Ctx, Query(q): Query<NotificationQuery>) -> Result<Response, Fault> {
    page(&ctx, &q, Shown::default()).await
}

async fn page(ctx: &Ctx, q: &NotificationQuery, shown: Shown) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let mut input = json!({ "limit": 50 });
    if q.unread {
        input["unread"] = json!(true);
    }
    if let Some(c) = &q.cursor {
        input["cursor"] = json!(c);
    }
    let found = ctx.run_in_org("list_notifications", &[], input).await?;
    let notes: &[Value] = found["notifications"].as_array().map_or(&[], Vec::as_slice);
    let webhook = if org.can("notifications:write") {
        ctx.run_in_org("get_notification_webhook", &[], json!({})).await.ok()
    } else {
        None
    };
    let base = format!("/orgs/{}/notifications", org.slug);
    let can_write = org.can("notifications:write");
    let error = shown.error.as_ref();
    let body = html! {
        div.page-head {
            h1 { "Notifications" }
            nav.tabs aria-label="Which" {
                a href=(base) aria-current=[(!q.unread).then_some("page")] { "All" }
                a href={ (base) "?unread=true" } aria-current=[q.unread.then_some("page")] { "Unread" }
            }
        }
        (general_error(error))
        @if notes.is_empty() {
            div.empty { h2 { (if q.unread { "Nothing unread" } else { "No notifications yet" }) }
                p { "Gatehouse tells you here when keys are archived or rotated, upstream tools change, plugins fail or secrets are disabled." } }
        } @else {
            ul.notes {
                @for n in notes {
                    @let unread = n["readAt"].is_null();
                    li class=(if unread { "note unread" } else { "note" }) {
                        div {
                            strong { (text(&n["title"])) }
                            @if unread { " " span.badge.warn { "unread" } }
                            p { (text(&n["message"])) }
                            p.muted.small { (when(&text(&n["createdAt"]))) " · " code { (text(&n["kind"])) } }
                        }
                        @if unread && can_write {
                            form method="post" action={ (base) "/" (text(&n["notificationId"])) "/read" } {
                                (csrf_input(&ctx.csrf))
                                button.secondary.small type="submit" { "Mark read" }
                            }
                        }
                    }
                }
            }
            @if let Some(c) = found["nextCursor"].as_str() {
                nav.pager aria-label="Pages" { a href={ (base) "?cursor=" (c) @if q.unread { "&unread=true" } } rel="next" { "Older →" } }
            }
        }
        @if can_write {
            section.card {
                h2 { "Webhook" }
                p { "Each notification is also POSTed to this URL, signed with " code { "X-Gatehouse-Signature: sha256=…" } "." }
                @if let Some(secret) = &shown.signing_secret {
                    div.banner.amber role="status" {
                        p { strong { "Copy the signing secret now." } " It is shown only once." }
                        (copyable("signing-secret", "Signing secret", secret))
                    }
                }
                form.stack method="post" action={ (base) "/webhook" } {
                    (csrf_input(&ctx.csrf))
                    label for="url" { "URL" }
                    input #url name="url" type="url" required value=(webhook.as_ref().map_or(String::new(), |w| text(&w["webhook"]["url"])))
                        placeholder="https://example.com/hooks/gatehouse" aria-describedby="url-error";
                    (field_error(error, "url", "url-error"))
                    div.actions {
                        button.primary type="submit" { "Save webhook" }
                    }
                }
                @if webhook.is_some() {
                    form method="post" action={ (base) "/webhook/delete" } {
                        (csrf_input(&ctx.csrf))
                        button.danger.small type="submit" data-confirm="Stop delivering notifications to the webhook?" { "Remove webhook" }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Notifications", Section::Notifications, body)).into_response())
}

/// `POST /orgs/{org}/notifications/{notificationId}/read`.
pub async fn mark_read(
    ctx: Ctx,
    Path(path): Path<NotificationPath>,
    _fields: Fields,
) -> Result<Response, Fault> {
    ctx.run_in_org("mark_notification_read", &[("notificationId", &path.notification_id)], json!({})).await?;
    Ok(Redirect::to(&format!("/orgs/{}/notifications", ctx.org()?.slug)).into_response())
}

/// `POST /orgs/{org}/notifications/webhook`.
pub async fn set_webhook(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let q = NotificationQuery::default();
    match ctx.run_in_org("set_notification_webhook", &[], json!({ "url": fields.get("url") })).await {
        Ok(set) => {
            let secret = set["signingSecret"].as_str().map(str::to_string);
            page(&ctx, &q, Shown { signing_secret: secret, ..Shown::default() }).await
        }
        Err(err) => {
            page(&ctx, &q, Shown { error: Some(FormError::place(&err, &["url"])), ..Shown::default() }).await
        }
    }
}

/// `POST /orgs/{org}/notifications/webhook/delete`.
pub async fn delete_webhook(ctx: Ctx, _fields: Fields) -> Result<Response, Fault> {
    ctx.run_in_org("delete_notification_webhook", &[], json!({})).await?;
    Ok(Redirect::to(&format!("/orgs/{}/notifications", ctx.org()?.slug)).into_response())
}
