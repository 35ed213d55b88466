//! Calls of 2026-07-28 clients parked on this node while they wait for the client's input
//! (version bridging: `gateway/bridge.rs` parks and resumes them).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use gatehouse_mcp::jsonrpc::{RpcError, code};
use gatehouse_mcp::model::InputRequest;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::relay::CancelOnDrop;
use crate::upstream::transport::{Incoming, Responder};

/// How long a parked call waits for the client's retry.
pub const STATE_TTL: Duration = Duration::from_secs(5 * 60);

/// A call waiting for the client's input.
pub struct Parked {
    /// What the upstream sends while the call runs (its requests for input among them).
    pub events: mpsc::UnboundedReceiver<Incoming>,
    /// The call itself.
    pub call: Running,
    /// Input request key → where its answer goes.
    pub asked: HashMap<String, (Responder, Value)>,
    /// The requests as sent to the client (re-sent when an answer is missing).
    pub requests: BTreeMap<String, InputRequest>,
    next_key: u64,
    at: Instant,
}

impl Parked {
    /// A call just started in the request's task; `cancel` tells the upstream if it is dropped.
    pub fn new(
        events: mpsc::UnboundedReceiver<Incoming>,
        call: std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>,
        cancel: CancelOnDrop,
    ) -> Self {
        Parked {
            events,
            call: Running { run: Run::InPlace(call), cancel: Some(cancel) },
            asked: HashMap::new(),
            requests: BTreeMap::new(),
            next_key: 0,
            at: Instant::now(),
        }
    }

    /// A fresh key for an input request sent to the client.
    pub fn next_key(&mut self) -> String {
        self.next_key += 1;
        format!("r{}", self.next_key)
    }

    /// Parks the call: it moves into a task of its own and waits for the client's retry.
    pub fn park(&mut self) {
        self.at = Instant::now();
        self.call.detach();
    }
}

/// A relayed call's outcome.
pub type Outcome = Result<Value, RpcError>;

/// The relayed call of a [`Parked`]. It runs in the task of the request that started it, as
/// most calls end before the upstream asks anything; once it must outlive that request (it is
/// parked for the client's retry), it moves into a task of its own. Dropping it cancels it
/// upstream (its client went away mid-request, or never came back for it): a call still in
/// place is then finished in a task of its own, so that it tells the upstream.
pub struct Running {
    run: Run,
    cancel: Option<CancelOnDrop>,
}

enum Run {
    InPlace(std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>),
    Spawned(oneshot::Receiver<Outcome>),
    Ended,
}

impl Running {
    /// Moves a call still in place into a task of its own.
    fn detach(&mut self) {
        if let Run::InPlace(call) = std::mem::replace(&mut self.run, Run::Ended) {
            let (done_tx, done) = oneshot::channel();
            tokio::spawn(async move {
                let _ = done_tx.send(call.await);
            });
            self.run = Run::Spawned(done);
        }
    }
}

impl std::future::Future for Running {
    type Output = Outcome;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Outcome> {
        let ended = || Err(RpcError::new(code::INTERNAL_ERROR, "the upstream call ended"));
        let outcome = match &mut self.run {
            Run::InPlace(call) => std::task::ready!(call.as_mut().poll(cx)),
            Run::Spawned(done) => {
                std::task::ready!(std::pin::Pin::new(done).poll(cx)).unwrap_or_else(|_| ended())
            }
            Run::Ended => ended(),
        };
        self.run = Run::Ended;
        std::task::Poll::Ready(outcome)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let cancel = self.cancel.take();
        if let Run::InPlace(call) = std::mem::replace(&mut self.run, Run::Ended) {
            drop(cancel);
            // Outside a runtime (it is shutting down) there is nothing left to finish it on.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(call);
            }
        }
    }
}

/// Calls parked on this node.
#[derive(Default)]
pub struct ParkedCalls {
    calls: std::sync::Mutex<HashMap<String, Parked>>,
}

impl ParkedCalls {
    /// Holds a parked call (and forgets those whose client never came back).
    pub fn put(&self, id: String, call: Parked) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        // Calls whose client never came back: tell their upstreams, then forget them.
        calls.retain(|_, c| {
            let live = c.at.elapsed() < STATE_TTL;
            if !live {
                for (_, (responder, id)) in c.asked.drain() {
                    responder.respond(
                        id,
                        Err(json!({"code": -32603, "message": "the client did not answer in time"})),
                    );
                }
            }
            live
        });
        calls.insert(id, call);
    }

    /// Takes the parked call `id` for its retry.
    pub fn take(&self, id: &str) -> Option<Parked> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).remove(id)
    }
}
