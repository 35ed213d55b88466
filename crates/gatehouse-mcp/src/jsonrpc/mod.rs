//! JSON-RPC 2.0 as MCP uses it: ids, messages, error objects and codes, a bounded parser,
//! and errors as they travel (with the HTTP status that carries them).
//!
//! MCP narrows JSON-RPC in two places (basic § Messages): a request id is a string or an
//! integer and never `null`, and `params`, when present, is an object.

mod depth;
mod envelope;
mod error;
mod id;
mod message;
mod parse;

pub use depth::check_depth;
pub use envelope::{Envelope, Payload};
pub use error::{ErrorObject, RpcError};
pub use id::RequestId;
pub use message::{Message, Notification, Request, Response, ResponsePayload};
pub use parse::{Incoming, InvalidMessage, Limits, ParseError, parse, parse_value, parse_with};

use serde_json::{Map, Value};

/// JSON-RPC and MCP error codes.
pub mod code {
    /// Invalid JSON (JSON-RPC).
    pub const PARSE_ERROR: i64 = -32700;
    /// JSON, but not a valid request object (JSON-RPC).
    pub const INVALID_REQUEST: i64 = -32600;
    /// Unknown method (JSON-RPC). On 2026-07-28 Streamable HTTP it travels with HTTP 404.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Bad params: unknown tool, invalid arguments, bad cursor; on 2026-07-28 also a malformed
    /// `_meta` (HTTP 400) and an unknown resource (JSON-RPC).
    pub const INVALID_PARAMS: i64 = -32602;
    /// The receiver failed (JSON-RPC).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Unknown resource, 2024-11-05 to 2025-11-25 only (2026-07-28 basic § Error Codes: replaced
    /// by -32602 and never emitted there).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// 2026-07-28: HTTP headers do not match the body, or are missing or malformed (HTTP 400).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a client capability it did not declare (HTTP 400,
    /// `data: {requiredCapabilities}`).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    /// 2026-07-28: unsupported protocol revision (HTTP 400, `data: {supported, requested}`).
    pub const UNSUPPORTED_VERSION: i64 = -32022;
    /// 2025-11-25 only: URL-mode elicitation required (never emitted on 2026-07-28).
    pub const URL_ELICITATION_REQUIRED: i64 = -32042;

    /// The conventional name of a code, for logs and messages.
    pub fn name(code: i64) -> &'static str {
        match code {
            PARSE_ERROR => "parse error",
            INVALID_REQUEST => "invalid request",
            METHOD_NOT_FOUND => "method not found",
            INVALID_PARAMS => "invalid params",
            INTERNAL_ERROR => "internal error",
            RESOURCE_NOT_FOUND => "resource not found",
            HEADER_MISMATCH => "header mismatch",
            MISSING_REQUIRED_CLIENT_CAPABILITY => "missing required client capability",
            UNSUPPORTED_VERSION => "unsupported protocol version",
            URL_ELICITATION_REQUIRED => "URL elicitation required",
            _ => "error",
        }
    }
}

/// Whether a value can be a request id (string or integer in the `i64` range; never null,
/// fractional or anything else).
pub fn is_id(id: &Value) -> bool {
    RequestId::from_value(id).is_some()
}

/// Reads JSON from bytes with their UTF-8 checked once, for the whole body: `from_slice`
/// checks every string by itself (~90 instructions each, 17 strings in a small tools/call:
/// a sixth of its parse). Bytes that are not UTF-8 go to `from_slice`, for its error (outside
/// a string, a byte that is not ASCII is not JSON; inside one, `from_slice` names it).
pub fn from_json_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// A result response as JSON. `id` and `result` are moved in, not copied (`json!` would copy
/// them through `to_value`, which for a large result is most of the cost of answering).
pub fn result_message(id: Value, result: Value) -> Value {
    let mut message = Map::with_capacity(3);
    message.insert("jsonrpc".into(), Value::String("2.0".into()));
    message.insert("id".into(), id);
    message.insert("result".into(), result);
    Value::Object(message)
}

/// [`result_message`] as JSON text, from borrowed parts: the same text, keys in the same order
/// (a serialised message's map orders them), without building the message.
pub fn result_message_text(id: &Value, result: &Value) -> String {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        id: &'a Value,
        jsonrpc: &'static str,
        result: &'a Value,
    }
    serde_json::to_string(&Message { id, jsonrpc: "2.0", result }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_bytes_read_as_from_slice_reads_them() {
        let cases: [&[u8]; 6] = [
            b"{\"a\":\"\\u00e9t\xc3\xa9\",\"b\":[1,2.5,null]}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1,}",
            b"\xef\xbb\xbf{}",
            b"",
            b"  [true]  ",
        ];
        for bytes in cases {
            let ours = from_json_bytes::<Value>(bytes).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Value>(bytes).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn result_text_is_the_serialised_message() {
        for (id, result) in [
            (json!(7), json!({"content": [{"type": "text", "text": "a\"b"}], "isError": false})),
            (json!("req-1"), json!({})),
        ] {
            assert_eq!(
                result_message_text(&id, &result),
                serde_json::to_string(&result_message(id.clone(), result.clone())).unwrap()
            );
        }
    }

    #[test]
    fn ids() {
        assert!(is_id(&json!(1)) && is_id(&json!("a")) && is_id(&json!(-7)));
        assert!(!is_id(&json!(null)) && !is_id(&json!(1.5)) && !is_id(&json!({})) && !is_id(&json!(true)));
        assert!(!is_id(&json!(u64::MAX)), "beyond i64 is refused rather than silently rounded");
        assert_eq!(result_message(json!(1), json!({})), json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
    }

    #[test]
    fn code_names() {
        assert_eq!(code::name(code::HEADER_MISMATCH), "header mismatch");
        assert_eq!(code::name(-1), "error");
    }
}
