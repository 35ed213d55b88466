//! PostHog: every counted call of a server that enabled PostHog becomes an event sent to the
//! project's capture API (`POST {host}/batch/`), buffered on the node and sent in batches by
//! the background job, retried on failure; arguments and results only when the server's data
//! logging is `full`, with its credentials redacted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use crate::outbound::Outbound;

/// The event's name in PostHog.
pub const EVENT: &str = "mcp tool call";
/// Events buffered at most on a node; beyond, new ones are dropped (and counted).
pub const MAX_BUFFERED: usize = 10_000;
/// Events per request at most.
pub const BATCH: usize = 500;
/// How often a node sends what it buffered.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// Attempts per batch (the first and two retries).
const ATTEMPTS: u32 = 3;

/// Where a server's events go.
#[derive(Debug, PartialEq, Eq)]
pub struct Destination {
    /// `https://us.i.posthog.com`, without a trailing slash.
    pub host: String,
    /// The project API key (PostHog's public ingestion key, still kept sealed at rest).
    pub api_key: String,
}

/// Events waiting to be sent, by destination.
#[derive(Default)]
pub struct Exporter {
    pending: Mutex<Vec<(Arc<Destination>, Value)>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// What a flush did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    pub sent: usize,
    pub failed: usize,
}

impl Exporter {
    /// Buffers an event for `to`.
    pub fn push(&self, to: &Arc<Destination>, event: Value) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_BUFFERED {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        pending.push((to.clone(), event));
    }

    /// Events dropped since start because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends what is buffered, in batches per destination.
    pub async fn flush(&self, outbound: &Outbound) -> Flushed {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut groups: Vec<(Arc<Destination>, Vec<Value>)> = Vec::new();
        for (to, event) in taken {
            match groups.iter_mut().find(|(d, _)| d == &to) {
                Some((_, events)) => events.push(event),
                None => groups.push((to, vec![event])),
            }
        }
        let mut flushed = Flushed::default();
        for (to, events) in groups {
            for batch in events.chunks(BATCH) {
                match send(outbound, &to, batch).await {
                    Ok(()) => flushed.sent += batch.len(),
                    Err(why) => {
                        tracing::warn!(host = %to.host, events = batch.len(), error = %why, "PostHog events dropped");
                        flushed.failed += batch.len();
                    }
                }
            }
        }
        flushed
    }
}

/// Posts one batch, retrying network errors, 429 and 5xx with a growing pause.
async fn send(outbound: &Outbound, to: &Destination, batch: &[Value]) -> Result<(), String> {
    let body = json!({"api_key": to.api_key, "batch": batch});
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 * 4u64.pow(attempt - 1))).await;
        }
        let request = outbound
            .request(Method::POST, &format!("{}/batch/", to.host))
            .map_err(|e| e.to_string())?
            .json(&body)
            .timeout(Duration::from_secs(10));
        match outbound.send(request).await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
                last = format!("PostHog answered {}", r.status());
            }
            Ok(r) => return Err(format!("PostHog answered {}", r.status())),
            Err(crate::outbound::OutboundError::Forbidden(why)) => return Err(why),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// One call as a PostHog event.
pub struct CallFacts<'a> {
    pub distinct_id: &'a str,
    pub org_id: &'a str,
    pub server_id: &'a str,
    pub method: &'a str,
    pub tool: &'a str,
    pub outcome: &'a str,
    pub latency_ms: i64,
    pub bytes: (i64, i64),
    /// Arguments and result as the call log would keep them (`full` data logging only).
    pub payload: Option<(Option<String>, Option<String>)>,
    pub timestamp: &'a str,
}

/// The event of a call.
pub fn event(f: CallFacts<'_>) -> Value {
    let mut properties = json!({
        "$lib": "gatehouse",
        "$lib_version": env!("CARGO_PKG_VERSION"),
        "org_id": f.org_id,
        "server_id": f.server_id,
        "method": f.method,
        "tool": f.tool,
        "outcome": f.outcome,
        "latency_ms": f.latency_ms,
        "bytes_in": f.bytes.0,
        "bytes_out": f.bytes.1,
    });
    if let Some((arguments, result)) = f.payload {
        properties["arguments"] = arguments.map_or(Value::Null, Value::String);
        properties["result"] = result.map_or(Value::Null, Value::String);
    }
    json!({"event": EVENT, "distinct_id": f.distinct_id, "timestamp": f.timestamp, "properties": properties})
}
