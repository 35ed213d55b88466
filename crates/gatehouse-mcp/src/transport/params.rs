//! `Mcp-Param-{Name}` headers mirrored from tool arguments (2026-07-28 streamable-http § Custom
//! Headers from Tool Parameters; tools § x-mcp-header).
//!
//! A tool's `inputSchema` marks a property with `"x-mcp-header": "Region"`; a client then sends
//! `Mcp-Param-Region: <value>` with every call that has the argument. A server that reads the
//! body must check that each declared header matches the argument (decoded, integers compared
//! numerically), and must reject a call whose argument is present while its header is not.
//! Headers no declaration names are ignored (an intermediary forwards them).

use serde_json::{Map, Value};

use super::headers::{HeaderError, HeaderLookup, PARAM_PREFIX, decode_header_value, encode_header_value};

/// One declared parameter header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// The `x-mcp-header` value, as declared (the header is `Mcp-Param-{name}`).
    pub name: String,
    /// The chain of `properties` keys from the schema root to the annotated property.
    pub path: Vec<String>,
}

impl ParamHeader {
    /// The full header name, e.g. `Mcp-Param-Region`.
    pub fn header_name(&self) -> String {
        format!("Mcp-Param-{}", self.name)
    }

    /// The argument at this header's path, `None` when absent or `null` (then no header).
    pub fn value_in<'v>(&self, arguments: &'v Map<String, Value>) -> Option<&'v Value> {
        let (first, rest) = self.path.split_first()?;
        let mut node = arguments.get(first)?;
        for key in rest {
            node = node.as_object()?.get(key)?;
        }
        (!node.is_null()).then_some(node)
    }
}

/// Why a tool's `x-mcp-header` annotations are invalid. A client must drop such a tool from
/// `tools/list` (§ Schema Extension); Gatehouse relaying a 2026-07-28 upstream does the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XMcpHeaderError {
    /// Not a non-empty HTTP token (`1*tchar`, RFC 9110 § 5.1).
    #[error("x-mcp-header {0:?} is not an HTTP token")]
    NotAToken(String),
    /// The same name twice, ignoring case.
    #[error("x-mcp-header {0:?} is declared twice")]
    Duplicate(String),
    /// On a property whose `type` is not `string`, `integer` or `boolean`.
    #[error("x-mcp-header {0:?} is on a property that is not a string, integer or boolean")]
    NotPrimitive(String),
    /// Reached through something other than a chain of `properties` keys.
    #[error("x-mcp-header at {0} is not reachable through properties alone")]
    NotStaticallyReachable(String),
    /// The `x-mcp-header` value is not a string.
    #[error("x-mcp-header at {0} is not a string")]
    NotAString(String),
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Keywords whose values are data, not schemas: nothing inside them is an annotation.
const DATA_KEYWORDS: &[&str] = &["const", "enum", "default", "examples"];

