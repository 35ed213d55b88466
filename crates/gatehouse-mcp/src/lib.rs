//! The Model Context Protocol for Gatehouse: JSON-RPC framing and errors, the protocol
//! revisions and what differs between them, the Streamable HTTP header rules, and shaping
//! results for the revision a connection speaks. No database and no HTTP server in here, so
//! it can be tested (and fuzzed) alone; `docs/PROTOCOL.md` explains the decisions.

pub mod jsonrpc;
pub mod shape;
pub mod transport;
pub mod version;
