//! Story: what an upstream is given to present — its request headers, like its credential and
//! environment — is sealed with the master key before it touches the database, so a copy of
//! the database files (or the SQLite write-ahead log) holds no usable value; headers stored in
//! the clear by an earlier version are sealed when Gatehouse starts.

mod common;

use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

const ORG: &str = "/api/orgs/default";
const HEADER_SECRET: &str = "hdr-secret-3f9a0c71d2";
const LEGACY_SECRET: &str = "legacy-hdr-secret-81b4e2";

/// Every byte the database holds for the upstreams table: the SQLite files (main and WAL), or
/// PostgreSQL's rows as text.
async fn stored_text(server: &TestServer) -> String {
    use sqlx::{Connection, Row};
    let url = &server.config.database_url;
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query("SELECT row_to_json(u)::text AS row FROM upstreams u")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<String, _>("row")).collect::<Vec<_>>().join("\n")
    } else {
        let mut text = String::new();
        for file in ["gatehouse.db", "gatehouse.db-wal"] {
            if let Ok(bytes) = std::fs::read(server.data_dir.path().join(file)) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        text
    }
}

async fn execute(server: &TestServer, sql: &str) {
    use sqlx::{Connection, Executor};
    let url = &server.config.database_url;
    if url.starts_with("postgres") {
        sqlx::PgConnection::connect(url).await.unwrap().execute(sql).await.unwrap();
    } else {
        sqlx::SqliteConnection::connect(url).await.unwrap().execute(sql).await.unwrap();
    }
}

/// The headers the upstream saw on a call of its `headers` tool.
async fn headers_seen(server: &TestServer, slug: &str, key: &str) -> Value {
    let mut client =
        common::mcp::McpClient::new(server, &format!("/mcp/default/{slug}"), Some(key), "2025-06-18");
    client.initialize().await.expect(200);
    let reply =
        client.request("tools/call", json!({"name": "headers", "arguments": {}})).await.expect(200).body;
    serde_json::from_str(reply["result"]["content"][0]["text"].as_str().unwrap()).unwrap()
}

async fn request_headers_are_sealed_at_rest(backend: Backend) {
    let upstream = PyUpstream::start();
    let mut server = TestServer::dev(backend).await;
    let created = server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": "Tenant", "transport": "streamable_http", "url": upstream.url(),
                   "approvalPolicy": "auto_approve",
                   "requestHeaders": {"X-Api-Key": HEADER_SECRET, "X-Region": "eu-west"}}),
        )
        .await
        .expect(201)
        .body;
    let uid = created["upstream"]["upstreamId"].as_str().unwrap().to_string();
    assert_eq!(
        created["upstream"]["requestHeaders"],
        json!({"X-Api-Key": "********", "X-Region": "eu-west"})
    );
    let srv = server.post(&format!("{ORG}/servers"), None, json!({"name": "Sealed"})).await.expect(201).body;
    let (sid, slug) = (srv["server"]["serverId"].as_str().unwrap(), srv["server"]["slug"].as_str().unwrap());
    server
        .put(&format!("{ORG}/servers/{sid}/upstreams/{uid}"), None, json!({"prefix": ""}))
        .await
        .expect(200);
    let key =
        server.post(&format!("{ORG}/servers/{sid}/keys"), None, json!({"label": "k"})).await.expect(201);
    let key = key.body["rawValue"].as_str().unwrap().to_string();

    assert_eq!(headers_seen(&server, slug, &key).await["x-api-key"], HEADER_SECRET);
    let at_rest = stored_text(&server).await;
    assert!(at_rest.contains("Tenant"), "the dump reads the upstreams table");
    assert!(!at_rest.contains(HEADER_SECRET), "a request header's value is stored in the clear");

    // A row as an earlier version wrote it: headers in the clear, nothing sealed.
    let legacy = format!(r#"{{"X-Api-Key":"{LEGACY_SECRET}"}}"#);
    execute(
        &server,
        &format!(
            "UPDATE upstreams SET request_headers = '{legacy}', headers_sealed = NULL WHERE id = '{uid}'"
        ),
    )
    .await;
    server.restart().await;
    let shown = server.get(&format!("{ORG}/upstreams/{uid}"), None).await.expect(200).body;
    assert_eq!(shown["upstream"]["requestHeaders"], json!({"X-Api-Key": "********"}), "{shown}");
    assert_eq!(headers_seen(&server, slug, &key).await["x-api-key"], LEGACY_SECRET);
    let rows = stored_text(&server).await;
    if server.config.database_url.starts_with("postgres") {
        assert!(!rows.contains(LEGACY_SECRET), "sealed at start, the clear value is gone: {rows}");
    }
}

backend_tests!(request_headers_are_sealed_at_rest);
