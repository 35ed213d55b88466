//! Logs and traces. Logs go to standard error, as text or, with `GATEHOUSE_LOG_FORMAT=json`, as
//! one JSON object a line carrying the trace id of the request they belong to. Traces are off
//! until an OTLP endpoint is configured with the standard variables
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, and
//! `OTEL_EXPORTER_OTLP_PROTOCOL` `http/protobuf` or `http/json`); then every request is a span,
//! a child of the W3C `traceparent` its client sent (the header, or for an MCP request its
//! `_meta`, SEP-414), with spans for policies, upstream calls and outbound requests, and the
//! trace goes on to upstreams and HTTP backends in their requests' `traceparent`
//! (`docs/OPERATIONS.md` "Traces"). The spans themselves are [`crate::spans`].

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer as _};

mod exporter;

/// What stops with the process: the trace pipeline, flushed on [`Telemetry::shutdown`].
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the log (and, when configured, trace) pipeline for the process. `runtime` runs the
/// exporter's requests.
pub fn init(runtime: &tokio::runtime::Handle) -> Telemetry {
    let filter =
        || EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("GATEHOUSE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let configured = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|e| !e.trim().is_empty()));
    let provider = configured.then(|| exporter::provider(runtime.clone())).and_then(|p| match p {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("traces are off: {e}");
            None
        }
    });
    // Gatehouse's own spans whatever the log level: GATEHOUSE_LOG filters logs, not traces.
    let spans = || tracing_subscriber::filter::Targets::new().with_target("gatehouse", tracing::Level::INFO);
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("gatehouse")).with_filter(spans()));
    // The log is for people; standard output is left to what a command answers.
    let text =
        (!json).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter()));
    let json = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    tracing_subscriber::registry().with(otel).with(text).with(json).init();
    if provider.is_some() {
        // OpenTelemetry's configured sampler (OTEL_TRACES_SAMPLER), applied by spans.rs before
        // a request's first span; the tracer itself keeps all it is given.
        crate::spans::enable(opentelemetry_sdk::trace::Config::default().sampler);
    }
    Telemetry { provider }
}

impl Telemetry {
    /// Sends the spans still buffered.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown() {
                eprintln!("traces not flushed: {e}");
            }
        }
    }
}
