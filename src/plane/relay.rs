//! What flows between a client and an upstream besides the request and its result: progress
//! and logging during a call, the upstream's own requests (sampling, elicitation, roots) and
//! the client's answers to them, cancellation, and notifications outside any call (resource
//! updates, list changes) on the client's GET stream. Node-local: a client's answer or
//! cancellation must reach the node that holds the call (`docs/UPSTREAMS.md` "Relay").

use hashbrown::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::upstream::Incoming;
use crate::upstream::transport::Responder;

/// Forwarded requests the client never answered are forgotten after this long.
const FORWARD_TTL: Duration = Duration::from_secs(15 * 60);

struct Forwarded {
    session: String,
    responder: Responder,
    upstream_id: Value,
    at: Instant,
}

/// The relay state of one node.
#[derive(Default)]
pub struct Relay {
    forwarded: Mutex<HashMap<String, Forwarded>>,
    inflight: Mutex<HashMap<(String, String), oneshot::Sender<String>>>,
    /// Session hash → (server id, GET stream).
    streams: Mutex<HashMap<String, (String, mpsc::UnboundedSender<Value>)>>,
    next: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Cancels a relayed call when dropped: for a 2026-07-28 client, closing the response is the
/// cancellation of its request (basic/patterns/cancellation § Transport-Specific Cancellation:
/// the server MUST treat a client disconnect as cancellation). A call that has ended no longer
/// listens, so dropping it then does nothing.
pub struct CancelOnDrop(Option<oneshot::Sender<String>>);

impl CancelOnDrop {
    /// The guard, and the receiver that goes into the call's context.
    pub fn new() -> (Self, oneshot::Receiver<String>) {
        let (tx, rx) = oneshot::channel();
        (Self(Some(tx)), rx)
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send("the client disconnected".to_string());
        }
    }
}

/// Where messages for a client go while a relayed call runs: its response stream.
pub trait Outlet {
    /// Passes one message on (a closed stream drops it: the client has gone).
    fn put(&self, msg: Value) -> impl std::future::Future<Output = ()> + Send;
}

impl Outlet for mpsc::UnboundedSender<Value> {
    async fn put(&self, msg: Value) {
        let _ = self.send(msg);
    }
}

impl Outlet for mpsc::Sender<Value> {
    async fn put(&self, msg: Value) {
        let _ = self.send(msg).await;
    }
}

impl Relay {
    /// Drives `call` to its end while relaying to the client, through `out`, what
    /// upstreams send meanwhile on `incoming` (progress, logging, their own requests), then
    /// what arrived together with the answer; returns the answer. (transports § Sending
    /// Messages to the Server: the server MAY send requests and notifications related to the
    /// request before the response.)
    pub async fn drive<T>(
        &self,
        session: &str,
        can_ask: bool,
        incoming: &mut mpsc::UnboundedReceiver<Incoming>,
        call: impl std::future::Future<Output = T>,
        out: &impl Outlet,
    ) -> T {
        tokio::pin!(call);
        let answer = loop {
            tokio::select! {
                biased;
                Some(msg) = incoming.recv() => {
                    if let Some(msg) = self.to_client(session, msg, can_ask) {
                        out.put(msg).await;
                    }
                }
                answer = &mut call => break answer,
            }
        };
        while let Ok(msg) = incoming.try_recv() {
            if let Some(msg) = self.to_client(session, msg, can_ask) {
                out.put(msg).await;
            }
        }
        answer
    }

    /// Turns what an upstream sent during a call of `session` into a message for the client.
    /// Requests get a gateway id (so they cannot collide with the client's own ids) and are
    /// remembered until the client answers. `can_ask` is false for clients that cannot take
    /// requests: those are answered with an error at once.
    pub fn to_client(&self, session: &str, incoming: Incoming, can_ask: bool) -> Option<Value> {
        match incoming {
            Incoming::Notification(msg) => Some(msg),
            Incoming::Request(mut msg, responder) => {
                let upstream_id = msg.get("id").cloned().unwrap_or(Value::Null);
                let method = msg.get("method").and_then(Value::as_str).unwrap_or_default().to_string();
                if method == "ping" {
                    responder.respond(upstream_id, Ok(json!({})));
                    return None;
                }
                if !can_ask {
                    responder.respond(
                        upstream_id,
                        Err(json!({"code": -32601, "message": format!("{method}: this client cannot take requests")})),
                    );
                    return None;
                }
                let id = format!("gh-{}", self.next.fetch_add(1, Ordering::Relaxed));
                msg["id"] = json!(id);
                let mut forwarded = lock(&self.forwarded);
                forwarded.retain(|_, f| f.at.elapsed() < FORWARD_TTL);
                forwarded.insert(
                    id,
                    Forwarded { session: session.to_string(), responder, upstream_id, at: Instant::now() },
                );
                Some(msg)
            }
        }
    }

