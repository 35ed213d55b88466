//! Places in a document set (`file#/json/pointer`) and `$ref`s resolved to them: JSON
//! pointers in the same file, relative files of the set, and (3.1) schemas named by `$id` and
//! `$anchor`. Nothing is fetched: a reference outside the set is an error naming it.

use std::fmt;

use super::document::DocumentSet;

/// A place in the document set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub file: String,
    /// A JSON pointer (RFC 6901) into the file, `""` for its root.
    pub pointer: String,
}

impl Location {
    pub fn new(file: &str, pointer: &str) -> Self {
        Self { file: file.to_owned(), pointer: pointer.to_owned() }
    }

    /// The place of member or item `key` of the value here.
    pub fn child(&self, key: &str) -> Self {
        let escaped = key.replace('~', "~0").replace('/', "~1");
        Self { file: self.file.clone(), pointer: format!("{}/{escaped}", self.pointer) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.file, self.pointer)
    }
}

/// The base URI of a file of the set: references in it resolve against this.
pub fn file_base(file: &str) -> url::Url {
    url::Url::parse("set:///")
        .and_then(|base| base.join(file))
        .unwrap_or_else(|_| url::Url::parse("set:///invalid").expect("a valid URL"))
}

/// Where `reference`, found at `from`, points; or why it points nowhere.
pub fn resolve(set: &DocumentSet, from: &Location, reference: &str) -> Result<Location, String> {
    let (target, fragment) = match reference.split_once('#') {
        Some((target, fragment)) => (target, fragment),
        None => (reference, ""),
    };
    let fragment = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().into_owned();
    let base = file_base(&from.file);
    let place = if target.is_empty() {
        // In this file (OpenAPI tools resolve `#/…` in the document even under a schema's `$id`).
        match fragment.starts_with('/') || fragment.is_empty() {
            true => Location::new(&from.file, &fragment),
            false => {
                let mut key = base.clone();
                key.set_fragment(Some(&fragment));
                return set.by_anchor(key.as_str()).cloned().ok_or_else(|| nowhere(reference));
            }
        }
    } else {
        let absolute =
            base.join(target).map_err(|e| format!("$ref {reference:?} is not a valid reference: {e}"))?;
        let mut without_fragment = absolute.clone();
        without_fragment.set_fragment(None);
        if let Some(schema) = set.by_id(without_fragment.as_str()) {
            match fragment.starts_with('/') || fragment.is_empty() {
                true => Location::new(&schema.file, &format!("{}{fragment}", schema.pointer)),
                false => {
                    let mut key = without_fragment.clone();
                    key.set_fragment(Some(&fragment));
                    return set.by_anchor(key.as_str()).cloned().ok_or_else(|| nowhere(reference));
                }
            }
        } else if absolute.scheme() == "set" {
            let file = without_fragment.path().trim_start_matches('/').to_owned();
            if !set.has_file(&file) {
                return Err(format!(
                    "$ref {reference:?} names the file {file:?}, which is not in the document set: add it"
                ));
            }
            Location::new(&file, &fragment)
        } else {
            return Err(format!(
                "$ref {reference:?} points outside the document set: remote references are not fetched, add the \
                 file to the set"
            ));
        }
    };
    match set.get(&place) {
        Some(_) => Ok(place),
        None => Err(nowhere(reference)),
    }
}

fn nowhere(reference: &str) -> String {
    format!("$ref {reference:?} points to nothing in the document set")
}

/// The other files of the set that `value` (the file `file`) references, by their names in the
/// set: what must be fetched beside it. References that leave the set's origin are not listed.
pub fn referenced_files(file: &str, value: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, base: &url::Url, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(serde_json::Value::as_str) {
                    let target = reference.split('#').next().unwrap_or_default();
                    if !target.is_empty() {
                        if let Ok(url) = base.join(target) {
                            if url.scheme() == "set" {
                                let name = url.path().trim_start_matches('/').to_owned();
                                if !name.is_empty() && !out.contains(&name) {
                                    out.push(name);
                                }
                            }
                        }
                    }
                }
                map.values().for_each(|v| walk(v, base, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, base, out)),
            _ => {}
        }
    }
    fn ids(value: &serde_json::Value, base: &url::Url, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(id) = map.get("$id").and_then(serde_json::Value::as_str) {
                    if let Ok(url) = base.join(id) {
                        out.push(url.path().trim_start_matches('/').to_owned());
                    }
                }
                map.values().for_each(|v| ids(v, base, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| ids(v, base, out)),
            _ => {}
        }
    }
    let base = file_base(file);
    let mut out = Vec::new();
    walk(value, &base, &mut out);
    // A schema's `$id` names no file: references to it resolve in this one.
    let mut declared = Vec::new();
    ids(value, &base, &mut declared);
    out.retain(|name| name != file && !declared.contains(name));
    out
}
