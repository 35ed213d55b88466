//! How a connection learns about the server: `initialize` (2024-11-05 to 2025-11-25) and
//! `server/discover` (2026-07-28), and the capabilities both carry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::Implementation;
use super::result::ResultEnvelope;
use crate::version::{MODERN, ProtocolVersion};

/// `{listChanged?}`: the shape of the `tools` and `prompts` capabilities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChangedCapability {
    /// Whether the server sends list-changed notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `resources` capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    /// Whether clients may subscribe to resource updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<bool>,
    /// Whether the server sends list-changed notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a server offers. An absent member means the feature is not offered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerCapabilities {
    /// Tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ListChangedCapability>,
    /// Prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListChangedCapability>,
    /// Resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// Log messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Map<String, Value>>,
    /// Argument completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Map<String, Value>>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Map<String, Value>>,
    /// Extensions (2026-07-28; keys are `_meta`-style prefixed identifiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
    /// Everything else (e.g. 2025-11-25 `tasks`), as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerCapabilities {
    /// Tools, prompts and resources, without list-changed notifications: what a Gatehouse
    /// server of HTTP tools offers.
    pub fn tools_prompts_resources() -> Self {
        let off = || ListChangedCapability { list_changed: Some(false), extra: Map::new() };
        Self {
            tools: Some(off()),
            prompts: Some(off()),
            resources: Some(ResourcesCapability {
                subscribe: None,
                list_changed: Some(false),
                extra: Map::new(),
            }),
            ..Self::default()
        }
    }
}

/// The params of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The revision the client asks for.
    pub protocol_version: String,
    /// The client's capabilities.
    #[serde(default)]
    pub capabilities: Map<String, Value>,
    /// The client's name and version.
    pub client_info: Implementation,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The negotiated revision.
    pub protocol_version: String,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// The server's name and version.
    pub server_info: Implementation,
    /// Guidance for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InitializeResult {
    /// The answer to `initialize` at a negotiated revision.
    pub fn new(
        version: ProtocolVersion,
        capabilities: ServerCapabilities,
        server_info: Implementation,
    ) -> Self {
        Self {
            protocol_version: version.as_str().to_string(),
            capabilities,
            server_info,
            instructions: None,
            meta: None,
            extra: Map::new(),
        }
    }
}

/// The result of `server/discover` (2026-07-28 server/discover § DiscoverResult). The server's
/// identity goes in `_meta["io.modelcontextprotocol/serverInfo"]` (see
/// [`crate::shape::stamp_server_info`]); `resultType`, `ttlMs` and `cacheScope` are required and
/// added by [`crate::shape`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Revisions usable per request; the client picks one of these.
    pub supported_versions: Vec<String>,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Guidance for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// `_meta` and the 2026-07-28 fields.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DiscoverResult {
    /// A discover result listing the revisions usable per request ([`MODERN`]). Legacy
    /// revisions are not listed: a client would send them in `_meta`, where only modern ones
    /// are served, and they are reached with `initialize` anyway.
    pub fn new(capabilities: ServerCapabilities) -> Self {
        Self {
            supported_versions: MODERN.iter().map(|v| v.as_str().to_string()).collect(),
            capabilities,
            instructions: None,
            envelope: ResultEnvelope::default(),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn initialize_and_discover() {
        let caps = ServerCapabilities::tools_prompts_resources();
        let mut init =
            InitializeResult::new(ProtocolVersion::V2025_06_18, caps.clone(), Implementation::new("s", "1"));
        init.instructions = Some("hi".into());
        let v = serde_json::to_value(&init).unwrap();
        assert_eq!(v["protocolVersion"], "2025-06-18");
        assert_eq!(v["capabilities"]["tools"], json!({"listChanged": false}));
        assert_eq!(serde_json::from_value::<InitializeResult>(v.clone()).unwrap(), init);
        let d = serde_json::to_value(DiscoverResult::new(caps)).unwrap();
        assert_eq!(d["supportedVersions"], json!(["2026-07-28"]));
        let p: InitializeParams = serde_json::from_value(json!({
            "protocolVersion": "2025-03-26", "capabilities": {"roots": {}}, "clientInfo": {"name": "c", "version": "0"}
        }))
        .unwrap();
        assert_eq!(p.client_info.name, "c");
        let caps: ServerCapabilities = serde_json::from_value(json!({"tasks": {"list": {}}})).unwrap();
        assert!(caps.extra.contains_key("tasks"));
    }
}
