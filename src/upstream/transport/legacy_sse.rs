//! The HTTP+SSE transport of 2024-11-05 toward an upstream: a GET opens the event stream, its
//! first `endpoint` event names the URL to POST messages to, and every answer arrives on the
//! stream as a `message` event.

use std::sync::{Arc, Mutex};

use crate::outbound::Method;
use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{CallSink, Peer, Transport, deliver_json, excerpt, outbound_error};
use crate::outbound::Outbound;
use crate::upstream::spec::Spec;
use crate::upstream::{MAX_MESSAGE_BYTES, UpstreamError};
use gatehouse_mcp::transport::SseParser;

/// The legacy SSE transport.
pub struct LegacySse {
    endpoint: String,
    headers: Vec<(String, String)>,
    outbound: Outbound,
    reader: Mutex<Option<JoinHandle<()>>>,
    timeout: std::time::Duration,
}

impl LegacySse {
    /// Opens the stream and waits for the `endpoint` event.
    pub(crate) async fn connect(
        spec: &Spec,
        outbound: &Outbound,
        peer: Arc<Peer>,
    ) -> Result<Self, UpstreamError> {
        let url = spec.url.clone().ok_or_else(|| UpstreamError::Config("url is required".into()))?;
        let base = url::Url::parse(&url).map_err(|e| UpstreamError::Config(format!("invalid URL: {e}")))?;
        let mut req = outbound.request(Method::GET, &url).map_err(outbound_error)?;
        for (k, v) in spec.headers.iter().filter(super::not_accept) {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.header("accept", super::accept_with("text/event-stream", &spec.headers).as_str());
        let response = match tokio::time::timeout(spec.timeout, outbound.send(req)).await {
            Err(_) => return Err(UpstreamError::Timeout(spec.timeout.as_millis() as u64)),
            Ok(r) => r.map_err(outbound_error)?,
        };
        match response.status().as_u16() {
            200 => {}
            401 => return Err(UpstreamError::NeedsAuth),
            status => {
                let body = Outbound::read_limited(response, 4096).await.unwrap_or_default();
                return Err(UpstreamError::Http(status, excerpt(&body)));
            }
        }
        let (endpoint_tx, endpoint_rx) = oneshot::channel();
        let reader = tokio::spawn(read_events(response, peer, endpoint_tx));
        let endpoint = match tokio::time::timeout(spec.timeout, endpoint_rx).await {
            Ok(Ok(e)) => e,
            _ => {
                reader.abort();
                return Err(UpstreamError::Protocol("the SSE stream sent no endpoint event".into()));
            }
        };
        let endpoint = base
            .join(endpoint.trim())
            .map_err(|e| UpstreamError::Protocol(format!("the endpoint event is not a URL: {e}")))?;
        // Messages carry the upstream's credentials: they may only go where the stream came from.
        if endpoint.origin() != base.origin() {
            reader.abort();
            return Err(UpstreamError::Protocol("the endpoint event points to another origin".into()));
        }
        Ok(Self {
            endpoint: endpoint.to_string(),
            headers: spec.headers.clone(),
            outbound: outbound.clone(),
            reader: Mutex::new(Some(reader)),
            timeout: spec.timeout,
        })
    }
}

#[async_trait]
impl Transport for LegacySse {
    async fn send(&self, msg: &Value, _sink: Option<CallSink>) -> Result<(), UpstreamError> {
        let body = super::wire::to_wire(msg).map_err(|e| UpstreamError::Protocol(e.to_string()))?;
        let mut req = self.outbound.request(Method::POST, &self.endpoint).map_err(outbound_error)?;
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.header("content-type", "application/json").body(body);
        let response = match tokio::time::timeout(self.timeout, self.outbound.send(req)).await {
            Err(_) => return Err(UpstreamError::Timeout(self.timeout.as_millis() as u64)),
            Ok(r) => r.map_err(outbound_error)?,
        };
        match response.status().as_u16() {
            200..=299 => {
                // The answer is on the stream; this body (`Accepted`) is read to its end so that
                // the connection is kept for the next message rather than closed half-read.
                let _ = Outbound::read_limited(response, 4096).await;
                Ok(())
            }
            401 => Err(UpstreamError::NeedsAuth),
            status => {
                let body = Outbound::read_limited(response, 4096).await.unwrap_or_default();
                Err(UpstreamError::Http(status, excerpt(&body)))
            }
        }
    }

    async fn close(&self) {
        if let Some(r) = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take() {
            r.abort();
        }
    }
}

async fn read_events(
    mut response: crate::outbound::Response,
    peer: Arc<Peer>,
    endpoint: oneshot::Sender<String>,
) {
    let mut endpoint = Some(endpoint);
    let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
    let reason = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => match parser.push(&chunk) {
                Ok(events) => {
                    for event in events {
                        match event.event.as_str() {
                            "endpoint" => {
                                if let Some(tx) = endpoint.take() {
                                    let _ = tx.send(event.data);
                                }
                            }
                            "message" if !event.data.trim().is_empty() => {
                                if let Err(e) = deliver_json(&peer, event.data.as_bytes(), None) {
                                    tracing::warn!(upstream = %peer.upstream_id, error = %e, "bad message on the SSE stream");
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Err(e) => break e.to_string(),
            },
            Ok(None) => break "the upstream closed the SSE stream".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    peer.close_with(&reason);
}
