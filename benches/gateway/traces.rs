//! Section 11: the HTTP tool of section 1 through a gateway exporting traces (OTLP/HTTP,
//! protobuf, to a collector stand-in in this process) beside the same call through the gateway
//! without an endpoint, where no span is made, and through one sampling a tenth of the
//! requests (`OTEL_TRACES_SAMPLER=traceidratio`): what tracing costs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::client::{add_weather_tool, create_server};
use crate::integrations::weather_call;
use crate::load::{Stats, concurrency_levels, header, load_processes, median, rounds, row};
use crate::peers::{Gateway, serve, start_gateway_with};

/// A collector that accepts every export (an empty `ExportTraceServiceResponse`) and counts
/// the bytes it was sent.
fn collector(received: Arc<AtomicUsize>) -> axum::Router {
    axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            received.fetch_add(body.len(), Ordering::Relaxed);
            async { ([("content-type", "application/x-protobuf")], Vec::<u8>::new()) }
        }),
    )
}

pub(crate) async fn traced_calls(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    backend: SocketAddr,
    vendors: SocketAddr,
) {
    let received = Arc::new(AtomicUsize::new(0));
    let endpoint = format!("http://{}", serve(collector(received.clone())).await);
    let otlp = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ];
    let traced: Gateway = start_gateway_with(vendors, &otlp);
    let tenth =
        [otlp[0], otlp[1], ("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")];
    let sampled: Gateway = start_gateway_with(vendors, &tenth);
    for gateway in [&traced, &sampled] {
        for _ in 0..600 {
            if client.get(format!("{}/ready", gateway.base)).send().await.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let (plain_id, plain_key) = create_server(client, base, "Untraced", "untraced").await;
    add_weather_tool(client, base, &plain_id, backend).await;
    let mut paths = vec![(
        "no trace endpoint (baseline)",
        weather_call(client, &format!("{base}/mcp/default/untraced"), ("x-api-key", &plain_key)),
        pid,
    )];
    for (name, gateway) in [("every request traced", &traced), ("1 request in 10 traced", &sampled)] {
        let (server_id, key) = create_server(client, &gateway.base, "Traced", "traced").await;
        add_weather_tool(client, &gateway.base, &server_id, backend).await;
        let call = weather_call(client, &format!("{}/mcp/default/traced", gateway.base), ("x-api-key", &key));
        paths.push((name, call, gateway.pid()));
    }
    for (name, prepared, _) in &paths {
        let answer = prepared.answer().await;
        assert!(answer.contains("Lisbon"), "{name}: {answer}");
    }
    header("HTTP tool: tools/call, without and with traces exported (CPU: that path's gateway)");
    for concurrency in concurrency_levels() {
        let mut runs: Vec<Vec<Stats>> = paths.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds() {
            for (i, (_, prepared, pid)) in paths.iter().enumerate() {
                runs[i].push(load_processes(concurrency, prepared, &[*pid]).await);
            }
        }
        for ((name, _, _), path_runs) in paths.iter().zip(runs) {
            row(name, concurrency, &median(path_runs));
        }
    }
    // Batches leave every few seconds: waited for, so the table stands for spans exported.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    println!();
    println!("{} KiB of spans reached the collector.", received.load(Ordering::Relaxed) / 1024);
}
