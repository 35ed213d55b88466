//! Streamable HTTP rules that are about the protocol, not the server: the 2026-07-28 request
//! metadata headers (transports § Request Metadata, § Server Validation), header value
//! encoding, content negotiation and SSE framing.

use serde_json::{Map, Value};

/// Decodes an `Mcp-Name` / `Mcp-Param-*` value: plain, or the `=?base64?…?=` sentinel
/// (transports § Value Encoding). `None` when the sentinel does not hold valid UTF-8 base64.
pub fn decode_header_value(raw: &str) -> Option<String> {
    match raw.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) {
        Some(b64) => String::from_utf8(base64_decode(b64)?).ok(),
        None => Some(raw.to_string()),
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Methods whose `Mcp-Name` header mirrors `params.name` or `params.uri`.
pub fn named_method(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read")
}

/// Checks the 2026-07-28 headers against the body. `header` looks a header up by lower-case
/// name. The error text becomes a `HeaderMismatch` (-32020) message.
pub fn check_request_headers<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    method: &str,
    params: &Map<String, Value>,
    meta_version: Option<&str>,
) -> Result<(), String> {
    match header("mcp-protocol-version") {
        None => return Err("missing MCP-Protocol-Version header".into()),
        Some(h) if Some(h) != meta_version => {
            return Err(format!(
                "MCP-Protocol-Version header {h} does not match _meta {}",
                meta_version.unwrap_or("(absent)")
            ));
        }
        _ => {}
    }
    match header("mcp-method") {
        None => return Err("missing Mcp-Method header".into()),
        Some(h) if h != method => {
            return Err(format!("Mcp-Method header {h} does not match body method {method}"));
        }
        _ => {}
    }
    if named_method(method) {
        let body_name = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str);
        match header("mcp-name").map(decode_header_value) {
            None => return Err("missing Mcp-Name header".into()),
            Some(None) => return Err("Mcp-Name header is not valid base64".into()),
            Some(Some(h)) if Some(h.as_str()) == body_name => {}
            Some(Some(h)) => {
                return Err(format!(
                    "Mcp-Name header {h} does not match body {}",
                    body_name.unwrap_or("(absent)")
                ));
            }
        }
    }
    // Unrecognised Mcp-Param-* headers are forwarded and otherwise ignored (§ Custom Headers).
    Ok(())
}

/// Whether a client's `Accept` asks for SSE only (then a JSON answer would not do).
pub fn wants_sse(accept: &str) -> bool {
    accept.contains("text/event-stream") && !accept.contains("application/json") && !accept.contains("*/*")
}

/// One SSE event; multi-line data becomes several `data:` lines.
pub fn sse_event(event: &str, data: &str) -> String {
    let mut out = format!("event: {event}\n");
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sentinel_values_decode() {
        assert_eq!(decode_header_value("get_weather").as_deref(), Some("get_weather"));
        assert_eq!(decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?=").as_deref(), Some("Hello, 世界"));
        assert_eq!(
            decode_header_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").as_deref(),
            Some("=?base64?literal?=")
        );
        assert_eq!(decode_header_value("=?base64?!!!?="), None);
    }

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
    }

    #[test]
    fn accept_and_sse_framing() {
        assert!(wants_sse("text/event-stream"));
        assert!(!wants_sse("application/json, text/event-stream"));
        assert_eq!(sse_event("message", "a\nb"), "event: message\ndata: a\ndata: b\n\n");
    }
}
