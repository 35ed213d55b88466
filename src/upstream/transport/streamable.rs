//! Streamable HTTP toward an upstream (basic/transports § Streamable HTTP): every message is a
//! POST; the answer is JSON, or an SSE stream read as it arrives so that progress, logging and
//! the upstream's own requests reach the caller before the result.

use std::sync::{Arc, Mutex};

use crate::outbound::Method;
use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::{CallSink, Peer, Transport, deliver_json, excerpt, outbound_error};
use crate::outbound::{Outbound, OutboundError, Target};
use crate::upstream::spec::Spec;
use crate::upstream::{MAX_MESSAGE_BYTES, UpstreamError};
use gatehouse_mcp::transport::{SseParser, headers};

// Header names sent on every request, parsed once (a name given as `&str` is parsed per use).
const SESSION_ID: HeaderName = HeaderName::from_static(headers::SESSION_ID);
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static(headers::PROTOCOL_VERSION);
const MCP_METHOD: HeaderName = HeaderName::from_static(headers::METHOD);
const MCP_NAME: HeaderName = HeaderName::from_static(headers::NAME);

/// The Streamable HTTP transport.
pub struct StreamableHttp {
    url: String,
    /// Where messages are POSTed, prepared once (the configured headers, `Content-Type` and
    /// `Accept` made), and the path they go to.
    post: (Target, String),
    headers: Vec<(String, String)>,
    outbound: Outbound,
    peer: Arc<Peer>,
    /// The session and the protocol version, as header values made when they are learnt
    /// rather than on every message.
    state: Mutex<ConnState>,
    readers: Mutex<Vec<JoinHandle<()>>>,
    timeout: std::time::Duration,
}

