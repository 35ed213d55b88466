//! A server's Tools tab: its HTTP tools (search, pages), Add tool and editing one: method, URL
//! with `{path}` parameters, the parameter table, auth with a write-only credential or a secret
//! of the org, and the `inputSchema` the model will see, kept up to date as the form changes.

use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::servers::{ListQuery, ServerPath, load};
use super::tool_form::{Row, ToolForm};
use super::{PAGE_SIZE, Paged};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};
use crate::domain::http_tool;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const LOCATIONS: [&str; 4] = ["path", "query", "body", "header"];
const TYPES: [&str; 6] = ["string", "number", "integer", "boolean", "object", "array"];
const AUTH_TYPES: [(&str, &str); 6] = [
    ("none", "None"),
    ("bearer", "Bearer token"),
    ("api_key", "API key header"),
    ("api_key_query", "API key in the query"),
    ("basic", "HTTP Basic"),
    ("oauth_client_credentials", "OAuth client credentials"),
];
/// Field names an API error may mention, most specific first.
const FIELDS: [&str; 12] = [
    "tokenUrl",
    "clientId",
    "scope",
    "parameter",
    "description",
    "endpointUrl",
    "method",
    "timeoutMs",
    "header",
    "secretId",
    "credential",
    "name",
];
/// Blank parameter rows under the filled ones (more come with "Add parameter").
const BLANK_ROWS: usize = 2;

/// A tool of a server, from the path.
#[derive(Debug, Deserialize)]
pub struct ToolPath {
    #[serde(rename = "serverId")]
    pub server_id: String,
    #[serde(rename = "toolId")]
    pub tool_id: String,
}

/// `GET /orgs/{org}/servers/{serverId}/tools`.
pub async fn list(
    ctx: Ctx,
    Path(path): Path<ServerPath>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(&ctx, &path.server_id).await?;
    // One page from the operation (with the search), so a page costs one page of tools.
    let params = [("serverId", path.server_id.as_str())];
    let fetch = |page: usize| {
        let input = json!({ "q": query.q, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE });
        ctx.run_in_org("list_tools", &params, input)
    };
    let mut found = fetch(query.page.unwrap_or(1).max(1)).await?;
    let matching = found["total"].as_u64().unwrap_or(0) as usize;
    let paged = Paged::new(matching, query.page);
    if paged.page != query.page.unwrap_or(1).max(1) {
        found = fetch(paged.page).await?; // a page past the end shows the last one
    }
    let all_count = if query.q.is_empty() {
        matching
    } else {
        let all = ctx.run_in_org("list_tools", &params, json!({ "limit": 1 })).await?;
        all["total"].as_u64().unwrap_or(0) as usize
    };
    let tools: &[Value] = found["tools"].as_array().map_or(&[], Vec::as_slice);
    let base = format!("/orgs/{}/servers/{}/tools", org.slug, path.server_id);
    let can_write = org.can("servers:write");
    let body = html! {
        (server_header(&org.slug, &path.server_id, &text(&server["name"]), ServerTab::Tools))
        div.page-head {
            p.lead { "Each tool maps an MCP tool call to a request on your HTTP API." }
            div.button-row {
                a.button.secondary href={ (base) "/imports" } { "OpenAPI imports" }
                @if can_write { a.button.secondary href={ (base) "/import" } { "Import OpenAPI" } a.button.primary href={ (base) "/new" } { "Add tool" } }
            }
        }
        @if all_count == 0 {
            div.empty {
                h2 { "No tools yet" }
                p { "Add a tool: give it a snake_case name the model sees, the HTTP method and URL it calls, "
                    "and the parameters the agent passes. Or import your API's OpenAPI document." }
                @if can_write { div.button-row { a.button.primary href={ (base) "/new" } { "Add tool" } a.button.secondary href={ (base) "/import" } { "Import OpenAPI" } } }
            }
        } @else {
            form.search method="get" action=(base) role="search" {
                label.visually-hidden for="q" { "Search tools" }
                input #q type="search" name="q" value=(query.q) placeholder={ "Search " (all_count) " tools" };
                button.secondary type="submit" { "Search" }
            }
            table.list {
                thead { tr { th { "Name" } th { "Request" } th.num { "Parameters" } th { "Auth" } } }
                tbody {
                    @for t in tools {
                        tr {
                            td {
                                a href={ (base) "/" (text(&t["toolId"])) } { code { (text(&t["name"])) } }
                                @if t["approvalState"] == "pending" { " " (super::imported_tool::approval(&ctx.csrf, &base, t, can_write)) }
                                p.muted.small { (text(&t["description"])) }
                            }
                            td { span.method { (text(&t["method"])) } " " code.url { (text(&t["endpointUrl"])) } }
                            td.num { (t["parameters"].as_array().map_or(0, Vec::len)) }
                            td { (text(&t["auth"]["type"])) }
                        }
                    }
                }
            }
            @if tools.is_empty() { p.muted { "No tool matches “" (query.q) "”." } }
            (paged.links(&base, &query.q))
        }
    };
    Ok(ctx.page("Tools", Section::Servers, body))
}

