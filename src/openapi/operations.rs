//! Each operation of the document becomes a [`ToolPlan`] or a [`Skipped`] naming why: its
//! path, query and header parameters, its request body (JSON or a form), its answer's schema,
//! its credential, its base URL.

use serde_json::{Map, Value, json};

use super::document::{DocumentSet, Version};
use super::naming::{self, Names};
use super::pointer::{self, Location};
use super::schema::{Converter, Direction};
use super::selection::selected;
use super::servers::base_url;
use super::{
    BodyEncoding, ImportError, Options, Plan, PlannedBody, PlannedParameter, Skipped, ToolPlan, security,
};
use crate::domain::http_tool::{self, HttpMethod, Location as ArgumentLocation};

/// Methods a tool can use, in the order a path's operations are read.
const METHODS: [(&str, Option<HttpMethod>); 8] = [
    ("get", Some(HttpMethod::Get)),
    ("put", Some(HttpMethod::Put)),
    ("post", Some(HttpMethod::Post)),
    ("delete", Some(HttpMethod::Delete)),
    ("patch", Some(HttpMethod::Patch)),
    ("head", None),
    ("options", None),
    ("trace", None),
];
/// Longest tool description.
const MAX_DESCRIPTION: usize = 4000;

/// Plans a tool for every selected operation of `set`.
pub fn plan(set: &DocumentSet, options: &Options) -> Result<Plan, ImportError> {
    let root = set.root_value();
    let info = root.get("info").cloned().unwrap_or(Value::Null);
    let paths_at = Location::new(&set.root, "/paths");
    let paths = match root.get("paths") {
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err(ImportError::at(&paths_at, "`paths` must be an object")),
        None => {
            return Err(ImportError::at(&paths_at, "the document has no `paths`: there is nothing to call"));
        }
    };
    let document_base = base_url(set, root, &Location::new(&set.root, "/servers"), options)?;
    let mut names = Names::default();
    let (mut tools, mut skipped) = (Vec::new(), Vec::new());
    for (path, item) in paths {
        let mut at = paths_at.child(path);
        let mut item = item;
        if let Some(reference) = item.get("$ref").and_then(Value::as_str) {
            match pointer::resolve(set, &at, reference) {
                Ok(target) => {
                    item = set.get(&target).expect("resolved");
                    at = target;
                }
                Err(why) => {
                    skipped.push(Skipped { operation: path.clone(), reason: format!("{at}: {why}") });
                    continue;
                }
            }
        }
        let Some(item) = item.as_object() else {
            skipped.push(Skipped {
                operation: path.clone(),
                reason: format!("{at}: a path item must be an object"),
            });
            continue;
        };
        let path_base = match item.get("servers") {
            Some(_) => base_url(set, &Value::Object(item.clone()), &at.child("servers"), options)?,
            None => document_base.clone(),
        };
        for (key, method) in METHODS {
            let Some(operation) = item.get(key) else { continue };
            let label = format!("{} {path}", key.to_ascii_uppercase());
            let op_at = at.child(key);
            let Some(method) = method else {
                skipped.push(Skipped {
                    operation: label,
                    reason: format!("HTTP {} cannot be a tool", key.to_ascii_uppercase()),
                });
                continue;
            };
            let Some(operation) = operation.as_object() else {
                skipped.push(Skipped {
                    operation: label,
                    reason: format!("{op_at}: an operation must be an object"),
                });
                continue;
            };
            if !selected(&options.selection, path, operation) {
                skipped.push(Skipped { operation: label, reason: "not selected".into() });
                continue;
            }
            let base = match operation.get("servers") {
                Some(_) => {
                    base_url(set, &Value::Object(operation.clone()), &op_at.child("servers"), options)?
                }
                None => path_base.clone(),
            };
            let draft = Draft { set, path, item, operation, at: &op_at, method, base: &base, label: &label };
            match draft.tool(&mut names) {
                Ok(tool) => tools.push(tool),
                Err(reason) => skipped.push(Skipped { operation: label, reason }),
            }
        }
    }
    if tools.is_empty() {
        let reasons: Vec<String> =
            skipped.iter().take(5).map(|s| format!("{}: {}", s.operation, s.reason)).collect();
        return Err(ImportError::at(
            &paths_at,
            match reasons.is_empty() {
                true => "the document has no operations".to_owned(),
                false => format!("no operation can become a tool ({})", reasons.join("; ")),
            },
        ));
    }
    Ok(Plan {
        title: info.get("title").and_then(Value::as_str).unwrap_or("API").to_owned(),
        api_version: info.get("version").and_then(Value::as_str).unwrap_or_default().to_owned(),
        openapi: match set.version {
            Version::V3_0 => "3.0",
            Version::V3_1 => "3.1",
        }
        .into(),
        base_url: document_base,
        tools,
        skipped,
    })
}

