//! Gateway benchmark, in one run, everything against the same release binary:
//!
//! 1. tools/call of an HTTP tool through Gatehouse to a fast local HTTP backend, against the
//!    same calls straight to the backend, at concurrency 1, 16 and 64;
//! 2. tools/call of an upstream MCP tool through Gatehouse to a fast Streamable HTTP MCP
//!    upstream (written here, in Rust), against the same calls straight to the upstream, at
//!    concurrency 1, 16 and 64: stateless 2026-07-28 clients, then stateful 2025-06-18
//!    sessions (one session per worker);
//! 3. tools/list and tools/call of a server aggregating 20 such upstreams;
//! 4. tools/list of a server with 1,000 HTTP tools, and console pages (`console.rs`);
//! 5. section 2 again against third-party upstreams, so that no figure rests on an upstream
//!    written here: the reference server-everything (Node, TypeScript SDK, which Gatehouse
//!    speaks 2025-11-25 to) over Streamable HTTP and over the legacy HTTP+SSE transport, and an
//!    echo server on the Python SDK (2026-07-28);
//! 6. an HTTP tool called with an OAuth access token beside an API key (`oauth.rs`), at the
//!    global `/mcp`, with PostHog events and under entitlement policies (`integrations.rs`),
//!    each beside its baseline; and an upstream reached with each person's own account beside
//!    the same upstream with one shared credential (`per_person.rs`);
//! 7. 1, 2 and 3 nodes on PostgreSQL behind HAProxy against one node reached directly, how
//!    long a change takes to reach every node, and what a node killed under load costs
//!    (`fleet.rs`); and the HTTP tool with every request traced over OTLP beside the same
//!    call untraced (`traces.rs`);
//!
//! in section 2 and 5 the direct calls are sent as Gatehouse sends them to the upstream, in the
//! same revision, so the comparison is of the same work upstream;
//!
//! and the gateway's idle RSS and peak RSS per section.
//!
//! Sections 1 and 2 also send the direct calls through a **floor proxy**: this binary again, as
//! its own process, an axum server forwarding each request through hyper-util's pooled client
//! (Gatehouse's stack) with no logic at all. No gateway on this stack can beat it, so its ratio
//! to direct is the ceiling for the gateway's on the same machine, measured in the same rounds.
//! `GATEHOUSE_BENCH_FLOOR=lean` makes the floor the leanest proxy hyper allows instead
//! ([`lean_floor_proxy`]: hyper's own HTTP/1 server and client connections, one outbound
//! connection per inbound one, driven by the same task, bodies streamed through).
//!
//! Run: `cargo bench --bench gateway` (builds the release binary first). Results go to stdout
//! as Markdown tables for `docs/PERFORMANCE.md`. Load generator, gateway, backend and upstream
//! share the machine's cores, as the targets assume.
//!
//! The measured loops send [`Prepared`] requests (URL parsed, headers built and body
//! serialised once, as wrk or oha do), so the load generator's own work per call is the same
//! on every path and does not take the shared cores from the process it measures.
//!
//! Each comparison runs direct, through-gateway and through-floor alternately,
//! `GATEHOUSE_BENCH_ROUNDS` times (default 3), and reports the median round of each and the
//! ratio of every round. `GATEHOUSE_BENCH_SECS` changes the measuring time per run (default
//! 3 s, after 1 s of warm-up);
//! `GATEHOUSE_BENCH_ONLY=http,upstream,stateful,aggregate,list,console,openapi,client_credentials,oauth,global,integrations,per_person,fleet,traces,third_party`
//! runs some sections
//! (and `everything`, `everything_sse` or `python_sdk` one third-party upstream);
//! `GATEHOUSE_BENCH_CONCURRENCY=64` some concurrency levels;
//! `GATEHOUSE_BENCH_PEERS=process` runs the HTTP backend and the MCP upstream in a process of
//! their own instead of in the load generator's (so the direct path's two ends no longer
//! share one runtime, as a client and a real backend never do); `GATEHOUSE_BENCH_SPLIT=1`
//! prints each run's load-generator and peers' CPU per call apart;
//! `GATEHOUSE_BENCH_GATEWAY=path/to/gatehouse` measures another build of the gateway (an
//! earlier commit's, say, to show a change's before and after with the same bench);
//! `GATEHOUSE_BENCH_WRAP="valgrind --tool=callgrind"` runs the gateway and the floor proxy
//! under a profiler (under callgrind, each run's counts are zeroed before it and dumped after
//! it, and its instructions per call printed).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

