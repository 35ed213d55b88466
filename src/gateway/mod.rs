//! The data plane: `/mcp/{org}/{server}` (Streamable HTTP, every revision) and the legacy
//! HTTP+SSE transport. The handlers live here; the state they share on this node (caches,
//! sessions, relays, the upstream pool) is [`crate::plane`]. See `docs/GATEWAY.md` for the
//! design and `docs/PROTOCOL.md` for the protocol rules.

pub mod accounting;
pub mod bridge;
pub mod caller;
pub mod connect_first;
pub mod context;
pub mod endpoint;
pub mod policy;
pub mod request_headers;
pub mod router;
pub mod sse;
pub mod tools;
pub mod upstream;

/// The MCP endpoint's route template; also the metrics label of the POSTs `front.rs` serves
/// without the router, so both ways count under one series.
pub const MCP_ROUTE: &str = "/mcp/{org}/{server}";
