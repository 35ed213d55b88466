//! Story: an operator points Gatehouse at an OpenTelemetry collector (a real process on
//! loopback taking OTLP/HTTP). A call carries its client's W3C trace context — as the
//! `traceparent` header, or in `_meta` for 2026-07-28 (SEP-414) — through Gatehouse's spans
//! (request, MCP method, upstream call, outbound request) to the upstream, which receives it;
//! the JSON log lines of the request name its trace.

mod common;

use common::collector::Collector;
use common::gateway::{attach, create_server, create_upstream};
use common::process::Process;
use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const META_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// Calls the upstream's `headers` tool (2026-07-28) with `traceparent` in the header or in
/// `_meta`: the headers the upstream received.
async fn headers_seen(url: &str, traceparent: &str, in_meta: bool) -> Value {
    call_headers_tool(url, "headers", traceparent, in_meta).await
}

/// Calls `tool`, an upstream's `headers` tool as served.
async fn call_headers_tool(url: &str, tool: &str, traceparent: &str, in_meta: bool) -> Value {
    let mut meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "traced", "version": "1"}});
    let mut req = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool);
    if in_meta {
        meta["traceparent"] = json!(traceparent);
    } else if !traceparent.is_empty() {
        req = req.header("traceparent", traceparent);
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": {}, "_meta": meta}});
    let text = req.json(&body).send().await.unwrap().text().await.unwrap();
    // A JSON answer, or an SSE stream whose last event is the answer.
    let answer: Value = match text.trim_start().starts_with('{') {
        true => serde_json::from_str(&text).unwrap(),
        false => text
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data: "))
            .find_map(|d| serde_json::from_str(d).ok())
            .unwrap_or_else(|| panic!("{text}")),
    };
    let text = answer["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("{answer}"));
    serde_json::from_str(text).unwrap()
}

/// A node exporting to a fresh collector, serving the Python upstream's tools.
struct Traced {
    // Declared first, dropped first: the node stops before what it talks to.
    node: Process,
    collector: Collector,
    url: String,
    server_id: String,
    _upstream: PyUpstream,
    _dir: tempfile::TempDir,
}

/// Starts a [`Traced`] node with `extra` settings.
async fn traced_node(extra: &[(&str, &str)]) -> Traced {
    let collector = Collector::start();
    let upstream = PyUpstream::start();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = collector.endpoint();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("GATEHOUSE_LOG_FORMAT", "json"),
        ("GATEHOUSE_LOG", "info,gatehouse=debug"),
    ];
    env.extend_from_slice(extra);
    let node = Process::start(dir.path(), &env);
    let handle = TestServer::dev(Backend::Sqlite).await;
    let at = handle.at(&node.base);
    let (server_id, slug) = create_server(&at, "Traced").await;
    let up = create_upstream(
        &at,
        json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
    )
    .await;
    attach(&at, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let url = format!("{}/mcp/default/{slug}", node.base);
    Traced { collector, node, url, server_id, _upstream: upstream, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_traced_end_to_end() {
    let mut traced = traced_node(&[]).await;
    let (collector, url) = (&traced.collector, &traced.url);

    // The client's trace goes on to the upstream, under a span of Gatehouse's.
    let seen = headers_seen(url, &format!("00-{TRACE}-{CLIENT_SPAN}-01"), false).await;
    let onward = seen["traceparent"].as_str().unwrap_or_else(|| panic!("no traceparent upstream: {seen}"));
    let parts: Vec<&str> = onward.split('-').collect();
    assert_eq!(parts[1], TRACE, "{onward}");
    assert_ne!(parts[2], CLIENT_SPAN, "{onward}");

    // Gatehouse's spans of that trace: the request under the client's span, the MCP method,
    // the upstream call and the outbound request whose id the upstream saw as its parent.
    let spans = collector.trace(TRACE, 4).await;
    let named = |prefix: &str| {
        spans
            .iter()
            .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
            .unwrap_or_else(|| panic!("no span {prefix} in {spans:#?}"))
            .clone()
    };
    let request = named("POST /mcp/{org}/{server}");
    assert_eq!(request["parentSpanId"], CLIENT_SPAN);
    let method = named("tools/call");
    assert_eq!(method["parentSpanId"], request["spanId"]);
    let relayed = named("upstream Py tools/call");
    assert_eq!(relayed["parentSpanId"], method["spanId"]);
    let outbound = named("POST 127.0.0.1");
    assert_eq!(outbound["spanId"], parts[2], "the upstream's parent is the outbound request");

    // 2026-07-28 clients may carry the context in `_meta` instead.
    let seen = headers_seen(url, &format!("00-{META_TRACE}-{CLIENT_SPAN}-01"), true).await;
    assert!(seen["traceparent"].as_str().is_some_and(|t| t.contains(META_TRACE)), "{seen}");
    assert!(collector.trace(META_TRACE, 1).await.iter().any(|s| s["name"] == "tools/call"));

    // JSON log lines written during a traced request name its trace.
    let log = traced.node.stop_and_read_log();
    let in_trace = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["span"]["trace_id"].is_string())
        .collect::<Vec<_>>();
    assert!(in_trace.iter().any(|l| l["span"]["trace_id"] == TRACE), "{log}");
}

/// The sampler (`OTEL_TRACES_SAMPLER`) decides before any span is made: here new traces are
/// never kept and a client's decides (parent-based), so a request without trace context, or
/// whose client did not sample it, makes no span at all and passes no context on; one whose
/// client sampled it is traced through, from the header or from `_meta`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sampler_decides_before_spans_are_made() {
    let sampler = [("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0")];
    let traced = traced_node(&sampler).await;
    let (collector, url) = (&traced.collector, &traced.url);
    const NOT_SAMPLED: &str = "5bf92f3577b34da6a3ce929d0e0e4736";
    const SAMPLED: &str = "6bf92f3577b34da6a3ce929d0e0e4736";

    let seen = headers_seen(url, &format!("00-{NOT_SAMPLED}-{CLIENT_SPAN}-00"), false).await;
    assert!(seen.get("traceparent").is_none(), "an unsampled request passes no context on: {seen}");
    let seen = headers_seen(url, "", false).await;
    assert!(seen.get("traceparent").is_none(), "{seen}");
    // Nor in `_meta`: the client's own is not passed on as sent.
    attach_stdio_upstream(&traced).await;
    let meta =
        call_headers_tool(url, "local__headers", &format!("00-{NOT_SAMPLED}-{CLIENT_SPAN}-00"), true).await;
    assert!(meta.get("traceparent").is_none(), "{meta}");

    let seen = headers_seen(url, &format!("00-{SAMPLED}-{CLIENT_SPAN}-01"), false).await;
    assert!(seen["traceparent"].as_str().is_some_and(|t| t.contains(SAMPLED)), "{seen}");
    let seen = headers_seen(url, &format!("00-{META_TRACE}-{CLIENT_SPAN}-01"), true).await;
    assert!(seen["traceparent"].as_str().is_some_and(|t| t.contains(META_TRACE)), "{seen}");
    assert!(collector.trace(SAMPLED, 4).await.len() >= 4);
    assert!(collector.trace(META_TRACE, 3).await.iter().any(|s| s["name"] == "tools/call"));

    // Spans leave in order: by now any of the earlier requests' would have arrived. Only the two
    // sampled traces are there (the setup's management calls, new traces, are not either).
    let all: Vec<Value> =
        reqwest::get(format!("{}/spans", collector.endpoint())).await.unwrap().json().await.unwrap();
    let mut traces: Vec<&str> = all.iter().filter_map(|s| s["traceId"].as_str()).collect();
    traces.sort_unstable();
    traces.dedup();
    let mut expected = [SAMPLED, META_TRACE];
    expected.sort_unstable();
    assert_eq!(traces, expected, "{all:#?}");
}

/// Serves the Python upstream over stdio too, its tools prefixed `local`.
async fn attach_stdio_upstream(traced: &Traced) {
    let handle = TestServer::dev(Backend::Sqlite).await;
    let at = handle.at(&traced.node.base);
    let script = format!("{}/tests/support/mcp_upstream.py", env!("CARGO_MANIFEST_DIR"));
    let up = create_upstream(
        &at,
        json!({"name": "Local", "transport": "stdio", "command": "python3", "args": [script, "stdio"],
               "approvalPolicy": "auto_approve"}),
    )
    .await;
    attach(&at, &traced.server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": "local"})).await;
}

/// A stdio upstream has no headers: the trace goes on in the request's `_meta` (SEP-414),
/// under the span of the call relayed to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_upstreams_get_the_trace_in_meta() {
    const STDIO_TRACE: &str = "7bf92f3577b34da6a3ce929d0e0e4736";
    let traced = traced_node(&[]).await;
    attach_stdio_upstream(&traced).await;

    let meta = call_headers_tool(
        &traced.url,
        "local__headers",
        &format!("00-{STDIO_TRACE}-{CLIENT_SPAN}-01"),
        false,
    )
    .await;
    let onward = meta["traceparent"].as_str().unwrap_or_else(|| panic!("no traceparent in _meta: {meta}"));
    let parts: Vec<&str> = onward.split('-').collect();
    assert_eq!(parts[1], STDIO_TRACE, "{onward}");
    let spans = traced.collector.trace(STDIO_TRACE, 3).await;
    let relayed = spans
        .iter()
        .find(|s| s["name"] == "upstream Local tools/call")
        .unwrap_or_else(|| panic!("no upstream span in {spans:#?}"));
    assert_eq!(relayed["spanId"], parts[2], "the stdio upstream's parent is the relayed call");

    // A client's context in `_meta` is not passed on as sent: the upstream's parent is
    // Gatehouse's span, in the client's trace.
    let meta =
        call_headers_tool(&traced.url, "local__headers", &format!("00-{META_TRACE}-{CLIENT_SPAN}-01"), true)
            .await;
    let onward = meta["traceparent"].as_str().unwrap_or_else(|| panic!("no traceparent in _meta: {meta}"));
    assert!(onward.contains(META_TRACE) && !onward.contains(CLIENT_SPAN), "{onward}");
}
