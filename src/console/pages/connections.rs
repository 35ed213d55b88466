//! MCP clients that sign in, in the console: a server's client access setting and the clients
//! connected to it (on its Auth tab), and a person's own connected clients (Your account),
//! each with Disconnect. Every read and change is a registry operation (`api/connections.rs`).

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, csrf_input};

/// A connection from the path.
#[derive(Debug, Deserialize)]
pub struct ConnectionPath {
    #[serde(rename = "serverId")]
    server_id: Option<String>,
    #[serde(rename = "connectionId")]
    connection_id: String,
}

/// The section of a server's Auth tab: who may sign in, and who did.
pub async fn server_section(ctx: &Ctx, server_id: &str) -> Result<Markup, Fault> {
    let org = ctx.org()?;
    let access = ctx.run_in_org("get_client_access", &[("serverId", server_id)], json!({})).await?;
    let sign_in = access["signIn"].as_str().unwrap_or("members");
    let connections = if org.can("keys:read") {
        Some(ctx.run_in_org("list_server_connections", &[("serverId", server_id)], json!({})).await?)
    } else {
        None
    };
    let can_write = org.can("servers:write");
    let base = format!("/orgs/{}/servers/{server_id}", org.slug);
    Ok(html! {
        section.card #client-access {
            h2 { "MCP clients that sign in" }
            p.hint { "Claude, ChatGPT, VS Code, Cursor and other clients connect with the server's URL alone: "
                "the person signs in and allows the client, which then gets a token for this server only. API keys keep working." }
            form.stack method="post" action={ (base) "/client-access" } {
                (csrf_input(&ctx.csrf))
                fieldset disabled[!can_write] {
                    label for="signIn" { "Who may sign in" }
                    select #signIn name="signIn" {
                        option value="members" selected[sign_in == "members"] { "Members of the organization" }
                        option value="end_users" selected[sign_in == "end_users"] { "End users (this server's auth service)" }
                        option value="off" selected[sign_in == "off"] { "Nobody: API keys only" }
                    }
                    @if can_write { div.actions { button.primary type="submit" { "Save" } } }
                }
            }
            @if let Some(list) = &connections {
                h3 { "Connected clients" }
                (table(ctx, list, |c| format!("{base}/connections/{}/disconnect", text(&c["connectionId"])), org.can("keys:write")))
            }
        }
    })
}

/// The section of Your account: the clients this person connected.
pub async fn account_section(ctx: &Ctx) -> Result<Markup, Fault> {
    let org = ctx.org()?;
    let list = ctx.run("list_my_connections", &[], json!({})).await?;
    let base = format!("/orgs/{}/settings/account/connections", org.slug);
    Ok(html! {
        section.card #connections {
            h2 { "Connected clients" }
            p.hint { "MCP clients you allowed to use a server as you. Disconnecting one ends its tokens at once." }
            (table(ctx, &list, |c| format!("{base}/{}/disconnect", text(&c["connectionId"])), true))
        }
    })
}

fn table(ctx: &Ctx, list: &Value, action: impl Fn(&Value) -> String, can_revoke: bool) -> Markup {
    let rows: &[Value] = list["connections"].as_array().map_or(&[], Vec::as_slice);
    html! {
        @if rows.is_empty() { p.muted { "None." } } @else {
            table.list.compact {
                thead { tr { th { "Client" } th { "Person" } th { "May" } th { "Connected" } th { "Last refreshed" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for c in rows {
                        tr {
                            td { (text(&c["clientName"])) br; code.muted { (text(&c["clientId"])) } }
                            td { (text(&c["email"])) @if c["subjectKind"] == "end_user" { " " span.badge { "end user" } } }
                            td { @if text(&c["scopes"]).contains("mcp:call") { "List and call tools" } @else { "List only" } }
                            td.nowrap { (when(&text(&c["createdAt"]))) }
                            td.nowrap { (when(&text(&c["lastUsedAt"]))) }
                            td {
                                @if can_revoke {
                                    form method="post" action=(action(c)) {
                                        (csrf_input(&ctx.csrf))
                                        button.danger.small type="submit" data-confirm="Disconnect this client? Its tokens stop working at once." { "Disconnect" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /orgs/{org}/servers/{serverId}/client-access`.
pub async fn update_access(
    ctx: Ctx,
    Path(path): Path<super::servers::ServerPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let input = json!({ "signIn": fields.get("signIn") });
    ctx.run_in_org("update_client_access", &[("serverId", &path.server_id)], input).await?;
    Ok(Redirect::to(&format!("/orgs/{}/servers/{}/auth#client-access", ctx.org()?.slug, path.server_id))
        .into_response())
}

/// `POST /orgs/{org}/servers/{serverId}/connections/{connectionId}/disconnect`.
pub async fn disconnect_from_server(
    ctx: Ctx,
    Path(path): Path<ConnectionPath>,
    _fields: Fields,
) -> Result<Response, Fault> {
    let server_id = path.server_id.unwrap_or_default();
    let params = [("serverId", server_id.as_str()), ("connectionId", path.connection_id.as_str())];
    ctx.run_in_org("revoke_server_connection", &params, json!({})).await?;
    Ok(Redirect::to(&format!("/orgs/{}/servers/{server_id}/auth#client-access", ctx.org()?.slug))
        .into_response())
}

/// `POST /orgs/{org}/settings/account/connections/{connectionId}/disconnect`.
pub async fn disconnect_mine(
    ctx: Ctx,
    Path(path): Path<ConnectionPath>,
    _fields: Fields,
) -> Result<Response, Fault> {
    ctx.run("revoke_my_connection", &[("connectionId", &path.connection_id)], json!({})).await?;
    Ok(Redirect::to(&format!("/orgs/{}/settings/account#connections", ctx.org()?.slug)).into_response())
}
