//! The server directory of the data plane: `(org, server slug)` → everything needed to serve
//! that server (status, tools ready to list and call), from memory. Filled on first request,
//! dropped when a `server:<id>` or `org:<id>` change event arrives.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::http_tools::CREDENTIAL_PURPOSE;
use crate::crypto::MasterKey;
use crate::domain::http_tool::{self, AuthType, HttpMethod, Parameter};
use crate::store::{HttpToolRecord, ServerRecord, Store, StoreResult};

/// A tool ready to be listed and called.
#[derive(Debug)]
pub struct ToolEntry {
    pub name: String,
    pub method: HttpMethod,
    pub endpoint_url: String,
    pub parameters: Vec<Parameter>,
    pub auth: AuthType,
    pub auth_header: Option<String>,
    /// The decrypted credential (held in memory only).
    pub credential: Option<String>,
    pub timeout: Duration,
    /// The MCP `Tool` object shown by tools/list.
    pub listing: Value,
    pub input_schema: Value,
}

/// A server ready to be served.
#[derive(Debug)]
pub struct ServerEntry {
    pub server: ServerRecord,
    pub tools: Vec<ToolEntry>,
    by_name: HashMap<String, usize>,
}

impl ServerEntry {
    /// A tool by name.
    pub fn tool(&self, name: &str) -> Option<&ToolEntry> {
        self.by_name.get(name).map(|i| &self.tools[*i])
    }

    /// Whether the server is disabled.
    pub fn disabled(&self) -> bool {
        self.server.status != "active"
    }
}

/// The directory.
#[derive(Default)]
pub struct Directory {
    entries: RwLock<HashMap<(String, String), Arc<ServerEntry>>>,
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
        let key = (org.to_string(), slug.to_string());
        if let Some(hit) = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Some(hit.clone()));
        }
        let Some(org_row) = store.org_find(org).await? else { return Ok(None) };
        let Some(server) = store.server_by_slug(&org_row.id, slug).await? else { return Ok(None) };
        let tools = store.tool_list(&server.org_id, &server.id).await?;
        let entry = Arc::new(build(server, tools, master_key));
        self.entries.write().unwrap_or_else(|p| p.into_inner()).insert(key, entry.clone());
        Ok(Some(entry))
    }

    /// Applies a change event.
    pub fn apply(&self, change: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if change == "*" {
            entries.clear();
        } else if let Some(id) = change.strip_prefix("server:") {
            entries.retain(|_, e| e.server.id != id);
        } else if let Some(id) = change.strip_prefix("org:") {
            entries.retain(|_, e| e.server.org_id != id);
        }
    }
}

fn build(server: ServerRecord, records: Vec<HttpToolRecord>, master_key: &MasterKey) -> ServerEntry {
    let mut tools = Vec::with_capacity(records.len());
    for t in records {
        let Ok(parameters) = serde_json::from_str::<Vec<Parameter>>(&t.parameters) else {
            tracing::error!(tool = %t.id, "stored tool parameters are unreadable; tool not served");
            continue;
        };
        let credential = match &t.auth_credential {
            None => None,
            Some(sealed) => match master_key.decrypt(CREDENTIAL_PURPOSE, sealed, t.id.as_bytes()) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                Err(err) => {
                    tracing::error!(tool = %t.id, error = %err, "tool credential cannot be decrypted; tool not served");
                    continue;
                }
            },
        };
        let input_schema = http_tool::input_schema(&parameters);
        let listing = json!({"name": t.name, "description": t.description, "inputSchema": input_schema});
        tools.push(ToolEntry {
            name: t.name,
            method: HttpMethod::parse(&t.method).unwrap_or(HttpMethod::Get),
            endpoint_url: t.endpoint_url,
            parameters,
            auth: AuthType::parse(&t.auth_type).unwrap_or(AuthType::None),
            auth_header: t.auth_header,
            credential,
            timeout: Duration::from_millis(t.timeout_ms.max(1) as u64),
            listing,
            input_schema,
        });
    }
    let by_name = tools.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    ServerEntry { server, tools, by_name }
}
