//! The server directory of the data plane: `(org, server slug)` → everything needed to serve
//! that server (status, its HTTP tools and the approved tools, prompts and resources of the
//! upstreams attached to it), from memory. Filled on first request, dropped when a
//! `server:<id>`, `upstream:<id>` or `org:<id>` change event arrives, or `secret:<id>` for a
//! secret one of its tools presents.

use hashbrown::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::crypto::MasterKey;
use crate::domain::http_tool::{self, AuthType, CREDENTIAL_PURPOSE, HttpMethod, Parameter};
use crate::domain::policy;
use crate::domain::upstream::{self as upstream_rules};
use crate::secrets::{SecretError, resolve_secret};
use crate::store::{HttpToolRecord, ServerRecord, Store, StoreResult, UpstreamRecord};
use crate::upstream::Spec;
use crate::upstream::http_tool::{HttpTool, prepare};
use gatehouse_mcp::model::{self, Tool};
use gatehouse_mcp::version::ProtocolVersion;

/// An upstream attached to a server, ready to be called.
#[derive(Debug)]
pub struct AttachedUpstream {
    pub spec: Arc<Spec>,
    pub name: String,
}

/// A tool or prompt of an attached upstream: which upstream, and its name there.
#[derive(Debug, Clone)]
pub struct UpstreamRef {
    /// Index into [`ServerEntry::upstreams`].
    pub upstream: usize,
    /// The name the upstream knows it by.
    pub original: String,
}

/// What a served tool name stands for.
#[derive(Debug)]
pub enum ToolTarget<'a> {
    /// One of the server's own HTTP tools.
    Http(&'a HttpTool),
    /// A tool of an attached upstream.
    Upstream(&'a UpstreamRef),
}

/// A server ready to be served.
#[derive(Debug)]
pub struct ServerEntry {
    pub server: ServerRecord,
    /// The server's own HTTP tools.
    pub tools: Vec<HttpTool>,
    /// Every served tool's listing, in order: HTTP tools, then each attached upstream's.
    pub tool_listings: Vec<Value>,
    /// The same listings as JSON text shaped for one revision (slot 0: unshaped), made on the
    /// first tools/list in that revision and kept as long as the entry: a list is then spliced
    /// together from text instead of cloning, shaping and serialising every tool per request.
    tool_json: [OnceLock<Box<[String]>>; 6],
    /// Attached, enabled upstreams.
    pub upstreams: Vec<AttachedUpstream>,
    /// The server's `Implementation` (name, Gatehouse's version) as JSON, stamped on results.
    pub server_info: Value,
    /// The same, as JSON text (written into answers made as text).
    pub server_info_json: Box<serde_json::value::RawValue>,
    /// Served prompts (namespaced) and resources, templates (as the upstreams list them).
    pub prompt_listings: Vec<Value>,
    pub resource_listings: Vec<Value>,
    pub template_listings: Vec<Value>,
    by_name: HashMap<String, usize>,
    upstream_tools: HashMap<String, UpstreamRef>,
    prompts: HashMap<String, UpstreamRef>,
    /// Resource URI → upstream index; templates in attachment order for matching.
    resources: HashMap<String, usize>,
    templates: Vec<(String, usize)>,
    /// Ids of the upstreams this entry was built from (for invalidation).
    pub upstream_ids: HashSet<String>,
    /// The server's policies.
    pub rules: Vec<policy::Rule>,
    /// What of its calls is logged.
    pub log_mode: crate::usage::LogMode,
    /// Every credential its tools and upstreams present (scrubbed from call logs).
    pub secrets: Vec<String>,
    /// Compiled inputSchemas of tools whose arguments a policy validates, by served name.
    pub validators: std::sync::Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// Secrets its HTTP tools present (a change to one drops the entry).
    secret_ids: HashSet<String>,
}

impl ServerEntry {
    /// An HTTP tool by name.
    pub fn tool(&self, name: &str) -> Option<&HttpTool> {
        self.by_name.get(name).map(|i| &self.tools[*i])
    }

    /// Whatever a served tool name stands for.
    pub fn target(&self, name: &str) -> Option<ToolTarget<'_>> {
        if let Some(t) = self.tool(name) {
            return Some(ToolTarget::Http(t));
        }
        self.upstream_tools.get(name).map(ToolTarget::Upstream)
    }

    /// Every served tool's listing as JSON text, shaped for `version` (unshaped for `None`,
    /// as [`gatehouse_mcp::shape::shape_result`] leaves a result of an unknown revision).
    pub fn tool_json(&self, version: Option<ProtocolVersion>) -> &[String] {
        let slot = version.map_or(0, |v| v as usize + 1);
        self.tool_json[slot].get_or_init(|| {
            self.tool_listings
                .iter()
                .map(|listing| match version {
                    Some(v) => {
                        let mut tool = listing.clone();
                        gatehouse_mcp::shape::downlevel_tool(&mut tool, v);
                        serde_json::to_string(&tool).unwrap_or_default()
                    }
                    None => serde_json::to_string(listing).unwrap_or_default(),
                })
                .collect()
        })
    }

    /// The inputSchema a served tool is listed with.
    pub fn input_schema(&self, name: &str) -> Option<&Value> {
        self.tool_listings.iter().find(|t| t["name"] == name).and_then(|t| t.get("inputSchema"))
    }

    /// The upstream prompt behind a served prompt name.
    pub fn prompt(&self, name: &str) -> Option<&UpstreamRef> {
        self.prompts.get(name)
    }

    /// The upstream that serves a resource URI: by exact URI, then by template match.
    pub fn resource_owner(&self, uri: &str) -> Option<usize> {
        self.resource_match(uri).map(|(_, i)| i)
    }

    /// What a resource URI is counted under in usage and metrics: the URI when the server lists
    /// it, else the template it matches (so that templated reads stay one series).
    pub fn resource_label<'a>(&'a self, uri: &'a str) -> Option<&'a str> {
        self.resource_match(uri).map(|(label, _)| label)
    }

    /// The listed URI or the template that `uri` matches, and its upstream's index.
    fn resource_match<'a>(&'a self, uri: &'a str) -> Option<(&'a str, usize)> {
        if let Some(i) = self.resources.get(uri) {
            return Some((uri, *i));
        }
        self.templates.iter().find(|(t, _)| template_matches(t, uri)).map(|(t, i)| (t.as_str(), *i))
    }

    /// Whether the server is disabled.
    pub fn disabled(&self) -> bool {
        self.server.status != "active"
    }
}

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
            t["name"].as_str().is_none_or(|name| policy::evaluate(&built.rules, name).denied_by.is_none())
        });
        built.log_mode = store
            .data_logging_get(&built.server.id)
            .await?
            .and_then(|d| crate::usage::LogMode::parse(&d.mode))
            .unwrap_or_default();
        let entry = Arc::new(built);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.entry(org.to_string()).or_default().insert(slug.to_string(), entry.clone());
        Ok(Some(entry))
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

