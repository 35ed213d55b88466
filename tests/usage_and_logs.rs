//! Stories of usage and data logging: usage counts equal the calls made, across a
//! restart (buffered, flushed on shutdown); day buckets zero-filled; the same figures in
//! `/metrics`; data logging modes, filters, paging, bounds; credentials never in a call log;
//! retention deletes exactly what is older; other orgs see nothing.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

const SECRET: &str = "backend-token-never-logged";

/// Org `acme`, server `echo` whose tool `echo` sends a bearer credential, and a key.
async fn setup(server: &TestServer, admin: &str, backend: &HttpBackend) -> (String, String) {
    let (sid, key) = server.publish_echo(admin, backend, json!([{"name": "q", "location": "query"}])).await;
    let tools =
        server.get(&format!("/api/orgs/acme/servers/{sid}/tools"), Some(admin)).await.expect(200).body;
    let tid = tools["tools"][0]["toolId"].as_str().unwrap();
    server
        .patch(
            &format!("/api/orgs/acme/servers/{sid}/tools/{tid}"),
            Some(admin),
            json!({"auth": {"type": "bearer", "credential": SECRET}}),
        )
        .await
        .expect(200);
    (sid, key)
}

async fn usage_counts_calls_across_a_restart(backend: Backend) {
    let http = HttpBackend::start();
    let options = Options { metrics_token: Some("metrics".into()), ..Default::default() };
    let (mut server, admin) = TestServer::enterprise_with(backend, options).await;
    let (sid, key) = setup(&server, &admin, &http).await;
    let keys = server.get(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(&admin)).await.expect(200).body;
    let key_id = keys["keys"][0]["id"].as_str().or(keys["keys"][0]["keyId"].as_str()).unwrap().to_string();
    {
        let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2026-07-28");
        for i in 0..5 {
            let r = client
                .request("tools/call", json!({"name": "echo", "arguments": {"q": format!("{i}")}}))
                .await;
            assert!(r.body.get("result").is_some(), "{}", r.text);
        }
        // Names the server does not serve are counted under one label, whatever they are.
        for name in ["nope", "nope_again"] {
            let unknown = client.request("tools/call", json!({"name": name, "arguments": {}})).await;
            assert_eq!(unknown.body["error"]["code"], -32602);
        }
        client.request("tools/list", json!({})).await.expect(200);
    }
    // Stop at once: the buffered counts must survive the graceful shutdown.
    server.restart().await;
    let usage =
        server.get(&format!("/api/orgs/acme/servers/{sid}/usage"), Some(&admin)).await.expect(200).body;
    let u = &usage["usage"];
    assert_eq!(u["calls"], 7, "{usage}");
    assert_eq!(u["errors"], 2);
    assert_eq!(u["byTool"]["echo"]["calls"], 5);
    assert_eq!(u["byTool"]["(unknown)"]["calls"], 2, "{usage}");
    assert_eq!(u["byTool"].as_object().unwrap().len(), 2, "{usage}");
    assert_eq!(u["byOutcome"]["ok"], 5);
    assert_eq!(u["byOutcome"]["error"], 2);
    assert_eq!(u["byKey"][key_id.as_str()]["calls"], 7, "{usage}");
    assert!(u["bytesIn"].as_i64().unwrap() > 0 && u["bytesOut"].as_i64().unwrap() > 0);
    assert!(u["latencyP95Ms"].as_i64().unwrap() >= u["latencyP50Ms"].as_i64().unwrap());
    let tomorrow = "2999-01-01T00:00:00Z";
    let none =
        server.get(&format!("/api/orgs/acme/servers/{sid}/usage?since={tomorrow}"), Some(&admin)).await;
    assert_eq!(none.expect(200).body["usage"]["calls"], 0);
    server
        .get(&format!("/api/orgs/acme/servers/{sid}/usage?since=yesterday"), Some(&admin))
        .await
        .expect_error(400, "invalid_input");

    let series = server.get("/api/orgs/acme/usage/timeseries?range=7d", Some(&admin)).await.expect(200).body;
    let days = series["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days[6]["calls"], 7, "today is last: {series}");
    assert!(days[..6].iter().all(|d| d["calls"] == 0 && d["errors"] == 0), "zero-filled");
    // Narrowed to a server, a key, a tool.
    let today = |query: String| {
        let server = &server;
        let admin = admin.clone();
        async move {
            let path = format!("/api/orgs/acme/usage/timeseries?range=7d&{query}");
            server.get(&path, Some(&admin)).await.expect(200).body["days"][6]["calls"].clone()
        }
    };
    assert_eq!(today(format!("serverId={sid}")).await, 7);
    assert_eq!(today("serverId=srv_elsewhere".into()).await, 0);
    assert_eq!(today(format!("keyId={key_id}")).await, 7);
    assert_eq!(today(format!("serverId={sid}&tool=echo")).await, 5);
    assert_eq!(today("tool=(unknown)".into()).await, 2);
    assert_eq!(
        server.get("/api/orgs/acme/usage/timeseries?range=30d", Some(&admin)).await.expect(200).body["days"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
    server
        .get("/api/orgs/acme/usage/timeseries?range=1y", Some(&admin))
        .await
        .expect_error(400, "invalid_input");

    // The same figures (of this process, after the restart) feed /metrics.
    let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2026-07-28");
    client.request("tools/call", json!({"name": "echo", "arguments": {"q": "m"}})).await.expect(200);
    client.request("tools/call", json!({"name": "made_up", "arguments": {}})).await.expect(200);
    let metrics = server.metrics().await;
    assert!(!metrics.contains("made_up"), "an unserved name became a series:\n{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gatehouse_mcp_calls_total{") && l.contains("tool=\"(unknown)\""))
    );
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("gatehouse_mcp_calls_total{")
                && l.contains("tool=\"echo\"")
                && l.contains("outcome=\"ok\"")
        })
        .unwrap_or_else(|| panic!("no call counter in /metrics:\n{metrics}"));
    assert!(line.ends_with(" 1"), "{line}");

    // Another org sees none of it; a token without usage:read is refused.
    server.create_org(&admin, "other").await;
    let other = server.mint_token(&admin, "other", &["usage:read"]).await;
    server
        .get(&format!("/api/orgs/other/servers/{sid}/usage"), Some(&other))
        .await
        .expect_error(404, "not_found");
    server
        .get(&format!("/api/orgs/acme/servers/{sid}/usage"), Some(&other))
        .await
        .expect_error(404, "not_found");
    let other_series = server.get("/api/orgs/other/usage/timeseries", Some(&other)).await.expect(200).body;
    assert!(other_series["days"].as_array().unwrap().iter().all(|d| d["calls"] == 0));
    let narrow = server.mint_token(&admin, "acme", &["servers:read"]).await;
    server
        .get(&format!("/api/orgs/acme/servers/{sid}/usage"), Some(&narrow))
        .await
        .expect_error(403, "insufficient_scope");
}

