//! The spans a request makes and the W3C trace context they carry in and out: a request's
//! span is a child of its client's `traceparent` (the header, or an MCP request's `_meta`,
//! SEP-414); policies, upstream calls and outbound requests are its children; outbound requests
//! carry the context on. Spans are made only while traces are exported ([`enable`], by
//! [`crate::telemetry`]), so a node without a collector pays nothing for them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static TRACING: AtomicBool = AtomicBool::new(false);
static PROPAGATOR: OnceLock<TraceContextPropagator> = OnceLock::new();

/// Spans are made from now on.
pub fn enable() {
    TRACING.store(true, Ordering::Relaxed);
}

/// Whether spans are being made.
pub fn tracing() -> bool {
    TRACING.load(Ordering::Relaxed)
}

fn propagator() -> &'static TraceContextPropagator {
    PROPAGATOR.get_or_init(TraceContextPropagator::new)
}

struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetaCarrier<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(serde_json::Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(key), http::HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}

/// The span of one HTTP request, a child of the `traceparent` its headers carry; with the trace
/// id recorded, so that JSON log lines of the request name it. Disabled when traces are off.
pub fn request_span(method: &str, route: &str, headers: &http::HeaderMap) -> tracing::Span {
    if !tracing() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        trace_id = tracing::field::Empty,
    );
    let parent = propagator().extract(&HeaderCarrier(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    record_trace_id(&span);
    span
}

/// The span of one MCP request; its client's `_meta` trace context (SEP-414), when it carries
/// one, is its parent, else the request's span is.
pub fn mcp_span(method: &str, params: &serde_json::Map<String, serde_json::Value>) -> tracing::Span {
    if !tracing() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "mcp",
        otel.name = %method,
        mcp.method.name = %method,
        trace_id = tracing::field::Empty,
    );
    if let Some(meta) = params.get("_meta").and_then(serde_json::Value::as_object) {
        let parent = propagator().extract(&MetaCarrier(meta));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    record_trace_id(&span);
    span
}

/// Records the span's trace id, so that each JSON log line written inside it names its trace.
fn record_trace_id(span: &tracing::Span) {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }
}

/// Adds the current span's `traceparent` (and `tracestate`) to an outgoing request's headers.
pub fn inject(headers: &mut http::HeaderMap) {
    if !tracing() {
        return;
    }
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        propagator().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// Whether traces are on and the current span belongs to one.
fn inside_a_trace() -> bool {
    tracing() && tracing::Span::current().context().span().span_context().is_valid()
}

/// A span inside the current one (`policy`, `upstream …`), while a request is traced.
pub fn child(name: impl std::fmt::Display) -> tracing::Span {
    if !inside_a_trace() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!("internal", otel.name = %name, trace_id = tracing::field::Empty);
    record_trace_id(&span);
    span
}

/// The span of one outbound request, inside the request being traced (never a root of its
/// own: the exporter's requests make none).
pub fn outbound(method: &http::Method, host: &str) -> tracing::Span {
    if !inside_a_trace() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "outbound",
        otel.name = %format_args!("{method} {host}"),
        otel.kind = "client",
        http.request.method = %method,
        server.address = %host,
        trace_id = tracing::field::Empty,
    );
    record_trace_id(&span);
    span
}