/// Whether `uri` matches an RFC 6570 level-1 template (`file:///{path}`): literal parts must
/// match in order; each `{…}` matches one or more characters.
pub fn template_matches(template: &str, uri: &str) -> bool {
    let mut rest = uri;
    let mut parts = template.split('{');
    let Some(first) = parts.next() else { return false };
    let Some(after) = rest.strip_prefix(first) else { return false };
    rest = after;
    let mut pending_var = false;
    for part in parts {
        let Some((_, literal)) = part.split_once('}') else { return false };
        pending_var = true;
        if literal.is_empty() {
            continue;
        }
        match rest.get(1..).and_then(|r| r.find(literal)) {
            Some(pos) => {
                rest = &rest[pos + 1 + literal.len()..];
                pending_var = false;
            }
            None => return false,
        }
    }
    if pending_var { !rest.is_empty() } else { rest.is_empty() }
}

/// A stored policy as the data plane applies it (`None` for a row it cannot read).
pub fn rule(p: crate::store::PolicyRecord) -> Option<policy::Rule> {
    let action = match p.action.as_str() {
        "allow" => policy::PolicyAction::Allow,
        "deny" => policy::PolicyAction::Deny,
        _ => return None,
    };
    let rate = match (
        p.rate_requests,
        p.rate_per_seconds,
        p.rate_scope.as_deref().and_then(policy::RateScope::parse),
    ) {
        (Some(requests), Some(per_seconds), Some(scope)) => {
            Some(policy::RateLimit { requests, per_seconds, scope })
        }
        _ => None,
    };
    Some(policy::Rule {
        id: p.id,
        pattern: p.tool_pattern,
        action,
        rate,
        max_argument_bytes: p.max_argument_bytes,
        validate_arguments: p.validate_arguments,
    })
}

/// An attachment with what it needs from the store.
struct Attached {
    upstream: UpstreamRecord,
    /// The value of the org secret its credential comes from, when it can be read.
    secret: Option<String>,
    tools: Option<HashSet<String>>,
    prefix: String,
    catalogue: Vec<crate::store::UpstreamToolRecord>,
    items: Vec<crate::store::UpstreamItemRecord>,
}

