//! Streamable HTTP request headers: names, a case-insensitive view of them, value encoding,
//! and the 2026-07-28 standard-header check (streamable-http § Request Metadata, § Server
//! Validation). Header *names* compare case-insensitively; *values* case-sensitively
//! (§ Case Sensitivity).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::jsonrpc::RpcError;

/// `MCP-Protocol-Version` (lower-case, as looked up).
pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// `Mcp-Session-Id` (2025-03-26 to 2025-11-25).
pub const SESSION_ID: &str = "mcp-session-id";
/// `Mcp-Method` (2026-07-28).
pub const METHOD: &str = "mcp-method";
/// `Mcp-Name` (2026-07-28).
pub const NAME: &str = "mcp-name";
/// Prefix of `Mcp-Param-{Name}` headers (2026-07-28).
pub const PARAM_PREFIX: &str = "mcp-param-";
/// `Last-Event-ID` (resumption; 2025-03-26 to 2025-11-25, ignored in 2026-07-28).
pub const LAST_EVENT_ID: &str = "last-event-id";

const SENTINEL_PREFIX: &str = "=?base64?";
const SENTINEL_SUFFIX: &str = "?=";

/// Why the request headers are refused: -32020 `HeaderMismatch` with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A required header is absent.
    #[error("Header mismatch: required header {header} is missing")]
    Missing {
        /// Header name as the specification writes it.
        header: String,
    },
    /// A header that must appear once appears several times.
    #[error("Header mismatch: header {header} appears more than once")]
    Duplicate {
        /// Header name.
        header: String,
    },
    /// A header value differs from the body.
    #[error(
        "Header mismatch: {header} header value '{header_value}' does not match body value '{body_value}'"
    )]
    Mismatch {
        /// Header name.
        header: String,
        /// What the header said (decoded).
        header_value: String,
        /// What the body says.
        body_value: String,
    },
    /// A header value is not a valid plain or Base64-sentinel value.
    #[error("Header mismatch: {header} header value is malformed ({reason})")]
    Malformed {
        /// Header name.
        header: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl HeaderError {
    /// -32020 with HTTP 400 (§ Server Validation).
    pub fn to_rpc_error(&self) -> RpcError {
        RpcError::header_mismatch(self.to_string())
    }
}

/// Looks headers up by lower-case name. Implemented by [`RequestHeaders`] (which also notices
/// duplicates) and by any `Fn(&str) -> Option<&str>`.
pub trait HeaderLookup<'a> {
    /// The single value of a header, `None` when absent.
    fn lookup(&self, lower_name: &str) -> Result<Option<&'a str>, HeaderError>;
}

impl<'a, F: Fn(&str) -> Option<&'a str>> HeaderLookup<'a> for F {
    fn lookup(&self, lower_name: &str) -> Result<Option<&'a str>, HeaderError> {
        Ok(self(lower_name))
    }
}

/// A request's headers, names lower-cased, values as received.
#[derive(Debug, Clone, Default)]
pub struct RequestHeaders<'a> {
    entries: Vec<(String, &'a str)>,
}

impl<'a> RequestHeaders<'a> {
    /// Collects `(name, value)` pairs (e.g. an HTTP library's header map, values that are not
    /// valid strings left out by the caller).
    pub fn new<K: AsRef<str>>(pairs: impl IntoIterator<Item = (K, &'a str)>) -> Self {
        Self { entries: pairs.into_iter().map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v)).collect() }
    }

    /// Every value of a header.
    pub fn get_all(&self, name: &str) -> impl Iterator<Item = &'a str> + '_ {
        let name = name.to_ascii_lowercase();
        self.entries.iter().filter(move |(k, _)| *k == name).map(|(_, v)| *v)
    }

    /// The first value of a header.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.get_all(name).next()
    }

    /// `Mcp-Param-*` headers as `(lower-case name after the prefix, value)`.
    pub fn params(&self) -> impl Iterator<Item = (&str, &'a str)> + '_ {
        self.entries.iter().filter_map(|(k, v)| k.strip_prefix(PARAM_PREFIX).map(|n| (n, *v)))
    }
}

