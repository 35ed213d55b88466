//! What importing a document again would change: tools added, changed (each side by side with
//! what the server serves now) and removed, then Apply.

use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::Value;

use super::imports::carried;
use super::servers::load;
use crate::console::context::{Ctx, text};
use crate::console::diff::side_by_side;
use crate::console::fault::Fault;
use crate::console::form::{Fields, csrf_input};
use crate::console::layout::{Section, ServerTab, server_header};

/// The difference `diff` (from `preview_openapi_reimport`) of `import`, and the form applying it.
pub(super) async fn diff_page(
    ctx: &Ctx,
    server_id: &str,
    import: &Value,
    typed: &Fields,
    diff: &Value,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let base = format!("/orgs/{}/servers/{server_id}/tools", org.slug);
    let id = text(&import["importId"]);
    let list = |key: &str| -> &[Value] { diff[key].as_array().map_or(&[], Vec::as_slice) };
    let (added, changed, removed) = (list("added"), list("changed"), list("removed"));
    let skipped: Vec<&Value> = list("skipped").iter().filter(|s| s["reason"] != "not selected").collect();
    let waits = diff["approvalState"] == "pending";
    let nothing = added.is_empty() && changed.is_empty() && removed.is_empty();
    let names = |tools: &[Value], heading: &str, id: &str| -> Markup {
        html! {
            @if !tools.is_empty() {
                h2 #(id) { (heading) }
                ul {
                    @for t in tools { li { code { (text(&t["name"])) } " " span.muted { (text(&t["operation"])) } } }
                }
            }
        }
    };
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Tools))
        p.crumbs { a href=(base) { "Tools" } " / " a href={ (base) "/imports" } { "OpenAPI imports" } " / " }
        h1 { "Changes to " (text(&import["title"])) }
        p.lead #reimport-summary {
            (added.len()) " added, " (changed.len()) " changed, " (removed.len()) " removed, "
            (diff["unchanged"].as_u64().unwrap_or(0)) " unchanged."
        }
        @if waits && !(added.is_empty() && changed.is_empty()) {
            div.alert.info { "Added and changed tools are not served until you approve each on the Tools tab." }
        }
        (names(added, "Added", "added-tools"))
        @for t in changed {
            @let name = text(&t["name"]);
            section.card.changed aria-labelledby={ "changed-" (name) } {
                h2 #{ "changed-" (name) } { "“" (name) "” changes" }
                p.muted { "Changed: " (t["fields"].as_array().into_iter().flatten().map(text).collect::<Vec<_>>().join(", ")) }
                (side_by_side(("Served now", &t["before"]), ("In the document", &t["after"])))
            }
        }
        (names(removed, "Removed", "removed-tools"))
        @if !skipped.is_empty() {
            h2 { "Skipped" }
            table.list {
                thead { tr { th { "Operation" } th { "Why" } } }
                tbody { @for s in &skipped { tr { td { code { (text(&s["operation"])) } } td { (text(&s["reason"])) } } } }
            }
        }
        @if nothing {
            p { "The document makes the same tools as before: there is nothing to apply." }
        } @else {
            form.stack method="post" action={ (base) "/imports/" (id) "/apply" } enctype="multipart/form-data" {
                (csrf_input(&ctx.csrf))
                (carried(typed))
                div.actions { button.primary type="submit" { "Apply changes" } }
            }
        }
    };
    Ok((axum::http::StatusCode::OK, ctx.page("Re-import", Section::Servers, body)).into_response())
}
