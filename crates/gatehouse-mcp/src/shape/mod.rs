//! Rendering a result (or error) for the revision a connection speaks: leave out or rewrite
//! what its schema does not have, add what it requires. The same function serves results
//! Gatehouse builds and results relayed from an upstream of another revision, which is where
//! version bridging starts (see [`crate::bridge`]).

mod content;
mod errors;
mod tools;

pub use content::{downlevel_block, downlevel_blocks, downlevel_structured};
pub use errors::render_error;
pub use tools::downlevel_tool;

use serde_json::{Map, Value, json};

use crate::model::{CacheHints, CacheScope, Implementation, ResultType, keys};
use crate::version::ProtocolVersion;

/// How long 2026-07-28 clients may cache list results (ms) when nothing else is configured.
pub const LIST_TTL_MS: u64 = 10_000;

/// `_meta` key identifying the server on 2026-07-28 results.
pub const META_SERVER_INFO: &str = keys::SERVER_INFO;

/// Methods whose complete results carry `ttlMs`/`cacheScope` (caching § Cacheable Results).
pub const CACHEABLE_METHODS: &[&str] = &[
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// Methods that may answer `input_required` (mrtr § Supported Requests).
pub const MRTR_METHODS: &[&str] = &["tools/call", "prompts/get", "resources/read"];

/// Whether `method`'s complete results are cacheable.
pub fn is_cacheable(method: &str) -> bool {
    CACHEABLE_METHODS.contains(&method)
}

/// Options for [`render_result`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShapeOptions {
    /// Caching hints for cacheable 2026-07-28 results. Hints already on a relayed result are
    /// kept, except that a private policy makes a public result private (narrowing is always
    /// safe; widening could share one caller's data with another).
    pub cache: CacheHints,
}

/// A result that cannot be expressed in the connection's revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A non-`complete` result (e.g. MRTR `input_required`) for a revision without
    /// `resultType`: the bridge must resolve it before the result is sent.
    #[error("a {result_type} result cannot be sent to a {version} client")]
    NotRepresentable {
        /// The result's type.
        result_type: String,
        /// The connection's revision.
        version: ProtocolVersion,
    },
    /// `input_required` answering a method that may not answer it.
    #[error("{method} may not answer input_required")]
    InputRequiredNotAllowed {
        /// The method.
        method: String,
    },
}

/// Renders the result of `method` for `version`, in place.
///
/// * 2026-07-28: adds `resultType: "complete"` when absent; on complete results of
///   [`CACHEABLE_METHODS`] makes sure `ttlMs` (integer >= 0) and `cacheScope` are there; on
///   `input_required` removes them (caching § Cacheable Results).
/// * Earlier revisions: removes `resultType`, `ttlMs`, `cacheScope`; refuses non-complete
///   results; rewrites content blocks, structured output and tool definitions the revision's
///   schema does not have (see [`downlevel_block`], [`downlevel_structured`],
///   [`downlevel_tool`]).
pub fn render_result(
    result: &mut Value,
    version: ProtocolVersion,
    method: &str,
    options: &ShapeOptions,
) -> Result<(), ShapeError> {
    let Some(obj) = result.as_object_mut() else { return Ok(()) };
    let result_type = obj.get("resultType").and_then(Value::as_str).map(ResultType::from_wire);
    if version.has_result_type() {
        match result_type {
            None => {
                obj.insert("resultType".into(), json!("complete"));
            }
            Some(ResultType::InputRequired) if !MRTR_METHODS.contains(&method) => {
                return Err(ShapeError::InputRequiredNotAllowed { method: method.to_string() });
            }
            _ => {}
        }
        let complete = matches!(result_type, None | Some(ResultType::Complete));
        if complete && is_cacheable(method) {
            apply_cache_hints(obj, &options.cache);
        } else {
            obj.remove("ttlMs");
            obj.remove("cacheScope");
        }
    } else {
        if let Some(t) = result_type.filter(|t| *t != ResultType::Complete) {
            return Err(ShapeError::NotRepresentable { result_type: t.to_string(), version });
        }
        obj.remove("resultType");
        obj.remove("ttlMs");
        obj.remove("cacheScope");
    }
    downlevel_fields(obj, version);
    Ok(())
}

fn apply_cache_hints(obj: &mut Map<String, Value>, policy: &CacheHints) {
    if obj.get("ttlMs").is_none_or(|t| t.as_u64().is_none()) {
        obj.insert("ttlMs".into(), json!(policy.ttl_ms));
    }
    // `Private < Public`: the narrower of what came and what the policy allows.
    let scope = match obj.get("cacheScope").and_then(Value::as_str) {
        Some("public") => CacheScope::Public.min(policy.scope),
        Some("private") => CacheScope::Private,
        _ => policy.scope,
    };
    obj.insert("cacheScope".into(), json!(scope.as_str()));
}

