//! Gateway benchmark: tools/call through Gatehouse to a fast local HTTP backend, against the
//! same calls straight to the backend, in one run, at concurrency 1, 16 and 64; plus tools/list
//! of a server with 1,000 tools and the gateway's idle and peak RSS.
//!
//! Run: `cargo bench --bench gateway` (builds the release binary first). Results go to stdout
//! as a Markdown table for `docs/PERFORMANCE.md`. Load generator, gateway and backend share
//! the machine's cores, as the targets assume.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

/// The backend: the smallest JSON answer hyper can give, so the gateway is what is measured.
async fn start_backend() -> SocketAddr {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/weather/{city}",
        post(|axum::extract::Path(city): axum::extract::Path<String>, body: axum::body::Bytes| async move {
            axum::Json(json!({"city": city, "temperature": 22, "echo": body.len()}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

struct Gateway {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway() -> Gateway {
    let status = Command::new("cargo").args(["build", "--release", "--bin", "gatehouse"]).status().unwrap();
    assert!(status.success(), "release build failed");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("target/release/gatehouse")
        .args(["serve", "--dev"])
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Gateway { child, base: format!("http://127.0.0.1:{port}"), _dir: dir }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

struct Stats {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `concurrency` workers calling `call` in a loop; returns throughput and latency.
async fn load<F, Fut>(concurrency: usize, call: Arc<F>) -> Stats
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let warm_end = Instant::now() + WARMUP;
    let end = warm_end + MEASURE;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                call().await;
                if start >= warm_end {
                    samples.push(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0.0)
    };
    Stats { rps: all.len() as f64 / MEASURE.as_secs_f64(), p50_ms: pick(0.50), p99_ms: pick(0.99) }
}

async fn post_json(client: &reqwest::Client, url: &str, headers: &[(&str, &str)], body: &Value) -> Value {
    let mut req = client.post(url).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn run() {
    let backend = start_backend().await;
    let gateway = start_gateway();
    let client = reqwest::Client::builder().pool_max_idle_per_host(128).build().unwrap();
    for _ in 0..100 {
        if client.get(format!("{}/health", gateway.base)).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let idle_rss = rss_kib(gateway.child.id(), "VmRSS:");
    let base = &gateway.base;

    // Publish the backend as a server with one tool, and a key.
    let server = post_json(
        &client,
        &format!("{base}/api/orgs/default/servers"),
        &[],
        &json!({"name": "Bench", "slug": "bench"}),
    )
    .await;
    let server_id = server["server"]["serverId"].as_str().unwrap().to_string();
    post_json(
        &client,
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
    let key = post_json(
        &client,
        &format!("{base}/api/orgs/default/servers/{server_id}/keys"),
        &[],
        &json!({"label": "bench"}),
    )
    .await;
    let key = key["rawValue"].as_str().unwrap().to_string();

    let mcp_url = format!("{base}/mcp/default/bench");
    // The stateless 2026-07-28 revision: one POST per call, no session.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let call_body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_weather", "arguments": {"city": "Lisbon", "units": "celsius"}, "_meta": meta}});
    let call_headers = [
        ("x-api-key", key.as_str()),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "get_weather"),
    ];
    // Sanity: one call through the gateway returns the backend's answer.
    let probe = post_json(&client, &mcp_url, &call_headers, &call_body).await;
    assert!(probe.to_string().contains("Lisbon"), "{probe}");

    println!("| path | concurrency | req/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    let mut results = Vec::new();
    for concurrency in [1usize, 16, 64] {
        let direct_url = format!("http://{backend}/weather/Lisbon");
        let c = client.clone();
        let direct = load(
            concurrency,
            Arc::new(move || {
                let c = c.clone();
                let url = direct_url.clone();
                async move {
                    let r = c.post(&url).json(&json!({"units": "celsius"})).send().await.unwrap();
                    let _ = r.bytes().await.unwrap();
                }
            }),
        )
        .await;
        let (c, url, key2, body) = (client.clone(), mcp_url.clone(), key.clone(), call_body.clone());
        let through = load(
            concurrency,
            Arc::new(move || {
                let (c, url, key, body) = (c.clone(), url.clone(), key2.clone(), body.clone());
                async move {
                    let r = c
                        .post(&url)
                        .header("x-api-key", key)
                        .header("mcp-protocol-version", "2026-07-28")
                        .header("mcp-method", "tools/call")
                        .header("mcp-name", "get_weather")
                        .header("accept", "application/json, text/event-stream")
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    let _ = r.bytes().await.unwrap();
                }
            }),
        )
        .await;
        println!(
            "| direct | {concurrency} | {:.0} | {:.3} | {:.3} |",
            direct.rps, direct.p50_ms, direct.p99_ms
        );
        println!(
            "| gateway | {concurrency} | {:.0} | {:.3} | {:.3} |",
            through.rps, through.p50_ms, through.p99_ms
        );
        results.push((concurrency, direct, through));
    }
    println!();
    for (concurrency, direct, through) in &results {
        println!(
            "concurrency {concurrency}: added p50 {:.3} ms, throughput {:.0}% of direct",
            through.p50_ms - direct.p50_ms,
            100.0 * through.rps / direct.rps.max(1.0)
        );
    }

    // tools/list of a server with 1,000 tools.
    let big = post_json(
        &client,
        &format!("{base}/api/orgs/default/servers"),
        &[],
        &json!({"name": "Big", "slug": "big"}),
    )
    .await;
    let big_id = big["server"]["serverId"].as_str().unwrap().to_string();
    for i in 0..1000 {
        post_json(
            &client,
            &format!("{base}/api/orgs/default/servers/{big_id}/tools"),
            &[],
            &json!({"name": format!("tool_{i:04}"), "description": "A tool", "method": "GET",
                    "endpointUrl": format!("http://{backend}/weather/x"), "parameters": [], "auth": {"type": "none"}}),
        )
        .await;
    }
    let big_key = post_json(
        &client,
        &format!("{base}/api/orgs/default/servers/{big_id}/keys"),
        &[],
        &json!({"label": "b"}),
    )
    .await;
    let big_key = big_key["rawValue"].as_str().unwrap().to_string();
    let (c, url, k) = (client.clone(), format!("{base}/mcp/default/big"), big_key.clone());
    let list = load(
        1,
        Arc::new(move || {
            let (c, url, k) = (c.clone(), url.clone(), k.clone());
            async move {
                let r = c
                    .post(&url)
                    .header("x-api-key", k)
                    .header("mcp-protocol-version", "2026-07-28")
                    .header("mcp-method", "tools/list")
                    .header("accept", "application/json, text/event-stream")
                    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
                        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                        "io.modelcontextprotocol/clientCapabilities": {}}}}))
                    .send()
                    .await
                    .unwrap();
                let _ = r.bytes().await.unwrap();
            }
        }),
    )
    .await;
    println!("tools/list, 1,000 tools, concurrency 1: p50 {:.3} ms, p99 {:.3} ms", list.p50_ms, list.p99_ms);
    println!(
        "gateway RSS: idle {:.1} MiB, peak {:.1} MiB",
        idle_rss as f64 / 1024.0,
        rss_kib(gateway.child.id(), "VmHWM:") as f64 / 1024.0
    );
}
