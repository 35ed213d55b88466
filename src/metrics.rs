//! Prometheus metrics: a registry per process, request counts and latencies by route and
//! status, rendered in the text exposition format at `/metrics`.

use std::hash::{Hash, Hasher};
use std::sync::{Mutex, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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

/// [`CallLabels`] borrowed: hashes and compares as the owned labels do, so a known label set
/// is found without allocating.
struct CallKey<'a>(&'a str, &'a str, &'a str);

impl Hash for CallKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `#[derive(Hash)]` hashes `CallLabels`: each field in order.
        self.0.hash(state);
        self.1.hash(state);
        self.2.hash(state);
    }
}

impl hashbrown::Equivalent<CallLabels> for CallKey<'_> {
    fn equivalent(&self, key: &CallLabels) -> bool {
        self.0 == key.server && self.1 == key.tool && self.2 == key.outcome
    }
}

/// [`HttpLabels`] borrowed, as [`CallKey`].
struct HttpKey<'a>(&'a str, &'a str, u16);

impl Hash for HttpKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
        self.2.hash(state);
    }
}

impl hashbrown::Equivalent<HttpLabels> for HttpKey<'_> {
    fn equivalent(&self, key: &HttpLabels) -> bool {
        self.0 == key.method && self.1 == key.route && self.2 == key.status
    }
}

/// The series of one call label set (handles sharing the registered families' values).
struct CallSeries {
    calls: Counter,
    latency: Histogram,
    bytes: Counter,
}

/// The series of one HTTP label set.
struct HttpSeries {
    requests: Counter,
    latency: Histogram,
}

impl CallSeries {
    fn record(&self, seconds: f64, bytes: u64) {
        self.calls.inc();
        self.latency.observe(seconds);
        self.bytes.inc_by(bytes);
    }
}

impl HttpSeries {
    fn record(&self, seconds: f64) {
        self.requests.inc();
        self.latency.observe(seconds);
    }
}

/// The process's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<HttpLabels, Counter>,
    latency: Family<HttpLabels, Histogram>,
    calls: Family<CallLabels, Counter>,
    call_latency: Family<CallLabels, Histogram>,
    call_bytes: Family<CallLabels, Counter>,
    /// The series of each label set seen, kept so that recording is one lookup of borrowed
    /// labels (the families hash owned label sets, one lookup per metric).
    call_series: RwLock<hashbrown::HashMap<CallLabels, CallSeries>>,
    http_series: RwLock<hashbrown::HashMap<HttpLabels, HttpSeries>>,
    /// Client connections: open now, closed at the cap, closed by the watchdog.
    pub connections: ConnectionMetrics,
    /// The node's own series, read when metrics are rendered.
    node: crate::node_metrics::NodeGauges,
}

/// The connection series, cheap to clone into each connection's task.
#[derive(Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    shed: Counter,
    timed_out: Counter,
}

impl ConnectionMetrics {
    pub fn opened(&self) {
        self.open.inc();
    }

    pub fn closed(&self) {
        self.open.dec();
    }

    pub fn shed(&self) {
        self.shed.inc();
    }

    pub fn timed_out(&self) {
        self.timed_out.inc();
    }
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
        let connections = ConnectionMetrics::default();
        registry.register("open_connections", "Client connections open", connections.open.clone());
        registry.register(
            "connections_shed",
            "Client connections closed on arrival because the cap was reached",
            connections.shed.clone(),
        );
        registry.register(
            "connections_timed_out",
            "Client connections closed for idling or sending headers too slowly",
            connections.timed_out.clone(),
        );
        let node = crate::node_metrics::NodeGauges::register(&mut registry);
        Self {
            node,
            connections,
            registry: Mutex::new(registry),
            requests,
            latency,
            calls,
            call_latency,
            call_bytes,
            call_series: RwLock::default(),
            http_series: RwLock::default(),
        }
    }

    /// Records one data-plane call.
    pub fn observe_call(&self, server: &str, tool: &str, outcome: &str, seconds: f64, bytes: u64) {
        let key = CallKey(server, tool, outcome);
        if let Some(series) = read(&self.call_series).get(&key) {
            series.record(seconds, bytes);
            return;
        }
        let labels =
            CallLabels { server: server.to_string(), tool: tool.to_string(), outcome: outcome.to_string() };
        let series = CallSeries {
            calls: self.calls.get_or_create(&labels).clone(),
            latency: self.call_latency.get_or_create(&labels).clone(),
            bytes: self.call_bytes.get_or_create(&labels).clone(),
        };
        series.record(seconds, bytes);
        write(&self.call_series).entry(labels).or_insert(series);
    }

    /// Records one answered request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let key = HttpKey(method, route, status);
        if let Some(series) = read(&self.http_series).get(&key) {
            series.record(seconds);
            return;
        }
        let labels = HttpLabels { method: method.to_string(), route: route.to_string(), status };
        let series = HttpSeries {
            requests: self.requests.get_or_create(&labels).clone(),
            latency: self.latency.get_or_create(&labels).clone(),
        };
        series.record(seconds);
        write(&self.http_series).entry(labels).or_insert(series);
    }

    /// The text exposition format, with the node's readings of now.
    pub fn render(&self, node: &crate::node_metrics::NodeReadings<'_>) -> String {
        self.node.set(node);
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing to a String");
        out
    }
}

/// The method label: the standard methods by name, any other token as `other`, so that no
/// client can grow the series by sending made-up methods (to any path, before any auth).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    const STANDARD: [&str; 9] =
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"];
    STANDARD.into_iter().find(|m| *m == method.as_str()).unwrap_or("other")
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_labels_find_the_series_owned_labels_made() {
        let m = Metrics::new();
        m.observe_call("srv_1", "echo", "ok", 0.001, 10);
        m.observe_call("srv_1", "echo", "ok", 0.002, 5);
        m.observe_http("POST", "/mcp/{org}/{server}", 200, 0.001);
        m.observe_http("POST", "/mcp/{org}/{server}", 200, 0.001);
        // Found by the borrowed key: the hashes agree, so the second call did not miss.
        assert!(read(&m.call_series).get(&CallKey("srv_1", "echo", "ok")).is_some());
        assert!(read(&m.http_series).get(&HttpKey("POST", "/mcp/{org}/{server}", 200)).is_some());
        assert_eq!(read(&m.call_series).len(), 1);
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
        let made_up = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
        let node = crate::node_metrics::NodeReadings {
            node: "node_1",
            upstream_shared: 2,
            upstream_sessions: 3,
            db_pool: crate::node_metrics::PoolReading { open: 5, idle: 4, max: 16 },
            usage_pending: 7,
            usage_flush_age: 1.5,
            draining: false,
        };
        let text = m.render(&node);
        for line in [
            r#"gatehouse_node_info{node="node_1",version=""#,
            r#"gatehouse_upstream_connections{kind="session"} 3"#,
            r#"gatehouse_db_pool_connections{state="in_use"} 1"#,
            "gatehouse_usage_pending 7",
            "gatehouse_usage_flush_age_seconds 1.5",
            "gatehouse_draining 0",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(
            text.contains(r#"gatehouse_mcp_calls_total{server="srv_1",tool="echo",outcome="ok"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gatehouse_mcp_call_bytes_total{server="srv_1",tool="echo",outcome="ok"} 15"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"gatehouse_http_requests_total{method="POST",route="/mcp/{org}/{server}",status="200"} 2"#
            ),
            "{text}"
        );
    }
}
