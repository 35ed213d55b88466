//! Parsing a body into JSON-RPC messages, with typed errors that keep the id when it could be
//! read.
//!
//! Order of checks: nesting depth on the raw bytes (so nothing recursive ever sees a hostile
//! document), then JSON (-32700 when it is not JSON), then the JSON-RPC shape (-32600, or
//! -32602 when only `params` is wrong). Batches are parsed element by element so the caller
//! can answer each one (JSON-RPC § Batch) or refuse batches outright where the revision does
//! not have them (only 2025-03-26 does).

use serde_json::Value;

use super::code;
use super::depth::check_depth;
use super::error::{ErrorObject, RpcError};
use super::id::RequestId;
use super::message::{Message, Notification, Request, Response, ResponsePayload};

/// Parser limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays/objects accepted. Keep it below 128, serde_json's own limit.
    pub max_depth: usize,
    /// Most messages accepted in one batch.
    pub max_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_depth: 64, max_batch: 100 }
    }
}

/// What a body held: one message, or a batch whose elements are judged one by one.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A single message.
    Single(Message),
    /// A non-empty batch; each element is a message or the reason it is not one.
    Batch(Vec<Result<Message, InvalidMessage>>),
}

impl Incoming {
    /// Whether the body was a batch.
    pub fn is_batch(&self) -> bool {
        matches!(self, Self::Batch(_))
    }
}

/// Why a JSON value is not an acceptable JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKind {
    /// Not a JSON object.
    #[error("a JSON-RPC message is an object")]
    NotAnObject,
    /// `jsonrpc` is missing or not `"2.0"`.
    #[error("jsonrpc must be \"2.0\"")]
    WrongVersion,
    /// No `method`, and not a response either.
    #[error("missing method")]
    MissingMethod,
    /// `method` is not a string.
    #[error("method must be a string")]
    MethodNotString,
    /// The id is null, fractional, out of range or not a string/integer.
    #[error("id must be a string or an integer")]
    InvalidId,
    /// A response without a usable id.
    #[error("a result response needs an id")]
    MissingId,
    /// Both `result` and `error`, or `method` together with either.
    #[error("a message is a request, a notification or a response, not several")]
    Ambiguous,
    /// The `error` member is not `{code: integer, message: string, data?}`.
    #[error("error must be an object with an integer code and a string message")]
    MalformedError,
    /// `params` is present but not an object (MCP params are objects).
    #[error("params must be an object")]
    ParamsNotObject,
}

/// A JSON value that is not an acceptable JSON-RPC message, with the id if one could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct InvalidMessage {
    /// The request id, when it could be recovered (so the error response can echo it).
    pub id: Option<RequestId>,
    /// What is wrong.
    pub kind: InvalidKind,
}

impl InvalidMessage {
    /// -32602 for bad params of an otherwise valid request, -32600 otherwise.
    pub fn code(&self) -> i64 {
        match self.kind {
            InvalidKind::ParamsNotObject => code::INVALID_PARAMS,
            _ => code::INVALID_REQUEST,
        }
    }

    /// The error to answer: -32600 with HTTP 400, or -32602 with HTTP 200 (the request was
    /// understood, only its params are wrong).
    pub fn to_rpc_error(&self) -> RpcError {
        match self.code() {
            code::INVALID_PARAMS => RpcError::invalid_params(self.kind.to_string()),
            _ => RpcError::invalid_request(self.kind.to_string()),
        }
    }

    /// The error response, echoing the id when it was recovered.
    pub fn to_response(&self) -> Value {
        self.to_rpc_error().to_response(self.id.as_ref())
    }
}

/// Why a body could not be turned into JSON-RPC messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all (-32700).
    #[error("not JSON: {0}")]
    NotJson(String),
    /// Nested deeper than the limit; refused before parsing (-32700).
    #[error("JSON nested deeper than {limit} levels")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// `[]` (-32600, JSON-RPC § Batch).
    #[error("empty batch")]
    EmptyBatch,
    /// More messages in a batch than allowed (-32600).
    #[error("batch of {len} messages; at most {limit} are accepted")]
    BatchTooLarge {
        /// Messages in the batch.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// JSON, but not a valid JSON-RPC message (-32600 or -32602).
    #[error(transparent)]
    Invalid(InvalidMessage),
}

