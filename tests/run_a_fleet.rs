//! Story: Gatehouse run as a fleet — several `gatehouse serve` processes on one PostgreSQL
//! database behind a real load balancer (HAProxy, round robin, no stickiness, checking
//! `/ready`). Nodes starting at once migrate the database once; any node serves any request,
//! sessions included; a change made through one node is in force on every node; a node killed
//! outright fails only the calls it had in flight; a node stopped with SIGTERM drains, so a
//! rolling restart fails nothing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use common::balancer::{Balancer, free_port};
use common::gateway::{approve, attach, create_server, create_upstream};
use common::process::Process;
use common::upstreams::PyUpstream;
use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

/// `n` nodes started at once on the database at `url`, sharing a master key; each serves the
/// fleet's public URL and drains for `drain_secs` when stopped.
fn start_nodes(n: usize, url: &str, master_key: &str, public_url: &str, drain_secs: &str) -> Vec<Process> {
    let started: Vec<_> = (0..n)
        .map(|_| {
            let (url, key, public) = (url.to_string(), master_key.to_string(), public_url.to_string());
            let drain = drain_secs.to_string();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let env = [
                    ("GATEHOUSE_DATABASE_URL", url.as_str()),
                    ("GATEHOUSE_MASTER_KEY", key.as_str()),
                    ("GATEHOUSE_PUBLIC_URL", public.as_str()),
                    ("GATEHOUSE_DRAIN_DELAY_SECS", drain.as_str()),
                    ("GATEHOUSE_DB_MAX_CONNECTIONS", "4"),
                ];
                let node = Process::start_with(&["serve", "--dev"], dir.path(), &env);
                (node, dir)
            })
        })
        .collect();
    started
        .into_iter()
        .map(|t| {
            let (node, dir) = t.join().expect("a node starts");
            // The data directory holds nothing a node on PostgreSQL needs once started.
            drop(dir);
            node
        })
        .collect()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(format!("{base}/ready")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{base} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Three nodes starting at once on an empty database: one applies the migrations while the
/// others wait for it, dev mode is set up once, and all three are ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_at_once_migrate_once() {
    if !common::postgres_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Postgres, dir.path()).await;
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let nodes = start_nodes(3, &db.url, &key, "http://gatehouse.test", "0");
    let client = reqwest::Client::new();
    for node in &nodes {
        wait_ready(&client, &node.base).await;
        let orgs: Value =
            client.get(format!("{}/api/orgs", node.base)).send().await.unwrap().json().await.unwrap();
        let slugs: Vec<&str> =
            orgs["orgs"].as_array().unwrap().iter().map(|o| o["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["default"], "one default org, whichever node made it: {orgs}");
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let files =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap().count();
    assert_eq!((rows, distinct), (files as i64, files as i64));
}

/// One `echo` call with a client's own HTTP connection pool, through the balancer: stateful
/// (with its session) or stateless (2026-07-28). Never panics: what failed, it says.
async fn try_echo(http: &reqwest::Client, url: &str, session: Option<&str>, ms: u64) -> Result<(), String> {
    let mut params = json!({"name": "slow", "arguments": {"ms": ms}});
    let mut req = http.post(url).header("accept", "application/json, text/event-stream");
    match session {
        Some(id) => req = req.header("mcp-session-id", id).header("mcp-protocol-version", "2025-06-18"),
        None => {
            params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "fleet", "version": "1"}});
            req = req
                .header("mcp-protocol-version", MODERN)
                .header("mcp-method", "tools/call")
                .header("mcp-name", "slow");
        }
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let r = req.json(&body).send().await.map_err(|e| format!("transport: {e}"))?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| format!("body: {e}"))?;
    if status != 200 || !text.contains("slept") {
        return Err(format!("{status}: {text}"));
    }
    Ok(())
}

