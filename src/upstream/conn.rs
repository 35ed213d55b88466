//! A connection to one upstream: a JSON-RPC peer over one transport. It numbers its own
//! requests, matches responses by id, rewrites progress tokens so that callers sharing the
//! connection never see each other's progress, and hands everything else the upstream sends
//! (notifications, and requests such as `sampling/createMessage`) to the caller it belongs to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use super::launch::LaunchPolicy;
use super::transport::{
    CLIENT_VERSION, CallSink, Incoming, Peer, Pending, Responder, ResponderKind, STATELESS_VERSION,
    Transport, client_capabilities, client_info, legacy_sse, lock, stdio, streamable,
};
use super::{Spec, UpstreamError};
use crate::domain::upstream::TransportKind;
use crate::outbound::Outbound;
use gatehouse_mcp::jsonrpc::result_message;
use gatehouse_mcp::model::keys;

/// Most `input_required` rounds one request may take.
const MAX_INPUT_ROUNDS: usize = 10;
/// How long the client has to answer an input request.
const INPUT_WAIT: Duration = Duration::from_secs(300);

/// What `initialize` told us about the upstream.
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    pub protocol_version: String,
    pub server_info: Value,
    pub capabilities: Value,
    pub instructions: Option<String>,
}

/// A live connection to an upstream.
pub struct Connection {
    peer: Arc<Peer>,
    transport: Arc<dyn Transport>,
    next_id: AtomicI64,
    next_token: AtomicU64,
    timeout: Duration,
    facts: ServerFacts,
    /// The upstream speaks 2026-07-28: no session, `_meta` on every request, MRTR.
    stateless: bool,
    /// Tools withheld on this connection because their definition here differs from the
    /// approved one (checked once, for a connection made with one person's credential).
    withheld: tokio::sync::OnceCell<std::collections::HashSet<String>>,
}

impl Connection {
    /// The tools withheld on this connection, found by `check` the first time they are asked for.
    pub async fn withheld<F, Fut>(
        &self,
        check: F,
    ) -> Result<&std::collections::HashSet<String>, UpstreamError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<std::collections::HashSet<String>, UpstreamError>>,
    {
        self.withheld.get_or_try_init(check).await
    }

    /// Connects and performs the `initialize` handshake.
    pub async fn connect(
        spec: &Spec,
        outbound: &Outbound,
        launch: &LaunchPolicy,
    ) -> Result<Arc<Connection>, UpstreamError> {
        let (outbox_tx, mut outbox_rx) = mpsc::unbounded_channel::<Value>();
        let peer = Arc::new(Peer {
            upstream_id: spec.id.clone(),
            pending: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
            listener: Mutex::new(None),
            closed: Mutex::new(None),
            outbox: outbox_tx,
        });
        let transport: Arc<dyn Transport> = match spec.transport {
            TransportKind::StreamableHttp => {
                Arc::new(streamable::StreamableHttp::new(spec, outbound, peer.clone())?)
            }
            TransportKind::Sse => {
                Arc::new(legacy_sse::LegacySse::connect(spec, outbound, peer.clone()).await?)
            }
            TransportKind::Stdio => Arc::new(stdio::Stdio::spawn(spec, launch, peer.clone())?),
        };
        let writer = transport.clone();
        tokio::spawn(async move {
            while let Some(msg) = outbox_rx.recv().await {
                let _ = writer.send(&msg, None).await;
            }
        });
        let mut conn = Connection {
            peer,
            transport,
            next_id: AtomicI64::new(1),
            next_token: AtomicU64::new(1),
            timeout: spec.timeout.min(Duration::from_secs(60)),
            facts: ServerFacts::default(),
            stateless: false,
            withheld: tokio::sync::OnceCell::new(),
        };
        // Prefer the stateless revision when the upstream speaks it (lifecycle § server/discover);
        // anything else it answers means "initialize" (2024-11-05 SSE servers cannot speak it).
        if spec.transport != TransportKind::Sse {
            match conn.discover().await {
                Ok(true) => return Ok(Arc::new(conn)),
                Ok(false) => {}
                Err(e) => {
                    conn.transport.close().await;
                    return Err(e);
                }
            }
        }
        let init = conn
            .request(
                "initialize",
                json!({
                    "protocolVersion": CLIENT_VERSION,
                    "capabilities": client_capabilities(),
                    "clientInfo": client_info(),
                }),
                None,
            )
            .await;
        let init = match init {
            Ok(v) => v,
            Err(e) => {
                conn.transport.close().await;
                return Err(e);
            }
        };
        let version = init.get("protocolVersion").and_then(Value::as_str).unwrap_or_default().to_string();
        if !gatehouse_mcp::version::ALL.contains(&version.as_str()) || version == STATELESS_VERSION {
            conn.transport.close().await;
            return Err(UpstreamError::Protocol(format!(
                "initialize answered an unsupported protocolVersion {version:?}"
            )));
        }
        conn.transport.set_protocol_version(&version);
        conn.facts = ServerFacts {
            protocol_version: version,
            server_info: init.get("serverInfo").cloned().unwrap_or(Value::Null),
            capabilities: init.get("capabilities").cloned().unwrap_or_else(|| json!({})),
            instructions: init.get("instructions").and_then(Value::as_str).map(str::to_string),
        };
        conn.notify("notifications/initialized", None).await?;
        Ok(Arc::new(conn))
    }

