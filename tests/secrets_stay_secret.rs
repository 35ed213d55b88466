//! Story: secrets go in and never come out — not in any answer, not in the log. A real
//! `gatehouse` process runs at debug log level while a tool credential, an org secret presented
//! by a tool, a webhook signing secret, an API key, a management token, a login code and an
//! FCM service account pass through it; then its whole log is searched for them.

mod common;

use common::backend::HttpBackend;
use common::fake_fcm::FakeFcm;
use common::process::Process;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_an_answer_or_the_log() {
    let Some(fcm) = FakeFcm::start() else { return };
    let backend = HttpBackend::start();
    let dir = tempfile::tempdir().unwrap();
    let fcm_url = format!("http://127.0.0.1:{}", fcm.port);
    let mut p =
        Process::start(dir.path(), &[("GATEHOUSE_LOG", "debug"), ("GATEHOUSE_FCM_BASE_URL", &fcm_url)]);
    let client = reqwest::Client::new();
    let base = p.base.clone();
    let answers = std::sync::Mutex::new(Vec::new());
    let send =
        async |method: reqwest::Method, path: &str, headers: &[(&str, &str)], body: Option<Value>| -> Value {
            let mut req = client.request(method, format!("{base}{path}"));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let text = req.send().await.unwrap().text().await.unwrap();
            answers.lock().unwrap().push(text.clone());
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };

    let tool_secret = "tool-credential-8c1f77d2e4";
    let s = send(
        reqwest::Method::POST,
        "/api/orgs/default/servers",
        &[],
        Some(json!({"name": "Secret", "slug": "secret"})),
    )
    .await;
    let sid = s["server"]["serverId"].as_str().unwrap().to_string();
    send(
        reqwest::Method::POST,
        &format!("/api/orgs/default/servers/{sid}/tools"),
        &[],
        Some(json!({"name": "echo", "description": "Echo", "method": "GET", "endpointUrl": backend.url("/echo"),
                    "auth": {"type": "api_key", "header": "X-Backend-Key", "credential": tool_secret}})),
    )
    .await;
    let org_secret = "sk-org-secret-5e9b1c0a77d3f2e8";
    let stored = send(
        reqwest::Method::POST,
        "/api/orgs/default/secrets",
        &[],
        Some(json!({"name": "Backend", "provider": "generic", "value": org_secret})),
    )
    .await;
    let secret_id = stored["secret"]["secretId"].as_str().unwrap().to_string();
    send(
        reqwest::Method::POST,
        &format!("/api/orgs/default/servers/{sid}/tools"),
        &[],
        Some(json!({"name": "echo_secret", "description": "Echo", "method": "GET", "endpointUrl": backend.url("/echo"),
                    "auth": {"type": "bearer", "secretId": secret_id}})),
    )
    .await;
    let webhook_secret = "whsec-log-check-0b7e61c2d9";
    send(
        reqwest::Method::PUT,
        "/api/orgs/default/notifications/webhook",
        &[],
        Some(json!({"url": backend.url("/hook"), "secret": webhook_secret})),
    )
    .await;
    let k = send(
        reqwest::Method::POST,
        &format!("/api/orgs/default/servers/{sid}/keys"),
        &[],
        Some(json!({"label": "k"})),
    )
    .await;
    let api_key = k["rawValue"].as_str().unwrap().to_string();
    let t = send(
        reqwest::Method::POST,
        "/api/orgs/default/tokens",
        &[],
        Some(json!({"name": "t", "scopes": ["servers:read"]})),
    )
    .await;
    let management_token = t["rawValue"].as_str().unwrap().to_string();

    // The tool is called (its credential goes to the backend, and only there).
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let call = send(
        reqwest::Method::POST,
        "/mcp/default/secret",
        &[("x-api-key", &api_key), ("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "echo"), ("content-type", "application/json")],
        Some(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}, "_meta": meta}})),
    )
    .await;
    let echoed = call["result"]["content"][0]["text"].as_str().unwrap().to_string();
    assert!(echoed.contains(tool_secret), "the backend must have received the credential");
    answers.lock().unwrap().pop(); // that answer is the backend's own echo, which the test asked for
    let call = send(
        reqwest::Method::POST,
        "/mcp/default/secret",
        &[("x-api-key", &api_key), ("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "echo_secret"), ("content-type", "application/json")],
        Some(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo_secret", "arguments": {}, "_meta": meta}})),
    )
    .await;
    let echoed = call["result"]["content"][0]["text"].as_str().unwrap().to_string();
    assert!(echoed.contains(org_secret), "the backend must have received the org secret");
    answers.lock().unwrap().pop();

    // FCM: install a service account and send through it.
    send(
        reqwest::Method::PUT,
        &format!("/api/orgs/default/servers/{sid}/plugins/fcm"),
        &[],
        Some(json!({"config": {"serviceAccountJson": fcm.service_account.clone()}})),
    )
    .await;
    let sent = send(
        reqwest::Method::POST,
        &format!("/api/orgs/default/servers/{sid}/plugins/fcm/invoke"),
        &[("x-api-key", &api_key)],
        Some(json!({"registrationToken": "device-1", "title": "t", "body": "b"})),
    )
    .await;
    assert!(sent["result"]["messageId"].is_string(), "{sent}");
    send(reqwest::Method::GET, &format!("/api/orgs/default/servers/{sid}/plugins/fcm"), &[], None).await;
    send(reqwest::Method::GET, &format!("/api/orgs/default/servers/{sid}/tools"), &[], None).await;

    // Rotating the key raises a notification delivered (signed) to the webhook.
    let rotated = send(
        reqwest::Method::POST,
        &format!("/api/orgs/default/servers/{sid}/keys/{}/rotate", k["key"]["keyId"].as_str().unwrap()),
        &[],
        None,
    )
    .await;
    send(reqwest::Method::GET, "/api/orgs/default/secrets", &[], None).await;
    send(reqwest::Method::GET, "/api/orgs/default/notifications", &[], None).await;
    send(reqwest::Method::GET, "/api/orgs/default/notifications/webhook", &[], None).await;
    let new_key = rotated["rawValue"].as_str().unwrap().to_string();
    answers.lock().unwrap().retain(|a| !a.contains(&new_key)); // shown once, by design
    // The notification's delivery, signed with the webhook secret, is in the log to search.
    p.wait_for_log("webhook delivered");

    // A platform login code, written to the log in dev mode by design, is the one exception;
    // everything else must be absent.
    let log = p.stop_and_read_log();
    assert!(log.contains("shutdown signal received"), "the log was captured: {log}");
    let pem = fcm.service_account["private_key"].as_str().unwrap();
    let mut secrets: Vec<String> = vec![
        tool_secret.into(),
        org_secret.into(),
        webhook_secret.into(),
        api_key.clone(),
        new_key.clone(),
        management_token.clone(),
        "PRIVATE KEY".into(),
    ];
    secrets.extend(pem.lines().filter(|l| l.len() > 40).take(5).map(str::to_string));
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log contains a secret ({})",
            &secret[..12.min(secret.len())]
        );
        for answer in answers.lock().unwrap().iter() {
            if secret != &api_key && secret != &management_token {
                assert!(!answer.contains(secret.as_str()), "an answer contains a secret: {answer}");
            }
        }
    }
}
