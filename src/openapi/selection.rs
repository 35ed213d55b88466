//! Which operations an import takes: by tag, path pattern or name.

use globset::{GlobBuilder, GlobMatcher};
use serde_json::{Map, Value};

use super::Selection;
use super::naming;

/// Whether the selection takes the operation (everything, when it names nothing).
pub fn selected(selection: &Selection, path: &str, operation: &Map<String, Value>) -> bool {
    if selection.tags.is_empty() && selection.paths.is_empty() && selection.operations.is_empty() {
        return true;
    }
    let mut tags =
        operation.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    let id = operation.get("operationId").and_then(Value::as_str);
    tags.any(|t| selection.tags.iter().any(|s| s == t))
        || selection.paths.iter().any(|pattern| matcher(pattern).is_some_and(|m| m.is_match(path)))
        || id.is_some_and(|id| selection.operations.iter().any(|o| o == id || *o == naming::snake_case(id)))
}

/// A path pattern: `*` matches within a segment, `**` across segments; braces are the
/// document's own (`/pet/{petId}`), not alternatives.
fn matcher(pattern: &str) -> Option<GlobMatcher> {
    glob(pattern).ok().map(|g| g.compile_matcher())
}

fn glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    let literal_braces = pattern.replace('{', "[{]").replace('}', "[}]");
    GlobBuilder::new(&literal_braces).literal_separator(true).build()
}

/// Whether `pattern` is a pattern [`selected`] understands.
pub fn valid_pattern(pattern: &str) -> Result<(), String> {
    glob(pattern).map(|_| ()).map_err(|e| format!("path pattern {pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_are_chosen_by_tag_path_or_name() {
        let op = json!({"tags": ["pet"], "operationId": "getPetById"});
        let op = op.as_object().unwrap();
        let by = |s: Selection| selected(&s, "/pet/{petId}", op);
        assert!(by(Selection::default()));
        assert!(by(Selection { tags: vec!["pet".into()], ..Default::default() }));
        assert!(!by(Selection { tags: vec!["store".into()], ..Default::default() }));
        assert!(by(Selection { paths: vec!["/pet/*".into()], ..Default::default() }));
        assert!(!by(Selection { paths: vec!["/pet".into()], ..Default::default() }));
        assert!(by(Selection { paths: vec!["/**".into()], ..Default::default() }));
        assert!(!by(Selection { paths: vec!["/*".into()], ..Default::default() }));
        assert!(by(Selection { paths: vec!["/pet/{petId}".into()], ..Default::default() }));
        assert!(by(Selection { operations: vec!["getPetById".into()], ..Default::default() }));
        assert!(by(Selection { operations: vec!["get_pet_by_id".into()], ..Default::default() }));
    }
}
