//! Calling an HTTP tool: arguments validated against the tool's parameters, mapped
//! onto path, query, header and JSON body, sent through [`crate::outbound`] with the tool's
//! credential and timeout, and the answer turned into a `CallToolResult`. HTTP errors come back
//! as `isError` results, never as JSON-RPC errors.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::domain::http_tool::{AuthType, Location, ParamType};
use crate::gateway::directory::ToolEntry;
use crate::outbound::{Outbound, OutboundError, Target};
use http::{HeaderMap, HeaderName, HeaderValue, header};

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

/// Percent-encodes a path segment: everything but RFC 3986 unreserved characters.
#[cfg(test)]
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_segment_into(&mut out, s);
    out
}

/// [`encode_segment`] onto the end of `out`.
fn encode_segment_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
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

/// An HTTP tool's request, prepared when its entry is built: the origin with the headers every
/// call sends (accept, credential, host, user agent), and the rest of the URL as pieces around
/// its path placeholders. A call then fills the pieces and sends, with no URL to parse but its
/// path, no header map to build and no template to search (~5 k instructions less a call).
/// It sends what [`call`]'s general way sends for the same arguments; a test holds the two
/// together.
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

/// Headers the prepared request sets itself; a header parameter of one of these names makes
/// the tool take the general way, which orders them as it always has.
const PREPARED_HEADERS: [HeaderName; 5] =
    [header::ACCEPT, header::AUTHORIZATION, header::CONTENT_TYPE, header::HOST, header::USER_AGENT];

const ACCEPT: &str = "application/json, */*;q=0.5";

/// Prepares the tool's request; `None` when its URL needs the general way (a placeholder or
/// credentials in the origin, text a URL must have encoded, a fragment), or its credential or
/// a header parameter's name cannot be a header.
pub fn prepare(tool: &ToolEntry) -> Option<PreparedCall> {
    if tool.unavailable.is_some() {
        return None;
    }
    let url = tool.endpoint_url.as_str();
    let after_scheme = url.find("://")? + 3;
    let origin_end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    let (base, rest) = url.split_at(origin_end);
    // A path must start the rest (a bare `?query` after the host is left to the general way).
    if base.contains(['{', '}']) || rest.contains('#') || !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    // The general way parses the whole URL as an `http::Uri` when it can (and with `url` when
    // it cannot): only URLs that parse so, placeholders filled, are prepared.
    let filled = crate::domain::http_tool::placeholders(url)
        .ok()?
        .iter()
        .fold(url.to_string(), |u, name| u.replace(&format!("{{{name}}}"), "x"));
    http::Uri::try_from(filled).ok()?;
    let mut pieces = Vec::new();
    let mut text = if rest.is_empty() { String::from("/") } else { String::new() };
    let mut tail = rest;
    while let Some(open) = tail.find('{') {
        let close = open + tail[open..].find('}')?;
        text.push_str(&tail[..open]);
        let name = &tail[open + 1..close];
        let index = tool.parameters.iter().position(|p| p.location == Location::Path && p.name == name)?;
        pieces.push(Piece::Text(std::mem::take(&mut text)));
        pieces.push(Piece::Param(index));
        tail = &tail[close + 1..];
    }
    text.push_str(tail);
    pieces.push(Piece::Text(text));
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));

    let mut header_names = Vec::with_capacity(tool.parameters.len());
    for p in &tool.parameters {
        header_names.push(if p.location == Location::Header {
            let name = HeaderName::try_from(p.name.as_str()).ok()?;
            let credential_name = credential_header(tool).and_then(|(n, _)| HeaderName::try_from(n).ok());
            if PREPARED_HEADERS.contains(&name) || credential_name == Some(name.clone()) {
                return None;
            }
            Some(name)
        } else {
            None
        });
    }
    let mut body_order: Vec<usize> =
        (0..tool.parameters.len()).filter(|&i| tool.parameters[i].location == Location::Body).collect();
    body_order.sort_by(|&a, &b| tool.parameters[a].name.cmp(&tool.parameters[b].name));

    let mut headers = HeaderMap::new();
    if let Some((name, value)) = credential_header(tool) {
        let name = HeaderName::try_from(name).ok()?;
        let mut value = HeaderValue::try_from(value).ok()?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
    let method = crate::outbound::Method::from_bytes(tool.method.as_str().as_bytes()).ok()?;
    let target = Target::new(method, base, headers)?;
    let json_target = target.with_header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Some(PreparedCall {
        target,
        json_target,
        pieces,
        has_query: rest.contains('?'),
        header_names,
        body_order,
    })
}

