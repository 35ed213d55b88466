//! An HTTP tool's request: prepared once from its definition (origin, headers, the URL in
//! pieces around its path placeholders), then filled with each call's arguments.

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use super::HttpTool;
use super::encode;
use crate::domain::http_body::BodyEncoding;
use crate::domain::http_tool::{AuthType, Location};
use crate::outbound::{OutboundError, Target};

pub(super) fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A path parameter's value, percent-encoded onto `out`; `.` and `..` are refused, as a URL
/// parser or the API would read them as "this" or "the parent" segment.
pub(super) fn push_path_value(out: &mut String, name: &str, value: &Value) -> Result<(), OutboundError> {
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
pub(super) fn encode_segment_into(out: &mut String, s: &str) {
    for chunk in percent_encoding::utf8_percent_encode(s, SEGMENT) {
        out.push_str(chunk);
    }
}

/// An HTTP tool's request, prepared when its entry is built: the origin with the headers every
/// call sends (accept, credential, host, user agent), and the rest of the URL as pieces around
/// its path placeholders, already in the form a request line takes. A call fills the pieces and
/// sends: no URL to parse but its path, no header map to build, no template to search.
#[derive(Debug)]
pub struct PreparedCall {
    pub(super) target: Target,
    /// The target with the body's `Content-Type` (JSON or a form), for calls with a body.
    pub(super) body_target: Target,
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

pub(super) const ACCEPT: &str = "application/json, */*;q=0.5";

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
            let name = HeaderName::try_from(p.wire())
                .map_err(|_| format!("header parameter {} is not a header name", p.name))?;
            if headers.contains_key(&name) || crate::domain::http_tool::is_reserved_header(p.wire()) {
                return Err(format!("header parameter {} names a header Gatehouse sets", p.name));
            }
            Some(name)
        } else {
            None
        });
    }
    let mut body_order: Vec<usize> =
        (0..tool.parameters.len()).filter(|&i| tool.parameters[i].location == Location::Body).collect();
    body_order.sort_by(|&a, &b| tool.parameters[a].wire().cmp(tool.parameters[b].wire()));

    let method = crate::outbound::Method::from_bytes(tool.method.as_str().as_bytes())
        .map_err(|_| "the tool's method is invalid")?;
    let target = Target::new(method, &parsed.origin().ascii_serialization(), headers)
        .ok_or("the endpoint URL's origin cannot be sent to")?;
    let content_type = match tool.body.encoding {
        BodyEncoding::Json => "application/json",
        BodyEncoding::Form => "application/x-www-form-urlencoded",
    };
    let body_target = target.with_header(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(PreparedCall { target, body_target, pieces, has_query: rest.contains('?'), header_names, body_order })
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
pub(super) fn credential_header(tool: &HttpTool) -> Option<(&str, String)> {
    let credential = tool.credential.as_deref()?;
    match tool.auth {
        // A client-credentials token is fetched at call time (see `client_credentials.rs`).
        AuthType::None | AuthType::ApiKeyQuery | AuthType::OauthClientCredentials => None,
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
pub(super) fn fill(
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
                Some(Value::Array(items)) => {
                    let joined = Value::String(encode::simple_text(&Value::Array(items.clone())));
                    push_path_value(&mut path, &tool.parameters[*i].name, &joined)?
                }
                Some(value) => push_path_value(&mut path, &tool.parameters[*i].name, value)?,
                // Path parameters are required: `validate` let no call without one through.
                None => return Err(OutboundError::InvalidUrl("a path parameter is missing".into())),
            },
        }
    }
    let mut extra = HeaderMap::new();
    let mut query = None;
    let mut pair = |path: &mut String, name: &str, value: &str| {
        let query = query.get_or_insert_with(|| {
            path.push(if prepared.has_query { '&' } else { '?' });
            let start = path.len();
            url::form_urlencoded::Serializer::for_suffix(std::mem::take(path), start)
        });
        query.append_pair(name, value);
    };
    for (i, p) in tool.parameters.iter().enumerate() {
        let Some(v) = given(i) else { continue };
        match p.location {
            Location::Query => encode::query_pairs(p, v, |name, value| pair(&mut path, name, value)),
            Location::Header => {
                let Some(name) = &prepared.header_names[i] else { continue };
                match HeaderValue::try_from(encode::simple_text(v)) {
                    Ok(value) => {
                        extra.append(name.clone(), value);
                    }
                    Err(_) => return Err(OutboundError::Failed(format!("invalid value for header {name}"))),
                }
            }
            Location::Path | Location::Body => {}
        }
    }
    // A key in the query goes last, after the arguments.
    if let (AuthType::ApiKeyQuery, Some(name), Some(key)) = (tool.auth, &tool.auth_header, &tool.credential) {
        pair(&mut path, name, key);
    }
    if let Some(mut query) = query {
        path = query.finish();
    }
    Ok((path, extra, body(tool, prepared, arguments)?))
}

/// The request body: the whole-body argument, or the body parameters as members; JSON or a form.
fn body(
    tool: &HttpTool,
    prepared: &PreparedCall,
    arguments: &Map<String, Value>,
) -> Result<Vec<u8>, OutboundError> {
    let given = |name: &str| arguments.get(name).filter(|v| !v.is_null());
    let bad = |e: serde_json::Error| OutboundError::Failed(format!("the body is not JSON: {e}"));
    if let Some(argument) = &tool.body.argument {
        let Some(value) = given(argument) else { return Ok(Vec::new()) };
        return match tool.body.encoding {
            BodyEncoding::Json => serde_json::to_vec(value).map_err(bad),
            BodyEncoding::Form => match encode::form_members(value) {
                Some(members) => Ok(encode::form(members.into_iter())),
                None => Err(OutboundError::Failed(format!(
                    "argument {argument} must be an object to be sent as a form"
                ))),
            },
        };
    }
    let members = prepared.body_order.iter().filter_map(|&i| {
        let p = &tool.parameters[i];
        given(&p.name).map(|v| (p.wire(), v))
    });
    if tool.body.encoding == BodyEncoding::Form {
        return Ok(encode::form(members.map(|(k, v)| (k.to_owned(), v.clone()))));
    }
    let mut body = Vec::new();
    for (name, value) in members {
        body.push(if body.is_empty() { b'{' } else { b',' });
        serde_json::to_writer(&mut body, name).map_err(bad)?;
        body.push(b':');
        serde_json::to_writer(&mut body, value).map_err(bad)?;
    }
    if !body.is_empty() {
        body.push(b'}');
    }
    Ok(body)
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
}
