//! Servers: the list with search, New server, and a server's Overview (its MCP URL, client
//! configuration, settings).

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Paged, copyable, matches, when};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

/// `?q=…&page=…` of a list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    pub page: Option<usize>,
}

/// `GET /orgs/{org}/servers`.
pub async fn list(ctx: Ctx, Query(query): Query<ListQuery>) -> Result<Response, Fault> {
    let org = ctx.org()?.clone();
    let all = ctx.run_in_org("list_servers", &[], json!({})).await?;
    let servers: Vec<&Value> = all["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            matches(
                &format!("{} {} {}", text(&s["name"]), text(&s["slug"]), text(&s["description"])),
                &query.q,
            )
        })
        .collect();
    let paged = Paged::new(servers.len(), query.page);
    let base = format!("/orgs/{}/servers", org.slug);
    let can_write = org.can("servers:write");
    let body = html! {
        div.page-head {
            h1 { "Servers" }
            @if can_write { a.button.primary href={ (base) "/new" } { "New server" } }
        }
        @if all["servers"].as_array().is_none_or(Vec::is_empty) {
            div.empty {
                h2 { "No servers yet" }
                p { "A server is an MCP endpoint of its own: give it tools that call your HTTP API, "
                    "or tools taken from upstream MCP servers, and API keys for the agents that use it." }
                @if can_write { a.button.primary href={ (base) "/new" } { "New server" } }
            }
        } @else {
            form.search method="get" action=(base) role="search" {
                label.visually-hidden for="q" { "Search servers" }
                input #q type="search" name="q" value=(query.q) placeholder="Search servers";
                button.secondary type="submit" { "Search" }
            }
            @if servers.is_empty() {
                p.muted { "No server matches “" (query.q) "”." }
            } @else {
                table.list {
                    thead { tr { th { "Name" } th { "MCP endpoint" } th { "Status" } th { "Created" } } }
                    tbody {
                        @for s in &servers[paged.start..paged.end] {
                            tr {
                                td {
                                    a href={ (base) "/" (text(&s["serverId"])) } { (text(&s["name"])) }
                                    @if !text(&s["description"]).is_empty() { p.muted.small { (text(&s["description"])) } }
                                }
                                td { code { "/mcp/" (org.slug) "/" (text(&s["slug"])) } }
                                td { (status_badge(&text(&s["status"]))) }
                                td.nowrap { (when(&text(&s["createdAt"]))) }
                            }
                        }
                    }
                }
                (paged.links(&base, &query.q))
            }
        }
    };
    Ok(ctx.page("Servers", Section::Servers, body))
}

fn status_badge(status: &str) -> Markup {
    html! { span class={ "badge " (status) } { (status) } }
}

/// `GET /orgs/{org}/servers/new`.
pub async fn new(ctx: Ctx) -> Result<Response, Fault> {
    new_page(&ctx, &Fields::from_pairs(Vec::new()), None)
}

fn new_page(ctx: &Ctx, typed: &Fields, error: Option<&FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let body = html! {
        p.crumbs { a href={ "/orgs/" (org.slug) "/servers" } { "Servers" } " / " }
        h1 { "New server" }
        (general_error(error))
        form.stack.card method="post" action={ "/orgs/" (org.slug) "/servers" } {
            (csrf_input(&ctx.csrf))
            label for="name" { "Name" }
            input #name name="name" value=(typed.get("name")) required maxlength="200" autofocus
                aria-describedby="name-error";
            (field_error(error, "name", "name-error"))
            label for="slug" { "Slug " span.muted { "(optional)" } }
            input #slug name="slug" value=(typed.get("slug")) pattern="[a-z0-9-]{2,63}"
                aria-describedby="slug-hint slug-error";
            p.hint #slug-hint { "The last part of the MCP URL, /mcp/" (org.slug) "/slug. Made from the name when empty." }
            (field_error(error, "slug", "slug-error"))
            label for="description" { "Description " span.muted { "(optional)" } }
            textarea #description name="description" rows="3" maxlength="2000" { (typed.get("description")) }
            (field_error(error, "description", "description-error"))
            div.actions { button.primary type="submit" { "Create server" } }
        }
    };
    let status = status_of(error);
    Ok((status, ctx.page("New server", Section::Servers, body)).into_response())
}

