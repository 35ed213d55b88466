//! A node's life as load balancers see it: it serves once its database is reachable and its
//! schema current (`/ready`), and from SIGTERM it drains — `/ready` says so at once, it keeps
//! serving for the drain delay so that balancers stop sending it requests, then stops accepting
//! and gives what is in flight the drain timeout to finish (`docs/OPERATIONS.md` "Stopping a
//! node").

use tokio::sync::watch;

/// Whether this node is draining, for whoever must know: `/ready`, and open streams, which end
/// so that their clients reconnect through another node.
pub struct Lifecycle {
    draining: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self { draining: watch::channel(false).0 }
    }
}

impl Lifecycle {
    /// Marks the node as draining (once; later calls change nothing).
    pub fn start_draining(&self) {
        self.draining.send_if_modified(|d| !std::mem::replace(d, true));
    }

    /// Whether the node is draining.
    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Completes when the node starts draining (at once if it has).
    pub async fn drained(&self) {
        let mut rx = self.draining.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }
}