/// The value (or why there is none) of every secret the tools reference.
async fn load_secrets(
    store: &dyn Store,
    master_key: &MasterKey,
    server: &ServerRecord,
    tools: &[HttpToolRecord],
) -> StoreResult<HashMap<String, Result<String, String>>> {
    let mut secrets = HashMap::new();
    for id in tools.iter().filter_map(|t| t.auth_secret_id.as_deref()) {
        if secrets.contains_key(id) {
            continue;
        }
        let value = match resolve_secret(store, master_key, &server.org_id, id).await {
            Ok(value) => Ok(value),
            Err(SecretError::Store(err)) => return Err(err),
            Err(err) => {
                tracing::warn!(server = %server.id, error = %err, "a tool's secret is unavailable");
                Err(format!("the tool's credential is unavailable: {err}"))
            }
        };
        secrets.insert(id.to_string(), value);
    }
    Ok(secrets)
}

async fn load_attachments(
    store: &dyn Store,
    master_key: &MasterKey,
    server: &ServerRecord,
) -> StoreResult<Vec<Attached>> {
    let mut out = Vec::new();
    for a in store.attachments_of_server(&server.org_id, &server.id).await? {
        let Some(upstream) = store.upstream_get(&server.org_id, &a.upstream_id).await? else { continue };
        let tools = a.tools.as_deref().and_then(|t| serde_json::from_str::<Vec<String>>(t).ok());
        let secret = match &upstream.auth_secret_id {
            None => None,
            Some(id) => match resolve_secret(store, master_key, &server.org_id, id).await {
                Ok(value) => Some(value),
                Err(SecretError::Store(err)) => return Err(err),
                Err(err) => {
                    tracing::warn!(upstream = %upstream.id, error = %err, "an upstream's secret is unavailable");
                    None
                }
            },
        };
        out.push(Attached {
            secret,
            catalogue: store.upstream_tools(&upstream.id).await?,
            items: store.upstream_items(&upstream.id).await?,
            upstream,
            tools: tools.map(|t| t.into_iter().collect()),
            prefix: a.prefix,
        });
    }
    Ok(out)
}

