//! Discovery: list everything an upstream offers (all pages, bounded) and merge it with what
//! was stored before, applying the approval rules of [`crate::domain::upstream`].

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::{Connection, UpstreamError};
use crate::domain::upstream::{self, ApprovalPolicy, ApprovalState};
use crate::store::{Catalogue, UpstreamItemRecord, UpstreamToolRecord};

/// Most pages followed per list.
pub const MAX_PAGES: usize = 100;
/// Most items kept per list.
pub const MAX_ITEMS: usize = 10_000;

/// What an upstream offers right now.
#[derive(Debug, Default, Clone)]
pub struct Offer {
    pub tools: Vec<Value>,
    pub prompts: Vec<Value>,
    pub resources: Vec<Value>,
    pub templates: Vec<Value>,
}

/// Lists an upstream's tools, prompts, resources and resource templates.
pub async fn discover(conn: &Connection) -> Result<Offer, UpstreamError> {
    let caps = conn.facts().capabilities.clone();
    let has = |name: &str| caps.get(name).is_some_and(|c| !c.is_null());
    let mut offer = Offer::default();
    if has("tools") {
        offer.tools = list_all(conn, "tools/list", "tools", |t| valid_named(t, "name")).await?;
    }
    if has("prompts") {
        offer.prompts = list_all(conn, "prompts/list", "prompts", |p| valid_named(p, "name")).await?;
    }
    if has("resources") {
        offer.resources = list_all(conn, "resources/list", "resources", |r| valid_named(r, "uri")).await?;
        // Some servers offer resources but not templates: a -32601 there means "none".
        offer.templates = match list_all(conn, "resources/templates/list", "resourceTemplates", |r| {
            valid_named(r, "uriTemplate")
        })
        .await
        {
            Err(UpstreamError::Rpc { code: -32601, .. }) => Vec::new(),
            other => other?,
        };
    }
    Ok(offer)
}

/// Lists an upstream's tools alone.
pub async fn list_tools(conn: &Connection) -> Result<Vec<Value>, UpstreamError> {
    list_all(conn, "tools/list", "tools", |t| valid_named(t, "name")).await
}

fn valid_named(item: &Value, key: &str) -> bool {
    item.get(key).and_then(Value::as_str).is_some_and(|s| !s.is_empty() && s.len() <= 1024)
}

async fn list_all(
    conn: &Connection,
    method: &str,
    field: &str,
    valid: impl Fn(&Value) -> bool,
) -> Result<Vec<Value>, UpstreamError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let page = conn.request(method, params, None).await?;
        let Some(list) = page.get(field).and_then(Value::as_array) else {
            return Err(UpstreamError::Protocol(format!("{method} answered without a {field} array")));
        };
        for item in list {
            if valid(item) {
                items.push(item.clone());
            } else {
                tracing::warn!(method, "an upstream listed an item without a valid name; skipped");
            }
            if items.len() > MAX_ITEMS {
                return Err(UpstreamError::Protocol(format!(
                    "{method} returned more than {MAX_ITEMS} items"
                )));
            }
        }
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) if !next.is_empty() && Some(next) != cursor.as_deref() => {
                cursor = Some(next.to_string())
            }
            _ => return Ok(items),
        }
    }
    Err(UpstreamError::Protocol(format!("{method} did not end after {MAX_PAGES} pages")))
}

/// A tool whose approved definition changed (it is withheld until approved again).
#[derive(Debug, Clone)]
pub struct ChangedTool {
    pub name: String,
    pub old_hash: Option<String>,
    pub new_hash: String,
}

/// Builds the new catalogue from an offer and the stored tools.
pub fn merge(
    upstream_id: &str,
    policy: ApprovalPolicy,
    previous: &[UpstreamToolRecord],
    offer: &Offer,
    now: i64,
) -> (Catalogue, Vec<ChangedTool>) {
    let before: HashMap<&str, &UpstreamToolRecord> = previous.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut seen = HashSet::new();
    let mut catalogue = Catalogue::default();
    let mut changed = Vec::new();
    for (position, tool) in offer.tools.iter().enumerate() {
        let name = tool["name"].as_str().unwrap_or_default().to_string();
        if !seen.insert(name.clone()) {
            continue; // a duplicate name: the first definition wins
        }
        let hash = upstream::definition_hash(tool);
        let old = before.get(name.as_str());
        let prior = old.map(|t| {
            (
                ApprovalState::parse(&t.approval_state).unwrap_or(ApprovalState::NeedsApproval),
                t.approved_hash.as_deref(),
            )
        });
        let approval = upstream::approval_after_refresh(policy, prior, &hash);
        if approval.changed_since_approval {
            changed.push(ChangedTool {
                name: name.clone(),
                old_hash: approval.approved_hash.clone(),
                new_hash: hash.clone(),
            });
        }
        let definition = tool.to_string();
        let approved_definition = match approval.approved_hash.as_deref() {
            None => None,
            Some(approved) if approved == hash => Some(definition.clone()),
            // Changed since approval: keep what was approved (the previous definition, when it
            // was still the approved one).
            Some(approved) => old.and_then(|t| {
                t.approved_definition
                    .clone()
                    .or_else(|| (t.definition_hash == approved).then(|| t.definition.clone()))
            }),
        };
        catalogue.tools.push(UpstreamToolRecord {
            upstream_id: upstream_id.to_string(),
            name,
            definition,
            definition_hash: hash,
            approved_hash: approval.approved_hash,
            approved_definition,
            approval_state: approval.state.as_str().to_string(),
            enabled: old.is_none_or(|t| t.enabled),
            position: position as i64,
            updated_at: now,
        });
    }
    for (kind, list, key) in [
        ("prompt", &offer.prompts, "name"),
        ("resource", &offer.resources, "uri"),
        ("resource_template", &offer.templates, "uriTemplate"),
    ] {
        let mut keys = HashSet::new();
        for (position, item) in list.iter().enumerate() {
            let k = item[key].as_str().unwrap_or_default().to_string();
            if keys.insert(k.clone()) {
                catalogue.items.push(UpstreamItemRecord {
                    upstream_id: upstream_id.to_string(),
                    kind: kind.to_string(),
                    key: k,
                    definition: item.to_string(),
                    position: position as i64,
                });
            }
        }
    }
    (catalogue, changed)
}
