//! Story: a team publishes its HTTP API as an MCP server — a server, a tool mapped onto a real
//! local HTTP API, an API key — and agents call it through `/mcp/{org}/{server}` in every
//! protocol revision. Every message Gatehouse sends is checked against the official schema.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::schema::assert_valid;
use common::{Backend, TestServer};
use serde_json::{Value, json};

const SECRET: &str = "s3cret-backend-token";

/// An org `acme` with server `weather`, tool `get_weather` on the backend, and a key.
async fn publish(server: &TestServer, admin: &str, backend: &HttpBackend) -> (String, String) {
    server.create_org(admin, "acme").await;
    let s = server
        .post(
            "/api/orgs/acme/servers",
            Some(admin),
            json!({"name": "Weather", "description": "Weather for cities"}),
        )
        .await
        .expect(201);
    assert_eq!(s.body["server"]["slug"], "weather");
    assert_eq!(s.body["server"]["status"], "active");
    let server_id = s.body["server"]["serverId"].as_str().unwrap().to_string();
    let tool = server
        .post(
            &format!("/api/orgs/acme/servers/{server_id}/tools"),
            Some(admin),
            json!({
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "method": "POST",
                "endpointUrl": backend.url("/weather/{city}"),
                "parameters": [
                    {"name": "city", "location": "path", "type": "string", "description": "City name", "required": true},
                    {"name": "units", "location": "query", "type": "string", "description": "celsius or fahrenheit"},
                    {"name": "days", "location": "body", "type": "integer"},
                    {"name": "X-Trace", "location": "header", "type": "string"}
                ],
                "auth": {"type": "bearer", "credential": SECRET},
                "timeoutMs": 5000
            }),
        )
        .await
        .expect(201);
    assert!(!tool.text.contains(SECRET), "the credential must never be returned");
    assert_eq!(tool.body["tool"]["auth"], json!({"type": "bearer", "credentialSet": true}));
    assert_eq!(
        tool.body["tool"]["inputSchema"],
        json!({"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "units": {"type": "string", "description": "celsius or fahrenheit"},
            "days": {"type": "integer"},
            "X-Trace": {"type": "string"}
        }, "required": ["city"]})
    );
    let key = server
        .post(&format!("/api/orgs/acme/servers/{server_id}/keys"), Some(admin), json!({"label": "agents"}))
        .await
        .expect(201);
    (server_id, key.body["rawValue"].as_str().unwrap().to_string())
}

fn call_params() -> Value {
    json!({"name": "get_weather", "arguments": {"city": "Buenos Aires", "units": "celsius", "days": 3, "X-Trace": "t-1"}})
}

/// Checks what the backend received and what the agent got back.
fn check_call(version: &str, result: &Value) {
    assert_valid(version, "CallToolResult", result);
    assert!(result["isError"].is_null(), "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    let echo: Value = serde_json::from_str(text).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["rawPath"], "/weather/Buenos%20Aires");
    assert_eq!(echo["query"], json!({"units": "celsius"}));
    assert_eq!(echo["body"], json!({"days": 3}));
    assert_eq!(echo["headers"]["x-trace"], "t-1");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {SECRET}"));
    // Nothing of the agent's own request reaches the API.
    assert!(echo["headers"].get("x-api-key").is_none());
    if version >= "2025-06-18" {
        assert_eq!(result["structuredContent"]["rawPath"], "/weather/Buenos%20Aires");
    } else {
        assert!(result.get("structuredContent").is_none(), "{version} has no structuredContent");
    }
}

async fn every_stateful_revision_lists_and_calls(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (_server_id, key) = publish(&server, &admin, &backend).await;
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut client = McpClient::new(&server, "/mcp/acme/weather", Some(&key), version);
        let init = client.initialize().await.expect(200);
        assert_valid(version, "JSONRPCResponse", &init.body);
        assert_valid(version, "InitializeResult", &init.body["result"]);
        assert_eq!(init.body["result"]["protocolVersion"], version);
        assert_eq!(init.body["result"]["serverInfo"]["name"], "Weather");
        assert!(client.session.is_some(), "{version}: initialize must issue Mcp-Session-Id");

        let list = client.request("tools/list", json!({})).await.expect(200);
        assert_valid(version, "ListToolsResult", &list.body["result"]);
        assert_eq!(list.body["result"]["tools"][0]["name"], "get_weather");
        for method in ["prompts/list", "resources/list"] {
            let r = client.request(method, json!({})).await.expect(200);
            let def = if method == "prompts/list" { "ListPromptsResult" } else { "ListResourcesResult" };
            assert_valid(version, def, &r.body["result"]);
        }
        let ping = client.request("ping", json!({})).await.expect(200);
        assert_valid(version, "JSONRPCResponse", &ping.body);

        let call = client.request("tools/call", call_params()).await.expect(200);
        assert_valid(version, "JSONRPCResponse", &call.body);
        check_call(version, &call.body["result"]);
    }
}

