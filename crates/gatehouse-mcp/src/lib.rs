//! The Model Context Protocol for Gatehouse: JSON-RPC framing and errors, the protocol
//! revisions and what differs between them, the MCP types served and relayed, shaping results
//! for the revision a connection speaks (the start of version bridging), and the Streamable
//! HTTP rules that are about the protocol rather than the server. No database and no HTTP
//! server in here, so it can be tested (and fuzzed) alone; `docs/PROTOCOL.md` explains the
//! decisions.

pub mod jsonrpc;
pub mod model;
pub mod shape;
pub mod transport;
pub mod version;

pub use version::ProtocolVersion;
