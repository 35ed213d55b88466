//! Content blocks and structured output for older revisions.
//!
//! Rules: a block type a revision's schema does not have (`ContentBlock` is a closed `anyOf`
//! keyed by `type`) would make the whole result invalid, so it becomes a text block saying
//! what it was; structured output a revision cannot carry survives as its JSON text (2025-06-18
//! tools § Structured Content: a tool returning structured content SHOULD also return it
//! serialized in a text block, which is exactly what older clients read).

use serde_json::{Map, Value, json};

use crate::version::ProtocolVersion;

/// Rewrites one content block for `version`, in place.
pub fn downlevel_block(block: &mut Value, version: ProtocolVersion) {
    let Some(obj) = block.as_object() else { return };
    let text = match obj.get("type").and_then(Value::as_str) {
        Some("resource_link") if !version.has_resource_links() => {
            let name = str_field(obj, "title").or_else(|| str_field(obj, "name")).unwrap_or("resource");
            let uri = str_field(obj, "uri").unwrap_or_default();
            let mut text = format!("Resource link: {name} <{uri}>");
            if let Some(d) = str_field(obj, "description") {
                text.push_str(&format!(" - {d}"));
            }
            text
        }
        Some("audio") if !version.has_audio_content() => {
            let mime = str_field(obj, "mimeType").unwrap_or("audio");
            format!("[{mime} audio omitted: protocol {version} has no audio content]")
        }
        _ => return,
    };
    let mut replacement = json!({"type": "text", "text": text});
    if let Some(annotations) = obj.get("annotations") {
        replacement["annotations"] = annotations.clone();
    }
    *block = replacement;
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// Rewrites every block of a `content` array.
pub fn downlevel_blocks(content: &mut [Value], version: ProtocolVersion) {
    for block in content {
        downlevel_block(block, version);
    }
}

/// Drops `structuredContent` a revision cannot carry (none before 2025-06-18; only objects
/// before 2026-07-28), keeping its JSON text in `content` when no text block has it already.
pub fn downlevel_structured(result: &mut Map<String, Value>, version: ProtocolVersion) {
    let Some(structured) = result.get("structuredContent") else { return };
    let representable = version.has_structured_content()
        && (version.structured_content_any_value() || structured.is_object());
    if representable {
        return;
    }
    let Some(structured) = result.remove("structuredContent") else { return };
    let content = result.entry("content").or_insert_with(|| Value::Array(Vec::new()));
    let Some(blocks) = content.as_array_mut() else { return };
    let already_there = blocks.iter().any(|b| {
        b.get("type").and_then(Value::as_str) == Some("text")
            && b.get("text")
                .and_then(Value::as_str)
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .is_some_and(|v| v == structured)
    });
    if !already_there {
        blocks.push(json!({"type": "text", "text": structured.to_string()}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion as V;

    #[test]
    fn blocks_older_revisions_lack_become_text() {
        let mut link = json!({"type": "resource_link", "uri": "file:///a", "name": "a", "description": "d",
                              "annotations": {"priority": 1}});
        downlevel_block(&mut link, V::V2025_06_18);
        assert_eq!(link["type"], "resource_link", "kept where it exists");
        downlevel_block(&mut link, V::V2025_03_26);
        assert_eq!(
            link,
            json!({"type": "text", "text": "Resource link: a <file:///a> - d", "annotations": {"priority": 1}})
        );
        let mut audio = json!({"type": "audio", "data": "AA==", "mimeType": "audio/wav"});
        downlevel_block(&mut audio, V::V2025_03_26);
        assert_eq!(audio["type"], "audio");
        downlevel_block(&mut audio, V::V2024_11_05);
        assert_eq!(audio["type"], "text");
        assert!(audio["text"].as_str().unwrap().contains("audio/wav"));
        let mut other = json!("not a block");
        downlevel_block(&mut other, V::V2024_11_05);
        assert_eq!(other, "not a block");
    }

    #[test]
    fn structured_output_survives_as_text() {
        let mut r = json!({"content": [], "structuredContent": {"t": 1}});
        let obj = r.as_object_mut().unwrap();
        downlevel_structured(obj, V::V2025_06_18);
        assert!(obj.contains_key("structuredContent"));
        downlevel_structured(obj, V::V2025_03_26);
        assert_eq!(r, json!({"content": [{"type": "text", "text": "{\"t\":1}"}]}));

        let mut r =
            json!({"content": [{"type": "text", "text": "{ \"t\": 1 }"}], "structuredContent": {"t": 1}});
        downlevel_structured(r.as_object_mut().unwrap(), V::V2024_11_05);
        assert_eq!(r["content"].as_array().unwrap().len(), 1, "no duplicate when a text block has it");

        let mut r = json!({"content": [], "structuredContent": [1, 2]});
        downlevel_structured(r.as_object_mut().unwrap(), V::V2026_07_28);
        assert!(r.get("structuredContent").is_some(), "2026-07-28 takes any value");
        downlevel_structured(r.as_object_mut().unwrap(), V::V2025_11_25);
        assert_eq!(r, json!({"content": [{"type": "text", "text": "[1,2]"}]}));
    }
}