async fn stateless_revision_discovers_lists_and_calls(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (_server_id, key) = publish(&server, &admin, &backend).await;
    let v = "2026-07-28";
    let mut client = McpClient::new(&server, "/mcp/acme/weather", Some(&key), v);
    let discover = client.request("server/discover", json!({})).await.expect(200);
    assert!(discover.headers.get("mcp-session-id").is_none(), "no sessions in {v}");
    assert_valid(v, "DiscoverResult", &discover.body["result"]);
    assert!(discover.body["result"]["supportedVersions"].as_array().unwrap().contains(&json!("2024-11-05")));

    let list = client.request("tools/list", json!({})).await.expect(200);
    assert_valid(v, "ListToolsResult", &list.body["result"]);
    assert_eq!(list.body["result"]["resultType"], "complete");
    assert!(list.body["result"]["ttlMs"].is_u64());

    let call = client.request("tools/call", call_params()).await.expect(200);
    assert_valid(v, "JSONRPCResultResponse", &call.body);
    check_call(v, &call.body["result"]);
    assert_eq!(call.body["result"]["resultType"], "complete");
}

async fn http_errors_are_tool_errors_and_bad_arguments_never_reach_the_api(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (server_id, key) = publish(&server, &admin, &backend).await;
    for (name, path) in [("not_found", "/status/404"), ("slow", "/slow"), ("big", "/big")] {
        server
            .post(
                &format!("/api/orgs/acme/servers/{server_id}/tools"),
                Some(&admin),
                json!({"name": name, "description": "x", "method": "GET", "endpointUrl": backend.url(path), "timeoutMs": 500}),
            )
            .await
            .expect(201);
    }
    let mut client = McpClient::new(&server, "/mcp/acme/weather", Some(&key), "2025-06-18");
    client.initialize().await.expect(200);

    let r = client.request("tools/call", json!({"name": "not_found", "arguments": {}})).await.expect(200);
    assert_valid("2025-06-18", "CallToolResult", &r.body["result"]);
    assert_eq!(r.body["result"]["isError"], true);
    assert_eq!(r.body["result"]["content"][0]["text"], "Error: HTTP 404: city not found");

    let r = client.request("tools/call", json!({"name": "slow", "arguments": {}})).await.expect(200);
    assert_eq!(r.body["result"]["isError"], true);
    assert!(r.body["result"]["content"][0]["text"].as_str().unwrap().contains("timed out after 500 ms"));

    let r = client.request("tools/call", json!({"name": "big", "arguments": {}})).await.expect(200);
    assert_eq!(r.body["result"]["isError"], true);
    assert!(r.body["result"]["content"][0]["text"].as_str().unwrap().contains("exceeded"));

    // Missing required argument: -32602 naming it.
    let r = client
        .request("tools/call", json!({"name": "get_weather", "arguments": {"units": "celsius"}}))
        .await
        .expect(200);
    assert_valid("2025-06-18", "JSONRPCError", &r.body);
    assert_eq!(r.body["error"]["code"], -32602);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("city"));
    let r = client.request("tools/call", json!({"name": "get_weather", "arguments": {"city": 42}})).await;
    assert_eq!(r.body["error"]["code"], -32602);
    let r = client.request("tools/call", json!({"name": "no_such_tool", "arguments": {}})).await;
    assert_eq!(r.body["error"]["code"], -32602);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("no_such_tool"));
}

