//! JSON-RPC 2.0 framing: ids, error codes, and errors as they travel (with an HTTP status).

use serde_json::{Value, json};

/// JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// Unknown method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Bad params (unknown tool, invalid arguments, bad cursor).
    pub const INVALID_PARAMS: i64 = -32602;
    /// The receiver failed.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Unknown resource.
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// 2026-07-28: HTTP headers do not match the body, or are missing (HTTP 400).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: unsupported protocol revision (HTTP 400, `data: {supported, requested}`).
    pub const UNSUPPORTED_VERSION: i64 = -32022;
}

/// Whether a value can be a request id (string or integer; never null, fractional or other).
pub fn is_id(id: &Value) -> bool {
    id.is_string() || id.is_i64() || id.is_u64()
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
}

/// A result response.
pub fn result_message(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_error_messages() {
        assert!(is_id(&json!(1)) && is_id(&json!("a")));
        assert!(!is_id(&json!(null)) && !is_id(&json!(1.5)) && !is_id(&json!({})));
        let e = RpcError::new(code::INVALID_PARAMS, "bad").with_data(json!({"x": 1}));
        assert_eq!(
            e.to_message(json!(3)),
            json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "bad", "data": {"x": 1}}})
        );
        assert!(e.to_message(Value::Null).get("id").is_none());
        assert_eq!(e.clone().with_status(404).status, 404);
    }
}
