//! Gateway benchmark, in one run, everything against the same release binary:
//!
//! 1. tools/call of an HTTP tool through Gatehouse to a fast local HTTP backend, against the
//!    same calls straight to the backend, at concurrency 1, 16 and 64;
//! 2. tools/call of an upstream MCP tool through Gatehouse to a fast Streamable HTTP MCP
//!    upstream (written here, in Rust), against the same calls straight to the upstream, at
//!    concurrency 1, 16 and 64: stateless 2026-07-28 clients, then stateful 2025-06-18
//!    sessions (one session per worker);
//! 3. tools/list and tools/call of a server aggregating 20 such upstreams;
//! 4. tools/list of a server with 1,000 HTTP tools;
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
//! 3 s, after 1 s of warm-up); `GATEHOUSE_BENCH_ONLY=http,upstream,stateful,aggregate,list`
//! runs some sections; `GATEHOUSE_BENCH_CONCURRENCY=64` some concurrency levels;
//! `GATEHOUSE_BENCH_PEERS=process` runs the HTTP backend and the MCP upstream in a process of
//! their own instead of in the load generator's (so the direct path's two ends no longer
//! share one runtime, as a client and a real backend never do); `GATEHOUSE_BENCH_SPLIT=1`
//! prints each run's load-generator and peers' CPU per call apart;
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

const WARMUP: Duration = Duration::from_secs(1);
const CONCURRENCY: [usize; 3] = [1, 16, 64];

/// The concurrency levels to run: [`CONCURRENCY`], or those `GATEHOUSE_BENCH_CONCURRENCY`
/// lists (comma-separated), e.g. `64` while profiling one level.
fn concurrency_levels() -> Vec<usize> {
    match std::env::var("GATEHOUSE_BENCH_CONCURRENCY") {
        Ok(list) if !list.is_empty() => list.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        _ => CONCURRENCY.to_vec(),
    }
}
const STATELESS: &str = "2026-07-28";
const STATEFUL: &str = "2025-06-18";
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

/// `process` runs the HTTP backend and the MCP upstream in a process of their own rather than
/// in the load generator's ([`Peers`]).
const PEERS_KIND: &str = "GATEHOUSE_BENCH_PEERS";
/// Environment variable that turns this binary into the peers' process, serving the backend
/// and the upstream at its two comma-separated addresses.
const PEERS_SERVE: &str = "GATEHOUSE_BENCH_PEERS_SERVE";

/// The peers' process, when they run in one: its CPU time counts with the load generator's.
static PEERS_PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// The HTTP backend and the MCP upstream the calls go to.
struct Peers {
    backend: SocketAddr,
    upstream: SocketAddr,
    /// Their own process, when `GATEHOUSE_BENCH_PEERS=process`.
    child: Option<Child>,
}