/// `GET /orgs/{org}/servers/{serverId}/tools/new`.
pub async fn new(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    let form = ToolForm::blank();
    form_page(&ctx, &path.server_id, None, &form, None).await
}

/// `GET /orgs/{org}/servers/{serverId}/tools/{toolId}`.
pub async fn edit(ctx: Ctx, Path(path): Path<ToolPath>) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("toolId", path.tool_id.as_str())];
    let found = ctx.run_in_org("get_tool", &params, json!({})).await?;
    if found["tool"]["importId"].is_string() {
        return super::imported_tool::imported_tool(&ctx, &path.server_id, &found["tool"]).await;
    }
    let form = ToolForm::of_tool(&found["tool"]);
    form_page(&ctx, &path.server_id, Some(&path.tool_id), &form, None).await
}

/// `POST /orgs/{org}/servers/{serverId}/tools`.
pub async fn create(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let form = ToolForm::posted(&fields);
    let input = match form.input(false) {
        Ok(input) => input,
        Err(error) => return form_page(&ctx, &path.server_id, None, &form, Some(error)).await,
    };
    match ctx.run_in_org("create_tool", &[("serverId", &path.server_id)], input).await {
        Ok(_) => tools_page(&ctx, &path.server_id),
        Err(err) => {
            form_page(&ctx, &path.server_id, None, &form, Some(FormError::place(&err, &FIELDS))).await
        }
    }
}

/// `POST /orgs/{org}/servers/{serverId}/tools/{toolId}`.
pub async fn update(ctx: Ctx, Path(path): Path<ToolPath>, fields: Fields) -> Result<Response, Fault> {
    let form = ToolForm::posted(&fields);
    let input = match form.input(true) {
        Ok(input) => input,
        Err(error) => return form_page(&ctx, &path.server_id, Some(&path.tool_id), &form, Some(error)).await,
    };
    let params = [("serverId", path.server_id.as_str()), ("toolId", path.tool_id.as_str())];
    match ctx.run_in_org("update_tool", &params, input).await {
        Ok(_) => tools_page(&ctx, &path.server_id),
        Err(err) => {
            let error = Some(FormError::place(&err, &FIELDS));
            form_page(&ctx, &path.server_id, Some(&path.tool_id), &form, error).await
        }
    }
}

/// `POST /orgs/{org}/servers/{serverId}/tools/{toolId}/delete`.
pub async fn delete(ctx: Ctx, Path(path): Path<ToolPath>, _fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("toolId", path.tool_id.as_str())];
    ctx.run_in_org("delete_tool", &params, json!({})).await?;
    tools_page(&ctx, &path.server_id)
}