impl<'a> HeaderLookup<'a> for RequestHeaders<'a> {
    fn lookup(&self, lower_name: &str) -> Result<Option<&'a str>, HeaderError> {
        let mut values = self.get_all(lower_name);
        let first = values.next();
        if values.next().is_some() {
            return Err(HeaderError::Duplicate { header: lower_name.to_string() });
        }
        Ok(first)
    }
}

/// Whether `value` may travel as a plain header value: visible ASCII and spaces, no leading or
/// trailing whitespace, and not looking like the Base64 sentinel (§ Value Encoding).
pub fn is_plain_safe(value: &str) -> bool {
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let padded = value.starts_with(' ') || value.ends_with(' ');
    let sentinel = value.starts_with(SENTINEL_PREFIX) && value.ends_with(SENTINEL_SUFFIX);
    printable && !padded && !sentinel
}

/// Encodes a value for `Mcp-Name` / `Mcp-Param-*`: plain when safe, else `=?base64?…?=`.
pub fn encode_header_value(value: &str) -> String {
    if is_plain_safe(value) {
        value.to_string()
    } else {
        format!("{SENTINEL_PREFIX}{}{SENTINEL_SUFFIX}", STANDARD.encode(value.as_bytes()))
    }
}

/// Decodes an `Mcp-Name` / `Mcp-Param-*` value: plain, or the case-sensitive `=?base64?…?=`
/// sentinel. `None` when the sentinel does not hold valid base64 of UTF-8, or a plain value has
/// characters a header value may not have (RFC 9110 field values: visible ASCII, space, tab).
/// A plain value is borrowed as it is.
pub fn decode_header_value(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    match raw.strip_prefix(SENTINEL_PREFIX).and_then(|r| r.strip_suffix(SENTINEL_SUFFIX)) {
        Some(b64) => String::from_utf8(STANDARD.decode(b64).ok()?).ok().map(Into::into),
        None if raw.bytes().all(|b| b == b'\t' || (0x20..=0x7e).contains(&b)) => Some(raw.into()),
        None => None,
    }
}

/// The body param `Mcp-Name` mirrors: `name` for `tools/call` and `prompts/get`, `uri` for
/// `resources/read`; `None` for methods without `Mcp-Name`.
pub fn name_param(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

fn required<'a>(headers: &impl HeaderLookup<'a>, lower: &str, display: &str) -> Result<&'a str, HeaderError> {
    headers.lookup(lower)?.ok_or_else(|| HeaderError::Missing { header: display.to_string() })
}

fn mismatch(header: &str, header_value: &str, body_value: Option<&str>) -> HeaderError {
    HeaderError::Mismatch {
        header: header.to_string(),
        header_value: header_value.to_string(),
        body_value: body_value.unwrap_or("(absent)").to_string(),
    }
}

/// Checks the standard 2026-07-28 headers of a request against its body: `MCP-Protocol-Version`
/// equals `_meta` protocolVersion, `Mcp-Method` equals `method`, and for `tools/call`,
/// `prompts/get`, `resources/read` the decoded `Mcp-Name` equals `params.name` / `params.uri`.
/// `Mcp-Param-*` headers are checked separately, once the tool is known
/// ([`super::params::check_param_headers`]); unrecognised ones are ignored.
pub fn check_standard_headers<'a>(
    headers: &impl HeaderLookup<'a>,
    method: &str,
    params: &Map<String, Value>,
    meta_version: Option<&str>,
) -> Result<(), HeaderError> {
    let named = name_param(method).and_then(|key| params.get(key)).and_then(Value::as_str);
    check_named_headers(headers, method, named, meta_version)
}

