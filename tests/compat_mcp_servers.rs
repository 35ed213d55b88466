//! Story: a script written for a registry of MCP servers with approval policies registers
//! servers at Gatehouse with its own request, copied exactly, and manages them with the
//! siblings a user expects — in its `{message, status, error, data}` envelope.

mod common;

use common::upstreams::PyUpstream;
use common::{Backend, Resp, TestServer};
use serde_json::{Value, json};

/// The documented request body, as written.
const DOCUMENTED: &str = r#"
{
"config": {
"name": "Everything MCP Server",
"url": "https://raw.githubusercontent.com/modelcontextprotocol/server-everything/main/package.json",
"description": "Reference implementation MCP server with all features",
"approval_policy": "require_approval_all",
"transport": "SSE",
"request_headers": {
"User-Agent": "MCP-Client/1.0",
"Accept": "application/json"
},
"secret_token": {
"secret_id": "secret_token_123"
}
}
}
"#;

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    (key, secret): (Option<&str>, Option<&str>),
    body: Option<String>,
) -> Resp {
    let mut r = server.request(method, path).header("Content-Type", "application/json");
    if let Some(k) = key {
        r = r.header("X-API-KEY", k);
    }
    if let Some(s) = secret {
        r = r.header("X-API-SECRET", s);
    }
    if let Some(b) = body {
        r = r.body(b);
    }
    TestServer::read(r.send().await.unwrap()).await
}

fn failed(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["status"], "error", "{}", r.text);
    assert_eq!(r.body["error"], code, "{}", r.text);
    assert_eq!(r.body["data"], Value::Null);
    assert!(r.body["message"].is_string());
}

async fn the_documented_registration_works(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    let org_id = server.create_org(&admin, "acme").await;
    let scopes = ["upstreams:read", "upstreams:write", "secrets:read", "secrets:write"];
    let token = server.mint_token(&admin, "acme", &scopes).await;
    let secret = json!({"name": "secret_token_123", "provider": "generic", "value": "tok-for-everything"});
    server.post("/api/orgs/acme/secrets", Some(&admin), secret).await.expect(201);
    let both = (Some(token.as_str()), Some(token.as_str()));

    // The request as documented: created, its URL unreachable, which its status says.
    let made = send(&server, reqwest::Method::POST, "/api/mcp-servers", both, Some(DOCUMENTED.into())).await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.body["message"], "MCP server created successfully");
    assert_eq!(made.body["status"], "success");
    assert_eq!(made.body["error"], Value::Null);
    let data = &made.body["data"];
    assert!(data["id"].is_string());
    assert_eq!(data["organization_id"], org_id.as_str());
    assert_eq!(data["name"], "Everything MCP Server");
    assert_eq!(data["approval_policy"], "require_approval_all");
    assert_eq!(data["transport"], "SSE");
    assert_eq!(data["description"], "Reference implementation MCP server with all features");
    assert_eq!(
        data["request_headers"],
        json!({"User-Agent": "MCP-Client/1.0", "Accept": "application/json"})
    );
    assert_eq!(data["is_creator"], true);
    assert_eq!(data["role"], "admin");
    assert!(data["created_at"].is_i64() && data["updated_at"].is_i64(), "{data}");
    assert_eq!(data["tool_approval_hashes"], json!([]));
    assert_eq!(data["dependent_agents"], json!([]));
    assert_eq!(data["config"]["transport"], "SSE");
    assert_eq!(data["config"]["tool_approval_hashes"], json!([]));
    assert_eq!(data["config"]["url"], data["url"]);
    assert_eq!(data["access_info"]["role"], "admin");
    assert_eq!(data["access_info"]["is_creator"], true);
    assert_eq!(data["metadata"]["created_at"], data["created_at"]);
    assert_eq!(data["status"], "error", "an unreachable URL shows in the status: {data}");
    assert!(!made.text.contains("tok-for-everything"), "the secret never comes back");
    let id = data["id"].as_str().unwrap().to_string();

    // A reachable one, approved as found: its approval hashes are there.
    let upstream = PyUpstream::start();
    let reachable = json!({"config": {"name": "calc", "url": upstream.url(), "transport": "STREAMABLE_HTTP",
                                      "approval_policy": "auto_approve",
                                      "request_headers": {"Accept": "application/json", "X-Team": "payments"}}});
    let calc =
        send(&server, reqwest::Method::POST, "/api/mcp-servers", both, Some(reachable.to_string())).await;
    assert_eq!(calc.status, 201, "{}", calc.text);
    assert_eq!(calc.body["data"]["status"], "connected");
    assert!(!calc.body["data"]["tool_approval_hashes"].as_array().unwrap().is_empty());

    // The siblings: list, get, update, delete.
    let listed = send(&server, reqwest::Method::GET, "/api/mcp-servers", both, None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 2);
    let one = send(&server, reqwest::Method::GET, &format!("/api/mcp-servers/{id}"), both, None).await;
    assert_eq!(one.body["data"]["name"], "Everything MCP Server");
    let change = json!({"config": {"description": "Changed"}}).to_string();
    let changed =
        send(&server, reqwest::Method::PUT, &format!("/api/mcp-servers/{id}"), both, Some(change)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["data"]["description"], "Changed");
    let gone = send(&server, reqwest::Method::DELETE, &format!("/api/mcp-servers/{id}"), both, None).await;
    assert_eq!(gone.status, 200);
    assert_eq!(
        gone.body,
        json!({"message": "MCP server deleted successfully", "status": "success", "error": null, "data": null})
    );
    let r = send(&server, reqwest::Method::GET, &format!("/api/mcp-servers/{id}"), both, None).await;
    failed(&r, 404, "not_found");

    // Bad input changes nothing and says why in the envelope.
    let r = send(
        &server,
        reqwest::Method::POST,
        "/api/mcp-servers",
        both,
        Some("{\"config\": {\"name\": \"x\"}}".into()),
    )
    .await;
    failed(&r, 400, "invalid_input");
    let r = send(&server, reqwest::Method::POST, "/api/mcp-servers", both, Some("not json".into())).await;
    failed(&r, 400, "invalid_input");
    let unknown_secret = DOCUMENTED.replace("secret_token_123", "no_such_secret");
    let r = send(&server, reqwest::Method::POST, "/api/mcp-servers", both, Some(unknown_secret)).await;
    failed(&r, 422, "unprocessable");
    let listed = send(&server, reqwest::Method::GET, "/api/mcp-servers", both, None).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}

