//! The processes a run talks to besides the load generator: the fast HTTP backend and MCP
//! upstream (in this process or one of their own), the floor proxies, third-party upstreams,
//! and the gateway under test.

use super::*;

/// `process` runs the HTTP backend and the MCP upstream in a process of their own rather than
/// in the load generator's ([`Peers`]).
pub(crate) const PEERS_KIND: &str = "GATEHOUSE_BENCH_PEERS";

/// Environment variable that turns this binary into the peers' process, serving the backend
/// and the upstream at its two comma-separated addresses.
pub(crate) const PEERS_SERVE: &str = "GATEHOUSE_BENCH_PEERS_SERVE";

/// The peers' process, when they run in one: its CPU time counts with the load generator's.
pub(crate) static PEERS_PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// The HTTP backend and the MCP upstream the calls go to.
pub(crate) struct Peers {
    pub(crate) backend: SocketAddr,
    pub(crate) upstream: SocketAddr,
    /// Their own process, when `GATEHOUSE_BENCH_PEERS=process`.
    pub(crate) child: Option<Child>,
}

impl Peers {
    /// In this process (the default: the direct path is then a call between two tasks of one
    /// runtime), or in a process of their own, as a real backend is (`GATEHOUSE_BENCH_PEERS=
    /// process`: every hop of both paths then goes between processes).
    pub(crate) async fn start() -> Self {
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

/// The peers' process: the backend and the upstream at the given addresses, until killed.
pub(crate) async fn serve_peers(addrs: &str) {
    let (backend, upstream) = addrs.split_once(',').expect("two addresses");
    serve_on(backend_app(), backend.parse().expect("the backend's address")).await;
    serve_on(upstream_app(), upstream.parse().expect("the upstream's address")).await;
    std::future::pending::<()>().await;
}

/// Environment variable that turns this binary into the floor proxy, forwarding to its value.
pub(crate) const PROXY_TARGET: &str = "GATEHOUSE_BENCH_PROXY_TARGET";

/// Where the floor proxy listens.
pub(crate) const PROXY_BIND: &str = "GATEHOUSE_BENCH_PROXY_BIND";

/// `lean` makes the floor [`lean_floor_proxy`] instead of [`floor_proxy`].
pub(crate) const FLOOR_KIND: &str = "GATEHOUSE_BENCH_FLOOR";

/// The leanest floor hyper allows: its HTTP/1 server and client connections and nothing else.
/// Each inbound connection gets one outbound connection of its own, driven by the same task
/// (HTTP/1.1 carries one request at a time, so no pool and no hand-over between tasks), and
/// requests and answers stream through unbuffered, headers and all.
pub(crate) async fn lean_floor_proxy(target: String) {
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
pub(crate) async fn floor_proxy(target: String) {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    type Pool = Client<HttpConnector, Full<axum::body::Bytes>>;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    // Idle connections are dropped before the 5 s after which Node and uvicorn close them.
    let pool: Pool = Client::builder(TokioExecutor::new())
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(3))
        .build(connector);
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
            let (mut parts, body) = answer.into_parts();
            let streamed = parts
                .headers
                .get(axum::http::header::CONTENT_TYPE)
                .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
            if streamed {
                // An SSE stream (a legacy HTTP+SSE session's) is passed on as it comes, as
                // Gatehouse passes it on.
                return Response::from_parts(parts, axum::body::Body::new(body));
            }
            let Ok(body) = body.collect().await else {
                return StatusCode::BAD_GATEWAY.into_response();
            };
            // The answer is sent on whole: its framing is this connection's, not the upstream's
            // (a chunked SSE answer, Node's, would otherwise be framed twice).
            for hop in ["transfer-encoding", "connection", "keep-alive", "content-length"] {
                parts.headers.remove(hop);
            }
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
pub(crate) struct FloorProxy {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl FloorProxy {
    /// Starts this binary again as the floor proxy in front of `target` (under
    /// `GATEHOUSE_BENCH_WRAP` too, so that a profile can compare it with the gateway's).
    pub(crate) async fn start(target: SocketAddr) -> Self {
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// SIGTERM first (a graceful stop; a profiler wrapping the process writes its output), then
/// SIGKILL after 30 s.
pub(crate) fn stop(child: &mut Child) {
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

/// The HTTP-tool backend: the smallest JSON answer hyper can give, so the gateway is what is
/// measured.
pub(crate) async fn start_backend() -> SocketAddr {
    serve(backend_app()).await
}

pub(crate) fn backend_app() -> axum::Router {
    use axum::routing::post;
    axum::Router::new().route(
        "/weather/{city}",
        post(|axum::extract::Path(city): axum::extract::Path<String>, body: axum::body::Bytes| async move {
            axum::Json(json!({"city": city, "temperature": 22, "echo": body.len()}))
        }),
    )
}

pub(crate) async fn serve(app: axum::Router) -> SocketAddr {
    serve_on(app, "127.0.0.1:0".parse().unwrap()).await
}

/// Serves `app` at `addr` (port 0: any free port); the address it serves at.
pub(crate) async fn serve_on(app: axum::Router, addr: SocketAddr) -> SocketAddr {
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
pub(crate) async fn start_upstream() -> SocketAddr {
    serve(upstream_app()).await
}

pub(crate) fn upstream_app() -> axum::Router {
    use axum::routing::post;
    axum::Router::new()
        .route("/mcp", post(upstream_post))
        .route("/u/{n}/mcp", post(|headers: HeaderMap, body: axum::body::Bytes| upstream_post(headers, body)))
}

pub(crate) static SESSIONS: AtomicUsize = AtomicUsize::new(0);

pub(crate) async fn upstream_post(headers: HeaderMap, body: axum::body::Bytes) -> Response {
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

pub(crate) struct Gateway {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) _dir: tempfile::TempDir,
}

impl Gateway {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn rss_mib(&self, field: &str) -> f64 {
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
    pub(crate) fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

/// Starts the gateway in dev mode, with RevenueCat's API at `vendors`.
pub(crate) fn start_gateway(vendors: SocketAddr) -> Gateway {
    start_gateway_with(vendors, &[])
}

/// [`start_gateway`] with `extra` environment variables.
pub(crate) fn start_gateway_with(vendors: SocketAddr, extra: &[(&str, &str)]) -> Gateway {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    // `GATEHOUSE_BENCH_WRAP="valgrind --tool=callgrind"` runs the gateway under a profiler.
    let wrap = std::env::var("GATEHOUSE_BENCH_WRAP").unwrap_or_default();
    let mut argv: Vec<&str> = wrap.split_whitespace().collect();
    // Cargo builds the binary with the bench profile (release) before the bench runs; a
    // `cargo build --release` here would rebuild dependencies the bench build just made.
    // `GATEHOUSE_BENCH_GATEWAY` runs another build instead (an earlier commit's, to compare).
    let binary = std::env::var("GATEHOUSE_BENCH_GATEWAY").unwrap_or(env!("CARGO_BIN_EXE_gatehouse").into());
    argv.extend([binary.as_str(), "serve", "--dev"]);
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_LOG", "warn")
        .env("GATEHOUSE_REVENUECAT_API_URL", format!("http://{vendors}"))
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Gateway { child, base: format!("http://127.0.0.1:{port}"), _dir: dir }
}

/// A third party's MCP server, run from the test dependencies for section 5; stopped on drop.
pub(crate) struct ThirdParty {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl ThirdParty {
    /// `program args… <port>` (or `PORT=<port>` in its environment), waited for until it listens.
    pub(crate) fn start(program: &str, args: &[&str], port_as_arg: bool) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // A path is the repository's; a bare name is found on the PATH.
        let mut command =
            if program.contains('/') { Command::new(root.join(program)) } else { Command::new(program) };
        command.current_dir(root).args(args).env("PORT", port.to_string());
        if port_as_arg {
            command.arg(port.to_string());
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} runs (scripts/install-test-deps.sh installs it): {e}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "{program} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr }
    }

    /// The reference server `@modelcontextprotocol/server-everything` (TypeScript SDK) over
    /// Streamable HTTP.
    pub(crate) fn node_everything() -> Self {
        let entry = ".test-deps/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
        Self::start("node", &[entry, "streamableHttp"], false)
    }

    /// The same over the legacy HTTP+SSE transport (`GET /sse`, messages POSTed to the endpoint
    /// it names).
    pub(crate) fn node_everything_sse() -> Self {
        let entry = ".test-deps/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
        Self::start("node", &[entry, "sse"], false)
    }

    /// An `echo` server written with the official Python SDK (`tests/support/py_sdk_server.py`).
    pub(crate) fn python_sdk() -> Self {
        Self::start(
            ".test-deps/venv/bin/python",
            &["tests/support/py_sdk_server.py", "streamable-http"],
            true,
        )
    }
}
