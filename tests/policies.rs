//! Stories of policies (management tools `read_policy`/`update_policy`/`delete_policy`): the
//! operations over REST and `/api/mcp` with their scopes; deny, argument limits, argument
//! validation and rate limits on the data plane; rate limits shared by two nodes on one
//! PostgreSQL database; tenant isolation.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::upstreams::PyUpstream;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

async fn mcp(server: &TestServer, token: &str, id: i64, name: &str, arguments: Value) -> Value {
    let r = server
        .request(reqwest::Method::POST, "/api/mcp")
        .header("X-Management-Token", token)
        .header("content-type", "application/json")
        .json(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}}))
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect(200).body
}

async fn operations_scopes_and_isolation(backend: Backend) {
    let (server, admin) =
        TestServer::enterprise_with(backend, Options { mcp_server_enabled: true, ..Default::default() })
            .await;
    let http = HttpBackend::start();
    let (sid, _key) = server.publish_echo(&admin, &http, json!([])).await;
    let base = format!("/api/orgs/acme/servers/{sid}/policies");
    let writer = server.mint_token(&admin, "acme", &["policies:read", "policies:write"]).await;
    let reader = server.mint_token(&admin, "acme", &["policies:read"]).await;

    let created = server
        .put(&base, Some(&writer), json!({"toolPattern": "ech*", "action": "deny", "maxArgumentBytes": 100}))
        .await
        .expect(200)
        .body;
    let id = created["policy"]["policyId"].as_str().unwrap().to_string();
    assert_eq!(created["policy"]["action"], "deny");
    assert_eq!(created["policy"]["rateLimit"], Value::Null);
    // Upsert by pattern: same policy, new fields.
    let updated = server
        .put(
            &base,
            Some(&writer),
            json!({"toolPattern": "ech*", "rateLimit": {"requests": 5, "perSeconds": 60, "scope": "key"}}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(updated["policy"]["policyId"], id.as_str());
    assert_eq!(updated["policy"]["action"], "allow");
    assert_eq!(updated["policy"]["rateLimit"], json!({"requests": 5, "perSeconds": 60, "scope": "key"}));
    let all = server.get(&base, Some(&reader)).await.expect(200).body;
    assert_eq!(all["policies"].as_array().unwrap().len(), 1);
    let one = server.get(&format!("{base}?toolPattern=ech*"), Some(&reader)).await.expect(200).body;
    assert_eq!(one["policy"]["policyId"], id.as_str());
    server.get(&format!("{base}?toolPattern=nope"), Some(&reader)).await.expect_error(404, "not_found");

    // Bad input changes nothing.
    for bad in [
        json!({"toolPattern": ""}),
        json!({"toolPattern": "a b"}),
        json!({"toolPattern": "x", "action": "maybe"}),
        json!({"toolPattern": "x", "rateLimit": {"requests": 0, "perSeconds": 60, "scope": "key"}}),
        json!({"toolPattern": "x", "rateLimit": {"requests": 1, "perSeconds": 60, "scope": "planet"}}),
        json!({"toolPattern": "x", "maxArgumentBytes": 0}),
        json!({"toolPattern": "x", "surprise": true}),
    ] {
        server.put(&base, Some(&writer), bad).await.expect_error(400, "invalid_input");
    }
    assert_eq!(
        server.get(&base, Some(&reader)).await.expect(200).body["policies"].as_array().unwrap().len(),
        1
    );

    // Scopes, on REST and over /api/mcp.
    server
        .put(&base, Some(&reader), json!({"toolPattern": "x"}))
        .await
        .expect_error(403, "insufficient_scope");
    let refused = mcp(
        &server,
        &reader,
        1,
        "update_policy",
        json!({"org": "acme", "serverId": sid, "toolPattern": "x"}),
    )
    .await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let listed = mcp(&server, &reader, 2, "read_policy", json!({"org": "acme", "serverId": sid})).await;
    assert_eq!(listed["result"]["structuredContent"]["policies"][0]["policyId"], id.as_str(), "{listed}");
    let made = mcp(
        &server,
        &writer,
        3,
        "update_policy",
        json!({"org": "acme", "serverId": sid, "toolPattern": "y*"}),
    )
    .await;
    assert!(made["result"]["isError"].is_null(), "{made}");
    let made_id = made["result"]["structuredContent"]["policy"]["policyId"].as_str().unwrap().to_string();
    let gone = mcp(
        &server,
        &writer,
        4,
        "delete_policy",
        json!({"org": "acme", "serverId": sid, "policyId": made_id}),
    )
    .await;
    assert!(gone["result"]["isError"].is_null(), "{gone}");

    // Another org reaches none of it.
    server.create_org(&admin, "other").await;
    let other = server.mint_token(&admin, "other", &["policies:read", "policies:write"]).await;
    server
        .get(&format!("/api/orgs/other/servers/{sid}/policies"), Some(&other))
        .await
        .expect_error(404, "not_found");
    server.get(&base, Some(&other)).await.expect_error(404, "not_found");
    server
        .delete(&format!("/api/orgs/other/servers/{sid}/policies/{id}"), Some(&other))
        .await
        .expect_error(404, "not_found");
    server.delete(&format!("{base}/{id}"), Some(&writer)).await.expect(204);
    server.delete(&format!("{base}/{id}"), Some(&writer)).await.expect_error(404, "not_found");
}

async fn enforcement_on_the_data_plane(backend: Backend) {
    let upstream = PyUpstream::start();
    let server = TestServer::dev(backend).await;
    let s = server.post("/api/orgs/default/servers", None, json!({"name": "Governed"})).await.expect(201);
    let sid = s.body["server"]["serverId"].as_str().unwrap().to_string();
    let up = server
        .post(
            "/api/orgs/default/upstreams",
            None,
            json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
        )
        .await
        .expect(201);
    let uid = up.body["upstream"]["upstreamId"].as_str().unwrap();
    server
        .put(&format!("/api/orgs/default/servers/{sid}/upstreams/{uid}"), None, json!({"prefix": ""}))
        .await
        .expect(200);
    let base = format!("/api/orgs/default/servers/{sid}/policies");
    for policy in [
        json!({"toolPattern": "di?", "action": "deny"}),
        json!({"toolPattern": "echo", "maxArgumentBytes": 40}),
        json!({"toolPattern": "add", "validateArguments": true}),
        json!({"toolPattern": "head*", "rateLimit": {"requests": 2, "perSeconds": 3600, "scope": "server"}}),
    ] {
        server.put(&base, None, policy).await.expect(200);
    }
    let mut client = McpClient::new(&server, "/mcp/default/governed", None, "2025-11-25");
    client.initialize().await.expect(200);
    let call = |name: &'static str, arguments: Value| (name, arguments);
    // A denied tool is not served at all: not even listed.
    let listed = client.request("tools/list", json!({})).await.expect(200).body;
    let names: Vec<&str> =
        listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"die") && names.contains(&"echo"), "{names:?}");

    let (n, a) = call("die", json!({}));
    let denied = client.request("tools/call", json!({"name": n, "arguments": a})).await.expect(200).body;
    assert_eq!(denied["result"]["isError"], true, "{denied}");
    assert!(denied["result"]["content"][0]["text"].as_str().unwrap().contains("Denied by policy"));
    // The upstream never saw it: it would have exited.
    let ok =
        client.request("tools/call", json!({"name": "echo", "arguments": {"message": "alive"}})).await.body;
    assert_eq!(ok["result"]["content"][0]["text"], "Echo: alive");

    let big = client
        .request("tools/call", json!({"name": "echo", "arguments": {"message": "x".repeat(100)}}))
        .await;
    assert_eq!(big.body["error"]["code"], -32602, "{}", big.text);
    assert!(big.body["error"]["message"].as_str().unwrap().contains("at most 40"));

    let invalid =
        client.request("tools/call", json!({"name": "add", "arguments": {"a": "one", "b": 2}})).await;
    assert_eq!(invalid.body["error"]["code"], -32602, "{}", invalid.text);
    assert!(
        invalid.body["error"]["message"].as_str().unwrap().contains("invalid arguments"),
        "{}",
        invalid.text
    );
    let valid =
        client.request("tools/call", json!({"name": "add", "arguments": {"a": 1, "b": 2}})).await.body;
    assert_eq!(valid["result"]["content"][0]["text"], "3");

    for _ in 0..2 {
        let r = client.request("tools/call", json!({"name": "headers", "arguments": {}})).await.body;
        assert!(r.get("result").is_some(), "{r}");
    }
    let limited = client.request("tools/call", json!({"name": "headers", "arguments": {}})).await.body;
    assert_eq!(limited["error"]["code"], -32029, "{limited}");
    assert!(limited["error"]["data"]["retryAfterMs"].as_i64().unwrap() > 0);
    // A 2026-07-28 caller shares the server's budget.
    let mut modern = McpClient::new(&server, "/mcp/default/governed", None, "2026-07-28");
    let limited = modern.request("tools/call", json!({"name": "headers", "arguments": {}})).await.body;
    assert_eq!(limited["error"]["code"], -32029, "{limited}");
    // Refused again and again in one window: the org hears of it, once.
    for _ in 0..10 {
        client.request("tools/call", json!({"name": "headers", "arguments": {}})).await;
    }
    let notes = server.get("/api/orgs/default/notifications", None).await.expect(200).body;
    let limited: Vec<&Value> = notes["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "policy.rate_limited")
        .collect();
    assert_eq!(limited.len(), 1, "{notes}");
    assert_eq!(limited[0]["data"]["tool"], "headers");
    // Removing the policy lifts it at once.
    let policies = server.get(&base, None).await.expect(200).body;
    let rate_id = policies["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["toolPattern"] == "head*")
        .unwrap()["policyId"]
        .as_str()
        .unwrap()
        .to_string();
    server.delete(&format!("{base}/{rate_id}"), None).await.expect(204);
    let free = client.request("tools/call", json!({"name": "headers", "arguments": {}})).await.body;
    assert!(free.get("result").is_some(), "{free}");
}

/// Two nodes on one PostgreSQL database share a per-key budget.
async fn rate_limits_hold_across_nodes(backend: Backend) {
    if backend != Backend::Postgres {
        return; // one SQLite file is one node
    }
    let http = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend).await;
    let (sid, key) = server.publish_echo(&admin, &http, json!([])).await;
    server
        .put(
            &format!("/api/orgs/acme/servers/{sid}/policies"),
            Some(&admin),
            json!({"toolPattern": "*", "rateLimit": {"requests": 3, "perSeconds": 3600, "scope": "key"}}),
        )
        .await
        .expect(200);
    let other = server.second_node().await;
    let mut a = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2026-07-28");
    let mut b = McpClient::new(&other, "/mcp/acme/echo", Some(&key), "2026-07-28");
    let mut outcomes = Vec::new();
    for i in 0..4 {
        let client = if i % 2 == 0 { &mut a } else { &mut b };
        let r = client.request("tools/call", json!({"name": "echo", "arguments": {}})).await.body;
        outcomes.push(r["error"]["code"].as_i64());
    }
    assert_eq!(outcomes, vec![None, None, None, Some(-32029)], "three calls in all, whichever node");
}

/// Policies govern plugin invocations on REST too (as the tool `plugins/<id>`): a deny is 403,
/// an exhausted rate limit 429 with `Retry-After`.
async fn plugin_invocations_are_governed(backend: Backend) {
    let http = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend).await;
    let (sid, key) = server.publish_echo(&admin, &http, json!([])).await;
    let base = format!("/api/orgs/acme/servers/{sid}/policies");
    let invoke = format!("/api/orgs/acme/servers/{sid}/plugins/fcm/invoke");
    let send = |path: String| {
        let (server, key) = (&server, key.clone());
        async move {
            let r = server
                .request(reqwest::Method::POST, &path)
                .header("X-API-Key", key)
                .json(&json!({"token": "t"}))
                .send();
            TestServer::read(r.await.unwrap()).await
        }
    };
    let deny = server
        .put(&base, Some(&admin), json!({"toolPattern": "plugins/*", "action": "deny"}))
        .await
        .expect(200);
    let denied = send(invoke.clone()).await.expect_error(403, "forbidden");
    assert!(denied.text.contains("Denied by policy"), "{}", denied.text);
    let id = deny.body["policy"]["policyId"].as_str().unwrap();
    server.delete(&format!("{base}/{id}"), Some(&admin)).await.expect(204);
    server
        .put(&base, Some(&admin), json!({"toolPattern": "plugins/fcm", "rateLimit": {"requests": 1, "perSeconds": 3600, "scope": "key"}}))
        .await
        .expect(200);
    // The first goes through the policy (the plugin is not installed: 404), the second is limited.
    send(invoke.clone()).await.expect_error(404, "not_found");
    let limited = send(invoke).await.expect_error(429, "rate_limited");
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
}

backend_tests!(
    plugin_invocations_are_governed,
    operations_scopes_and_isolation,
    enforcement_on_the_data_plane,
    rate_limits_hold_across_nodes
);
