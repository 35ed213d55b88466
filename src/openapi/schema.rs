//! An OpenAPI schema becomes the JSON Schema (2020-12) a tool shows: references inlined, a
//! schema that contains itself kept once in `$defs`, OpenAPI 3.0's dialect (`nullable`,
//! `example`, boolean `exclusiveMinimum`) turned into JSON Schema's, properties the other side
//! owns dropped (`readOnly` from what is sent, `writeOnly` from what comes back), and only the
//! keywords that say what a value is kept (no `xml`, `discriminator`, extensions).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::document::{DocumentSet, Version};
use super::pointer::{self, Location};

/// Most values one tool's schema may hold once references are inlined.
pub const MAX_SCHEMA_VALUES: usize = 20_000;
/// Deepest chain of references followed.
const MAX_REF_DEPTH: usize = 64;

/// What the schema describes: arguments sent, or an answer received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// Keywords kept as they are (their values hold no schema).
const PLAIN: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "default",
    "enum",
    "const",
    "examples",
    "deprecated",
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
    "contentMediaType",
    "contentEncoding",
    "dependentRequired",
    "readOnly",
    "writeOnly",
];
/// Keywords whose value is one schema.
const ONE: &[&str] =
    &["items", "not", "additionalProperties", "contains", "propertyNames", "if", "then", "else"];
/// Keywords whose value is a list of schemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to schemas.
const MAP: &[&str] = &["properties", "patternProperties"];

/// Converts the schemas of one tool, sharing its `$defs`.
pub struct Converter<'a> {
    set: &'a DocumentSet,
    direction: Direction,
    stack: Vec<Location>,
    recursive: HashSet<Location>,
    names: HashMap<Location, String>,
    defs: Map<String, Value>,
    values: usize,
    /// What was passed over (a `$ref` that is no string), with where.
    pub warnings: Vec<String>,
}

impl<'a> Converter<'a> {
    pub fn new(set: &'a DocumentSet, direction: Direction) -> Self {
        Self {
            set,
            direction,
            stack: Vec::new(),
            recursive: HashSet::new(),
            names: HashMap::new(),
            defs: Map::new(),
            values: 0,
            warnings: Vec::new(),
        }
    }

    /// The schemas that contain themselves, for the tool schema's `$defs`.
    pub fn take_defs(&mut self) -> Map<String, Value> {
        std::mem::take(&mut self.defs)
    }

    /// The JSON Schema for the schema `value` found at `at`.
    pub fn convert(&mut self, value: &Value, at: &Location) -> Result<Value, String> {
        self.values += 1;
        if self.values > MAX_SCHEMA_VALUES {
            return Err(format!("{at}: the schema expands to more than {MAX_SCHEMA_VALUES} values"));
        }
        let map = match value {
            Value::Bool(_) => return Ok(value.clone()),
            Value::Object(map) => map,
            _ => return Err(format!("{at}: a schema must be an object")),
        };
        match map.get("$ref") {
            Some(Value::String(reference)) => self.reference(map, reference, at),
            Some(_) => {
                self.warnings.push(format!("{at}: `$ref` is not a string and was ignored"));
                let mut rest = map.clone();
                rest.remove("$ref");
                self.object(&rest, at)
            }
            None => self.object(map, at),
        }
    }

    fn reference(
        &mut self,
        map: &Map<String, Value>,
        reference: &str,
        at: &Location,
    ) -> Result<Value, String> {
        let target = pointer::resolve(self.set, at, reference)
            .map_err(|why| format!("{}: {why}", at.child("$ref")))?;
        let known = self.recursive.contains(&target)
            && self.names.get(&target).is_some_and(|n| self.defs.contains_key(n));
        let mut converted = if self.stack.contains(&target) || known {
            self.recursive.insert(target.clone());
            json!({"$ref": format!("#/$defs/{}", self.name_of(&target))})
        } else {
            if self.stack.len() >= MAX_REF_DEPTH {
                return Err(format!("{at}: references nest deeper than {MAX_REF_DEPTH}"));
            }
            let value = self.set.get(&target).cloned().unwrap_or(Value::Null);
            self.stack.push(target.clone());
            let result = self.convert(&value, &target);
            self.stack.pop();
            let result = result?;
            if self.recursive.contains(&target) {
                let name = self.name_of(&target);
                self.defs.insert(name.clone(), result);
                json!({"$ref": format!("#/$defs/{name}")})
            } else {
                result
            }
        };
        // Keywords beside `$ref` (3.1, and a description people write anyway) say more.
        if let Value::Object(out) = &mut converted {
            for key in ["description", "title", "default", "examples", "deprecated"] {
                if let Some(v) = map.get(key) {
                    out.insert(key.into(), v.clone());
                }
            }
        }
        Ok(converted)
    }