fn downlevel_fields(obj: &mut Map<String, Value>, version: ProtocolVersion) {
    if let Some(Value::Array(tools)) = obj.get_mut("tools") {
        for tool in tools.iter_mut() {
            downlevel_tool(tool, version);
        }
    }
    if let Some(Value::Array(blocks)) = obj.get_mut("content") {
        downlevel_blocks(blocks, version);
    }
    if let Some(Value::Array(messages)) = obj.get_mut("messages") {
        for message in messages.iter_mut() {
            if let Some(block) = message.get_mut("content") {
                downlevel_block(block, version);
            }
        }
    }
    downlevel_structured(obj, version);
}

/// Adapts `result` of `method` to `version` with default options (string revision; unknown
/// revisions are left alone). Results that cannot be expressed are left as they are; use
/// [`render_result`] to be told.
pub fn shape_result(result: &mut Value, version: &str, method: &str) {
    if let Some(v) = ProtocolVersion::parse(version) {
        let _ = render_result(result, v, method, &ShapeOptions::default());
    }
}

/// Stamps the server's identity on a 2026-07-28 result (schema `ResultMetaObject`: servers
/// SHOULD include it on every response; clients read it from `server/discover`).
pub fn stamp_server_info(result: &mut Value, version: &str, name: &str, server_version: &str) {
    if let Some(v) = ProtocolVersion::parse(version) {
        stamp_server_info_for(result, v, &Implementation::new(name, server_version));
    }
}

/// Typed form of [`stamp_server_info`]; does nothing before 2026-07-28.
pub fn stamp_server_info_for(result: &mut Value, version: ProtocolVersion, server: &Implementation) {
    if version.is_stateless() {
        stamp_server_info_json(result, version, &serde_json::to_value(server).unwrap_or(Value::Null));
    }
}

/// [`stamp_server_info_for`] with the identity already as JSON (a server makes it once, not
/// once per result).
pub fn stamp_server_info_json(result: &mut Value, version: ProtocolVersion, server_info: &Value) {
    if !version.is_stateless() {
        return;
    }
    if let Some(obj) = result.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(META_SERVER_INFO.into(), server_info.clone());
        }
    }
}

