//! Shaping a result for the revision a connection speaks: leave out what its schema does not
//! have, add what it requires.

use serde_json::{Value, json};

use crate::version::{STATELESS, has_structured_content};

/// How long 2026-07-28 clients may cache list results (ms).
pub const LIST_TTL_MS: u64 = 10_000;

/// Adapts `result` of `method` to `version`.
pub fn shape_result(result: &mut Value, version: &str, method: &str) {
    let Some(obj) = result.as_object_mut() else { return };
    if !has_structured_content(version) {
        obj.remove("structuredContent");
        if let Some(Value::Array(tools)) = obj.get_mut("tools") {
            for tool in tools.iter_mut().filter_map(Value::as_object_mut) {
                tool.remove("outputSchema");
                tool.remove("title");
            }
        }
    }
    if version == STATELESS {
        // 2026-07-28 schema: every result says what it is; lists say how long they keep.
        obj.insert("resultType".into(), json!("complete"));
        if method.ends_with("/list") || method == "server/discover" {
            obj.insert("ttlMs".into(), json!(LIST_TTL_MS));
            // Lists depend on the caller's credentials: never shared across authorization contexts.
            obj.insert("cacheScope".into(), json!("private"));
        }
    }
}

/// `_meta` key identifying the server on 2026-07-28 results.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Stamps the server's identity on a 2026-07-28 result (schema `ResultMetaObject`: servers
/// SHOULD include it on every response; clients read it from `server/discover`).
pub fn stamp_server_info(result: &mut Value, version: &str, name: &str, server_version: &str) {
    if version != STATELESS {
        return;
    }
    if let Some(obj) = result.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(META_SERVER_INFO.into(), json!({"name": name, "version": server_version}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_follow_their_revision() {
        let base = json!({"content": [], "structuredContent": {"a": 1}});
        let mut old = base.clone();
        shape_result(&mut old, "2025-03-26", "tools/call");
        assert!(old.get("structuredContent").is_none());
        let mut new = base.clone();
        shape_result(&mut new, "2026-07-28", "tools/call");
        assert_eq!(new["resultType"], "complete");
        assert!(new.get("ttlMs").is_none());
        let mut list = json!({"tools": [{"name": "a", "title": "A", "outputSchema": {}}]});
        shape_result(&mut list, "2024-11-05", "tools/list");
        assert_eq!(list, json!({"tools": [{"name": "a"}]}));
        let mut list = json!({"tools": []});
        shape_result(&mut list, "2026-07-28", "tools/list");
        assert_eq!(list["cacheScope"], "private");
        stamp_server_info(&mut list, "2026-07-28", "Echo", "1.0");
        assert_eq!(list["_meta"][META_SERVER_INFO]["name"], "Echo");
        let mut old = json!({});
        stamp_server_info(&mut old, "2025-11-25", "Echo", "1.0");
        assert_eq!(old, json!({}));
    }
}