    fn name_of(&mut self, target: &Location) -> String {
        if let Some(name) = self.names.get(target) {
            return name.clone();
        }
        let last = target.pointer.rsplit('/').next().unwrap_or("schema");
        let base: String = last
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
            .collect();
        let base = if base.is_empty() { "schema".to_owned() } else { base };
        let mut name = base.clone();
        let mut n = 2;
        while self.names.values().any(|taken| *taken == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.names.insert(target.clone(), name.clone());
        name
    }

    fn object(&mut self, map: &Map<String, Value>, at: &Location) -> Result<Value, String> {
        let mut out = Map::new();
        for key in PLAIN {
            if let Some(v) = map.get(*key) {
                out.insert((*key).into(), v.clone());
            }
        }
        for key in ONE {
            if let Some(v) = map.get(*key) {
                out.insert((*key).into(), self.convert(v, &at.child(key))?);
            }
        }
        for key in LIST {
            if let Some(Value::Array(items)) = map.get(*key) {
                let place = at.child(key);
                let converted = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.convert(item, &place.child(&i.to_string())))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert((*key).into(), Value::Array(converted));
            }
        }
        for key in MAP {
            if let Some(Value::Object(members)) = map.get(*key) {
                let place = at.child(key);
                let mut converted = Map::new();
                for (name, schema) in members {
                    let schema = self.convert(schema, &place.child(name))?;
                    if self.owned_by_other_side(&schema, members.get(name)) {
                        drop_required(&mut out, name);
                        continue;
                    }
                    converted.insert(name.clone(), schema);
                }
                out.insert((*key).into(), Value::Object(converted));
            }
        }
        // `required` may have been copied before the members it names were dropped.
        if let Some(Value::Object(properties)) = out.get("properties").cloned() {
            if let Some(Value::Array(required)) = out.get_mut("required") {
                required.retain(|name| name.as_str().is_some_and(|n| properties.contains_key(n)));
                if required.is_empty() {
                    out.remove("required");
                }
            }
        }
        if self.set.version == Version::V3_0 {
            from_openapi_3_0(map, &mut out);
        } else {
            for key in ["exclusiveMinimum", "exclusiveMaximum"] {
                if let Some(v) = map.get(key).filter(|v| v.is_number()) {
                    out.insert(key.into(), v.clone());
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// A property the other side alone writes: `readOnly` ones are not sent, `writeOnly` ones
    /// never come back.
    fn owned_by_other_side(&self, converted: &Value, raw: Option<&Value>) -> bool {
        let flag = match self.direction {
            Direction::Sent => "readOnly",
            Direction::Received => "writeOnly",
        };
        let set = |v: Option<&Value>| v.and_then(|v| v.get(flag)).and_then(Value::as_bool) == Some(true);
        set(Some(converted)) || set(raw)
    }
}

fn drop_required(out: &mut Map<String, Value>, name: &str) {
    if let Some(Value::Array(required)) = out.get_mut("required") {
        required.retain(|n| n.as_str() != Some(name));
    }
}

/// OpenAPI 3.0's own keywords in JSON Schema's terms.
fn from_openapi_3_0(map: &Map<String, Value>, out: &mut Map<String, Value>) {
    if map.get("nullable").and_then(Value::as_bool) == Some(true) {
        match out.get("type").cloned() {
            Some(Value::String(t)) => {
                out.insert("type".into(), json!([t, "null"]));
            }
            _ => {
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
        }
    }
    if let Some(example) = map.get("example") {
        out.entry("examples").or_insert_with(|| json!([example]));
    }
    for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if map.get(flag).and_then(Value::as_bool) == Some(true) {
            if let Some(limit) = out.remove(bound) {
                out.insert(flag.into(), limit);
            }
        }
    }
}
