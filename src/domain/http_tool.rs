//! HTTP tools: the definition an admin writes (or an OpenAPI import plans), its validation, and
//! the `inputSchema` generated from its parameters and body.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::http_body::Body;

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
    /// Its JSON Schema (enums, formats, items, members), shown in `inputSchema` and checked on
    /// every call; without it, `type` alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Its name in the request when that differs from the argument's (`StartTime<`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub wire_name: Option<String>,
    /// How an array or object in the query is written (OpenAPI's `style`; default `form`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<QueryStyle>,
    /// Whether an array is written as one pair per item (default) or one joined value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explode: Option<bool>,
}

impl Parameter {
    /// A parameter with its type alone.
    pub fn simple(name: &str, location: Location, kind: ParamType, required: bool) -> Self {
        Self {
            name: name.into(),
            location,
            kind,
            description: String::new(),
            required,
            schema: None,
            wire_name: None,
            style: None,
            explode: None,
        }
    }

    /// Its name in the request.
    pub fn wire(&self) -> &str {
        self.wire_name.as_deref().unwrap_or(&self.name)
    }
}

/// How an array or object query argument is written (OpenAPI parameter styles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum QueryStyle {
    /// `a=1&a=2`, or exploded off `a=1,2`; an object's members as pairs.
    Form,
    /// `a=1 2`.
    SpaceDelimited,
    /// `a=1|2`.
    PipeDelimited,
    /// `a[x]=1&a[y]=2`.
    DeepObject,
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
    /// `?{parameter}={credential}`: a key in the query.
    ApiKeyQuery,
    /// `Authorization: Bearer {token}`, the token obtained with an OAuth client-credentials
    /// grant whose client secret is the credential.
    OauthClientCredentials,
}

impl AuthType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer => "bearer",
            Self::ApiKey => "api_key",
            Self::Basic => "basic",
            Self::ApiKeyQuery => "api_key_query",
            Self::OauthClientCredentials => "oauth_client_credentials",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Bearer, Self::ApiKey, Self::Basic, Self::ApiKeyQuery, Self::OauthClientCredentials]
            .into_iter()
            .find(|a| a.as_str() == s)
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

/// Where a tool's credential goes, when it is a key: a header, or a query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialPlace<'a> {
    Header(&'a str),
    Query(&'a str),
}

impl<'a> CredentialPlace<'a> {
    /// Where the key of `auth` goes, `name` being the stored header or parameter name.
    pub fn of(auth: AuthType, name: Option<&'a str>) -> Option<Self> {
        match (auth, name) {
            (AuthType::ApiKey, Some(name)) => Some(Self::Header(name)),
            (AuthType::ApiKeyQuery, Some(name)) => Some(Self::Query(name)),
            _ => None,
        }
    }
}

/// Checks a whole definition: URL shape, placeholders ↔ path parameters, parameter names (a
/// header parameter names neither a header Gatehouse sets nor the one the tool's key goes in; a
/// query parameter not the key's), the body, timeout. Returns a message naming what is wrong.
pub fn validate(
    endpoint_url: &str,
    parameters: &[Parameter],
    body: Option<&Body>,
    credential: Option<CredentialPlace>,
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
        let wire = p.wire();
        if wire.is_empty() || wire.len() > 256 || wire.chars().any(char::is_control) {
            return Err(format!("parameter {}: wireName must be 1-256 printable characters", p.name));
        }
        if p.location == Location::Header
            && (is_reserved_header(wire)
                || matches!(credential, Some(CredentialPlace::Header(h)) if h.eq_ignore_ascii_case(wire))
                || http::HeaderName::from_bytes(wire.as_bytes()).is_err())
        {
            return Err(format!(
                "header parameter {} names a header Gatehouse sets for the tool, or no header",
                p.name
            ));
        }
        if p.location == Location::Query && matches!(credential, Some(CredentialPlace::Query(q)) if q == wire)
        {
            return Err(format!("query parameter {} is where the tool's key goes", p.name));
        }
        if p.schema.as_ref().is_some_and(|s| !s.is_object() && !s.is_boolean()) {
            return Err(format!("parameter {}: schema must be a JSON Schema object", p.name));
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
    if let Some(body) = body {
        if let Some(argument) = &body.argument {
            if argument.is_empty()
                || argument.len() > 64
                || !argument.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(format!("body.argument {argument:?} must be 1-64 of a-z, A-Z, 0-9, _ and -"));
            }
            if parameters.iter().any(|p| &p.name == argument) {
                return Err(format!("body.argument {argument} is also a parameter's name"));
            }
            if parameters.iter().any(|p| p.location == Location::Body) {
                return Err(
                    "with body.argument holding the whole body, no parameter may be in the body".into()
                );
            }
        }
        if body.schema.as_ref().is_some_and(|s| !s.is_object() && !s.is_boolean()) {
            return Err("body.schema must be a JSON Schema object".into());
        }
    }
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(format!("timeoutMs must be between 1 and {MAX_TIMEOUT_MS}"));
    }
    Ok(())
}

/// Checks a credential's format for its auth type; `header` is where a key goes (the header of
/// `api_key`, the query parameter of `api_key_query`).
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
        AuthType::ApiKeyQuery => match header {
            Some(name) if !name.is_empty() && name.len() <= 256 && !name.chars().any(char::is_control) => {
                Ok(())
            }
            _ => Err("auth.parameter (1-256 printable characters) is required for api_key_query".into()),
        },
        _ => Ok(()),
    }
}

/// The tool's `inputSchema`: an object with one property per parameter (its schema, or its
/// type), and one for the body's argument. Definitions the schemas share (`$defs`, made by an
/// import for schemas that contain themselves) are gathered at the top, where `#/$defs/…`
/// points.
pub fn input_schema(parameters: &[Parameter], body: Option<&Body>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut defs = Map::new();
    let mut described = |schema: Option<&Value>, kind: Option<ParamType>, description: &str| {
        let mut prop = match schema {
            Some(schema) => schema.clone(),
            None => json!({"type": kind.unwrap_or(ParamType::Object).as_str()}),
        };
        if let Some(Value::Object(inner)) = prop.as_object_mut().and_then(|p| p.remove("$defs")) {
            defs.extend(inner);
        }
        if !description.is_empty() {
            if let Some(p) = prop.as_object_mut() {
                p.entry("description").or_insert_with(|| json!(description));
            }
        }
        prop
    };
    for p in parameters {
        properties.insert(p.name.clone(), described(p.schema.as_ref(), Some(p.kind), &p.description));
        if p.required {
            required.push(json!(p.name));
        }
    }
    if let Some(body) = body {
        if let Some(argument) = &body.argument {
            properties.insert(argument.clone(), described(body.schema.as_ref(), None, &body.description));
            if body.required {
                required.push(json!(argument));
            }
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    if !defs.is_empty() {
        schema["$defs"] = Value::Object(defs);
    }
    schema
}

#[cfg(test)]
#[path = "http_tool_tests.rs"]
mod tests;
