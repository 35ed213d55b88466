//! Upstreams of an org: the list with status and last error, Register upstream (each
//! transport), Install from the catalogue.

use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::Section;

const TRANSPORTS: [(&str, &str); 3] = [
    ("streamable_http", "Streamable HTTP"),
    ("sse", "HTTP+SSE (legacy)"),
    ("stdio", "stdio (a local command)"),
];
const AUTH_TYPES: [(&str, &str); 5] = [
    ("none", "None"),
    ("bearer", "Bearer token"),
    ("api_key", "API key header"),
    ("basic", "HTTP Basic"),
    ("oauth", "OAuth (connect after registering)"),
];
const FIELDS: [&str; 11] = [
    "url",
    "command",
    "args",
    "env",
    "requestHeaders",
    "header",
    "credential",
    "secretId",
    "timeoutMs",
    "transport",
    "name",
];

/// A status as a badge.
pub fn status_badge(status: &str) -> Markup {
    let class = match status {
        "connected" => "active",
        "error" => "error",
        "needs_auth" => "warn",
        _ => "disabled",
    };
    html! { span class={ "badge " (class) } { (status.replace('_', " ")) } }
}

/// `GET /orgs/{org}/upstreams`.
pub async fn list(ctx: Ctx) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let all = ctx.run_in_org("list_upstreams", &[], json!({})).await?;
    let upstreams: &[Value] = all["upstreams"].as_array().map_or(&[], Vec::as_slice);
    let base = format!("/orgs/{}/upstreams", org.slug);
    let can_write = org.can("upstreams:write");
    let body = html! {
        div.page-head {
            h1 { "Upstreams" }
            @if can_write {
                div.actions {
                    a.button.secondary href={ (base) "/catalog" } { "Install from catalogue" }
                    a.button.primary href={ (base) "/new" } { "Register upstream" }
                }
            }
        }
        p.lead { "MCP servers Gatehouse connects to. Their tools are served from your servers once approved." }
        @if upstreams.is_empty() {
            div.empty {
                h2 { "No upstreams yet" }
                p { "Register a remote MCP server by URL, run a local one over stdio, or install a known one from the catalogue." }
            }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Transport" } th { "Status" } th { "Policy" } th { "Refreshed" } } }
                tbody {
                    @for u in upstreams {
                        tr {
                            td {
                                a href={ (base) "/" (text(&u["upstreamId"])) } { (text(&u["name"])) }
                                @if let Some(e) = u["lastError"].as_str() { p.small.error-text { (e) } }
                            }
                            td { (text(&u["transport"])) }
                            td { (status_badge(&text(&u["status"]))) }
                            td.small { (text(&u["approvalPolicy"]).replace('_', " ")) }
                            td.nowrap { (u["refreshedAt"].as_str().map_or("never".to_string(), when)) }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page("Upstreams", Section::Upstreams, body))
}

/// `GET /orgs/{org}/upstreams/new`.
pub async fn new(ctx: Ctx) -> Result<Response, Fault> {
    register_page(&ctx, &Fields::from_pairs(vec![("transport".into(), "streamable_http".into())]), None)
}

fn register_page(ctx: &Ctx, typed: &Fields, error: Option<FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let error = error.as_ref();
    let input = |name: &str, label: &str, hint: &str, kind: &str| {
        html! {
            label for=(name) { (label) }
            input #(name) name=(name) type=(kind) value=(if kind == "password" { "" } else { typed.get(name) })
                autocomplete="off" spellcheck="false" aria-describedby={ (name) "-hint " (name) "-error" };
            @if !hint.is_empty() { p.hint #{ (name) "-hint" } { (hint) } }
            (field_error(error, name, &format!("{name}-error")))
        }
    };
    let area = |name: &str, label: &str, hint: &str| {
        html! {
            label for=(name) { (label) }
            textarea #(name) name=(name) rows="3" spellcheck="false" aria-describedby={ (name) "-hint " (name) "-error" } {
                // Environment and headers often carry credentials: never written back.
                @if name == "args" { (typed.get(name)) }
            }
            p.hint #{ (name) "-hint" } { (hint) }
            (field_error(error, name, &format!("{name}-error")))
        }
    };
    let body = html! {
        p.crumbs { a href={ "/orgs/" (org.slug) "/upstreams" } { "Upstreams" } " / " }
        h1 { "Register upstream" }
        (general_error(error))
        form.stack method="post" action={ "/orgs/" (org.slug) "/upstreams" } {
            (csrf_input(&ctx.csrf))
            fieldset.card {
                legend { "Upstream" }
                (input("name", "Name", "", "text"))
                label for="description" { "Description " span.muted { "(optional)" } }
                textarea #description name="description" rows="2" { (typed.get("description")) }
                label for="transport" { "Transport" }
                select #transport name="transport" {
                    @for (v, l) in TRANSPORTS { option value=(v) selected[typed.get("transport") == v] { (l) } }
                }
                (field_error(error, "transport", "transport-error"))
            }
            fieldset.card {
                legend { "Remote (Streamable HTTP or SSE)" }
                (input("url", "URL", "The upstream's MCP endpoint, e.g. https://mcp.example.com/mcp", "url"))
                (area("requestHeaders", "Request headers", "One per line, Name: value. Sent on every request; stored encrypted."))
            }
            fieldset.card {
                legend { "Local (stdio)" }
                (input("command", "Command", "Must be allowed by the operator (GATEHOUSE_STDIO_COMMANDS).", "text"))
                (area("args", "Arguments", "One per line."))
                (area("env", "Environment", "One per line, NAME=value. Write-only: stored encrypted, never shown."))
            }
            fieldset.card {
                legend { "Auth" }
                label for="auth_type" { "Auth type" }
                select #auth_type name="auth_type" {
                    @for (v, l) in AUTH_TYPES { option value=(v) selected[typed.get("auth_type") == v] { (l) } }
                }
                (input("credential", "Credential", "Write-only: token, key or username:password.", "password"))
                (input("header", "Header", "The header an API key goes in (default X-API-Key).", "text"))
                label for="credentialMode" { "Whose account calls use" }
                select #credentialMode name="credentialMode" aria-describedby="credentialMode-hint" {
                    option value="shared" selected[typed.get("credentialMode") != "per_user"] { "One shared credential (above)" }
                    option value="per_user" selected[typed.get("credentialMode") == "per_user"] { "Each person's own account (OAuth, HTTP upstreams)" }
                    option value="passthrough_exchange" selected[typed.get("credentialMode") == "passthrough_exchange"] {
                        "Each person, by token exchange (its authorization server trusts Gatehouse)" }
                }
                p.hint #credentialMode-hint { "With each person's own account, people connect theirs under Accounts. By token "
                    "exchange, Gatehouse obtains each person's token from an authorization server set up to trust it. "
                    "Either way the credential above is only what tools are discovered with." }
            }
            fieldset.card {
                legend { "Approval" }
                label for="approvalPolicy" { "Approval policy" }
                select #approvalPolicy name="approvalPolicy" {
                    option value="require_approval_all" selected[typed.get("approvalPolicy") != "auto_approve"] { "Require approval of every tool" }
                    option value="auto_approve" selected[typed.get("approvalPolicy") == "auto_approve"] { "Approve new tools automatically (changes still need approval)" }
                }
                (input("timeoutMs", "Timeout (ms) (optional)", "Per request; default 30000.", "text"))
            }
            div.actions { button.primary type="submit" { "Register upstream" } }
        }
    };
    Ok((status_of(error), ctx.page("Register upstream", Section::Upstreams, body)).into_response())
}

