//! The official MCP JSON Schemas as test oracles: `assert_valid("2025-06-18", "JSONRPCResponse", &msg)`.

use serde_json::{Value, json};

fn schema_doc(revision: &str) -> Value {
    let path =
        format!("{}/crates/gatehouse-mcp/tests/schema/{revision}/schema.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Asserts that `value` is a valid `definition` of the schema of `revision`.
#[track_caller]
pub fn assert_valid(revision: &str, definition: &str, value: &Value) {
    let mut doc = schema_doc(revision);
    let defs = if doc.get("$defs").is_some() { "$defs" } else { "definitions" };
    assert!(doc[defs].get(definition).is_some(), "{revision} has no definition {definition}");
    doc["$ref"] = json!(format!("#/{defs}/{definition}"));
    let validator = jsonschema::validator_for(&doc).expect("the official schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "not a valid {revision} {definition}: {errors:?}\n{value:#}");
}
