//! Error objects on the wire, and errors as the endpoint answers them (with an HTTP status).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::code;
use super::id::RequestId;
use crate::version::ProtocolVersion;

/// The `error` member of an error response: code, message and optional data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// JSON-RPC error code.
    pub code: i64,
    /// One-sentence description.
    pub message: String,
    /// Optional details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A JSON-RPC error and the HTTP status it travels with.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// HTTP status of the answer carrying it.
    pub status: u16,
    /// JSON-RPC error code.
    pub code: i64,
    /// One-sentence message.
    pub message: String,
    /// Optional details.
    pub data: Option<Value>,
}

impl RpcError {
    /// An error answered with HTTP 200 (the JSON-RPC error carries the meaning).
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { status: 200, code, message: message.into(), data: None }
    }

    /// The same error with another HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same error with `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700, HTTP 400: the body is not JSON (or is refused before parsing, e.g. too deep).
    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(code::PARSE_ERROR, message).with_status(400)
    }

    /// -32600, HTTP 400: JSON, but not an acceptable JSON-RPC message.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_REQUEST, message).with_status(400)
    }

    /// -32602, HTTP 200: bad params of a request that was otherwise understood.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// -32603, HTTP 200: the gateway or its upstream failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_ERROR, message)
    }

    /// -32601 for `method`: HTTP 404 on 2026-07-28 (streamable-http § Protocol Version Header:
    /// the JSON-RPC body tells it apart from a legacy server's 404), HTTP 200 before.
    pub fn method_not_found(method: &str, version: ProtocolVersion) -> Self {
        let err = Self::new(code::METHOD_NOT_FOUND, format!("method not found: {method}"));
        if version.is_stateless() { err.with_status(404) } else { err }
    }

    /// An unknown resource: -32002 up to 2025-11-25, -32602 on 2026-07-28 (basic § Error
    /// Codes), with `data: {uri}` as the resources page shows.
    pub fn resource_not_found(uri: &str, version: ProtocolVersion) -> Self {
        Self::new(version.resource_not_found_code(), "Resource not found").with_data(json!({"uri": uri}))
    }

    /// -32020, HTTP 400: headers missing, malformed, or not matching the body (2026-07-28).
    pub fn header_mismatch(message: impl Into<String>) -> Self {
        Self::new(code::HEADER_MISMATCH, message).with_status(400)
    }

    /// -32021, HTTP 400, `data: {requiredCapabilities}` (2026-07-28 basic § `_meta`).
    pub fn missing_client_capability(required: Value) -> Self {
        Self::new(code::MISSING_REQUIRED_CLIENT_CAPABILITY, "Missing required client capability")
            .with_status(400)
            .with_data(json!({"requiredCapabilities": required}))
    }

    /// -32022, HTTP 400, `data: {supported, requested}` (2026-07-28 versioning § Protocol
    /// Version Negotiation; schema `UnsupportedProtocolVersionError` requires both).
    pub fn unsupported_version(requested: &str, supported: &[ProtocolVersion]) -> Self {
        let supported: Vec<&str> = supported.iter().map(|v| v.as_str()).collect();
        Self::new(code::UNSUPPORTED_VERSION, format!("Unsupported protocol version {requested:?}"))
            .with_status(400)
            .with_data(json!({"supported": supported, "requested": requested}))
    }

    /// The wire `error` object.
    pub fn to_object(&self) -> ErrorObject {
        ErrorObject { code: self.code, message: self.message.clone(), data: self.data.clone() }
    }

    /// The error response. With no known id (`Value::Null`) the id is left out: since
    /// 2025-11-25 the schema makes it optional on errors, and no revision's schema admits null.
    pub fn to_message(&self, id: Value) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        if id.is_null() {
            json!({"jsonrpc": "2.0", "error": error})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "error": error})
        }
    }

    /// The error response for a typed id (`None` when it could not be read).
    pub fn to_response(&self, id: Option<&RequestId>) -> Value {
        self.to_message(id.map(RequestId::to_value).unwrap_or(Value::Null))
    }
}

impl From<ErrorObject> for RpcError {
    fn from(e: ErrorObject) -> Self {
        Self { status: 200, code: e.code, message: e.message, data: e.data }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::ProtocolVersion as V;

    #[test]
    fn error_messages() {
        let e = RpcError::new(code::INVALID_PARAMS, "bad").with_data(json!({"x": 1}));
        assert_eq!(
            e.to_message(json!(3)),
            json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "bad", "data": {"x": 1}}})
        );
        assert!(e.to_message(Value::Null).get("id").is_none());
        assert_eq!(e.clone().with_status(404).status, 404);
        assert_eq!(e.to_response(Some(&RequestId::from("a")))["id"], "a");
        assert_eq!(RpcError::from(e.to_object()), e);
    }

    #[test]
    fn constructors_follow_the_revision() {
        assert_eq!(RpcError::method_not_found("x", V::V2026_07_28).status, 404);
        assert_eq!(RpcError::method_not_found("x", V::V2025_11_25).status, 200);
        assert_eq!(RpcError::resource_not_found("a://b", V::V2025_06_18).code, code::RESOURCE_NOT_FOUND);
        assert_eq!(RpcError::resource_not_found("a://b", V::V2026_07_28).code, code::INVALID_PARAMS);
        let e = RpcError::unsupported_version("1999-01-01", &[V::V2026_07_28]);
        assert_eq!((e.status, e.code), (400, code::UNSUPPORTED_VERSION));
        assert_eq!(e.data, Some(json!({"supported": ["2026-07-28"], "requested": "1999-01-01"})));
        let e = RpcError::missing_client_capability(json!({"elicitation": {}}));
        assert_eq!(e.data.unwrap()["requiredCapabilities"]["elicitation"], json!({}));
        assert_eq!(RpcError::parse_error("x").status, 400);
        assert_eq!(RpcError::invalid_request("x").status, 400);
        assert_eq!(RpcError::header_mismatch("x").code, code::HEADER_MISMATCH);
        assert_eq!(RpcError::internal("x").to_string(), "x (-32603)");
    }
}