impl StreamableHttp {
    /// A transport to `spec.url` (nothing is sent yet).
    pub(crate) fn new(spec: &Spec, outbound: &Outbound, peer: Arc<Peer>) -> Result<Self, UpstreamError> {
        let url = spec.url.clone().ok_or_else(|| UpstreamError::Config("url is required".into()))?;
        Ok(Self {
            post: post_target(outbound, &url, &spec.headers)?,
            url,
            headers: spec.headers.clone(),
            outbound: outbound.clone(),
            peer,
            state: Mutex::new(ConnState::default()),
            readers: Mutex::new(Vec::new()),
            timeout: spec.timeout,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request other than a message (the session's `DELETE`): the configured headers, then
    /// [`Self::message_headers`].
    fn request(
        &self,
        method: Method,
        msg: Option<&Value>,
    ) -> Result<crate::outbound::Request, UpstreamError> {
        let mut req = self.outbound.request(method, &self.url).map_err(outbound_error)?;
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        Ok(req.headers(self.message_headers(msg)?))
    }

    /// The headers of this connection's state every request carries: the session and the
    /// protocol version; and, for a message to a 2026-07-28 upstream, its method and name.
    fn message_headers(&self, msg: Option<&Value>) -> Result<HeaderMap, UpstreamError> {
        let invalid = |name: &HeaderName| UpstreamError::Protocol(format!("invalid value for header {name}"));
        let mut extra = HeaderMap::new();
        let ConnState { session, version, stateless } = self.state().clone();
        if let Some(session) = session {
            extra.append(SESSION_ID, session);
        }
        if let Some(version) = version {
            extra.append(PROTOCOL_VERSION, version);
        }
        // 2026-07-28 transports § Standard Headers: the method and name travel as headers too.
        if let (true, Some(msg)) = (stateless, msg) {
            let Some(method) = msg.get("method").and_then(Value::as_str) else { return Ok(extra) };
            extra.append(MCP_METHOD, HeaderValue::from_str(method).map_err(|_| invalid(&MCP_METHOD))?);
            let name = headers::name_param(method).and_then(|p| msg.get("params")?.get(p)?.as_str());
            if let Some(name) = name {
                let value = HeaderValue::try_from(headers::encode_header_value(name));
                extra.append(MCP_NAME, value.map_err(|_| invalid(&MCP_NAME))?);
            }
        }
        Ok(extra)
    }
}

#[async_trait]
impl Transport for StreamableHttp {
    async fn send(&self, msg: &Value, sink: Option<CallSink>) -> Result<(), UpstreamError> {
        let body = super::wire::to_wire(msg).map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        let (target, path) = &self.post;
        let extra = self.message_headers(Some(msg))?;
        let response =
            self.in_time(self.outbound.send_to(target, path.clone(), extra, body.into(), None)).await?;
        self.answer(msg, response, sink).await
    }

    /// An upstream that gave no `Mcp-Session-Id` (basic/transports § Session Management: it
    /// MAY) keeps nothing per connection.
    fn keeps_session(&self) -> bool {
        self.state().session.is_some()
    }

    fn set_protocol_version(&self, version: &str) {
        let mut state = self.state();
        // basic/transports § Protocol Version Header (2025-06-18 and later). The versions set
        // here are negotiated from Gatehouse's own list, so every one is a valid header value.
        state.version = HeaderValue::from_str(version).ok().filter(|_| version >= "2025-06-18");
        state.stateless = version == super::STATELESS_VERSION;
    }

    async fn close(&self) {
        for r in self.readers.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            r.abort();
        }
        // basic/transports § Session Management: clients SHOULD end sessions they no longer need.
        if self.state().session.is_some() {
            if let Ok(req) = self.request(Method::DELETE, None) {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(2), self.outbound.send(req)).await;
            }
        }
    }
}

/// What an upstream connection has learnt that every message carries: the session id the
/// upstream gave, the protocol version (as a header from 2025-06-18 on), and whether that
/// version is the stateless 2026-07-28, whose messages name their method and name in headers.
#[derive(Clone, Default)]
struct ConnState {
    session: Option<HeaderValue>,
    version: Option<HeaderValue>,
    stateless: bool,
}

/// The prepared POST target of an upstream: its URL as a browser takes it (credentials in it
/// become Basic authentication), its configured headers, then `Content-Type` and `Accept`.
fn post_target(
    outbound: &Outbound,
    url: &str,
    configured: &[(String, String)],
) -> Result<(Target, String), UpstreamError> {
    let mut request = outbound.request(Method::POST, url).map_err(outbound_error)?;
    for (name, value) in configured.iter().filter(super::not_accept) {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .header(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(http::header::ACCEPT, super::accept_with(ACCEPT, configured).as_str());
    request.into_target().map_err(|e| UpstreamError::Config(e.to_string()))
}

/// What a POST accepts (basic/transports § Sending Messages to the Server).
const ACCEPT: &str = "application/json, text/event-stream";

impl StreamableHttp {
    /// An exchange within the upstream's timeout (its answer's head; a stream is read after).
    async fn in_time(
        &self,
        exchange: impl Future<Output = Result<crate::outbound::Response, OutboundError>>,
    ) -> Result<crate::outbound::Response, UpstreamError> {
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(UpstreamError::Timeout(self.timeout.as_millis() as u64)),
            Ok(r) => r.map_err(outbound_error),
        }
    }

    /// What the upstream answered a message: nothing more (202), an error, a JSON message
    /// delivered, or an SSE stream read as it arrives.
    async fn answer(
        &self,
        msg: &Value,
        response: crate::outbound::Response,
        sink: Option<CallSink>,
    ) -> Result<(), UpstreamError> {
        let status = response.status().as_u16();
        if msg.get("method").and_then(Value::as_str) == Some("initialize") {
            // basic/transports § Session Management: the id is visible ASCII; anything else is
            // not kept (and the upstream then sees no session), as before.
            if let Some(id) = response.headers().get(SESSION_ID).and_then(|v| v.to_str().ok()) {
                // Copied, so that the value does not hold on to the buffer the answer was read into.
                self.state().session = HeaderValue::from_str(id).ok();
            }
        }
        match status {
            200 => {}
            202 | 204 => {
                // Read to its end (it is empty) so that the connection is kept, not closed.
                let _ = Outbound::read_limited(response, 4096).await;
                return Ok(());
            }
            401 => return Err(UpstreamError::NeedsAuth),
            404 if self.state().session.is_some() => {
                // The upstream forgot our session: this connection is over; the pool reconnects.
                self.peer.close_with("the upstream ended the session (HTTP 404)");
                return Err(UpstreamError::Closed("the upstream ended the session (HTTP 404)".into()));
            }
            _ => {
                let body = Outbound::read_limited(response, 4096).await.unwrap_or_default();
                return Err(UpstreamError::Http(status, excerpt(&body)));
            }
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("text/event-stream") {
            let peer = self.peer.clone();
            let request_key = msg.get("id").map(Value::to_string);
            let reader = tokio::spawn(read_stream(response, peer, sink, request_key));
            let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            readers.retain(|h| !h.is_finished());
            readers.push(reader);
            return Ok(());
        }
        if content_type.starts_with("application/json") {
            let bytes = Outbound::read_limited(response, MAX_MESSAGE_BYTES).await.map_err(outbound_error)?;
            if !bytes.is_empty() {
                deliver_json(&self.peer, &bytes, sink.as_ref())?;
            }
            // A JSON answer to a request is its response (basic/transports § Sending Messages):
            // when it held none for this id (another id, no JSON-RPC at all), the call fails
            // now instead of waiting for its timeout.
            if let (Some(id), Some(_)) = (msg.get("id"), msg.get("method")) {
                self.peer.fail_one(
                    &id.to_string(),
                    UpstreamError::Protocol(
                        "the upstream's answer to the request is not its JSON-RPC response".into(),
                    ),
                );
            }
            return Ok(());
        }
        if msg.get("id").is_none() {
            // A notification or response answered 200 with no body: accepted.
            return Ok(());
        }
        Err(UpstreamError::Protocol(format!(
            "unexpected Content-Type {content_type:?} in answer to a request"
        )))
    }
}

/// Reads one SSE response stream to its end, delivering every message.
async fn read_stream(
    mut response: crate::outbound::Response,
    peer: Arc<Peer>,
    sink: Option<CallSink>,
    request_key: Option<String>,
) {
    let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
    let failure = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => match parser.push(&chunk) {
                Ok(events) => {
                    for event in events {
                        if event.event != "message" || event.data.trim().is_empty() {
                            continue;
                        }
                        if let Err(e) = deliver_json(&peer, event.data.as_bytes(), sink.as_ref()) {
                            tracing::warn!(upstream = %peer.upstream_id, error = %e, "bad message on an SSE stream");
                        }
                    }
                }
                Err(e) => break Some(e.to_string()),
            },
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    // A stream that ends before answering its request fails that request now, not at timeout.
    if let Some(key) = request_key {
        let reason =
            failure.unwrap_or_else(|| "the upstream closed the response stream before answering".into());
        peer.fail_one(&key, UpstreamError::Closed(reason));
    }
}
