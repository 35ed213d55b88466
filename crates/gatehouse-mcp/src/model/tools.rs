//! Tools: definitions, `tools/list`, `tools/call`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::content::ContentBlock;
use super::result::ResultEnvelope;
use super::some_value;

/// Behaviour hints of a tool (`ToolAnnotations`, 2025-03-26 onward). Untrusted unless the
/// server is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// Display name (the only title 2025-03-26 has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// May perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// Interacts with an open world of external entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool definition. `inputSchema`/`outputSchema` are kept as JSON: the gateway relays them
/// untouched (2026-07-28 allows any JSON Schema 2020-12 keyword in them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Programmatic name, the key of `tools/call`.
    pub name: String,
    /// Display name (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments (`type: "object"` at the root).
    pub input_schema: Value,
    /// JSON Schema of `structuredContent` (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Behaviour hints (2025-03-26 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// Metadata (2025-06-18 onward).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else (`icons`, `execution`, …), as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Tool {
    /// A tool with a name and an input schema.
    pub fn new(name: impl Into<String>, input_schema: Value) -> Self {
        Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema,
            output_schema: None,
            annotations: None,
            meta: None,
            extra: Map::new(),
        }
    }

    /// An input schema that accepts an empty object: `{"type": "object"}`.
    pub fn empty_input_schema() -> Value {
        json!({"type": "object"})
    }
}

/// The result of `tools/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListToolsResult {
    /// One page of tools.
    pub tools: Vec<Tool>,
    /// Opaque cursor of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// `_meta` and the 2026-07-28 fields.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The params of `tools/call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolParams {
    /// The tool.
    pub name: String,
    /// The arguments (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Map<String, Value>>,
    /// Request metadata (2026-07-28: protocol version, client capabilities, …).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// 2026-07-28 MRTR: the client's answers to a previous `inputRequests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<Map<String, Value>>,
    /// 2026-07-28 MRTR: the opaque state echoed from a previous `InputRequiredResult`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Everything else (e.g. 2025-11-25 `task`), as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CallToolParams {
    /// The params from a request's params object.
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, serde_json::Error> {
        serde_json::from_value(Value::Object(params.clone()))
    }
}

/// The result of `tools/call`. Errors *of the tool* are results with `isError: true` (tools §
/// Error Handling), so the model can see them; protocol errors are JSON-RPC errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// Unstructured content.
    pub content: Vec<ContentBlock>,
    /// Structured output (2025-06-18 onward; an object until 2026-07-28, any value there).
    #[serde(default, deserialize_with = "some_value", skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// `_meta` and `resultType`.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CallToolResult {
    /// A successful result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self { content: vec![ContentBlock::text(text)], ..Self::default() }
    }

    /// A failed tool call (`isError: true`) with one text block explaining it.
    pub fn error(text: impl Into<String>) -> Self {
        Self { is_error: Some(true), ..Self::text(text) }
    }

    /// A successful result with structured output and, for clients that only read content,
    /// its serialization as text (tools § Structured Content: SHOULD also be returned as text).
    pub fn structured(value: Value) -> Self {
        Self { structured_content: Some(value.clone()), ..Self::text(value.to_string()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_definitions_survive_a_round_trip() {
        let v = json!({
            "name": "get_weather", "title": "Weather", "description": "d",
            "inputSchema": {"type": "object", "properties": {"city": {"type": "string", "x-mcp-header": "City"}}},
            "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true, "vendorHint": 1},
            "icons": [{"src": "https://x/icon.png"}], "execution": {"taskSupport": "optional"},
            "_meta": {"com.example/k": 1}
        });
        let t: Tool = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(t.annotations.as_ref().unwrap().read_only_hint, Some(true));
        assert!(t.extra.contains_key("icons"));
        assert_eq!(serde_json::to_value(&t).unwrap(), v);
    }

    #[test]
    fn list_and_call_results() {
        let list = ListToolsResult {
            tools: vec![Tool::new("a", Tool::empty_input_schema())],
            next_cursor: Some("c".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&list).unwrap();
        assert_eq!(
            v,
            json!({"tools": [{"name": "a", "inputSchema": {"type": "object"}}], "nextCursor": "c"})
        );
        let back: ListToolsResult = serde_json::from_value(json!({"tools": [], "ttlMs": 5, "x": 1})).unwrap();
        assert_eq!(back.envelope.ttl_ms, Some(5));
        assert_eq!(back.extra["x"], 1);
        assert!(!back.extra.contains_key("ttlMs"), "flattened envelope takes its own fields");

        let err = serde_json::to_value(CallToolResult::error("boom")).unwrap();
        assert_eq!(err, json!({"content": [{"type": "text", "text": "boom"}], "isError": true}));
        let s = CallToolResult::structured(json!({"t": 1}));
        assert_eq!(serde_json::to_value(&s).unwrap()["content"][0]["text"], "{\"t\":1}");
        let null: CallToolResult =
            serde_json::from_value(json!({"content": [], "structuredContent": null})).unwrap();
        assert_eq!(null.structured_content, Some(Value::Null));
        assert_eq!(serde_json::to_value(&null).unwrap()["structuredContent"], Value::Null);
    }

    #[test]
    fn call_params() {
        let p = json!({"name": "t", "arguments": {"a": 1}, "requestState": "s", "task": {"ttl": 1}});
        let p = CallToolParams::from_params(p.as_object().unwrap()).unwrap();
        assert_eq!((p.name.as_str(), p.request_state.as_deref()), ("t", Some("s")));
        assert!(p.extra.contains_key("task"));
        assert!(CallToolParams::from_params(json!({"arguments": 1}).as_object().unwrap()).is_err());
    }
}
