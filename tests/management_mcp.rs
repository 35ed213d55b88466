//! Story: an agent manages Gatehouse through the management MCP server at `/api/mcp`, with the
//! same operations and the same scope checks as REST.

mod common;

use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

async fn rpc(server: &TestServer, token: &str, body: Value) -> common::Resp {
    let r = server
        .request(reqwest::Method::POST, "/api/mcp")
        .header("X-Management-Token", token)
        .header("content-type", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    TestServer::read(r).await
}

async fn enabled(backend: Backend) -> (TestServer, String) {
    TestServer::enterprise_with(backend, Options { mcp_server_enabled: true, ..Default::default() }).await
}

async fn tools_mirror_the_registry_and_scopes_are_rechecked(backend: Backend) {
    let (server, admin) = enabled(backend).await;
    server.create_org(&admin, "acme").await;
    let reader = server.mint_token(&admin, "acme", &["members:read"]).await;

    let init = rpc(&server, &reader, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
    .await
    .expect(200);
    assert_eq!(init.body["result"]["protocolVersion"], "2025-06-18");
    common::schema::assert_valid("2025-06-18", "JSONRPCResponse", &init.body);
    common::schema::assert_valid("2025-06-18", "InitializeResult", &init.body["result"]);
    assert!(init.body["result"]["capabilities"]["tools"].is_object());
    rpc(&server, &reader, json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await.expect(202);

    // tools/list is the registry, exactly.
    let list =
        rpc(&server, &reader, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await.expect(200);
    common::schema::assert_valid("2025-06-18", "ListToolsResult", &list.body["result"]);
    let mut listed: Vec<String> = list.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let registry = gatehouse::api::registry();
    let mut expected: Vec<String> =
        registry.operations().iter().filter(|o| o.spec.mcp).map(|o| o.spec.name.to_string()).collect();
    expected.extend(gatehouse::api::compat::management_tools::ALIASES.iter().map(|a| a.name.to_string()));
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    for tool in list.body["result"]["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
    }
    let add =
        list.body["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "add_member").unwrap();
    assert!(add["description"].as_str().unwrap().contains("members:write"));
    assert_eq!(add["inputSchema"]["required"], json!(["email", "role"]), "org defaults to the token's");

    // Allowed by scope.
    let call = rpc(
        &server,
        &reader,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "list_members", "arguments": {"org": "acme"}}}),
    )
    .await
    .expect(200);
    assert!(call.body["result"]["isError"].is_null(), "{}", call.text);
    common::schema::assert_valid("2025-06-18", "CallToolResult", &call.body["result"]);
    assert_eq!(call.body["result"]["structuredContent"]["members"][0]["email"], "admin@example.com");

    // Refused by scope, as a tool error, and audited.
    let call = rpc(&server, &reader, json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "add_member", "arguments": {"org": "acme", "email": "x@example.com", "role": "admin"}}}))
    .await
    .expect(200);
    assert_eq!(call.body["result"]["isError"], true);
    common::schema::assert_valid("2025-06-18", "CallToolResult", &call.body["result"]);
    assert!(call.body["result"]["content"][0]["text"].as_str().unwrap().contains("403 insufficient_scope"));
    let audit = server.get("/api/orgs/acme/audit", Some(&admin)).await.expect(200);
    assert_eq!(audit.body["events"][0]["action"], "add_member");
    assert_eq!(audit.body["events"][0]["outcome"], "insufficient_scope");

    // Another org is not found, as on REST.
    server.create_org(&admin, "other").await;
    let call = rpc(
        &server,
        &reader,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "list_members", "arguments": {"org": "other"}}}),
    )
    .await;
    assert!(call.body["result"]["content"][0]["text"].as_str().unwrap().contains("404 not_found"));
}

