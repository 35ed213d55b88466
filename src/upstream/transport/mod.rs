//! How Gatehouse talks to an upstream over one kind of wire: the [`Transport`] trait each
//! wire implements (`streamable.rs`, `legacy_sse.rs`, `stdio.rs`), the [`Peer`] their readers
//! deliver what the upstream sends into (responses matched to their requests, the rest routed
//! to the caller it belongs to), and what every wire shares. `conn.rs` picks the wire and
//! drives the JSON-RPC exchange over it; nothing here imports it.

pub mod legacy_sse;
pub mod stdio;
pub mod streamable;
pub(crate) mod wire;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::UpstreamError;
use gatehouse_mcp::jsonrpc::result_message;

/// Where a caller receives what the upstream sends while its request runs.
pub type CallSink = mpsc::UnboundedSender<Incoming>;

/// Something the upstream sent that is not a response to one of our requests.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A notification (progress, logging, list_changed, …), progress tokens restored.
    Notification(Value),
    /// A request (sampling, elicitation, roots, ping), and where its answer goes.
    Request(Value, Responder),
}

/// Sends the answer to a request an upstream made back to that upstream: as a JSON-RPC
/// response (the upstream sent a real request), or into the `inputResponses` of a retry (a
/// 2026-07-28 upstream answered `input_required`).
#[derive(Debug, Clone)]
pub struct Responder {
    pub(crate) kind: ResponderKind,
}

#[derive(Debug, Clone)]
pub(crate) enum ResponderKind {
    Outbox(mpsc::UnboundedSender<Value>),
    Collect(mpsc::UnboundedSender<(Value, Result<Value, Value>)>),
}

impl Responder {
    /// A responder writing JSON-RPC responses into `outbox`: for a request Gatehouse itself puts
    /// to a client during a call, as an upstream would.
    pub fn outbox(outbox: mpsc::UnboundedSender<Value>) -> Self {
        Self { kind: ResponderKind::Outbox(outbox) }
    }

    /// Answers request `id` with a result (`Ok`) or an error object (`Err`).
    pub fn respond(&self, id: Value, outcome: Result<Value, Value>) {
        match &self.kind {
            ResponderKind::Outbox(outbox) => {
                let msg = match outcome {
                    Ok(result) => result_message(id, result),
                    Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
                };
                let _ = outbox.send(msg);
            }
            ResponderKind::Collect(tx) => {
                let _ = tx.send((id, outcome));
            }
        }
    }
}

/// The revision of stateless upstreams.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// What Gatehouse declares as a client: it relays every kind of input request. Made once;
/// every 2026-07-28 request carries it.
pub(crate) fn client_capabilities() -> Value {
    static CAPABILITIES: std::sync::LazyLock<Value> = std::sync::LazyLock::new(
        || json!({"sampling": {}, "elicitation": {}, "roots": {"listChanged": true}}),
    );
    CAPABILITIES.clone()
}

/// Gatehouse's `Implementation` toward upstreams (made once, as [`client_capabilities`]).
pub(crate) fn client_info() -> Value {
    static INFO: std::sync::LazyLock<Value> =
        std::sync::LazyLock::new(|| json!({"name": "gatehouse", "version": env!("CARGO_PKG_VERSION")}));
    INFO.clone()
}

/// The revision Gatehouse asks for in `initialize` (the newest stateful one).
pub const CLIENT_VERSION: &str = "2025-11-25";

/// Sends messages over one kind of wire.
#[async_trait]
pub(crate) trait Transport: Send + Sync {
    /// Sends a message. A response that arrives on a stream tied to this message (Streamable
    /// HTTP) is delivered to the peer with `sink` as the stream's owner.
    async fn send(&self, msg: &Value, sink: Option<CallSink>) -> Result<(), UpstreamError>;
    /// Remembers the negotiated revision (sent as a header by HTTP transports).
    fn set_protocol_version(&self, _version: &str) {}
    /// Stops the transport: kills the process, closes streams, ends the upstream session.
    async fn close(&self);
    /// Whether the upstream keeps state per connection (a session of its own), so that each
    /// client session needs a connection of its own.
    fn keeps_session(&self) -> bool {
        true
    }
}

pub(crate) struct Pending {
    pub(crate) reply: oneshot::Sender<Result<Value, UpstreamError>>,
    pub(crate) sink: Option<CallSink>,
}

