//! The MCP *client* side of Gatehouse: connections to upstream MCP servers over Streamable
//! HTTP, legacy SSE and stdio, the per-node pool that shares and supervises them, and
//! discovery of their catalogue; and calls of HTTP tools, the other kind of upstream. `docs/UPSTREAMS.md` is the design.

pub mod catalog;
pub mod conn;
pub mod discovery;
pub mod http_tool;
pub mod launch;
pub mod oauth;
pub mod pool;
pub mod spec;
pub mod transport;

pub use conn::Connection;
pub use pool::UpstreamPool;
pub use spec::Spec;
pub use transport::{CallSink, Incoming};

/// Largest message (JSON line, SSE event or response body) accepted from an upstream.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Why talking to an upstream failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The configuration cannot be used (bad URL, command not allowed, sealed value unreadable).
    #[error("upstream configuration: {0}")]
    Config(String),
    /// Could not connect, or the process could not start.
    #[error("cannot reach the upstream: {0}")]
    Connect(String),
    /// The upstream wants (new) authorization.
    #[error("the upstream requires authorization (HTTP 401)")]
    NeedsAuth,
    /// The upstream answered with an unexpected HTTP status.
    #[error("the upstream answered HTTP {0}: {1}")]
    Http(u16, String),
    /// The upstream sent something that is not MCP.
    #[error("the upstream broke the protocol: {0}")]
    Protocol(String),
    /// No answer in time.
    #[error("the upstream did not answer within {0} ms")]
    Timeout(u64),
    /// The connection or process ended.
    #[error("the upstream connection closed: {0}")]
    Closed(String),
    /// Recent calls failed; calls fail fast until the breaker lets a probe through.
    #[error("the upstream is failing; retry in a few seconds ({0})")]
    CircuitOpen(String),
    /// The upstream answered with a JSON-RPC error (relayed as is).
    #[error("upstream error {code}: {message}")]
    Rpc { code: i64, message: String, data: Option<serde_json::Value> },
    /// The upstream is reached with each person's own account and the caller has not
    /// connected theirs (`None`: the caller is no person, e.g. an API key).
    #[error("the upstream needs the caller's own authorization")]
    NotConnected(Option<String>),
    /// The tool's definition, as the upstream shows it to this caller, differs from the one
    /// approved: it is not served to them.
    #[error(
        "the tool {0} is defined differently for your account than the approved definition, so it is not served to you; an admin can refresh and review the upstream"
    )]
    Withheld(String),
    /// The upstream's authorization server would not give the caller a token for Gatehouse's
    /// assertion of who they are (token exchange).
    #[error("the upstream's authorization server refused a token for you: {0}")]
    ExchangeRefused(String),
}

impl UpstreamError {
    /// Whether the failure says the upstream itself is unhealthy (counts toward the breaker).
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            UpstreamError::Rpc { .. }
                | UpstreamError::Config(_)
                | UpstreamError::NotConnected(_)
                | UpstreamError::Withheld(_)
                | UpstreamError::ExchangeRefused(_)
        )
    }
}
