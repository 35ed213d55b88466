//! A server's Policies tab: rules by tool-name pattern — allow or deny, a rate limit per key or
//! per server, an argument size limit, argument validation — set (upserted by pattern) and
//! deleted.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::servers::{ServerPath, load};
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

const FIELDS: [&str; 6] =
    ["toolPattern", "requests", "perSeconds", "rateLimit", "maxArgumentBytes", "action"];

/// A policy of a server, from the path.
#[derive(Debug, Deserialize)]
pub struct PolicyPath {
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "policyId")]
    policy_id: String,
}

/// `GET /orgs/{org}/servers/{serverId}/policies`.
pub async fn list(ctx: Ctx, Path(path): Path<ServerPath>) -> Result<Response, Fault> {
    page(&ctx, &path.server_id, None, None).await
}

async fn page(
    ctx: &Ctx,
    server_id: &str,
    typed: Option<&Fields>,
    error: Option<FormError>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let all = ctx.run_in_org("read_policy", &[("serverId", server_id)], json!({})).await?;
    let policies: &[Value] = all["policies"].as_array().map_or(&[], Vec::as_slice);
    let base = format!("/orgs/{}/servers/{server_id}/policies", org.slug);
    let can_write = org.can("policies:write");
    let error = error.as_ref();
    let typed_value = |name: &str| typed.map_or("", |f| f.get(name)).to_string();
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Policies))
        p.lead { "Rules applied to every call before it reaches a tool. A matching deny wins over every allow; a denied tool is not even listed." }
        (general_error(error))
        @if policies.is_empty() {
            p.muted { "No policies: every served tool may be called, without limits beyond the gateway's own." }
        } @else {
            table.list {
                thead { tr { th { "Tools" } th { "Action" } th { "Rate limit" } th { "Max arguments" } th { "Validate" } th { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for p in policies {
                        tr {
                            td { code { (text(&p["toolPattern"])) } }
                            td { span class={ "badge " (if p["action"] == "deny" { "error" } else { "active" }) } { (text(&p["action"])) } }
                            td {
                                @if let Some(r) = p["rateLimit"].as_object() {
                                    (r.get("requests").and_then(Value::as_i64).unwrap_or(0)) " per " (r.get("perSeconds").and_then(Value::as_i64).unwrap_or(0)) " s, per "
                                    (r.get("scope").and_then(Value::as_str).unwrap_or(""))
                                } @else { span.muted { "—" } }
                            }
                            td { @if let Some(b) = p["maxArgumentBytes"].as_i64() { (b) " bytes" } @else { span.muted { "—" } } }
                            td { (if p["validateArguments"] == true { "yes" } else { "no" }) }
                            td.actions {
                                @if can_write {
                                    form method="post" action={ (base) "/" (text(&p["policyId"])) "/delete" } {
                                        (csrf_input(&ctx.csrf))
                                        button.danger.small type="submit" data-confirm={ "Delete the policy for " (text(&p["toolPattern"])) "?" } { "Delete" }
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
                h2 { "Set a policy" }
                p.hint { "A pattern that already has a policy replaces it." }
                form.stack method="post" action=(base) {
                    (csrf_input(&ctx.csrf))
                    label for="toolPattern" { "Tool pattern" }
                    input #toolPattern name="toolPattern" required value=(typed_value("toolPattern")) placeholder="get_* or *"
                        aria-describedby="toolPattern-hint toolPattern-error";
                    p.hint #toolPattern-hint { code { "*" } " matches any run of characters, " code { "?" } " one." }
                    (field_error(error, "toolPattern", "toolPattern-error"))
                    label for="action" { "Action" }
                    select #action name="action" {
                        option value="allow" selected[typed_value("action") != "deny"] { "allow" }
                        option value="deny" selected[typed_value("action") == "deny"] { "deny" }
                    }
                    div.row {
                        div { label for="requests" { "Requests " span.muted { "(optional)" } }
                            input #requests name="requests" inputmode="numeric" value=(typed_value("requests")); }
                        div { label for="perSeconds" { "per seconds" }
                            input #perSeconds name="perSeconds" inputmode="numeric" value=(typed_value("perSeconds")); }
                        div { label for="scope" { "counted" }
                            select #scope name="scope" {
                                option value="key" selected[typed_value("scope") != "server"] { "per API key" }
                                option value="server" selected[typed_value("scope") == "server"] { "for the whole server" }
                            }
                        }
                    }
                    (field_error(error, "requests", "requests-error"))
                    (field_error(error, "rateLimit", "rateLimit-error"))
                    label for="maxArgumentBytes" { "Largest arguments, bytes " span.muted { "(optional)" } }
                    input #maxArgumentBytes name="maxArgumentBytes" inputmode="numeric" value=(typed_value("maxArgumentBytes"));
                    (field_error(error, "maxArgumentBytes", "maxArgumentBytes-error"))
                    label.check {
                        input type="checkbox" name="validateArguments" value="true" checked[typed_value("validateArguments") == "true"];
                        span { "Validate arguments against the tool's inputSchema before calling it" }
                    }
                    div.actions { button.primary type="submit" { "Save policy" } }
                }
            }
        }
    };
    Ok((status_of(error), ctx.page("Policies", Section::Servers, body)).into_response())
}

fn number(fields: &Fields, name: &str) -> Result<Option<i64>, FormError> {
    match fields.get(name) {
        "" => Ok(None),
        raw => raw
            .parse()
            .map(Some)
            .map_err(|_| FormError::invalid(name, format!("{name} must be a whole number"))),
    }
}

/// `POST /orgs/{org}/servers/{serverId}/policies`: sets the policy of a pattern.
pub async fn set(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let input = (|| -> Result<Value, FormError> {
        let mut input = json!({
            "toolPattern": fields.get("toolPattern"),
            "action": fields.get("action"),
            "validateArguments": fields.get("validateArguments") == "true",
        });
        match (number(&fields, "requests")?, number(&fields, "perSeconds")?) {
            (Some(requests), Some(per)) => {
                input["rateLimit"] =
                    json!({"requests": requests, "perSeconds": per, "scope": fields.get("scope")});
            }
            (None, None) => {}
            _ => return Err(FormError::invalid("requests", "a rate limit needs both requests and seconds")),
        }
        if let Some(max) = number(&fields, "maxArgumentBytes")? {
            input["maxArgumentBytes"] = json!(max);
        }
        Ok(input)
    })();
    let result = match input {
        Ok(input) => ctx.run_in_org("update_policy", &[("serverId", &path.server_id)], input).await,
        Err(error) => return page(&ctx, &path.server_id, Some(&fields), Some(error)).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/policies", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => page(&ctx, &path.server_id, Some(&fields), Some(FormError::place(&err, &FIELDS))).await,
    }
}

/// `POST /orgs/{org}/servers/{serverId}/policies/{policyId}/delete`.
pub async fn delete(ctx: Ctx, Path(path): Path<PolicyPath>, _fields: Fields) -> Result<Response, Fault> {
    let params = [("serverId", path.server_id.as_str()), ("policyId", path.policy_id.as_str())];
    match ctx.run_in_org("delete_policy", &params, json!({})).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/policies", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => page(&ctx, &path.server_id, None, Some(FormError::place(&err, &[]))).await,
    }
}
