//! Tool definitions for older revisions.

use serde_json::{Map, Value, json};

use crate::version::ProtocolVersion;

/// Rewrites one tool definition for `version`, in place:
/// * `inputSchema` gets `type: "object"` when it lacks it (every revision's schema requires it;
///   tool arguments are always objects);
/// * `outputSchema` goes where the revision has none (before 2025-06-18) or cannot take it (a
///   root other than `type: "object"` before 2026-07-28);
/// * `title` (2025-06-18+) moves into `annotations.title` for 2025-03-26, whose only title that
///   is, and goes for 2024-11-05 together with `annotations`, which it lacks.
pub fn downlevel_tool(tool: &mut Value, version: ProtocolVersion) {
    let Some(obj) = tool.as_object_mut() else { return };
    match obj.get_mut("inputSchema") {
        Some(Value::Object(schema)) => {
            schema.entry("type").or_insert_with(|| json!("object"));
        }
        _ => {
            obj.insert("inputSchema".into(), json!({"type": "object"}));
        }
    }
    let output_ok = match obj.get("outputSchema") {
        None => true,
        Some(_) if !version.has_structured_content() => false,
        Some(_) if version.structured_content_any_value() => true,
        Some(schema) => schema.get("type").and_then(Value::as_str) == Some("object"),
    };
    if !output_ok {
        obj.remove("outputSchema");
    }
    if !version.has_titles() {
        if let Some(title) = obj.remove("title") {
            if version.has_tool_annotations() {
                move_title_into_annotations(obj, title);
            }
        }
    }
    if !version.has_tool_annotations() {
        obj.remove("annotations");
    }
}

fn move_title_into_annotations(tool: &mut Map<String, Value>, title: Value) {
    let annotations = tool.entry("annotations").or_insert_with(|| json!({}));
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.entry("title").or_insert(title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion as V;

    fn tool() -> Value {
        json!({"name": "t", "title": "T", "inputSchema": {"properties": {}},
               "outputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}})
    }

    #[test]
    fn per_revision() {
        let mut t = tool();
        downlevel_tool(&mut t, V::V2026_07_28);
        assert_eq!(t["inputSchema"]["type"], "object");
        assert_eq!(t["title"], "T");
        let mut t = tool();
        downlevel_tool(&mut t, V::V2025_03_26);
        assert_eq!(
            t,
            json!({"name": "t", "inputSchema": {"type": "object", "properties": {}},
                   "annotations": {"readOnlyHint": true, "title": "T"}})
        );
        let mut t = tool();
        downlevel_tool(&mut t, V::V2024_11_05);
        assert_eq!(t, json!({"name": "t", "inputSchema": {"type": "object", "properties": {}}}));
        let mut t = json!({"name": "t", "inputSchema": 5, "outputSchema": {"type": "array"}});
        downlevel_tool(&mut t, V::V2025_11_25);
        assert_eq!(t, json!({"name": "t", "inputSchema": {"type": "object"}}));
        let mut t =
            json!({"name": "t", "inputSchema": {"type": "object"}, "outputSchema": {"type": "array"}});
        downlevel_tool(&mut t, V::V2026_07_28);
        assert!(t.get("outputSchema").is_some());
        let mut t = json!({"name": "t", "title": "T", "inputSchema": {}, "annotations": {"title": "A"}});
        downlevel_tool(&mut t, V::V2025_03_26);
        assert_eq!(t["annotations"]["title"], "A", "an existing annotation title wins");
    }
}
