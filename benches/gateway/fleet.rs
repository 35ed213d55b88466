//! Section 10: Gatehouse as a fleet — 1, 2 and 3 nodes (this build, as processes) on one
//! PostgreSQL database behind HAProxy, against one node reached directly, calling an HTTP tool
//! on the fast backend; then how long a change made through one node takes to be in force on
//! every node, and what a node killed under load costs its clients. On two cores the point is
//! correctness and overhead, not speed-up. Needs PostgreSQL (`GATEHOUSE_BENCH_POSTGRES_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`) and Debian's HAProxy; without them
//! the section says so and is skipped.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::json;
use sqlx::Connection;

use crate::client::{Prepared, add_weather_tool, create_server, post_json, stateless_meta};
use crate::integrations::weather_call;
use crate::load::{Stats, concurrency_levels, header, load_processes, median, rounds, row};
use crate::peers::stop;

const HAPROXY: &str = "/usr/sbin/haproxy";
const NODES: usize = 3;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process stopped on drop, with the directory it was given (removed after it).
struct Running {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn start_node(db: &str, key: &str, port: u16, public: &str) -> Running {
    let binary = std::env::var("GATEHOUSE_BENCH_GATEWAY").unwrap_or(env!("CARGO_BIN_EXE_gatehouse").into());
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(binary)
        .args(["serve", "--dev"])
        .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_DATABASE_URL", db)
        .env("GATEHOUSE_MASTER_KEY", key)
        .env("GATEHOUSE_PUBLIC_URL", public)
        .env("GATEHOUSE_DRAIN_DELAY_SECS", "0")
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Running { child, _dir: dir }
}

fn start_balancer(port: u16, nodes: &[u16]) -> Running {
    let servers: String =
        nodes.iter().enumerate().map(|(i, p)| format!("  server n{i} 127.0.0.1:{p} check\n")).collect();
    let config = format!(
        "global\n  maxconn 4096\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\n  \
         retries 3\n  option redispatch 1\n  retry-on conn-failure\n\
         frontend fleet\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
         backend nodes\n  balance roundrobin\n  option httpchk GET /ready\n  http-check expect status 200\n  \
         default-server inter 200ms fall 2 rise 1\n{servers}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(HAPROXY)
        .args(["-db", "-f"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Running { child, _dir: dir }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} never became ready");
}

pub(crate) async fn fleet(client: &reqwest::Client, backend: SocketAddr) {
    let admin = std::env::var("GATEHOUSE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        println!("\n### Fleet\n\nskipped: no PostgreSQL at {admin}");
        return;
    };
    if !std::path::Path::new(HAPROXY).exists() {
        println!("\n### Fleet\n\nskipped: HAProxy is not installed (scripts/install-test-deps.sh)");
        return;
    }
    let name = format!("gh_bench_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let db = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());

    let node_ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let lb_ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let public = format!("http://127.0.0.1:{}", lb_ports[NODES - 1]);
    let mut nodes: Vec<Running> = Vec::new();
    for &port in &node_ports {
        nodes.push(start_node(&db, &key, port, &public));
        wait_ready(client, &format!("http://127.0.0.1:{port}")).await;
    }
    let first = format!("http://127.0.0.1:{}", node_ports[0]);
    let (server_id, api_key) = create_server(client, &first, "Fleet", "fleet").await;
    add_weather_tool(client, &first, &server_id, backend).await;
    // Balancer n sends to the first n nodes.
    let balancers: Vec<Running> =
        (0..NODES).map(|n| start_balancer(lb_ports[n], &node_ports[..=n])).collect();
    for &port in &lb_ports {
        wait_ready(client, &format!("http://127.0.0.1:{port}")).await;
    }
    // Every balancer's checks have found its nodes up.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let node_pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
    let mut paths: Vec<(String, Prepared, Vec<u32>)> = vec![(
        "1 node, direct".into(),
        weather_call(client, &format!("{first}/mcp/default/fleet"), ("x-api-key", &api_key)),
        vec![node_pids[0]],
    )];
    for n in 0..NODES {
        let url = format!("http://127.0.0.1:{}/mcp/default/fleet", lb_ports[n]);
        let mut middle = node_pids[..=n].to_vec();
        middle.push(balancers[n].child.id());
        let label = format!("{} node{} behind HAProxy", n + 1, if n == 0 { "" } else { "s" });
        paths.push((label, weather_call(client, &url, ("x-api-key", &api_key)), middle));
    }
    for (label, prepared, _) in &paths {
        let answer = prepared.answer().await;
        assert!(answer.contains("Lisbon"), "{label}: {answer}");
    }
    header("Fleet: an HTTP tool through 1, 2 and 3 nodes behind HAProxy (CPU: the nodes and the balancer)");
    for concurrency in concurrency_levels() {
        let mut runs: Vec<Vec<Stats>> = paths.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds() {
            for (i, (_, prepared, middle)) in paths.iter().enumerate() {
                runs[i].push(load_processes(concurrency, prepared, middle).await);
            }
        }
        for ((label, _, _), path_runs) in paths.iter().zip(runs) {
            row(label, concurrency, &median(path_runs));
        }
    }

    propagation(client, &node_ports, &server_id, &api_key, backend).await;
    let through_three = format!("http://127.0.0.1:{}/mcp/default/fleet", lb_ports[NODES - 1]);
    node_killed(client, &through_three, &api_key, &mut nodes).await;
    drop(balancers);
    drop(nodes);
    let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn).await;
}

/// A stateless MCP request to `url` with the API key: the JSON-RPC answer, or why there is none.
async fn ask(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let mut params = params;
    params["_meta"] = stateless_meta();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", crate::STATELESS)
        .header("mcp-method", method)
        .header("x-api-key", key)
        .json(&body);
    let r = match params.get("name").and_then(serde_json::Value::as_str) {
        Some(name) => r.header("mcp-name", name),
        None => r,
    };
    let r = r.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    // A JSON answer, or an SSE stream whose last event is the answer.
    let answer = match text.trim_start().starts_with('{') {
        true => serde_json::from_str(&text).ok(),
        false => text
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data: "))
            .find_map(|d| serde_json::from_str(d).ok()),
    };
    match answer {
        Some(answer) if status == 200 => Ok(answer),
        _ => Err(format!("{status}: {text}")),
    }
}

/// Adds a tool through the first node and times until `tools/list` on every node shows it,
/// then removes it and times until none does.
async fn propagation(
    client: &reqwest::Client,
    node_ports: &[u16],
    server_id: &str,
    key: &str,
    backend: SocketAddr,
) {
    let first = format!("http://127.0.0.1:{}", node_ports[0]);
    let everywhere = |present: bool| async move {
        for &port in node_ports {
            let url = format!("http://127.0.0.1:{port}/mcp/default/fleet");
            loop {
                let listed = ask(client, &url, key, "tools/list", json!({})).await.unwrap();
                let tools = listed["result"]["tools"].as_array().cloned().unwrap_or_default();
                if tools.iter().any(|t| t["name"] == "fleet_probe") == present {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
        }
    };
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let started = Instant::now();
        let tool = post_json(
            client,
            &format!("{first}/api/orgs/default/servers/{server_id}/tools"),
            &[],
            &json!({"name": "fleet_probe", "description": "Probe", "method": "GET",
                    "endpointUrl": format!("http://{backend}/weather/x"), "parameters": []}),
        )
        .await;
        everywhere(true).await;
        added.push(started.elapsed());
        let id = tool["tool"]["toolId"].as_str().unwrap().to_string();
        let started = Instant::now();
        let gone = client
            .delete(format!("{first}/api/orgs/default/servers/{server_id}/tools/{id}"))
            .send()
            .await
            .unwrap();
        assert!(gone.status().is_success(), "deleting the probe: {}", gone.status());
        everywhere(false).await;
        removed.push(started.elapsed());
    }
    let show = |mut d: Vec<Duration>| {
        d.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!("median {:.1} ms, max {:.1} ms", ms(d[d.len() / 2]), ms(d[d.len() - 1]))
    };
    println!();
    println!(
        "A change made through one node, in force on all {}: a tool added, {}; removed, {} (10 of each, from the request to the last node's tools/list showing it).",
        node_ports.len(),
        show(added),
        show(removed)
    );
}

/// Calls through the three-node balancer at concurrency 16 for four seconds, killing one node
/// (SIGKILL) after one: how many calls failed, against how many were made.
async fn node_killed(client: &reqwest::Client, url: &str, key: &str, nodes: &mut [Running]) {
    let stop_at = Instant::now() + Duration::from_secs(4);
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, key) = (client.clone(), url.to_string(), key.to_string());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0usize, Vec::new());
                while Instant::now() < stop_at {
                    match ask(
                        &client,
                        &url,
                        &key,
                        "tools/call",
                        json!({"name": "get_weather", "arguments": {"city": "Lisbon"}}),
                    )
                    .await
                    {
                        Ok(_) => ok += 1,
                        Err(e) => failed.push(e.chars().take(80).collect::<String>()),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = nodes[1].child.kill();
    let (mut ok, mut failed) = (0, Vec::new());
    for w in workers {
        let (o, f) = w.await.unwrap();
        ok += o;
        failed.extend(f);
    }
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for f in &failed {
        // The status, or that the request got no answer at all.
        let kind = if f.starts_with("error sending") {
            "no answer".to_string()
        } else {
            f.chars().take(3).collect()
        };
        *kinds.entry(kind).or_default() += 1;
    }
    println!();
    println!(
        "A node killed (SIGKILL) under 16 concurrent clients through 3 nodes: {} of {} calls failed ({kinds:?}).",
        failed.len(),
        ok + failed.len(),
    );
}
