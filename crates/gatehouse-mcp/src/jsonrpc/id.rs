//! Request ids: a string or an integer, never `null` (basic § Requests).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A JSON-RPC request id as MCP allows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestId {
    /// An integer id. Ids outside `i64` are refused rather than rounded through `f64`.
    Number(i64),
    /// A string id.
    String(String),
}

impl RequestId {
    /// The id in `value`, if it is a string or an integer that fits `i64`.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Self::String(s.clone())),
            Value::Number(n) => n.as_i64().map(Self::Number),
            _ => None,
        }
    }

    /// The id as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Number(n) => Value::from(*n),
            Self::String(s) => Value::from(s.as_str()),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        Self::String(s.to_string())
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => serializer.serialize_i64(*n),
            Self::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value)
            .ok_or_else(|| serde::de::Error::custom("a request id is a string or an integer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips() {
        for v in [json!(0), json!(-3), json!("abc"), json!("")] {
            let id: RequestId = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&id).unwrap(), v);
            assert_eq!(id.to_value(), v);
        }
        assert!(serde_json::from_value::<RequestId>(json!(null)).is_err());
        assert!(serde_json::from_value::<RequestId>(json!(2.5)).is_err());
        assert_eq!(RequestId::from(7).to_string(), "7");
        assert_eq!(RequestId::from("x").to_string(), "\"x\"");
    }
}
