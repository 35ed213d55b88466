//! The MCP types of what Gatehouse itself says: its `initialize` and `server/discover`
//! results, its tools and their results, its `input_required` rounds, the `_meta` keys and
//! cache hints it reads and writes. What it relays (prompts, resources, an upstream's results)
//! stays JSON as it came, shaped per revision by [`crate::shape`].
//!
//! Every struct keeps the fields it does not know in `extra` (and `_meta` as it came), so a
//! definition read from an upstream server is written back unchanged: the gateway is
//! protocol-transparent. Field sets are the union over the revisions; which fields a given
//! revision may see is decided by [`crate::shape`], not here.

mod common;
mod content;
mod lifecycle;
mod meta;
mod mrtr;
mod result;
mod tools;

pub use common::{Implementation, Meta};
pub use content::{
    Annotations, AudioContent, ContentBlock, EmbeddedResource, ImageContent, ResourceContents, ResourceLink,
    TextContent,
};
pub use lifecycle::{
    DiscoverResult, InitializeParams, InitializeResult, ListChangedCapability, ResourcesCapability,
    ServerCapabilities,
};
pub use meta::{MetaError, RequestMeta, declared_version, keys};
pub use mrtr::{InputRequest, InputRequiredResult, InputResponses};
pub use result::{CacheHints, CacheScope, ResultEnvelope, ResultType};
pub use tools::{CallToolParams, CallToolResult, ListToolsResult, Tool, ToolAnnotations};

use serde::Serialize;
use serde_json::{Map, Value};

/// Serializes a model value to JSON (these types always serialize).
pub fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The result of `ping` (and any other empty result): `{}`.
pub fn empty_result() -> Value {
    Value::Object(Map::new())
}

/// Deserializes a present field as `Some(value)`, even when the value is `null`, so an
/// explicit `null` (e.g. 2026-07-28 `structuredContent`) survives a round trip.
pub(crate) fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}
