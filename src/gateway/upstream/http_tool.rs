//! Calling an HTTP tool (seed 001): arguments validated against the tool's parameters, mapped
//! onto path, query, header and JSON body, sent through [`crate::outbound`] with the tool's
//! credential and timeout, and the answer turned into a `CallToolResult`. HTTP errors come back
//! as `isError` results, never as JSON-RPC errors.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::domain::http_tool::{AuthType, Location, ParamType};
use crate::gateway::directory::ToolEntry;
use crate::outbound::{Outbound, OutboundError};

/// Largest response body read from an HTTP tool.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Most of an error body quoted back to the model.
const MAX_ERROR_TEXT: usize = 2000;

/// Arguments that do not fit the tool: answered as JSON-RPC -32602 naming the field.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidArguments(pub String);

/// Validates `arguments` against the tool's parameters.
pub fn validate(tool: &ToolEntry, arguments: &Map<String, Value>) -> Result<(), InvalidArguments> {
    for p in &tool.parameters {
        match arguments.get(&p.name) {
            None | Some(Value::Null) if p.required => {
                return Err(InvalidArguments(format!("missing required argument: {}", p.name)));
            }
            None | Some(Value::Null) => {}
            Some(v) if !fits(p.kind, v) => {
                return Err(InvalidArguments(format!(
                    "argument {} must be of type {}",
                    p.name,
                    type_name(p.kind)
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn fits(kind: ParamType, v: &Value) -> bool {
    match kind {
        ParamType::String => v.is_string(),
        ParamType::Number => v.is_number(),
        ParamType::Integer => v.is_i64() || v.is_u64(),
        ParamType::Boolean => v.is_boolean(),
        ParamType::Object => v.is_object(),
        ParamType::Array => v.is_array(),
    }
}

fn type_name(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "string",
        ParamType::Number => "number",
        ParamType::Integer => "integer",
        ParamType::Boolean => "boolean",
        ParamType::Object => "object",
        ParamType::Array => "array",
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes a path segment: everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn error_result(text: String) -> Output {
    Output::Result(json!({"isError": true, "content": [{"type": "text", "text": text}]}))
}

/// What a tool call gives: a success is kept as the backend's text (see [`Output::Text`]), so
/// that a stateless answer can be written from it directly; anything else is a result.
#[derive(Debug)]
pub enum Output {
    /// A 2xx answer: its body as text (`utf8` when it was UTF-8 as sent, not repaired). When it
    /// is a JSON object, it is also the result's `structuredContent`.
    Text { text: String, utf8: bool },
    /// Any other result (an error result, or a result from elsewhere).
    Result(Value),
}

impl Output {
    /// The `CallToolResult`: `{"content": [text], "structuredContent"?}`.
    pub fn into_value(self) -> Value {
        match self {
            Output::Result(value) => value,
            Output::Text { text, utf8 } => {
                // Not UTF-8 is not JSON either.
                let structured = match utf8.then(|| serde_json::from_str::<Value>(&text)) {
                    Some(Ok(value @ Value::Object(_))) => Some(value),
                    _ => None,
                };
                let mut result = Map::new();
                result.insert("content".into(), Value::Array(vec![text_block(text)]));
                if let Some(value) = structured {
                    result.insert("structuredContent".into(), value);
                }
                Value::Object(result)
            }
        }
    }

    /// The structured copy of a text answer, as it is (checked to be a JSON object).
    pub fn structured(text: &str) -> Option<&serde_json::value::RawValue> {
        serde_json::from_str::<&serde_json::value::RawValue>(text)
            .ok()
            .filter(|raw| raw.get().starts_with('{'))
    }
}

/// Calls the tool; arguments must have passed [`validate`].
pub async fn call(outbound: &Outbound, tool: &ToolEntry, arguments: &Map<String, Value>) -> Output {
    if let Some(why) = &tool.unavailable {
        return error_result(format!("Error: {why}"));
    }
    let mut url = tool.endpoint_url.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let mut body = Map::new();
    for p in &tool.parameters {
        let Some(v) = arguments.get(&p.name).filter(|v| !v.is_null()) else { continue };
        match p.location {
            Location::Path => url = url.replace(&format!("{{{}}}", p.name), &encode_segment(&as_text(v))),
            Location::Query => query.push((p.name.clone(), as_text(v))),
            Location::Header => headers.push((p.name.clone(), as_text(v))),
            Location::Body => {
                body.insert(p.name.clone(), v.clone());
            }
        }
    }
    let method = crate::outbound::Method::from_bytes(tool.method.as_str().as_bytes()).expect("valid method");
    let mut request = match outbound.request(method, &url) {
        Ok(r) => r,
        Err(err) => return error_result(format!("Error: {err}")),
    };
    if !query.is_empty() {
        request = request.query(&query);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if !body.is_empty() {
        request = request.json(&body);
    }
    request = match (tool.auth, tool.credential.as_deref()) {
        (AuthType::Bearer, Some(c)) => request.bearer_auth(c),
        (AuthType::ApiKey, Some(c)) => {
            request.secret_header(tool.auth_header.as_deref().unwrap_or("X-API-Key"), c)
        }
        (AuthType::Basic, Some(c)) => request.secret_header(
            "authorization",
            &format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(c)),
        ),
        _ => request,
    };
    request = request
        .timeout(tool.timeout)
        .header(http::header::ACCEPT, http::HeaderValue::from_static("application/json, */*;q=0.5"));
    let response = match outbound.send(request).await {
        Ok(r) => r,
        Err(OutboundError::Timeout) => {
            return error_result(format!(
                "Error: the request timed out after {} ms",
                tool.timeout.as_millis()
            ));
        }
        Err(err) => return error_result(format!("Error: {err}")),
    };
    let status = response.status();
    let bytes = match Outbound::read_limited(response, MAX_RESPONSE_BYTES).await {
        Ok(b) => b,
        Err(OutboundError::Timeout) => {
            return error_result(format!(
                "Error: the request timed out after {} ms",
                tool.timeout.as_millis()
            ));
        }
        Err(err) => return error_result(format!("Error: {err}")),
    };
    // The body becomes the text block as it is (no copy when it is valid UTF-8); JSON that is
    // an object is also the structured content.
    let (text, utf8) = match String::from_utf8(bytes) {
        Ok(text) => (text, true),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
    };
    if !status.is_success() {
        let mut quoted: String = text.chars().take(MAX_ERROR_TEXT).collect();
        if quoted.trim().is_empty() {
            quoted = status.canonical_reason().unwrap_or("error").to_string();
        }
        return error_result(format!("Error: HTTP {}: {}", status.as_u16(), quoted.trim()));
    }
    // Whether it is JSON is found out where it is written: most answers are written out as they
    // came, the structured copy checked without building a tree.
    Output::Text { text, utf8 }
}

/// `{"type": "text", "text": …}`, the text moved in.
fn text_block(text: String) -> Value {
    let mut block = Map::new();
    block.insert("type".into(), Value::String("text".into()));
    block.insert("text".into(), Value::String(text));
    Value::Object(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("Buenos Aires/../x?y#z"), "Buenos%20Aires%2F..%2Fx%3Fy%23z");
        assert_eq!(encode_segment("ok-1.2_~"), "ok-1.2_~");
        assert_eq!(encode_segment("ñ"), "%C3%B1");
    }
}