    /// Tries `server/discover`; true when the upstream speaks 2026-07-28 (the connection is
    /// then stateless). Errors that mean "unreachable" end the attempt; the rest fall back.
    async fn discover(&mut self) -> Result<bool, UpstreamError> {
        self.stateless = true;
        self.transport.set_protocol_version(STATELESS_VERSION);
        let timeout = self.timeout;
        self.timeout = timeout.min(Duration::from_secs(5));
        let answer = self.request("server/discover", json!({}), None).await;
        self.timeout = timeout;
        let speaks = |r: &Value| {
            r.get("supportedVersions")
                .and_then(Value::as_array)
                .is_some_and(|v| v.iter().any(|v| v.as_str() == Some(STATELESS_VERSION)))
        };
        match answer {
            Ok(result) if speaks(&result) => {
                self.facts = ServerFacts {
                    protocol_version: STATELESS_VERSION.to_string(),
                    server_info: result
                        .get("_meta")
                        .and_then(|m| m.get(keys::SERVER_INFO))
                        .cloned()
                        .unwrap_or(Value::Null),
                    capabilities: result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
                    instructions: result.get("instructions").and_then(Value::as_str).map(str::to_string),
                };
                Ok(true)
            }
            Err(e @ (UpstreamError::Connect(_) | UpstreamError::Config(_) | UpstreamError::NeedsAuth)) => {
                Err(e)
            }
            Err(UpstreamError::Closed(reason)) => Err(UpstreamError::Closed(reason)),
            _ => {
                self.stateless = false;
                self.transport.set_protocol_version("");
                Ok(false)
            }
        }
    }

    /// What the upstream said about itself.
    pub fn facts(&self) -> &ServerFacts {
        &self.facts
    }

    /// Whether the upstream keeps a session per connection (see [`Transport::keeps_session`]).
    pub fn keeps_session(&self) -> bool {
        !self.stateless && self.transport.keeps_session()
    }

    /// Whether the connection has ended (the pool then replaces it).
    pub fn is_closed(&self) -> bool {
        self.peer.closed_reason().is_some()
    }

    /// Receives everything the upstream sends that belongs to no call.
    pub fn set_listener(&self, sink: Option<CallSink>) {
        *lock(&self.peer.listener) = sink;
    }

    /// Whether a listener is set (and still listening).
    pub fn has_listener(&self) -> bool {
        lock(&self.peer.listener).as_ref().is_some_and(|l| !l.is_closed())
    }

