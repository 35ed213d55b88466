//! HTTP tools: the definition an admin writes, its validation, and the
//! `inputSchema` generated from its parameters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Where an argument goes in the HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// Replaces `{name}` in the endpoint URL.
    Path,
    /// Appended to the query string.
    Query,
    /// A field of the JSON body.
    Body,
    /// A request header.
    Header,
}

/// JSON type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Number,
    Integer,
    Boolean,
    Object,
    Array,
}

impl ParamType {
    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
        }
    }
}

/// One parameter of an HTTP tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Parameter {
    /// Argument name the agent uses.
    #[schemars(pattern(r"^[A-Za-z0-9_-]{1,64}$"))]
    pub name: String,
    /// Where it goes in the request.
    pub location: Location,
    /// JSON type (default string).
    #[serde(rename = "type", default = "default_type")]
    pub kind: ParamType,
    /// What it means (shown to the model).
    #[serde(default)]
    pub description: String,
    /// Whether the agent must give it.
    #[serde(default)]
    pub required: bool,
}

fn default_type() -> ParamType {
    ParamType::String
}

/// HTTP method of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Parses a stored method name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete].into_iter().find(|m| m.as_str() == s)
    }
}

/// How a tool authenticates to the API behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// No credential.
    None,
    /// `Authorization: Bearer {credential}`.
    Bearer,
    /// `{header}: {credential}`.
    ApiKey,
    /// `Authorization: Basic base64(credential)`, credential `username:password`.
    Basic,
}

impl AuthType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer => "bearer",
            Self::ApiKey => "api_key",
            Self::Basic => "basic",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Bearer, Self::ApiKey, Self::Basic].into_iter().find(|a| a.as_str() == s)
    }
}

/// Default per-call timeout.
pub const DEFAULT_TIMEOUT_MS: i64 = 30_000;
/// Largest per-call timeout.
pub const MAX_TIMEOUT_MS: i64 = 120_000;
/// Purpose under which tool credentials are sealed with the master key.
pub const CREDENTIAL_PURPOSE: &str = "tool-credential";
/// Longest endpoint URL, in characters.
pub const MAX_URL_LEN: usize = 2048;

/// Tool names are snake_case: a lowercase letter, then lowercase letters, digits, `_`; ≤ 64.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("name must be snake_case (a-z, 0-9, _; starting with a letter; at most 64): {name:?}"))
    }
}

/// The `{placeholder}` names in an endpoint URL, in order. Placeholders fill the path only:
/// the scheme, host and port (and the query, which has `query` parameters) are fixed when the
/// tool is defined, so whoever holds a server's API key cannot choose where the tool's
/// credential is sent.
pub fn placeholders(url: &str) -> Result<Vec<String>, String> {
    let path_start = url.find("://").map(|i| i + 3).and_then(|s| url[s..].find('/').map(|i| s + i));
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let first = url.find(['{', '}']);
    let last = url.rfind(['{', '}']);
    if let (Some(first), Some(last)) = (first, last) {
        if path_start.is_none_or(|start| first < start) || last >= path_end {
            return Err("endpointUrl placeholders may only fill the path: scheme, host, port and query are \
                        fixed (use query parameters for the query)"
                .into());
        }
    }
    let mut out = Vec::new();
    let mut rest = url;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or_else(|| "endpointUrl has an unclosed '{'".to_string())?;
        let name = &after[..end];
        if name.is_empty() || name.contains('{') {
            return Err("endpointUrl has an empty or nested placeholder".into());
        }
        out.push(name.to_string());
        rest = &after[end + 1..];
    }
    if rest.contains('}') {
        return Err("endpointUrl has an unmatched '}'".into());
    }
    Ok(out)
}

/// Headers a call's request gets from Gatehouse or from HTTP itself, which no header parameter
/// may set (compared case-insensitively).
const RESERVED_HEADERS: [&str; 13] = [
    "accept",
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "host",
    "keep-alive",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
];

/// Whether a header parameter's name is one Gatehouse or HTTP sets ([`RESERVED_HEADERS`]).
pub fn is_reserved_header(name: &str) -> bool {
    RESERVED_HEADERS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Checks a whole definition: URL shape, placeholders ↔ path parameters, parameter names (a
/// header parameter names neither a header Gatehouse sets nor `credential_header`, the one the
/// tool's API-key credential goes in), timeout. Returns a message naming what is wrong.
pub fn validate(
    endpoint_url: &str,
    parameters: &[Parameter],
    credential_header: Option<&str>,
    timeout_ms: i64,
) -> Result<(), String> {
    if endpoint_url.chars().count() > MAX_URL_LEN {
        return Err(format!("endpointUrl must be at most {MAX_URL_LEN} characters"));
    }
    let holes = placeholders(endpoint_url)?;
    // Validate the URL with placeholders filled, so `{id}` does not break parsing.
    let sample = holes.iter().fold(endpoint_url.to_string(), |u, h| u.replace(&format!("{{{h}}}"), "x"));
    let parsed = url::Url::parse(&sample).map_err(|e| format!("endpointUrl is not an absolute URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("endpointUrl must be an http(s) URL with a host".into());
    }
    let mut seen = std::collections::HashSet::new();
    for p in parameters {
        if p.name.is_empty()
            || p.name.len() > 64
            || !p.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("parameter name {:?} must be 1-64 of a-z, A-Z, 0-9, _ and -", p.name));
        }
        if !seen.insert(p.name.as_str()) {
            return Err(format!("parameter {} is defined twice", p.name));
        }
        if p.location == Location::Header
            && (is_reserved_header(&p.name)
                || credential_header.is_some_and(|h| h.eq_ignore_ascii_case(&p.name)))
        {
            return Err(format!("header parameter {} names a header Gatehouse sets for the tool", p.name));
        }
        if p.location == Location::Path && !holes.contains(&p.name) {
            return Err(format!(
                "path parameter {} has no {{{}}} placeholder in endpointUrl",
                p.name, p.name
            ));
        }
        if p.location == Location::Path && !p.required {
            return Err(format!("path parameter {} must be required", p.name));
        }
    }
    for h in &holes {
        if !parameters.iter().any(|p| p.location == Location::Path && &p.name == h) {
            return Err(format!("placeholder {{{h}}} has no matching path parameter"));
        }
    }
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(format!("timeoutMs must be between 1 and {MAX_TIMEOUT_MS}"));
    }
    Ok(())
}