async fn credentials_and_roles(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let token = server.mint_token(&admin, "acme", &["upstreams:read", "upstreams:write"]).await;
    let body =
        json!({"config": {"name": "x", "url": "http://127.0.0.1:9/mcp", "transport": "SSE"}}).to_string();

    let r = send(&server, reqwest::Method::GET, "/api/mcp-servers", (None, None), None).await;
    failed(&r, 401, "unauthorized");
    let r =
        send(&server, reqwest::Method::GET, "/api/mcp-servers", (Some("gh_mt_wrong"), Some(&token)), None)
            .await;
    failed(&r, 401, "unauthorized");
    let r = send(&server, reqwest::Method::GET, "/api/mcp-servers", (None, Some("gh_mt_not_a_token")), None)
        .await;
    failed(&r, 401, "unauthorized");

    // The key may be the token's id, the secret the token.
    let tokens = server.get("/api/orgs/acme/tokens", Some(&admin)).await.expect(200).body;
    let token_id = tokens["tokens"][0]["tokenId"].as_str().unwrap().to_string();
    let made = send(
        &server,
        reqwest::Method::POST,
        "/api/mcp-servers",
        (Some(&token_id), Some(&token)),
        Some(body.clone()),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);

    // A reader sees it, as a member who did not create it; cannot register.
    let reader = server.mint_token(&admin, "acme", &["upstreams:read"]).await;
    let listed =
        send(&server, reqwest::Method::GET, "/api/mcp-servers", (Some(&reader), Some(&reader)), None).await;
    assert_eq!(listed.body["data"][0]["role"], "member");
    assert_eq!(listed.body["data"][0]["is_creator"], false);
    let r = send(&server, reqwest::Method::POST, "/api/mcp-servers", (Some(&reader), None), Some(body)).await;
    failed(&r, 403, "insufficient_scope");

    // Another org sees nothing of it.
    server.create_org(&admin, "rival").await;
    let rival = server.mint_token(&admin, "rival", &["upstreams:read", "upstreams:write"]).await;
    let listed =
        send(&server, reqwest::Method::GET, "/api/mcp-servers", (Some(&rival), Some(&rival)), None).await;
    assert_eq!(listed.body["data"], json!([]));
    let id = made.body["data"]["id"].as_str().unwrap();
    let r =
        send(&server, reqwest::Method::DELETE, &format!("/api/mcp-servers/{id}"), (Some(&rival), None), None)
            .await;
    failed(&r, 404, "not_found");
}

backend_tests!(the_documented_registration_works, credentials_and_roles);
