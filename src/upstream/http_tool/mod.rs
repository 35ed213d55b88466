//! Calling an HTTP tool: arguments validated against the tool's parameters, mapped
//! onto path, query, header and JSON body, sent through [`crate::outbound`] with the tool's
//! credential and timeout, and the answer turned into a `CallToolResult`. HTTP errors come back
//! as `isError` results, never as JSON-RPC errors.

use base64::Engine;
use gatehouse_mcp::model::{self, CallToolResult};
use serde_json::{Map, Value};

use std::time::Duration;

use crate::domain::http_tool::{AuthType, HttpMethod, Location, ParamType, Parameter};
use crate::outbound::{Outbound, OutboundError, Target};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};

/// An HTTP tool ready to be listed and called.
#[derive(Debug)]
pub struct HttpTool {
    pub name: String,
    pub method: HttpMethod,
    pub endpoint_url: String,
    pub parameters: Vec<Parameter>,
    pub auth: AuthType,
    pub auth_header: Option<String>,
    /// The decrypted credential (held in memory only).
    pub credential: Option<String>,
    /// The secret the credential comes from, if any.
    pub secret_id: Option<String>,
    /// Why the tool cannot be called (e.g. its secret is disabled); calls answer this error.
    pub unavailable: Option<String>,
    pub timeout: Duration,
    /// The MCP `Tool` object shown by tools/list.
    pub listing: Value,
    pub input_schema: Value,
    /// The request, prepared ([`prepare`]); `None` when the tool is unavailable.
    pub prepared: Option<PreparedCall>,
}

/// Largest response body read from an HTTP tool.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Most of an error body quoted back to the model.
const MAX_ERROR_TEXT: usize = 2000;

/// Arguments that do not fit the tool: answered as JSON-RPC -32602 naming the field.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidArguments(pub String);

/// Validates `arguments` against the tool's parameters.
pub fn validate(tool: &HttpTool, arguments: &Map<String, Value>) -> Result<(), InvalidArguments> {
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

/// A path parameter's value, percent-encoded onto `out`; `.` and `..` are refused, as a URL
/// parser or the API would read them as "this" or "the parent" segment.
fn push_path_value(out: &mut String, name: &str, value: &Value) -> Result<(), OutboundError> {
    let text = match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        other => std::borrow::Cow::Owned(other.to_string()),
    };
    if text == "." || text == ".." {
        return Err(OutboundError::InvalidUrl(format!("path parameter {name} cannot be {text:?}")));
    }
    encode_segment_into(out, &text);
    Ok(())
}

