//! The data plane: `/mcp/{org}/{server}` (Streamable HTTP, every revision). See
//! `docs/GATEWAY.md` for the design and `docs/PROTOCOL.md` for the protocol rules.

pub mod directory;
pub mod endpoint;
pub mod keys;
pub mod router;
pub mod session;
pub mod sse;
pub mod upstream;

use std::time::Duration;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;
use crate::outbound::{NetworkPolicy, Outbound};

/// The data plane's in-memory state.
pub struct Gateway {
    /// API keys.
    pub keys: keys::KeyCache,
    /// Servers and their tools.
    pub directory: directory::Directory,
    /// Ended sessions.
    pub sessions: session::EndedSessions,
    /// Outbound HTTP with the network policy.
    pub outbound: Outbound,
    /// Streams of the legacy HTTP+SSE transport open on this node.
    pub legacy: sse::LegacySessions,
}

impl Gateway {
    /// Empty caches and a client enforcing `allow_private`.
    pub fn new(allow_private: bool) -> Self {
        Self {
            keys: keys::KeyCache::default(),
            directory: directory::Directory::default(),
            sessions: session::EndedSessions::default(),
            outbound: Outbound::new(NetworkPolicy { allow_private }),
            legacy: sse::LegacySessions::default(),
        }
    }

    /// Applies a change event from the store's feed.
    pub fn apply(&self, change: &str) {
        if change == "*" {
            self.keys.clear();
        } else if let Some(hash) = change.strip_prefix("api_key:") {
            self.keys.invalidate(hash);
        }
        self.directory.apply(change);
        self.sessions.apply(change);
    }
}

/// The data-plane routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/mcp/{org}/{server}",
            get(endpoint::get).post(endpoint::post).delete(endpoint::delete).fallback(endpoint::other),
        )
        .route("/sse/{org}/{server}", get(sse::open))
        .route("/sse/{org}/{server}/message", axum::routing::post(sse::message))
}

/// Background work: follow the change feed; flush key usage every second.
pub fn spawn_background(state: &AppState) {
    let mut changes = state.store.subscribe_changes();
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => s.gateway.apply(&change),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => s.gateway.apply("*"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            s.gateway.keys.flush_usage(s.store.as_ref()).await;
        }
    });
}
