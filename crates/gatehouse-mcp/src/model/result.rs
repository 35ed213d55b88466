//! Fields common to results: `_meta`, and in 2026-07-28 `resultType` and the caching hints.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// 2026-07-28 `resultType` (basic § ResultType). Unknown values are kept (extensions may add
/// some); a client must treat an absent one as `complete`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResultType {
    /// The request completed; the result is final.
    Complete,
    /// More input is needed (MRTR): an `InputRequiredResult`.
    InputRequired,
    /// An extension's result type.
    Other(String),
}

impl ResultType {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Complete => "complete",
            Self::InputRequired => "input_required",
            Self::Other(s) => s,
        }
    }

    /// The type named by `s`.
    pub fn from_wire(s: &str) -> Self {
        match s {
            "complete" => Self::Complete,
            "input_required" => Self::InputRequired,
            other => Self::Other(other.to_string()),
        }
    }

    /// The type of a result as JSON: absent means `complete` (basic § ResultType).
    pub fn of(result: &Value) -> Self {
        result.get("resultType").and_then(Value::as_str).map(Self::from_wire).unwrap_or(Self::Complete)
    }
}

impl fmt::Display for ResultType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResultType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResultType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Self::from_wire(&s))
    }
}

/// 2026-07-28 `cacheScope` (server/utilities/caching § Cache Scope Field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Reusable only within the same authorization context.
    Private,
    /// No user-specific data; any cache may share it.
    Public,
}

impl CacheScope {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Public => "public",
        }
    }
}

/// Caching hints for a cacheable 2026-07-28 result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHints {
    /// Freshness in milliseconds (>= 0; 0 means immediately stale).
    pub ttl_ms: u64,
    /// Who may cache it.
    pub scope: CacheScope,
}

impl Default for CacheHints {
    /// Ten seconds, private: Gatehouse answers per API key, so nothing it says is shared across
    /// authorization contexts unless the server is configured otherwise.
    fn default() -> Self {
        Self { ttl_ms: 10_000, scope: CacheScope::Private }
    }
}

/// `_meta`, `resultType`, `ttlMs` and `cacheScope`: flattened into every result type. The
/// 2026-07-28 fields stay `None` until [`crate::shape`] renders the result for that revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultEnvelope {
    /// Result metadata (2026-07-28: `io.modelcontextprotocol/serverInfo`).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
    /// 2026-07-28 result type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// 2026-07-28 freshness hint of cacheable results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// 2026-07-28 cache scope of cacheable results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_forms() {
        assert_eq!(ResultType::of(&json!({})), ResultType::Complete);
        assert_eq!(ResultType::of(&json!({"resultType": "input_required"})), ResultType::InputRequired);
        let t: ResultType = serde_json::from_value(json!("task")).unwrap();
        assert_eq!(t, ResultType::Other("task".into()));
        assert_eq!(serde_json::to_value(&t).unwrap(), "task");
        assert_eq!(t.to_string(), "task");
        assert_eq!(serde_json::to_value(CacheScope::Public).unwrap(), "public");
        assert_eq!(CacheScope::Private.as_str(), "private");
        assert!(CacheScope::Private < CacheScope::Public);
        assert_eq!(CacheHints::default().scope, CacheScope::Private);
        assert_eq!(serde_json::to_value(ResultEnvelope::default()).unwrap(), json!({}));
    }
}