async fn data_logging_modes_filters_and_secrets(backend: Backend) {
    let http = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend).await;
    let (sid, key) = setup(&server, &admin, &http).await;
    let setting = format!("/api/orgs/acme/servers/{sid}/data-logging");
    let logs = format!("/api/orgs/acme/servers/{sid}/logs");
    assert_eq!(
        server.get(&setting, Some(&admin)).await.expect(200).body["dataLogging"],
        json!({"mode": "off", "retentionDays": 30})
    );
    for bad in [
        json!({"mode": "everything", "retentionDays": 7}),
        json!({"mode": "full", "retentionDays": 0}),
        json!({"mode": "full", "retentionDays": 91}),
        json!({"mode": "full"}),
    ] {
        server.put(&setting, Some(&admin), bad).await.expect_error(400, "invalid_input");
    }
    let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2025-06-18");
    client.initialize().await.expect(200);
    client.request("tools/call", json!({"name": "echo", "arguments": {"q": "unlogged"}})).await.expect(200);
    assert_eq!(server.get(&logs, Some(&admin)).await.expect(200).body["logs"], json!([]), "off logs nothing");

    server.put(&setting, Some(&admin), json!({"mode": "metadata", "retentionDays": 7})).await.expect(200);
    client.request("tools/call", json!({"name": "echo", "arguments": {"q": "meta"}})).await.expect(200);
    let page = server.get(&logs, Some(&admin)).await.expect(200).body;
    assert_eq!(page["logs"].as_array().unwrap().len(), 1, "{page}");
    let entry = &page["logs"][0];
    assert_eq!(entry["tool"], "echo");
    assert_eq!(entry["outcome"], "ok");
    assert!(entry.get("arguments").is_none() && entry.get("result").is_none(), "metadata only: {entry}");

    server.put(&setting, Some(&admin), json!({"mode": "full", "retentionDays": 7})).await.expect(200);
    for q in ["a", "b", "c"] {
        client.request("tools/call", json!({"name": "echo", "arguments": {"q": q}})).await.expect(200);
    }
    client.request("tools/call", json!({"name": "ghost", "arguments": {}})).await.expect(200);
    let page = server.get(&format!("{logs}?limit=2"), Some(&admin)).await.expect(200);
    assert!(!page.text.contains(SECRET), "a credential reached the call log: {}", page.text);
    let first = page.body["logs"].as_array().unwrap().clone();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["tool"], "ghost", "newest first");
    assert_eq!(first[1]["arguments"]["q"], "c");
    assert!(
        first[1]["result"].to_string().contains("[redacted]"),
        "the echoed credential is redacted: {}",
        first[1]
    );
    let cursor = page.body["nextCursor"].as_str().unwrap();
    let next = server.get(&format!("{logs}?limit=2&cursor={cursor}"), Some(&admin)).await.expect(200).body;
    assert_eq!(next["logs"][0]["arguments"]["q"], "b");
    let errors = server.get(&format!("{logs}?outcome=error"), Some(&admin)).await.expect(200).body;
    assert_eq!(errors["logs"].as_array().unwrap().len(), 1);
    let by_tool = server.get(&format!("{logs}?tool=echo"), Some(&admin)).await.expect(200).body;
    assert_eq!(by_tool["logs"].as_array().unwrap().len(), 4);
    let future =
        server.get(&format!("{logs}?since=2999-01-01T00:00:00Z"), Some(&admin)).await.expect(200).body;
    assert_eq!(future["logs"], json!([]));
    server.get(&format!("{logs}?limit=0"), Some(&admin)).await.expect_error(400, "invalid_input");
    server.create_org(&admin, "other").await;
    let other = server.mint_token(&admin, "other", &["usage:read", "servers:read"]).await;
    server
        .get(&format!("/api/orgs/other/servers/{sid}/logs"), Some(&other))
        .await
        .expect_error(404, "not_found");
    server
        .get(&format!("/api/orgs/other/servers/{sid}/data-logging"), Some(&other))
        .await
        .expect_error(404, "not_found");
}

