//! Importing an OpenAPI document into a server from the console: the document pasted, uploaded
//! or fetched from its URL, a preview of the tools it becomes (schemas, what is skipped and why,
//! names that clash), then the import with a secret per security scheme. A server's imports are
//! listed with Re-import (the difference shown, changed tools side by side) and Delete; tools a
//! re-import added or changed wait on the Tools tab for approval.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::servers::{ServerPath, load};
use super::tools::ToolPath;
use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

/// Field names an API error may mention, most specific first.
const FIELDS: [&str; 4] = ["baseUrl", "url", "document", "select"];

/// An import of a server, from the path.
#[derive(Debug, Deserialize)]
pub struct ImportPath {
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "importId")]
    import_id: String,
}

/// `GET /orgs/{org}/servers/{serverId}/tools/import`.
pub async fn new(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    source_page(&ctx, &path.server_id, None, &Fields::from_pairs(Vec::new()), None).await
}

/// `POST …/tools/import/preview`: what the posted document would become.
pub async fn preview(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let input = source_input(&fields).unwrap_or_else(|| json!({}));
    match ctx.run_in_org("preview_openapi_import", &[("serverId", &path.server_id)], input).await {
        Ok(preview) => preview_page(&ctx, &path.server_id, &fields, &preview, None).await,
        Err(err) => {
            let error = Some(FormError::place(&err, &FIELDS));
            source_page(&ctx, &path.server_id, None, &fields, error).await
        }
    }
}

/// `POST …/tools/import`: imports the previewed document.
pub async fn create(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let credentials: BTreeMap<String, Value> = fields
        .pairs()
        .filter_map(|(name, value)| Some((name.strip_prefix("credential:")?, value.trim())))
        .filter(|(_, secret)| !secret.is_empty())
        .map(|(scheme, secret)| {
            let mut credential = json!({ "secretId": secret });
            if let Some(client_id) = fields.some(&format!("clientId:{scheme}")) {
                credential["clientId"] = json!(client_id);
            }
            (scheme.to_owned(), credential)
        })
        .collect();
    let input = json!({
        "source": source_input(&fields).unwrap_or_else(|| json!({})),
        "credentials": credentials,
        "approvalPolicy": fields.get("approvalPolicy"),
    });
    let params = [("serverId", path.server_id.as_str())];
    match ctx.run_in_org("create_openapi_import", &params, input).await {
        Ok(_) => imports_page(&ctx, &path.server_id),
        Err(err) => {
            // Shown on the preview again when the document still reads, else on the form.
            let error = FormError::place(&err, &FIELDS);
            let input = source_input(&fields).unwrap_or_else(|| json!({}));
            match ctx.run_in_org("preview_openapi_import", &params, input).await {
                Ok(preview) => preview_page(&ctx, &path.server_id, &fields, &preview, Some(error)).await,
                Err(_) => source_page(&ctx, &path.server_id, None, &fields, Some(error)).await,
            }
        }
    }
}

