//! Story: an admin stores provider keys and credentials as org secrets. Values go in and never
//! come out (lists are masked); HTTP tools present a secret instead of carrying their own
//! credential; a secret in use cannot be disabled unless forced; and every operation is the
//! same over REST and `/api/mcp`, with its scope.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

const VALUE: &str = "sk-test-4f1d2c3b5a6978e0d1c2b3a49f2c";

async fn secret_lifecycle_masked_unique_soft_deleted(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let base = "/api/orgs/acme/secrets";

    let created = server
        .post(base, Some(&admin), json!({"name": "OpenAI prod", "provider": "openai", "value": VALUE}))
        .await
        .expect(201);
    let s = &created.body["secret"];
    let id = s["secretId"].as_str().unwrap().to_string();
    assert!(id.starts_with("sec_"), "{id}");
    assert_eq!(s["name"], "OpenAI prod");
    assert_eq!(s["provider"], "openai");
    assert_eq!(s["masked"], "sk-…9f2c");
    assert_eq!(s["status"], "active");
    assert!(s["lastUsedAt"].is_null());
    assert!(s["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(s.get("value").is_none());
    assert!(!created.text.contains(VALUE) && !created.text.contains("4f1d2c3b"));

    let list = server.get(base, Some(&admin)).await.expect(200);
    assert_eq!(list.body["secrets"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["secrets"][0]["masked"], "sk-…9f2c");
    assert!(!list.text.contains(VALUE));
    let one = server.get(&format!("{base}/{id}"), Some(&admin)).await.expect(200);
    assert_eq!(one.body["secret"]["secretId"], id.as_str());

    // Names are unique per org; input is checked.
    server
        .post(base, Some(&admin), json!({"name": "OpenAI prod", "provider": "openai", "value": "x"}))
        .await
        .expect_error(409, "conflict");
    for bad in [
        json!({"name": "a", "provider": "openai", "value": ""}),
        json!({"name": "a", "provider": "Open AI", "value": "v"}),
        json!({"name": "", "provider": "openai", "value": "v"}),
        json!({"name": "a", "provider": "openai", "value": "nul\u{0}byte"}),
        json!({"name": "a", "provider": "openai"}),
        json!({"name": "a", "provider": "openai", "value": "v", "extra": 1}),
    ] {
        server.post(base, Some(&admin), bad).await.expect_error(400, "invalid_input");
    }

    // PUT changes name, provider and value (masked follows the value).
    let other = server
        .post(base, Some(&admin), json!({"name": "Anthropic", "provider": "anthropic", "value": "short"}))
        .await
        .expect(201);
    assert_eq!(other.body["secret"]["masked"], "••••");
    let other_id = other.body["secret"]["secretId"].as_str().unwrap().to_string();
    let r = server
        .put(
            &format!("{base}/{other_id}"),
            Some(&admin),
            json!({"name": "Claude", "value": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-7777"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["secret"]["name"], "Claude");
    assert_eq!(r.body["secret"]["provider"], "anthropic");
    assert_eq!(r.body["secret"]["masked"], "sk-…7777");
    assert!(!r.text.contains("abcdefghijklmnop"));
    server
        .put(&format!("{base}/{other_id}"), Some(&admin), json!({"name": "OpenAI prod"}))
        .await
        .expect_error(409, "conflict");

    // DELETE disables (soft delete): still listed, status disabled; twice is 409; PUT re-enables.
    let r = server.delete(&format!("{base}/{other_id}"), Some(&admin)).await.expect(200);
    assert_eq!(r.body["secret"]["status"], "disabled");
    let list = server.get(base, Some(&admin)).await.expect(200);
    assert_eq!(list.body["secrets"].as_array().unwrap().len(), 2);
    server.delete(&format!("{base}/{other_id}"), Some(&admin)).await.expect_error(409, "conflict");
    let r = server
        .put(&format!("{base}/{other_id}"), Some(&admin), json!({"status": "active"}))
        .await
        .expect(200);
    assert_eq!(r.body["secret"]["status"], "active");
    server
        .put(&format!("{base}/{other_id}"), Some(&admin), json!({"status": "gone"}))
        .await
        .expect_error(400, "invalid_input");

    for path in [format!("{base}/sec_unknown"), format!("{base}/{id}x")] {
        server.get(&path, Some(&admin)).await.expect_error(404, "not_found");
        server.delete(&path, Some(&admin)).await.expect_error(404, "not_found");
        server.put(&path, Some(&admin), json!({"name": "n"})).await.expect_error(404, "not_found");
    }

    // Another org never sees them, and its secret ids are unknown here.
    server.create_org(&admin, "other").await;
    let list = server.get("/api/orgs/other/secrets", Some(&admin)).await.expect(200);
    assert_eq!(list.body["secrets"], json!([]));
    server.get(&format!("/api/orgs/other/secrets/{id}"), Some(&admin)).await.expect_error(404, "not_found");
}

/// Org `acme`, a secret holding `value`, server `echo` with tool `echo` presenting the secret as
/// a bearer token, and an API key. Returns (secret id, server id, raw key).
async fn tool_with_secret(
    server: &TestServer,
    admin: &str,
    backend: &HttpBackend,
    value: &str,
) -> (String, String, String) {
    server.create_org(admin, "acme").await;
    let s = server
        .post(
            "/api/orgs/acme/secrets",
            Some(admin),
            json!({"name": "Backend token", "provider": "generic", "value": value}),
        )
        .await
        .expect(201);
    let secret_id = s.body["secret"]["secretId"].as_str().unwrap().to_string();
    let srv = server
        .post("/api/orgs/acme/servers", Some(admin), json!({"name": "Echo", "slug": "echo"}))
        .await
        .expect(201);
    let sid = srv.body["server"]["serverId"].as_str().unwrap().to_string();
    let tool = server
        .post(
            &format!("/api/orgs/acme/servers/{sid}/tools"),
            Some(admin),
            json!({"name": "echo", "description": "Echo", "method": "GET", "endpointUrl": backend.url("/echo"),
                   "auth": {"type": "bearer", "secretId": secret_id}}),
        )
        .await
        .expect(201);
    assert_eq!(tool.body["tool"]["auth"], json!({"type": "bearer", "secretId": secret_id}));
    assert!(!tool.text.contains(value));
    let k = server
        .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(admin), json!({"label": "agent"}))
        .await
        .expect(201);
    (secret_id, sid, k.body["rawValue"].as_str().unwrap().to_string())
}

async fn call_echo(server: &TestServer, key: &str) -> Value {
    let mut client = McpClient::new(server, "/mcp/acme/echo", Some(key), "2026-07-28");
    let r = client.request("tools/call", json!({"name": "echo", "arguments": {}})).await.expect(200);
    r.body["result"].clone()
}

fn authorization_seen(result: &Value) -> String {
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    let echo: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    echo["headers"]["authorization"].as_str().unwrap_or_default().to_string()
}

async fn http_tools_present_a_secret_and_follow_its_changes(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (secret_id, sid, key) = tool_with_secret(&server, &admin, &backend, VALUE).await;
    let secret_path = format!("/api/orgs/acme/secrets/{secret_id}");

    // The backend receives the secret as the bearer token.
    let result = call_echo(&server, &key).await;
    assert!(result["isError"].is_null(), "{result}");
    assert_eq!(authorization_seen(&result), format!("Bearer {VALUE}"));
    let s = server.get(&secret_path, Some(&admin)).await.expect(200);
    assert!(s.body["secret"]["lastUsedAt"].is_string(), "a use is recorded: {}", s.text);
    // Reads say who presents it.
    let used_by = &s.body["secret"]["usedBy"];
    assert_eq!(used_by[0]["kind"], "http_tool", "{used_by}");
    assert_eq!(used_by[0]["name"], "echo");
    assert_eq!(used_by[0]["serverName"], "Echo");
    let list = server.get(&secret_path[..secret_path.rfind('/').unwrap()], Some(&admin)).await.expect(200);
    let listed = list.body["secrets"].as_array().unwrap().iter().find(|x| x["usedBy"][0]["name"] == "echo");
    assert!(listed.is_some(), "{}", list.text);

    // A new value is used at once (the cached server is dropped on the change).
    let rotated = "sk-test-rotated-0000000000000000-1234";
    server.put(&secret_path, Some(&admin), json!({"value": rotated})).await.expect(200);
    assert_eq!(authorization_seen(&call_echo(&server, &key).await), format!("Bearer {rotated}"));

    // Disabling a secret in use is refused, naming its users…
    let r = server.delete(&secret_path, Some(&admin)).await.expect_error(409, "conflict");
    let message = r.body["error"].as_str().unwrap();
    assert!(message.starts_with("Secret is in use by HTTP tool echo (server Echo)"), "{message}");
    server.put(&secret_path, Some(&admin), json!({"status": "disabled"})).await.expect_error(409, "conflict");
    // …unless forced: then the tool answers an error and the org is notified.
    let r = server.delete(&format!("{secret_path}?force=true"), Some(&admin)).await.expect(200);
    assert_eq!(r.body["secret"]["status"], "disabled");
    let result = call_echo(&server, &key).await;
    assert_eq!(result["isError"], true, "{result}");
    assert!(result["content"][0]["text"].as_str().unwrap().contains("disabled"), "{result}");
    let n = server.get("/api/orgs/acme/notifications", Some(&admin)).await.expect(200);
    assert_eq!(n.body["notifications"][0]["kind"], "secret.disabled_in_use");
    assert_eq!(n.body["notifications"][0]["data"]["secretId"], secret_id.as_str());
    // Re-enabled, it works again.
    server.put(&secret_path, Some(&admin), json!({"status": "active"})).await.expect(200);
    assert_eq!(authorization_seen(&call_echo(&server, &key).await), format!("Bearer {rotated}"));

    // References are checked: unknown, disabled, both, another org's, a value that does not fit.
    let tools = format!("/api/orgs/acme/servers/{sid}/tools");
    let tool = |auth: Value| json!({"name": "t2", "description": "d", "method": "GET", "endpointUrl": backend.url("/echo"), "auth": auth});
    server
        .post(&tools, Some(&admin), tool(json!({"type": "bearer", "secretId": "sec_nope"})))
        .await
        .expect_error(422, "unprocessable");
    server
        .post(&tools, Some(&admin), tool(json!({"type": "bearer", "secretId": secret_id, "credential": "x"})))
        .await
        .expect_error(422, "unprocessable");
    server
        .post(&tools, Some(&admin), tool(json!({"type": "basic", "secretId": secret_id})))
        .await
        .expect_error(422, "unprocessable");
    server.create_org(&admin, "other").await;
    let foreign = server
        .post(
            "/api/orgs/other/secrets",
            Some(&admin),
            json!({"name": "x", "provider": "generic", "value": "other-org-value"}),
        )
        .await
        .expect(201);
    let foreign_id = foreign.body["secret"]["secretId"].as_str().unwrap();
    server
        .post(&tools, Some(&admin), tool(json!({"type": "bearer", "secretId": foreign_id})))
        .await
        .expect_error(422, "unprocessable");
    let spare = server
        .post(
            "/api/orgs/acme/secrets",
            Some(&admin),
            json!({"name": "spare", "provider": "generic", "value": "spare-value-123"}),
        )
        .await
        .expect(201);
    let spare_id = spare.body["secret"]["secretId"].as_str().unwrap().to_string();
    server.delete(&format!("/api/orgs/acme/secrets/{spare_id}"), Some(&admin)).await.expect(200);
    server
        .post(&tools, Some(&admin), tool(json!({"type": "bearer", "secretId": spare_id})))
        .await
        .expect_error(409, "conflict");

    // Switching the tool to an inline credential frees the secret.
    let echo_tool = server.get(&tools, Some(&admin)).await.expect(200).body["tools"][0]["toolId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = server
        .patch(
            &format!("{tools}/{echo_tool}"),
            Some(&admin),
            json!({"auth": {"type": "api_key", "header": "X-Key", "credential": "inline-1"}}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["tool"]["auth"], json!({"type": "api_key", "credentialSet": true, "header": "X-Key"}));
    server.delete(&secret_path, Some(&admin)).await.expect(200);
}

/// Every secret and notification operation, with a token that has its scope and one that has
/// every other scope, over REST and `/api/mcp`.
async fn every_operation_checks_its_scope_on_rest_and_mcp(backend: Backend) {
    let (server, admin) =
        TestServer::enterprise_with(backend, Options { mcp_server_enabled: true, ..Default::default() })
            .await;
    server.create_org(&admin, "acme").await;
    let s = server
        .post(
            "/api/orgs/acme/secrets",
            Some(&admin),
            json!({"name": "seed", "provider": "generic", "value": "seed-value-0001"}),
        )
        .await
        .expect(201);
    let sid = s.body["secret"]["secretId"].as_str().unwrap().to_string();
    let registry = gatehouse::api::registry();
    let ops: Vec<(&str, Value)> = vec![
        ("list_provider_keys", json!({})),
        ("set_provider_key", json!({"name": "n-{i}", "provider": "generic", "value": "v-123456789"})),
        ("get_provider_key", json!({"secretId": sid})),
        ("update_provider_key", json!({"secretId": sid, "name": "renamed-{i}"})),
        ("delete_provider_key", json!({"secretId": "sec_unknown"})),
        ("list_notifications", json!({"unread": true})),
        ("mark_notification_read", json!({"notificationId": "ntf_unknown"})),
        ("get_notification_webhook", json!({})),
        (
            "set_notification_webhook",
            json!({"url": "https://hooks.example.com/gatehouse", "secret": "0123456789abcdef"}),
        ),
        ("delete_notification_webhook", json!({})),
    ];
    for (i, (name, args)) in ops.into_iter().enumerate() {
        let op = registry.get(name).unwrap_or_else(|| panic!("{name} is registered"));
        assert!(op.spec.mcp, "{name} is offered over MCP");
        let gatehouse::api::registry::Access::Org(scope) = op.spec.access else {
            panic!("{name} is an org operation")
        };
        let args: Value = serde_json::from_str(&args.to_string().replace("{i}", &i.to_string())).unwrap();
        let others: Vec<&str> =
            gatehouse::auth::Scope::ALL.iter().filter(|s| **s != scope).map(|s| s.as_str()).collect();
        let without = server.mint_token(&admin, "acme", &others).await;
        let with = server.mint_token(&admin, "acme", &[scope.as_str()]).await;

        // REST.
        let mut path = op.spec.path.replace("{org}", "acme");
        let mut body = args.as_object().unwrap().clone();
        for p in &op.path_params {
            if let Some(v) = body.remove(p) {
                path = path.replace(&format!("{{{p}}}"), v.as_str().unwrap());
            }
        }
        let rest = |token: String| {
            let (method, mut path, body) = (op.spec.method.clone(), path.clone(), body.clone());
            let server = &server;
            async move {
                if op.spec.input_in_query() {
                    let q: Vec<String> = body
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
                        .collect();
                    if !q.is_empty() {
                        path = format!("{path}?{}", q.join("&"));
                    }
                    server.send(method, &path, Some(&token), None).await
                } else {
                    server.send(method, &path, Some(&token), Some(Value::Object(body))).await
                }
            }
        };
        rest(without.clone()).await.expect_error(403, "insufficient_scope");
        let ok = rest(with.clone()).await;
        assert!(ok.status < 300 || ok.status == 404, "{name} with {scope}: {} {}", ok.status, ok.text);

        // MCP: the same, as tool results.
        let mut args = args;
        args["org"] = json!("acme");
        if let Some(n) = args.get_mut("name").filter(|_| name == "set_provider_key") {
            *n = json!(format!("mcp-{i}"));
        }
        let call = |token: String, args: Value| {
            let server = &server;
            async move {
                let r = server
                    .request(reqwest::Method::POST, "/api/mcp")
                    .header("X-Management-Token", token)
                    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}}))
                    .send()
                    .await
                    .unwrap();
                TestServer::read(r).await.expect(200).body["result"].clone()
            }
        };
        let denied = call(without, args.clone()).await;
        assert_eq!(denied["isError"], true, "{name}: {denied}");
        assert!(
            denied["content"][0]["text"].as_str().unwrap().contains("403 insufficient_scope"),
            "{denied}"
        );
        let allowed = call(with, args).await;
        let text = allowed["content"][0]["text"].as_str().unwrap_or_default();
        assert!(allowed["isError"].is_null() || text.contains("404 not_found"), "{name}: {allowed}");
        assert!(!allowed.to_string().contains("v-123456789"), "{name} answered a value: {allowed}");
    }
}

/// Two nodes on one PostgreSQL: a secret changed on one is presented by the other within a
/// second (its cached server is dropped by the `secret:<id>` change event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_change_reaches_every_node() {
    if !common::postgres_available().await {
        return;
    }
    let backend = HttpBackend::start();
    let (a, admin) = TestServer::enterprise(Backend::Postgres).await;
    let (secret_id, _sid, key) = tool_with_secret(&a, &admin, &backend, VALUE).await;
    let b = a.second_node().await;
    assert_eq!(authorization_seen(&call_echo(&b, &key).await), format!("Bearer {VALUE}")); // cached on B
    let changed = "sk-changed-on-node-a-000000-5555";
    a.put(&format!("/api/orgs/acme/secrets/{secret_id}"), Some(&admin), json!({"value": changed}))
        .await
        .expect(200);
    let start = std::time::Instant::now();
    while authorization_seen(&call_echo(&b, &key).await) != format!("Bearer {changed}") {
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "node B still presents the old value");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Disabled on A (forced): B stops presenting it.
    a.delete(&format!("/api/orgs/acme/secrets/{secret_id}?force=true"), Some(&admin)).await.expect(200);
    let start = std::time::Instant::now();
    while call_echo(&b, &key).await["isError"] != true {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "node B still presents a disabled secret"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

backend_tests!(
    secret_lifecycle_masked_unique_soft_deleted,
    http_tools_present_a_secret_and_follow_its_changes,
    every_operation_checks_its_scope_on_rest_and_mcp,
);
