//! Usage: calls, errors and latency per day over 7, 30 or 90 days — of the org, or narrowed to
//! a server, a key or a tool — as SVG charts with their numbers, and a server's figures by tool
//! and by key. Also a server's Usage tab (the same, the server fixed).

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::servers::{ServerPath, load};
use crate::console::chart;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::layout::{Section, ServerTab, server_header};

const DAY_MS: i64 = 86_400_000;

/// `?range=30d&server=…&key=…&tool=…`.
#[derive(Debug, Default, Deserialize)]
pub struct UsageQuery {
    #[serde(default)]
    range: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    tool: String,
}

impl UsageQuery {
    fn days(&self) -> i64 {
        match self.range.as_str() {
            "30d" => 30,
            "90d" => 90,
            _ => 7,
        }
    }

    fn range(&self) -> &'static str {
        match self.days() {
            30 => "30d",
            90 => "90d",
            _ => "7d",
        }
    }
}

/// `GET /orgs/{org}/usage`.
pub async fn org(ctx: Ctx, Query(q): Query<UsageQuery>) -> Result<Response, Fault> {
    let body = usage(&ctx, &q, None).await?;
    let body = html! { h1 { "Usage" } (body) };
    Ok(ctx.page("Usage", Section::Usage, body))
}

/// `GET /orgs/{org}/servers/{serverId}/usage`.
pub async fn server(
    ctx: Ctx,
    Path(path): Path<ServerPath>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let server = load(&ctx, &path.server_id).await?;
    let body = usage(&ctx, &q, Some(&path.server_id)).await?;
    let body = html! { (server_header(&org.slug, &path.server_id, &text(&server["name"]), ServerTab::Usage)) (body) };
    Ok(ctx.page("Usage", Section::Servers, body).into_response())
}