/// Clients calling through the balancer until `stop`: half stateful (each its own session),
/// half stateless. Answers (successes, failures) since `mark` was raised, and before.
struct Load {
    ok_after: Arc<AtomicUsize>,
    failed: Arc<std::sync::Mutex<Vec<String>>>,
    mark: Arc<std::sync::atomic::AtomicBool>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    async fn start(lb: &TestServer, slug: &str, clients: usize) -> Load {
        let url = format!("{}/mcp/default/{slug}", lb.base);
        let load = Load {
            ok_after: Arc::default(),
            failed: Arc::default(),
            mark: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        };
        let mut tasks = Vec::new();
        for i in 0..clients {
            let session = if i % 2 == 0 {
                let mut c =
                    common::mcp::McpClient::new(lb, &format!("/mcp/default/{slug}"), None, "2025-06-18");
                c.initialize().await.expect(200);
                Some(c.session.clone().unwrap())
            } else {
                None
            };
            let (url, ok_after, failed) = (url.clone(), load.ok_after.clone(), load.failed.clone());
            let (mark, stop) = (load.mark.clone(), load.stop.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    match try_echo(&http, &url, session.as_deref(), 40).await {
                        Ok(()) if mark.load(Ordering::Relaxed) => {
                            ok_after.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(()) => {}
                        Err(e) => {
                            failed.lock().unwrap().push(e);
                            // A client that failed tries again a moment later, as one would.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }));
        }
        Load { tasks, ..load }
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        (self.ok_after.load(Ordering::Relaxed), self.failed.lock().unwrap().clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_node_serves_any_request() {
    if !common::postgres_available().await {
        return;
    }
    // One node sets the fleet up: a server with an upstream whose tools are approved.
    let setup = TestServer::dev(Backend::Postgres).await;
    let upstream = PyUpstream::start();
    let (server_id, slug) = create_server(&setup, "Fleet").await;
    let up = create_upstream(
        &setup,
        json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
    )
    .await;
    let uid = up["upstreamId"].as_str().unwrap().to_string();
    attach(&setup, &server_id, &uid, json!({"prefix": ""})).await;

    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let key = std::fs::read_to_string(setup.data_dir.path().join("master.key")).unwrap();
    let mut nodes = start_nodes(3, &setup.config.database_url, key.trim(), &public, "2");
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let Some(_balancer) = Balancer::start(port, &bases) else { return };
    let client = reqwest::Client::new();
    for base in &bases {
        wait_ready(&client, base).await;
    }
    let lb = setup.at(&public);
    // The balancer's checks have found every node up.
    tokio::time::sleep(Duration::from_millis(600)).await;

    // A stateful session's requests land on every node in turn; each serves it.
    let mut session = common::gateway::session(&lb, &slug, "2025-06-18").await;
    for i in 0..9 {
        let r = common::gateway::call(&mut session, "echo", json!({"message": format!("m{i}")})).await;
        assert_eq!(common::gateway::text_of(&r), format!("Echo: m{i}"));
    }

    // Each node names itself in its metrics, and says how its pool and buffers are doing.
    let mut names = std::collections::BTreeSet::new();
    for base in &bases {
        let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        let info = text.lines().find(|l| l.starts_with("gatehouse_node_info{")).expect("node info");
        names.insert(info.split('"').nth(1).unwrap().to_string());
        assert!(text.contains("gatehouse_db_pool_max_connections 4"), "{text}");
        assert!(text.contains("gatehouse_usage_flush_age_seconds"), "{text}");
    }
    assert_eq!(names.len(), 3, "{names:?}");

    // A change through one node is in force on every node: no node serves `add` once it is
    // rejected through the first.
    let on = |i: usize| setup.at(&bases[i]);
    approve(&on(0), &uid, "add", "rejected").await;
    let since = Instant::now();
    for i in 0..3 {
        let node = on(i);
        let mut c = common::mcp::McpClient::new(&node, &format!("/mcp/default/{slug}"), None, MODERN);
        while common::gateway::tool_names(&mut c).await.contains(&"add".to_string()) {
            assert!(since.elapsed() < Duration::from_secs(5), "node {i} still serves a rejected tool");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // A node killed outright: only the calls it had in flight fail, and a call the balancer
    // sent over a connection it had kept open to that node before it noticed (at most one of
    // each per client); sessions carry on through the others.
    let load = Load::start(&lb, &slug, 4).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    nodes[1].child.kill().unwrap();
    load.mark.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (ok_after, failed) = load.finish().await;
    assert!(failed.len() <= 8, "more failed than the node had in flight or open: {failed:?}");
    assert!(ok_after >= 8, "calls carried on after the kill: {ok_after}");

    // A node stopped with SIGTERM drains: the balancer stops sending it requests while it
    // still serves them, and it finishes what it has in flight; nothing fails.
    let load = Load::start(&lb, &slug, 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    nodes[2].signal("-TERM");
    load.mark.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let (ok_after, failed) = load.finish().await;
    assert_eq!(failed, Vec::<String>::new(), "a draining node failed calls");
    assert!(ok_after >= 8, "calls carried on: {ok_after}");
    assert!(nodes[2].wait_exit().success());
    let log = nodes[2].log_lines().join("\n");
    assert!(log.contains("draining"), "{log}");
}

/// A stopping node says it is draining on `/ready` (still alive on `/health`) while it keeps
/// serving, finishes the call it has in flight, then exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_node_drains() {
    let upstream = PyUpstream::start();
    let dir = tempfile::tempdir().unwrap();
    let mut node = Process::start(dir.path(), &[("GATEHOUSE_DRAIN_DELAY_SECS", "1")]);
    let server = TestServer::dev(Backend::Sqlite).await;
    let at = server.at(&node.base);
    let (server_id, slug) = create_server(&at, "Drain").await;
    let up = create_upstream(
        &at,
        json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
    )
    .await;
    attach(&at, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{}/ready", node.base)).send().await.unwrap().status(), 200);

    let url = format!("{}/mcp/default/{slug}", node.base);
    let in_flight = tokio::spawn({
        let (http, url) = (http.clone(), url.clone());
        async move { try_echo(&http, &url, None, 1800).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    node.signal("-TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = http.get(format!("{}/ready", node.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["code"], "draining");
    assert_eq!(http.get(format!("{}/health", node.base)).send().await.unwrap().status(), 200);
    assert_eq!(try_echo(&http, &url, None, 10).await, Ok(()), "still served during the delay");
    assert_eq!(in_flight.await.unwrap(), Ok(()), "the call in flight finished");
    assert!(node.wait_exit().success());
}
