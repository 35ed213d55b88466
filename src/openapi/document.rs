//! An OpenAPI document set as text becomes JSON values: each file parsed as JSON or YAML within
//! size and depth limits, the root's version checked, and every `$id` and `$anchor` indexed so
//! that references can find them.

use std::collections::HashMap;

use serde_json::Value;

use super::ImportError;
use super::pointer::Location;

/// Largest document set, all files together, in bytes.
pub const MAX_SET_BYTES: usize = 16 * 1024 * 1024;
/// Most files in a set (the root and the files its references name).
pub const MAX_FILES: usize = 200;
/// Deepest nesting of a document's values.
pub const MAX_DEPTH: usize = 64;

/// Which OpenAPI: 3.0 schemas are OpenAPI's own dialect, 3.1's are JSON Schema 2020-12.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3_0,
    V3_1,
}

/// The parsed files of one API description, the first being the root.
#[derive(Debug)]
pub struct DocumentSet {
    pub version: Version,
    pub root: String,
    files: HashMap<String, Value>,
    /// `$id` (resolved against its file) → where the schema is.
    ids: HashMap<String, Location>,
    /// `$id#anchor` → where the anchored schema is.
    anchors: HashMap<String, Location>,
}

impl DocumentSet {
    /// Parses `files` (name, text); the first is the root document.
    pub fn parse(files: &[(String, String)]) -> Result<Self, ImportError> {
        let total: usize = files.iter().map(|(_, text)| text.len()).sum();
        if total > MAX_SET_BYTES {
            return Err(ImportError::document("", format!("the documents exceed {MAX_SET_BYTES} bytes")));
        }
        let parsed = files
            .iter()
            .map(|(name, text)| Ok((name.clone(), parse_file(name, text)?)))
            .collect::<Result<Vec<_>, ImportError>>()?;
        Self::from_parsed(parsed)
    }

    /// The set of files already parsed ([`parse_file`]); the first is the root document.
    pub fn from_parsed(files: Vec<(String, Value)>) -> Result<Self, ImportError> {
        let root = files
            .first()
            .map(|(name, _)| name.clone())
            .ok_or_else(|| ImportError::document("", "no document given"))?;
        if files.len() > MAX_FILES {
            return Err(ImportError::document("", format!("a document set has at most {MAX_FILES} files")));
        }
        let mut parsed = HashMap::new();
        for (name, value) in files {
            if parsed.contains_key(&name) {
                return Err(ImportError::document(&name, "the same file is given twice"));
            }
            parsed.insert(name, value);
        }
        let root = &root;
        let version = version_of(root, &parsed[root])?;
        let mut set =
            Self { version, root: root.clone(), files: parsed, ids: HashMap::new(), anchors: HashMap::new() };
        set.index();
        Ok(set)
    }

    /// The root document.
    pub fn root_value(&self) -> &Value {
        &self.files[&self.root]
    }

    /// The value at `at`, if there is one.
    pub fn get(&self, at: &Location) -> Option<&Value> {
        self.files.get(&at.file)?.pointer(&at.pointer)
    }

    /// Whether the set holds `file`.
    pub fn has_file(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    /// The schema a `$id` (absolute, as indexed) names.
    pub fn by_id(&self, id: &str) -> Option<&Location> {
        self.ids.get(id)
    }

    /// The schema `$id#anchor` names.
    pub fn by_anchor(&self, id_and_anchor: &str) -> Option<&Location> {
        self.anchors.get(id_and_anchor)
    }

    fn index(&mut self) {
        let mut ids = HashMap::new();
        let mut anchors = HashMap::new();
        for (file, value) in &self.files {
            let base = super::pointer::file_base(file);
            walk_ids(value, &base, &Location::new(file, ""), &mut ids, &mut anchors);
        }
        self.ids = ids;
        self.anchors = anchors;
    }
}

fn walk_ids(
    value: &Value,
    base: &url::Url,
    at: &Location,
    ids: &mut HashMap<String, Location>,
    anchors: &mut HashMap<String, Location>,
) {
    match value {
        Value::Object(map) => {
            let mut base = base.clone();
            if let Some(id) = map.get("$id").and_then(Value::as_str) {
                if let Ok(resolved) = base.join(id) {
                    base = resolved;
                    let mut key = base.clone();
                    key.set_fragment(None);
                    ids.insert(key.to_string(), at.clone());
                }
            }
            if let Some(anchor) = map.get("$anchor").and_then(Value::as_str) {
                let mut key = base.clone();
                key.set_fragment(Some(anchor));
                anchors.insert(key.to_string(), at.clone());
            }
            for (key, child) in map {
                walk_ids(child, &base, &at.child(key), ids, anchors);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_ids(child, base, &at.child(&i.to_string()), ids, anchors);
            }
        }
        _ => {}
    }
}

/// One file of a set: JSON when the text starts with `{`, else YAML (a superset of JSON); its
/// nesting within [`MAX_DEPTH`].
pub fn parse_file(name: &str, text: &str) -> Result<Value, ImportError> {
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            ImportError::document(
                name,
                format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()),
            )
        })?
    } else {
        yaml_serde::from_str(text).map_err(|e| {
            let place = e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column()));
            ImportError::document(name, format!("invalid YAML{}: {e}", place.unwrap_or_default()))
        })?
    };
    if depth(&value, 0) > MAX_DEPTH {
        return Err(ImportError::document(name, format!("values nest deeper than {MAX_DEPTH} levels")));
    }
    Ok(value)
}

fn depth(value: &Value, level: usize) -> usize {
    if level > MAX_DEPTH {
        return level;
    }
    match value {
        Value::Object(map) => map.values().map(|v| depth(v, level + 1)).max().unwrap_or(level + 1),
        Value::Array(items) => items.iter().map(|v| depth(v, level + 1)).max().unwrap_or(level + 1),
        _ => level,
    }
}

fn version_of(name: &str, root: &Value) -> Result<Version, ImportError> {
    let at = Location::new(name, "/openapi");
    if root.get("swagger").is_some() {
        return Err(ImportError::at(
            &at,
            "Swagger 2.0 is not supported: convert the document to OpenAPI 3 first",
        ));
    }
    match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") || v == "3.0" => Ok(Version::V3_0),
        Some(v) if v.starts_with("3.1.") || v == "3.1" => Ok(Version::V3_1),
        Some(v) => Err(ImportError::at(&at, format!("OpenAPI {v} is not supported (3.0 and 3.1 are)"))),
        None => Err(ImportError::at(&at, "not an OpenAPI document: it has no `openapi` version")),
    }
}
