//! Story: an API key's lifecycle step by step — create, list, use, archive, delete rules —
//! plus rotation, and revocation taking effect on the data plane at once (on every node).

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::{Backend, TestServer};
use serde_json::json;

async fn server_with_tool(server: &TestServer, admin: &str, backend: &HttpBackend) -> String {
    server.create_org(admin, "acme").await;
    let s = server
        .post("/api/orgs/acme/servers", Some(admin), json!({"name": "Echo", "slug": "echo"}))
        .await
        .expect(201);
    let id = s.body["server"]["serverId"].as_str().unwrap().to_string();
    server
        .post(
            &format!("/api/orgs/acme/servers/{id}/tools"),
            Some(admin),
            json!({"name": "echo", "description": "Echo", "method": "GET", "endpointUrl": backend.url("/echo")}),
        )
        .await
        .expect(201);
    id
}

async fn seed_001_key_lifecycle(backend_kind: Backend) {
    let backend = HttpBackend::start();
    // request-code mails a code: a real SMTP sink takes it.
    let Some(smtp) = common::smtp::SmtpSink::start() else { return };
    let options = common::Options { smtp_url: Some(smtp.url()), ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend_kind, options).await;
    let sid = server_with_tool(&server, &admin, &backend).await;
    let keys = format!("/api/orgs/acme/servers/{sid}/keys");

    // Create: 201 with rawValue shown once.
    let created = server.post(&keys, Some(&admin), json!({"label": "production"})).await.expect(201);
    let raw = created.body["rawValue"].as_str().unwrap().to_string();
    let key_id = created.body["key"]["keyId"].as_str().unwrap().to_string();
    assert!(raw.starts_with("mcp_"));
    assert_eq!(created.body["key"]["label"], "production");
    assert_eq!(created.body["key"]["status"], "active");
    assert_eq!(created.body["key"]["usageCount"], 0);

    // List: metadata only, never the hash or the value.
    let list = server.get(&keys, Some(&admin)).await.expect(200);
    let k = &list.body["keys"][0];
    for field in ["keyId", "serverId", "orgId", "label", "status", "createdAt", "usageCount"] {
        assert!(k.get(field).is_some(), "missing {field}");
    }
    assert!(!list.text.contains(&raw) && !list.text.to_lowercase().contains("hash"));

    // An unused key can be deleted.
    let spare = server.post(&keys, Some(&admin), json!({"label": "test"})).await.expect(201);
    let spare_id = spare.body["key"]["keyId"].as_str().unwrap();
    server.delete(&format!("{keys}/{spare_id}"), Some(&admin)).await.expect(204);

    // MCP traffic counts as calls (with when), not as usage.
    let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&raw), "2025-06-18");
    client.initialize().await.expect(200);
    client.request("tools/call", json!({"name": "echo", "arguments": {}})).await.expect(200);
    let list = server.get(&keys, Some(&admin)).await.expect(200);
    let k = &list.body["keys"][0];
    assert!(k["callCount"].as_i64().unwrap() >= 2, "{}", list.text);
    assert!(k["lastUsedAt"].as_str().is_some(), "{}", list.text);
    assert_eq!(k["usageCount"], 0, "usage counts request-code calls only");

    // Usage is the request-code calls made with the key, as the seed says.
    let code = server
        .request(reqwest::Method::POST, &format!("/api/orgs/acme/servers/{sid}/auth/request-code"))
        .header("X-API-Key", &raw)
        .json(&json!({"email": "user@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code.status().as_u16(), 200);
    smtp.next_mail();
    let list = server.get(&keys, Some(&admin)).await.expect(200);
    assert_eq!(list.body["keys"][0]["usageCount"], 1, "{}", list.text);

    // A used key cannot be deleted…
    let r = server.delete(&format!("{keys}/{key_id}"), Some(&admin)).await.expect(409);
    assert_eq!(r.body["error"], "Cannot delete a key that has been used. Archive it instead.");
    // …it is archived, once.
    let r = server.patch(&format!("{keys}/{key_id}"), Some(&admin), json!({})).await.expect(200);
    assert_eq!(r.body, json!({"ok": true}));
    let r = server.patch(&format!("{keys}/{key_id}"), Some(&admin), json!({})).await.expect(409);
    assert_eq!(r.body["error"], "Key is already archived");
    let list = server.get(&keys, Some(&admin)).await.expect(200);
    assert_eq!(list.body["keys"][0]["status"], "revoked");

    // The archived key stops working at once, session or not.
    let r = client.request("tools/list", json!({})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let mut fresh = McpClient::new(&server, "/mcp/acme/echo", Some(&raw), "2025-06-18");
    assert_eq!(fresh.initialize().await.status, 401);
    server.delete(&format!("{keys}/key_nope"), Some(&admin)).await.expect_error(404, "not_found");
}

async fn rotation_replaces_the_key_and_is_logged(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let sid = server_with_tool(&server, &admin, &backend).await;
    let keys = format!("/api/orgs/acme/servers/{sid}/keys");
    let created = server.post(&keys, Some(&admin), json!({"label": "ci"})).await.expect(201);
    let old_raw = created.body["rawValue"].as_str().unwrap().to_string();
    let old_id = created.body["key"]["keyId"].as_str().unwrap().to_string();
    let mut old = McpClient::new(&server, "/mcp/acme/echo", Some(&old_raw), "2025-11-25");
    old.initialize().await.expect(200);

    let rotated = server.post(&format!("{keys}/{old_id}/rotate"), Some(&admin), json!({})).await.expect(201);
    let new_raw = rotated.body["rawValue"].as_str().unwrap().to_string();
    assert_eq!(rotated.body["rotatedFrom"], old_id.as_str());
    assert_eq!(rotated.body["key"]["label"], "ci");
    assert_ne!(new_raw, old_raw);

    assert_eq!(old.request("tools/list", json!({})).await.status, 401);
    let mut new = McpClient::new(&server, "/mcp/acme/echo", Some(&new_raw), "2025-11-25");
    new.initialize().await.expect(200);
    new.request("tools/list", json!({})).await.expect(200);

    server
        .post(&format!("{keys}/{old_id}/rotate"), Some(&admin), json!({}))
        .await
        .expect_error(409, "conflict");
    let log = server.get(&format!("{keys}/rotations"), Some(&admin)).await.expect(200);
    assert_eq!(log.body["rotations"][0]["oldKeyId"], old_id.as_str());
    assert_eq!(log.body["rotations"][0]["newKeyId"], rotated.body["key"]["keyId"]);
    assert_eq!(log.body["rotations"][0]["actorType"], "user");

    // Scopes: keys:read lists but cannot rotate; keys:rotate reads the log.
    let reader = server.mint_token(&admin, "acme", &["keys:read"]).await;
    server.get(&keys, Some(&reader)).await.expect(200);
    server.get(&format!("{keys}/rotations"), Some(&reader)).await.expect_error(403, "insufficient_scope");
    server.post(&keys, Some(&reader), json!({"label": "x"})).await.expect_error(403, "insufficient_scope");
}

async fn keys_belong_to_one_server_and_one_org(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let sid = server_with_tool(&server, &admin, &backend).await;
    let other =
        server.post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Other"})).await.expect(201);
    let other_id = other.body["server"]["serverId"].as_str().unwrap().to_string();
    let k = server
        .post(&format!("/api/orgs/acme/servers/{other_id}/keys"), Some(&admin), json!({"label": "x"}))
        .await
        .expect(201);
    let other_key = k.body["rawValue"].as_str().unwrap();
    let other_key_id = k.body["key"]["keyId"].as_str().unwrap();
    // Another server's key: 401 on this server.
    let mut c = McpClient::new(&server, "/mcp/acme/echo", Some(other_key), "2025-06-18");
    assert_eq!(c.initialize().await.status, 401);
    // A key id of another server is not found under this one.
    server
        .patch(&format!("/api/orgs/acme/servers/{sid}/keys/{other_key_id}"), Some(&admin), json!({}))
        .await
        .expect_error(404, "not_found");

    // Another org sees none of it.
    server.create_org(&admin, "rival").await;
    let rival = server
        .mint_token(
            &admin,
            "rival",
            &["servers:read", "servers:write", "servers:delete", "keys:read", "keys:write", "keys:rotate"],
        )
        .await;
    for path in [
        format!("/api/orgs/rival/servers/{sid}"),
        format!("/api/orgs/rival/servers/{sid}/tools"),
        format!("/api/orgs/rival/servers/{sid}/keys"),
        format!("/api/orgs/rival/servers/{sid}/keys/rotations"),
        format!("/api/orgs/acme/servers/{sid}"),
    ] {
        server.get(&path, Some(&rival)).await.expect_error(404, "not_found");
    }
    server
        .patch(&format!("/api/orgs/rival/servers/{sid}/keys/{other_key_id}"), Some(&rival), json!({}))
        .await
        .expect_error(404, "not_found");
    server
        .delete(&format!("/api/orgs/rival/servers/{sid}"), Some(&rival))
        .await
        .expect_error(404, "not_found");
    let list = server.get("/api/orgs/rival/servers", Some(&rival)).await.expect(200);
    assert_eq!(list.body["servers"], json!([]));
    // Still all there for acme.
    server.get(&format!("/api/orgs/acme/servers/{sid}"), Some(&admin)).await.expect(200);
}

/// Two Gatehouse nodes on one PostgreSQL: a key archived on node A fails on node B within a
/// second (LISTEN/NOTIFY), though B had it cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_on_one_node_revokes_on_every_node() {
    if !common::postgres_available().await {
        return;
    }
    let backend = HttpBackend::start();
    let (a, admin) = TestServer::enterprise(Backend::Postgres).await;
    let sid = server_with_tool(&a, &admin, &backend).await;
    let created = a
        .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(&admin), json!({"label": "k"}))
        .await
        .expect(201);
    let raw = created.body["rawValue"].as_str().unwrap().to_string();
    let key_id = created.body["key"]["keyId"].as_str().unwrap().to_string();
    let b = a.second_node().await;
    let mut on_b = McpClient::new(&b, "/mcp/acme/echo", Some(&raw), "2026-07-28");
    on_b.request("tools/list", json!({})).await.expect(200); // cached on B now

    a.patch(&format!("/api/orgs/acme/servers/{sid}/keys/{key_id}"), Some(&admin), json!({}))
        .await
        .expect(200);
    let start = std::time::Instant::now();
    loop {
        let r = on_b.request("tools/list", json!({})).await;
        if r.status == 401 {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "node B still accepts the archived key");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

backend_tests!(
    seed_001_key_lifecycle,
    rotation_replaces_the_key_and_is_logged,
    keys_belong_to_one_server_and_one_org
);
