//! Request bodies read within a limit, and whether a request declares JSON: shared by the
//! management API (`api/rest.rs`) and the data plane (`gateway/`), neither owning it.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::error::{ApiError, ApiResult};

/// Reads a body, refusing more than `limit` bytes with 413.
pub async fn read_body<B>(headers: &HeaderMap, body: B, limit: usize) -> ApiResult<axum::body::Bytes>
where
    B: hyper::body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    read_body_declared(headers.get(header::CONTENT_LENGTH), body, limit).await
}

/// [`read_body`] given the request's first `Content-Length` value.
pub async fn read_body_declared<B>(
    content_length: Option<&HeaderValue>,
    body: B,
    limit: usize,
) -> ApiResult<axum::body::Bytes>
where
    B: hyper::body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = content_length.and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    // What `axum::body::to_bytes` does, for any body (hyper's own on the data plane).
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(ApiError::PayloadTooLarge(limit)),
    }
}

/// Whether the request declares a JSON body (`application/json`, any parameters, or `+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    is_json_type(headers.get(header::CONTENT_TYPE))
}

/// [`is_json`] of the request's first `Content-Type` value.
pub fn is_json_type(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type else { return false };
    // What nearly every client sends, recognised without splitting.
    if value.as_bytes() == b"application/json" {
        return true;
    }
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.trim().split_once('/'))
        // Compared without a lower-cased copy: this runs on every MCP request.
        .is_some_and(|(kind, subtype)| {
            let suffix = subtype.get(subtype.len().saturating_sub(5)..).unwrap_or_default();
            kind.eq_ignore_ascii_case("application")
                && (subtype.eq_ignore_ascii_case("json") || suffix.eq_ignore_ascii_case("+json"))
        })
}

#[cfg(test)]
mod tests {
    use super::is_json;
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn json_content_types() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            is_json(&h)
        };
        for yes in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json ",
            "application/vnd.api+json",
            "application/ld+JSON",
        ] {
            assert!(with(yes), "{yes}");
        }
        for no in [
            "text/json",
            "application/",
            "application/jsonx",
            "application/x-json",
            "json",
            "",
            "text/plain; application/json",
        ] {
            assert!(!with(no), "{no}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
