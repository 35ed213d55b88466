//! The server directory of the data plane: `(org, server slug)` → everything needed to serve
//! that server (status, its HTTP tools and the approved tools, prompts and resources of the
//! upstreams attached to it), from memory. Filled on first request, dropped when a
//! `server:<id>`, `upstream:<id>` or `org:<id>` change event arrives, or `secret:<id>` for a
//! secret one of its tools presents.

use hashbrown::HashMap;
use std::sync::{Arc, RwLock};

use crate::crypto::MasterKey;
use crate::domain::policy;
use crate::store::{Store, StoreResult};

mod build;
mod entry;

pub use build::rule;
use build::{build, load_attachments, load_secrets};
pub use entry::{AttachedUpstream, ServerEntry, ToolTarget, UpstreamRef, template_matches};

/// The directory.
#[derive(Default)]
pub struct Directory {
    /// Org (id or slug, as requested) → server slug → entry; looked up without allocating.
    entries: RwLock<HashMap<String, HashMap<String, Arc<ServerEntry>>>>,
}

impl Directory {
    /// Finds a server by org (id or slug) and server slug.
    pub async fn get(
        &self,
        store: &dyn Store,
        master_key: &MasterKey,
        org: &str,
        slug: &str,
    ) -> StoreResult<Option<Arc<ServerEntry>>> {
        let cached = self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(org)
            .and_then(|m| m.get(slug))
            .cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(org_row) = store.org_find(org).await? else { return Ok(None) };
        let Some(server) = store.server_by_slug(&org_row.id, slug).await? else { return Ok(None) };
        let tools = store.tool_list(&server.org_id, &server.id).await?;
        let secrets = load_secrets(store, master_key, &server, &tools).await?;
        let attached = load_attachments(store, master_key, &server).await?;
        let rules =
            store.policy_list(&server.org_id, &server.id).await?.into_iter().filter_map(rule).collect();
        let mut built = build(server, tools, &secrets, attached, master_key);
        built.rules = rules;
        // A tool a policy denies is not served at all: not listed either.
        built.tool_listings.retain(|t| {
            t["name"]
                .as_str()
                .is_none_or(|name| policy::evaluate(&built.rules, name, None).denied_by.is_none())
        });
        built.log_mode = store
            .data_logging_get(&built.server.id)
            .await?
            .and_then(|d| crate::usage::LogMode::parse(&d.mode))
            .unwrap_or_default();
        built.sign_in = crate::domain::client_access::SignIn::parse(
            store.client_access_get(&built.server.id).await?.as_deref(),
        );
        built.analytics = analytics(store, master_key, &built.server.id).await?;
        let entry = Arc::new(built);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.entry(org.to_string()).or_default().insert(slug.to_string(), entry.clone());
        Ok(Some(entry))
    }

    /// The slug of the server `server_id` when an entry of it is in memory (for endpoints that
    /// know a server by its credential, not its path); a scan of what this node serves.
    pub fn slug_of(&self, server_id: &str) -> Option<String> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .values()
            .flat_map(|servers| servers.values())
            .find(|e| e.server.id == server_id)
            .map(|e| e.server.slug.clone())
    }

    /// Applies a change event; returns the ids of the servers whose entry was dropped.
    pub fn apply(&self, change: &str) -> Vec<String> {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let stale = |e: &ServerEntry| {
            if change == "*" {
                return true;
            }
            if let Some(id) = change.strip_prefix("server:") {
                return e.server.id == id;
            }
            if let Some(id) = change.strip_prefix("org:") {
                return e.server.org_id == id;
            }
            if let Some(id) = change.strip_prefix("upstream:") {
                return e.upstream_ids.contains(id);
            }
            if let Some(id) = change.strip_prefix("secret:") {
                return e.secret_ids.contains(id);
            }
            false
        };
        let mut dropped = Vec::new();
        entries.retain(|_, servers| {
            servers.retain(|_, e| {
                if stale(e) {
                    dropped.push(e.server.id.clone());
                    false
                } else {
                    true
                }
            });
            !servers.is_empty()
        });
        dropped.sort();
        dropped.dedup();
        dropped
    }
}

/// Where a server's calls go as PostHog events: an enabled integration whose key opens.
async fn analytics(
    store: &dyn Store,
    master_key: &MasterKey,
    server_id: &str,
) -> StoreResult<Option<Arc<crate::integrations::posthog::Destination>>> {
    use crate::integrations::stored;
    let Some(record) = store.integration_get(server_id, stored::POSTHOG).await? else { return Ok(None) };
    if !record.enabled {
        return Ok(None);
    }
    let settings: stored::PostHogSettings = stored::settings(&record);
    Ok(stored::open_key(master_key, &record)
        .map(|api_key| Arc::new(crate::integrations::posthog::Destination { host: settings.host, api_key })))
}
