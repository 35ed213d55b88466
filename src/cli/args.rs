//! A registry operation's arguments on the command line, from its path and input schema: each
//! path parameter an option (`serverId` → `--server`), each input property an option named in
//! kebab case with its schema's description as help; and back, the values given as the path
//! parameters and the JSON input of the call.

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

use crate::api::registry::{Operation, path_param_doc};

/// Option names the CLI keeps for itself.
const RESERVED: &[&str] = &["json", "help", "version", "url", "token"];

/// The option a path parameter is given with: `serverId` → `server`, `tokenId` → `token-id`.
pub fn path_option(param: &str) -> String {
    let base = param.strip_suffix("Id").unwrap_or(param);
    let name = kebab(base);
    if RESERVED.contains(&name.as_str()) { format!("{name}-id") } else { name }
}

/// The option an input property is given with.
pub fn input_option(property: &str) -> String {
    let name = kebab(property);
    if RESERVED.contains(&name.as_str()) { format!("{name}-value") } else { name }
}

fn kebab(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON types a property's schema admits.
fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => ["anyOf", "oneOf"]
            .iter()
            .flat_map(|k| schema[*k].as_array().into_iter().flatten())
            .flat_map(types)
            .collect(),
    }
}

/// The command of one operation.
pub fn command(op: &Operation, verb: &str) -> Command {
    let mut cmd = Command::new(verb.to_string())
        .about(op.spec.summary)
        .long_about(format!("{}\n\nREST: {} {}", op.spec.summary, op.spec.method, op.spec.path));
    for p in &op.path_params {
        let help = if p == "org" {
            "The organization (id or slug); default GATEHOUSE_ORG, the saved login's, or your only one"
                .to_string()
        } else {
            path_param_doc(p).to_string()
        };
        let mut arg = Arg::new(path_option(p)).long(path_option(p)).value_name("ID").help(help);
        arg = if p == "org" { arg.env("GATEHOUSE_ORG") } else { arg.required(true) };
        cmd = cmd.arg(arg);
    }
    let required: Vec<&str> =
        op.input_schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if let Some(props) = op.input_schema["properties"].as_object() {
        for (name, schema) in props {
            let option = input_option(name);
            let mut help = schema["description"].as_str().unwrap_or_default().replace('\n', " ");
            let kinds = types(schema);
            let mut arg = Arg::new(option.clone()).long(option).required(required.contains(&name.as_str()));
            if kinds.iter().any(|t| t == "array") {
                arg = arg.action(ArgAction::Append).value_name("VALUE");
                help.push_str(" (repeat for several)");
            } else if kinds.iter().any(|t| t == "object") {
                arg = arg.value_name("JSON");
                help.push_str(" (@FILE: read from a file)");
            } else if kinds.iter().any(|t| t == "boolean") {
                arg = arg.value_name("true|false").value_parser(["true", "false"]);
            } else if let Some(values) = schema["enum"].as_array() {
                let names: Vec<String> =
                    values.iter().filter_map(Value::as_str).map(str::to_string).collect();
                arg = arg.value_parser(clap::builder::PossibleValuesParser::new(names));
            }
            if kinds.iter().any(|t| t == "string") && schema["enum"].is_null() {
                help.push_str(" (@FILE: read from a file)");
            }
            cmd = cmd.arg(arg.help(help));
        }
    }
    cmd
}

/// One value as the schema's type: JSON where it parses as a non-string of an admitted type,
/// else the text.
fn value(raw: &str, kinds: &[String]) -> Value {
    let textual = kinds.is_empty() || kinds.iter().any(|t| t == "string");
    match serde_json::from_str::<Value>(raw) {
        Ok(v) if !v.is_string() && !(textual && (v.is_number() || v.is_boolean())) => v,
        _ => Value::String(raw.to_string()),
    }
}

/// A value as given, or, written `@FILE`, the file's text (as curl takes it); `@@` stands for a
/// value that starts with `@`.
fn given(raw: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    match raw.strip_prefix('@') {
        Some(literal) if literal.starts_with('@') => Ok(literal.into()),
        Some(file) => {
            std::fs::read_to_string(file).map(Into::into).map_err(|e| format!("cannot read {file}: {e}"))
        }
        None => Ok(raw.into()),
    }
}

/// The values given: path parameters (by their registry names) and the input.
pub fn collect(op: &Operation, m: &ArgMatches) -> Result<(Vec<(String, String)>, Value), String> {
    let params = op
        .path_params
        .iter()
        .filter_map(|p| m.get_one::<String>(&path_option(p)).map(|v| (p.clone(), v.clone())))
        .collect();
    let mut input = Map::new();
    if let Some(props) = op.input_schema["properties"].as_object() {
        for (name, schema) in props {
            let kinds = types(schema);
            let Some(raw) = m.get_many::<String>(&input_option(name)) else { continue };
            let option = input_option(name);
            let values = raw
                .map(|raw| given(raw).map_err(|e| format!("--{option}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let v = if kinds.iter().any(|t| t == "array") {
                let items = schema["items"].clone();
                let item_kinds = types(&items);
                Value::Array(values.iter().map(|g| value(g, &item_kinds)).collect())
            } else {
                value(&values[0], &kinds)
            };
            input.insert(name.clone(), v);
        }
    }
    Ok((params, Value::Object(input)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_kebab_case_and_never_the_cli_own() {
        assert_eq!(path_option("serverId"), "server");
        assert_eq!(path_option("tokenId"), "token-id");
        assert_eq!(path_option("toolName"), "tool-name");
        assert_eq!(input_option("approvalPolicy"), "approval-policy");
        assert_eq!(input_option("url"), "url-value");
        let kinds = vec!["integer".to_string()];
        assert_eq!(value("5", &kinds), Value::from(5));
        assert_eq!(value("05a", &["string".to_string()]), Value::from("05a"));
        assert_eq!(value("123", &["string".to_string()]), Value::from("123"));
    }

    #[test]
    fn values_may_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("doc.yaml");
        std::fs::write(&file, "openapi: 3.1.0\n").unwrap();
        assert_eq!(given(&format!("@{}", file.display())).unwrap(), "openapi: 3.1.0\n");
        assert_eq!(given("@@team").unwrap(), "@team");
        assert_eq!(given("plain").unwrap(), "plain");
        assert!(given("@/nowhere/at/all").unwrap_err().starts_with("cannot read /nowhere/at/all"));
    }
}