impl Peers {
    /// In this process (the default: the direct path is then a call between two tasks of one
    /// runtime), or in a process of their own, as a real backend is (`GATEHOUSE_BENCH_PEERS=
    /// process`: every hop of both paths then goes between processes).
    async fn start() -> Self {
        if std::env::var(PEERS_KIND).as_deref() != Ok("process") {
            return Peers { backend: start_backend().await, upstream: start_upstream().await, child: None };
        }
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let (backend, upstream) = (free(), free());
        let child = Command::new(std::env::current_exe().unwrap())
            .env(PEERS_SERVE, format!("{backend},{upstream}"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        for addr in [backend, upstream] {
            for _ in 0..600 {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let _ = PEERS_PID.set(child.id());
        println!("peers (HTTP backend, MCP upstream) in their own process, pid {}", child.id());
        Peers { backend, upstream, child: Some(child) }
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            stop(child);
        }
    }
}

/// The peers' process: the backend and the upstream at the given addresses, until killed.
async fn serve_peers(addrs: &str) {
    let (backend, upstream) = addrs.split_once(',').expect("two addresses");
    serve_on(backend_app(), backend.parse().expect("the backend's address")).await;
    serve_on(upstream_app(), upstream.parse().expect("the upstream's address")).await;
    std::future::pending::<()>().await;
}

/// Environment variable that turns this binary into the floor proxy, forwarding to its value.
const PROXY_TARGET: &str = "GATEHOUSE_BENCH_PROXY_TARGET";
/// Where the floor proxy listens.
const PROXY_BIND: &str = "GATEHOUSE_BENCH_PROXY_BIND";
/// `lean` makes the floor [`lean_floor_proxy`] instead of [`floor_proxy`].
const FLOOR_KIND: &str = "GATEHOUSE_BENCH_FLOOR";

/// The leanest floor hyper allows: its HTTP/1 server and client connections and nothing else.
/// Each inbound connection gets one outbound connection of its own, driven by the same task
/// (HTTP/1.1 carries one request at a time, so no pool and no hand-over between tasks), and
/// requests and answers stream through unbuffered, headers and all.
async fn lean_floor_proxy(target: String) {
    use hyper::client::conn::http1 as client;
    use hyper::server::conn::http1 as server;
    use hyper_util::rt::TokioIo;
    let bind = std::env::var(PROXY_BIND).expect("the floor proxy's address");
    let listener = tokio::net::TcpListener::bind(bind).await.expect("binding the floor proxy");
    loop {
        let Ok((inbound, _)) = listener.accept().await else { continue };
        let target = target.clone();
        tokio::spawn(async move {
            let _ = inbound.set_nodelay(true);
            let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else { return };
            let _ = outbound.set_nodelay(true);
            let Ok((sender, connection)) = client::handshake(TokioIo::new(outbound)).await else { return };
            let sender = std::sync::Mutex::new(sender);
            let forward =
                hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    sender.lock().unwrap().send_request(request)
                });
            let serving = server::Builder::new().serve_connection(TokioIo::new(inbound), forward);
            // Both connections in one task; the outbound one ends when the inbound one does.
            futures_util::future::select(std::pin::pin!(serving), connection).await;
        });
    }
}

/// The floor: the least any gateway built on this stack can do per call. An axum server that
/// buffers the request, sends it on with its headers (but `Host`) through hyper-util's pooled
/// client, as Gatehouse's outbound module does, and buffers the answer back, with no logic at
/// all. It runs as its own process, like the gateway, so "floor / direct" is the best ratio
/// this machine allows any process in the middle.
async fn floor_proxy(target: String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    type Pool = Client<HttpConnector, Full<axum::body::Bytes>>;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let pool: Pool = Client::builder(TokioExecutor::new()).build(connector);
    let forward = move |request: axum::extract::Request| {
        let (pool, target) = (pool.clone(), target.clone());
        async move {
            let (mut parts, body) = request.into_parts();
            let Ok(body) = body.collect().await else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let Ok(uri) = format!("http://{target}{path}").parse() else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            parts.headers.remove(axum::http::header::HOST);
            let mut out = axum::http::Request::new(Full::new(body.to_bytes()));
            *out.method_mut() = parts.method;
            *out.uri_mut() = uri;
            *out.headers_mut() = parts.headers;
            let Ok(answer) = pool.request(out).await else {
                return StatusCode::BAD_GATEWAY.into_response();
            };
            let (parts, body) = answer.into_parts();
            let Ok(body) = body.collect().await else {
                return StatusCode::BAD_GATEWAY.into_response();
            };
            Response::from_parts(parts, axum::body::Body::from(body.to_bytes()))
        }
    };
    let app = axum::Router::new().fallback(forward);
    let bind = std::env::var(PROXY_BIND).expect("the floor proxy's address");
    let listener = tokio::net::TcpListener::bind(bind).await.expect("binding the floor proxy");
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.expect("serving the floor proxy");
}

/// The floor proxy process, in front of one target.
struct FloorProxy {
    child: Child,
    addr: SocketAddr,
}

impl FloorProxy {
    /// Starts this binary again as the floor proxy in front of `target` (under
    /// `GATEHOUSE_BENCH_WRAP` too, so that a profile can compare it with the gateway's).
    async fn start(target: SocketAddr) -> Self {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let wrap = std::env::var("GATEHOUSE_BENCH_WRAP").unwrap_or_default();
        let exe = std::env::current_exe().unwrap();
        let mut argv: Vec<&str> = wrap.split_whitespace().collect();
        argv.push(exe.to_str().unwrap());
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .env(PROXY_TARGET, target.to_string())
            .env(PROXY_BIND, addr.to_string())
            .env(FLOOR_KIND, std::env::var(FLOOR_KIND).unwrap_or_default())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FloorProxy {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SIGTERM first (a graceful stop; a profiler wrapping the process writes its output), then
/// SIGKILL after 30 s.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn measure() -> Duration {
    let secs = std::env::var("GATEHOUSE_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

fn section(name: &str) -> bool {
    match std::env::var("GATEHOUSE_BENCH_ONLY") {
        Ok(only) if !only.is_empty() => only.split(',').any(|s| s.trim() == name),
        _ => true,
    }
}

/// The HTTP-tool backend: the smallest JSON answer hyper can give, so the gateway is what is
/// measured.
async fn start_backend() -> SocketAddr {
    serve(backend_app()).await
}

fn backend_app() -> axum::Router {
    use axum::routing::post;
    axum::Router::new().route(
        "/weather/{city}",
        post(|axum::extract::Path(city): axum::extract::Path<String>, body: axum::body::Bytes| async move {
            axum::Json(json!({"city": city, "temperature": 22, "echo": body.len()}))
        }),
    )
}

async fn serve(app: axum::Router) -> SocketAddr {
    serve_on(app, "127.0.0.1:0".parse().unwrap()).await
}

/// Serves `app` at `addr` (port 0: any free port); the address it serves at.
async fn serve_on(app: axum::Router, addr: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A fast Streamable HTTP MCP upstream: `server/discover` (2026-07-28) and `initialize`
/// (stateful revisions, with an `Mcp-Session-Id`), notifications and responses 202,
/// `tools/list`, `tools/call` of `echo` (and `add`), JSON answers. It checks nothing it does
/// not need to: it stands for an upstream that costs as little as possible. Served at `/mcp`
/// and at `/u/{n}/mcp` (so that many upstreams can be registered against one process).
async fn start_upstream() -> SocketAddr {
    serve(upstream_app()).await
}

fn upstream_app() -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/mcp", post(upstream_post))
        .route("/u/{n}/mcp", post(|headers: HeaderMap, body: axum::body::Bytes| upstream_post(headers, body)))
}

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

async fn upstream_post(headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let _ = headers;
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "parse error").into_response();
    };
    let (Some(id), Some(method)) = (msg.get("id"), msg.get("method").and_then(Value::as_str)) else {
        // A notification or a response.
        return StatusCode::ACCEPTED.into_response();
    };
    let params = msg.get("params");
    let stateless = params.and_then(|p| p.get("_meta")).and_then(|m| m.get(META_VERSION)).is_some();
    let mut session = None;
    let result = match method {
        "server/discover" => json!({
            "supportedVersions": [STATELESS, "2025-11-25", STATEFUL, "2025-03-26", "2024-11-05"],
            "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "bench-upstream", "version": "1.0.0"}},
        }),
        "initialize" => {
            let requested = params.and_then(|p| p.get("protocolVersion")).and_then(Value::as_str);
            let supported =
                |v: &&str| matches!(*v, "2025-11-25" | "2025-06-18" | "2025-03-26" | "2024-11-05");
            let version = requested.filter(supported).unwrap_or("2025-11-25");
            session = Some(format!("bench-{}", SESSIONS.fetch_add(1, Ordering::Relaxed)));
            json!({"protocolVersion": version, "capabilities": {"tools": {}},
                   "serverInfo": {"name": "bench-upstream", "version": "1.0.0"}})
        }
        "ping" => json!({}),
        "tools/list" => json!({"tools": [
            {"name": "echo", "description": "Echo back the message",
             "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}},
            {"name": "add", "description": "Add two numbers",
             "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
        ]}),
        "tools/call" => {
            let args = params.and_then(|p| p.get("arguments"));
            match params.and_then(|p| p.get("name")).and_then(Value::as_str) {
                Some("echo") => {
                    let text =
                        args.and_then(|a| a.get("message")).and_then(Value::as_str).unwrap_or_default();
                    json!({"content": [{"type": "text", "text": text}]})
                }
                Some("add") => {
                    let n = |k: &str| args.and_then(|a| a.get(k)).and_then(Value::as_f64).unwrap_or(0.0);
                    json!({"content": [{"type": "text", "text": (n("a") + n("b")).to_string()}]})
                }
                _ => {
                    let error = json!({"code": -32602, "message": "unknown tool"});
                    return axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": error})).into_response();
                }
            }
        }
        _ => {
            let error = json!({"code": -32601, "message": "method not found"});
            return axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": error})).into_response();
        }
    };
    let mut result = result;
    if stateless {
        result["resultType"] = json!("complete");
    }
    let mut response = axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
    if let Some(s) = session {
        response.headers_mut().insert("mcp-session-id", HeaderValue::from_str(&s).unwrap());
    }
    response
}

struct Gateway {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

impl Gateway {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rss_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let kib: u64 = status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        kib as f64 / 1024.0
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS, so that each section reports its own.
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

fn start_gateway() -> Gateway {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    // `GATEHOUSE_BENCH_WRAP="valgrind --tool=callgrind"` runs the gateway under a profiler.
    let wrap = std::env::var("GATEHOUSE_BENCH_WRAP").unwrap_or_default();
    let mut argv: Vec<&str> = wrap.split_whitespace().collect();
    // Cargo builds the binary with the bench profile (release) before the bench runs; a
    // `cargo build --release` here would rebuild dependencies the bench build just made.
    argv.extend([env!("CARGO_BIN_EXE_gatehouse"), "serve", "--dev"]);
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Gateway { child, base: format!("http://127.0.0.1:{port}"), _dir: dir }
}

struct Stats {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Calls made, warm-up included.
    total: usize,
    /// CPU time (user + system) per call of the process in the middle, when there is one.
    cpu_us: Option<f64>,
    /// The system (kernel) part of `cpu_us`.
    sys_us: Option<f64>,
    /// CPU time per call of everything but the process in the middle: the load generator and
    /// the backend or upstream (this process, and the peers' process when they have one).
    peer_cpu_us: f64,
}

/// Runs `concurrency` workers calling `call(worker)` in a loop; returns throughput and latency.
async fn load<F, Fut>(concurrency: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let measure = measure();
    let warm_end = Instant::now() + WARMUP;
    let end = warm_end + measure;
    let mut tasks = Vec::new();
    let own_before = cpu_seconds(std::process::id());
    let own_before = own_before.0 + own_before.1;
    let peers_before = PEERS_PID.get().map(|&pid| cpu_seconds(pid));
    let peers_used = || {
        let (pid, before) = (PEERS_PID.get().copied().unwrap_or(0), peers_before.unwrap_or_default());
        let after = cpu_seconds(pid);
        after.0 + after.1 - before.0 - before.1
    };
    for worker in 0..concurrency {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut total = 0;
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                call(worker).await;
                total += 1;
                if start >= warm_end {
                    samples.push(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
            (samples, total)
        }));
    }
    let mut all = Vec::new();
    let mut total = 0;
    for t in tasks {
        let (samples, n) = t.await.unwrap();
        all.extend(samples);
        total += n;
    }
    let own_after = cpu_seconds(std::process::id());
    let peers = PEERS_PID.get().map_or(0.0, |_| peers_used());
    let own_used = own_after.0 + own_after.1 - own_before + peers;
    if std::env::var_os("GATEHOUSE_BENCH_SPLIT").is_some() {
        let per = |s: f64| s * 1e6 / total.max(1) as f64;
        eprintln!("[load generator {:.1} µs/call, peers {:.1} µs/call]", per(own_used - peers), per(peers));
    }
    all.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0.0)
    };
    Stats {
        rps: all.len() as f64 / measure.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        total,
        cpu_us: None,
        sys_us: None,
        peer_cpu_us: own_used * 1e6 / total.max(1) as f64,
    }
}

/// [`load`] against a process in the middle (the gateway or the floor proxy), with that
/// process's CPU time per call.
async fn load_middle<F, Fut>(pid: u32, concurrency: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let callgrind = std::env::var("GATEHOUSE_BENCH_WRAP").is_ok_and(|w| w.contains("callgrind"));
    if callgrind {
        // Counts from zero here, so that the dump after the run holds this run's calls only.
        callgrind_control("-z", pid);
    }
    let before = cpu_seconds(pid);
    let mut stats = load(concurrency, call).await;
    let after = cpu_seconds(pid);
    let calls = stats.total.max(1) as f64;
    if callgrind {
        let instructions = callgrind_control("-d", pid).and_then(|()| dumped_instructions(pid));
        let per_call = instructions.map(|i| format!("{:.1} k", i as f64 / calls / 1000.0));
        eprintln!(
            "[pid {pid} c{concurrency}: {} calls, {} instructions per call]",
            stats.total,
            per_call.as_deref().unwrap_or("?")
        );
    } else if std::env::var_os("GATEHOUSE_BENCH_WRAP").is_some() {
        // Under another profiler: what divides its counts into per-call figures.
        eprintln!("[pid {pid} c{concurrency}: {} calls]", stats.total);
    }
    stats.cpu_us = Some(((after.0 + after.1) - (before.0 + before.1)) * 1e6 / calls);
    stats.sys_us = Some((after.1 - before.1) * 1e6 / calls);
    stats
}

/// Runs `callgrind_control <flag> <pid>` (zero the counts, or dump them).
fn callgrind_control(flag: &str, pid: u32) -> Option<()> {
    let status =
        Command::new("callgrind_control").args([flag, &pid.to_string()]).stdout(Stdio::null()).status();
    status.ok().filter(|s| s.success()).map(drop)
}

/// The instruction count of the newest callgrind dump of `pid` (in the working directory).
fn dumped_instructions(pid: u32) -> Option<u64> {
    let prefix = format!("callgrind.out.{pid}.");
    let newest = std::fs::read_dir(".")
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())?;
    let text = std::fs::read_to_string(newest.path()).ok()?;
    let totals =
        text.lines().find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))?;
    totals.split_whitespace().next()?.parse().ok()
}

/// Rounds per comparison (`GATEHOUSE_BENCH_ROUNDS`, default 3): the direct, gateway and floor
/// runs alternate, so that all three see the same machine (a shared VM's speed drifts by tens
/// of per cent within minutes).
fn rounds() -> usize {
    std::env::var("GATEHOUSE_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1)
}

/// One concurrency level of a comparison: the median round of each path, and each round's
/// ratio to the direct run of the same round.
struct Comparison {
    concurrency: usize,
    direct: Stats,
    through: Stats,
    floor: Stats,
    /// Gateway req/s over direct req/s, per round, sorted.
    ratios: Vec<f64>,
    /// Floor proxy req/s over direct req/s, per round, sorted.
    floor_ratios: Vec<f64>,
}

/// Runs `direct`, `through` (the gateway, process `pid`) and `floor` (the same calls as
/// `direct`, sent through the floor proxy) in alternating rounds.
async fn compare<D, DFut, G, GFut>(
    pid: u32,
    floor_proxy: &FloorProxy,
    concurrency: usize,
    direct: D,
    floor: D,
    through: G,
) -> Comparison
where
    D: Fn(usize) -> DFut + Clone + Send + Sync + 'static,
    DFut: std::future::Future<Output = ()> + Send,
    G: Fn(usize) -> GFut + Clone + Send + Sync + 'static,
    GFut: std::future::Future<Output = ()> + Send,
{
    let (mut ds, mut gs, mut fs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds() {
        ds.push(load(concurrency, direct.clone()).await);
        gs.push(load_middle(pid, concurrency, through.clone()).await);
        fs.push(load_middle(floor_proxy.pid(), concurrency, floor.clone()).await);
    }
    let ratio = |runs: &[Stats]| {
        let mut r: Vec<f64> = ds.iter().zip(runs).map(|(d, x)| x.rps / d.rps.max(1.0)).collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let (ratios, floor_ratios) = (ratio(&gs), ratio(&fs));
    let comparison = Comparison {
        concurrency,
        direct: median(ds),
        through: median(gs),
        floor: median(fs),
        ratios,
        floor_ratios,
    };
    row("direct", concurrency, &comparison.direct);
    row("gateway", concurrency, &comparison.through);
    row("floor proxy", concurrency, &comparison.floor);
    comparison
}

/// The run with the median throughput.
fn median(mut runs: Vec<Stats>) -> Stats {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// User and system CPU time of a process so far, in seconds (`/proc/<pid>/stat`, in clock
/// ticks of 10 ms).
fn cpu_seconds(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

async fn post_json(client: &reqwest::Client, url: &str, headers: &[(&str, &str)], body: &Value) -> Value {
    send_json(client, reqwest::Method::POST, url, headers, body).await
}

async fn send_json(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Value {
    let mut req = client.request(method, url).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// An MCP endpoint as the load generator calls it: URL, fixed headers, and how to read the
/// answer (JSON or one SSE event).
#[derive(Clone)]
struct Endpoint {
    client: reqwest::Client,
    url: String,
    headers: Vec<(&'static str, String)>,
}

impl Endpoint {
    fn new(client: &reqwest::Client, url: String, key: Option<&str>) -> Self {
        let mut headers = vec![("accept", "application/json, text/event-stream".to_string())];
        if let Some(key) = key {
            headers.push(("x-api-key", key.to_string()));
        }
        Self { client: client.clone(), url, headers }
    }

    /// Sends one message; returns the JSON-RPC answer (parsed from JSON or from an SSE body)
    /// and the session id header, if any.
    async fn send(&self, extra: &[(&str, &str)], body: &[u8]) -> (Value, Option<String>) {
        let mut req = self.client.post(&self.url).header("content-type", "application/json");
        for (k, v) in &self.headers {
            req = req.header(*k, v.as_str());
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let r = req.body(body.to_vec()).send().await.expect("request");
        let status = r.status();
        let session = r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = r.bytes().await.unwrap();
        assert!(status.is_success(), "{}: {status} {}", self.url, String::from_utf8_lossy(&bytes));
        if status == StatusCode::ACCEPTED {
            return (Value::Null, session);
        }
        let text = String::from_utf8_lossy(&bytes);
        let json = match text.find("data: ") {
            Some(i) if !text.starts_with('{') => text[i + 6..].lines().next().unwrap_or_default().to_string(),
            _ => text.into_owned(),
        };
        (serde_json::from_str(&json).unwrap_or(Value::Null), session)
    }

    /// The request the measured loop sends: this endpoint's headers, `extra` and `body`.
    fn prepare(&self, extra: &[(&str, &str)], body: &'static [u8]) -> Prepared {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        for (k, v) in self.headers.iter().map(|(k, v)| (*k, v.as_str())).chain(extra.iter().copied()) {
            headers.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        Prepared::new(&self.client, &self.url, headers, body)
    }
}

/// A request the measured loop sends again and again, made once: URL parsed, headers built,
/// body serialised, as wrk or oha prepare theirs. So the load generator's own work per call is
/// the same small amount whichever path it measures, and what differs between the paths is
/// what happens behind the URL.
/// (Cloned per call: a reference count.)
#[derive(Clone)]
struct Prepared(Arc<PreparedParts>);

struct PreparedParts {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    body: bytes::Bytes,
}

impl Prepared {
    fn new(client: &reqwest::Client, url: &str, headers: HeaderMap, body: &'static [u8]) -> Self {
        let url = reqwest::Url::parse(url).expect("url");
        let body = bytes::Bytes::from_static(body);
        Self(Arc::new(PreparedParts { client: client.clone(), url, headers, body }))
    }

    /// Sends the request and reads the whole answer (a failed call stops the bench: an error
    /// answered fast must never count as throughput).
    async fn fire(&self) {
        let _ = self.exchange().await;
    }

    /// Sends the request; the answer's text (for the checks before measuring).
    async fn answer(&self) -> String {
        String::from_utf8_lossy(&self.exchange().await).into_owned()
    }

    /// Sends the request; the answer's bytes, after its status is checked.
    async fn exchange(&self) -> bytes::Bytes {
        let parts = &*self.0;
        let mut request = reqwest::Request::new(reqwest::Method::POST, parts.url.clone());
        *request.headers_mut() = parts.headers.clone();
        *request.body_mut() = Some(parts.body.clone().into());
        let r = parts.client.execute(request).await.expect("request");
        let status = r.status();
        let bytes = r.bytes().await.expect("answer");
        assert!(status.is_success(), "{}: {status} {}", parts.url, String::from_utf8_lossy(&bytes));
        bytes
    }
}

fn leak(v: Value) -> &'static [u8] {
    Box::leak(serde_json::to_vec(&v).unwrap().into_boxed_slice())
}

fn stateless_meta() -> Value {
    json!({META_VERSION: STATELESS, "io.modelcontextprotocol/clientCapabilities": {}})
}

fn stateless_call(tool: &str, message: &str) -> &'static [u8] {
    leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": {"message": message}, "_meta": stateless_meta()}}))
}

fn stateless_list() -> &'static [u8] {
    leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": stateless_meta()}}))
}

/// Opens `n` stateful sessions (initialize, then notifications/initialized).
async fn open_sessions(endpoint: &Endpoint, n: usize) -> Vec<&'static str> {
    let init = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": STATEFUL, "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1.0.0"}}}))
    .unwrap();
    let initialized =
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
    let mut sessions = Vec::new();
    for _ in 0..n {
        let (answer, session) = endpoint.send(&[], &init).await;
        assert_eq!(answer["result"]["protocolVersion"], STATEFUL, "{answer}");
        let session: &'static str = Box::leak(session.expect("a session id").into_boxed_str());
        endpoint.send(&[("mcp-session-id", session), ("mcp-protocol-version", STATEFUL)], &initialized).await;
        sessions.push(session);
    }
    sessions
}

fn row(path: &str, concurrency: usize, s: &Stats) {
    let cpu = match (s.cpu_us, s.sys_us) {
        (Some(all), Some(sys)) => format!("{all:.0} ({sys:.0})"),
        _ => String::new(),
    };
    let peers = format!("{:.0}", s.peer_cpu_us);
    println!(
        "| {path} | {concurrency} | {:.0} | {:.3} | {:.3} | {cpu} | {peers} |",
        s.rps, s.p50_ms, s.p99_ms
    );
}

fn header(title: &str) {
    println!();
    println!("### {title}");
    println!();
    println!(
        "| path | concurrency | req/s | p50 ms | p99 ms | middle CPU µs/call (system) | client + backend CPU µs/call |"
    );
    println!("|---|---|---|---|---|---|---|");
}

fn summary(results: &[Comparison]) {
    println!();
    for c in results {
        let percent = |r: f64| format!("{:.0}%", 100.0 * r);
        let each = |ratios: &[f64]| ratios.iter().copied().map(percent).collect::<Vec<_>>().join(", ");
        let middle = |ratios: &[f64]| percent(ratios[ratios.len() / 2]);
        println!(
            "concurrency {}: added p50 {:.3} ms, throughput {} of direct (rounds: {}); floor proxy {} (rounds: {})",
            c.concurrency,
            c.through.p50_ms - c.direct.p50_ms,
            middle(&c.ratios),
            each(&c.ratios),
            middle(&c.floor_ratios),
            each(&c.floor_ratios),
        );
    }
}

async fn create_server(client: &reqwest::Client, base: &str, name: &str, slug: &str) -> (String, String) {
    let server = post_json(
        client,
        &format!("{base}/api/orgs/default/servers"),
        &[],
        &json!({"name": name, "slug": slug}),
    )
    .await;
    let server_id = server["server"]["serverId"].as_str().unwrap().to_string();
    let key = post_json(
        client,
        &format!("{base}/api/orgs/default/servers/{server_id}/keys"),
        &[],
        &json!({"label": "bench"}),
    )
    .await;
    (server_id, key["rawValue"].as_str().unwrap().to_string())
}

/// Registers an upstream (auto-approved) and attaches it to a server with its default prefix.
async fn attach_upstream(client: &reqwest::Client, base: &str, server_id: &str, name: &str, url: &str) {
    let up = post_json(
        client,
        &format!("{base}/api/orgs/default/upstreams"),
        &[],
        &json!({"name": name, "transport": "streamable_http", "url": url, "approvalPolicy": "auto_approve"}),
    )
    .await;
    let up_id = up["upstream"]["upstreamId"].as_str().expect("upstreamId").to_string();
    send_json(
        client,
        reqwest::Method::PUT,
        &format!("{base}/api/orgs/default/servers/{server_id}/upstreams/{up_id}"),
        &[],
        &json!({}),
    )
    .await;
}

async fn run() {
    let peers = Peers::start().await;
    let (backend, upstream) = (peers.backend, peers.upstream);
    let gateway = start_gateway();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
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
        upstream_calls(&client, &base, gateway.pid(), upstream).await;
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

/// Section 2: an upstream MCP tool, through Gatehouse and straight to the upstream; stateless
/// 2026-07-28 clients, then stateful 2025-06-18 sessions.
async fn upstream_calls(client: &reqwest::Client, base: &str, pid: u32, upstream: SocketAddr) {
    let (server_id, key) = create_server(client, base, "Relay", "relay").await;
    let upstream_url = format!("http://{upstream}/mcp");
    attach_upstream(client, base, &server_id, "bench_up", &upstream_url).await;
    let gateway = Endpoint::new(client, format!("{base}/mcp/default/relay"), Some(&key));
    let direct = Endpoint::new(client, upstream_url, None);
    let floor_proxy = FloorProxy::start(upstream).await;
    let floored = Endpoint::new(client, format!("http://{}/mcp", floor_proxy.addr), None);

    if section("upstream") {
        let through_body = stateless_call("bench_up__echo", "hello");
        let direct_body = stateless_call("echo", "hello");
        let through_headers: [(&str, &str); 3] = [
            ("mcp-protocol-version", STATELESS),
            ("mcp-method", "tools/call"),
            ("mcp-name", "bench_up__echo"),
        ];
        let direct_headers: [(&str, &str); 3] =
            [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/call"), ("mcp-name", "echo")];
        let (probe, _) = gateway.send(&through_headers, through_body).await;
        assert_eq!(probe["result"]["content"][0]["text"], "hello", "{probe}");
        let (probe, _) = direct.send(&direct_headers, direct_body).await;
        assert_eq!(probe["result"]["content"][0]["text"], "hello", "{probe}");

        header("Upstream MCP tool: tools/call, stateless 2026-07-28");
        let straight = |d: Endpoint| {
            let request = d.prepare(&direct_headers, direct_body);
            move |_| {
                let request = request.clone();
                async move { request.fire().await }
            }
        };
        let through_request = gateway.prepare(&through_headers, through_body);
        for request in [&through_request, &direct.prepare(&direct_headers, direct_body)] {
            let answer = request.answer().await;
            assert!(answer.contains("hello") && !answer.contains("isError"), "{answer}");
        }
        let mut results = Vec::new();
        for concurrency in concurrency_levels() {
            let request = through_request.clone();
            let through = move |_| {
                let request = request.clone();
                async move { request.fire().await }
            };
            let (direct, floor) = (straight(direct.clone()), straight(floored.clone()));
            results.push(compare(pid, &floor_proxy, concurrency, direct, floor, through).await);
        }
        summary(&results);
    }

    if section("stateful") {
        let call = |name: &str| {
            leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": name, "arguments": {"message": "hello"}}}))
        };
        let (through_body, direct_body) = (call("bench_up__echo"), call("echo"));
        let max = concurrency_levels().into_iter().max().unwrap_or(1);
        let through_sessions = Arc::new(open_sessions(&gateway, max).await);
        let direct_sessions = Arc::new(open_sessions(&direct, max).await);
        let (probe, _) = gateway
            .send(
                &[("mcp-session-id", through_sessions[0]), ("mcp-protocol-version", STATEFUL)],
                through_body,
            )
            .await;
        assert_eq!(probe["result"]["content"][0]["text"], "hello", "{probe}");

        header("Upstream MCP tool: tools/call, stateful 2025-06-18 (a session per worker)");
        let mut results = Vec::new();
        // The floor proxy forwards the session header: the direct sessions serve both.
        // One prepared request per worker, each with the worker's session.
        let per_session = |e: &Endpoint, sessions: &[&str], body| -> Arc<Vec<Prepared>> {
            let requests = sessions.iter().map(|&session| {
                e.prepare(&[("mcp-session-id", session), ("mcp-protocol-version", STATEFUL)], body)
            });
            Arc::new(requests.collect())
        };
        let straight = |d: Endpoint| {
            let requests = per_session(&d, &direct_sessions, direct_body);
            move |worker: usize| {
                let request = requests[worker].clone();
                async move { request.fire().await }
            }
        };
        let through_requests = per_session(&gateway, &through_sessions, through_body);
        let answer = through_requests[max - 1].answer().await;
        assert!(answer.contains("hello") && !answer.contains("isError"), "{answer}");
        for concurrency in concurrency_levels() {
            let requests = through_requests.clone();
            let through = move |worker: usize| {
                let request = requests[worker].clone();
                async move { request.fire().await }
            };
            let (direct, floor) = (straight(direct.clone()), straight(floored.clone()));
            results.push(compare(pid, &floor_proxy, concurrency, direct, floor, through).await);
        }
        summary(&results);
    }
}

/// Section 3: one server aggregating 20 upstreams (2 tools each): tools/list and tools/call
/// (round robin over the upstreams' `echo`), stateless 2026-07-28.
async fn aggregate(client: &reqwest::Client, base: &str, pid: u32, upstream: SocketAddr) {
    let (server_id, key) = create_server(client, base, "Aggregate", "aggregate").await;
    for n in 0..AGGREGATED {
        let url = format!("http://{upstream}/u/{n}/mcp");
        attach_upstream(client, base, &server_id, &format!("agg_{n:02}"), &url).await;
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
