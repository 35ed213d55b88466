//! Streamable HTTP rules that are about the protocol, not the server, as pure functions over
//! plain strings: which revision a POST speaks ([`route`]), the 2026-07-28 request checks
//! ([`modern`], [`headers`], [`params`]), the stateful `MCP-Protocol-Version` rule,
//! content negotiation ([`accept`]) and SSE framing ([`sse`]).

pub mod accept;
pub mod headers;
pub mod modern;
pub mod params;
pub mod route;
pub mod sse;

pub use accept::{Accept, ResponseFormat, prefers_sse, wants_sse};
pub use headers::{
    HeaderError, HeaderLookup, RequestHeaders, check_named_headers, check_standard_headers,
    decode_header_value, encode_header_value,
};
pub use modern::{ModernError, ModernRequest, validate_notification, validate_request};
pub use params::{ParamHeader, XMcpHeaderError, check_param_headers, param_header_values, param_headers};
pub use route::{PostFacts, Route, header_version, route, session_version};
pub use sse::{KEEPALIVE, ParsedEvent, SseEvent, SseParser, sse_comment, sse_event};

use serde_json::{Map, Value};

/// Methods whose `Mcp-Name` header mirrors `params.name` or `params.uri`.
pub fn named_method(method: &str) -> bool {
    headers::name_param(method).is_some()
}

/// Checks the 2026-07-28 standard headers against the body. `header` looks a header up by
/// lower-case name. The error text becomes a `HeaderMismatch` (-32020) message. See
/// [`check_standard_headers`] for the typed form and [`validate_request`] for the whole ladder.
pub fn check_request_headers<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    method: &str,
    params: &Map<String, Value>,
    meta_version: Option<&str>,
) -> Result<(), String> {
    check_standard_headers(&header, method, params, meta_version).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_must_mirror_the_body() {
        let params = json!({"name": "echo"});
        let params = params.as_object().unwrap();
        let ok = |k: &str| match k {
            "mcp-protocol-version" => Some("2026-07-28"),
            "mcp-method" => Some("tools/call"),
            "mcp-name" => Some("echo"),
            _ => None,
        };
        assert!(check_request_headers(ok, "tools/call", params, Some("2026-07-28")).is_ok());
        assert!(
            check_request_headers(ok, "tools/list", params, Some("2026-07-28"))
                .unwrap_err()
                .contains("Mcp-Method")
        );
        assert!(
            check_request_headers(ok, "tools/call", params, Some("2025-06-18"))
                .unwrap_err()
                .contains("MCP-Protocol-Version")
        );
        let no_name = |k: &str| if k == "mcp-name" { None } else { ok(k) };
        assert!(
            check_request_headers(no_name, "tools/call", params, Some("2026-07-28"))
                .unwrap_err()
                .contains("Mcp-Name")
        );
        // tools/list has no Mcp-Name.
        let list = |k: &str| if k == "mcp-method" { Some("tools/list") } else { no_name(k) };
        assert!(check_request_headers(list, "tools/list", &Map::new(), Some("2026-07-28")).is_ok());
        assert!(named_method("resources/read") && !named_method("tools/list"));
    }
}