impl ParseError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        match self {
            Self::NotJson(_) | Self::TooDeep { .. } => code::PARSE_ERROR,
            Self::EmptyBatch | Self::BatchTooLarge { .. } => code::INVALID_REQUEST,
            Self::Invalid(e) => e.code(),
        }
    }

    /// The request id, when it could be recovered.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Self::Invalid(e) => e.id.as_ref(),
            _ => None,
        }
    }

    /// The error to answer, with its HTTP status.
    pub fn to_rpc_error(&self) -> RpcError {
        match self {
            Self::NotJson(_) | Self::TooDeep { .. } => RpcError::parse_error(self.to_string()),
            Self::EmptyBatch | Self::BatchTooLarge { .. } => RpcError::invalid_request(self.to_string()),
            Self::Invalid(e) => e.to_rpc_error(),
        }
    }

    /// The error response (with the id when it was recovered, without one otherwise).
    pub fn to_response(&self) -> Value {
        self.to_rpc_error().to_response(self.id())
    }
}

/// Parses a body with the default [`Limits`].
pub fn parse(bytes: &[u8]) -> Result<Incoming, ParseError> {
    parse_with(bytes, &Limits::default())
}

/// Parses a body: depth first, then JSON, then the JSON-RPC shape.
pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Incoming, ParseError> {
    check_depth(bytes, limits.max_depth).map_err(|_| ParseError::TooDeep { limit: limits.max_depth })?;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseError::NotJson(e.to_string()))?;
    parse_value(value, limits)
}

/// Judges an already-parsed JSON value (its depth was bounded by whoever parsed it).
pub fn parse_value(value: Value, limits: &Limits) -> Result<Incoming, ParseError> {
    match value {
        Value::Array(items) if items.is_empty() => Err(ParseError::EmptyBatch),
        Value::Array(items) if items.len() > limits.max_batch => {
            Err(ParseError::BatchTooLarge { len: items.len(), limit: limits.max_batch })
        }
        Value::Array(items) => Ok(Incoming::Batch(items.into_iter().map(message_from_value).collect())),
        single => message_from_value(single).map(Incoming::Single).map_err(ParseError::Invalid),
    }
}

fn invalid(id: Option<RequestId>, kind: InvalidKind) -> InvalidMessage {
    InvalidMessage { id, kind }
}

/// Judges one JSON value as a JSON-RPC message.
pub(crate) fn message_from_value(value: Value) -> Result<Message, InvalidMessage> {
    let Value::Object(mut obj) = value else {
        return Err(invalid(None, InvalidKind::NotAnObject));
    };
    let raw_id = obj.remove("id");
    let id = raw_id.as_ref().and_then(RequestId::from_value);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, InvalidKind::WrongVersion));
    }
    let has_result = obj.contains_key("result");
    let has_error = obj.contains_key("error");
    if let Some(method) = obj.remove("method") {
        let Value::String(method) = method else {
            return Err(invalid(id, InvalidKind::MethodNotString));
        };
        if has_result || has_error {
            return Err(invalid(id, InvalidKind::Ambiguous));
        }
        if raw_id.is_some() && id.is_none() {
            return Err(invalid(None, InvalidKind::InvalidId));
        }
        let params = match obj.remove("params") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => return Err(invalid(id, InvalidKind::ParamsNotObject)),
        };
        return Ok(match id {
            Some(id) => Message::Request(Request { id, method, params }),
            None => Message::Notification(Notification { method, params }),
        });
    }
    match (obj.remove("result"), obj.remove("error")) {
        (Some(_), Some(_)) => Err(invalid(id, InvalidKind::Ambiguous)),
        (Some(result), None) => match id {
            Some(id) => {
                Ok(Message::Response(Response { id: Some(id), payload: ResponsePayload::Result(result) }))
            }
            None if raw_id.is_some() => Err(invalid(None, InvalidKind::InvalidId)),
            None => Err(invalid(None, InvalidKind::MissingId)),
        },
        (None, Some(error)) => {
            // An error answering an unreadable request carries no id, or `null` (JSON-RPC).
            if !matches!(raw_id, None | Some(Value::Null)) && id.is_none() {
                return Err(invalid(None, InvalidKind::InvalidId));
            }
            let error =
                error_object(error).ok_or_else(|| invalid(id.clone(), InvalidKind::MalformedError))?;
            Ok(Message::Response(Response { id, payload: ResponsePayload::Error(error) }))
        }
        (None, None) => Err(invalid(id, InvalidKind::MissingMethod)),
    }
}