/// The parameter headers a tool's `inputSchema` declares, validated against § Schema Extension.
pub fn param_headers(input_schema: &Value) -> Result<Vec<ParamHeader>, XMcpHeaderError> {
    let mut found = Vec::new();
    // (node, pointer for messages, properties-path if statically reachable)
    let mut stack: Vec<(&Value, String, Option<Vec<String>>)> =
        vec![(input_schema, String::new(), Some(Vec::new()))];
    while let Some((node, pointer, path)) = stack.pop() {
        match node {
            Value::Object(obj) => {
                if let Some(annotation) = obj.get("x-mcp-header") {
                    let Some(path) = path.clone().filter(|p| !p.is_empty()) else {
                        return Err(XMcpHeaderError::NotStaticallyReachable(pointer_or_root(&pointer)));
                    };
                    let name =
                        annotation.as_str().ok_or_else(|| XMcpHeaderError::NotAString(pointer.clone()))?;
                    if name.is_empty() || !name.bytes().all(is_tchar) {
                        return Err(XMcpHeaderError::NotAToken(name.to_string()));
                    }
                    if !matches!(
                        obj.get("type").and_then(Value::as_str),
                        Some("string" | "integer" | "boolean")
                    ) {
                        return Err(XMcpHeaderError::NotPrimitive(name.to_string()));
                    }
                    found.push(ParamHeader { name: name.to_string(), path });
                }
                for (key, child) in obj {
                    if DATA_KEYWORDS.contains(&key.as_str()) || key == "x-mcp-header" {
                        continue;
                    }
                    let child_pointer = format!("{pointer}/{key}");
                    match (key.as_str(), child) {
                        ("properties", Value::Object(props)) => {
                            for (name, schema) in props {
                                let child_path = path.clone().map(|mut p| {
                                    p.push(name.clone());
                                    p
                                });
                                stack.push((schema, format!("{child_pointer}/{name}"), child_path));
                            }
                        }
                        _ => stack.push((child, child_pointer, None)),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((item, format!("{pointer}/{i}"), None));
                }
            }
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    for header in &found {
        if !seen.insert(header.name.to_ascii_lowercase()) {
            return Err(XMcpHeaderError::Duplicate(header.name.clone()));
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn pointer_or_root(pointer: &str) -> String {
    if pointer.is_empty() { "the schema root".to_string() } else { pointer.to_string() }
}

/// The header text of an argument value (§ Value Encoding, type conversion), before encoding.
pub fn render_param_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn matches_body(header: &str, body: &Value) -> bool {
    match body {
        Value::String(s) => header == s,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        // § Server Validation: compare integers numerically (`42.0` equals `42`).
        Value::Number(n) => match (header.trim().parse::<f64>(), n.as_f64()) {
            (Ok(h), Some(b)) => h == b,
            _ => false,
        },
        other => {
            let rendered = other.to_string();
            header == rendered.as_str()
        }
    }
}

/// Checks `Mcp-Param-*` headers against a call's arguments for the declared headers: a present
/// (non-null) argument needs its header, decoded and equal; an absent one needs none.
pub fn check_param_headers<'a>(
    headers: &impl HeaderLookup<'a>,
    declared: &[ParamHeader],
    arguments: &Map<String, Value>,
) -> Result<(), HeaderError> {
    for param in declared {
        let Some(body) = param.value_in(arguments) else { continue };
        let lower = format!("{PARAM_PREFIX}{}", param.name.to_ascii_lowercase());
        let raw =
            headers.lookup(&lower)?.ok_or_else(|| HeaderError::Missing { header: param.header_name() })?;
        let decoded = decode_header_value(raw).ok_or_else(|| HeaderError::Malformed {
            header: param.header_name(),
            reason: "invalid characters or base64",
        })?;
        if !matches_body(&decoded, body) {
            return Err(HeaderError::Mismatch {
                header: param.header_name(),
                header_value: decoded.into_owned(),
                body_value: render_param_value(body),
            });
        }
    }
    Ok(())
}

/// The `Mcp-Param-*` headers a client (Gatehouse relaying to a 2026-07-28 upstream) sends for
/// a call: one per declared parameter present in the arguments, encoded.
pub fn param_header_values(
    declared: &[ParamHeader],
    arguments: &Map<String, Value>,
) -> Vec<(String, String)> {
    declared
        .iter()
        .filter_map(|p| {
            let value = p.value_in(arguments)?;
            Some((p.header_name(), encode_header_value(&render_param_value(value))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::headers::RequestHeaders;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "query": {"type": "string"},
                "opts": {"type": "object", "properties": {
                    "limit": {"type": "integer", "x-mcp-header": "Limit"},
                    "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"}
                }},
                "x-mcp-header": {"type": "string", "default": {"x-mcp-header": "not an annotation"}}
            }
        })
    }

    #[test]
    fn declarations_are_found_and_validated() {
        let found = param_headers(&schema()).unwrap();
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Dry-Run", "Limit", "Region"]);
        assert_eq!(found[1].path, ["opts", "limit"]);
        assert_eq!(found[2].header_name(), "Mcp-Param-Region");

        let bad = |s: Value| param_headers(&s).unwrap_err();
        let in_items = json!({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}});
        assert!(
            matches!(bad(in_items), XMcpHeaderError::NotStaticallyReachable(p) if p == "/properties/a/items")
        );
        let in_one_of = json!({"oneOf": [{"type": "string", "x-mcp-header": "A"}]});
        assert!(matches!(bad(in_one_of), XMcpHeaderError::NotStaticallyReachable(_)));
        let at_root = json!({"type": "object", "x-mcp-header": "A"});
        assert_eq!(bad(at_root), XMcpHeaderError::NotStaticallyReachable("the schema root".into()));
        let number = json!({"properties": {"a": {"type": "number", "x-mcp-header": "A"}}});
        assert_eq!(bad(number), XMcpHeaderError::NotPrimitive("A".into()));
        let space = json!({"properties": {"a": {"type": "string", "x-mcp-header": "A B"}}});
        assert_eq!(bad(space), XMcpHeaderError::NotAToken("A B".into()));
        let empty = json!({"properties": {"a": {"type": "string", "x-mcp-header": ""}}});
        assert_eq!(bad(empty), XMcpHeaderError::NotAToken("".into()));
        let twice = json!({"properties": {"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "a"}}});
        assert!(matches!(bad(twice), XMcpHeaderError::Duplicate(_)));
        let not_string = json!({"properties": {"a": {"type": "string", "x-mcp-header": 1}}});
        assert!(matches!(bad(not_string), XMcpHeaderError::NotAString(_)));
        assert_eq!(param_headers(&json!({"type": "object"})).unwrap(), []);
    }

    #[test]
    fn headers_must_match_arguments() {
        let declared = param_headers(&schema()).unwrap();
        let args = json!({"region": "us-west1", "query": "q", "opts": {"limit": 42, "dry": false}});
        let args = args.as_object().unwrap();
        let sent = param_header_values(&declared, args);
        assert_eq!(
            sent,
            [
                ("Mcp-Param-Dry-Run".to_string(), "false".to_string()),
                ("Mcp-Param-Limit".to_string(), "42".to_string()),
                ("Mcp-Param-Region".to_string(), "us-west1".to_string())
            ]
        );
        let ok = RequestHeaders::new(sent.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(check_param_headers(&ok, &declared, args), Ok(()));
        let numeric = RequestHeaders::new([
            ("mcp-param-limit", "42.0"),
            ("mcp-param-region", "us-west1"),
            ("mcp-param-dry-run", "false"),
        ]);
        assert_eq!(check_param_headers(&numeric, &declared, args), Ok(()), "42.0 equals 42");
        let missing = RequestHeaders::new([("mcp-param-limit", "42"), ("mcp-param-dry-run", "false")]);
        assert_eq!(
            check_param_headers(&missing, &declared, args),
            Err(HeaderError::Missing { header: "Mcp-Param-Region".into() })
        );
        let wrong = RequestHeaders::new([
            ("mcp-param-limit", "41"),
            ("mcp-param-region", "us-west1"),
            ("mcp-param-dry-run", "false"),
        ]);
        assert!(matches!(check_param_headers(&wrong, &declared, args), Err(HeaderError::Mismatch { .. })));
        // Absent or null arguments expect no header; unknown Mcp-Param-* headers are ignored.
        let sparse = json!({"query": "q", "region": null});
        let extra = RequestHeaders::new([("mcp-param-unknown", "x")]);
        assert_eq!(check_param_headers(&extra, &declared, sparse.as_object().unwrap()), Ok(()));
        let encoded = json!({"region": "Hello, 世界"});
        let h = RequestHeaders::new([("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?=")]);
        assert_eq!(check_param_headers(&h, &declared, encoded.as_object().unwrap()), Ok(()));
        let bad = RequestHeaders::new([("mcp-param-region", "=?base64?***?=")]);
        assert!(matches!(
            check_param_headers(&bad, &declared, encoded.as_object().unwrap()),
            Err(HeaderError::Malformed { .. })
        ));
    }
}