/// Builds an entry; `secrets` holds the value (or why there is none) of every secret referenced.
fn build(
    server: ServerRecord,
    records: Vec<HttpToolRecord>,
    secrets: &HashMap<String, Result<String, String>>,
    attached: Vec<Attached>,
    master_key: &MasterKey,
) -> ServerEntry {
    let mut tools = Vec::with_capacity(records.len());
    for t in records {
        let Ok(parameters) = serde_json::from_str::<Vec<Parameter>>(&t.parameters) else {
            tracing::error!(tool = %t.id, "stored tool parameters are unreadable; tool not served");
            continue;
        };
        let mut unavailable = None;
        let credential = match (&t.auth_secret_id, &t.auth_credential) {
            (Some(id), _) => match secrets.get(id) {
                Some(Ok(value)) => Some(value.clone()),
                Some(Err(why)) => {
                    unavailable = Some(why.clone());
                    None
                }
                None => {
                    unavailable = Some("the tool's credential is unavailable".into());
                    None
                }
            },
            (None, None) => None,
            (None, Some(sealed)) => match master_key.decrypt(CREDENTIAL_PURPOSE, sealed, t.id.as_bytes()) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                Err(err) => {
                    tracing::error!(tool = %t.id, error = %err, "tool credential cannot be decrypted; tool not served");
                    continue;
                }
            },
        };
        // A tool stored before the placeholder rule tightened is not called until it is edited.
        if let Err(why) = http_tool::placeholders(&t.endpoint_url) {
            unavailable =
                Some(format!("the tool's endpointUrl is no longer accepted ({why}); edit the tool"));
        }
        let input_schema = http_tool::input_schema(&parameters);
        let listing = model::to_value(&Tool {
            description: Some(t.description.clone()),
            ..Tool::new(&t.name, input_schema.clone())
        });
        tools.push(HttpTool {
            name: t.name,
            method: HttpMethod::parse(&t.method).unwrap_or(HttpMethod::Get),
            endpoint_url: t.endpoint_url,
            parameters,
            auth: AuthType::parse(&t.auth_type).unwrap_or(AuthType::None),
            auth_header: t.auth_header,
            credential,
            secret_id: t.auth_secret_id,
            unavailable,
            timeout: Duration::from_millis(t.timeout_ms.max(1) as u64),
            listing,
            input_schema,
            prepared: None,
        });
        let tool = tools.last_mut().expect("just pushed");
        match prepare(tool) {
            Ok(prepared) => tool.prepared = Some(prepared),
            Err(why) => {
                tool.unavailable.get_or_insert(why);
            }
        }
    }
    let by_name: HashMap<String, usize> =
        tools.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let secret_ids = tools.iter().filter_map(|t| t.secret_id.clone()).collect();
    let server_info = json!({"name": server.name, "version": env!("CARGO_PKG_VERSION")});
    let server_info_json = serde_json::value::to_raw_value(&server_info).expect("a JSON object");
    let mut entry = ServerEntry {
        server,
        tool_listings: tools.iter().map(|t| t.listing.clone()).collect(),
        tool_json: Default::default(),
        tools,
        upstreams: Vec::new(),
        server_info,
        server_info_json,
        prompt_listings: Vec::new(),
        resource_listings: Vec::new(),
        template_listings: Vec::new(),
        by_name,
        upstream_tools: HashMap::new(),
        prompts: HashMap::new(),
        resources: HashMap::new(),
        templates: Vec::new(),
        upstream_ids: HashSet::new(),
        rules: Vec::new(),
        log_mode: crate::usage::LogMode::Off,
        secrets: Vec::new(),
        validators: std::sync::Mutex::new(HashMap::new()),
        secret_ids,
    };
    for a in attached {
        // Invalidation must follow the upstream even while it is disabled or unreadable.
        entry.upstream_ids.insert(a.upstream.id.clone());
        if let Some(id) = &a.upstream.auth_secret_id {
            entry.secret_ids.insert(id.clone());
        }
        if !a.upstream.is_enabled {
            continue;
        }
        let spec = match Spec::from_record_with(&a.upstream, master_key, a.secret.as_deref()) {
            Ok(spec) => Arc::new(spec),
            Err(err) => {
                tracing::error!(upstream = %a.upstream.id, error = %err, "upstream cannot be served");
                continue;
            }
        };
        let index = entry.upstreams.len();
        entry.upstreams.push(AttachedUpstream { spec, name: a.upstream.name.clone() });
        for t in &a.catalogue {
            let chosen = a.tools.as_ref().is_none_or(|set| set.contains(&t.name));
            if !chosen
                || !upstream_rules::is_served(
                    &t.approval_state,
                    t.enabled,
                    &t.definition_hash,
                    t.approved_hash.as_deref(),
                )
            {
                continue;
            }
            let served = upstream_rules::served_name(&a.prefix, &t.name);
            if entry.by_name.contains_key(&served) || entry.upstream_tools.contains_key(&served) {
                tracing::warn!(server = %entry.server.id, tool = %served, "tool name collides; first one served");
                continue;
            }
            let Ok(mut listing) = serde_json::from_str::<Value>(&t.definition) else { continue };
            listing["name"] = json!(served);
            entry.tool_listings.push(listing);
            entry.upstream_tools.insert(served, UpstreamRef { upstream: index, original: t.name.clone() });
        }
        for item in &a.items {
            let Ok(mut listing) = serde_json::from_str::<Value>(&item.definition) else { continue };
            match item.kind.as_str() {
                "prompt" => {
                    let served = upstream_rules::served_name(&a.prefix, &item.key);
                    if entry.prompts.contains_key(&served) {
                        continue;
                    }
                    listing["name"] = json!(served);
                    entry.prompt_listings.push(listing);
                    entry.prompts.insert(served, UpstreamRef { upstream: index, original: item.key.clone() });
                }
                "resource" => {
                    if entry.resources.contains_key(&item.key) {
                        continue;
                    }
                    entry.resource_listings.push(listing);
                    entry.resources.insert(item.key.clone(), index);
                }
                "resource_template" => {
                    entry.template_listings.push(listing);
                    entry.templates.push((item.key.clone(), index));
                }
                _ => {}
            }
        }
    }
    let mut secrets = Vec::new();
    for t in &entry.tools {
        if let Some(c) = &t.credential {
            secrets.push(c.clone());
            // Basic credentials travel base64-encoded.
            secrets.push(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, c));
        }
    }
    for u in &entry.upstreams {
        for (name, value) in &u.spec.headers {
            let name = name.to_ascii_lowercase();
            if name == "authorization"
                || name.contains("key")
                || name.contains("token")
                || name.contains("secret")
            {
                secrets.push(value.clone());
                if let Some((_, token)) = value.split_once(' ') {
                    secrets.push(token.to_string());
                }
            }
        }
        secrets.extend(u.spec.env.values().cloned());
    }
    entry.secrets = secrets;
    entry
}

#[cfg(test)]
mod tests {
    use super::template_matches;

    #[test]
    fn templates_match_level_one_uris() {
        assert!(template_matches("demo://resource/{id}", "demo://resource/42"));
        assert!(!template_matches("demo://resource/{id}", "demo://resource/"));
        assert!(!template_matches("demo://resource/{id}", "other://resource/42"));
        assert!(template_matches("file:///{dir}/x/{name}.txt", "file:///a/x/b.txt"));
        assert!(!template_matches("file:///{dir}/x/{name}.txt", "file:///a/y/b.txt"));
        assert!(template_matches("plain://exact", "plain://exact"));
        assert!(!template_matches("plain://exact", "plain://exactly"));
    }
}
