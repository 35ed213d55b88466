//! Multi round-trip requests (2026-07-28 basic/patterns/mrtr): a server that needs input
//! answers `tools/call`, `prompts/get` or `resources/read` with an `InputRequiredResult`; the
//! client retries the same request with `inputResponses` and the echoed `requestState`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::result::{ResultEnvelope, ResultType};

/// One server-to-client request embedded in an `InputRequiredResult`: `elicitation/create`,
/// `sampling/createMessage` or `roots/list` (no `jsonrpc`, no `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRequest {
    /// The method.
    pub method: String,
    /// Its params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InputRequest {
    /// The client capability the request needs (mrtr § Server Requirements: servers MUST NOT
    /// send input requests the client has not declared).
    pub fn required_capability(&self) -> Option<&'static str> {
        match self.method.as_str() {
            "elicitation/create" => Some("elicitation"),
            "sampling/createMessage" => Some("sampling"),
            "roots/list" => Some("roots"),
            _ => None,
        }
    }
}

/// The client's answers, keyed like the `inputRequests` they answer.
pub type InputResponses = Map<String, Value>;

/// `resultType: "input_required"`: more input is needed. At least one of `inputRequests` and
/// `requestState` is present; it carries no caching hints (caching § Cacheable Results).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequiredResult {
    /// Requests the client must fulfil before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// Opaque state the client echoes on the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// `_meta` and `resultType`.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InputRequiredResult {
    /// An `input_required` result asking for `requests`, with `state` to be echoed.
    pub fn new(requests: BTreeMap<String, InputRequest>, state: Option<String>) -> Self {
        let mut result = Self {
            input_requests: (!requests.is_empty()).then_some(requests),
            request_state: state,
            ..Self::default()
        };
        result.envelope.result_type = Some(ResultType::InputRequired);
        result
    }

    /// Whether it says anything at all (the spec requires at least one of the two fields).
    pub fn is_well_formed(&self) -> bool {
        self.input_requests.is_some() || self.request_state.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_required() {
        let ask = InputRequest {
            method: "elicitation/create".into(),
            params: json!({"mode": "form", "message": "name?", "requestedSchema": {"type": "object"}})
                .as_object()
                .cloned(),
            extra: Map::new(),
        };
        assert_eq!(ask.required_capability(), Some("elicitation"));
        let r = InputRequiredResult::new(BTreeMap::from([("login".to_string(), ask)]), Some("s".into()));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["resultType"], "input_required");
        assert_eq!(v["inputRequests"]["login"]["method"], "elicitation/create");
        assert_eq!(v["requestState"], "s");
        assert!(r.is_well_formed());
        assert!(!InputRequiredResult::new(BTreeMap::new(), None).is_well_formed());
        let back: InputRequiredResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
