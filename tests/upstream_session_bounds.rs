//! Story: many client sessions do not turn into as many upstream sessions. An upstream that
//! keeps no session (no `Mcp-Session-Id`, or the stateless revision) is reached through the one
//! shared connection whatever the number of clients; one that keeps sessions gets one per
//! client session, but one API key holds at most its share of them on a node, its least
//! recently used given up first.

mod common;

use common::mcp::McpClient;
use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

const ORG: &str = "/api/orgs/default";
/// Per API key on one node (`upstream::pool::MAX_SESSION_CONNECTIONS_PER_KEY`).
const PER_KEY: usize = 100;

/// A server `name` with `upstream` attached (tools unprefixed) and a key; returns (slug, key).
async fn serve(server: &TestServer, name: &str, upstream: &PyUpstream) -> (String, String) {
    let up = server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": name, "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(up["upstream"]["status"], "connected", "{up}");
    let uid = up["upstream"]["upstreamId"].as_str().unwrap();
    let srv = server.post(&format!("{ORG}/servers"), None, json!({"name": name})).await.expect(201).body;
    let sid = srv["server"]["serverId"].as_str().unwrap();
    server
        .put(&format!("{ORG}/servers/{sid}/upstreams/{uid}"), None, json!({"prefix": ""}))
        .await
        .expect(200);
    let key =
        server.post(&format!("{ORG}/servers/{sid}/keys"), None, json!({"label": "k"})).await.expect(201);
    (srv["server"]["slug"].as_str().unwrap().to_string(), key.body["rawValue"].as_str().unwrap().to_string())
}

async fn echo(client: &mut McpClient<'_>, message: &str) -> Value {
    let reply =
        client.request("tools/call", json!({"name": "echo", "arguments": {"message": message}})).await;
    reply.expect(200).body
}

async fn upstream_sessions(server: &TestServer) -> u64 {
    let metrics = server.metrics().await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"gatehouse_upstream_connections{kind="session"} "#))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no session gauge in {metrics}"))
}

async fn client_sessions_share_or_bound_upstream_sessions(backend: Backend) {
    let server = TestServer::dev(backend).await;

    // Stateless upstream: every client session goes through the shared connection.
    let modern = PyUpstream::start_modern();
    let (slug, key) = serve(&server, "Modern", &modern).await;
    for i in 0..20 {
        let mut client = McpClient::new(&server, &format!("/mcp/default/{slug}"), Some(&key), "2025-06-18");
        client.initialize().await.expect(200);
        let reply = echo(&mut client, &format!("m{i}")).await;
        assert_eq!(reply["result"]["content"][0]["text"], format!("Echo: m{i}"), "{reply}");
    }
    assert_eq!(upstream_sessions(&server).await, 0);

    // Stateful upstream: one upstream session per client session, up to the key's share.
    let stateful = PyUpstream::start();
    let (slug, key) = serve(&server, "Stateful", &stateful).await;
    let mut clients = Vec::new();
    for i in 0..PER_KEY + 20 {
        let mut client = McpClient::new(&server, &format!("/mcp/default/{slug}"), Some(&key), "2025-06-18");
        client.initialize().await.expect(200);
        let reply = echo(&mut client, &format!("s{i}")).await;
        assert_eq!(reply["result"]["content"][0]["text"], format!("Echo: s{i}"), "{reply}");
        clients.push(client);
    }
    assert_eq!(upstream_sessions(&server).await, PER_KEY as u64);
    // A client whose upstream session was given up gets a new one on its next call.
    let reply = echo(&mut clients[0], "again").await;
    assert_eq!(reply["result"]["content"][0]["text"], "Echo: again", "{reply}");
    assert_eq!(upstream_sessions(&server).await, PER_KEY as u64);
}

backend_tests!(client_sessions_share_or_bound_upstream_sessions);
