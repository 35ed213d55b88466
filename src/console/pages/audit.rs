//! The Audit log: every change made in the org (and every refused attempt), newest first,
//! filtered by actor, action, outcome and time, a page at a time.

use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::when;
use crate::console::context::{Ctx, text};
use crate::console::fault::Fault;
use crate::console::form::{FormError, general_error, status_of};
use crate::console::layout::Section;

/// The filter form's fields (all optional).
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    /// A day (`YYYY-MM-DD`), from its start.
    #[serde(default)]
    since: String,
    /// A day, up to its end.
    #[serde(default)]
    until: String,
    #[serde(default)]
    before: String,
}

const OUTCOMES: [(&str, &str); 7] = [
    ("", "Any outcome"),
    ("success", "Succeeded"),
    ("failure", "Failed or refused"),
    ("insufficient_scope", "Refused: missing scope"),
    ("invalid_input", "Invalid input"),
    ("conflict", "Conflict"),
    ("not_found", "Not found"),
];

/// `GET /orgs/{org}/audit`.
pub async fn list(ctx: Ctx, Query(f): Query<AuditFilter>) -> Result<Response, Fault> {
    let org = ctx.org()?;
    let mut input = Map::new();
    for (key, value) in
        [("actor", &f.actor), ("action", &f.action), ("outcome", &f.outcome), ("before", &f.before)]
    {
        if !value.trim().is_empty() {
            input.insert(key.into(), json!(value.trim()));
        }
    }
    if !f.since.is_empty() {
        input.insert("since".into(), json!(format!("{}T00:00:00Z", f.since)));
    }
    if !f.until.is_empty() {
        input.insert("until".into(), json!(format!("{}T23:59:59.999Z", f.until)));
    }
    let (events, next, error) = match ctx.run_in_org("list_audit_events", &[], Value::Object(input)).await {
        Ok(page) => (
            page["events"].as_array().cloned().unwrap_or_default(),
            page["nextCursor"].as_str().map(str::to_string),
            None,
        ),
        Err(err) => (Vec::new(), None, Some(FormError::place(&err, &[]))),
    };
    let actions: Vec<&str> = ctx.ops.mutating_names();
    let base = format!("/orgs/{}/audit", org.slug);
    let older = next.map(|cursor| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", &f.actor)
            .append_pair("action", &f.action)
            .append_pair("outcome", &f.outcome)
            .append_pair("since", &f.since)
            .append_pair("until", &f.until)
            .append_pair("before", &cursor)
            .finish();
        format!("{base}?{query}")
    });
    let error = error.as_ref();
    let body = html! {
        h1 { "Audit log" }
        p.lead { "Every change made in this organization, by whom, and how it ended — refusals included." }
        form.filters method="get" action=(base) role="search" {
            div { label for="actor" { "Actor" } input #actor name="actor" value=(f.actor) placeholder="user, token, dev or an id"; }
            div {
                label for="action" { "Action" }
                select #action name="action" {
                    option value="" { "Any action" }
                    @for a in &actions { option value=(a) selected[f.action == *a] { (a) } }
                }
            }
            div {
                label for="outcome" { "Outcome" }
                select #outcome name="outcome" {
                    @for (v, l) in OUTCOMES { option value=(v) selected[f.outcome == v] { (l) } }
                }
            }
            div { label for="since" { "From" } input #since type="date" name="since" value=(f.since); }
            div { label for="until" { "To" } input #until type="date" name="until" value=(f.until); }
            div.filter-go { button.secondary type="submit" { "Filter" } }
        }
        (general_error(error))
        @if events.is_empty() && error.is_none() {
            p.muted { "No events match." }
        } @else if !events.is_empty() {
            table.list {
                thead { tr { th { "When" } th { "Actor" } th { "Action" } th { "Target" } th { "Outcome" } } }
                tbody {
                    @for e in &events {
                        @let outcome = text(&e["outcome"]);
                        tr {
                            td.nowrap { (when(&text(&e["createdAt"]))) }
                            td { (text(&e["actorType"])) @if let Some(id) = e["actorId"].as_str() { br; code.small { (id) } } }
                            td { code { (text(&e["action"])) } }
                            td.small { code.url { (text(&e["target"])) } }
                            td { span class={ "badge " (if outcome == "success" { "active" } else { "error" }) } { (outcome) } }
                        }
                    }
                }
            }
            @if let Some(href) = older { nav.pager aria-label="Pages" { a href=(href) rel="next" { "Older →" } } }
        }
    };
    Ok((status_of(error), ctx.page("Audit log", Section::Audit, body)).into_response())
}
