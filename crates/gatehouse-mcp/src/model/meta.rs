//! Request `_meta` of 2026-07-28: the per-request protocol fields (basic § `_meta`,
//! "Per-request protocol fields").

use serde_json::{Map, Value};

use super::common::Implementation;
use crate::jsonrpc::RpcError;

/// Reserved `_meta` keys.
pub mod keys {
    /// Revision of a request (required on 2026-07-28 requests).
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    /// Client name and version (SHOULD be sent).
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    /// Client capabilities for this request (required on 2026-07-28 requests).
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    /// Minimum log level for this request (optional; absent means no log notifications).
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    /// Server name and version, on results.
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    /// Correlates a notification with its `subscriptions/listen` request.
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
    /// Opts a request into progress notifications.
    pub const PROGRESS_TOKEN: &str = "progressToken";
    /// Keys a 2026-07-28 request carries that earlier revisions do not know; removed when a
    /// request is relayed to an older upstream.
    pub const PER_REQUEST: &[&str] = &[PROTOCOL_VERSION, CLIENT_INFO, CLIENT_CAPABILITIES, LOG_LEVEL];
}

/// Why a 2026-07-28 request's `_meta` is malformed. Answered with -32602 and HTTP 400
/// (basic § `_meta`: "A request missing any required field is malformed").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    /// `params._meta` is absent or not an object.
    #[error("params._meta is required and must be an object")]
    NoMeta,
    /// A required key is absent.
    #[error("_meta[\"{0}\"] is required")]
    Missing(&'static str),
    /// A key has the wrong type.
    #[error("_meta[\"{0}\"] has the wrong type")]
    WrongType(&'static str),
}

impl MetaError {
    /// -32602 with HTTP 400.
    pub fn to_rpc_error(&self) -> RpcError {
        RpcError::invalid_params(self.to_string()).with_status(400)
    }
}

/// The per-request protocol fields of a 2026-07-28 request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    /// The revision the request speaks (not yet checked against what we support).
    pub protocol_version: String,
    /// The client's capabilities for this request.
    pub client_capabilities: Map<String, Value>,
    /// The client's self-reported identity, when present and well-formed.
    pub client_info: Option<Implementation>,
    /// Requested log level.
    pub log_level: Option<String>,
    /// Progress token.
    pub progress_token: Option<Value>,
}

impl RequestMeta {
    /// Reads `params._meta`: the protocol version (a string) and the client capabilities (an
    /// object) are required; client info is optional and ignored when malformed (it is
    /// self-reported and for display only).
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, MetaError> {
        let meta = params.get("_meta").and_then(Value::as_object).ok_or(MetaError::NoMeta)?;
        Self::from_meta(meta)
    }

    /// Reads a `_meta` object (see [`RequestMeta::from_params`]).
    pub fn from_meta(meta: &Map<String, Value>) -> Result<Self, MetaError> {
        let protocol_version = match meta.get(keys::PROTOCOL_VERSION) {
            None => return Err(MetaError::Missing(keys::PROTOCOL_VERSION)),
            Some(Value::String(v)) => v.clone(),
            Some(_) => return Err(MetaError::WrongType(keys::PROTOCOL_VERSION)),
        };
        let client_capabilities = match meta.get(keys::CLIENT_CAPABILITIES) {
            None => return Err(MetaError::Missing(keys::CLIENT_CAPABILITIES)),
            Some(Value::Object(c)) => c.clone(),
            Some(_) => return Err(MetaError::WrongType(keys::CLIENT_CAPABILITIES)),
        };
        let client_info = meta.get(keys::CLIENT_INFO).and_then(|v| serde_json::from_value(v.clone()).ok());
        let log_level = meta.get(keys::LOG_LEVEL).and_then(Value::as_str).map(str::to_string);
        let progress_token = meta.get(keys::PROGRESS_TOKEN).cloned();
        Ok(Self { protocol_version, client_capabilities, client_info, log_level, progress_token })
    }

    /// Whether the client declared a capability (a top-level key of `clientCapabilities`, e.g.
    /// `"elicitation"`, `"sampling"`, `"roots"`).
    pub fn has_capability(&self, name: &str) -> bool {
        self.client_capabilities.contains_key(name)
    }
}

/// The protocol version a request's params declare in `_meta`, if any (a string).
pub fn declared_version(params: &Map<String, Value>) -> Option<&str> {
    params.get("_meta")?.get(keys::PROTOCOL_VERSION)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(meta: Value) -> Map<String, Value> {
        json!({"_meta": meta}).as_object().unwrap().clone()
    }

    #[test]
    fn required_fields() {
        let ok = RequestMeta::from_params(&params(json!({
            keys::PROTOCOL_VERSION: "2026-07-28",
            keys::CLIENT_CAPABILITIES: {"elicitation": {}},
            keys::CLIENT_INFO: {"name": "c", "version": "1"},
            keys::LOG_LEVEL: "info",
            "progressToken": 3
        })))
        .unwrap();
        assert_eq!(ok.protocol_version, "2026-07-28");
        assert!(ok.has_capability("elicitation") && !ok.has_capability("sampling"));
        assert_eq!(ok.client_info.unwrap().name, "c");
        assert_eq!((ok.log_level.as_deref(), ok.progress_token), (Some("info"), Some(json!(3))));

        assert_eq!(RequestMeta::from_params(&Map::new()), Err(MetaError::NoMeta));
        assert_eq!(
            RequestMeta::from_params(&params(json!({keys::CLIENT_CAPABILITIES: {}}))),
            Err(MetaError::Missing(keys::PROTOCOL_VERSION))
        );
        assert_eq!(
            RequestMeta::from_params(&params(json!({keys::PROTOCOL_VERSION: "2026-07-28"}))),
            Err(MetaError::Missing(keys::CLIENT_CAPABILITIES))
        );
        let wrong = RequestMeta::from_params(&params(
            json!({keys::PROTOCOL_VERSION: 1, keys::CLIENT_CAPABILITIES: {}}),
        ));
        assert_eq!(wrong, Err(MetaError::WrongType(keys::PROTOCOL_VERSION)));
        let e = wrong.unwrap_err().to_rpc_error();
        assert_eq!((e.code, e.status), (-32602, 400));
        let bad_info = RequestMeta::from_params(&params(json!({
            keys::PROTOCOL_VERSION: "x", keys::CLIENT_CAPABILITIES: {}, keys::CLIENT_INFO: 5
        })));
        assert_eq!(bad_info.unwrap().client_info, None);
        assert_eq!(declared_version(&params(json!({keys::PROTOCOL_VERSION: "v"}))), Some("v"));
        assert_eq!(declared_version(&Map::new()), None);
    }
}
