//! A tool an OpenAPI import made, as it is served: its request and schemas, its approval, and
//! — when a re-import changed it — the approved definition beside the new one.

use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::servers::load;
use crate::api::http_tools::NOT_DEFINITION;
use crate::console::context::{Ctx, text};
use crate::console::diff::side_by_side;
use crate::console::fault::Fault;
use crate::console::form::csrf_input;
use crate::console::layout::{Section, ServerTab, server_header};

/// A tool's "waiting for approval" badge, and Approve for those who may.
pub fn approval(csrf: &str, base: &str, tool: &Value, can_write: bool) -> Markup {
    html! {
        span.badge.warn { "waiting for approval" }
        @if can_write {
            form.inline-action method="post" action={ (base) "/" (text(&tool["toolId"])) "/approve" } {
                (csrf_input(csrf))
                button.primary.small type="submit" aria-label={ "Approve " (text(&tool["name"])) } { "Approve" }
            }
        }
    }
}

/// A tool an import made: shown as it is served, changed by changing the document and
/// importing it again (a form could not hold its schemas).
pub async fn imported_tool(ctx: &Ctx, server_id: &str, tool: &Value) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let base = format!("/orgs/{}/servers/{server_id}/tools", org.slug);
    let can_write = org.can("servers:write");
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Tools))
        p.crumbs { a href=(base) { "Tools" } " / " }
        h1 { code { (text(&tool["name"])) } " "
            @if tool["approvalState"] == "pending" { (approval(&ctx.csrf, &base, tool, can_write)) } }
        div.alert.info {
            "Made from the operation " code { (text(&tool["operation"])) } " of an OpenAPI import: change the document and "
            a href={ (base) "/imports" } { "import it again" } " to change it."
        }
        @if tool["approvedDefinition"].is_object() {
            section.card.changed aria-labelledby="changed-since" {
                h2 #changed-since { "Changed since it was approved" }
                p { "A re-import changed it: it is not served until approved again. Compare before you decide:" }
                (side_by_side(("Approved", &tool["approvedDefinition"]), ("Now", &definition_of(tool))))
            }
        }
        p { (text(&tool["description"])) }
        dl.facts {
            dt { "Request" } dd { span.method { (text(&tool["method"])) } " " code.url { (text(&tool["endpointUrl"])) } }
            dt { "Auth" } dd { (text(&tool["auth"]["type"])) }
        }
        h2 { "inputSchema" }
        div.code-block { pre { (pretty(&tool["inputSchema"])) } }
        @if tool["outputSchema"].is_object() { h2 { "outputSchema" } div.code-block { pre { (pretty(&tool["outputSchema"])) } } }
    };
    Ok(ctx.page(&text(&tool["name"]), Section::Servers, body))
}

/// A tool as its approved definition is kept: without ids, times and approval.
fn definition_of(tool: &Value) -> Value {
    let mut definition = tool.clone();
    if let Some(fields) = definition.as_object_mut() {
        NOT_DEFINITION.iter().for_each(|key| drop(fields.remove(*key)));
    }
    definition
}
