//! Which revision a POST to the one MCP endpoint speaks, decided per request, and the
//! `MCP-Protocol-Version` rule of the stateful revisions. `docs/PROTOCOL.md` explains the order.

use crate::jsonrpc::RpcError;
use crate::version::{ASSUMED_WITHOUT_HEADER, ProtocolVersion};

/// What the endpoint knows about a POST before serving it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostFacts<'a> {
    /// `Mcp-Session-Id`, if sent.
    pub session_id: Option<&'a str>,
    /// The body is a JSON array.
    pub is_batch: bool,
    /// The method of a single message.
    pub method: Option<&'a str>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, if a string.
    pub meta_version: Option<&'a str>,
    /// `MCP-Protocol-Version`, if sent.
    pub header_version: Option<&'a str>,
}

/// How to serve a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Within a stateful session (2025-03-26 to 2025-11-25): open the session id; unknown,
    /// ended or foreign → HTTP 404 so the client initializes again (2025-11-25 transports
    /// § Session Management 3-4).
    Session,
    /// `initialize` without a session: negotiate and mint a session (lifecycle § Initialization).
    Initialize,
    /// Stateless 2026-07-28: validate with [`super::modern::validate_request`]; never mint or
    /// echo a session id.
    Modern,
    /// A stateful request without a session, or a batch without one: HTTP 400 (2025-11-25
    /// transports § Session Management 2).
    NoSession,
}

/// Classifies a POST. Order: a session id wins (a legacy client in a session); then
/// `initialize` (a legacy client starting; `initialize` does not exist in 2026-07-28); then any
/// sign of a modern request (`_meta` protocol version, or a header naming a revision that is
/// not a legacy one); anything else is a legacy request without its session.
pub fn route(facts: &PostFacts<'_>) -> Route {
    if facts.session_id.is_some() {
        return Route::Session;
    }
    if facts.is_batch {
        return Route::NoSession;
    }
    if facts.method == Some("initialize") {
        return Route::Initialize;
    }
    let header_is_legacy =
        facts.header_version.and_then(ProtocolVersion::parse).is_some_and(ProtocolVersion::has_initialize);
    if facts.meta_version.is_some() || (facts.header_version.is_some() && !header_is_legacy) {
        return Route::Modern;
    }
    Route::NoSession
}

/// The revision of a request in a stateful session, given `MCP-Protocol-Version`: absent means
/// the session's (the negotiated revision is "another way to identify the version", 2025-06-18+
/// transports § Protocol Version Header); an unknown value, or one that differs from the
/// session's, is refused with HTTP 400 (-32600).
pub fn session_version(header: Option<&str>, session: ProtocolVersion) -> Result<ProtocolVersion, RpcError> {
    match header {
        None => Ok(session),
        Some(h) if h == session.as_str() => Ok(session),
        Some(h) if ProtocolVersion::parse(h).is_none() => {
            Err(RpcError::invalid_request(format!("unsupported MCP-Protocol-Version {h:?}")))
        }
        Some(h) => Err(RpcError::invalid_request(format!(
            "MCP-Protocol-Version {h} does not match this session's {session}"
        ))),
    }
}

/// The revision of a stateful request with no session to ask: the header's, or 2025-03-26 when
/// absent (2025-06-18+ transports § Protocol Version Header); unknown values are refused (400).
pub fn header_version(header: Option<&str>) -> Result<ProtocolVersion, RpcError> {
    match header {
        None => Ok(ASSUMED_WITHOUT_HEADER),
        Some(h) => ProtocolVersion::parse(h)
            .ok_or_else(|| RpcError::invalid_request(format!("unsupported MCP-Protocol-Version {h:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion as V;

    #[test]
    fn routes() {
        let f = PostFacts::default;
        assert_eq!(
            route(&PostFacts { session_id: Some("s"), method: Some("initialize"), ..f() }),
            Route::Session
        );
        assert_eq!(route(&PostFacts { is_batch: true, ..f() }), Route::NoSession);
        assert_eq!(
            route(&PostFacts { method: Some("initialize"), meta_version: Some("2026-07-28"), ..f() }),
            Route::Initialize
        );
        assert_eq!(
            route(&PostFacts { method: Some("server/discover"), meta_version: Some("2026-07-28"), ..f() }),
            Route::Modern
        );
        assert_eq!(
            route(&PostFacts { method: Some("tools/list"), header_version: Some("2026-07-28"), ..f() }),
            Route::Modern
        );
        assert_eq!(
            route(&PostFacts { method: Some("tools/list"), header_version: Some("2030-01-01"), ..f() }),
            Route::Modern
        );
        assert_eq!(
            route(&PostFacts { method: Some("tools/list"), header_version: Some("2025-06-18"), ..f() }),
            Route::NoSession
        );
        assert_eq!(route(&PostFacts { method: Some("tools/list"), ..f() }), Route::NoSession);
    }

    #[test]
    fn stateful_version_header() {
        assert_eq!(session_version(None, V::V2025_06_18), Ok(V::V2025_06_18));
        assert_eq!(session_version(Some("2025-06-18"), V::V2025_06_18), Ok(V::V2025_06_18));
        assert_eq!(session_version(Some("2025-11-25"), V::V2025_06_18).unwrap_err().status, 400);
        assert_eq!(session_version(Some("junk"), V::V2025_06_18).unwrap_err().code, -32600);
        assert_eq!(header_version(None), Ok(V::V2025_03_26));
        assert_eq!(header_version(Some("2025-11-25")), Ok(V::V2025_11_25));
        assert!(header_version(Some("x")).is_err());
    }
}
