//! Protocol revisions and what distinguishes them.

/// Revisions with `initialize` and sessions, newest first.
pub const STATEFUL: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The stateless revision: no handshake, no session, `_meta` on every request.
pub const STATELESS: &str = "2026-07-28";
/// Every revision served, newest first.
pub const ALL: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// `_meta` key carrying the revision of a 2026-07-28 request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// The revision to answer `initialize` with (lifecycle § Version Negotiation: the client's if
/// supported, otherwise the latest the server supports).
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested.and_then(|r| STATEFUL.iter().find(|v| **v == r).copied()).unwrap_or(STATEFUL[0])
}

/// Whether results may carry `structuredContent` and tools `outputSchema` (added 2025-06-18).
pub fn has_structured_content(version: &str) -> bool {
    version >= "2025-06-18"
}

/// Whether JSON-RPC batches are allowed (added in 2025-03-26, removed in 2025-06-18).
pub fn allows_batches(version: &str) -> bool {
    version == "2025-03-26"
}

/// Whether the `MCP-Protocol-Version` header exists in this revision (2025-06-18 onward).
pub fn has_version_header(version: &str) -> bool {
    version >= "2025-06-18"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_the_lifecycle() {
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("1999-01-01")), "2025-11-25");
        // 2026-07-28 has no initialize: a client asking for it there gets the latest stateful one.
        assert_eq!(negotiate(Some("2026-07-28")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
    }

    #[test]
    fn revision_facts() {
        assert!(!has_structured_content("2025-03-26") && has_structured_content("2025-06-18"));
        assert!(
            allows_batches("2025-03-26") && !allows_batches("2025-06-18") && !allows_batches("2024-11-05")
        );
        assert!(has_version_header("2025-11-25") && !has_version_header("2025-03-26"));
    }
}