    /// Sends a request and waits for its result. `sink` receives what the upstream sends while
    /// it runs (progress under the caller's token, logging, requests to answer).
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        sink: Option<CallSink>,
    ) -> Result<Value, UpstreamError> {
        self.request_with(method, params, sink, None).await
    }

    /// [`Connection::request`] that the caller can cancel: when `cancel` fires, the upstream is
    /// told (`notifications/cancelled`) and the call ends with an error.
    pub async fn request_with(
        &self,
        method: &str,
        params: Value,
        sink: Option<CallSink>,
        cancel: Option<oneshot::Receiver<String>>,
    ) -> Result<Value, UpstreamError> {
        let mut params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(UpstreamError::Protocol("params must be an object".into())),
        };
        if self.stateless {
            self.add_request_meta(&mut params);
        }
        let mut cancel = cancel;
        // A 2026-07-28 upstream asks for input by answering `input_required`; the client is
        // asked through `sink` and the request retried with the answers (mrtr § Basic Workflow).
        for _round in 0..MAX_INPUT_ROUNDS {
            let result = self.exchange(method, &mut params, sink.clone(), &mut cancel).await?;
            if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
                return Ok(result);
            }
            let Some(sink) = &sink else {
                return Err(UpstreamError::Rpc {
                    code: -32603,
                    message: "the upstream needs input (elicitation, sampling or roots) that this client cannot give"
                        .into(),
                    data: None,
                });
            };
            let requests =
                result.get("inputRequests").and_then(Value::as_object).cloned().unwrap_or_default();
            let (tx, mut rx) = mpsc::unbounded_channel();
            for (key, request) in &requests {
                let mut msg = json!({"jsonrpc": "2.0", "id": key, "method": request.get("method").cloned().unwrap_or(Value::Null)});
                if let Some(p) = request.get("params") {
                    msg["params"] = p.clone();
                }
                let responder = Responder { kind: ResponderKind::Collect(tx.clone()) };
                if sink.send(Incoming::Request(msg, responder)).is_err() {
                    return Err(UpstreamError::Closed("the client went away".into()));
                }
            }
            drop(tx);
            let mut responses = Map::new();
            while responses.len() < requests.len() {
                match tokio::time::timeout(INPUT_WAIT, rx.recv()).await {
                    Ok(Some((id, Ok(answer)))) => {
                        responses.insert(id.as_str().unwrap_or_default().to_string(), answer);
                    }
                    Ok(Some((_, Err(error)))) => {
                        return Err(UpstreamError::Rpc {
                            code: error.get("code").and_then(Value::as_i64).unwrap_or(-32603),
                            message: error
                                .get("message")
                                .and_then(Value::as_str)
                                .unwrap_or("the client refused")
                                .to_string(),
                            data: None,
                        });
                    }
                    Ok(None) => break,
                    Err(_) => return Err(UpstreamError::Timeout(INPUT_WAIT.as_millis() as u64)),
                }
            }
            params.insert("inputResponses".into(), Value::Object(responses));
            match result.get("requestState") {
                Some(state) => params.insert("requestState".into(), state.clone()),
                None => params.remove("requestState"),
            };
        }
        Err(UpstreamError::Protocol(format!(
            "the upstream asked for input more than {MAX_INPUT_ROUNDS} times"
        )))
    }

    /// `_meta` every 2026-07-28 request carries (basic § _meta): the revision here; Gatehouse's
    /// capabilities and identity are written in with it when the request is sent
    /// ([`super::wire::to_wire`]).
    fn add_request_meta(&self, params: &mut Map<String, Value>) {
        let meta = params.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(gatehouse_mcp::version::META_PROTOCOL_VERSION.into(), json!(STATELESS_VERSION));
        }
    }

    /// One request and its response. `params` are lent to the message and given back as they
    /// came (a next input round sends them again), so that no call copies them.
    async fn exchange(
        &self,
        method: &str,
        params: &mut Map<String, Value>,
        sink: Option<CallSink>,
        cancel: &mut Option<oneshot::Receiver<String>>,
    ) -> Result<Value, UpstreamError> {
        if let Some(reason) = self.peer.closed_reason() {
            return Err(UpstreamError::Closed(reason));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let caller_token = params.get("_meta").and_then(|m| m.get("progressToken")).cloned();
        let token = self.rewrite_progress_token(params, sink.as_ref());
        crate::spans::inject_meta(params);
        let (tx, rx) = oneshot::channel();
        let key = Value::from(id).to_string();
        lock(&self.peer.pending).insert(key.clone(), Pending { reply: tx, sink: sink.clone() });
        let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_empty() || method != "ping" {
            msg["params"] = Value::Object(std::mem::take(params));
        }
        // Tell the upstream to stop working on it (basic/utilities/cancellation).
        let cancel_upstream = |reason: &str| {
            let note = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": id, "reason": reason}});
            let _ = self.peer.outbox.send(note);
        };
        let cancelled = async {
            if let Some(rx) = cancel.as_mut() {
                if let Ok(reason) = rx.await {
                    return reason;
                }
            }
            std::future::pending::<String>().await
        };
        tokio::pin!(cancelled);
        let on_cancel = |reason: String| {
            cancel_upstream(&reason);
            UpstreamError::Rpc { code: -32800, message: format!("request cancelled: {reason}"), data: None }
        };
        // The cancellation can come while the message is still being sent: a Streamable HTTP
        // upstream that answers with JSON holds the POST open until its answer is ready.
        let outcome = tokio::select! {
            biased;
            sent = self.transport.send(&msg, sink) => match sent {
                Err(e) => Err(e),
                Ok(()) => tokio::select! {
                    biased;
                    reply = tokio::time::timeout(self.timeout, rx) => match reply {
                        Ok(Ok(reply)) => reply,
                        Ok(Err(_)) => Err(UpstreamError::Closed("the connection ended".into())),
                        Err(_) => {
                            cancel_upstream("timed out at the gateway");
                            Err(UpstreamError::Timeout(self.timeout.as_millis() as u64))
                        }
                    },
                    reason = &mut cancelled => Err(on_cancel(reason)),
                },
            },
            reason = &mut cancelled => Err(on_cancel(reason)),
        };
        if let Some(Value::Object(lent)) = msg.get_mut("params").map(Value::take) {
            *params = lent;
        }
        if let Some(meta) = params.get_mut("_meta").and_then(Value::as_object_mut) {
            match caller_token {
                Some(caller_token) => meta.insert("progressToken".into(), caller_token),
                None => meta.remove("progressToken"),
            };
        }
        lock(&self.peer.pending).remove(&key);
        if let Some(token) = token {
            lock(&self.peer.progress).remove(&token);
        }
        let mut response = outcome?;
        if let Some(error) = response.get("error") {
            return Err(UpstreamError::Rpc {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(-32603),
                message: error.get("message").and_then(Value::as_str).unwrap_or("upstream error").to_string(),
                data: error.get("data").cloned(),
            });
        }
        // Taken out, not copied: a result can be large.
        match response.get_mut("result").map(Value::take) {
            Some(result @ Value::Object(_)) => Ok(result),
            _ => Err(UpstreamError::Protocol(format!("the result of {method} is not an object"))),
        }
    }

    fn rewrite_progress_token(
        &self,
        params: &mut Map<String, Value>,
        sink: Option<&CallSink>,
    ) -> Option<String> {
        let meta = params.get_mut("_meta").and_then(Value::as_object_mut)?;
        let original = meta.get("progressToken").cloned()?;
        let Some(sink) = sink else {
            meta.remove("progressToken");
            return None;
        };
        let token = format!("gh-{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        meta.insert("progressToken".into(), Value::String(token.clone()));
        lock(&self.peer.progress).insert(token.clone(), (original, sink.clone()));
        Some(token)
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Option<Value>) -> Result<(), UpstreamError> {
        let mut msg = json!({"jsonrpc": "2.0", "method": method});
        if let Some(p) = params {
            msg["params"] = p;
        }
        self.transport.send(&msg, None).await
    }

    /// Answers a request the upstream sent (`result` or `error` object).
    pub async fn respond(&self, id: Value, outcome: Result<Value, Value>) -> Result<(), UpstreamError> {
        let msg = match outcome {
            Ok(result) => result_message(id, result),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        self.transport.send(&msg, None).await
    }

    /// Ends the connection (and the upstream session or process).
    pub async fn close(&self) {
        self.peer.close_with("closed by Gatehouse");
        self.transport.close().await;
    }
}