/// What of a path value is percent-encoded: everything but RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes a path segment onto the end of `out`.
fn encode_segment_into(out: &mut String, s: &str) {
    for chunk in percent_encoding::utf8_percent_encode(s, SEGMENT) {
        out.push_str(chunk);
    }
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

/// An HTTP tool's request, prepared when its entry is built: the origin with the headers every
/// call sends (accept, credential, host, user agent), and the rest of the URL as pieces around
/// its path placeholders, already in the form a request line takes. A call fills the pieces and
/// sends: no URL to parse but its path, no header map to build, no template to search.
#[derive(Debug)]
pub struct PreparedCall {
    target: Target,
    /// The target with `Content-Type: application/json`, for calls with a body.
    json_target: Target,
    /// The path (and query, if the URL has one) in pieces.
    pieces: Vec<Piece>,
    /// Whether the URL has a query of its own (arguments in the query are appended with `&`).
    has_query: bool,
    /// Header parameters' names, parsed, by parameter index.
    header_names: Vec<Option<HeaderName>>,
    /// Body parameters' indices, in the order their names sort (a JSON body is written with
    /// its members sorted, as `serde_json::Map` writes them).
    body_order: Vec<usize>,
}

#[derive(Debug)]
enum Piece {
    Text(String),
    /// A path parameter, by index into the tool's parameters.
    Param(usize),
}

const ACCEPT: &str = "application/json, */*;q=0.5";

/// What of a URL's path and query a request line cannot carry as it is, percent-encoded as a
/// browser or the `url` crate would; `%` stays, as the URL's own escapes do.
const NOT_IN_REQUEST_LINE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Prepares the tool's request, or says why it cannot be sent (the tool then answers that
/// reason to every call). The URL is taken as a browser takes it: credentials in it become
/// Basic authentication (the tool's own credential wins), a host in Unicode is written in
/// punycode, text a request line cannot carry is percent-encoded, a fragment is not sent.
pub fn prepare(tool: &HttpTool) -> Result<PreparedCall, String> {
    let url = tool.endpoint_url.split('#').next().unwrap_or_default();
    let after_scheme = url.find("://").ok_or("the endpoint URL is not absolute")? + 3;
    let origin_end = url[after_scheme..].find(['/', '?']).map_or(url.len(), |i| after_scheme + i);
    let (origin, rest) = url.split_at(origin_end);
    let parsed = url::Url::parse(origin).map_err(|e| format!("the endpoint URL's origin is invalid: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("the endpoint URL must be http(s) with a host".into());
    }
    let mut headers = HeaderMap::new();
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let pair = format!("{}:{}", decode(parsed.username()), decode(parsed.password().unwrap_or_default()));
        headers.insert(header::AUTHORIZATION, basic(&pair)?);
    }
    if let Some((name, value)) = credential_header(tool) {
        let name = HeaderName::try_from(name).map_err(|_| "the credential's header name is invalid")?;
        let mut value =
            HeaderValue::try_from(value).map_err(|_| "the credential cannot be sent in a header")?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));

    let rest = if rest.starts_with('/') { rest.to_string() } else { format!("/{rest}") };
    let mut pieces = Vec::new();
    let mut tail = rest.as_str();
    while let Some(open) = tail.find('{') {
        let close = open + tail[open..].find('}').ok_or("the endpoint URL has an unclosed '{'")?;
        pieces.push(Piece::Text(request_line_text(&tail[..open])));
        let name = &tail[open + 1..close];
        let index = tool
            .parameters
            .iter()
            .position(|p| p.location == Location::Path && p.name == name)
            .ok_or_else(|| format!("the placeholder {{{name}}} has no path parameter"))?;
        pieces.push(Piece::Param(index));
        tail = &tail[close + 1..];
    }
    pieces.push(Piece::Text(request_line_text(tail)));
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));

    let mut header_names = Vec::with_capacity(tool.parameters.len());
    for p in &tool.parameters {
        header_names.push(if p.location == Location::Header {
            let name = HeaderName::try_from(p.name.as_str())
                .map_err(|_| format!("header parameter {} is not a header name", p.name))?;
            if headers.contains_key(&name) || crate::domain::http_tool::is_reserved_header(p.name.as_str()) {
                return Err(format!("header parameter {} names a header Gatehouse sets", p.name));
            }
            Some(name)
        } else {
            None
        });
    }
    let mut body_order: Vec<usize> =
        (0..tool.parameters.len()).filter(|&i| tool.parameters[i].location == Location::Body).collect();
    body_order.sort_by(|&a, &b| tool.parameters[a].name.cmp(&tool.parameters[b].name));

    let method = crate::outbound::Method::from_bytes(tool.method.as_str().as_bytes())
        .map_err(|_| "the tool's method is invalid")?;
    let target = Target::new(method, &parsed.origin().ascii_serialization(), headers)
        .ok_or("the endpoint URL's origin cannot be sent to")?;
    let json_target = target.with_header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(PreparedCall { target, json_target, pieces, has_query: rest.contains('?'), header_names, body_order })
}

/// Text of the URL's path or query as a request line carries it.
fn request_line_text(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, NOT_IN_REQUEST_LINE).to_string()
}

/// `Basic base64(pair)` as a sensitive header value.
fn basic(pair: &str) -> Result<HeaderValue, String> {
    let mut value =
        HeaderValue::try_from(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
            .map_err(|_| "the basic credential cannot be sent in a header")?;
    value.set_sensitive(true);
    Ok(value)
}

/// The credential header the tool's auth type asks for, if it has a
/// credential: its name as configured (checked where it is used) and its value.
fn credential_header(tool: &HttpTool) -> Option<(&str, String)> {
    let credential = tool.credential.as_deref()?;
    match tool.auth {
        AuthType::None => None,
        AuthType::Bearer => Some(("authorization", format!("Bearer {credential}"))),
        AuthType::ApiKey => {
            Some((tool.auth_header.as_deref().unwrap_or("X-API-Key"), credential.to_string()))
        }
        AuthType::Basic => Some((
            "authorization",
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential)),
        )),
    }
}

