//! Story: a script calls a server's tool through the management API instead of speaking MCP —
//! the same call as an MCP client's, with the server's policies, usage and call log.

mod common;

use common::backend::HttpBackend;
use common::{Backend, TestServer};
use serde_json::json;

async fn a_tool_is_called_as_a_client_would(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    let http = HttpBackend::start();
    let (sid, _key) = server
        .publish_echo(
            &admin,
            &http,
            json!([{"name": "text", "location": "query", "type": "string", "required": true}]),
        )
        .await;
    let invoke = format!("/api/orgs/acme/servers/{sid}/invoke");

    let done =
        server.post(&invoke, Some(&admin), json!({"name": "echo", "arguments": {"text": "hello"}})).await;
    let done = done.expect(200);
    assert_eq!(done.body["isError"], false, "{}", done.text);
    assert!(done.text.contains("hello"), "the backend's answer comes back: {}", done.text);

    // Unknown tool, arguments the tool refuses, a body the operation refuses.
    server.post(&invoke, Some(&admin), json!({"name": "nope"})).await.expect_error(404, "not_found");
    let missing = server.post(&invoke, Some(&admin), json!({"name": "echo", "arguments": {}})).await;
    missing.expect_error(422, "unprocessable");
    server
        .post(&invoke, Some(&admin), json!({"name": "echo", "extra": 1}))
        .await
        .expect_error(400, "invalid_input");

    // Scope: a token without tools:call is refused; with it, it calls.
    let reader = server.mint_token(&admin, "acme", &["servers:read"]).await;
    let refused =
        server.post(&invoke, Some(&reader), json!({"name": "echo", "arguments": {"text": "x"}})).await;
    refused.expect_error(403, "insufficient_scope");
    let caller = server.mint_token(&admin, "acme", &["tools:call"]).await;
    server
        .post(&invoke, Some(&caller), json!({"name": "echo", "arguments": {"text": "x"}}))
        .await
        .expect(200);

    // The server's policies hold: a deny is the tool's error, a rate limit is 429.
    let policies = format!("/api/orgs/acme/servers/{sid}/policies");
    let deny = server
        .put(&policies, Some(&admin), json!({"toolPattern": "echo", "action": "deny"}))
        .await
        .expect(200);
    let denied =
        server.post(&invoke, Some(&admin), json!({"name": "echo", "arguments": {"text": "x"}})).await;
    assert_eq!(denied.expect(200).body["isError"], true);
    let id = deny.body["policy"]["policyId"].as_str().unwrap();
    server.delete(&format!("{policies}/{id}"), Some(&admin)).await.expect(204);
    let limit =
        json!({"toolPattern": "echo", "rateLimit": {"requests": 1, "perSeconds": 3600, "scope": "key"}});
    server.put(&policies, Some(&admin), limit).await.expect(200);
    server
        .post(&invoke, Some(&caller), json!({"name": "echo", "arguments": {"text": "1"}}))
        .await
        .expect(200);
    let limited =
        server.post(&invoke, Some(&caller), json!({"name": "echo", "arguments": {"text": "2"}})).await;
    limited.expect_error(429, "rate_limited");

    // Counted under who called.
    let mut usage = json!(null);
    for _ in 0..50 {
        usage =
            server.get(&format!("/api/orgs/acme/servers/{sid}/usage"), Some(&admin)).await.expect(200).body;
        if usage.to_string().contains("token:") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(usage.to_string().contains("token:"), "{usage}");
}

backend_tests!(a_tool_is_called_as_a_client_would);
