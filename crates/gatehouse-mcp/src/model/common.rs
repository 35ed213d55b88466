//! Small shared types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A `_meta` object.
pub type Meta = Map<String, Value>;

/// Name and version of a client or server (`serverInfo`, `clientInfo`,
/// `io.modelcontextprotocol/serverInfo`). `title` exists from 2025-06-18; `description`,
/// `websiteUrl` and `icons` from 2025-11-25 (kept in `extra` when relayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Version string.
    pub version: String,
    /// Display name (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description (2025-11-25 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Everything else, as it came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Implementation {
    /// An implementation with just a name and a version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self { name: name.into(), version: version.into(), title: None, description: None, extra: Map::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_unknown_fields() {
        let v = json!({"name": "a", "version": "1", "websiteUrl": "https://x", "icons": []});
        let i: Implementation = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&i).unwrap(), v);
        assert_eq!(
            serde_json::to_value(Implementation::new("a", "1")).unwrap(),
            json!({"name": "a", "version": "1"})
        );
    }
}