/// [`check_standard_headers`] with the one member of `params` it reads given by the caller:
/// `named` is `params.name` (or `params.uri`, per [`name_param`]) when it is a string.
pub fn check_named_headers<'a>(
    headers: &impl HeaderLookup<'a>,
    method: &str,
    named: Option<&str>,
    meta_version: Option<&str>,
) -> Result<(), HeaderError> {
    let version = required(headers, PROTOCOL_VERSION, "MCP-Protocol-Version")?;
    if Some(version) != meta_version {
        return Err(mismatch("MCP-Protocol-Version", version, meta_version));
    }
    let header_method = required(headers, METHOD, "Mcp-Method")?;
    if header_method != method {
        return Err(mismatch("Mcp-Method", header_method, Some(method)));
    }
    if name_param(method).is_some() {
        let raw = required(headers, NAME, "Mcp-Name")?;
        // `ok_or_else`: the error owns a `String`, which `ok_or` would build on every call.
        let name = decode_header_value(raw).ok_or_else(|| HeaderError::Malformed {
            header: "Mcp-Name".into(),
            reason: "invalid characters or base64",
        })?;
        if Some(name.as_ref()) != named {
            return Err(mismatch("Mcp-Name", &name, named));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_encoding_follows_the_table() {
        // streamable-http § Value Encoding, "Encoding examples".
        assert_eq!(encode_header_value("us-west1"), "us-west1");
        assert_eq!(encode_header_value("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode_header_value("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(encode_header_value("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        for v in ["us-west1", "Hello, 世界", " padded ", "line1\nline2", "=?base64?literal?=", "a\tb", ""] {
            assert_eq!(decode_header_value(&encode_header_value(v)).as_deref(), Some(v));
        }
        assert_eq!(decode_header_value("=?base64?!!!?="), None);
        assert_eq!(decode_header_value("=?base64?/w==?="), None, "not UTF-8");
        assert_eq!(decode_header_value("bad\u{7f}"), None);
        assert_eq!(
            decode_header_value("=?BASE64?eA==?=").as_deref(),
            Some("=?BASE64?eA==?="),
            "case-sensitive"
        );
    }

    #[test]
    fn request_headers_are_case_insensitive() {
        let h = RequestHeaders::new([
            ("Mcp-Method", "tools/call"),
            ("MCP-PARAM-Region", "eu"),
            ("mcp-name", "a"),
        ]);
        assert_eq!(h.get("mcp-method"), Some("tools/call"));
        assert_eq!(h.params().collect::<Vec<_>>(), [("region", "eu")]);
        let dup = RequestHeaders::new([("mcp-name", "a"), ("Mcp-Name", "b")]);
        assert_eq!(dup.lookup(NAME), Err(HeaderError::Duplicate { header: NAME.into() }));
        assert_eq!(dup.get_all(NAME).count(), 2);
    }

    #[test]
    fn standard_headers() {
        let params = json!({"uri": "file:///a b"});
        let params = params.as_object().unwrap();
        let h = RequestHeaders::new([
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "resources/read"),
            ("Mcp-Name", "file:///a b"),
        ]);
        assert_eq!(check_standard_headers(&h, "resources/read", params, Some("2026-07-28")), Ok(()));
        let e = check_standard_headers(&h, "resources/read", params, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Header mismatch: MCP-Protocol-Version header value '2026-07-28' does not match body value '(absent)'"
        );
        assert_eq!(e.to_rpc_error().code, -32020);
        assert_eq!(e.to_rpc_error().status, 400);
        let other = json!({"uri": "file:///b"});
        assert!(matches!(
            check_standard_headers(&h, "resources/read", other.as_object().unwrap(), Some("2026-07-28")),
            Err(HeaderError::Mismatch { .. })
        ));
        let no_method = RequestHeaders::new([("mcp-protocol-version", "2026-07-28")]);
        assert_eq!(
            check_standard_headers(&no_method, "tools/list", &Map::new(), Some("2026-07-28")),
            Err(HeaderError::Missing { header: "Mcp-Method".into() })
        );
        assert_eq!(name_param("prompts/get"), Some("name"));
        assert_eq!(name_param("tools/list"), None);
    }
}
