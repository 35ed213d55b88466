//! Content blocks (`ContentBlock`): text, image, audio (2025-03-26+), resource_link
//! (2025-06-18+) and embedded resource. A block of a type this crate does not know is kept as
//! it came ([`ContentBlock::Other`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Optional hints on content (`Annotations`; `Annotated` in 2024-11-05).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// Who the content is for (`"user"`, `"assistant"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// Importance from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<f64>,
    /// ISO 8601 timestamp (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "text"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextContent {
    /// The text.
    pub text: String,
    /// Hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata (2025-06-18 onward).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "image"}`: base64 data and its MIME type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageContent {
    /// Base64-encoded bytes.
    pub data: String,
    /// MIME type, e.g. `image/png`.
    pub mime_type: String,
    /// Hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata (2025-06-18 onward).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "audio"}` (2025-03-26 onward): base64 data and its MIME type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioContent {
    /// Base64-encoded bytes.
    pub data: String,
    /// MIME type, e.g. `audio/wav`.
    pub mime_type: String,
    /// Hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata (2025-06-18 onward).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "resource_link"}` (2025-06-18 onward): a resource by reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLink {
    /// The resource URI.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
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
    /// Everything else (e.g. `icons`), as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The contents of a resource: text or base64 blob (`TextResourceContents` /
/// `BlobResourceContents`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceContents {
    /// The resource URI.
    pub uri: String,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Text contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Base64 contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"type": "resource"}`: a resource embedded in the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedResource {
    /// The contents.
    pub resource: ResourceContents,
    /// Hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Metadata (2025-06-18 onward).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One content block, tagged by `type` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    /// `text`.
    Text(TextContent),
    /// `image`.
    Image(ImageContent),
    /// `audio`.
    Audio(AudioContent),
    /// `resource_link`.
    ResourceLink(ResourceLink),
    /// `resource`.
    Resource(EmbeddedResource),
    /// Any other block (e.g. sampling's `tool_use`), kept verbatim.
    Other(Value),
}

impl ContentBlock {
    /// A plain text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextContent { text: text.into(), annotations: None, meta: None, extra: Map::new() })
    }

    /// The wire `type`.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text(_) => "text",
            Self::Image(_) => "image",
            Self::Audio(_) => "audio",
            Self::ResourceLink(_) => "resource_link",
            Self::Resource(_) => "resource",
            Self::Other(v) => v.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

fn tagged<T: Serialize>(tag: &str, inner: &T) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(inner)?;
    if let Value::Object(map) = &mut value {
        // `type` first, as the specification writes it.
        let mut out = Map::new();
        out.insert("type".into(), Value::from(tag));
        out.extend(std::mem::take(map));
        return Ok(Value::Object(out));
    }
    Ok(value)
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            Self::Text(c) => tagged("text", c),
            Self::Image(c) => tagged("image", c),
            Self::Audio(c) => tagged("audio", c),
            Self::ResourceLink(c) => tagged("resource_link", c),
            Self::Resource(c) => tagged("resource", c),
            Self::Other(v) => Ok(v.clone()),
        }
        .map_err(serde::ser::Error::custom)?;
        value.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let tag = value.get("type").and_then(Value::as_str).map(str::to_string);
        let Some(map) = value.as_object_mut() else {
            return Err(serde::de::Error::custom("a content block is an object"));
        };
        let known = matches!(tag.as_deref(), Some("text" | "image" | "audio" | "resource_link" | "resource"));
        if !known {
            return Ok(Self::Other(value));
        }
        map.remove("type");
        let e = serde::de::Error::custom;
        Ok(match tag.as_deref() {
            Some("text") => Self::Text(serde_json::from_value(value).map_err(e)?),
            Some("image") => Self::Image(serde_json::from_value(value).map_err(e)?),
            Some("audio") => Self::Audio(serde_json::from_value(value).map_err(e)?),
            Some("resource_link") => Self::ResourceLink(serde_json::from_value(value).map_err(e)?),
            _ => Self::Resource(serde_json::from_value(value).map_err(e)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_block_round_trips() {
        let blocks = json!([
            {"type": "text", "text": "hi", "annotations": {"audience": ["user"], "priority": 0.5}},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "audio", "data": "AAAA", "mimeType": "audio/wav", "_meta": {"k": 1}},
            {"type": "resource_link", "uri": "file:///a", "name": "a", "size": 3, "icons": []},
            {"type": "resource", "resource": {"uri": "file:///b", "text": "b", "mimeType": "text/plain"}},
            {"type": "tool_use", "id": "1", "name": "x", "input": {}}
        ]);
        let parsed: Vec<ContentBlock> = serde_json::from_value(blocks.clone()).unwrap();
        let names: Vec<&str> = parsed.iter().map(ContentBlock::type_name).collect();
        assert_eq!(names, ["text", "image", "audio", "resource_link", "resource", "tool_use"]);
        assert!(matches!(parsed[5], ContentBlock::Other(_)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), blocks);
        assert_eq!(
            serde_json::to_value(ContentBlock::text("x")).unwrap(),
            json!({"type": "text", "text": "x"})
        );
    }

    #[test]
    fn malformed_known_blocks_are_errors() {
        assert!(serde_json::from_value::<ContentBlock>(json!({"type": "text"})).is_err());
        assert!(serde_json::from_value::<ContentBlock>(json!("text")).is_err());
    }
}