/// `POST /orgs/{org}/servers/{serverId}/tools/schema`: the `inputSchema` the posted form's
/// parameters make, as the data plane will list it (the script shows it while typing).
pub async fn schema(_ctx: Ctx, fields: Fields) -> Response {
    let form = ToolForm::posted(&fields);
    let body =
        serde_json::to_string_pretty(&http_tool::input_schema(&form.parameters(), None)).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn tools_page(ctx: &Ctx, server_id: &str) -> Result<Response, Fault> {
    let org = ctx.org()?;
    Ok(Redirect::to(&format!("/orgs/{}/servers/{server_id}/tools", org.slug)).into_response())
}

async fn form_page(
    ctx: &Ctx,
    server_id: &str,
    tool_id: Option<&str>,
    form: &ToolForm,
    error: Option<FormError>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    // Secrets are offered only to those who may list them.
    let secrets = if org.can("secrets:read") {
        ctx.run_in_org("list_provider_keys", &[], json!({})).await.ok()
    } else {
        None
    };
    let secrets: Vec<&Value> = secrets
        .iter()
        .flat_map(|s| s["secrets"].as_array().into_iter().flatten())
        .filter(|s| s["status"] == "active")
        .collect();
    let base = format!("/orgs/{}/servers/{server_id}/tools", org.slug);
    let action = match tool_id {
        Some(id) => format!("{base}/{id}"),
        None => base.clone(),
    };
    let can_write = org.can("servers:write");
    let error = error.as_ref();
    let schema =
        serde_json::to_string_pretty(&http_tool::input_schema(&form.parameters(), None)).unwrap_or_default();
    let title = if tool_id.is_some() { form.name.as_str() } else { "Add tool" };
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Tools))
        h2 { (if tool_id.is_some() { "Edit tool" } else { "Add tool" }) }
        (general_error(error))
        form.tool-form method="post" action=(action) data-schema-preview={ (base) "/schema" } {
            (csrf_input(&ctx.csrf))
            fieldset.card disabled[!can_write] {
                legend { "Tool" }
                label for="name" { "Name" }
                input #name name="name" value=(form.name) required maxlength="64" pattern="[a-z][a-z0-9_]*"
                    spellcheck="false" aria-describedby="name-hint name-error";
                p.hint #name-hint { "snake_case; this is what the model sees." }
                (field_error(error, "name", "name-error"))
                label for="description" { "Description" }
                textarea #description name="description" rows="2" required maxlength="4000" aria-describedby="description-error" { (form.description) }
                (field_error(error, "description", "description-error"))
                div.row {
                    div {
                        label for="method" { "Method" }
                        select #method name="method" {
                            @for m in METHODS { option value=(m) selected[form.method == m] { (m) } }
                        }
                    }
                    div.grow {
                        label for="endpointUrl" { "Endpoint URL" }
                        input #endpointUrl name="endpointUrl" type="url" value=(form.endpoint_url) required maxlength="2048"
                            placeholder="https://api.example.com/users/{id}" spellcheck="false"
                            aria-describedby="endpointUrl-hint endpointUrl-error";
                    }
                }
                p.hint #endpointUrl-hint { "Write " code { "{name}" } " where a path parameter goes." }
                (field_error(error, "endpointUrl", "endpointUrl-error"))
                label for="timeoutMs" { "Timeout (ms) " span.muted { "(optional, default 30000)" } }
                input #timeoutMs name="timeoutMs" inputmode="numeric" value=(form.timeout_ms) aria-describedby="timeoutMs-error";
                (field_error(error, "timeoutMs", "timeoutMs-error"))
            }
            fieldset.card disabled[!can_write] {
                legend { "Parameters" }
                (field_error(error, "parameter", "parameter-error"))
                table.params {
                    thead { tr { th { "Name" } th { "Location" } th { "Type" } th { "Required" } th { "Description" } } }
                    tbody #param-rows {
                        @for (i, row) in form.rows.iter().cloned().chain(std::iter::repeat_n(Row::default(), BLANK_ROWS)).enumerate() {
                            (param_row(i, &row))
                        }
                    }
                }
                button.secondary.small type="button" data-add-row="#param-rows" { "Add parameter" }
            }
            fieldset.card disabled[!can_write] {
                legend { "Auth" }
                label for="auth_type" { "Auth type" }
                select #auth_type name="auth_type" {
                    @for (value, label) in AUTH_TYPES { option value=(value) selected[form.auth_type == value] { (label) } }
                }
                label for="credential" { "Credential" }
                input #credential name="credential" type="password" autocomplete="off" value=""
                    placeholder=(if form.credential_set { "Stored — leave blank to keep it" } else { "Token, key, or username:password" })
                    aria-describedby="credential-hint credential-error";
                input type="hidden" name="credential_set" value=(if form.credential_set { "yes" } else { "no" });
                p.hint #credential-hint { "Write-only: stored encrypted and never shown again." }
                (field_error(error, "credential", "credential-error"))
                @if !secrets.is_empty() || !form.secret_id.is_empty() {
                    label for="secretId" { "Or a secret of the organization" }
                    select #secretId name="secretId" {
                        option value="" { "— none —" }
                        @for s in &secrets {
                            option value=(text(&s["secretId"])) selected[text(&s["secretId"]) == form.secret_id] {
                                (text(&s["name"])) " (" (text(&s["masked"])) ")"
                            }
                        }
                    }
                    (field_error(error, "secretId", "secretId-error"))
                }
                label for="header" { "Header " span.muted { "(API key header only)" } }
                input #header name="header" value=(form.header) placeholder="X-Api-Key" spellcheck="false";
                (field_error(error, "header", "header-error"))
                label for="query_parameter" { "Query parameter " span.muted { "(API key in the query only)" } }
                input #query_parameter name="query_parameter" value=(form.query_parameter) placeholder="api_key" spellcheck="false";
                (super::tool_form::oauth_fields(form, error))
            }
            section.card {
                h3 { "inputSchema" }
                p.hint { "What " code { "tools/list" } " shows the model, made from the parameters." }
                pre #schema-preview aria-live="polite" { code { (schema) } }
            }
            @if can_write {
                div.actions {
                    button.primary type="submit" { (if tool_id.is_some() { "Save tool" } else { "Add tool" }) }
                    a.button.secondary href=(base) { "Cancel" }
                }
            }
        }
        @if let (Some(id), true) = (tool_id, can_write) {
            form.danger-zone method="post" action={ (base) "/" (id) "/delete" } {
                (csrf_input(&ctx.csrf))
                button.danger type="submit" data-confirm={ "Delete the tool " (form.name) "?" } { "Delete tool" }
            }
        }
    };
    let status = status_of(error);
    Ok((status, ctx.page(title, Section::Servers, body)).into_response())
}

fn param_row(i: usize, row: &Row) -> Markup {
    let id = |what: &str| format!("param-{i}-{what}");
    html! {
        tr.param-row {
            td {
                label.visually-hidden for=(id("name")) { "Parameter name" }
                input #(id("name")) name="param_name" value=(row.name) maxlength="64" spellcheck="false";
            }
            td {
                label.visually-hidden for=(id("location")) { "Location" }
                select #(id("location")) name="param_location" {
                    @for l in LOCATIONS { option value=(l) selected[row.location == l || (row.location.is_empty() && l == "query")] { (l) } }
                }
            }
            td {
                label.visually-hidden for=(id("type")) { "Type" }
                select #(id("type")) name="param_type" {
                    @for t in TYPES { option value=(t) selected[row.kind == t] { (t) } }
                }
            }
            td {
                label.visually-hidden for=(id("required")) { "Required" }
                select #(id("required")) name="param_required" {
                    option value="no" selected[!row.required] { "optional" }
                    option value="yes" selected[row.required] { "required" }
                }
            }
            td {
                label.visually-hidden for=(id("description")) { "Parameter description" }
                input #(id("description")) name="param_description" value=(row.description);
            }
        }
    }
}