/// Checks a credential's format for its auth type.
pub fn validate_credential(auth: AuthType, credential: &str, header: Option<&str>) -> Result<(), String> {
    if credential.is_empty() || credential.chars().count() > 8192 || credential.chars().any(char::is_control)
    {
        return Err("auth.credential must be 1 to 8192 printable characters".into());
    }
    match auth {
        AuthType::Basic if !credential.contains(':') => Err("a basic credential is username:password".into()),
        AuthType::ApiKey => {
            let header = header.ok_or("auth.header is required for api_key")?;
            axum::http::HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| format!("auth.header {header:?} is not a valid header name"))?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The tool's `inputSchema`: an object with one property per parameter.
pub fn input_schema(parameters: &[Parameter]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in parameters {
        let mut prop = json!({"type": p.kind.as_str()});
        if !p.description.is_empty() {
            prop["description"] = json!(p.description);
        }
        properties.insert(p.name.clone(), prop);
        if p.required {
            required.push(json!(p.name));
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, location: Location, required: bool) -> Parameter {
        Parameter {
            name: name.into(),
            location,
            kind: ParamType::String,
            description: String::new(),
            required,
        }
    }

    #[test]
    fn names_are_snake_case() {
        assert!(validate_name("get_weather").is_ok());
        for bad in ["GetWeather", "get-weather", "1tool", "", "a b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn placeholders_must_match_path_parameters() {
        let url = "https://api.example.com/users/{id}/posts";
        assert!(validate(url, &[param("id", Location::Path, true)], None, 1000).is_ok());
        assert!(validate(url, &[], None, 1000).unwrap_err().contains("{id}"));
        assert!(validate("https://x.example/a", &[param("id", Location::Path, true)], None, 1000).is_err());
        assert!(validate(url, &[param("id", Location::Path, false)], None, 1000).is_err());
        assert!(validate("https://x.example/{a", &[], None, 1000).is_err());
        assert!(validate("ftp://x.example/", &[], None, 1000).is_err());
        assert!(validate("/relative", &[], None, 1000).is_err());
        assert!(
            validate(
                url,
                &[param("id", Location::Path, true), param("id", Location::Query, false)],
                None,
                1000
            )
            .is_err()
        );
        assert!(validate(url, &[param("id", Location::Path, true)], None, 0).is_err());
    }

    #[test]
    fn header_parameters_leave_the_headers_gatehouse_sets_alone() {
        let url = "https://api.example.com/v1";
        let header = |name: &str| param(name, Location::Header, false);
        assert!(validate(url, &[header("X-Trace")], None, 1000).is_ok());
        for name in ["Authorization", "accept", "Host", "User-Agent", "Content-Type", "Transfer-Encoding"] {
            assert!(validate(url, &[header(name)], None, 1000).unwrap_err().contains(name), "{name}");
        }
        // The header an API-key credential goes in, whatever its case.
        assert!(validate(url, &[header("x-key")], Some("X-Key"), 1000).is_err());
        // A query parameter may have any of these names: it is no header.
        assert!(validate(url, &[param("accept", Location::Query, false)], None, 1000).is_ok());
    }

    #[test]
    fn input_schema_has_a_property_per_parameter() {
        let schema = input_schema(&[
            Parameter {
                name: "city".into(),
                location: Location::Query,
                kind: ParamType::String,
                description: "City name".into(),
                required: true,
            },
            param("units", Location::Query, false),
        ]);
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "units": {"type": "string"}}, "required": ["city"]})
        );
    }

    #[test]
    fn credentials_are_checked_per_type() {
        assert!(validate_credential(AuthType::Basic, "user:pw", None).is_ok());
        assert!(validate_credential(AuthType::Basic, "userpw", None).is_err());
        assert!(validate_credential(AuthType::ApiKey, "k", None).is_err());
        assert!(validate_credential(AuthType::ApiKey, "k", Some("X-Api-Key")).is_ok());
        assert!(validate_credential(AuthType::ApiKey, "k", Some("bad header")).is_err());
        assert!(validate_credential(AuthType::Bearer, "", None).is_err());
    }
}