async fn tools_crud_validates_and_never_returns_credentials(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (server_id, _key) = publish(&server, &admin, &backend).await;
    let base = format!("/api/orgs/acme/servers/{server_id}/tools");
    let tool = |name: &str, url: &str, params: Value| json!({"name": name, "description": "d", "method": "GET", "endpointUrl": url, "parameters": params});
    // Placeholder without a path parameter, and the reverse.
    server
        .post(&base, Some(&admin), tool("a_tool", &backend.url("/x/{id}"), json!([])))
        .await
        .expect_error(422, "unprocessable");
    server
        .post(
            &base,
            Some(&admin),
            tool("a_tool", &backend.url("/x"), json!([{"name": "id", "location": "path", "required": true}])),
        )
        .await
        .expect_error(422, "unprocessable");
    server
        .post(&base, Some(&admin), tool("NotSnake", &backend.url("/x"), json!([])))
        .await
        .expect_error(400, "invalid_input");
    server
        .post(&base, Some(&admin), tool("get_weather", &backend.url("/x"), json!([])))
        .await
        .expect_error(409, "conflict");
    server
        .post(&base, Some(&admin), tool("a_tool", "not a url", json!([])))
        .await
        .expect_error(422, "unprocessable");
    let mut bad_auth = tool("a_tool", &backend.url("/x"), json!([]));
    bad_auth["auth"] = json!({"type": "api_key", "credential": "k"});
    server.post(&base, Some(&admin), bad_auth).await.expect_error(422, "unprocessable");
    // A header parameter cannot set a header Gatehouse sets, nor the credential's own.
    let header_param = |name: &str| json!([{"name": name, "location": "header"}]);
    let refused = server
        .post(&base, Some(&admin), tool("a_tool", &backend.url("/x"), header_param("Authorization")))
        .await
        .expect_error(422, "unprocessable");
    assert!(refused.text.contains("Authorization"), "{}", refused.text);
    let mut own_header = tool("a_tool", &backend.url("/x"), header_param("x-key"));
    own_header["auth"] = json!({"type": "api_key", "credential": "k", "header": "X-Key"});
    server.post(&base, Some(&admin), own_header).await.expect_error(422, "unprocessable");
    let mut basic = tool("basic_tool", &backend.url("/x"), json!([]));
    basic["auth"] = json!({"type": "basic", "credential": "user:pa55word"});
    let created = server.post(&base, Some(&admin), basic).await.expect(201);
    let tool_id = created.body["tool"]["toolId"].as_str().unwrap().to_string();

    // PATCH without a credential keeps it; list and get never show it.
    server
        .patch(
            &format!("{base}/{tool_id}"),
            Some(&admin),
            json!({"description": "new", "auth": {"type": "basic"}}),
        )
        .await
        .expect(200);
    for r in
        [server.get(&base, Some(&admin)).await, server.get(&format!("{base}/{tool_id}"), Some(&admin)).await]
    {
        let r = r.expect(200);
        assert!(!r.text.contains(SECRET) && !r.text.contains("pa55word"), "{}", r.text);
    }
    let one = server.get(&format!("{base}/{tool_id}"), Some(&admin)).await.expect(200);
    assert_eq!(one.body["tool"]["auth"], json!({"type": "basic", "credentialSet": true}));
    assert_eq!(one.body["tool"]["description"], "new");
    server.delete(&format!("{base}/{tool_id}"), Some(&admin)).await.expect(204);
    server.get(&format!("{base}/{tool_id}"), Some(&admin)).await.expect_error(404, "not_found");
}

