//! Prompts and resources: the list results (possibly empty) and the get/read results.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::{Annotations, ContentBlock, ResourceContents};
use super::result::ResultEnvelope;

/// An argument a prompt template accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptArgument {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it must be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Everything else (e.g. `title`), as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A prompt template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    /// Programmatic name, the key of `prompts/get`.
    pub name: String,
    /// Display name (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<PromptArgument>>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `prompts/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPromptsResult {
    /// One page of prompts.
    pub prompts: Vec<Prompt>,
    /// Cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// `_meta` and the 2026-07-28 fields.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptMessage {
    /// `"user"` or `"assistant"`.
    pub role: String,
    /// One content block.
    pub content: ContentBlock,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `prompts/get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GetPromptResult {
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<PromptMessage>,
    /// `_meta` and `resultType`.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A resource a server offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// URI.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Display name (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A parameterised family of resources (RFC 6570 URI template).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    /// URI template.
    pub uri_template: String,
    /// Programmatic name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Everything else (title, annotations, `_meta`, …), as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `resources/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResourcesResult {
    /// One page of resources.
    pub resources: Vec<Resource>,
    /// Cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// `_meta` and the 2026-07-28 fields.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `resources/templates/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResourceTemplatesResult {
    /// One page of templates.
    pub resource_templates: Vec<ResourceTemplate>,
    /// Cursor of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// `_meta` and the 2026-07-28 fields.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The result of `resources/read`. Never empty for a resource that does not exist: that is
/// an error (2026-07-28 resources § Error Handling).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadResourceResult {
    /// The contents.
    pub contents: Vec<ResourceContents>,
    /// `_meta` and the 2026-07-28 fields.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_lists() {
        assert_eq!(serde_json::to_value(ListPromptsResult::default()).unwrap(), json!({"prompts": []}));
        assert_eq!(serde_json::to_value(ListResourcesResult::default()).unwrap(), json!({"resources": []}));
        assert_eq!(
            serde_json::to_value(ListResourceTemplatesResult::default()).unwrap(),
            json!({"resourceTemplates": []})
        );
    }

    #[test]
    fn round_trips() {
        let p = json!({"prompts": [{"name": "p", "title": "P", "arguments": [{"name": "a", "required": true}]}],
                       "nextCursor": "n"});
        let r: ListPromptsResult = serde_json::from_value(p.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), p);
        let g = json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}]});
        let r: GetPromptResult = serde_json::from_value(g.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), g);
        let res =
            json!({"resources": [{"uri": "file:///a", "name": "a", "mimeType": "text/plain", "size": 1}]});
        let r: ListResourcesResult = serde_json::from_value(res.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), res);
        let t = json!({"resourceTemplates": [{"uriTemplate": "file:///{p}", "name": "f", "title": "F"}]});
        let r: ListResourceTemplatesResult = serde_json::from_value(t.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), t);
        let read =
            json!({"contents": [{"uri": "file:///a", "blob": "AA=="}], "ttlMs": 0, "cacheScope": "public"});
        let r: ReadResourceResult = serde_json::from_value(read.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), read);
    }
}
