//! Argument values as a request carries them: query pairs in the parameter's style, header and
//! path text, and form bodies.

use serde_json::{Map, Value};

use super::request::as_text;
use crate::domain::http_tool::{Parameter, QueryStyle};

/// Text of a header or path value: an array's items joined by commas (OpenAPI's `simple`).
pub(super) fn simple_text(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>().join(","),
        other => as_text(other),
    }
}

/// The query pairs of one argument, in its parameter's style.
pub(super) fn query_pairs(p: &Parameter, value: &Value, mut pair: impl FnMut(&str, &str)) {
    let name = p.wire();
    let style = p.style.unwrap_or(QueryStyle::Form);
    let explode = p.explode.unwrap_or(style == QueryStyle::Form);
    match value {
        Value::Array(items) if explode => items.iter().for_each(|item| pair(name, &as_text(item))),
        Value::Array(items) => {
            let separator = match style {
                QueryStyle::SpaceDelimited => " ",
                QueryStyle::PipeDelimited => "|",
                _ => ",",
            };
            pair(name, &items.iter().map(as_text).collect::<Vec<_>>().join(separator));
        }
        Value::Object(members) if style == QueryStyle::DeepObject => {
            members.iter().for_each(|(k, v)| pair(&format!("{name}[{k}]"), &as_text(v)));
        }
        Value::Object(members) if explode => members.iter().for_each(|(k, v)| pair(k, &as_text(v))),
        other => pair(name, &as_text(other)),
    }
}

/// `members` as `application/x-www-form-urlencoded`: arrays as one pair per item, anything
/// else nested as JSON text.
pub(super) fn form(members: impl Iterator<Item = (String, Value)>) -> Vec<u8> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in members {
        match &value {
            Value::Array(items) => items.iter().for_each(|item| {
                out.append_pair(&name, &as_text(item));
            }),
            other => {
                out.append_pair(&name, &as_text(other));
            }
        }
    }
    out.finish().into_bytes()
}

/// The members of a whole-body argument written as a form (an object; anything else is one
/// pair named after nothing, which no API reads: refused before).
pub(super) fn form_members(value: &Value) -> Option<Map<String, Value>> {
    value.as_object().cloned()
}
