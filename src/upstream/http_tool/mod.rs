//! Calling an HTTP tool: arguments validated against the tool's `inputSchema`, mapped onto
//! path, query, headers and a JSON or form body, sent through [`crate::outbound`] with the tool's
//! credential and timeout, and the answer turned into a `CallToolResult`. HTTP errors come back
//! as `isError` results, never as JSON-RPC errors.

use gatehouse_mcp::model::{self, CallToolResult};
use serde_json::{Map, Value};

use std::time::Duration;

use crate::domain::http_body::Body;
use crate::domain::http_tool::{AuthType, HttpMethod, Parameter};
use crate::outbound::{Outbound, OutboundError};

mod client_credentials;
mod encode;
mod request;

pub use client_credentials::TokenSource;

use request::fill;
pub use request::{PreparedCall, prepare};

/// An HTTP tool ready to be listed and called.
pub struct HttpTool {
    pub name: String,
    pub method: HttpMethod,
    pub endpoint_url: String,
    pub parameters: Vec<Parameter>,
    /// How the body is written, and whether one argument holds it.
    pub body: Body,
    pub auth: AuthType,
    pub auth_header: Option<String>,
    /// The decrypted credential (held in memory only).
    pub credential: Option<String>,
    /// The secret the credential comes from, if any.
    pub secret_id: Option<String>,
    /// Where an `oauth_client_credentials` tool gets its token (the credential is the client's
    /// secret).
    pub tokens: Option<TokenSource>,
    /// Why the tool cannot be called (e.g. its secret is disabled); calls answer this error.
    pub unavailable: Option<String>,
    pub timeout: Duration,
    /// The MCP `Tool` object shown by tools/list.
    pub listing: Value,
    pub input_schema: Value,
    /// `input_schema`, compiled for checking each call's arguments.
    pub check: ArgumentCheck,
    /// The tool's `outputSchema`, compiled: a successful answer must match it to be the result's
    /// structured content, as MCP clients check.
    pub output_check: Option<jsonschema::Validator>,
    /// The request, prepared ([`prepare`]); `None` when the tool is unavailable.
    pub prepared: Option<PreparedCall>,
}

/// What identifies the tool; never its credential.
impl std::fmt::Debug for HttpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTool")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("endpoint_url", &self.endpoint_url)
            .field("auth", &self.auth)
            .field("secret_id", &self.secret_id)
            .field("tokens", &self.tokens)
            .field("unavailable", &self.unavailable)
            .finish_non_exhaustive()
    }
}

/// Largest response body read from an HTTP tool.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Most of an error body quoted back to the model.
const MAX_ERROR_TEXT: usize = 2000;

/// Arguments that do not fit the tool: answered as JSON-RPC -32602 naming the field.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidArguments(pub String);

/// A tool's `inputSchema` compiled for checking arguments: each property's schema on its own
/// (with the shared `$defs`), so that a call's arguments are checked where they are, uncopied.
#[derive(Debug, Default)]
pub struct ArgumentCheck {
    required: Vec<String>,
    properties: Vec<(String, jsonschema::Validator)>,
}

impl ArgumentCheck {
    /// Compiles `input_schema` (an object schema with `properties`, `required`, `$defs`).
    pub fn compile(input_schema: &Value) -> Result<Self, String> {
        let defs = input_schema.get("$defs");
        let required = input_schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let mut properties = Vec::new();
        if let Some(Value::Object(props)) = input_schema.get("properties") {
            for (name, schema) in props {
                let mut schema = schema.clone();
                if let (Some(defs), Value::Object(map)) = (defs, &mut schema) {
                    map.insert("$defs".into(), defs.clone());
                }
                let validator = jsonschema::validator_for(&schema)
                    .map_err(|e| format!("the schema of argument {name} is invalid: {e}"))?;
                properties.push((name.clone(), validator));
            }
        }
        Ok(Self { required, properties })
    }
}

/// Validates `arguments` against the tool's `inputSchema`; the first fault, naming the argument.
/// A `null` is an argument not given.
pub fn validate(tool: &HttpTool, arguments: &Map<String, Value>) -> Result<(), InvalidArguments> {
    let given = |name: &str| arguments.get(name).filter(|v| !v.is_null());
    if let Some(missing) = tool.check.required.iter().find(|r| given(r).is_none()) {
        return Err(InvalidArguments(format!("missing required argument: {missing}")));
    }
    for (name, validator) in &tool.check.properties {
        let Some(value) = given(name) else { continue };
        if let Some(error) = validator.iter_errors(value).next() {
            let path = error.instance_path().to_string().replace('/', ".");
            return Err(InvalidArguments(format!("argument {name}{path}: {error}")));
        }
    }
    Ok(())
}