/// `POST /orgs/{org}/servers`.
pub async fn create(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let input = json!({
        "name": fields.get("name"),
        "slug": fields.some("slug"),
        "description": fields.some("description"),
    });
    match ctx.run_in_org("create_server", &[], input).await {
        Ok(created) => {
            let org = ctx.org()?;
            let id = text(&created["server"]["serverId"]);
            Ok(Redirect::to(&format!("/orgs/{}/servers/{id}", org.slug)).into_response())
        }
        Err(err) => new_page(&ctx, &fields, Some(&FormError::place(&err, &["name", "slug", "description"]))),
    }
}

/// A server id from the path.
#[derive(Debug, Deserialize)]
pub struct ServerPath {
    #[serde(rename = "serverId")]
    pub server_id: String,
}

/// Reads a server of the current org.
pub async fn load(ctx: &Ctx, server_id: &str) -> Result<Value, Fault> {
    let found = ctx.run_in_org("get_server", &[("serverId", server_id)], json!({})).await?;
    Ok(found["server"].clone())
}

/// `GET /orgs/{org}/servers/{serverId}`: the Overview tab.
pub async fn overview(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    let server = load(&ctx, &path.server_id).await?;
    overview_page(&ctx, &server, None).await
}

async fn overview_page(ctx: &Ctx, server: &Value, error: Option<&FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let id = text(&server["serverId"]);
    let name = text(&server["name"]);
    let slug = text(&server["slug"]);
    let url = format!("{}/mcp/{}/{}", ctx.state.config.public_url, org.slug, slug);
    let base = format!("/orgs/{}/servers/{id}", org.slug);
    let can_write = org.can("servers:write");
    let access = ctx.run_in_org("get_client_access", &[("serverId", &id)], json!({})).await?;
    let sign_in = match access["signIn"].as_str() {
        Some("members") => Some("members of this organization"),
        Some("end_users") => Some("this server's end users"),
        _ => None,
    };
    let body = html! {
        (server_header(&org.slug, &id, &name, ServerTab::Overview))
        @if !text(&server["description"]).is_empty() { p.lead { (text(&server["description"])) } }
        section.card {
            h2 { "Connect" }
            (copyable("mcp-url", "MCP URL", &url))
            @if let Some(who) = sign_in {
                p.hint { "Claude, ChatGPT, VS Code, Cursor and other clients need only this URL: " (who)
                    " sign in and allow the client (" a href={ (base) "/auth#client-access" } { "who may" } "). " }
            }
            p.hint { "Agents send their server API key in the " code { "X-API-Key" } " header. "
                a href={ (base) "/keys" } { "Create a key" } " on the API Keys tab." }
            (client_configs(&slug, &url))
        }
        (try_it(&format!("/mcp/{}/{}", org.slug, slug), ctx.visitor.mode == Some(crate::config::Mode::Dev)))
        section.card {
            h2 { "Settings" }
            (general_error(error))
            form.stack method="post" action=(base) {
                (csrf_input(&ctx.csrf))
                fieldset disabled[!can_write] {
                    label for="name" { "Name" }
                    input #name name="name" value=(name) required maxlength="200";
                    (field_error(error, "name", "name-error"))
                    label for="description" { "Description" }
                    textarea #description name="description" rows="3" maxlength="2000" { (text(&server["description"])) }
                    label for="status" { "Status" }
                    select #status name="status" {
                        option value="active" selected[text(&server["status"]) == "active"] { "Active — serving" }
                        option value="disabled" selected[text(&server["status"]) == "disabled"] { "Disabled — its endpoint refuses every call" }
                    }
                    @if can_write { div.actions { button.primary type="submit" { "Save" } } }
                }
            }
        }
        @if can_write {
            section.card.danger {
                h2 { "Delete server" }
                p { "Deletes the server with its tools, keys and plugin installations. Agents using it stop working at once." }
                form method="post" action={ (base) "/delete" } {
                    (csrf_input(&ctx.csrf))
                    button.danger type="submit" data-confirm={ "Delete " (name) " and everything in it?" } { "Delete server" }
                }
            }
        }
    };
    let status = status_of(error);
    Ok((status, ctx.page(&name, Section::Servers, body)).into_response())
}