/// The credential header the tool's auth type asks for, if it has a
/// credential: its name as configured (checked where it is used) and its value.
fn credential_header(tool: &ToolEntry) -> Option<(&str, String)> {
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

/// Sends the call the prepared way.
async fn send_prepared(
    outbound: &Outbound,
    tool: &ToolEntry,
    prepared: &PreparedCall,
    arguments: &Map<String, Value>,
) -> Result<crate::outbound::Response, OutboundError> {
    let (path, extra, body) = fill(tool, prepared, arguments)?;
    let target = if body.is_empty() { &prepared.target } else { &prepared.json_target };
    outbound.send_to(target, path, extra, body.into(), Some(tool.timeout)).await
}

/// The prepared request filled with the arguments: its path and query, its headers beyond the
/// prepared ones, and its body.
fn fill(
    tool: &ToolEntry,
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
pub async fn call(outbound: &Outbound, tool: &ToolEntry, arguments: &Map<String, Value>) -> Output {
    if let Some(why) = &tool.unavailable {
        return error_result(format!("Error: {why}"));
    }
    let sent = match &tool.prepared {
        Some(prepared) => send_prepared(outbound, tool, prepared, arguments).await,
        None => Box::pin(send_general(outbound, tool, arguments)).await,
    };
    read_answer(tool, sent).await
}

/// Sends the call the general way: the URL made from the template and parsed, the request
/// built header by header.
async fn send_general(
    outbound: &Outbound,
    tool: &ToolEntry,
    arguments: &Map<String, Value>,
) -> Result<crate::outbound::Response, OutboundError> {
    let mut url = tool.endpoint_url.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let mut body = Map::new();
    for p in &tool.parameters {
        let Some(v) = arguments.get(&p.name).filter(|v| !v.is_null()) else { continue };
        match p.location {
            Location::Path => {
                let mut segment = String::new();
                push_path_value(&mut segment, &p.name, v)?;
                url = url.replace(&format!("{{{}}}", p.name), &segment);
            }
            Location::Query => query.push((p.name.clone(), as_text(v))),
            Location::Header => headers.push((p.name.clone(), as_text(v))),
            Location::Body => {
                body.insert(p.name.clone(), v.clone());
            }
        }
    }
    let method = crate::outbound::Method::from_bytes(tool.method.as_str().as_bytes()).expect("valid method");
    let mut request = outbound.request(method, &url)?;
    if !query.is_empty() {
        request = request.query(&query);
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if !body.is_empty() {
        request = request.json(&body);
    }
    if let Some((name, value)) = credential_header(tool) {
        request = request.secret_header(name, &value);
    }
    request = request.timeout(tool.timeout).header(header::ACCEPT, HeaderValue::from_static(ACCEPT));
    outbound.send(request).await
}

/// The answer of a call, read within the limit and turned into its output.
async fn read_answer(tool: &ToolEntry, sent: Result<crate::outbound::Response, OutboundError>) -> Output {
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

    fn tool(url: String, auth: AuthType, credential: Option<&str>, header: Option<&str>) -> ToolEntry {
        let mut tool = ToolEntry {
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
        tool.prepared = prepare(&tool);
        tool
    }

    #[tokio::test]
    async fn a_prepared_call_sends_what_the_general_way_sends() {
        let (base, seen) = recording_backend().await;
        let outbound = Outbound::new(NetworkPolicy { allow_private: true });
        let auths = [
            (AuthType::None, None, None),
            (AuthType::Bearer, Some("tok"), None),
            (AuthType::ApiKey, Some("k1"), Some("X-Key")),
            (AuthType::Basic, Some("me:pw"), None),
        ];
        let urls = [format!("{base}/v1/{{id}}/items/{{n}}"), format!("{base}/v1/{{id}}/{{n}}?fixed=1&b=2")];
        let argument_sets = [
            json!({"id": "a b/ñ", "n": 7}),
            json!({"id": "x", "n": 1, "q": "p&q=r ü", "page": 2, "X-Trace": "t-1",
                   "zeta": {"k": [1, "two"]}, "alpha": "é\"q\""}),
            json!({"id": "x", "n": 1, "alpha": null, "q": null}),
        ];
        for (auth, credential, header) in auths {
            for url in &urls {
                let tool = tool(url.clone(), auth, credential, header);
                let prepared = tool.prepared.as_ref().expect("a plain URL is prepared");
                for arguments in &argument_sets {
                    let arguments = arguments.as_object().unwrap();
                    validate(&tool, arguments).unwrap();
                    let fast = send_prepared(&outbound, &tool, prepared, arguments).await.unwrap();
                    assert_eq!(read_answer(&tool, Ok(fast)).await.into_value()["content"][0]["text"], "{}");
                    let general = send_general(&outbound, &tool, arguments).await.unwrap();
                    assert_eq!(
                        read_answer(&tool, Ok(general)).await.into_value()["content"][0]["text"],
                        "{}"
                    );
                    let mut seen = seen.lock().unwrap();
                    let (general, fast) = (seen.pop().unwrap(), seen.pop().unwrap());
                    assert_eq!(fast, general, "{auth:?} {url} {arguments:?}");
                }
            }
        }
    }

    #[test]
    fn urls_the_general_way_must_normalise_are_not_prepared() {
        let base = "http://127.0.0.1:9".to_string();
        for url in [
            "http://{id}.example/{n}".to_string(),
            "http://me:pw@example.com/{id}/{n}".to_string(),
            format!("{base}/a b/{{id}}/{{n}}"),
            format!("{base}/{{id}}/{{n}}#frag"),
            format!("{base}?id={{id}}&n={{n}}"),
        ] {
            assert!(tool(url.clone(), AuthType::None, None, None).prepared.is_none(), "{url}");
        }
        assert!(tool(format!("{base}/{{id}}/{{n}}"), AuthType::None, None, None).prepared.is_some());
        // A header parameter that the prepared request sets itself takes the general way.
        let mut t = tool(format!("{base}/{{id}}/{{n}}"), AuthType::None, None, None);
        t.parameters[4].name = "Accept".into();
        assert!(prepare(&t).is_none());
        let mut t = tool(format!("{base}/{{id}}/{{n}}"), AuthType::ApiKey, Some("k"), Some("X-Trace"));
        t.prepared = prepare(&t);
        assert!(t.prepared.is_none());
    }
}