mod client;
mod client_credentials;
mod console;
mod fleet;
mod integrations;
mod load;
mod oauth;
mod openapi;
mod peers;
mod per_person;
mod traces;

use client::*;
use load::*;
use peers::*;

const STATELESS: &str = "2026-07-28";

const STATEFUL: &str = "2025-06-18";
/// The revision Gatehouse speaks to an upstream that has sessions.
const LATEST_STATEFUL: &str = "2025-11-25";

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// Upstreams of the aggregating server.
const AGGREGATED: usize = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // The bench starts itself again as the peers' process (see `Peers::start`)...
    if let Ok(addrs) = std::env::var(PEERS_SERVE) {
        runtime.block_on(serve_peers(&addrs));
        return;
    }
    // ... and as the floor proxy (see `FloorProxy::start`).
    if let Ok(target) = std::env::var(PROXY_TARGET) {
        if std::env::var(FLOOR_KIND).as_deref() == Ok("lean") {
            runtime.block_on(lean_floor_proxy(target));
        } else {
            runtime.block_on(floor_proxy(target));
        }
        return;
    }
    runtime.block_on(run());
}

impl Drop for Peers {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            stop(child);
        }
    }
}

impl Drop for FloorProxy {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn section(name: &str) -> bool {
    match std::env::var("GATEHOUSE_BENCH_ONLY") {
        Ok(only) if !only.is_empty() => only.split(',').any(|s| s.trim() == name),
        _ => true,
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

async fn run() {
    let peers = Peers::start().await;
    let (backend, upstream) = (peers.backend, peers.upstream);
    // PostHog's and RevenueCat's stand-ins, whose address the gateway is started with.
    let vendors = serve(integrations::vendor_app()).await;
    let gateway = start_gateway(vendors);
    // Idle connections are dropped before the 5 s after which Node and uvicorn close them.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    for _ in 0..600 {
        if client.get(format!("{}/health", gateway.base)).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Idle: once start-up's temporary allocations have been given back (allocators return
    // freed memory to the system after a short delay).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = gateway.rss_mib("VmRSS:");
    let base = gateway.base.clone();
    println!("gateway pid {}, idle RSS {idle_rss:.1} MiB", gateway.pid());
    let mut peaks = Vec::new();

    if section("http") {
        gateway.reset_peak();
        http_tool(&client, &base, gateway.pid(), backend).await;
        peaks.push(("HTTP tool, tools/call", gateway.rss_mib("VmHWM:")));
    }
    if section("upstream") || section("stateful") {
        gateway.reset_peak();
        let runs = (section("upstream"), section("stateful"));
        let speaks = Revision::Stateless;
        let (addr, transport) = (upstream, "streamable_http");
        let ours = Upstream { name: "bench_up", title: "Upstream MCP tool", addr, transport, speaks, runs };
        upstream_calls(&client, &base, gateway.pid(), ours).await;
        peaks.push(("upstream, tools/call", gateway.rss_mib("VmHWM:")));
    }
    if section("aggregate") {
        gateway.reset_peak();
        aggregate(&client, &base, gateway.pid(), upstream).await;
        peaks.push(("20 upstreams", gateway.rss_mib("VmHWM:")));
    }
    if section("list") {
        gateway.reset_peak();
        big_list(&client, &base, gateway.pid(), backend).await;
        peaks.push(("1,000 tools, tools/list", gateway.rss_mib("VmHWM:")));
    }
    if section("console") {
        console::console_pages(&client, &base, gateway.pid(), backend).await;
    }
    if section("openapi") {
        gateway.reset_peak();
        openapi::import(&client, &base, gateway.pid(), backend).await;
        peaks.push(("OpenAPI import, 1,000 operations", gateway.rss_mib("VmHWM:")));
    }
    if section("client_credentials") {
        client_credentials::token_calls(&client, &base, gateway.pid()).await;
    }
    if section("oauth") {
        oauth::signed_in_calls(&client, &base, gateway.pid(), backend).await;
    }
    if section("global") {
        integrations::global_endpoint(&client, &base, gateway.pid(), backend).await;
    }
    if section("integrations") {
        integrations::vendor_integrations(&client, &base, gateway.pid(), backend, vendors).await;
    }
    if section("per_person") {
        per_person::per_person_calls(&client, &base, gateway.pid()).await;
    }
    if section("fleet") {
        fleet::fleet(&client, backend).await;
    }
    if section("traces") {
        traces::traced_calls(&client, &base, gateway.pid(), backend, vendors).await;
    }
    // Each third-party upstream runs with the section, or on its own by its name; its address
    // is known once it is started.
    let known_later = SocketAddr::from(([127, 0, 0, 1], 0));
    let third_party = |name, title, transport, speaks| Upstream {
        name,
        title,
        addr: known_later,
        transport,
        speaks,
        runs: (true, true),
    };
    let third_parties: [(fn() -> ThirdParty, Upstream); 3] = [
        (
            ThirdParty::node_everything,
            third_party(
                "everything",
                "server-everything (Node, TypeScript SDK)",
                "streamable_http",
                Revision::Session(LATEST_STATEFUL),
            ),
        ),
        (
            ThirdParty::node_everything_sse,
            third_party(
                "everything_sse",
                "server-everything over HTTP+SSE",
                "sse",
                Revision::LegacySse(LATEST_STATEFUL),
            ),
        ),
        (
            ThirdParty::python_sdk,
            third_party("python_sdk", "echo server (Python SDK)", "streamable_http", Revision::Stateless),
        ),
    ];
    for (start, up) in third_parties {
        if section("third_party") || section(up.name) {
            let peer = start();
            upstream_calls(&client, &base, gateway.pid(), Upstream { addr: peer.addr, ..up }).await;
        }
    }
    println!();
    println!("gateway RSS: idle {idle_rss:.1} MiB");
    for (name, peak) in peaks {
        println!("gateway peak RSS during {name}: {peak:.1} MiB");
    }
}

/// Section 1: an HTTP tool, through Gatehouse and straight to the backend.
async fn http_tool(client: &reqwest::Client, base: &str, pid: u32, backend: SocketAddr) {
    let (server_id, key) = create_server(client, base, "Bench", "bench").await;
    post_json(
        client,
        &format!("{base}/api/orgs/default/servers/{server_id}/tools"),
        &[],
        &json!({
            "name": "get_weather", "description": "Weather for a city", "method": "POST",
            "endpointUrl": format!("http://{backend}/weather/{{city}}"),
            "parameters": [
                {"name": "city", "location": "path", "type": "string", "description": "City", "required": true},
                {"name": "units", "location": "body", "type": "string", "description": "Units", "required": false}
            ],
            "auth": {"type": "none"}
        }),
    )
    .await;
    let gateway = Endpoint::new(client, format!("{base}/mcp/default/bench"), Some(&key));
    // The stateless 2026-07-28 revision: one POST per call, no session.
    let body = leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_weather", "arguments": {"city": "Lisbon", "units": "celsius"}, "_meta": stateless_meta()}}));
    let headers: [(&str, &str); 3] =
        [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/call"), ("mcp-name", "get_weather")];
    // Sanity: one call through the gateway returns the backend's answer.
    let (probe, _) = gateway.send(&headers, body).await;
    assert!(probe.to_string().contains("Lisbon"), "{probe}");

    header("HTTP tool: tools/call, stateless 2026-07-28");
    let floor_proxy = FloorProxy::start(backend).await;
    // One closure type for the direct path and the floor: the same request, another address.
    let straight_request = |host: SocketAddr| {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let url = format!("http://{host}/weather/Lisbon");
        Prepared::new(client, &url, headers, leak(json!({"units": "celsius"})))
    };
    let straight = |host: SocketAddr| {
        let request = straight_request(host);
        move |_| {
            let request = request.clone();
            async move { request.fire().await }
        }
    };
    let through_request = gateway.prepare(&headers, body);
    // The prepared requests get the backend's answer, as the probe did.
    let answer = through_request.answer().await;
    assert!(answer.contains("Lisbon") && !answer.contains("isError"), "{answer}");
    let answer = straight_request(backend).answer().await;
    assert!(answer.contains("Lisbon"), "{answer}");
    let mut results = Vec::new();
    for concurrency in concurrency_levels() {
        let request = through_request.clone();
        let through = move |_| {
            let request = request.clone();
            async move { request.fire().await }
        };
        let (direct, floor) = (straight(backend), straight(floor_proxy.addr));
        results.push(compare(pid, &floor_proxy, concurrency, direct, floor, through).await);
    }
    summary(&results);
}

/// An MCP upstream the relayed calls go to: the bench's own, or a third party's. Each has an
/// `echo` tool taking `message` and serves Streamable HTTP at `/mcp`.
#[derive(Clone, Copy)]
struct Upstream {
    /// Its name in Gatehouse (the server it is attached to has it as its slug, `-` for `_`).
    name: &'static str,
    /// What the tables call it.
    title: &'static str,
    addr: SocketAddr,
    /// Its transport as Gatehouse registers it (`streamable_http` at `/mcp`, `sse` at `/sse`).
    transport: &'static str,
    /// How Gatehouse speaks to it, which the direct calls do too: the comparison is then of
    /// the same work upstream (server-everything, say, answers a 2025-11-25 session's call
    /// about 1.3 ms slower than a 2025-06-18 one's, whoever sends it).
    speaks: Revision,
    /// The stateless and the stateful comparisons to run.
    runs: (bool, bool),
}

/// A revision an upstream is spoken to in.
#[derive(Clone, Copy)]
enum Revision {
    /// 2026-07-28, a request on its own.
    Stateless,
    /// A session of this revision.
    Session(&'static str),
    /// A session of the legacy HTTP+SSE transport, `initialize`d at this revision.
    LegacySse(&'static str),
}

/// Section 2 (and 5, for third-party upstreams): an upstream MCP tool, through Gatehouse and
/// straight to the upstream; stateless 2026-07-28 clients, then stateful 2025-06-18 sessions.
async fn upstream_calls(client: &reqwest::Client, base: &str, pid: u32, up: Upstream) {
    let slug = up.name.replace('_', "-");
    let (server_id, key) = create_server(client, base, up.title, &slug).await;
    let path = if up.transport == "sse" { "/sse" } else { "/mcp" };
    attach_upstream(client, base, &server_id, up.name, up.transport, &format!("http://{}{path}", up.addr))
        .await;
    let upstream_url = format!("http://{}/mcp", up.addr);
    let gateway = Endpoint::new(client, format!("{base}/mcp/default/{slug}"), Some(&key));
    let direct = Endpoint::new(client, upstream_url, None);
    let floor_proxy = FloorProxy::start(up.addr).await;
    let floored = Endpoint::new(client, format!("http://{}/mcp", floor_proxy.addr), None);
    let served: &'static str = Box::leak(format!("{}__echo", up.name).into_boxed_str());
    let max = concurrency_levels().into_iter().max().unwrap_or(1);
    let session_call = |name: &str| {
        leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": {"message": "hello"}}}))
    };
    let stateless_headers = |name: &'static str| -> [(&'static str, &'static str); 3] {
        [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/call"), ("mcp-name", name)]
    };
    // One prepared request per worker, each with the worker's session.
    let per_session = |e: &Endpoint, sessions: &[&str], version: &str, body| -> Arc<Vec<Prepared>> {
        let requests = sessions.iter().map(|&session| {
            e.prepare(&[("mcp-session-id", session), ("mcp-protocol-version", version)], body)
        });
        Arc::new(requests.collect())
    };

    // The direct calls: as Gatehouse speaks to the upstream. Sessions straight to it serve the
    // floor proxy too (it forwards the session header), one per worker.
    let direct_sessions = match up.speaks {
        Revision::Session(version) => open_sessions(&direct, max, version).await,
        Revision::Stateless | Revision::LegacySse(_) => Vec::new(),
    };
    let direct_calls = |d: Endpoint, base: String| {
        let sessions = direct_sessions.clone();
        async move {
            let calls: Vec<DirectCall> = match up.speaks {
                Revision::Stateless => {
                    let request = d.prepare(&stateless_headers("echo"), stateless_call("echo", "hello"));
                    vec![DirectCall::Http(request); max]
                }
                Revision::Session(version) => per_session(&d, &sessions, version, session_call("echo"))
                    .iter()
                    .cloned()
                    .map(DirectCall::Http)
                    .collect(),
                Revision::LegacySse(version) => {
                    let mut calls = Vec::new();
                    for _ in 0..max {
                        calls.push(DirectCall::Sse(Arc::new(
                            LegacySse::open(&d.client, &base, version).await,
                        )));
                    }
                    calls
                }
            };
            Arc::new(calls)
        }
    };
    let straight = direct_calls(direct.clone(), format!("http://{}", up.addr)).await;
    let through_floor = direct_calls(floored.clone(), format!("http://{}", floor_proxy.addr)).await;
    let answer = straight[max - 1].answer().await;
    assert!(answer.contains("hello") && !answer.contains("isError\":true"), "{answer}");
    let baseline = |calls: &Arc<Vec<DirectCall>>| {
        let calls = calls.clone();
        move |worker: usize| {
            let call = calls[worker].clone();
            async move { call.fire().await }
        }
    };
    let spoken = match up.speaks {
        Revision::Stateless => "stateless 2026-07-28".to_string(),
        Revision::Session(version) => format!("a {version} session's call"),
        Revision::LegacySse(version) => format!("a legacy HTTP+SSE session's call ({version})"),
    };

    if up.runs.0 {
        let through_request = gateway.prepare(&stateless_headers(served), stateless_call(served, "hello"));
        let answer = through_request.answer().await;
        assert!(answer.contains("hello") && !answer.contains("isError\":true"), "{answer}");
        header(&format!("{}: tools/call, stateless 2026-07-28; direct: {spoken}", up.title));
        let mut results = Vec::new();
        for concurrency in concurrency_levels() {
            let request = through_request.clone();
            let through = move |_| {
                let request = request.clone();
                async move { request.fire().await }
            };
            let (direct, floor) = (baseline(&straight), baseline(&through_floor));
            results.push(compare(pid, &floor_proxy, concurrency, direct, floor, through).await);
        }
        summary(&results);
    }

    if up.runs.1 {
        let through_sessions = open_sessions(&gateway, max, STATEFUL).await;
        let through_requests = per_session(&gateway, &through_sessions, STATEFUL, session_call(served));
        let answer = through_requests[max - 1].answer().await;
        assert!(answer.contains("hello") && !answer.contains("isError\":true"), "{answer}");
        header(&format!(
            "{}: tools/call, stateful {STATEFUL} (a session per worker); direct: {spoken}",
            up.title
        ));
        let mut results = Vec::new();
        for concurrency in concurrency_levels() {
            let requests = through_requests.clone();
            let through = move |worker: usize| {
                let request = requests[worker].clone();
                async move { request.fire().await }
            };
            let (direct, floor) = (baseline(&straight), baseline(&through_floor));
            results.push(compare(pid, &floor_proxy, concurrency, direct, floor, through).await);
        }
        summary(&results);
    }
}

impl Drop for ThirdParty {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Section 3: one server aggregating 20 upstreams (2 tools each): tools/list and tools/call
/// (round robin over the upstreams' `echo`), stateless 2026-07-28.
async fn aggregate(client: &reqwest::Client, base: &str, pid: u32, upstream: SocketAddr) {
    let (server_id, key) = create_server(client, base, "Aggregate", "aggregate").await;
    for n in 0..AGGREGATED {
        let url = format!("http://{upstream}/u/{n}/mcp");
        attach_upstream(client, base, &server_id, &format!("agg_{n:02}"), "streamable_http", &url).await;
    }
    let gateway = Endpoint::new(client, format!("{base}/mcp/default/aggregate"), Some(&key));
    let list_headers: [(&str, &str); 2] = [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/list")];
    let list = stateless_list();
    let (probe, _) = gateway.send(&list_headers, list).await;
    let served = probe["result"]["tools"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(served, 2 * AGGREGATED, "{probe}");
    let calls: Vec<Prepared> = (0..AGGREGATED)
        .map(|n| {
            let name = format!("agg_{n:02}__echo");
            let headers =
                [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/call"), ("mcp-name", &name)];
            gateway.prepare(&headers, stateless_call(&name, "hello"))
        })
        .collect();
    let list_request = gateway.prepare(&list_headers, list);
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));

    header(&format!(
        "A server aggregating {AGGREGATED} upstreams ({} tools), stateless 2026-07-28",
        2 * AGGREGATED
    ));
    for concurrency in [1usize, 16] {
        let request = list_request.clone();
        let listed = load_middle(pid, concurrency, move |_| {
            let request = request.clone();
            async move { request.fire().await }
        })
        .await;
        let (calls, next) = (calls.clone(), next.clone());
        let called = load_middle(pid, concurrency, move |_| {
            let request = calls[next.fetch_add(1, Ordering::Relaxed) % calls.len()].clone();
            async move { request.fire().await }
        })
        .await;
        row("gateway tools/list", concurrency, &listed);
        row("gateway tools/call", concurrency, &called);
    }
}

/// Section 4: tools/list of a server with 1,000 HTTP tools (the first page: 500 tools).
async fn big_list(client: &reqwest::Client, base: &str, pid: u32, backend: SocketAddr) {
    let (big_id, big_key) = create_server(client, base, "Big", "big").await;
    for i in 0..1000 {
        post_json(
            client,
            &format!("{base}/api/orgs/default/servers/{big_id}/tools"),
            &[],
            &json!({"name": format!("tool_{i:04}"), "description": "A tool", "method": "GET",
                    "endpointUrl": format!("http://{backend}/weather/x"), "parameters": [], "auth": {"type": "none"}}),
        )
        .await;
    }
    let gateway = Endpoint::new(client, format!("{base}/mcp/default/big"), Some(&big_key));
    let list_headers: [(&str, &str); 2] = [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/list")];
    let list = stateless_list();
    let (probe, _) = gateway.send(&list_headers, list).await;
    assert_eq!(probe["result"]["tools"].as_array().map(Vec::len), Some(500), "first page");
    let request = gateway.prepare(&list_headers, list);
    let stats = load_middle(pid, 1, move |_| {
        let request = request.clone();
        async move { request.fire().await }
    })
    .await;
    println!();
    println!(
        "tools/list, 1,000 tools, concurrency 1: p50 {:.3} ms, p99 {:.3} ms ({:.0} req/s, gateway CPU {:.0} µs/call)",
        stats.p50_ms,
        stats.p99_ms,
        stats.rps,
        stats.cpu_us.unwrap_or(0.0)
    );
}