fn error_result(text: String) -> Output {
    Output::Result(model::to_value(&CallToolResult::error(text)))
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
                let result = CallToolResult { structured_content: structured, ..CallToolResult::text(text) };
                model::to_value(&result)
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
pub async fn call(outbound: &Outbound, tool: &HttpTool, arguments: &Map<String, Value>) -> Output {
    if let Some(why) = &tool.unavailable {
        return error_result(format!("Error: {why}"));
    }
    let Some(prepared) = &tool.prepared else {
        return error_result("Error: the tool cannot be called".into());
    };
    let sent = match fill(tool, prepared, arguments) {
        Ok((path, extra, body)) => {
            let target = if body.is_empty() { &prepared.target } else { &prepared.body_target };
            match &tool.tokens {
                None => outbound.send_to(target, path, extra, body.into(), Some(tool.timeout)).await,
                Some(tokens) => {
                    client_credentials::send(outbound, tokens, target, path, extra, body.into(), tool.timeout)
                        .await
                }
            }
        }
        Err(e) => Err(e),
    };
    let output = read_answer(tool, sent).await;
    match (&tool.output_check, &output) {
        (Some(schema), Output::Text { text, .. }) => conforming(schema, text).map_or(output, error_result),
        _ => output,
    }
}

/// Why an answer cannot be the structured content of a tool with an `outputSchema` (a client
/// refuses a result whose structured content is missing or does not match), if it cannot.
fn conforming(schema: &jsonschema::Validator, text: &str) -> Option<String> {
    let quoted = || text.chars().take(MAX_ERROR_TEXT).collect::<String>();
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => schema.iter_errors(&value).next().map(|error| {
            let at = error.instance_path().to_string();
            format!(
                "Error: the API's answer does not match the tool's outputSchema (at {at:?}: {error}): {}",
                quoted()
            )
        }),
        _ => Some(format!(
            "Error: the API's answer is not the JSON object the tool's outputSchema describes: {}",
            quoted()
        )),
    }
}

