//! The data plane's state on this node: the caches of keys, servers and sessions, the streams
//! and relayed calls open here, the pool of upstream connections and the outbound client, and
//! the usage counts waiting to be written. The handlers in [`crate::gateway`] share it through
//! [`crate::app::App`]; nothing here knows of either.

pub mod directory;
pub mod entitlements;
pub mod keys;
pub mod legacy;
pub mod parked;
pub mod rates;
pub mod relay;
pub mod session;
pub mod tokens;
pub mod user_tokens;

use crate::outbound::{NetworkPolicy, Outbound};
use crate::upstream::launch::LaunchPolicy;
use crate::upstream::pool::UpstreamPool;

/// The data plane's in-memory state.
pub struct DataPlane {
    /// API keys.
    pub keys: keys::KeyCache,
    /// OAuth access tokens of MCP clients.
    pub tokens: tokens::TokenCache,
    /// Servers and their tools.
    pub directory: directory::Directory,
    /// Ended sessions.
    pub sessions: session::EndedSessions,
    /// Outbound HTTP with the network policy.
    pub outbound: Outbound,
    /// Streams of the legacy HTTP+SSE transport open on this node.
    pub legacy: legacy::LegacySessions,
    /// Connections to upstream MCP servers.
    pub upstreams: UpstreamPool,
    /// What flows between clients and upstreams besides requests and results.
    pub relay: relay::Relay,
    /// Calls of 2026-07-28 clients waiting for their input (version bridging).
    pub parked: parked::ParkedCalls,
    /// This process's id, in the `requestState` of the calls it parks.
    pub node_id: String,
    /// Secrets presented by HTTP tools (their `lastUsedAt`), flushed with key usage.
    pub secret_uses: crate::secrets::SecretUses,
    /// Usage rollups and call logs waiting to be written.
    pub usage: crate::usage::Usage,
    /// Calls waiting to be sent to PostHog as events.
    pub analytics: crate::integrations::posthog::Exporter,
    /// App users' entitlement categories.
    pub entitlements: entitlements::Entitlements,
    /// Rate-limit budgets leased from the shared counters.
    pub rates: rates::RateBudgets,
    /// People's tokens for the per-person upstreams.
    pub user_tokens: user_tokens::UserTokens,
}

impl DataPlane {
    /// Empty caches and a client enforcing `allow_private` (trusting `extra_roots` for TLS).
    pub fn new(
        allow_private: bool,
        launch: LaunchPolicy,
        extra_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    ) -> Self {
        let outbound = Outbound::trusting(NetworkPolicy { allow_private }, extra_roots);
        Self {
            upstreams: UpstreamPool::new(outbound.clone(), launch),
            relay: relay::Relay::default(),
            parked: parked::ParkedCalls::default(),
            node_id: crate::crypto::new_token("node"),
            usage: crate::usage::Usage::default(),
            keys: keys::KeyCache::default(),
            tokens: tokens::TokenCache::default(),
            directory: directory::Directory::default(),
            sessions: session::EndedSessions::default(),
            outbound,
            legacy: legacy::LegacySessions::default(),
            secret_uses: crate::secrets::SecretUses::default(),
            analytics: Default::default(),
            entitlements: Default::default(),
            rates: Default::default(),
            user_tokens: Default::default(),
        }
    }

    /// Applies a change event from the store's feed.
    pub fn apply(&self, change: &str) {
        if change == "*" {
            self.keys.clear();
            self.tokens.clear();
        } else if let Some(hash) = change.strip_prefix("api_key:") {
            self.keys.invalidate(hash);
        } else if let Some(grant) = change.strip_prefix("oauth_grant:") {
            self.tokens.revoke_grant(grant, crate::domain::time::now_ms());
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
        self.entitlements.apply(change);
        self.user_tokens.apply(change);
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