fn error_object(value: Value) -> Option<ErrorObject> {
    let Value::Object(mut obj): Value = value else { return None };
    let code = obj.get("code")?.as_i64()?;
    let Value::String(message) = obj.remove("message")? else { return None };
    Some(ErrorObject { code, message, data: obj.remove("data") })
}

#[cfg(test)]
mod tests {
    use super::*;
    fn one(text: &str) -> Result<Message, ParseError> {
        match parse(text.as_bytes())? {
            Incoming::Single(m) => Ok(m),
            Incoming::Batch(_) => panic!("unexpected batch"),
        }
    }

    #[test]
    fn the_three_kinds() {
        let m = one(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert!(matches!(m, Message::Request(ref r) if r.id == RequestId::Number(1) && r.params.is_none()));
        let m = one(r#"{"jsonrpc":"2.0","method":"notifications/initialized","params":null}"#).unwrap();
        assert!(matches!(m, Message::Notification(_)));
        let m = one(r#"{"jsonrpc":"2.0","id":"s","result":{"action":"accept"}}"#).unwrap();
        assert!(matches!(m, Message::Response(Response { payload: ResponsePayload::Result(_), .. })));
        let m = one(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#).unwrap();
        assert!(matches!(m, Message::Response(Response { id: None, payload: ResponsePayload::Error(_) })));
    }

    #[test]
    fn errors_keep_the_id() {
        let e = one(r#"{"jsonrpc":"1.0","id":9,"method":"ping"}"#).unwrap_err();
        assert_eq!((e.code(), e.id()), (code::INVALID_REQUEST, Some(&RequestId::Number(9))));
        let e = one(r#"{"jsonrpc":"2.0","id":"q","method":"x","params":[1]}"#).unwrap_err();
        assert_eq!(e.code(), code::INVALID_PARAMS);
        assert_eq!(e.to_response()["id"], "q");
        assert_eq!(e.to_rpc_error().status, 200);
        let e = one(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"x"}"#).unwrap_err();
        assert_eq!((e.code(), e.id()), (code::INVALID_REQUEST, None));
        assert!(e.to_response().get("id").is_none());
    }

    #[test]
    fn shapes_that_are_not_messages() {
        let kind = |t: &str| match one(t).unwrap_err() {
            ParseError::Invalid(e) => e.kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(kind("3"), InvalidKind::NotAnObject);
        assert_eq!(kind(r#"{"id":1,"method":"x"}"#), InvalidKind::WrongVersion);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1}"#), InvalidKind::MissingMethod);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"method":5}"#), InvalidKind::MethodNotString);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"method":"x","result":{}}"#), InvalidKind::Ambiguous);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#), InvalidKind::Ambiguous);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","result":{}}"#), InvalidKind::MissingId);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":true,"result":{}}"#), InvalidKind::InvalidId);
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":[],"error":{"code":1,"message":"m"}}"#),
            InvalidKind::InvalidId
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}"#),
            InvalidKind::MalformedError
        );
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#), InvalidKind::MalformedError);
    }

    #[test]
    fn batches() {
        assert_eq!(parse(b"[]").unwrap_err(), ParseError::EmptyBatch);
        let Incoming::Batch(items) = parse(br#"[{"jsonrpc":"2.0","method":"a"}, 4]"#).unwrap() else {
            panic!("expected a batch")
        };
        assert!(items[0].is_ok() && items[1].is_err());
        let many = format!("[{}]", [r#"{"jsonrpc":"2.0","method":"a"}"#; 3].join(","));
        let limits = Limits { max_batch: 2, ..Limits::default() };
        assert_eq!(
            parse_with(many.as_bytes(), &limits).unwrap_err(),
            ParseError::BatchTooLarge { len: 3, limit: 2 }
        );
        assert!(parse(many.as_bytes()).unwrap().is_batch());
    }

    #[test]
    fn not_json_and_too_deep() {
        assert_eq!(parse(b"{").unwrap_err().code(), code::PARSE_ERROR);
        assert_eq!(parse(b"").unwrap_err().code(), code::PARSE_ERROR);
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(parse(deep.as_bytes()).unwrap_err(), ParseError::TooDeep { limit: 64 });
        assert_eq!(parse(deep.as_bytes()).unwrap_err().to_rpc_error().status, 400);
    }
}