    /// A response the client POSTed: sent to the upstream that asked, under its own id. False
    /// when it answers nothing this node forwarded for this session.
    pub fn from_client(&self, session: &str, msg: &Value) -> bool {
        let Some(id) = msg.get("id").and_then(Value::as_str) else { return false };
        let mut forwarded = lock(&self.forwarded);
        match forwarded.get(id) {
            Some(f) if f.session == session => {}
            _ => return false,
        }
        let f = forwarded.remove(id).expect("checked above");
        drop(forwarded);
        let outcome = match (msg.get("result"), msg.get("error")) {
            (Some(result), _) => Ok(result.clone()),
            (None, Some(error)) => Err(error.clone()),
            (None, None) => {
                Err(json!({"code": -32603, "message": "the client answered with neither result nor error"}))
            }
        };
        f.responder.respond(f.upstream_id, outcome);
        true
    }

    /// Registers a call the client may cancel; the receiver fires with the reason.
    pub fn register_call(&self, session: &str, client_id: &Value) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        lock(&self.inflight).insert((session.to_string(), client_id.to_string()), tx);
        rx
    }

    /// Forgets a finished call.
    pub fn finish_call(&self, session: &str, client_id: &Value) {
        lock(&self.inflight).remove(&(session.to_string(), client_id.to_string()));
    }

    /// The client cancelled one of its requests (`notifications/cancelled`).
    pub fn cancel(&self, session: &str, client_id: &Value, reason: &str) {
        if let Some(tx) = lock(&self.inflight).remove(&(session.to_string(), client_id.to_string())) {
            let _ = tx.send(reason.to_string());
        }
    }

    /// Opens the GET stream of a session of `server`: messages outside any call go there.
    pub fn open_stream(&self, session: &str, server: &str) -> mpsc::UnboundedReceiver<Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.streams).insert(session.to_string(), (server.to_string(), tx));
        rx
    }

    /// Sends a message to every open GET stream of a server (list changes).
    pub fn to_server_streams(&self, server: &str, msg: &Value) {
        lock(&self.streams).retain(|_, (s, tx)| s != server || tx.send(msg.clone()).is_ok());
    }

    /// Whether a session has a GET stream open on this node.
    pub fn has_stream(&self, session: &str) -> bool {
        lock(&self.streams).get(session).is_some_and(|(_, tx)| !tx.is_closed())
    }

    /// Sends a message on a session's GET stream; false when none is open.
    pub fn to_stream(&self, session: &str, msg: Value) -> bool {
        let mut streams = lock(&self.streams);
        match streams.get(session) {
            Some((_, tx)) if tx.send(msg).is_ok() => true,
            Some(_) => {
                streams.remove(session);
                false
            }
            None => false,
        }
    }

    /// Forgets a session (ended).
    pub fn end_session(&self, session: &str) {
        lock(&self.streams).remove(session);
        lock(&self.inflight).retain(|(s, _), _| s != session);
        lock(&self.forwarded).retain(|_, f| f.session != session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_reach_only_the_session_that_was_asked() {
        let relay = Relay::default();
        let (outbox, mut upstream) = mpsc::unbounded_channel();
        let responder = Responder::outbox(outbox);
        let ask = json!({"jsonrpc": "2.0", "id": 41, "method": "sampling/createMessage", "params": {}});
        let sent = relay.to_client("s1", Incoming::Request(ask, responder), true).unwrap();
        let gid = sent["id"].as_str().unwrap().to_string();
        assert!(gid.starts_with("gh-"));
        let answer =
            json!({"jsonrpc": "2.0", "id": gid, "result": {"content": {"type": "text", "text": "hi"}}});
        assert!(!relay.from_client("s2", &answer), "another session cannot answer");
        assert!(relay.from_client("s1", &answer));
        let back = upstream.try_recv().unwrap();
        assert_eq!(back["id"], 41);
        assert_eq!(back["result"]["content"]["text"], "hi");
        assert!(!relay.from_client("s1", &answer), "answered once");
    }

    #[test]
    fn clients_that_cannot_be_asked_get_an_error_sent_upstream() {
        let relay = Relay::default();
        let (outbox, mut upstream) = mpsc::unbounded_channel();
        let ask = json!({"jsonrpc": "2.0", "id": "a", "method": "elicitation/create", "params": {}});
        assert!(relay.to_client("", Incoming::Request(ask, Responder::outbox(outbox)), false).is_none());
        assert_eq!(upstream.try_recv().unwrap()["error"]["code"], -32601);
    }

    #[test]
    fn cancellation_reaches_the_call() {
        let relay = Relay::default();
        let mut rx = relay.register_call("s", &json!(7));
        relay.cancel("s", &json!(7), "user pressed stop");
        assert_eq!(rx.try_recv().unwrap(), "user pressed stop");
    }
}
