//! Settings → Members: who belongs to the org and their role; add, change role, remove.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::settings::settings_tabs;
use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::Section;
use crate::error::ApiError;

/// A member from the path.
#[derive(Debug, Deserialize)]
pub struct MemberPath {
    #[serde(rename = "userId")]
    user_id: String,
}

/// `GET /orgs/{org}/settings/members`.
pub async fn list(ctx: Ctx) -> Result<Response, Fault> {
    page(&ctx, None).await
}

async fn page(ctx: &Ctx, error: Option<FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let all = ctx.run_in_org("list_members", &[], json!({})).await?;
    let members: &[Value] = all["members"].as_array().map_or(&[], Vec::as_slice);
    let base = format!("/orgs/{}/settings/members", org.slug);
    let can_write = org.can("members:write");
    let error = error.as_ref();
    let body = html! {
        h1 { "Settings" }
        (settings_tabs(&org.slug, "members"))
        p.lead { "Admins change everything in this organization; members see everything and change nothing." }
        (general_error(error))
        @if can_write {
            form.inline method="post" action=(base) {
                (csrf_input(&ctx.csrf))
                label for="email" { "Email" }
                input #email name="email" type="email" required placeholder="colleague@example.com" aria-describedby="email-error";
                label for="role" { "Role" }
                select #role name="role" { option value="member" { "member" } option value="admin" { "admin" } }
                button.primary type="submit" { "Add member" }
                (field_error(error, "email", "email-error"))
            }
        }
        table.list {
            thead { tr { th { "Email" } th { "Role" } th { "Since" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for m in members {
                    @let id = text(&m["userId"]);
                    @let role = text(&m["role"]);
                    tr {
                        td { (text(&m["email"])) }
                        td {
                            @if can_write {
                                form.row-form method="post" action={ (base) "/" (id) } {
                                    (csrf_input(&ctx.csrf))
                                    label.visually-hidden for={ "role-" (id) } { "Role of " (text(&m["email"])) }
                                    select #{ "role-" (id) } name="role" {
                                        option value="member" selected[role == "member"] { "member" }
                                        option value="admin" selected[role == "admin"] { "admin" }
                                    }
                                    button.secondary.small type="submit" { "Save" }
                                }
                            } @else { (role) }
                        }
                        td.nowrap { (when(&text(&m["createdAt"]))) }
                        td.actions {
                            @if can_write {
                                form method="post" action={ (base) "/" (id) "/remove" } {
                                    (csrf_input(&ctx.csrf))
                                    button.danger.small type="submit" data-confirm={ "Remove " (text(&m["email"])) " from " (org.name) "?" } { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Members", Section::Settings, body)).into_response())
}

/// `POST /orgs/{org}/settings/members`.
pub async fn add(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let input = json!({ "email": fields.get("email"), "role": fields.get("role") });
    let result = ctx.run_in_org("add_member", &[], input).await;
    finish(&ctx, result, &["email", "role"]).await
}

/// `POST /orgs/{org}/settings/members/{userId}`: change the role.
pub async fn update(ctx: Ctx, Path(path): Path<MemberPath>, fields: Fields) -> Result<Response, Fault> {
    let result = ctx
        .run_in_org("update_member", &[("userId", &path.user_id)], json!({ "role": fields.get("role") }))
        .await;
    finish(&ctx, result, &[]).await
}

/// `POST /orgs/{org}/settings/members/{userId}/remove`.
pub async fn remove(ctx: Ctx, Path(path): Path<MemberPath>, _fields: Fields) -> Result<Response, Fault> {
    let result = ctx.run_in_org("remove_member", &[("userId", &path.user_id)], json!({})).await;
    finish(&ctx, result, &[]).await
}

async fn finish(ctx: &Ctx, result: Result<Value, ApiError>, fields: &[&str]) -> Result<Response, Fault> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/settings/members", ctx.org()?.slug)).into_response()),
        Err(err) => page(ctx, Some(FormError::place(&err, fields))).await,
    }
}
