//! Prometheus metrics: a registry per process, request counts and latencies by route and
//! status, rendered in the text exposition format at `/metrics`.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::AppState;

/// Labels of the HTTP request metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

/// Labels of the MCP call metrics (the same dimensions as the usage rollups, less the key).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    server: String,
    tool: String,
    outcome: String,
}

/// The process's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<HttpLabels, Counter>,
    latency: Family<HttpLabels, Histogram>,
    calls: Family<CallLabels, Counter>,
    call_latency: Family<CallLabels, Histogram>,
    call_bytes: Family<CallLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gatehouse");
        let requests = Family::<HttpLabels, Counter>::default();
        let latency =
            Family::<HttpLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer HTTP requests", latency.clone());
        let calls = Family::<CallLabels, Counter>::default();
        let call_latency =
            Family::<CallLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let call_bytes = Family::<CallLabels, Counter>::default();
        registry.register("mcp_calls", "MCP requests served on the data plane", calls.clone());
        registry.register("mcp_call_duration_seconds", "Time to serve MCP requests", call_latency.clone());
        registry.register("mcp_call_bytes", "Bytes of MCP requests and results", call_bytes.clone());
        Self { registry: Mutex::new(registry), requests, latency, calls, call_latency, call_bytes }
    }

    /// Records one data-plane call.
    pub fn observe_call(&self, server: &str, tool: &str, outcome: &str, seconds: f64, bytes: u64) {
        let labels =
            CallLabels { server: server.to_string(), tool: tool.to_string(), outcome: outcome.to_string() };
        self.calls.get_or_create(&labels).inc();
        self.call_latency.get_or_create(&labels).observe(seconds);
        self.call_bytes.get_or_create(&labels).inc_by(bytes);
    }

    /// Records one answered request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = HttpLabels { method: method.to_string(), route: route.to_string(), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing to a String");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware that times every request and labels it with its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state.metrics.observe_http(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}
