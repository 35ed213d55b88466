//! Protocol revisions, negotiation, and the per-revision facts the transport and the result
//! shaping need. Facts are taken from each revision's schema and transport page.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An MCP protocol revision Gatehouse speaks. Ordered by date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// 2024-11-05: HTTP+SSE transport, `initialize`.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP, sessions, batches, tool annotations, audio.
    V2025_03_26,
    /// 2025-06-18: no batches, `MCP-Protocol-Version` header, structured tool output, titles,
    /// resource links.
    V2025_06_18,
    /// 2025-11-25: icons, tasks, error `id` optional.
    V2025_11_25,
    /// 2026-07-28: stateless; per-request `_meta`, `server/discover`, `resultType`, caching hints.
    V2026_07_28,
}

use ProtocolVersion as V;

/// The newest revision.
pub const LATEST: ProtocolVersion = V::V2026_07_28;
/// The newest revision with `initialize` and sessions: the answer to an `initialize` asking
/// for a revision we do not have.
pub const LATEST_STATEFUL: ProtocolVersion = V::V2025_11_25;
/// Every revision served, newest first.
pub const SUPPORTED: &[ProtocolVersion] =
    &[V::V2026_07_28, V::V2025_11_25, V::V2025_06_18, V::V2025_03_26, V::V2024_11_05];
/// Revisions usable per request (`_meta` protocolVersion): what `server/discover` lists in
/// `supportedVersions` and -32022 lists in `data.supported`. Legacy revisions are reached with
/// `initialize` instead, so listing them there would invite requests we must refuse.
pub const MODERN: &[ProtocolVersion] = &[V::V2026_07_28];
/// What a stateful request without `MCP-Protocol-Version` and without other information is
/// taken to speak (2025-06-18+ transports § Protocol Version Header: SHOULD assume 2025-03-26).
pub const ASSUMED_WITHOUT_HEADER: ProtocolVersion = V::V2025_03_26;

/// Revisions with `initialize` and sessions, newest first.
pub const STATEFUL: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The stateless revision: no handshake, no session, `_meta` on every request.
pub const STATELESS: &str = "2026-07-28";
/// Every revision served, newest first.
pub const ALL: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// `_meta` key carrying the revision of a 2026-07-28 request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// A revision string Gatehouse does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported protocol version {0:?}")]
pub struct UnknownVersion(pub String);

