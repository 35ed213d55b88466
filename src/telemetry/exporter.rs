//! The OTLP/HTTP span exporter, sending with Gatehouse's own outbound client (the collector is
//! the operator's, so private addresses are allowed), its requests run on the process's
//! runtime from the batch processor's thread.

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{SpanExporter, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use crate::outbound::{NetworkPolicy, Outbound};

/// A collector's answer is read up to this size (it says only what was accepted).
const MAX_ANSWER: usize = 1024 * 1024;

struct Client {
    outbound: Outbound,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtlpClient")
    }
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let outbound = self.outbound.clone();
        let exchange = async move {
            let (parts, body) = request.into_parts();
            let sent = outbound
                .request(parts.method, &parts.uri.to_string())?
                .headers(parts.headers)
                .body(body)
                .timeout(std::time::Duration::from_secs(10));
            let response = outbound.send(sent).await?;
            let status = response.status();
            let answer = response.read_limited(MAX_ANSWER).await?;
            Ok::<_, crate::outbound::OutboundError>((status, answer))
        };
        let (status, answer) = self.runtime.spawn(exchange).await??;
        Ok(http::Response::builder().status(status).body(Bytes::from(answer))?)
    }
}

/// The tracer provider exporting to the configured OTLP endpoint in batches.
pub(super) fn provider(runtime: tokio::runtime::Handle) -> anyhow::Result<SdkTracerProvider> {
    let outbound = Outbound::new(NetworkPolicy { allow_private: true });
    let exporter =
        SpanExporter::builder().with_http().with_http_client(Client { outbound, runtime }).build()?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "gatehouse".into());
    let resource = Resource::builder().with_service_name(service).build();
    // Which requests are traced is decided before their spans are made (crate::spans).
    Ok(SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}