/// The shared half of a connection that transports' reader tasks deliver into.
pub(crate) struct Peer {
    pub(crate) upstream_id: String,
    pub(crate) pending: Mutex<HashMap<String, Pending>>,
    /// Gateway progress token → (the caller's token, the caller's sink).
    pub(crate) progress: Mutex<HashMap<String, (Value, CallSink)>>,
    /// Receives what belongs to no request (connection-level notifications).
    pub(crate) listener: Mutex<Option<CallSink>>,
    pub(crate) closed: Mutex<Option<String>>,
    /// Messages to send from contexts that cannot await (answers to unroutable requests).
    pub(crate) outbox: mpsc::UnboundedSender<Value>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Peer {
    /// Delivers one message the upstream sent; `stream_sink` is the owner of the stream it
    /// arrived on, when the transport knows it.
    pub(crate) fn deliver(&self, msg: Value, stream_sink: Option<&CallSink>) {
        let Value::Object(mut obj) = msg else {
            tracing::warn!(upstream = %self.upstream_id, "upstream sent a JSON value that is not a message");
            return;
        };
        let is_response = obj.contains_key("id")
            && !obj.contains_key("method")
            && (obj.contains_key("result") || obj.contains_key("error"));
        if is_response {
            let key = obj.get("id").map(Value::to_string).unwrap_or_default();
            if let Some(p) = lock(&self.pending).remove(&key) {
                let _ = p.reply.send(Ok(Value::Object(obj)));
            }
            return;
        }
        let Some(method) = obj.get("method").and_then(Value::as_str).map(str::to_string) else {
            tracing::warn!(upstream = %self.upstream_id, "upstream sent a message without method or result");
            return;
        };
        let is_request = obj.contains_key("id");
        // Progress goes to the caller that asked for it, under the caller's own token.
        let mut sink = None;
        if method == "notifications/progress" {
            let token = obj.get("params").and_then(|p| p.get("progressToken")).and_then(Value::as_str);
            if let Some(token) = token {
                if let Some((original, owner)) = lock(&self.progress).get(token).cloned() {
                    if let Some(params) = obj.get_mut("params").and_then(Value::as_object_mut) {
                        params.insert("progressToken".into(), original);
                    }
                    sink = Some(owner);
                }
            }
        }
        let sink = sink.or_else(|| stream_sink.cloned()).or_else(|| {
            // On a stream shared by several callers (stdio, SSE) a request can only be routed
            // when exactly one call that can take it is running.
            let pending = lock(&self.pending);
            let mut owners = pending.values().filter_map(|p| p.sink.as_ref());
            match (owners.next(), owners.next()) {
                (Some(only), None) if is_request => Some(only.clone()),
                _ => None,
            }
        });
        let message = Value::Object(obj);
        let incoming = if is_request {
            Incoming::Request(message, Responder { kind: ResponderKind::Outbox(self.outbox.clone()) })
        } else {
            Incoming::Notification(message)
        };
        let delivered = match sink {
            Some(s) => s.send(incoming.clone()).is_ok(),
            None => false,
        } || lock(&self.listener).as_ref().is_some_and(|l| l.send(incoming.clone()).is_ok());
        if !delivered {
            if let Incoming::Request(req, _) = incoming {
                self.refuse(&req, &method);
            }
        }
    }

    /// Answers a request nobody can take, so the upstream does not wait forever.
    fn refuse(&self, request: &Value, method: &str) {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let answer = if method == "ping" {
            json!({"jsonrpc": "2.0", "id": id, "result": {}})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601,
                "message": format!("{method} cannot be relayed: no client is waiting on this upstream call")}})
        };
        let _ = self.outbox.send(answer);
    }

    /// Fails every call in flight (the connection is gone).
    pub(crate) fn close_with(&self, reason: &str) {
        lock(&self.closed).get_or_insert_with(|| reason.to_string());
        for (_, p) in lock(&self.pending).drain() {
            let _ = p.reply.send(Err(UpstreamError::Closed(reason.to_string())));
        }
        lock(&self.progress).clear();
    }

    /// Fails one call in flight, if it is still waiting.
    pub(crate) fn fail_one(&self, key: &str, err: UpstreamError) {
        if let Some(p) = lock(&self.pending).remove(key) {
            let _ = p.reply.send(Err(err));
        }
    }

    pub(crate) fn closed_reason(&self) -> Option<String> {
        lock(&self.closed).clone()
    }
}

/// Parses a JSON body that may be one message or a batch and delivers each.
pub(crate) fn deliver_json(peer: &Peer, bytes: &[u8], sink: Option<&CallSink>) -> Result<(), UpstreamError> {
    let value: Value = gatehouse_mcp::jsonrpc::from_json_bytes(bytes)
        .map_err(|e| UpstreamError::Protocol(format!("the upstream sent invalid JSON: {e}")))?;
    match value {
        Value::Array(items) => items.into_iter().for_each(|m| peer.deliver(m, sink)),
        other => peer.deliver(other, sink),
    }
    Ok(())
}

/// Maps an outbound failure to an upstream error.
/// The `Accept` a request sends: the media types the transport `required`, then any other the
/// upstream's configuration adds (one header, so a server reading only the first sees all).
pub(crate) fn accept_with(required: &str, configured: &[(String, String)]) -> String {
    let mut value = required.to_string();
    let extra = configured.iter().filter(|(k, _)| k.eq_ignore_ascii_case("accept"));
    for media in extra.flat_map(|(_, v)| v.split(',')).map(str::trim).filter(|m| !m.is_empty()) {
        let known = value.split(',').any(|have| have.trim().eq_ignore_ascii_case(media));
        if !known {
            value.push_str(", ");
            value.push_str(media);
        }
    }
    value
}

/// A configured header other than `Accept` (which [`accept_with`] sends).
pub(crate) fn not_accept((name, _): &&(String, String)) -> bool {
    !name.eq_ignore_ascii_case("accept")
}

pub(crate) fn outbound_error(err: crate::outbound::OutboundError) -> UpstreamError {
    match err {
        crate::outbound::OutboundError::Forbidden(m) => {
            UpstreamError::Config(format!("outbound request refused: {m}"))
        }
        crate::outbound::OutboundError::InvalidUrl(m) => UpstreamError::Config(format!("invalid URL: {m}")),
        crate::outbound::OutboundError::Timeout => UpstreamError::Timeout(0),
        crate::outbound::OutboundError::TooLarge(n) => {
            UpstreamError::Protocol(format!("a message exceeded {n} bytes"))
        }
        crate::outbound::OutboundError::Failed(m) => UpstreamError::Connect(m),
    }
}

/// A short, printable excerpt of an error body.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_keeps_what_the_transport_needs_and_adds_the_rest() {
        let configured = vec![("Accept".to_string(), "application/json, application/x-ndjson".to_string())];
        assert_eq!(
            accept_with("application/json, text/event-stream", &configured),
            "application/json, text/event-stream, application/x-ndjson"
        );
        assert_eq!(accept_with("text/event-stream", &[]), "text/event-stream");
        assert!(!not_accept(&&configured[0]));
    }
}
