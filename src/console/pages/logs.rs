//! A server's Logs tab: the calls its data logging kept (metadata, or also arguments and
//! results), filtered by tool, outcome and day, older pages by cursor; and the data-logging
//! setting (mode and retention).

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::servers::{ServerPath, load};
use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout::{Section, ServerTab, server_header};

const OUTCOMES: [&str; 5] = ["ok", "tool_error", "error", "rate_limited", "input_required"];

/// `?tool=…&outcome=…&since=YYYY-MM-DD&cursor=…`.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    tool: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /orgs/{org}/servers/{serverId}/logs`.
pub async fn list(
    ctx: Ctx,
    Path(path): Path<ServerPath>,
    Query(q): Query<LogQuery>,
) -> Result<Response, Fault> {
    page(&ctx, &path.server_id, &q, None).await
}

async fn page(ctx: &Ctx, server_id: &str, q: &LogQuery, error: Option<FormError>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(ctx, server_id).await?;
    let setting = ctx.run_in_org("get_data_logging", &[("serverId", server_id)], json!({})).await?;
    let setting = &setting["dataLogging"];
    let mut input = Map::new();
    input.insert("limit".into(), json!(50));
    for (key, value) in [("tool", &q.tool), ("outcome", &q.outcome), ("cursor", &q.cursor)] {
        if !value.is_empty() {
            input.insert(key.into(), json!(value));
        }
    }
    if !q.since.is_empty() {
        input.insert("since".into(), json!(format!("{}T00:00:00Z", q.since)));
    }
    let (logs, next, list_error) =
        match ctx.run_in_org("list_call_logs", &[("serverId", server_id)], Value::Object(input)).await {
            Ok(found) => (
                found["logs"].as_array().cloned().unwrap_or_default(),
                found["nextCursor"].as_str().map(str::to_string),
                None,
            ),
            Err(err) => (Vec::new(), None, Some(FormError::place(&err, &[]))),
        };
    let base = format!("/orgs/{}/servers/{server_id}/logs", org.slug);
    let can_write = org.can("servers:write");
    let error = error.as_ref().or(list_error.as_ref());
    let mode = text(&setting["mode"]);
    let older = next.map(|cursor| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("tool", &q.tool)
            .append_pair("outcome", &q.outcome)
            .append_pair("since", &q.since)
            .append_pair("cursor", &cursor)
            .finish();
        format!("{base}?{query}")
    });
    let body = html! {
        (server_header(&org.slug, server_id, &text(&server["name"]), ServerTab::Logs))
        (general_error(error))
        section.card {
            h2 { "Data logging" }
            form.inline method="post" action={ (base) "/setting" } {
                (csrf_input(&ctx.csrf))
                label for="mode" { "Keep" }
                select #mode name="mode" disabled[!can_write] {
                    option value="off" selected[mode == "off"] { "nothing" }
                    option value="metadata" selected[mode == "metadata"] { "metadata: time, key, tool, outcome, latency" }
                    option value="full" selected[mode == "full"] { "everything: also arguments and results" }
                }
                label for="retentionDays" { "for" }
                input #retentionDays name="retentionDays" inputmode="numeric" value=(setting["retentionDays"].as_i64().unwrap_or(30))
                    disabled[!can_write] aria-describedby="retentionDays-error";
                span { "days (1 to 90)" }
                @if can_write { button.primary type="submit" { "Save" } }
                (field_error(error, "retentionDays", "retentionDays-error"))
            }
        }
        form.filters method="get" action=(base) role="search" {
            div { label for="tool" { "Tool" } input #tool name="tool" value=(q.tool); }
            div {
                label for="outcome" { "Outcome" }
                select #outcome name="outcome" {
                    option value="" { "Any outcome" }
                    @for o in OUTCOMES { option value=(o) selected[q.outcome == o] { (o.replace('_', " ")) } }
                }
            }
            div { label for="since" { "Since" } input #since type="date" name="since" value=(q.since); }
            div.filter-go { button.secondary type="submit" { "Filter" } }
        }
        @if logs.is_empty() {
            p.muted { @if mode == "off" { "Data logging is off: turn it on above to keep calls." } @else { "No calls match." } }
        } @else {
            table.list {
                thead { tr { th { "When" } th { "Tool" } th { "Outcome" } th.num { "Latency" } th { "Key" } } }
                tbody {
                    @for l in &logs {
                        @let outcome = text(&l["outcome"]);
                        tr {
                            td.nowrap { (when(&text(&l["createdAt"]))) }
                            td {
                                code { (text(&l["tool"])) }
                                @if !l["arguments"].is_null() || !l["result"].is_null() {
                                    details.payload {
                                        summary { "Arguments and result" }
                                        pre { code { (serde_json::to_string_pretty(&l["arguments"]).unwrap_or_default()) } }
                                        pre { code { (serde_json::to_string_pretty(&l["result"]).unwrap_or_default()) } }
                                    }
                                }
                            }
                            td { span class={ "badge " (if outcome == "ok" { "active" } else { "error" }) } { (outcome.replace('_', " ")) } }
                            td.num { (l["latencyMs"].as_i64().unwrap_or(0)) " ms" }
                            td.small { code { (text(&l["keyId"])) } }
                        }
                    }
                }
            }
            @if let Some(href) = older { nav.pager aria-label="Pages" { a href=(href) rel="next" { "Older →" } } }
        }
    };
    Ok((status_of(error), ctx.page("Logs", Section::Servers, body)).into_response())
}

/// `POST /orgs/{org}/servers/{serverId}/logs/setting`.
pub async fn set(ctx: Ctx, Path(path): Path<ServerPath>, fields: Fields) -> Result<Response, Fault> {
    let days = match fields.get("retentionDays").parse::<i64>() {
        Ok(days) => days,
        Err(_) => {
            let error = FormError::invalid("retentionDays", "retentionDays must be a whole number of days");
            return page(&ctx, &path.server_id, &LogQuery::default(), Some(error)).await;
        }
    };
    let input = json!({ "mode": fields.get("mode"), "retentionDays": days });
    match ctx.run_in_org("update_data_logging", &[("serverId", &path.server_id)], input).await {
        Ok(_) => Ok(Redirect::to(&format!("/orgs/{}/servers/{}/logs", ctx.org()?.slug, path.server_id))
            .into_response()),
        Err(err) => {
            let error = FormError::place(&err, &["retentionDays", "mode"]);
            page(&ctx, &path.server_id, &LogQuery::default(), Some(error)).await
        }
    }
}