async fn usage(ctx: &Ctx, q: &UsageQuery, fixed_server: Option<&str>) -> Result<Markup, Fault> {
    let org = ctx.org()?;
    let server_id =
        fixed_server.map(str::to_string).or_else(|| Some(q.server.clone()).filter(|s| !s.is_empty()));
    let mut input = Map::new();
    input.insert("range".into(), json!(q.range()));
    if let Some(s) = &server_id {
        input.insert("serverId".into(), json!(s));
    }
    if !q.key.is_empty() {
        input.insert("keyId".into(), json!(q.key));
    }
    if !q.tool.is_empty() {
        input.insert("tool".into(), json!(q.tool));
    }
    let series = ctx.run_in_org("get_usage_timeseries", &[], Value::Object(input)).await?;
    let points = chart::points(&series);
    let servers = if fixed_server.is_none() {
        ctx.run_in_org("list_servers", &[], json!({})).await?
    } else {
        json!({})
    };
    // A server's figures by tool and by key over the same days.
    let breakdown = match &server_id {
        Some(id) => {
            let now = crate::domain::time::now_ms();
            let since = crate::domain::time::iso(now - now.rem_euclid(DAY_MS) - (q.days() - 1) * DAY_MS);
            let usage =
                ctx.run_in_org("get_server_usage", &[("serverId", id)], json!({ "since": since })).await?;
            let keys = ctx.run_in_org("list_keys", &[("serverId", id)], json!({})).await.unwrap_or_default();
            Some((usage, keys))
        }
        None => None,
    };
    let label_of = |key_id: &str| {
        breakdown
            .as_ref()
            .and_then(|(_, keys)| keys["keys"].as_array())
            .and_then(|ks| ks.iter().find(|k| k["keyId"] == key_id))
            .map_or_else(|| key_id.to_string(), |k| text(&k["label"]))
    };
    let total: i64 = points.iter().map(|p| p.calls).sum();
    let errors: i64 = points.iter().map(|p| p.errors).sum();
    let base = match fixed_server {
        Some(id) => format!("/orgs/{}/servers/{id}/usage", org.slug),
        None => format!("/orgs/{}/usage", org.slug),
    };
    Ok(html! {
        form.filters method="get" action=(base) {
            div {
                label for="range" { "Period" }
                select #range name="range" {
                    option value="7d" selected[q.range() == "7d"] { "Last 7 days" }
                    option value="30d" selected[q.range() == "30d"] { "Last 30 days" }
                    option value="90d" selected[q.range() == "90d"] { "Last 90 days" }
                }
            }
            @if fixed_server.is_none() {
                div {
                    label for="server" { "Server" }
                    select #server name="server" {
                        option value="" { "All servers" }
                        @for s in servers["servers"].as_array().into_iter().flatten() {
                            option value=(text(&s["serverId"])) selected[q.server == text(&s["serverId"])] { (text(&s["name"])) }
                        }
                    }
                }
            }
            @if let Some((usage, _)) = &breakdown {
                div {
                    label for="key" { "API key" }
                    select #key name="key" {
                        option value="" { "All keys" }
                        @for k in usage["usage"]["byKey"].as_object().into_iter().flat_map(|m| m.keys()) {
                            option value=(k) selected[q.key == *k] { (label_of(k)) }
                        }
                    }
                }
                div {
                    label for="tool" { "Tool" }
                    select #tool name="tool" {
                        option value="" { "All tools" }
                        @for t in usage["usage"]["byTool"].as_object().into_iter().flat_map(|m| m.keys()) {
                            option value=(t) selected[q.tool == *t] { (t) }
                        }
                    }
                }
            }
            div.filter-go { button.secondary type="submit" { "Show" } }
        }
        div.tiles {
            div.tile { span.figure { (total) } span.muted { "calls" } }
            div.tile { span.figure { (errors) } span.muted { "errors" } }
            div.tile {
                span.figure { @if total > 0 { (format!("{:.1}", 100.0 * errors as f64 / total as f64)) "%" } @else { "—" } }
                span.muted { "error rate" }
            }
            @if let Some((usage, _)) = &breakdown {
                div.tile { span.figure { (usage["usage"]["latencyP50Ms"].as_i64().unwrap_or(0)) " ms" } span.muted { "median latency" } }
                div.tile { span.figure { (usage["usage"]["latencyP95Ms"].as_i64().unwrap_or(0)) " ms" } span.muted { "p95 latency" } }
            }
        }
        section.card {
            h2 { "Calls per day" }
            (chart::calls("Calls per day", &points))
        }
        section.card {
            h2 { "Latency per day" }
            (chart::latency("Latency per day, median and 95th percentile", &points))
            (chart::table(&points))
        }
        @if let Some((usage, _)) = &breakdown {
            div.two {
                section.card { h2 { "By tool" } (breakdown_table(&usage["usage"]["byTool"], |t| t.to_string())) }
                section.card { h2 { "By key" } (breakdown_table(&usage["usage"]["byKey"], label_of)) }
            }
        }
    })
}

fn breakdown_table(by: &Value, name: impl Fn(&str) -> String) -> Markup {
    let mut rows: Vec<(&String, &Value)> = by.as_object().map(|m| m.iter().collect()).unwrap_or_default();
    rows.sort_by_key(|(_, t)| std::cmp::Reverse(t["calls"].as_i64().unwrap_or(0)));
    html! {
        @if rows.is_empty() { p.muted { "No calls in this period." } } @else {
            table.list.compact {
                thead { tr { th { "Name" } th.num { "Calls" } th.num { "Errors" } th.num { "p50 ms" } th.num { "p95 ms" } } }
                tbody {
                    @for (id, t) in rows {
                        tr {
                            td { (name(id)) }
                            td.num { (t["calls"].as_i64().unwrap_or(0)) }
                            td.num { (t["errors"].as_i64().unwrap_or(0)) }
                            td.num { (t["latencyP50Ms"].as_i64().unwrap_or(0)) }
                            td.num { (t["latencyP95Ms"].as_i64().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
    }
}