async fn protocol_errors(backend: Backend) {
    let (server, admin) = enabled(backend).await;
    server.create_org(&admin, "acme").await;
    let token = server.mint_token(&admin, "acme", &["members:read"]).await;
    let r = rpc(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "nope"}}),
    )
    .await;
    assert_eq!(r.body["error"]["code"], -32602);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("nope"));
    common::schema::assert_valid("2025-06-18", "JSONRPCError", &r.body);
    // A required argument missing is invalid params (the org defaults to the token's).
    let r = rpc(&server, &token, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_server", "arguments": {}}})).await;
    assert_eq!(r.body["error"]["code"], -32602);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("serverId"), "{}", r.text);
    let r = rpc(&server, &token, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_app", "arguments": {}}})).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("appId"), "{}", r.text);
    let r = rpc(&server, &token, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_members", "arguments": {}}})).await;
    assert_eq!(
        r.body["result"]["structuredContent"]["members"][0]["email"], "admin@example.com",
        "{}",
        r.text
    );
    let r = rpc(&server, &token, json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list"})).await;
    assert_eq!(r.body["error"]["code"], -32601);
    let r = rpc(&server, &token, json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])).await.expect(400);
    assert_eq!(r.body["error"]["code"], -32600);
    let r = server
        .request(reqwest::Method::POST, "/api/mcp")
        .header("X-Management-Token", &token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let r = TestServer::read(r).await.expect(400);
    assert_eq!(r.body["error"]["code"], -32700);
    let r = rpc(&server, &token, json!({"jsonrpc": "2.0", "id": 9, "method": "ping"})).await.expect(200);
    assert_eq!(r.body, json!({"jsonrpc": "2.0", "id": 9, "result": {}}));
    // No token: 401; GET: 405.
    let r = server
        .request(reqwest::Method::POST, "/api/mcp")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");
    server.get("/api/mcp", Some(&token)).await.expect_error(405, "method_not_allowed");
}

async fn disabled_by_default(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    rpc(&server, &admin, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await
        .expect_error(404, "not_found");
    server.get("/api/mcp", Some(&admin)).await.expect_error(404, "not_found");
}

/// The management API's reference document, as written: its catalogue of 23 tools with their
/// scopes, its scope names on tokens, and its curl examples copied exactly.
async fn the_documented_catalogue_works_as_documented(backend: Backend) {
    let (server, admin) = enabled(backend).await;
    server.create_org(&admin, "acme").await;
    let documented = [
        ("list_apps", "apps:read"),
        ("create_app", "apps:write"),
        ("get_app", "apps:read"),
        ("update_app", "apps:write"),
        ("delete_app", "apps:delete"),
        ("get_app_usage", "usage:read"),
        ("get_usage_timeseries", "usage:read"),
        ("rotate_key", "keys:rotate"),
        ("list_key_rotations", "keys:rotate"),
        ("read_policy", "policies:read"),
        ("update_policy", "policies:write"),
        ("delete_policy", "policies:write"),
        ("list_provider_keys", "provider_keys:read"),
        ("set_provider_key", "provider_keys:write"),
        ("delete_provider_key", "provider_keys:write"),
        ("get_auth_config", "apps:read"),
        ("update_auth_config", "apps:write"),
        ("get_data_logging", "apps:read"),
        ("update_data_logging", "apps:write"),
        ("update_revenuecat_config", "apps:write"),
        ("trigger_revenuecat_refresh", "apps:write"),
        ("update_posthog_config", "apps:write"),
        ("list_notifications", "notifications:read"),
    ];
    // The scope list names the aliases and the groups.
    let listed = server.get("/api/scopes", Some(&admin)).await.expect(200).body;
    let servers_read =
        listed["scopes"].as_array().unwrap().iter().find(|s| s["name"] == "servers:read").unwrap();
    assert_eq!(servers_read["aliases"], json!(["apps:read"]));
    let group = listed["groups"].as_array().unwrap().iter().find(|g| g["name"] == "project:write").unwrap();
    assert!(group["scopes"].as_array().unwrap().contains(&json!("tools:call")), "{listed}");

    // A token minted with the document's scope names holds them under Gatehouse's names.
    let scopes: Vec<&str> = documented.iter().map(|(_, s)| *s).collect();
    let minted = server
        .post("/api/orgs/acme/tokens", Some(&admin), json!({"name": "agent", "scopes": scopes}))
        .await
        .expect(201);
    let stored = minted.body["token"]["scopes"].as_array().unwrap();
    assert!(
        stored.contains(&json!("servers:delete")) && stored.contains(&json!("secrets:write")),
        "{stored:?}"
    );
    assert!(!stored.contains(&json!("apps:read")), "aliases are stored as the scope's name");
    let token = minted.body["rawValue"].as_str().unwrap().to_string();

    // "Initialize a session", "Discover tools", "Call a tool", as the document sends them.
    let send = |body: &'static str| {
        let r = server
            .request(reqwest::Method::POST, "/api/mcp")
            .header("X-Management-Token", &token)
            .header("Content-Type", "application/json")
            .body(body);
        async move { TestServer::read(r.send().await.unwrap()).await.expect(200) }
    };
    let init = send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize",
"params":{"protocolVersion":"2025-06-18","capabilities":{},
"clientInfo":{"name":"curl","version":"1.0"}}}"#,
    )
    .await;
    assert_eq!(init.body["result"]["protocolVersion"], "2025-06-18");
    let list = send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#).await;
    common::schema::assert_valid("2025-06-18", "ListToolsResult", &list.body["result"]);
    let tools = list.body["result"]["tools"].as_array().unwrap();
    for (name, scope) in documented {
        let tool = tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} is listed"));
        assert!(tool["description"].as_str().unwrap().contains(scope), "{name} names {scope}: {tool}");
    }
    let call = send(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call",
"params":{"name":"list_apps","arguments":{}}}"#,
    )
    .await;
    common::schema::assert_valid("2025-06-18", "CallToolResult", &call.body["result"]);
    assert_eq!(call.body["result"]["structuredContent"]["servers"], json!([]), "{}", call.text);

    // An app made, read and deleted by the document's names.
    let app = rpc(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "create_app", "arguments": {"name": "Weather"}}}),
    )
    .await
    .expect(200);
    let app_id = app.body["result"]["structuredContent"]["server"]["serverId"].as_str().unwrap().to_string();
    let got = rpc(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "get_app", "arguments": {"appId": app_id}}}),
    )
    .await
    .expect(200);
    assert_eq!(got.body["result"]["structuredContent"]["server"]["name"], "Weather");
    let get_app = tools.iter().find(|t| t["name"] == "get_app").unwrap();
    assert_eq!(get_app["inputSchema"]["required"], json!(["appId"]));

    // A token without apps:delete cannot delete it: refused as a tool error, as every scope is.
    let reader = server.mint_token(&admin, "acme", &["apps:read", "apps:write"]).await;
    let refused = rpc(
        &server,
        &reader,
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "delete_app", "arguments": {"appId": app_id}}}),
    )
    .await
    .expect(200);
    assert_eq!(refused.body["result"]["isError"], true, "{}", refused.text);
    assert!(refused.text.contains("servers:delete"), "{}", refused.text);
    let deleted = rpc(
        &server,
        &token,
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "delete_app", "arguments": {"appId": app_id}}}),
    )
    .await
    .expect(200);
    assert_ne!(deleted.body["result"]["isError"], true, "{}", deleted.text);
}

backend_tests!(
    tools_mirror_the_registry_and_scopes_are_rechecked,
    protocol_errors,
    disabled_by_default,
    the_documented_catalogue_works_as_documented
);

/// The schema oracle itself must be able to fail.
#[test]
#[should_panic(expected = "not a valid 2025-06-18 CallToolResult")]
fn the_schema_oracle_rejects_invalid_messages() {
    common::schema::assert_valid("2025-06-18", "CallToolResult", &json!({"content": "not a list"}));
}