/// A catalogue longer than a page: 501 tools come in two pages (500, then 1) in every revision,
/// each page valid for its revision, the cursor honoured, a bad cursor refused; a tools/list in
/// a batch (answered through the general path) equals the same tools/list on its own (answered
/// from the directory's pre-serialised text).
async fn a_long_catalogue_is_listed_page_by_page(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    server.create_org(&admin, "acme").await;
    let s =
        server.post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Catalogue"})).await.expect(201);
    let server_id = s.body["server"]["serverId"].as_str().unwrap().to_string();
    for i in 0..501 {
        server
            .post(
                &format!("/api/orgs/acme/servers/{server_id}/tools"),
                Some(&admin),
                json!({"name": format!("tool_{i:03}"), "description": "A tool", "method": "GET",
                       "endpointUrl": backend.url("/x/{id}"),
                       "parameters": [{"name": "id", "location": "path", "type": "string", "required": true}],
                       "auth": {"type": "none"}}),
            )
            .await
            .expect(201);
    }
    let key = server
        .post(&format!("/api/orgs/acme/servers/{server_id}/keys"), Some(&admin), json!({"label": "agents"}))
        .await
        .expect(201);
    let key = key.body["rawValue"].as_str().unwrap().to_string();
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"] {
        let mut client = McpClient::new(&server, "/mcp/acme/catalogue", Some(&key), version);
        if version != "2026-07-28" {
            client.initialize().await.expect(200);
        }
        let first = client.request("tools/list", json!({})).await.expect(200);
        assert_valid(version, "JSONRPCResponse", &first.body);
        assert_valid(version, "ListToolsResult", &first.body["result"]);
        let tools = first.body["result"]["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 500, "{version}");
        assert_eq!(tools[0]["name"], "tool_000");
        assert_eq!(tools[0]["inputSchema"]["required"], json!(["id"]));
        let cursor = first.body["result"]["nextCursor"].as_str().expect("a next page").to_string();
        let second = client.request("tools/list", json!({"cursor": cursor})).await.expect(200);
        assert_valid(version, "ListToolsResult", &second.body["result"]);
        let last = &second.body["result"]["tools"];
        assert_eq!(last.as_array().map(Vec::len), Some(1), "{version}");
        assert_eq!(last[0]["name"], "tool_500");
        assert!(second.body["result"].get("nextCursor").is_none(), "{version}: the last page");
        if version == "2026-07-28" {
            let result = &first.body["result"];
            assert_eq!(
                (result["resultType"].as_str(), result["cacheScope"].as_str()),
                (Some("complete"), Some("private"))
            );
            assert!(result["ttlMs"].is_u64());
            assert_eq!(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "Catalogue");
        } else {
            assert!(first.body["result"].get("resultType").is_none(), "{version}");
        }
        let bad = client.request("tools/list", json!({"cursor": "o:9999"})).await;
        assert_eq!(bad.body["error"]["code"], -32602, "{version}: {}", bad.text);
        if version == "2025-03-26" {
            let batch = json!([{"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}]);
            let answers = client.post(batch, &[]).await.expect(200);
            assert_eq!(answers.body[0]["result"], first.body["result"], "both paths answer alike");
        }
    }
}

/// The getting-started request as a person sends it with curl — an API key, a JSON-RPC
/// `tools/list`, no `initialize`, no session, no protocol header, no `Accept` — gets the tools;
/// a call works the same way. Only a stateful version header without its session is refused.
async fn the_getting_started_curl_lists_and_calls(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (_server_id, key) = publish(&server, &admin, &backend).await;
    let curl = |body: Value, extra: Option<(&str, &str)>| {
        let mut r = server
            .request(reqwest::Method::POST, "/mcp/acme/weather")
            .header("X-API-Key", &key)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some((k, v)) = extra {
            r = r.header(k, v);
        }
        async move { TestServer::read(r.send().await.unwrap()).await }
    };
    let listed = curl(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), None).await.expect(200);
    assert!(listed.headers.get("mcp-session-id").is_none(), "no session is made");
    assert_eq!(listed.body["id"], 1);
    assert_eq!(listed.body["result"]["tools"][0]["name"], "get_weather");
    assert_valid("2025-03-26", "JSONRPCResponse", &listed.body);
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "get_weather", "arguments": {"city": "Buenos Aires", "units": "celsius"}}});
    let called = curl(call.clone(), None).await.expect(200);
    assert!(
        called.body["result"]["content"][0]["text"].as_str().unwrap().contains("/weather/Buenos%20Aires"),
        "{}",
        called.text
    );
    assert_valid("2025-03-26", "CallToolResult", &called.body["result"]);
    let noted = curl(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), None).await;
    assert_eq!(noted.status, 202);
    // A client naming a stateful revision has lost its session: it must initialize again.
    curl(call, Some(("MCP-Protocol-Version", "2025-06-18"))).await.expect(400);
    // Without the key, the same request is refused.
    let anonymous = server
        .request(reqwest::Method::POST, "/mcp/acme/weather")
        .header("Content-Type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string());
    assert_eq!(TestServer::read(anonymous.send().await.unwrap()).await.status, 401);
}

backend_tests!(
    the_getting_started_curl_lists_and_calls,
    every_stateful_revision_lists_and_calls,
    stateless_revision_discovers_lists_and_calls,
    http_errors_are_tool_errors_and_bad_arguments_never_reach_the_api,
    tools_crud_validates_and_never_returns_credentials,
    a_long_catalogue_is_listed_page_by_page,
);