async fn retention_deletes_exactly_what_is_older(backend: Backend) {
    let http = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend).await;
    let (sid, _key) = setup(&server, &admin, &http).await;
    server
        .put(
            &format!("/api/orgs/acme/servers/{sid}/data-logging"),
            Some(&admin),
            json!({"mode": "metadata", "retentionDays": 7}),
        )
        .await
        .expect(200);
    let store = server.state().store.clone();
    let org = server.get("/api/orgs/acme", Some(&admin)).await.expect(200).body["org"]["orgId"]
        .as_str()
        .unwrap()
        .to_string();
    let now = gatehouse::domain::time::now_ms();
    let day = 86_400_000;
    let row = |age_ms: i64, n: usize| gatehouse::store::CallLogRecord {
        id: gatehouse::domain::ids::new_id("cal"),
        org_id: org.clone(),
        server_id: sid.clone(),
        key_id: String::new(),
        method: "tools/call".into(),
        tool: format!("t{n}"),
        outcome: "ok".into(),
        latency_ms: 1,
        arguments: None,
        result: None,
        created_at: now - age_ms,
    };
    // 2,300 older than seven days (more than two delete batches), 5 just inside.
    let old: Vec<_> = (0..2300).map(|n| row(8 * day + n as i64, n)).collect();
    let recent: Vec<_> = (0..5).map(|n| row(7 * day - 60_000, n)).collect();
    store.call_logs_insert(&old).await.unwrap();
    store.call_logs_insert(&recent).await.unwrap();
    let deleted = gatehouse::usage::prune(store.as_ref(), now).await;
    assert_eq!(deleted, 2300);
    let left = server
        .get(&format!("/api/orgs/acme/servers/{sid}/logs?limit=200"), Some(&admin))
        .await
        .expect(200)
        .body;
    assert_eq!(left["logs"].as_array().unwrap().len(), 5);
    assert_eq!(gatehouse::usage::prune(store.as_ref(), now).await, 0, "nothing more to delete");
    let _: Value = left;
}

/// Each operation over `/api/mcp`: refused without its scope (as a tool error), served with it.
async fn operations_check_their_scope_over_mcp(backend: Backend) {
    let http = HttpBackend::start();
    let (server, admin) = TestServer::enterprise_with(
        backend,
        common::Options { mcp_server_enabled: true, ..Default::default() },
    )
    .await;
    let (sid, _key) = setup(&server, &admin, &http).await;
    let registry = gatehouse::api::registry();
    let ops = [
        ("get_server_usage", json!({"serverId": sid})),
        ("get_usage_timeseries", json!({"range": "30d"})),
        ("get_data_logging", json!({"serverId": sid})),
        ("update_data_logging", json!({"serverId": sid, "mode": "metadata", "retentionDays": 14})),
        ("list_call_logs", json!({"serverId": sid, "limit": 5})),
    ];
    for (name, mut args) in ops {
        let op = registry.get(name).unwrap_or_else(|| panic!("{name} is registered"));
        let gatehouse::api::registry::Access::Org(scope) = op.spec.access else {
            panic!("{name} is an org op")
        };
        let others: Vec<&str> =
            gatehouse::auth::Scope::ALL.iter().filter(|s| **s != scope).map(|s| s.as_str()).collect();
        let without = server.mint_token(&admin, "acme", &others).await;
        let with = server.mint_token(&admin, "acme", &[scope.as_str()]).await;
        args["org"] = json!("acme");
        for (token, allowed) in [(without, false), (with, true)] {
            let r = server
                .request(reqwest::Method::POST, "/api/mcp")
                .header("X-Management-Token", token)
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}}))
                .send()
                .await
                .unwrap();
            let result = TestServer::read(r).await.expect(200).body["result"].clone();
            if allowed {
                assert!(result["isError"].is_null(), "{name} with {}: {result}", scope.as_str());
            } else {
                assert_eq!(result["isError"], true, "{name}: {result}");
                assert!(result["content"][0]["text"].as_str().unwrap().contains("403 insufficient_scope"));
            }
        }
    }
}

backend_tests!(
    operations_check_their_scope_over_mcp,
    usage_counts_calls_across_a_restart,
    data_logging_modes_filters_and_secrets,
    retention_deletes_exactly_what_is_older
);