/// The answer of a call, read within the limit and turned into its output.
async fn read_answer(tool: &HttpTool, sent: Result<crate::outbound::Response, OutboundError>) -> Output {
    let response = match sent {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::domain::http_tool::{HttpMethod, Location, ParamType, Parameter};
    use crate::outbound::NetworkPolicy;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// What a backend received: method, path and query, headers (sorted), body.
    type Seen = (String, String, Vec<(String, String)>, Vec<u8>);

    /// A real backend on loopback that records every request and answers `{}`.
    async fn recording_backend() -> (String, Arc<Mutex<Vec<Seen>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let record = record.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
                let mut headers: Vec<(String, String)> = parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_string()))
                    .collect();
                headers.sort();
                let target = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
                record.lock().unwrap().push((parts.method.to_string(), target, headers, body));
                "{}"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), seen)
    }

    fn param(name: &str, location: Location, kind: ParamType, required: bool) -> Parameter {
        Parameter::simple(name, location, kind, required)
    }

    fn tool(url: String, auth: AuthType, credential: Option<&str>, header: Option<&str>) -> HttpTool {
        let mut tool = HttpTool {
            name: "t".into(),
            method: HttpMethod::Post,
            endpoint_url: url,
            parameters: vec![
                param("id", Location::Path, ParamType::String, true),
                param("n", Location::Path, ParamType::Integer, true),
                param("q", Location::Query, ParamType::String, false),
                param("page", Location::Query, ParamType::Integer, false),
                param("X-Trace", Location::Header, ParamType::String, false),
                param("zeta", Location::Body, ParamType::Object, false),
                param("alpha", Location::Body, ParamType::String, false),
            ],
            body: crate::domain::http_body::Body::members(),
            auth,
            auth_header: header.map(str::to_string),
            credential: credential.map(str::to_string),
            secret_id: None,
            tokens: None,
            unavailable: None,
            timeout: Duration::from_secs(5),
            listing: Value::Null,
            input_schema: Value::Null,
            check: ArgumentCheck::default(),
            output_check: None,
            prepared: None,
        };
        tool.input_schema = crate::domain::http_tool::input_schema(&tool.parameters, None);
        tool.check = ArgumentCheck::compile(&tool.input_schema).unwrap();
        tool.prepared = Some(prepare(&tool).expect("the tool can be sent"));
        tool
    }

    /// Calls `tool` with `arguments` against the recording backend and returns what it saw.
    async fn sent(tool: &HttpTool, arguments: Value, seen: &Mutex<Vec<Seen>>) -> Seen {
        let outbound = Outbound::new(NetworkPolicy { allow_private: true });
        let arguments = arguments.as_object().unwrap();
        validate(tool, arguments).unwrap();
        let answer = call(&outbound, tool, arguments).await.into_value();
        assert_eq!(answer["content"][0]["text"], "{}", "{answer}");
        seen.lock().unwrap().pop().unwrap()
    }

    fn header<'a>(seen: &'a Seen, name: &str) -> Vec<&'a str> {
        seen.2.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    #[tokio::test]
    async fn a_call_sends_each_argument_where_the_tool_puts_it() {
        let (base, seen) = recording_backend().await;
        let tool = tool(format!("{base}/v1/{{id}}/items/{{n}}?fixed=1"), AuthType::Bearer, Some("tok"), None);
        let arguments = json!({"id": "a b/ñ", "n": 7, "q": "p&q=r ü", "page": 2, "X-Trace": "t-1",
                               "zeta": {"k": [1, "two"]}, "alpha": "é\"q\""});
        let got = sent(&tool, arguments, &seen).await;
        assert_eq!(got.0, "POST");
        assert_eq!(got.1, "/v1/a%20b%2F%C3%B1/items/7?fixed=1&q=p%26q%3Dr+%C3%BC&page=2");
        assert_eq!(header(&got, "x-trace"), ["t-1"]);
        assert_eq!(header(&got, "authorization"), ["Bearer tok"]);
        assert_eq!(header(&got, "accept"), [request::ACCEPT]);
        assert_eq!(header(&got, "content-type"), ["application/json"]);
        assert_eq!(header(&got, "host"), [base.trim_start_matches("http://")]);
        assert_eq!(header(&got, "user-agent"), [concat!("gatehouse/", env!("CARGO_PKG_VERSION"))]);
        // Members sorted, as a JSON object is written; absent and null arguments not sent.
        assert_eq!(String::from_utf8(got.3).unwrap(), r#"{"alpha":"é\"q\"","zeta":{"k":[1,"two"]}}"#);

        let got = sent(&tool, json!({"id": "x", "n": 1, "alpha": null, "q": null}), &seen).await;
        assert_eq!(got.1, "/v1/x/items/1?fixed=1");
        assert!(got.3.is_empty() && header(&got, "content-type").is_empty(), "{got:?}");
    }

    #[tokio::test]
    async fn each_kind_of_credential_goes_in_its_header() {
        let (base, seen) = recording_backend().await;
        let url = format!("{base}/{{id}}/{{n}}");
        let args = || json!({"id": "x", "n": 1});
        let api_key = tool(url.clone(), AuthType::ApiKey, Some("k1"), Some("X-Key"));
        let got = sent(&api_key, args(), &seen).await;
        assert_eq!((header(&got, "x-key"), header(&got, "authorization").len()), (vec!["k1"], 0));
        let basic = tool(url.clone(), AuthType::Basic, Some("me:pw"), None);
        assert_eq!(header(&sent(&basic, args(), &seen).await, "authorization"), ["Basic bWU6cHc="]);
        let none = tool(url, AuthType::None, None, None);
        assert!(header(&sent(&none, args(), &seen).await, "authorization").is_empty());
    }

    #[tokio::test]
    async fn an_endpoint_url_is_taken_as_a_browser_takes_it() {
        let (base, seen) = recording_backend().await;
        let args = || json!({"id": "x", "n": 1});
        let host = base.trim_start_matches("http://");
        // Credentials in the URL become Basic authentication, percent-escapes decoded...
        let t = tool(format!("http://me:p%40w@{host}/{{id}}/{{n}}"), AuthType::None, None, None);
        let got = sent(&t, args(), &seen).await;
        assert_eq!((got.1.as_str(), header(&got, "authorization")), ("/x/1", vec!["Basic bWU6cEB3"]));
        // ... unless the tool has a credential of its own for that header.
        let t = tool(format!("http://me:pw@{host}/{{id}}/{{n}}"), AuthType::Bearer, Some("tok"), None);
        assert_eq!(header(&sent(&t, args(), &seen).await, "authorization"), ["Bearer tok"]);
        // Text a request line cannot carry is percent-encoded; the URL's own escapes stay.
        let t = tool(format!("{base}/a b/{{id}}/ñ%2F/{{n}}"), AuthType::None, None, None);
        assert_eq!(sent(&t, args(), &seen).await.1, "/a%20b/x/%C3%B1%2F/1");
        // A fragment is not sent; a query straight after the host has the root path.
        let t = tool(format!("{base}/{{id}}/{{n}}#frag"), AuthType::None, None, None);
        assert_eq!(sent(&t, args(), &seen).await.1, "/x/1");
        let t = tool(format!("{base}?fixed=1"), AuthType::None, None, None);
        assert_eq!(sent(&t, json!({"id": "x", "n": 1, "page": 3}), &seen).await.1, "/?fixed=1&page=3");
    }

    #[test]
    fn a_tool_that_cannot_be_sent_says_why() {
        let base = "http://127.0.0.1:9";
        let unsendable = |t: &HttpTool| prepare(t).map(|_| ()).unwrap_err();
        let mut t = tool(format!("{base}/{{id}}/{{n}}"), AuthType::None, None, None);
        t.endpoint_url = "http://{id}.example/{n}".into();
        assert!(unsendable(&t).contains("origin"), "{}", unsendable(&t));
        t.endpoint_url = format!("{base}/{{id}}/{{n}}");
        t.parameters[4].name = "Accept".into();
        assert!(unsendable(&t).contains("Accept"));
        let mut t = tool(format!("{base}/{{id}}/{{n}}"), AuthType::ApiKey, Some("k"), Some("X-Other"));
        t.auth_header = Some("X-Trace".into());
        assert!(unsendable(&t).contains("X-Trace"));
    }

    /// A tool as an OpenAPI import makes it: names on the wire unlike the arguments', a query
    /// array and object in their styles, a key in the query, and a whole body as a form or JSON.
    fn imported(url: String, encoding: crate::domain::http_body::BodyEncoding) -> HttpTool {
        let mut t = tool(url, AuthType::ApiKeyQuery, Some("k&1"), Some("api_key"));
        let array = json!({"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}});
        t.parameters = vec![
            Parameter {
                wire_name: Some("Date<".into()),
                ..param("Date_lt", Location::Query, ParamType::String, false)
            },
            Parameter {
                schema: Some(array.clone()),
                ..param("tags", Location::Query, ParamType::Array, false)
            },
            Parameter {
                schema: Some(array),
                explode: Some(false),
                style: Some(crate::domain::http_tool::QueryStyle::PipeDelimited),
                ..param("only", Location::Query, ParamType::Array, false)
            },
            Parameter {
                style: Some(crate::domain::http_tool::QueryStyle::DeepObject),
                ..param("filter", Location::Query, ParamType::Object, false)
            },
        ];
        t.body = crate::domain::http_body::Body {
            encoding,
            argument: Some("body".into()),
            required: true,
            schema: Some(
                json!({"type": "object", "properties": {"To": {"type": "string"}}, "required": ["To"]}),
            ),
            description: String::new(),
        };
        t.input_schema = crate::domain::http_tool::input_schema(&t.parameters, Some(&t.body));
        t.check = ArgumentCheck::compile(&t.input_schema).unwrap();
        t.prepared = Some(prepare(&t).unwrap());
        t
    }

    #[tokio::test]
    async fn an_imported_operation_is_sent_as_its_document_says() {
        use crate::domain::http_body::BodyEncoding;
        let (base, seen) = recording_backend().await;
        let form = imported(format!("{base}/Messages"), BodyEncoding::Form);
        let args = json!({"Date_lt": "2026-01-01", "tags": ["a", "b"], "only": ["a", "c"],
                          "filter": {"kind": "x"}, "body": {"To": "+1 555", "MediaUrl": ["u1", "u2"]}});
        let got = sent(&form, args.clone(), &seen).await;
        assert_eq!(
            got.1,
            "/Messages?Date%3C=2026-01-01&tags=a&tags=b&only=a%7Cc&filter%5Bkind%5D=x&api_key=k%261"
        );
        assert_eq!(header(&got, "content-type"), ["application/x-www-form-urlencoded"]);
        assert_eq!(String::from_utf8(got.3).unwrap(), "MediaUrl=u1&MediaUrl=u2&To=%2B1+555");
        let json_body = imported(format!("{base}/Messages"), BodyEncoding::Json);
        let got = sent(&json_body, json!({"body": {"To": "x"}}), &seen).await;
        assert_eq!(header(&got, "content-type"), ["application/json"]);
        assert_eq!(String::from_utf8(got.3).unwrap(), r#"{"To":"x"}"#);
        // The schemas are checked: a value outside an enum, a body without what it requires.
        let fault = |args: Value| validate(&form, args.as_object().unwrap()).unwrap_err().0;
        assert!(fault(json!({"body": {"To": "x"}, "tags": ["z"]})).starts_with("argument tags.0:"));
        assert!(fault(json!({"body": {}})).contains("To"), "{}", fault(json!({"body": {}})));
        assert_eq!(fault(json!({})), "missing required argument: body");
    }
}