/// `GET …/tools/imports`: the server's imports.
pub async fn list(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(&ctx, &path.server_id).await?;
    let found = ctx.run_in_org("list_openapi_imports", &[("serverId", &path.server_id)], json!({})).await?;
    let imports: &[Value] = found["imports"].as_array().map_or(&[], Vec::as_slice);
    let base = format!("/orgs/{}/servers/{}/tools", org.slug, path.server_id);
    let can_write = org.can("servers:write");
    let body = html! {
        (server_header(&org.slug, &path.server_id, &text(&server["name"]), ServerTab::Tools))
        p.crumbs { a href=(base) { "Tools" } " / " }
        div.page-head {
            h1 { "OpenAPI imports" }
            @if can_write { a.button.primary href={ (base) "/import" } { "Import OpenAPI" } }
        }
        @if imports.is_empty() {
            div.empty {
                h2 { "No imports yet" }
                p { "Import an API's OpenAPI document: each of its operations becomes a tool." }
            }
        } @else {
            table.list {
                thead { tr { th { "API" } th { "Source" } th.num { "Tools" } th { "New and changed tools" } th { "Imported" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for i in imports {
                        @let id = text(&i["importId"]);
                        tr {
                            td { strong { (text(&i["title"])) } }
                            td { @if let Some(url) = i["sourceUrl"].as_str() { code.url { (url) } } @else { span.muted { "pasted or uploaded" } } }
                            td.num { (i["tools"].as_array().map_or(0, Vec::len)) }
                            td { (if i["approvalPolicy"] == "auto_approve" { "served at once" } else { "wait for approval" }) }
                            td { (when(&text(&i["createdAt"]))) }
                            td.actions {
                                @if can_write {
                                    div.button-row {
                                        a.button.secondary.small href={ (base) "/imports/" (id) "/reimport" } aria-label={ "Re-import " (text(&i["title"])) } { "Re-import" }
                                        form method="post" action={ (base) "/imports/" (id) "/delete" } {
                                            (csrf_input(&ctx.csrf))
                                            button.danger.small type="submit" data-confirm={ "Delete the import and its tools?" } aria-label={ "Delete " (text(&i["title"])) } { "Delete" }
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
    Ok(ctx.page("OpenAPI imports", Section::Servers, body))
}

/// `POST …/tools/imports/{importId}/delete`: the import and the tools it made.
pub async fn delete(ctx: Ctx, Path(path): Path<ImportPath>, _fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("importId", path.import_id.as_str())];
    ctx.run_in_org("delete_openapi_import", &params, json!({})).await?;
    imports_page(&ctx, &path.server_id)
}

/// `GET …/tools/imports/{importId}/reimport`: the document again (from its URL by default).
pub async fn reimport(ctx: Ctx, Path(path): Path<ImportPath>) -> Result<Response, Fault> {
    let import = read_import(&ctx, &path).await?;
    source_page(&ctx, &path.server_id, Some(&import), &Fields::from_pairs(Vec::new()), None).await
}

/// `POST …/tools/imports/{importId}/preview`: what importing the document again would change.
pub async fn reimport_preview(
    ctx: Ctx,
    Path(path): Path<ImportPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let import = read_import(&ctx, &path).await?;
    let params = [("serverId", path.server_id.as_str()), ("importId", path.import_id.as_str())];
    let input = source_input(&fields).map_or_else(|| json!({}), |source| json!({ "source": source }));
    match ctx.run_in_org("preview_openapi_reimport", &params, input).await {
        Ok(diff) => super::reimport::diff_page(&ctx, &path.server_id, &import, &fields, &diff).await,
        Err(err) => {
            let error = Some(FormError::place(&err, &FIELDS));
            source_page(&ctx, &path.server_id, Some(&import), &fields, error).await
        }
    }
}

/// `POST …/tools/imports/{importId}/apply`: imports the document again.
pub async fn reimport_apply(
    ctx: Ctx,
    Path(path): Path<ImportPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("importId", path.import_id.as_str())];
    let input = source_input(&fields).map_or_else(|| json!({}), |source| json!({ "source": source }));
    match ctx.run_in_org("apply_openapi_reimport", &params, input).await {
        Ok(_) => {
            let org = ctx.org()?;
            let to = format!("/orgs/{}/servers/{}/tools", org.slug, path.server_id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(err) => {
            let import = read_import(&ctx, &path).await?;
            let error = Some(FormError::place(&err, &FIELDS));
            source_page(&ctx, &path.server_id, Some(&import), &fields, error).await
        }
    }
}

/// `POST …/tools/{toolId}/approve`: serves a tool a re-import added or changed.
pub async fn approve(ctx: Ctx, Path(path): Path<ToolPath>, _fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("toolId", path.tool_id.as_str())];
    ctx.run_in_org("update_tool", &params, json!({ "approvalState": "approved" })).await?;
    let to = format!("/orgs/{}/servers/{}/tools", ctx.org()?.slug, path.server_id);
    Ok(Redirect::to(&to).into_response())
}

async fn read_import(ctx: &Ctx, path: &ImportPath) -> Result<Value, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("importId", path.import_id.as_str())];
    Ok(ctx.run_in_org("get_openapi_import", &params, json!({})).await?["import"].take())
}

fn imports_page(ctx: &Ctx, server_id: &str) -> Result<Response, Fault> {
    let to = format!("/orgs/{}/servers/{server_id}/tools/imports", ctx.org()?.slug);
    Ok(Redirect::to(&to).into_response())
}

/// The `source` of an operation's input from the posted form: an uploaded file before a pasted
/// document; `None` when neither a document nor a URL was given (a re-import then fetches the
/// import's URL again).
pub(super) fn source_input(fields: &Fields) -> Option<Value> {
    let document = fields.some("file").or_else(|| fields.some("document"));
    let url = fields.some("url");
    if document.is_none() && url.is_none() {
        return None;
    }
    let list = |name: &str| -> Vec<String> {
        fields
            .get(name)
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut source = json!({ "select": { "tags": list("tags"), "paths": list("paths"), "operations": list("operations") } });
    for (key, value) in [("document", document), ("url", url), ("baseUrl", fields.some("baseUrl"))] {
        if let Some(value) = value {
            source[key] = json!(value);
        }
    }
    Some(source)
}

/// The posted source again, as hidden fields of the next form (the document unchanged).
pub(super) fn carried(fields: &Fields) -> Markup {
    let document = fields.some("file").or_else(|| fields.some("document"));
    html! {
        @if let Some(document) = document { textarea hidden name="document" { (document) } }
        @for name in ["url", "baseUrl", "tags", "paths", "operations"] {
            @if let Some(value) = fields.some(name) { input type="hidden" name=(name) value=(value); }
        }
    }
}

/// The form a document is given with: pasted, uploaded or by URL, with the base URL and which
/// operations to import. `import` is the import being made again, if any.
async fn source_page(
    ctx: &Ctx,
    server_id: &str,
    import: Option<&Value>,
    typed: &Fields,
    error: Option<FormError>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let base = format!("/orgs/{}/servers/{server_id}/tools", org.slug);
    let error = error.as_ref();
    let (title, action) = match import {
        Some(i) => (
            format!("Re-import {}", text(&i["title"])),
            format!("{base}/imports/{}/preview", text(&i["importId"])),
        ),
        None => ("Import OpenAPI".to_owned(), format!("{base}/import/preview")),
    };
    let input = |name: &str, label: &str, hint: &str| {
        html! {
            label for=(name) { (label) }
            input #(name) name=(name) type="text" value=(typed.get(name)) autocomplete="off" spellcheck="false"
                aria-describedby={ (name) "-hint " (name) "-error" };
            p.hint #{ (name) "-hint" } { (hint) }
            (field_error(error, name, &format!("{name}-error")))
        }
    };
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Tools))
        p.crumbs { a href=(base) { "Tools" } " / " @if import.is_some() { a href={ (base) "/imports" } { "OpenAPI imports" } " / " } }
        h1 { (title) }
        p.lead { "Each operation of the document becomes a tool. You see the tools first and import them after." }
        (general_error(error))
        form.stack method="post" action=(action) enctype="multipart/form-data" {
            (csrf_input(&ctx.csrf))
            fieldset.card {
                legend { "Document" }
                @if let Some(url) = import.and_then(|i| i["sourceUrl"].as_str()) {
                    p.hint { "Leave these empty to fetch it again from " code { (url) } "." }
                }
                label for="url" { "Document URL" }
                input #url name="url" type="url" value=(typed.get("url")) autocomplete="off" spellcheck="false"
                    placeholder="https://api.example.com/openapi.json" aria-describedby="url-hint url-error";
                p.hint #url-hint { "Fetched by Gatehouse through the organization's outbound rules, with the files it references beside it." }
                (field_error(error, "url", "url-error"))
                label for="file" { "Or upload a file" }
                input #file name="file" type="file" accept=".json,.yaml,.yml,application/json,application/yaml";
                label for="document" { "Or paste it" }
                textarea #document name="document" rows="10" spellcheck="false" aria-describedby="document-hint document-error" {
                    @if typed.some("file").is_none() { (typed.get("document")) }
                }
                p.hint #document-hint { "OpenAPI 3.0 or 3.1, JSON or YAML." }
                (field_error(error, "document", "document-error"))
            }
            fieldset.card {
                legend { "Options" }
                (input("baseUrl", "Base URL (optional)", "Where the tools send their requests, instead of the document's servers."))
                (input("tags", "Tags (optional)", "Import only operations with one of these tags, comma separated."))
                (input("paths", "Paths (optional)", "Import only operations whose path matches, e.g. /pets/** (comma separated)."))
                (input("operations", "Operations (optional)", "Import only these operationIds or tool names, comma separated."))
                (field_error(error, "select", "select-error"))
            }
            div.actions { button.primary type="submit" { "Preview" } }
        }
    };
    Ok((status_of(error), ctx.page(&title, Section::Servers, body)).into_response())
}

/// What an import would make: the tools with their schemas, what is skipped and why, names
/// that clash, a secret for each security scheme, then Import.
async fn preview_page(
    ctx: &Ctx,
    server_id: &str,
    typed: &Fields,
    found: &Value,
    error: Option<FormError>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let base = format!("/orgs/{}/servers/{server_id}/tools", org.slug);
    let plan = &found["preview"];
    let tools: &[Value] = plan["tools"].as_array().map_or(&[], Vec::as_slice);
    let skipped: Vec<&Value> =
        plan["skipped"].as_array().into_iter().flatten().filter(|s| s["reason"] != "not selected").collect();
    let unselected = plan["skipped"].as_array().map_or(0, Vec::len) - skipped.len();
    let conflicts: Vec<String> = found["conflicts"].as_array().into_iter().flatten().map(text).collect();
    // Each scheme: its first tool's auth (kind, token URL) and how many tools use it.
    let mut schemes: BTreeMap<String, (&Value, usize)> = BTreeMap::new();
    for auth in tools.iter().map(|t| &t["auth"]).filter(|a| a.is_object()) {
        schemes.entry(text(&auth["scheme"])).or_insert((auth, 0)).1 += 1;
    }
    let secrets = match org.can("secrets:read") {
        true => ctx.run_in_org("list_provider_keys", &[], json!({})).await.ok(),
        false => None,
    };
    let secrets: Vec<&Value> = secrets
        .iter()
        .flat_map(|s| s["secrets"].as_array().into_iter().flatten())
        .filter(|s| s["status"] == "active")
        .collect();
    let error = error.as_ref();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Tools))
        p.crumbs { a href=(base) { "Tools" } " / " a href={ (base) "/import" } { "Import OpenAPI" } " / " }
        h1 { "Preview: " (text(&plan["title"])) }
        (general_error(error))
        dl.facts {
            dt { "API version" } dd { (text(&plan["apiVersion"])) }
            dt { "OpenAPI" } dd { (text(&plan["openapi"])) }
            dt { "Base URL" } dd { code { (text(&plan["baseUrl"])) } }
            dt { "Tools" } dd { (tools.len()) }
            @if unselected > 0 { dt { "Not selected" } dd { (unselected) " operations" } }
        }
        @if !conflicts.is_empty() {
            div.alert.error role="alert" {
                "The server already has tools named " (conflicts.join(", ")) ". Leave those operations out, or rename the server's tools, before importing."
            }
        }
        h2 { "Tools" }
        @if tools.is_empty() { p.muted { "No operation of the document becomes a tool." } }
        @else {
            table.list #planned-tools {
                thead { tr { th { "Tool" } th { "Request" } th.num { "Parameters" } th { "Auth" } } }
                tbody {
                    @for t in tools {
                        tr {
                            td {
                                code { (text(&t["name"])) }
                                @if conflicts.contains(&text(&t["name"])) { " " span.badge.error { "name taken" } }
                                p.muted.small { (text(&t["description"])) }
                                @for w in t["warnings"].as_array().into_iter().flatten() { p.small.warn { (text(w)) } }
                                details.payload {
                                    summary { "Schemas of " (text(&t["name"])) }
                                    p.small { "inputSchema" }
                                    pre { (pretty(&t["inputSchema"])) }
                                    @if t["outputSchema"].is_object() { p.small { "outputSchema" } pre { (pretty(&t["outputSchema"])) } }
                                }
                            }
                            td { span.method { (text(&t["method"])) } " " code.url { (text(&t["endpointUrl"])) } }
                            td.num { (t["parameters"].as_array().map_or(0, Vec::len) + usize::from(t["body"].is_object())) }
                            td { @if t["auth"].is_object() { (text(&t["auth"]["scheme"])) } @else { "none" } }
                        }
                    }
                }
            }
        }
        @if !skipped.is_empty() {
            h2 { "Skipped" }
            table.list #skipped-operations {
                thead { tr { th { "Operation" } th { "Why" } } }
                tbody { @for s in &skipped { tr { td { code { (text(&s["operation"])) } } td { (text(&s["reason"])) } } } }
            }
        }
        form.stack method="post" action=(base.clone() + "/import") enctype="multipart/form-data" {
            (csrf_input(&ctx.csrf))
            (carried(typed))
            @if !schemes.is_empty() {
                fieldset.card {
                    legend { "Credentials" }
                    p.hint { "Each security scheme's credential is an organization secret, given once for all its tools. Without one, its tools call without a credential." }
                    @for (scheme, (auth, count)) in &schemes {
                        @let id = format!("credential-{scheme}");
                        @let oauth = auth["kind"] == "client_credentials";
                        label for=(id) { (scheme) @if oauth { " client secret" } }
                        select id=(id) name={ "credential:" (scheme) } aria-describedby={ (id) "-hint" } {
                            option value="" { "No credential" }
                            @for s in &secrets { option value=(text(&s["secretId"])) { (text(&s["name"])) } }
                        }
                        p.hint id={ (id) "-hint" } {
                            (text(&auth["kind"]).replace('_', " ")) ", used by " (count) " tool(s)"
                            @if oauth { "; the client secret is sent to " code { (text(&auth["tokenUrl"])) } " only" }
                        }
                        @if oauth {
                            label for={ "client-id-" (scheme) } { (scheme) " client ID" }
                            input id={ "client-id-" (scheme) } name={ "clientId:" (scheme) } type="text" autocomplete="off" spellcheck="false";
                        }
                    }
                    @if secrets.is_empty() { p.hint { "The organization has no secret yet: add one under " a href={ "/orgs/" (org.slug) "/secrets" } { "Secrets" } "." } }
                }
            }
            fieldset.card {
                legend { "When the document changes" }
                label for="approvalPolicy" { "New and changed tools of a re-import" }
                select #approvalPolicy name="approvalPolicy" {
                    option value="manual" { "Wait for approval" }
                    option value="auto_approve" { "Are served at once" }
                }
            }
            div.actions {
                button.primary type="submit" disabled[tools.is_empty() || !conflicts.is_empty()] { "Import " (tools.len()) " tools" }
            }
        }
    };
    Ok((status_of(error), ctx.page("Preview import", Section::Servers, body)).into_response())
}
