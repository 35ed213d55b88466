//! The spans a request makes and the W3C trace context they carry in and out: a request's
//! span is a child of its client's `traceparent` (the header, or an MCP request's `_meta`,
//! SEP-414); policies, upstream calls and outbound requests are its children; outbound requests
//! carry the context on. Spans are made only while traces are exported ([`enable`], by
//! [`crate::telemetry`]), so a node without a collector pays nothing for them; and only for a
//! request the sampler keeps, decided before its first span is made, so that a request not
//! sampled costs what one on an untraced node does.

use std::sync::OnceLock;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The sampler, once traces are on.
static SAMPLER: OnceLock<Box<dyn ShouldSample>> = OnceLock::new();
static PROPAGATOR: OnceLock<TraceContextPropagator> = OnceLock::new();

/// Spans are made from now on, for the requests `sampler` keeps (the one OpenTelemetry's
/// `OTEL_TRACES_SAMPLER` names). The tracer keeps every span it is given: the choice is made here.
pub fn enable(sampler: Box<dyn ShouldSample>) {
    let _ = SAMPLER.set(sampler);
}

/// Whether spans are being made.
pub fn tracing() -> bool {
    SAMPLER.get().is_some()
}

/// Whether the sampler keeps a trace entered at `name` under `parent` (the client's context,
/// or none). A new trace is judged on a random trace id, as the sampler would judge the one the
/// tracer then draws; a parent's on its own.
fn sampled(parent: Option<&opentelemetry::Context>, name: &str) -> bool {
    let Some(sampler) = SAMPLER.get() else { return false };
    let trace_id = match parent {
        Some(parent) => parent.span().span_context().trace_id(),
        None => TraceId::from(rand::random::<u128>()),
    };
    let result = sampler.should_sample(parent, trace_id, name, &SpanKind::Server, &[], &[]);
    result.decision == SamplingDecision::RecordAndSample
}

/// The client's trace context in `carrier`, if it holds a valid one.
fn remote_parent(carrier: &dyn Extractor) -> Option<opentelemetry::Context> {
    let parent = propagator().extract(carrier);
    parent.span().span_context().is_valid().then_some(parent)
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
/// id recorded, so that JSON log lines of the request name it. Disabled when traces are off or
/// the sampler drops the request.
pub fn request_span(method: &str, route: &str, headers: &http::HeaderMap) -> tracing::Span {
    if !tracing() {
        return tracing::Span::none();
    }
    let parent = remote_parent(&HeaderCarrier(headers));
    if !sampled(parent.as_ref(), route) {
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
    if let Some(parent) = parent {
        let _ = span.set_parent(parent);
    }
    record_trace_id(&span);
    span
}

/// The span of one MCP request; its client's `_meta` trace context (SEP-414), when it carries
/// one, is its parent and decides whether it is sampled; else it is the request span's child,
/// if that one was made.
pub fn mcp_span(method: &str, params: &serde_json::Map<String, serde_json::Value>) -> tracing::Span {
    if !tracing() {
        return tracing::Span::none();
    }
    let meta = params.get("_meta").and_then(serde_json::Value::as_object);
    let parent = meta.and_then(|meta| remote_parent(&MetaCarrier(meta)));
    let kept = match &parent {
        Some(parent) => sampled(Some(parent), method),
        None => inside_a_trace(),
    };
    if !kept {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "mcp",
        otel.name = %method,
        mcp.method.name = %method,
        trace_id = tracing::field::Empty,
    );
    if let Some(parent) = parent {
        let _ = span.set_parent(parent);
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

struct MetaInjector<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Injector for MetaInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), serde_json::Value::String(value));
    }
}

/// The trace context keys of `_meta` (SEP-414), as the W3C propagator names them.
const META_TRACE_KEYS: [&str; 2] = ["traceparent", "tracestate"];

/// Sets the trace context in the `_meta` of a request's `params` to an upstream (SEP-414; the
/// only way it reaches a stdio upstream): the current span's while a request is traced. A
/// client's own trace context is never passed on as sent.
pub fn inject_meta(params: &mut serde_json::Map<String, serde_json::Value>) {
    if let Some(meta) = params.get_mut("_meta").and_then(serde_json::Value::as_object_mut) {
        for key in META_TRACE_KEYS {
            meta.remove(key);
        }
    }
    if !inside_a_trace() {
        return;
    }
    let context = tracing::Span::current().context();
    let meta = params.entry("_meta").or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(meta) = meta.as_object_mut() {
        propagator().inject_context(&context, &mut MetaInjector(meta));
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
