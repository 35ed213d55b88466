//! The three kinds of JSON-RPC message: request, notification, response.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{ErrorObject, RpcError};
use super::id::RequestId;

/// A request: it has an id and expects a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id the response must echo.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The params object, if any (MCP params are always objects).
    pub params: Option<Map<String, Value>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params object, if any.
    pub params: Option<Map<String, Value>>,
}

/// What a response carries: a result or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponsePayload {
    /// A successful result (an object in every MCP revision).
    Result(Value),
    /// An error.
    Error(ErrorObject),
}

/// A response. The id is absent only on errors raised before a request id was known.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered.
    pub id: Option<RequestId>,
    /// Result or error.
    pub payload: ResponsePayload,
}

/// Any JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response (from a client: the answer to a server-to-client request).
    Response(Response),
}

fn params_of(params: &Option<Map<String, Value>>) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    params.as_ref().unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

impl Request {
    /// A request with params.
    pub fn new(
        id: impl Into<RequestId>,
        method: impl Into<String>,
        params: Option<Map<String, Value>>,
    ) -> Self {
        Self { id: id.into(), method: method.into(), params }
    }

    /// The params, or an empty object.
    pub fn params(&self) -> &Map<String, Value> {
        params_of(&self.params)
    }

    /// `params._meta` when it is an object.
    pub fn meta(&self) -> Option<&Map<String, Value>> {
        self.params().get("_meta").and_then(Value::as_object)
    }

    /// A string param (e.g. `name`, `uri`, `cursor`).
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params().get(key).and_then(Value::as_str)
    }

    /// The request as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Notification {
    /// The params, or an empty object.
    pub fn params(&self) -> &Map<String, Value> {
        params_of(&self.params)
    }

    /// The notification as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Response {
    /// A result response.
    pub fn result(id: RequestId, result: Value) -> Self {
        Self { id: Some(id), payload: ResponsePayload::Result(result) }
    }

    /// An error response; `id` is `None` when the request id could not be read.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self { id, payload: ResponsePayload::Error(error) }
    }

    /// An error response from an [`RpcError`] (the HTTP status is not part of the message).
    pub fn from_rpc_error(id: Option<RequestId>, error: &RpcError) -> Self {
        Self::error(id, error.to_object())
    }

    /// The response as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Message {
    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request(r) => Some(&r.method),
            Self::Notification(n) => Some(&n.method),
            Self::Response(_) => None,
        }
    }

    /// The id, for requests and responses that have one.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Self::Request(r) => Some(&r.id),
            Self::Notification(_) => None,
            Self::Response(r) => r.id.as_ref(),
        }
    }

    /// The message as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("method", &self.method)?;
        if let Some(params) = &self.params {
            map.serialize_entry("params", params)?;
        }
        map.end()
    }
}

impl Serialize for Notification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("method", &self.method)?;
        if let Some(params) = &self.params {
            map.serialize_entry("params", params)?;
        }
        map.end()
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        match &self.payload {
            ResponsePayload::Result(result) => map.serialize_entry("result", result)?,
            ResponsePayload::Error(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Request(r) => r.serialize(s),
            Self::Notification(n) => n.serialize(s),
            Self::Response(r) => r.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_as_json_rpc() {
        let params = json!({"name": "echo", "_meta": {"k": 1}}).as_object().cloned();
        let req = Request::new(1, "tools/call", params);
        assert_eq!(req.param_str("name"), Some("echo"));
        assert_eq!(req.meta().unwrap()["k"], 1);
        assert_eq!(req.to_value()["jsonrpc"], "2.0");
        let n = Notification { method: "notifications/initialized".into(), params: None };
        assert_eq!(n.to_value(), json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert!(n.params().is_empty());
        let ok = Response::result(RequestId::from("a"), json!({}));
        assert_eq!(ok.to_value(), json!({"jsonrpc": "2.0", "id": "a", "result": {}}));
        let err = Response::from_rpc_error(None, &RpcError::parse_error("bad"));
        assert_eq!(err.to_value(), json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "bad"}}));
        let m = Message::Response(ok);
        assert_eq!(m.id(), Some(&RequestId::from("a")));
        assert_eq!(m.method(), None);
        assert_eq!(Message::Notification(n).to_value()["method"], "notifications/initialized");
    }
}
