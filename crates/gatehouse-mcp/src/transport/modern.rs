//! Validating a 2026-07-28 (stateless) request before it is served.
//!
//! The ladder, first failure wins (the official Python SDK runs the same order):
//! 1. `params._meta` carries `io.modelcontextprotocol/protocolVersion` (a string) and
//!    `io.modelcontextprotocol/clientCapabilities` (an object), else -32602 with HTTP 400
//!    (basic § `_meta`, per-request protocol fields);
//! 2. the standard headers mirror the body, else -32020 with HTTP 400 (streamable-http
//!    § Server Validation). This runs before the version check so a client whose header and
//!    body disagree is told that, not that one of them is unsupported;
//! 3. the declared revision is one served per request, else -32022 with HTTP 400 and
//!    `data: {supported, requested}` (versioning § Protocol Version Negotiation).

use serde_json::{Map, Value};

use super::headers::{HeaderError, HeaderLookup, PROTOCOL_VERSION, check_standard_headers};
use crate::jsonrpc::RpcError;
use crate::model::{MetaError, RequestMeta, declared_version};
use crate::version::{MODERN, ProtocolVersion};

/// A 2026-07-28 request that passed the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct ModernRequest {
    /// The revision it speaks.
    pub version: ProtocolVersion,
    /// Its per-request protocol fields.
    pub meta: RequestMeta,
}

/// Why a 2026-07-28 request is refused. Every case is HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModernError {
    /// Malformed `_meta` (-32602).
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Headers missing or not matching the body (-32020).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A revision not served per request (-32022).
    #[error("unsupported protocol version {requested:?}")]
    Unsupported {
        /// What the request declared.
        requested: String,
    },
}

impl ModernError {
    /// The error to answer, with HTTP 400.
    pub fn to_rpc_error(&self) -> RpcError {
        match self {
            Self::Meta(e) => e.to_rpc_error(),
            Self::Header(e) => e.to_rpc_error(),
            Self::Unsupported { requested } => RpcError::unsupported_version(requested, MODERN),
        }
    }
}

fn modern_version(requested: &str) -> Result<ProtocolVersion, ModernError> {
    ProtocolVersion::parse(requested)
        .filter(|v| MODERN.contains(v))
        .ok_or_else(|| ModernError::Unsupported { requested: requested.to_string() })
}

/// Runs the ladder over a request (`method`, `params`) and its headers.
pub fn validate_request<'a>(
    headers: &impl HeaderLookup<'a>,
    method: &str,
    params: &Map<String, Value>,
) -> Result<ModernRequest, ModernError> {
    let meta = RequestMeta::from_params(params)?;
    check_standard_headers(headers, method, params, Some(&meta.protocol_version))?;
    let version = modern_version(&meta.protocol_version)?;
    Ok(ModernRequest { version, meta })
}

/// Checks a notification POSTed under 2026-07-28. The revision defines no client-to-server
/// notifications on HTTP and no header rules for them (streamable-http § Sending Messages), so
/// only the revision is checked: `_meta`'s if declared, else the header's.
pub fn validate_notification<'a>(
    headers: &impl HeaderLookup<'a>,
    params: &Map<String, Value>,
) -> Result<ProtocolVersion, ModernError> {
    let requested = match declared_version(params) {
        Some(v) => v,
        None => headers.lookup(PROTOCOL_VERSION)?.unwrap_or_default(),
    };
    modern_version(requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::code;
    use crate::model::keys;
    use crate::transport::headers::RequestHeaders;
    use serde_json::json;

    fn params(version: Value) -> Map<String, Value> {
        json!({"name": "echo", "_meta": {keys::PROTOCOL_VERSION: version, keys::CLIENT_CAPABILITIES: {}}})
            .as_object()
            .unwrap()
            .clone()
    }

    fn headers(version: &str) -> RequestHeaders<'_> {
        RequestHeaders::new([
            ("mcp-protocol-version", version),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ])
    }

    #[test]
    fn the_ladder() {
        let ok =
            validate_request(&headers("2026-07-28"), "tools/call", &params(json!("2026-07-28"))).unwrap();
        assert_eq!(ok.version, ProtocolVersion::V2026_07_28);

        let no_meta = validate_request(&headers("2026-07-28"), "tools/call", &Map::new()).unwrap_err();
        assert_eq!((no_meta.to_rpc_error().code, no_meta.to_rpc_error().status), (code::INVALID_PARAMS, 400));

        let disagree = validate_request(&headers("2026-07-28"), "tools/call", &params(json!("2027-01-01")));
        assert!(matches!(disagree, Err(ModernError::Header(_))), "header/body mismatch before version");

        let future =
            validate_request(&headers("2027-01-01"), "tools/call", &params(json!("2027-01-01"))).unwrap_err();
        let e = future.to_rpc_error();
        assert_eq!((e.code, e.status), (code::UNSUPPORTED_VERSION, 400));
        assert_eq!(e.data, Some(json!({"supported": ["2026-07-28"], "requested": "2027-01-01"})));

        let legacy = validate_request(&headers("2025-11-25"), "tools/call", &params(json!("2025-11-25")));
        assert!(matches!(legacy, Err(ModernError::Unsupported { .. })), "legacy revisions use initialize");
    }

    #[test]
    fn notifications() {
        let h = RequestHeaders::new([("mcp-protocol-version", "2026-07-28")]);
        assert_eq!(validate_notification(&h, &Map::new()), Ok(ProtocolVersion::V2026_07_28));
        assert!(validate_notification(&h, &params(json!("1999-01-01"))).is_err());
        assert!(validate_notification(&RequestHeaders::default(), &Map::new()).is_err());
    }
}