/// One operation being planned.
struct Draft<'a> {
    set: &'a DocumentSet,
    path: &'a str,
    item: &'a Map<String, Value>,
    operation: &'a Map<String, Value>,
    at: &'a Location,
    method: HttpMethod,
    base: &'a str,
    label: &'a str,
}

impl Draft<'_> {
    fn tool(&self, names: &mut Names) -> Result<ToolPlan, String> {
        let operation_id = self.operation.get("operationId").and_then(Value::as_str).map(str::to_owned);
        let mut warnings = Vec::new();
        let mut input = Converter::new(self.set, Direction::Sent);
        let mut arguments = Names::default();
        let mut parameters = self.parameters(&mut input, &mut arguments, &mut warnings)?;
        let body = self.body(&mut input, &mut arguments, &mut warnings)?;
        // Path placeholders take the argument names.
        let mut path = self.path.to_owned();
        for p in parameters.iter().filter(|p| p.location == ArgumentLocation::Path) {
            let wire = p.wire_name.as_deref().unwrap_or(&p.name);
            path = path.replace(&format!("{{{wire}}}"), &format!("{{{}}}", p.name));
        }
        let endpoint_url = format!("{}{path}", self.base);
        let mut properties = Map::new();
        let mut required = Vec::new();
        for p in &parameters {
            properties.insert(p.name.clone(), p.schema.clone());
            if p.required {
                required.push(json!(p.name));
            }
        }
        if let Some((body, schema)) = &body {
            properties.insert(body.argument.clone(), schema.clone());
            if body.required {
                required.push(json!(body.argument));
            }
        }
        let mut input_schema = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            input_schema["required"] = Value::Array(required);
        }
        let defs = input.take_defs();
        if !defs.is_empty() {
            input_schema["$defs"] = Value::Object(defs);
        }
        let input_schema = strip_annotations(input_schema);
        warnings.append(&mut input.warnings);
        let output_schema = self.output(&mut warnings)?;
        let auth = security::auth_for(self.set, self.operation, self.at, &mut warnings);
        // The tool-level check Gatehouse applies to every HTTP tool.
        let checked: Vec<http_tool::Parameter> = parameters
            .iter()
            .map(|p| http_tool::Parameter {
                wire_name: p.wire_name.clone(),
                ..http_tool::Parameter::simple(&p.name, p.location, http_tool::ParamType::String, p.required)
            })
            .collect();
        let place = auth.as_ref().and_then(|a| match a.kind {
            super::AuthKind::ApiKey => a.name.as_deref().map(http_tool::CredentialPlace::Header),
            super::AuthKind::ApiKeyQuery => a.name.as_deref().map(http_tool::CredentialPlace::Query),
            _ => None,
        });
        http_tool::validate(&endpoint_url, &checked, None, place, http_tool::DEFAULT_TIMEOUT_MS)
            .map_err(|why| format!("{}: {why}", self.at))?;
        for p in &mut parameters {
            p.schema = strip_annotations(std::mem::take(&mut p.schema));
        }
        let wanted = operation_id.clone().unwrap_or_else(|| self.label.to_owned());
        Ok(ToolPlan {
            name: names.unique(&naming::snake_case(&wanted)),
            description: self.description(),
            method: self.method,
            endpoint_url,
            parameters,
            body: body.map(|(b, _)| b),
            input_schema,
            output_schema,
            auth,
            operation: self.label.to_owned(),
            operation_id,
            tags: self
                .operation
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            warnings,
        })
    }

    fn description(&self) -> String {
        let text = |key: &str| {
            self.operation.get(key).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
        };
        let mut description = match (text("summary"), text("description")) {
            (Some(s), Some(d)) if d.starts_with(s) => d.to_owned(),
            (Some(s), Some(d)) => format!("{s}\n\n{d}"),
            (Some(s), None) => s.to_owned(),
            (None, Some(d)) => d.to_owned(),
            (None, None) => self.label.to_owned(),
        };
        if self.operation.get("deprecated").and_then(Value::as_bool) == Some(true) {
            description = format!("Deprecated. {description}");
        }
        if description.chars().count() > MAX_DESCRIPTION {
            description = description.chars().take(MAX_DESCRIPTION - 1).collect::<String>() + "…";
        }
        description
    }

    /// Path-level and operation-level parameters (the operation's win), resolved.
    fn parameters(
        &self,
        converter: &mut Converter,
        arguments: &mut Names,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<PlannedParameter>, String> {
        let mut listed: Vec<(Location, Map<String, Value>)> = Vec::new();
        for (holder, at) in [(self.item, self.at_path_item()), (self.operation, self.at.clone())] {
            let Some(Value::Array(items)) = holder.get("parameters") else { continue };
            for (i, item) in items.iter().enumerate() {
                let (place, map) = self.deref(item, &at.child("parameters").child(&i.to_string()))?;
                let key = |m: &Map<String, Value>| (m.get("name").cloned(), m.get("in").cloned());
                listed.retain(|(_, existing)| key(existing) != key(&map));
                listed.push((place, map));
            }
        }
        let mut out = Vec::new();
        for (place, p) in listed {
            let wire = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{place}: a parameter needs a name"))?;
            let required = p.get("required").and_then(Value::as_bool) == Some(true);
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => ArgumentLocation::Path,
                Some("query") => ArgumentLocation::Query,
                Some("header") if http_tool::is_reserved_header(wire) => {
                    warnings.push(format!("{place}: header {wire} is Gatehouse's to set and was left out"));
                    continue;
                }
                Some("header") => ArgumentLocation::Header,
                Some(other) if !required => {
                    warnings.push(format!(
                        "{place}: an optional {other} parameter ({wire}) cannot be sent and was left out"
                    ));
                    continue;
                }
                Some(other) => {
                    return Err(format!("{place}: the {other} parameter {wire} cannot be sent by a tool"));
                }
                None => return Err(format!("{place}: the parameter {wire} has no `in`")),
            };
            let schema_at = place.child("schema");
            let schema = match (p.get("schema"), p.get("content").and_then(Value::as_object)) {
                (Some(schema), _) => converter.convert(schema, &schema_at)?,
                (None, Some(content)) => match content.iter().next() {
                    Some((media, m)) => {
                        let at = place.child("content").child(media).child("schema");
                        m.get("schema").map(|s| converter.convert(s, &at)).transpose()?.unwrap_or(json!({}))
                    }
                    None => json!({}),
                },
                (None, None) => json!({}),
            };
            let mut schema = schema;
            if let Some(description) =
                p.get("description").and_then(Value::as_str).filter(|d| !d.trim().is_empty())
            {
                schema["description"] = json!(description.trim());
            }
            if p.get("deprecated").and_then(Value::as_bool) == Some(true) {
                schema["deprecated"] = json!(true);
            }
            let name = arguments.unique(&naming::argument(wire));
            out.push(PlannedParameter {
                wire_name: (name != wire).then(|| wire.to_owned()),
                name,
                location,
                required: required || location == ArgumentLocation::Path,
                schema,
                style: p.get("style").and_then(Value::as_str).map(str::to_owned),
                explode: p.get("explode").and_then(Value::as_bool),
            });
        }
        Ok(out)
    }

    /// The request body, as one argument holding it, with its schema.
    fn body(
        &self,
        converter: &mut Converter,
        arguments: &mut Names,
        warnings: &mut Vec<String>,
    ) -> Result<Option<(PlannedBody, Value)>, String> {
        let Some(body) = self.operation.get("requestBody") else { return Ok(None) };
        let (place, body) = self.deref(body, &self.at.child("requestBody"))?;
        let required = body.get("required").and_then(Value::as_bool) == Some(true);
        let content = body.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
        let json_type = content.keys().find(|m| is_json(m)).cloned();
        let form_type = content.keys().find(|m| m.starts_with("application/x-www-form-urlencoded")).cloned();
        let (media, encoding) = match (json_type, form_type) {
            (Some(m), _) => (m, BodyEncoding::Json),
            (None, Some(m)) => (m, BodyEncoding::Form),
            (None, None) => {
                let kinds: Vec<&str> = content.keys().map(String::as_str).collect();
                let what = if kinds.is_empty() { "no content type".to_owned() } else { kinds.join(", ") };
                if required {
                    return Err(format!(
                        "{place}: a request body of {what} cannot be sent by a tool (JSON and forms can)"
                    ));
                }
                warnings.push(format!("{place}: the optional request body ({what}) was left out"));
                return Ok(None);
            }
        };
        let schema_at = place.child("content").child(&media).child("schema");
        let schema = match content[&media].get("schema") {
            Some(schema) => converter.convert(schema, &schema_at)?,
            None => json!({}),
        };
        let mut schema = schema;
        if let Some(description) =
            body.get("description").and_then(Value::as_str).filter(|d| !d.trim().is_empty())
        {
            schema
                .as_object_mut()
                .map(|s| s.entry("description").or_insert_with(|| json!(description.trim())));
        }
        let argument = arguments.unique(if arguments.is_taken("body") { "request_body" } else { "body" });
        Ok(Some((PlannedBody { argument, encoding, required }, schema)))
    }

    /// The schema of the first successful JSON answer, when it describes an object.
    fn output(&self, warnings: &mut Vec<String>) -> Result<Option<Value>, String> {
        let Some(Value::Object(responses)) = self.operation.get("responses") else { return Ok(None) };
        let mut codes: Vec<&String> = responses.keys().filter(|c| c.starts_with('2')).collect();
        codes.sort();
        let Some(code) = codes.first() else { return Ok(None) };
        let (place, response) = self.deref(&responses[*code], &self.at.child("responses").child(code))?;
        let Some(content) = response.get("content").and_then(Value::as_object) else { return Ok(None) };
        let Some((media, media_type)) = content.iter().find(|(m, _)| is_json(m)) else { return Ok(None) };
        let Some(schema) = media_type.get("schema") else { return Ok(None) };
        let mut converter = Converter::new(self.set, Direction::Received);
        let schema_at = place.child("content").child(media).child("schema");
        let mut schema = match converter.convert(schema, &schema_at) {
            Ok(schema) => schema,
            Err(why) => {
                warnings.push(format!("{why}; the tool has no outputSchema"));
                return Ok(None);
            }
        };
        warnings.append(&mut converter.warnings);
        let defs = converter.take_defs();
        // A schema that contains itself is a reference into `$defs`.
        let described =
            match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
                Some(name) => defs.get(name).unwrap_or(&schema),
                None => &schema,
            };
        let is_object = described.get("type").and_then(Value::as_str) == Some("object")
            || (described.get("type").is_none() && described.get("properties").is_some());
        if !is_object {
            return Ok(None);
        }
        if !defs.is_empty() {
            schema["$defs"] = Value::Object(defs);
        }
        Ok(Some(strip_annotations(schema)))
    }

    fn at_path_item(&self) -> Location {
        Location {
            file: self.at.file.clone(),
            pointer: self.at.pointer.rsplit_once('/').map(|(p, _)| p.to_owned()).unwrap_or_default(),
        }
    }

    /// `value`, or what its `$ref` names, with where it is.
    fn deref(&self, value: &Value, at: &Location) -> Result<(Location, Map<String, Value>), String> {
        let mut place = at.clone();
        let mut value = value;
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    place = pointer::resolve(self.set, &place, reference)
                        .map_err(|why| format!("{}: {why}", place.child("$ref")))?;
                    value = self.set.get(&place).expect("resolved");
                }
                None => {
                    return value
                        .as_object()
                        .cloned()
                        .map(|m| (place.clone(), m))
                        .ok_or_else(|| format!("{place}: must be an object"));
                }
            }
        }
        Err(format!("{at}: references go round in a circle"))
    }
}

fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `readOnly`/`writeOnly` served their purpose (which side owns a property) in planning.
fn strip_annotations(mut schema: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("readOnly");
                map.remove("writeOnly");
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}
