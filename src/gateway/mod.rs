//! The data plane: `/mcp/{org}/{server}` (Streamable HTTP, every revision). See
//! `docs/GATEWAY.md` for the design and `docs/PROTOCOL.md` for the protocol rules.

pub mod bridge;
pub mod directory;
pub mod endpoint;
pub mod keys;
pub mod policy;
pub mod relay;
pub mod request_headers;
pub mod router;
pub mod session;
pub mod sse;
pub mod upstream;

use std::time::Duration;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;
use crate::outbound::{NetworkPolicy, Outbound};
use crate::upstream::UpstreamPool;
use crate::upstream::launch::LaunchPolicy;

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
    /// Connections to upstream MCP servers.
    pub upstreams: UpstreamPool,
    /// What flows between clients and upstreams besides requests and results.
    pub relay: relay::Relay,
    /// Calls of 2026-07-28 clients waiting for their input (version bridging).
    pub parked: bridge::ParkedCalls,
    /// This process's id, in the `requestState` of the calls it parks.
    pub node_id: String,
    /// Secrets presented by HTTP tools (their `lastUsedAt`), flushed with key usage.
    pub secret_uses: crate::secrets::SecretUses,
    /// Usage rollups and call logs waiting to be written.
    pub usage: crate::usage::Usage,
}

impl Gateway {
    /// Empty caches and a client enforcing `allow_private`.
    pub fn new(allow_private: bool, launch: LaunchPolicy) -> Self {
        let outbound = Outbound::new(NetworkPolicy { allow_private });
        Self {
            upstreams: UpstreamPool::new(outbound.clone(), launch),
            relay: relay::Relay::default(),
            parked: bridge::ParkedCalls::default(),
            node_id: crate::crypto::new_token("node"),
            usage: crate::usage::Usage::default(),
            keys: keys::KeyCache::default(),
            directory: directory::Directory::default(),
            sessions: session::EndedSessions::default(),
            outbound,
            legacy: sse::LegacySessions::default(),
            secret_uses: crate::secrets::SecretUses::default(),
        }
    }

    /// Applies a change event from the store's feed.
    pub fn apply(&self, change: &str) {
        if change == "*" {
            self.keys.clear();
        } else if let Some(hash) = change.strip_prefix("api_key:") {
            self.keys.invalidate(hash);
        }
        // Sessions with a GET stream open learn that their lists may have changed
        // (server/tools § List Changed Notification).
        for server in self.directory.apply(change) {
            for list in ["tools", "prompts", "resources"] {
                let note = serde_json::json!({"jsonrpc": "2.0", "method": format!("notifications/{list}/list_changed")});
                self.relay.to_server_streams(&server, &note);
            }
        }
        self.sessions.apply(change);
    }

    /// Follows changes that close upstream connections (an upstream deleted or disabled, a
    /// client session ended).
    pub async fn apply_to_upstreams(&self, change: &str) {
        if let Some(id) = change.strip_prefix("upstream_gone:") {
            self.upstreams.drop_upstream(id).await;
        } else if let Some(hash) = change.strip_prefix("session_ended:") {
            self.relay.end_session(hash);
            self.upstreams.end_session(hash).await;
        }
    }
}

/// The MCP endpoint's route template; also the metrics label of the POSTs `front.rs` serves
/// without the router, so both ways count under one series.
pub const MCP_ROUTE: &str = "/mcp/{org}/{server}";

/// The data-plane routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            MCP_ROUTE,
            get(endpoint::get).post(endpoint::post).delete(endpoint::delete).fallback(endpoint::other),
        )
        .route("/sse/{org}/{server}", get(sse::open))
        .route("/sse/{org}/{server}/message", axum::routing::post(sse::message))
}

/// Background work: follow the change feed; flush key usage and secret uses every second.
pub fn spawn_background(state: &AppState) {
    let mut changes = state.store.subscribe_changes();
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    s.gateway.apply(&change);
                    if change.starts_with("upstream_gone:") || change.starts_with("session_ended:") {
                        // Closing connections can take a moment (a child exiting): not in line.
                        let s = s.clone();
                        tokio::spawn(async move { s.gateway.apply_to_upstreams(&change).await });
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => s.gateway.apply("*"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            s.gateway.upstreams.reap_idle().await;
            crate::upstream::authorize::refresh_expiring(&s).await;
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            s.gateway.keys.flush_usage(s.store.as_ref()).await;
            s.gateway.secret_uses.flush(s.store.as_ref()).await;
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::usage::FLUSH_EVERY);
        loop {
            tick.tick().await;
            s.gateway.usage.flush(s.store.as_ref()).await;
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let deleted = crate::usage::prune(s.store.as_ref(), crate::domain::time::now_ms()).await;
            if deleted > 0 {
                tracing::info!(deleted, "call logs past retention deleted");
            }
        }
    });
}