/// Lines of a textarea, trimmed, blank ones dropped.
fn lines(raw: &str) -> Vec<&str> {
    raw.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// `NAME<sep>value` lines as a map; a line without the separator is an error for `field`,
/// named by its number: its text may be a credential.
fn pairs(raw: &str, sep: char, field: &str) -> Result<Map<String, Value>, FormError> {
    let mut map = Map::new();
    for (n, line) in lines(raw).into_iter().enumerate() {
        let (k, v) = line.split_once(sep).ok_or_else(|| {
            FormError::invalid(field, format!("{field}: line {} is not written as NAME{sep}value", n + 1))
        })?;
        map.insert(k.trim().to_string(), json!(v.trim()));
    }
    Ok(map)
}

fn register_input(f: &Fields) -> Result<Value, FormError> {
    let transport = f.get("transport");
    let mut input =
        json!({ "name": f.get("name"), "transport": transport, "approvalPolicy": f.get("approvalPolicy") });
    if let Some(mode) = f.some("credentialMode") {
        input["credentialMode"] = json!(mode);
    }
    if let Some(d) = f.some("description") {
        input["description"] = json!(d);
    }
    if transport == "stdio" {
        input["command"] = json!(f.get("command"));
        input["args"] = json!(lines(f.get("args")));
        let env = pairs(f.get("env"), '=', "env")?;
        if !env.is_empty() {
            input["env"] = Value::Object(env);
        }
    } else {
        input["url"] = json!(f.get("url"));
        let headers = pairs(f.get("requestHeaders"), ':', "requestHeaders")?;
        if !headers.is_empty() {
            input["requestHeaders"] = Value::Object(headers);
        }
    }
    let auth_type = f.get("auth_type");
    if !auth_type.is_empty() && auth_type != "none" {
        let mut auth = json!({ "type": auth_type });
        if let Some(c) = f.some("credential") {
            auth["credential"] = json!(c);
        }
        if let Some(h) = f.some("header") {
            auth["header"] = json!(h);
        }
        input["auth"] = auth;
    }
    if let Some(t) = f.some("timeoutMs") {
        let t: i64 =
            t.parse().map_err(|_| FormError::invalid("timeoutMs", "timeoutMs must be a whole number"))?;
        input["timeoutMs"] = json!(t);
    }
    Ok(input)
}

/// `POST /orgs/{org}/upstreams`: registers (and discovers) an upstream.
pub async fn create(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let input = match register_input(&fields) {
        Ok(input) => input,
        Err(error) => return register_page(&ctx, &fields, Some(error)),
    };
    match ctx.run_in_org("create_upstream", &[], input).await {
        Ok(created) => Ok(to_upstream(&ctx, &created)?),
        Err(err) => register_page(&ctx, &fields, Some(FormError::place(&err, &FIELDS))),
    }
}

fn to_upstream(ctx: &Ctx, answer: &Value) -> Result<Response, Fault> {
    let id = text(&answer["upstream"]["upstreamId"]);
    Ok(Redirect::to(&format!("/orgs/{}/upstreams/{id}", ctx.org()?.slug)).into_response())
}

/// `GET /orgs/{org}/upstreams/catalog`.
pub async fn catalog(ctx: Ctx) -> Result<Response, Fault> {
    catalog_page(&ctx, None, None).await
}

async fn catalog_page(ctx: &Ctx, failed: Option<&str>, error: Option<FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let templates = ctx.run("list_catalog", &[], json!({})).await?;
    let error = error.as_ref();
    let body = html! {
        p.crumbs { a href={ "/orgs/" (org.slug) "/upstreams" } { "Upstreams" } " / " }
        h1 { "Install from catalogue" }
        p.lead { "Known MCP servers, pinned to a version, run as local commands. Fill in their settings and install." }
        div.cards {
            @for t in templates["templates"].as_array().into_iter().flatten() {
                @let id = text(&t["templateId"]);
                @let here = failed == Some(id.as_str());
                article.card aria-labelledby={ "tpl-" (id) } {
                    h2 #{ "tpl-" (id) } { (text(&t["name"])) }
                    p.small.muted { code { (text(&t["package"])) } }
                    p { (text(&t["description"])) }
                    @if here { (general_error(error)) }
                    form.stack method="post" action={ "/orgs/" (org.slug) "/upstreams/catalog" } {
                        (csrf_input(&ctx.csrf))
                        input type="hidden" name="templateId" value=(id);
                        @for s in t["settings"].as_array().into_iter().flatten() {
                            @let name = text(&s["name"]);
                            @let field = format!("{id}-{name}");
                            @let secret = s["secret"].as_bool().unwrap_or(false);
                            label for=(field) { (name) @if !s["required"].as_bool().unwrap_or(false) { " " span.muted { "(optional)" } } }
                            input #(field) name={ "setting." (name) } type=(if secret { "password" } else { "text" })
                                required[s["required"].as_bool().unwrap_or(false)] autocomplete="off";
                            p.hint { (text(&s["description"])) @if s["list"].as_bool().unwrap_or(false) { " Several: separate with commas." } }
                            @if here { (field_error(error, &name, &format!("{field}-error"))) }
                        }
                        div.actions { button.primary type="submit" { "Install" } }
                    }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Catalogue", Section::Upstreams, body)).into_response())
}

/// `POST /orgs/{org}/upstreams/catalog`: installs a template.
pub async fn install(ctx: Ctx, fields: Fields) -> Result<Response, Fault> {
    let template_id = fields.get("templateId").to_string();
    let templates = ctx.run("list_catalog", &[], json!({})).await?;
    let template = templates["templates"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["templateId"] == template_id.as_str());
    let mut settings = Map::new();
    let mut names = Vec::new();
    for s in template.into_iter().flat_map(|t| t["settings"].as_array().into_iter().flatten()) {
        let name = text(&s["name"]);
        let raw = fields.get(&format!("setting.{name}"));
        if !raw.is_empty() {
            let value = if s["list"].as_bool().unwrap_or(false) {
                json!(raw.split(',').map(str::trim).filter(|v| !v.is_empty()).collect::<Vec<_>>())
            } else {
                json!(raw)
            };
            settings.insert(name.clone(), value);
        }
        names.push(name);
    }
    let input = json!({ "templateId": template_id, "settings": settings });
    match ctx.run_in_org("install_template", &[], input).await {
        Ok(created) => to_upstream(&ctx, &created),
        Err(err) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            catalog_page(&ctx, Some(&template_id), Some(FormError::place(&err, &names))).await
        }
    }
}
