//! The request headers a data-plane POST reads, found in one pass over the request's map.
//!
//! Why: a `HeaderMap` lookup hashes the name and probes the table; the ten a stateless call
//! made (origin, key, length, type, session, accept, the three 2026-07-28 headers) cost
//! ~2.5 k instructions a call, a pass over the request's ten-odd headers comparing names a
//! fraction of that. Each field is the header's first value, as `HeaderMap::get` gives it.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use gatehouse_mcp::transport::headers::{METHOD, NAME, PROTOCOL_VERSION, SESSION_ID};

// Header names are kept parsed: a lookup by `&str` parses the name again each time.
/// `Mcp-Session-Id`.
pub const SESSION_HEADER: HeaderName = HeaderName::from_static(SESSION_ID);
/// `MCP-Protocol-Version`.
pub const VERSION_HEADER: HeaderName = HeaderName::from_static(PROTOCOL_VERSION);
/// The API key a client presents.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static(API_KEY);
/// The 2026-07-28 standard headers every request carries ([`RequestHeaders::text`]).
pub const MCP_METHOD_HEADER: HeaderName = HeaderName::from_static(METHOD);
pub const MCP_NAME_HEADER: HeaderName = HeaderName::from_static(NAME);
const API_KEY: &str = "x-api-key";

/// The headers a data-plane POST reads (the first value of each).
#[derive(Debug, Default, Clone, Copy)]
pub struct RequestHeaders<'a> {
    pub origin: Option<&'a HeaderValue>,
    pub api_key: Option<&'a HeaderValue>,
    pub authorization: Option<&'a HeaderValue>,
    pub content_length: Option<&'a HeaderValue>,
    pub content_type: Option<&'a HeaderValue>,
    pub accept: Option<&'a HeaderValue>,
    pub session: Option<&'a HeaderValue>,
    pub version: Option<&'a HeaderValue>,
    pub method: Option<&'a HeaderValue>,
    pub name: Option<&'a HeaderValue>,
}

impl<'a> RequestHeaders<'a> {
    /// One pass over `headers`.
    pub fn of(headers: &'a HeaderMap) -> Self {
        let mut seen = Self::default();
        for (name, value) in headers {
            let slot = if name == header::CONTENT_TYPE {
                &mut seen.content_type
            } else if name == header::CONTENT_LENGTH {
                &mut seen.content_length
            } else if name == header::ACCEPT {
                &mut seen.accept
            } else if name == header::ORIGIN {
                &mut seen.origin
            } else if name == header::AUTHORIZATION {
                &mut seen.authorization
            } else if let Some(slot) = seen.custom(name) {
                slot
            } else {
                continue;
            };
            // The first value, as `HeaderMap::get` gives it.
            slot.get_or_insert(value);
        }
        seen
    }

    /// The slot of one of the non-standard headers read here.
    fn custom(&mut self, name: &HeaderName) -> Option<&mut Option<&'a HeaderValue>> {
        // Standard names (host, user-agent, …) are none of these; their bytes are not compared.
        let text = name.as_str();
        if !text.starts_with("mcp-") && !text.starts_with("x-") {
            return None;
        }
        Some(if *name == API_KEY_HEADER {
            &mut self.api_key
        } else if *name == VERSION_HEADER {
            &mut self.version
        } else if *name == MCP_METHOD_HEADER {
            &mut self.method
        } else if *name == MCP_NAME_HEADER {
            &mut self.name
        } else if *name == SESSION_HEADER {
            &mut self.session
        } else {
            return None;
        })
    }

    /// A header read here as text, by lower-case name (`None` for another name, or a value
    /// that is not visible ASCII).
    pub fn text(&self, lower_name: &str) -> Option<&'a str> {
        let value = match lower_name {
            PROTOCOL_VERSION => self.version,
            METHOD => self.method,
            NAME => self.name,
            SESSION_ID => self.session,
            API_KEY => self.api_key,
            "accept" => self.accept,
            "origin" => self.origin,
            "content-type" => self.content_type,
            _ => None,
        };
        value.and_then(|v| v.to_str().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_read_is_its_first_value_as_get_gives_it() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("Host", "gw"),
            ("Content-Type", "application/json"),
            ("Content-Length", "12"),
            ("Accept", "application/json"),
            ("Accept", "text/event-stream"),
            ("Origin", "http://localhost"),
            ("Authorization", "Bearer k"),
            ("X-API-Key", "mcp_k"),
            ("X-Other", "x"),
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "a"),
            ("Mcp-Name", "b"),
            ("Mcp-Session-Id", "s"),
            ("Mcp-Param-Region", "eu"),
        ] {
            headers.append(HeaderName::try_from(name).unwrap(), HeaderValue::from_static(value));
        }
        let seen = RequestHeaders::of(&headers);
        let pairs = [
            (seen.origin, header::ORIGIN),
            (seen.api_key, API_KEY_HEADER),
            (seen.authorization, header::AUTHORIZATION),
            (seen.content_length, header::CONTENT_LENGTH),
            (seen.content_type, header::CONTENT_TYPE),
            (seen.accept, header::ACCEPT),
            (seen.session, SESSION_HEADER),
            (seen.version, VERSION_HEADER),
            (seen.method, MCP_METHOD_HEADER),
            (seen.name, MCP_NAME_HEADER),
        ];
        for (value, name) in pairs {
            assert_eq!(value, headers.get(&name), "{name}");
            assert!(value.is_some(), "{name}");
        }
        for name in
            ["mcp-protocol-version", "mcp-method", "mcp-name", "mcp-session-id", "x-api-key", "accept"]
        {
            assert_eq!(seen.text(name), headers.get(name).and_then(|v| v.to_str().ok()), "{name}");
        }
        assert_eq!(seen.text("mcp-param-region"), None);
        let empty = HeaderMap::new();
        let none = RequestHeaders::of(&empty);
        assert!(none.origin.is_none() && none.session.is_none() && none.text("mcp-method").is_none());
    }
}