/// The response message, for the stateless revision, of a `tools/call` whose whole answer is one
/// text block, and a structured copy of it when `structured` (that text, already checked to be a
/// JSON object) is given: what shaping and stamping `{"content": [text], "structuredContent"}`
/// and serialising its message would give (the same fields; a test holds the two together),
/// made from borrowed parts, so the structured copy is neither parsed into a tree nor written
/// out again. Results of the revisions before 2026-07-28 are shaped as trees ([`shape_result`]).
pub fn stateless_text_tool_message(
    id: &Value,
    text: &str,
    structured: Option<&serde_json::value::RawValue>,
    server_info: &serde_json::value::RawValue,
) -> String {
    // Written piece by piece: the members are constants but for the id and the text, and
    // serde's derived serialisation of the same message escapes every key and goes through a
    // call per member (~2 k instructions for a small answer, against ~0.6 k). Members in the
    // order `serde_json::Map` (sorted) gives them, as a serialised result would have them.
    let structured = structured.map(serde_json::value::RawValue::get);
    let mut out = Vec::with_capacity(2 * text.len() + structured.map_or(0, str::len) + 256);
    out.extend_from_slice(b"{\"id\":");
    if serde_json::to_writer(&mut out, id).is_err() {
        return String::new();
    }
    out.extend_from_slice(b",\"jsonrpc\":\"2.0\",\"result\":{\"_meta\":{\"");
    out.extend_from_slice(META_SERVER_INFO.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(server_info.get().as_bytes());
    out.extend_from_slice(b"},\"content\":[{\"text\":");
    if serde_json::to_writer(&mut out, text).is_err() {
        return String::new();
    }
    out.extend_from_slice(b",\"type\":\"text\"}],\"resultType\":\"complete\"");
    if let Some(structured) = structured {
        out.extend_from_slice(b",\"structuredContent\":");
        out.extend_from_slice(structured.as_bytes());
    }
    out.extend_from_slice(b"}}");
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion as V;

    #[test]
    fn a_text_tool_message_is_the_shaped_result_s_message() {
        let info = json!({"name": "Weather", "version": "1.0"});
        for (text, object) in
            [(r#"{"city":"Lisbon","t":22}"#, true), ("plain \"quoted\"\n", false), ("[1]", false)]
        {
            let id = json!(7);
            let raw = object.then(|| serde_json::from_str::<&serde_json::value::RawValue>(text).unwrap());
            let mut result = json!({"content": [{"type": "text", "text": text}]});
            if object {
                result["structuredContent"] = serde_json::from_str(text).unwrap();
            }
            render_result(&mut result, V::V2026_07_28, "tools/call", &ShapeOptions::default()).unwrap();
            stamp_server_info_json(&mut result, V::V2026_07_28, &info);
            let general = crate::jsonrpc::result_message_text(&id, &result);
            let info_json = serde_json::value::to_raw_value(&info).unwrap();
            let fast = stateless_text_tool_message(&id, text, raw, &info_json);
            assert_eq!(fast, general, "byte for byte, keys in the same order");
        }
    }

    #[test]
    fn results_follow_their_revision() {
        let base = json!({"content": [], "structuredContent": {"a": 1}});
        let mut old = base.clone();
        shape_result(&mut old, "2025-03-26", "tools/call");
        assert!(old.get("structuredContent").is_none());
        assert_eq!(old["content"][0]["text"], "{\"a\":1}");
        let mut new = base.clone();
        shape_result(&mut new, "2026-07-28", "tools/call");
        assert_eq!(new["resultType"], "complete");
        assert!(new.get("ttlMs").is_none());
        let mut list = json!({"tools": [{"name": "a", "title": "A", "outputSchema": {}, "inputSchema": {"type": "object"}}]});
        shape_result(&mut list, "2024-11-05", "tools/list");
        assert_eq!(list, json!({"tools": [{"name": "a", "inputSchema": {"type": "object"}}]}));
        let mut list = json!({"tools": []});
        shape_result(&mut list, "2026-07-28", "tools/list");
        assert_eq!(
            (list["cacheScope"].as_str(), list["ttlMs"].as_u64()),
            (Some("private"), Some(LIST_TTL_MS))
        );
        stamp_server_info(&mut list, "2026-07-28", "Echo", "1.0");
        assert_eq!(list["_meta"][META_SERVER_INFO]["name"], "Echo");
        let mut old = json!({});
        stamp_server_info(&mut old, "2025-11-25", "Echo", "1.0");
        assert_eq!(old, json!({}));
        let mut unknown = json!({"structuredContent": 1});
        shape_result(&mut unknown, "1999-01-01", "tools/call");
        assert_eq!(unknown, json!({"structuredContent": 1}));
    }

    #[test]
    fn every_cacheable_method_gets_hints() {
        for method in CACHEABLE_METHODS {
            let mut r = json!({});
            render_result(&mut r, V::V2026_07_28, method, &ShapeOptions::default()).unwrap();
            assert!(r.get("ttlMs").is_some() && r.get("cacheScope").is_some(), "{method}");
        }
    }

    #[test]
    fn relayed_hints_are_kept_or_narrowed() {
        let public = ShapeOptions { cache: CacheHints { ttl_ms: 5, scope: CacheScope::Public } };
        let private = ShapeOptions::default();
        let mut r = json!({"tools": [], "ttlMs": 60000, "cacheScope": "public"});
        render_result(&mut r, V::V2026_07_28, "tools/list", &public).unwrap();
        assert_eq!((r["ttlMs"].as_u64(), r["cacheScope"].as_str()), (Some(60000), Some("public")));
        render_result(&mut r, V::V2026_07_28, "tools/list", &private).unwrap();
        assert_eq!(r["cacheScope"], "private", "a private policy narrows");
        let mut r = json!({"tools": [], "ttlMs": -1, "cacheScope": "shared"});
        render_result(&mut r, V::V2026_07_28, "tools/list", &public).unwrap();
        assert_eq!((r["ttlMs"].as_u64(), r["cacheScope"].as_str()), (Some(5), Some("public")));
        let mut r = json!({"tools": [], "cacheScope": "private"});
        render_result(&mut r, V::V2026_07_28, "tools/list", &public).unwrap();
        assert_eq!(r["cacheScope"], "private", "an upstream's private stays private");
    }

    #[test]
    fn input_required() {
        let opts = ShapeOptions::default();
        let mut r =
            json!({"resultType": "input_required", "requestState": "s", "ttlMs": 1, "cacheScope": "public"});
        render_result(&mut r, V::V2026_07_28, "resources/read", &opts).unwrap();
        assert_eq!(r, json!({"resultType": "input_required", "requestState": "s"}));
        let mut r = json!({"resultType": "input_required", "requestState": "s"});
        assert_eq!(
            render_result(&mut r, V::V2026_07_28, "tools/list", &opts),
            Err(ShapeError::InputRequiredNotAllowed { method: "tools/list".into() })
        );
        let err = render_result(&mut r, V::V2025_11_25, "tools/call", &opts).unwrap_err();
        assert_eq!(err.to_string(), "a input_required result cannot be sent to a 2025-11-25 client");
        let mut r = json!({"resultType": "complete", "ttlMs": 1, "cacheScope": "public", "contents": []});
        render_result(&mut r, V::V2025_06_18, "resources/read", &opts).unwrap();
        assert_eq!(r, json!({"contents": []}));
    }

    #[test]
    fn prompt_messages_and_content_are_downlevelled() {
        let mut r = json!({"messages": [{"role": "user", "content": {"type": "resource_link", "uri": "u", "name": "n"}}]});
        render_result(&mut r, V::V2025_03_26, "prompts/get", &ShapeOptions::default()).unwrap();
        assert_eq!(r["messages"][0]["content"]["type"], "text");
        let mut r = json!({"content": [{"type": "audio", "data": "", "mimeType": "audio/ogg"}]});
        render_result(&mut r, V::V2024_11_05, "tools/call", &ShapeOptions::default()).unwrap();
        assert_eq!(r["content"][0]["type"], "text");
        let mut not_object = json!([1]);
        render_result(&mut not_object, V::V2026_07_28, "ping", &ShapeOptions::default()).unwrap();
        assert_eq!(not_object, json!([1]));
    }
}