/// The prepared request filled with the arguments: its path and query, its headers beyond the
/// prepared ones, and its body.
fn fill(
    tool: &HttpTool,
    prepared: &PreparedCall,
    arguments: &Map<String, Value>,
) -> Result<(String, HeaderMap, Vec<u8>), OutboundError> {
    let given = |i: usize| arguments.get(&tool.parameters[i].name).filter(|v| !v.is_null());
    let mut path = String::with_capacity(64);
    for piece in &prepared.pieces {
        match piece {
            Piece::Text(text) => path.push_str(text),
            Piece::Param(i) => match given(*i) {
                Some(value) => push_path_value(&mut path, &tool.parameters[*i].name, value)?,
                // Path parameters are required: `validate` let no call without one through.
                None => return Err(OutboundError::InvalidUrl("a path parameter is missing".into())),
            },
        }
    }
    let mut extra = HeaderMap::new();
    let mut query = None;
    for (i, p) in tool.parameters.iter().enumerate() {
        let Some(v) = given(i) else { continue };
        match p.location {
            Location::Query => {
                let query = query.get_or_insert_with(|| {
                    path.push(if prepared.has_query { '&' } else { '?' });
                    let start = path.len();
                    url::form_urlencoded::Serializer::for_suffix(std::mem::take(&mut path), start)
                });
                query.append_pair(&p.name, &as_text(v));
            }
            Location::Header => {
                let Some(name) = &prepared.header_names[i] else { continue };
                match HeaderValue::try_from(as_text(v)) {
                    Ok(value) => {
                        extra.append(name.clone(), value);
                    }
                    Err(_) => return Err(OutboundError::Failed(format!("invalid value for header {name}"))),
                }
            }
            Location::Path | Location::Body => {}
        }
    }
    if let Some(mut query) = query {
        path = query.finish();
    }
    let mut body = Vec::with_capacity(if prepared.body_order.is_empty() { 0 } else { 128 });
    for &i in &prepared.body_order {
        let Some(v) = given(i) else { continue };
        body.push(if body.is_empty() { b'{' } else { b',' });
        serde_json::to_writer(&mut body, &tool.parameters[i].name)
            .and_then(|()| {
                body.push(b':');
                serde_json::to_writer(&mut body, v)
            })
            .map_err(|e| OutboundError::Failed(format!("the body is not JSON: {e}")))?;
    }
    if !body.is_empty() {
        body.push(b'}');
    }
    Ok((path, extra, body))
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
            let target = if body.is_empty() { &prepared.target } else { &prepared.json_target };
            outbound.send_to(target, path, extra, body.into(), Some(tool.timeout)).await
        }
        Err(e) => Err(e),
    };
    read_answer(tool, sent).await
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

    proptest::proptest! {
        /// The URL template filler, fuzzed (`docs/SECURITY.md` "Fuzzing"): whatever a caller
        /// gives, a path value stays one segment (only unreserved characters and `%XX`), decodes
        /// back to itself, and is never `.` or `..`.
        #[test]
        fn a_path_value_stays_in_its_segment(text in "\\PC{0,64}|\\.{1,3}|[./%?#]{0,8}") {
            let mut out = String::new();
            match push_path_value(&mut out, "p", &Value::String(text.clone())) {
                Err(_) => proptest::prop_assert!(text == "." || text == ".."),
                Ok(()) => {
                    proptest::prop_assert!(out != "." && out != "..");
                    let mut bytes = out.bytes();
                    while let Some(b) = bytes.next() {
                        if b == b'%' {
                            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                            proptest::prop_assert!(hex.len() == 2 && hex.iter().all(|h| h.is_ascii_hexdigit()));
                        } else {
                            proptest::prop_assert!(b.is_ascii_alphanumeric() || b"-._~".contains(&b), "{out}");
                        }
                    }
                    let decoded = percent_encoding::percent_decode_str(&out).decode_utf8().unwrap();
                    proptest::prop_assert_eq!(decoded, text);
                }
            }
        }
    }

    fn encode_segment(s: &str) -> String {
        let mut out = String::new();
        encode_segment_into(&mut out, s);
        out
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("Buenos Aires/../x?y#z"), "Buenos%20Aires%2F..%2Fx%3Fy%23z");
        assert_eq!(encode_segment("ok-1.2_~"), "ok-1.2_~");
        assert_eq!(encode_segment("ñ"), "%C3%B1");
    }

    use crate::domain::http_tool::{HttpMethod, Parameter};
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
        Parameter { name: name.into(), location, kind, description: String::new(), required }
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
            auth,
            auth_header: header.map(str::to_string),
            credential: credential.map(str::to_string),
            secret_id: None,
            unavailable: None,
            timeout: Duration::from_secs(5),
            listing: Value::Null,
            input_schema: Value::Null,
            prepared: None,
        };
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
        assert_eq!(header(&got, "accept"), [ACCEPT]);
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
}
