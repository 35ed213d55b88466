//! Accepting connections: one task per connection, served by hyper's HTTP/1.1 with
//! [`Front`], held to the [`ConnectionLimits`] (a cap on open connections, beyond which new
//! ones are closed at once; a watchdog closing a connection that is idle or slow to send its
//! headers), and a graceful stop (no new connections; each open one finishes the request it
//! is serving, then closes; the stop waits for all of them).
//!
//! Why not `axum::serve`: it serves through hyper-util's protocol-sniffing connection (a
//! rewinding reader around the socket, though only HTTP/1.1 is built), clones the service and
//! boxes the request body into axum's `Body` for every request. Served here, a data-plane
//! request reaches its handler with hyper's own body, and the rest of the API is routed by
//! axum exactly as before.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::app::AppState;
use crate::connection::{Activity, ConnectionLimits, Watched};
use crate::front::Front;

/// Serves `listener` until `signal` completes, then waits up to `drain_timeout` for open
/// connections to finish; those still open then are cut when the process exits.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    limits: ConnectionLimits,
    signal: impl Future<Output = ()>,
    drain_timeout: Duration,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let mut shed = Shed::default();
    // Dropping `stop_tx` tells every connection to finish; each holds a `done_rx` clone, and
    // `done_tx.closed()` completes when the last one is gone.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut signal = std::pin::pin!(signal);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(&err).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // At the cap the newest connection is closed at once: the loop itself never stops.
        let Ok(permit) = open.clone().try_acquire_owned() else {
            drop(tcp);
            shed.one(limits.max_connections, &state);
            continue;
        };
        // No Nagle delay: an SSE answer is written as headers, then events; without
        // TCP_NODELAY the first event waits for the client's delayed ACK (~40 ms on Linux).
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY not set");
        }
        let activity = Activity::new();
        let front = Front::new(router.clone(), state.clone(), peer, activity.clone());
        let (mut stop, done) = (stop_rx.clone(), done_rx.clone());
        let metrics = state.metrics.connections.clone();
        metrics.opened();
        tokio::spawn(async move {
            let builder = hyper::server::conn::http1::Builder::new();
            let io = TokioIo::new(Watched::new(tcp, activity.clone()));
            let mut connection = std::pin::pin!(builder.serve_connection(io, front));
            tokio::select! {
                // The connection first: the stop is looked at only when it is not ready.
                biased;
                result = connection.as_mut() => log_end(result),
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await);
                }
                // Idle too long, or its headers too slow: dropping the connection closes it.
                () = activity.expired(limits) => metrics.timed_out(),
            }
            metrics.closed();
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    if tokio::time::timeout(drain_timeout, done_tx.closed()).await.is_err() {
        let open = done_tx.receiver_count();
        tracing::warn!(open, "connections still open at the drain deadline; they are cut");
    }
}

/// Connections closed at the cap, logged at most once a minute.
#[derive(Default)]
struct Shed {
    since_log: u64,
    logged: Option<Instant>,
}

impl Shed {
    fn one(&mut self, cap: usize, state: &AppState) {
        state.metrics.connections.shed();
        self.since_log += 1;
        if self.logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            tracing::warn!(cap, closed = self.since_log, "open connections at the cap; closing new ones");
            self.logged = Some(Instant::now());
            self.since_log = 0;
        }
    }
}

fn log_end(result: hyper::Result<()>) {
    if let Err(err) = result {
        tracing::trace!(error = %err, "connection ended with an error");
    }
}

/// After a failed accept: a connection that went away before it was accepted is nothing; out
/// of file descriptors (or another resource) is logged, and accepting pauses for a moment
/// rather than spinning, as `axum::serve` does.
async fn accept_failed(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %err, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
