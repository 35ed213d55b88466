//! A server's Upstreams tab: which upstreams it serves tools from, with which prefix, all of
//! their tools or a chosen few; attach (pick the upstream, then its tools) and detach.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::servers::{ServerPath, load};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

/// `?attach=<upstreamId>`: the upstream whose tools to pick.
#[derive(Debug, Default, Deserialize)]
pub struct AttachQuery {
    pub attach: Option<String>,
}

/// An attachment from the path.
#[derive(Debug, Deserialize)]
pub struct AttachmentPath {
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "upstreamId")]
    upstream_id: String,
}

/// `GET /orgs/{org}/servers/{serverId}/upstreams`.
pub async fn list(
    ctx: Ctx,
    Path(path): Path<ServerPath>,
    Query(q): Query<AttachQuery>,
) -> Result<Response, Fault> {
    page(&ctx, &path.server_id, q.attach.as_deref(), None).await
}

async fn page(
    ctx: &Ctx,
    server_id: &str,
    picking: Option<&str>,
    error: Option<FormError>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let attached = ctx.run_in_org("list_server_upstreams", &[("serverId", server_id)], json!({})).await?;
    let attached: &[Value] = attached["attachments"].as_array().map_or(&[], Vec::as_slice);
    let upstreams = ctx.run_in_org("list_upstreams", &[], json!({})).await?;
    let upstreams: &[Value] = upstreams["upstreams"].as_array().map_or(&[], Vec::as_slice);
    let name_of = |id: &str| {
        upstreams.iter().find(|u| u["upstreamId"] == id).map_or_else(|| id.to_string(), |u| text(&u["name"]))
    };
    let picked = match picking {
        Some(id) => {
            Some((id, ctx.run_in_org("list_upstream_tools", &[("upstreamId", id)], json!({})).await?))
        }
        None => None,
    };
    let base = format!("/orgs/{}/servers/{server_id}/upstreams", org.slug);
    let can_write = org.can("servers:write");
    let error = error.as_ref();
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Upstreams))
        p.lead { "Serve tools of upstream MCP servers from this server, beside its own. Only approved tools are served." }
        (general_error(error))
        @if attached.is_empty() {
            p.muted { "No upstream attached yet." }
        } @else {
            table.list {
                thead { tr { th { "Upstream" } th { "Prefix" } th { "Tools" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for a in attached {
                        @let id = text(&a["upstreamId"]);
                        tr {
                            td { a href={ "/orgs/" (org.slug) "/upstreams/" (id) } { (name_of(&id)) } }
                            td { @if text(&a["prefix"]).is_empty() { span.muted { "none" } } @else { code { (text(&a["prefix"])) "__" } } }
                            td {
                                @match a["tools"].as_array() {
                                    Some(list) => { @for t in list { code { (text(t)) } " " } },
                                    None => { "all approved tools" },
                                }
                            }
                            td.actions {
                                @if can_write {
                                    form method="post" action={ (base) "/" (id) "/detach" } {
                                        (csrf_input(&ctx.csrf))
                                        button.secondary.small type="submit" data-confirm={ "Stop serving " (name_of(&id)) "'s tools here?" } { "Detach" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card {
                h2 { "Attach an upstream" }
                @if upstreams.is_empty() {
                    p { a href={ "/orgs/" (org.slug) "/upstreams/new" } { "Register an upstream" } " first." }
                } @else {
                    form.inline method="get" action=(base) {
                        label for="attach" { "Upstream" }
                        select #attach name="attach" {
                            @for u in upstreams {
                                option value=(text(&u["upstreamId"])) selected[picking == Some(text(&u["upstreamId"]).as_str())] { (text(&u["name"])) }
                            }
                        }
                        button.secondary type="submit" { "Choose tools" }
                    }
                }
                @if let Some((id, tools)) = &picked {
                    form.stack method="post" action={ (base) "/" (id) } {
                        (csrf_input(&ctx.csrf))
                        fieldset.scopes {
                            legend { "Tools of " (name_of(id)) }
                            label.check { input type="radio" name="which" value="all" checked; span { "All approved tools, now and later" } }
                            label.check { input type="radio" name="which" value="chosen"; span { "Only these:" } }
                            div.scope-grid {
                                @for t in tools["tools"].as_array().into_iter().flatten() {
                                    label.check {
                                        input type="checkbox" name="tool" value=(text(&t["name"]));
                                        span { code { (text(&t["name"])) } " " span.muted.small { (text(&t["approvalState"]).replace('_', " ")) } }
                                    }
                                }
                            }
                        }
                        label for="prefix" { "Prefix " span.muted { "(optional)" } }
                        input #prefix name="prefix" placeholder="Default: the upstream's name" aria-describedby="prefix-hint prefix-error";
                        p.hint #prefix-hint { "Served names are prefix__tool, so tools of two upstreams never collide. Write none for no prefix." }
                        (field_error(error, "prefix", "prefix-error"))
                        div.actions { button.primary type="submit" { "Attach" } }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Upstreams", Section::Servers, body)).into_response())
}

/// `POST …/servers/{serverId}/upstreams/{upstreamId}`: attach.
pub async fn attach(ctx: Ctx, Path(path): Path<AttachmentPath>, fields: Fields) -> Result<Response, Fault> {
    let mut input = json!({});
    if fields.get("which") == "chosen" {
        input["tools"] = json!(fields.all("tool"));
    }
    match fields.get("prefix") {
        "" => {}
        "none" => input["prefix"] = json!(""),
        p => input["prefix"] = json!(p),
    }
    let params = [("serverId", path.server_id.as_str()), ("upstreamId", path.upstream_id.as_str())];
    match ctx.run_in_org("attach_upstream", &params, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/upstreams", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => {
            page(
                &ctx,
                &path.server_id,
                Some(&path.upstream_id),
                Some(FormError::place(&err, &["prefix", "tools"])),
            )
            .await
        }
    }
}

/// `POST …/servers/{serverId}/upstreams/{upstreamId}/detach`.
pub async fn detach(ctx: Ctx, Path(path): Path<AttachmentPath>, _fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("upstreamId", path.upstream_id.as_str())];
    match ctx.run_in_org("detach_upstream", &params, json!({})).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/upstreams", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => page(&ctx, &path.server_id, None, Some(FormError::place(&err, &[]))).await,
    }
}
