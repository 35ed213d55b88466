//! The work a node does besides answering requests: following the store's change feed into
//! its caches and connections, reaping idle upstream connections and refreshing their OAuth
//! tokens, flushing buffered usage and analytics events, pruning call logs past retention.

use std::time::Duration;

use crate::app::AppState;

/// Starts the background work of this node.
pub fn spawn(state: &AppState) {
    let mut changes = state.store.subscribe_changes();
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    s.plane.apply(&change);
                    if change.starts_with("upstream_gone:") || change.starts_with("session_ended:") {
                        // Closing connections can take a moment (a child exiting): not in line.
                        let s = s.clone();
                        tokio::spawn(async move { s.plane.apply_to_upstreams(&change).await });
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => s.plane.apply("*"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            s.plane.upstreams.reap_idle().await;
            crate::gateway::upstream::authorize::refresh_expiring(&s).await;
            crate::gateway::upstream::personal::refresh_expiring(&s).await;
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            s.plane.keys.flush_usage(s.store.as_ref()).await;
            s.plane.secret_uses.flush(s.store.as_ref()).await;
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::usage::FLUSH_EVERY);
        loop {
            tick.tick().await;
            s.plane.usage.flush(s.store.as_ref()).await;
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::integrations::posthog::FLUSH_EVERY);
        loop {
            tick.tick().await;
            s.plane.analytics.flush(&s.plane.outbound).await;
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
            // Expired OAuth codes and tokens (a rotated refresh token is kept until it expires:
            // its reuse is what reveals a stolen copy).
            match s.store.oauth_prune(crate::domain::time::now_ms()).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "expired OAuth codes and tokens deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not prune OAuth codes and tokens"),
            }
        }
    });
}