impl ProtocolVersion {
    /// The revision string, e.g. `"2025-06-18"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            V::V2024_11_05 => "2024-11-05",
            V::V2025_03_26 => "2025-03-26",
            V::V2025_06_18 => "2025-06-18",
            V::V2025_11_25 => "2025-11-25",
            V::V2026_07_28 => "2026-07-28",
        }
    }

    /// The revision named by `s`, if supported.
    pub fn parse(s: &str) -> Option<Self> {
        SUPPORTED.iter().copied().find(|v| v.as_str() == s)
    }

    /// The answer to `initialize` (lifecycle § Version Negotiation): the client's revision if
    /// we support it, otherwise our latest. `initialize` does not exist in 2026-07-28, so a
    /// client asking for it there (or for anything unknown) gets [`LATEST_STATEFUL`].
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).filter(|v| !v.is_stateless()).unwrap_or(LATEST_STATEFUL)
    }

    /// Stateless: no `initialize`, no session; revision and capabilities in every request's
    /// `_meta` (2026-07-28 basic § Statelessness).
    pub fn is_stateless(self) -> bool {
        self >= V::V2026_07_28
    }

    /// Uses the `initialize` handshake.
    pub fn has_initialize(self) -> bool {
        !self.is_stateless()
    }

    /// Served over Streamable HTTP with `Mcp-Session-Id` (2025-03-26 to 2025-11-25); 2024-11-05
    /// has the HTTP+SSE transport's own session, 2026-07-28 none.
    pub fn has_session_header(self) -> bool {
        (V::V2025_03_26..=V::V2025_11_25).contains(&self)
    }

    /// The standalone GET SSE stream exists (2025-03-26 to 2025-11-25; removed in 2026-07-28).
    pub fn has_get_stream(self) -> bool {
        self.has_session_header()
    }

    /// JSON-RPC batches are allowed (added in 2025-03-26, removed in 2025-06-18).
    pub fn allows_batches(self) -> bool {
        self == V::V2025_03_26
    }

    /// The `MCP-Protocol-Version` header exists (2025-06-18 onward).
    pub fn has_version_header(self) -> bool {
        self >= V::V2025_06_18
    }

    /// `MCP-Protocol-Version` must be on every request and equal `_meta` (2026-07-28
    /// streamable-http § Protocol Version Header), plus `Mcp-Method`/`Mcp-Name`.
    pub fn requires_request_headers(self) -> bool {
        self.is_stateless()
    }

    /// `ping` exists (removed in 2026-07-28, changelog § Major changes 5).
    pub fn has_ping(self) -> bool {
        !self.is_stateless()
    }

    /// Tools have `annotations` (ToolAnnotations, 2025-03-26 onward).
    pub fn has_tool_annotations(self) -> bool {
        self >= V::V2025_03_26
    }

    /// `audio` content blocks exist (2025-03-26 onward).
    pub fn has_audio_content(self) -> bool {
        self >= V::V2025_03_26
    }

    /// Results may carry `structuredContent` and tools `outputSchema` (2025-06-18 onward).
    pub fn has_structured_content(self) -> bool {
        self >= V::V2025_06_18
    }

    /// `structuredContent` may be any JSON value and `outputSchema` any schema (2026-07-28);
    /// before, both are objects (`outputSchema` with `type: "object"`).
    pub fn structured_content_any_value(self) -> bool {
        self >= V::V2026_07_28
    }

    /// `title` on tools, prompts, resources and Implementation (BaseMetadata, 2025-06-18 onward).
    pub fn has_titles(self) -> bool {
        self >= V::V2025_06_18
    }

    /// `resource_link` content blocks exist (2025-06-18 onward).
    pub fn has_resource_links(self) -> bool {
        self >= V::V2025_06_18
    }

    /// `_meta` on tools and content blocks is declared (2025-06-18 onward).
    pub fn has_item_meta(self) -> bool {
        self >= V::V2025_06_18
    }

    /// `icons` on tools, prompts, resources and Implementation (2025-11-25 onward).
    pub fn has_icons(self) -> bool {
        self >= V::V2025_11_25
    }

    /// An error response may leave out `id` (schema `JSONRPCErrorResponse`, 2025-11-25
    /// onward; earlier `JSONRPCError` requires it and admits no null).
    pub fn error_id_optional(self) -> bool {
        self >= V::V2025_11_25
    }

    /// Every result carries `resultType` (2026-07-28 schema `Result`).
    pub fn has_result_type(self) -> bool {
        self.is_stateless()
    }

    /// List, discover and read results carry `ttlMs`/`cacheScope` (2026-07-28 `CacheableResult`).
    pub fn has_cache_hints(self) -> bool {
        self.is_stateless()
    }

    /// Multi round-trip requests (`input_required` results, `requestState`) exist.
    pub fn has_mrtr(self) -> bool {
        self.is_stateless()
    }

    /// The code for an unknown resource: -32002 up to 2025-11-25, -32602 in 2026-07-28.
    pub fn resource_not_found_code(self) -> i64 {
        if self.is_stateless() {
            crate::jsonrpc::code::INVALID_PARAMS
        } else {
            crate::jsonrpc::code::RESOURCE_NOT_FOUND
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProtocolVersion {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownVersion(s.to_string()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The revision string to answer `initialize` with (see [`ProtocolVersion::negotiate`]).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    ProtocolVersion::negotiate(requested.unwrap_or_default()).as_str()
}

/// Whether results may carry `structuredContent` and tools `outputSchema` (added 2025-06-18).
/// Unknown strings are treated as the oldest revision.
pub fn has_structured_content(version: &str) -> bool {
    ProtocolVersion::parse(version).is_some_and(ProtocolVersion::has_structured_content)
}

/// Whether JSON-RPC batches are allowed (added in 2025-03-26, removed in 2025-06-18).
pub fn allows_batches(version: &str) -> bool {
    ProtocolVersion::parse(version).is_some_and(ProtocolVersion::allows_batches)
}

/// Whether the `MCP-Protocol-Version` header exists in this revision (2025-06-18 onward).
pub fn has_version_header(version: &str) -> bool {
    ProtocolVersion::parse(version).is_some_and(ProtocolVersion::has_version_header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for v in SUPPORTED {
            assert_eq!(v.as_str().parse::<ProtocolVersion>().unwrap(), *v);
            assert_eq!(v.to_string(), v.as_str());
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert_eq!("2025-1-1".parse::<ProtocolVersion>(), Err(UnknownVersion("2025-1-1".into())));
        assert!(serde_json::from_str::<ProtocolVersion>("\"2099-01-01\"").is_err());
        let strings: Vec<&str> = SUPPORTED.iter().map(|v| v.as_str()).collect();
        assert_eq!(strings, ALL);
        assert_eq!(STATELESS, LATEST.as_str());
        assert!(SUPPORTED.windows(2).all(|w| w[0] > w[1]), "newest first");
    }

    #[test]
    fn negotiation_follows_the_lifecycle() {
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("1999-01-01")), "2025-11-25");
        // 2026-07-28 has no initialize: a client asking for it there gets the latest stateful one.
        assert_eq!(negotiate(Some("2026-07-28")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
        assert_eq!(ProtocolVersion::negotiate("2025-11-25"), V::V2025_11_25);
    }

    #[test]
    fn revision_facts() {
        assert!(!has_structured_content("2025-03-26") && has_structured_content("2025-06-18"));
        assert!(!has_structured_content("garbage"));
        assert!(
            allows_batches("2025-03-26") && !allows_batches("2025-06-18") && !allows_batches("2024-11-05")
        );
        assert!(has_version_header("2025-11-25") && !has_version_header("2025-03-26"));
        assert!(V::V2026_07_28.is_stateless() && !V::V2025_11_25.is_stateless());
        assert!(V::V2026_07_28.requires_request_headers() && !V::V2026_07_28.has_ping());
        assert!(!V::V2024_11_05.has_session_header() && V::V2025_03_26.has_session_header());
        assert!(!V::V2026_07_28.has_get_stream() && V::V2025_11_25.has_get_stream());
        assert!(!V::V2024_11_05.has_audio_content() && V::V2025_03_26.has_audio_content());
        assert!(!V::V2025_03_26.has_resource_links() && V::V2025_06_18.has_titles());
        assert!(V::V2025_11_25.error_id_optional() && !V::V2025_06_18.error_id_optional());
        assert!(V::V2026_07_28.has_result_type() && V::V2026_07_28.has_cache_hints());
        assert!(V::V2026_07_28.structured_content_any_value());
        assert!(!V::V2025_11_25.structured_content_any_value() && V::V2025_11_25.has_icons());
        assert_eq!(V::V2026_07_28.resource_not_found_code(), -32602);
        assert_eq!(V::V2025_11_25.resource_not_found_code(), -32002);
        assert!(V::V2025_03_26.has_tool_annotations() && !V::V2024_11_05.has_tool_annotations());
        assert!(V::V2026_07_28.has_mrtr() && V::V2024_11_05.has_initialize());
        assert!(V::V2025_06_18.has_item_meta());
        assert_eq!(ASSUMED_WITHOUT_HEADER, V::V2025_03_26);
        assert_eq!(MODERN, &[LATEST]);
    }
}
