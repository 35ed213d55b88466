//! A server ready to be served: its record, its HTTP tools, the attached upstreams' approved
//! tools, prompts and resources, its policies, and its tools/list text per revision.

use hashbrown::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::domain::policy;
use crate::store::ServerRecord;
use crate::upstream::Spec;
use crate::upstream::http_tool::HttpTool;
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
    pub(super) tool_json: [OnceLock<Box<[String]>>; 6],
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
    pub(super) by_name: HashMap<String, usize>,
    pub(super) upstream_tools: HashMap<String, UpstreamRef>,
    pub(super) prompts: HashMap<String, UpstreamRef>,
    /// Resource URI → upstream index; templates in attachment order for matching.
    pub(super) resources: HashMap<String, usize>,
    pub(super) templates: Vec<(String, usize)>,
    /// Ids of the upstreams this entry was built from (for invalidation).
    pub upstream_ids: HashSet<String>,
    /// The server's policies.
    pub rules: Vec<policy::Rule>,
    /// What of its calls is logged.
    pub log_mode: crate::usage::LogMode,
    /// Who may connect a client by signing in (OAuth) besides API keys.
    pub sign_in: crate::domain::client_access::SignIn,
    /// Where its calls are sent as analytics events (PostHog), when it is integrated.
    pub analytics: Option<Arc<crate::integrations::posthog::Destination>>,
    /// Every credential its tools and upstreams present (scrubbed from call logs).
    pub secrets: Vec<String>,
    /// Compiled inputSchemas of tools whose arguments a policy validates, by served name.
    pub validators: std::sync::Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// Secrets its HTTP tools present (a change to one drops the entry).
    pub(super) secret_ids: HashSet<String>,
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