/// The "Try it" panel: the script lists and calls the server's tools through the real
/// endpoint with the key typed here (it never leaves the page but for that endpoint).
fn try_it(endpoint: &str, dev: bool) -> Markup {
    html! {
        section.card #try-it data-endpoint=(endpoint) {
            h2 { "Try it" }
            p.hint { "Lists and calls this server's tools through its MCP endpoint, as an agent would." }
            div.try-key {
                label for="try-key" { "API key" @if dev { " " span.muted { "(optional in dev mode)" } } }
                div.copy-row {
                    input #try-key type="password" autocomplete="off" placeholder="mcp_…" spellcheck="false";
                    button.primary #try-list type="button" { "List tools" }
                }
            }
            p #try-status.hint role="status" aria-live="polite" {}
            div #try-tools {}
            noscript { p.muted { "Try it needs JavaScript; the client configuration above works without." } }
        }
    }
}

/// Ready-made configuration for the common MCP clients.
fn client_configs(slug: &str, url: &str) -> Markup {
    let claude_code =
        format!("claude mcp add --transport http {slug} {url} \\\n  --header \"X-API-Key: YOUR_API_KEY\"");
    let desktop = json!({"mcpServers": {slug: {
        "command": "npx",
        "args": ["-y", "mcp-remote", url, "--header", "X-API-Key:${GATEHOUSE_API_KEY}"],
        "env": {"GATEHOUSE_API_KEY": "YOUR_API_KEY"}
    }}});
    let vscode = json!({
        "inputs": [{"type": "promptString", "id": "gatehouse-api-key", "description": "Gatehouse API key", "password": true}],
        "servers": {slug: {"type": "http", "url": url, "headers": {"X-API-Key": "${input:gatehouse-api-key}"}}}
    });
    let cursor = json!({"mcpServers": {slug: {"url": url, "headers": {"X-API-Key": "YOUR_API_KEY"}}}});
    let inspector = format!(
        "npx @modelcontextprotocol/inspector --cli {url} \\\n  --transport http --header \"X-API-Key: YOUR_API_KEY\" --method tools/list"
    );
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let block = |id: &str, title: &str, hint: Markup, code: String| {
        html! {
            details.config {
                summary { (title) }
                (hint)
                div.code-block {
                    pre #(id) { code { (code) } }
                    button.secondary.small type="button" data-copy={ "#" (id) } { "Copy" }
                }
            }
        }
    };
    html! {
        h3 { "Client configuration" }
        (block("cfg-claude-code", "Claude Code", html! { p.hint { "Run in a terminal:" } }, claude_code))
        (block("cfg-claude-desktop", "Claude Desktop", html! { p.hint { "Add to " code { "claude_desktop_config.json" } ":" } }, pretty(&desktop)))
        (block("cfg-vscode", "VS Code", html! { p.hint { "Add to " code { ".vscode/mcp.json" } "; VS Code asks for the key once:" } }, pretty(&vscode)))
        (block("cfg-cursor", "Cursor", html! { p.hint { "Add to " code { "~/.cursor/mcp.json" } ":" } }, pretty(&cursor)))
        (block("cfg-inspector", "MCP Inspector", html! { p.hint { "List the tools from a terminal (or run " code { "npx @modelcontextprotocol/inspector" } " and choose Streamable HTTP):" } }, inspector))
    }
}

/// `POST /orgs/{org}/servers/{serverId}`: saves the settings.
pub async fn update(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let input = json!({
        "name": fields.get("name"),
        "description": fields.get("description"),
        "status": fields.get("status"),
    });
    match ctx.run_in_org("update_server", &[("serverId", &path.server_id)], input).await {
        Ok(_) => {
            let org = ctx.org()?;
            Ok(Redirect::to(&format!("/orgs/{}/servers/{}", org.slug, path.server_id)).into_response())
        }
        Err(err) => {
            let server = load(&ctx, &path.server_id).await?;
            overview_page(&ctx, &server, Some(&FormError::place(&err, &["name", "description", "status"])))
                .await
        }
    }
}

/// `POST /orgs/{org}/servers/{serverId}/delete`.
pub async fn delete(ctx: Ctx, Path(path): Path<ServerPath>, _fields: Fields) -> Result<Response, Fault> {
    ctx.run_in_org("delete_server", &[("serverId", &path.server_id)], json!({})).await?;
    let org = ctx.org()?;
    Ok(Redirect::to(&format!("/orgs/{}/servers", org.slug)).into_response())
}
