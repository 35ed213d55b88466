//! Story: someone who runs MCPJungle points its CLI's requests and their agents at Gatehouse:
//! servers registered through `/api/v0`, tools listed, invoked, disabled and enabled there, and
//! served together at the global `/mcp` (and `/sse`) — against a real upstream process.

mod common;

use common::mcp::McpClient;
use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

async fn registered_servers_are_served_at_the_global_endpoint(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let upstream = PyUpstream::start();

    // Register, as `mcpjungle register` sends it.
    let body = json!({"name": "calc-server", "transport": "streamable_http", "description": "Calculator",
                      "url": upstream.url()});
    let made = server.post("/api/v0/servers", None, body.clone()).await.expect(201);
    assert_eq!(made.body["server"]["name"], "calc-server");
    assert_eq!(made.body["server"]["transport"], "streamable_http");
    assert_eq!(made.body["server"]["enabled"], true);
    assert_eq!(made.body["server"]["url"], upstream.url());
    server.post("/api/v0/servers", None, body.clone()).await.expect_error(409, "conflict");
    let bad = json!({"name": "a__b", "transport": "streamable_http", "url": upstream.url()});
    server.post("/api/v0/servers", None, bad).await.expect_error(400, "invalid_input");
    let bad = json!({"name": "nourl", "transport": "streamable_http"});
    server.post("/api/v0/servers", None, bad).await.expect_error(400, "invalid_input");
    let listed = server.get("/api/v0/servers", None).await.expect(200);
    assert_eq!(names(&listed.body), ["calc-server"]);

    // Its tools, by MCPJungle's names.
    let tools = server.get("/api/v0/tools", None).await.expect(200);
    let tool_names = names(&tools.body);
    assert!(tool_names.contains(&"calc_server__echo".to_string()), "{tool_names:?}");
    let echo = server.get("/api/v0/tool?name=calc_server__echo", None).await.expect(200);
    assert_eq!(echo.body["enabled"], true);
    assert_eq!(echo.body["input_schema"]["required"], json!(["message"]));
    server.get("/api/v0/tool?name=calc_server__nope", None).await.expect_error(404, "not_found");
    server.get("/api/v0/tools?server=nope", None).await.expect_error(404, "not_found");
    let by_server = server.get("/api/v0/tools?server=calc-server", None).await.expect(200);
    assert_eq!(names(&by_server.body).len(), tool_names.len());

    // Invoked over REST.
    let invoke = json!({"name": "calc_server__echo", "message": "hi"});
    let done = server.post("/api/v0/tools/invoke", None, invoke.clone()).await.expect(200);
    assert_eq!(done.body["content"][0]["text"], "Echo: hi", "{}", done.text);
    let sum =
        server.post("/api/v0/tools/invoke", None, json!({"name": "calc_server__add", "a": 2, "b": 3})).await;
    assert_eq!(sum.expect(200).body["structuredContent"]["sum"], 5);
    let missing = server.post("/api/v0/tools/invoke", None, json!({"message": "x"})).await;
    missing.expect_error(400, "invalid_input");

    // Its prompts, listed and rendered.
    let prompts = server.get("/api/v0/prompts", None).await.expect(200);
    assert_eq!(names(&prompts.body), ["calc_server__greet"], "{}", prompts.text);
    assert_eq!(prompts.body[0]["arguments"][0]["name"], "who");
    let by_server = server.get("/api/v0/prompts?server=calc-server", None).await.expect(200);
    assert_eq!(names(&by_server.body), ["calc_server__greet"]);
    server.get("/api/v0/prompt?name=calc_server__greet", None).await.expect(200);
    server.get("/api/v0/prompt?name=nope", None).await.expect_error(404, "not_found");
    let render = json!({"name": "calc_server__greet", "arguments": {"who": "Ada"}});
    let rendered = server.post("/api/v0/prompts/render", None, render).await.expect(200);
    assert_eq!(rendered.body["messages"][0]["content"]["text"], "Hello, Ada!", "{}", rendered.text);
    let servers = server.get("/api/orgs/default/servers", None).await.expect(200).body;
    let proxy = servers["servers"].as_array().unwrap().iter().find(|s| s["slug"] == "mcpjungle").unwrap();
    let native = format!("/api/orgs/default/servers/{}/prompts", proxy["serverId"].as_str().unwrap());
    assert_eq!(names(&server.get(&native, None).await.expect(200).body["prompts"]), ["calc_server__greet"]);

    // Served at the global /mcp, every revision's way.
    let mut client = McpClient::new(&server, "/mcp", None, "2025-06-18");
    client.initialize().await.expect(200);
    let listed = client.request("tools/list", json!({})).await.expect(200);
    let served = names(&listed.body["result"]["tools"]);
    assert!(served.contains(&"calc_server__echo".to_string()), "{served:?}");
    let call = client
        .request("tools/call", json!({"name": "calc_server__echo", "arguments": {"message": "yo"}}))
        .await;
    assert_eq!(call.expect(200).body["result"]["content"][0]["text"], "Echo: yo");

    // Disabled, a tool leaves the proxy; enabled, it is back.
    let off =
        server.post("/api/v0/tools/disable?entity=calc_server__echo", None, json!({})).await.expect(200);
    assert_eq!(off.body, json!(["calc_server__echo"]));
    let echo = server.get("/api/v0/tool?name=calc_server__echo", None).await.expect(200);
    assert_eq!(echo.body["enabled"], false);
    let mut fresh = McpClient::new(&server, "/mcp", None, "2025-06-18");
    fresh.initialize().await.expect(200);
    let listed = fresh.request("tools/list", json!({})).await.expect(200);
    assert!(!names(&listed.body["result"]["tools"]).contains(&"calc_server__echo".to_string()));
    server.post("/api/v0/tools/invoke", None, invoke.clone()).await.expect_error(404, "not_found");
    server.post("/api/v0/tools/enable?entity=calc-server", None, json!({})).await.expect(200);
    server.post("/api/v0/tools/invoke", None, invoke.clone()).await.expect(200);
    server.post("/api/v0/tools/enable", None, json!({})).await.expect_error(400, "invalid_input");

    // A whole server disabled and enabled.
    let off = server.post("/api/v0/servers/calc-server/disable", None, json!({})).await.expect(200);
    assert_eq!(off.body["name"], "calc-server");
    let affected = off.body["tools_affected"].as_array().unwrap();
    assert!(affected.contains(&json!("calc_server__echo")), "{}", off.text);
    assert_eq!(off.body["prompts_affected"], json!([]));
    let listed = server.get("/api/v0/servers", None).await.expect(200);
    assert_eq!(listed.body[0]["enabled"], false);
    server.post("/api/v0/servers/calc-server/enable", None, json!({})).await.expect(200);
    server.post("/api/v0/servers/nope/enable", None, json!({})).await.expect_error(404, "not_found");

    // The legacy transport: /sse names where to post.
    let sse = server.request(reqwest::Method::GET, "/sse").send().await.unwrap();
    assert_eq!(sse.status(), 200);
    assert!(sse.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = sse.bytes_stream();
    use futures_util::StreamExt;
    let first = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains("event: endpoint") && first.contains("/message?sessionId="), "{first}");
    let endpoint = first.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().trim().to_string();
    let session = endpoint.split("sessionId=").nth(1).unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05",
        "capabilities": {}, "clientInfo": {"name": "legacy", "version": "1"}}});
    let posted = server
        .request(reqwest::Method::POST, &format!("/message?sessionId={session}"))
        .json(&init)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let answer = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(answer.contains("\"protocolVersion\""), "{answer}");

    // Deregistered: gone from every list.
    server.delete("/api/v0/servers/calc-server", None).await.expect(204);
    assert_eq!(server.get("/api/v0/servers", None).await.expect(200).body, json!([]));
    assert_eq!(server.get("/api/v0/tools", None).await.expect(200).body, json!([]));
    server.delete("/api/v0/servers/calc-server", None).await.expect_error(404, "not_found");
}

/// Enterprise mode: a bearer token on every request, the user role reads and invokes, the admin
/// role registers; agents reach /mcp with a key of the org's proxy server.
async fn enterprise_mode_needs_tokens_and_roles(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let upstream = PyUpstream::start();
    server.get("/api/v0/servers", None).await.expect_error(401, "unauthorized");
    let user = server.mint_token(&admin, "acme", &["servers:read", "upstreams:read", "tools:call"]).await;
    let body = json!({"name": "calc", "transport": "streamable_http", "url": upstream.url()});
    server.post("/api/v0/servers", Some(&user), body.clone()).await.expect_error(403, "insufficient_scope");
    let admin_token = server
        .mint_token(
            &admin,
            "acme",
            &[
                "servers:read",
                "servers:write",
                "upstreams:read",
                "upstreams:write",
                "keys:write",
                "tools:call",
            ],
        )
        .await;
    server.post("/api/v0/servers", Some(&admin_token), body).await.expect(201);
    let listed = server.get("/api/v0/servers", Some(&user)).await.expect(200);
    assert_eq!(names(&listed.body), ["calc"]);
    let done = server
        .post("/api/v0/tools/invoke", Some(&user), json!({"name": "calc__echo", "message": "as user"}))
        .await
        .expect(200);
    assert_eq!(done.body["content"][0]["text"], "Echo: as user");

    // The global /mcp wants a credential; a key of the proxy server serves its org.
    let r = McpClient::new(&server, "/mcp", None, "2025-06-18").request("tools/list", json!({})).await;
    assert_eq!(r.status, 401);
    let servers = server.get("/api/orgs/acme/servers", Some(&admin)).await.expect(200).body;
    let proxy = servers["servers"].as_array().unwrap().iter().find(|s| s["slug"] == "mcpjungle").unwrap();
    let sid = proxy["serverId"].as_str().unwrap();
    let key = server
        .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(&admin), json!({"label": "agent"}))
        .await;
    let key = key.expect(201).body["rawValue"].as_str().unwrap().to_string();
    let mut agent = McpClient::new(&server, "/mcp", Some(&key), "2025-06-18");
    agent.initialize().await.expect(200);
    let listed = agent.request("tools/list", json!({})).await.expect(200);
    assert!(names(&listed.body["result"]["tools"]).contains(&"calc__echo".to_string()));
    let bad = McpClient::new(&server, "/mcp", Some("mcp_not_a_key"), "2025-06-18")
        .request("tools/list", json!({}))
        .await;
    assert_eq!(bad.status, 401);

    // Another org's token sees its own org only: nothing of acme's.
    server.create_org(&admin, "rival").await;
    let rival = server.mint_token(&admin, "rival", &["servers:read", "upstreams:read", "tools:call"]).await;
    assert_eq!(server.get("/api/v0/servers", Some(&rival)).await.expect(200).body, json!([]));
    assert_eq!(server.get("/api/v0/tools", Some(&rival)).await.expect(200).body, json!([]));
    let r = server
        .post("/api/v0/tools/invoke", Some(&rival), json!({"name": "calc__echo", "message": "x"}))
        .await;
    r.expect_error(404, "not_found");
    server.delete("/api/v0/servers/calc", Some(&rival)).await.expect_error(404, "not_found");
}

/// Tool groups: named subsets served at their own endpoints, following their servers.
async fn tool_groups_serve_subsets(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let upstream = PyUpstream::start();
    let body = json!({"name": "calc", "transport": "streamable_http", "url": upstream.url()});
    server.post("/api/v0/servers", None, body).await.expect(201);

    let group = json!({"name": "math", "description": "Sums only", "included_tools": ["calc__add"]});
    let made = server.post("/api/v0/tool-groups", None, group.clone()).await.expect(201);
    let endpoint = made.body["streamable_http_endpoint"].as_str().unwrap();
    assert!(endpoint.ends_with("/v0/groups/math/mcp"), "{}", made.text);
    assert!(made.body["sse_endpoint"].as_str().unwrap().ends_with("/v0/groups/math/sse"));
    server.post("/api/v0/tool-groups", None, group).await.expect_error(409, "conflict");
    let empty = json!({"name": "empty"});
    server.post("/api/v0/tool-groups", None, empty).await.expect_error(400, "invalid_input");
    let unknown = json!({"name": "ghost", "included_tools": ["calc__nope"]});
    server.post("/api/v0/tool-groups", None, unknown).await.expect_error(400, "invalid_input");

    let got = server.get("/api/v0/tool-groups/math", None).await.expect(200);
    assert_eq!(got.body["included_tools"], json!(["calc__add"]));
    assert_eq!(got.body["description"], "Sums only");
    assert!(got.body["streamable_http_endpoint"].is_string());
    let effective = server.get("/api/v0/tool-groups/math/effective-tools", None).await.expect(200);
    assert_eq!(effective.body["tools"], json!(["calc__add"]));
    let mut client = McpClient::new(&server, "/v0/groups/math/mcp", None, "2025-06-18");
    client.initialize().await.expect(200);
    let listed = client.request("tools/list", json!({})).await.expect(200);
    assert_eq!(names(&listed.body["result"]["tools"]), ["calc__add"]);
    let sum = client.request("tools/call", json!({"name": "calc__add", "arguments": {"a": 1, "b": 2}})).await;
    assert_eq!(sum.expect(200).body["result"]["structuredContent"]["sum"], 3);

    // A whole server but one tool: the group follows the server, less the exclusion.
    let change = json!({"name": "math", "description": "All but die", "included_servers": ["calc"],
                        "excluded_tools": ["calc__die"]});
    let updated = server.put("/api/v0/tool-groups/math", None, change).await.expect(200);
    assert_eq!(updated.body["old"]["included_tools"], json!(["calc__add"]));
    assert_eq!(updated.body["new"]["included_servers"], json!(["calc"]));
    assert_eq!(updated.body["new"]["excluded_tools"], json!(["calc__die"]));
    let effective = server.get("/api/v0/tool-groups/math/effective-tools", None).await.expect(200);
    let tools = effective.body["tools"].as_array().unwrap();
    assert!(
        tools.contains(&json!("calc__echo")) && !tools.contains(&json!("calc__die")),
        "{}",
        effective.text
    );
    let mut fresh = McpClient::new(&server, "/v0/groups/math/mcp", None, "2025-06-18");
    fresh.initialize().await.expect(200);
    let listed = names(&fresh.request("tools/list", json!({})).await.expect(200).body["result"]["tools"]);
    assert!(
        listed.contains(&"calc__echo".to_string()) && !listed.contains(&"calc__die".to_string()),
        "{listed:?}"
    );
    let listed = server.get("/api/v0/tool-groups", None).await.expect(200);
    assert_eq!(names(&listed.body), ["math"], "the proxy server is not a group");

    server.delete("/api/v0/tool-groups/math", None).await.expect(204);
    server.get("/api/v0/tool-groups/math", None).await.expect_error(404, "not_found");
    let gone = McpClient::new(&server, "/v0/groups/math/mcp", None, "2025-06-18")
        .request("tools/list", json!({}))
        .await;
    assert_eq!(gone.status, 404);
}

/// Enterprise users (read and invoke, by token) and clients (agents, limited to the servers
/// of their allow list at the global /mcp).
async fn users_and_clients(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let upstream = PyUpstream::start();
    for name in ["calc", "other"] {
        let body = json!({"name": name, "transport": "streamable_http", "url": upstream.url()});
        server.post("/api/v0/servers", Some(&admin), body).await.expect(201);
    }

    // A user: made by the admin, reads and invokes, cannot register.
    let alice = server.post("/api/v0/users", Some(&admin), json!({"username": "alice"})).await.expect(201);
    assert_eq!(alice.body["role"], "user");
    let token = alice.body["access_token"].as_str().unwrap().to_string();
    let me = server.get("/api/v0/users/whoami", Some(&token)).await.expect(200);
    assert_eq!(me.body, json!({"username": "alice", "role": "user"}));
    let me = server.get("/api/v0/users/whoami", Some(&admin)).await.expect(200);
    assert_eq!(me.body["role"], "admin");
    server.get("/api/v0/servers", Some(&token)).await.expect(200);
    let invoke = json!({"name": "calc__echo", "message": "alice"});
    server.post("/api/v0/tools/invoke", Some(&token), invoke.clone()).await.expect(200);
    let body = json!({"name": "third", "transport": "streamable_http", "url": upstream.url()});
    server.post("/api/v0/servers", Some(&token), body).await.expect_error(403, "insufficient_scope");
    server
        .post("/api/v0/users", Some(&token), json!({"username": "mallory"}))
        .await
        .expect_error(403, "insufficient_scope");
    server
        .post("/api/v0/users", Some(&admin), json!({"username": "alice"}))
        .await
        .expect_error(409, "conflict");
    let custom = json!({"username": "bob", "access_token": "my-own-token"});
    server.post("/api/v0/users", Some(&admin), custom).await.expect_error(422, "unprocessable");
    let users = server.get("/api/v0/users", Some(&admin)).await.expect(200);
    assert!(
        users.body.as_array().unwrap().contains(&json!({"username": "alice", "role": "user"})),
        "{}",
        users.text
    );
    assert!(
        users.body.as_array().unwrap().contains(&json!({"username": "admin@example.com", "role": "admin"}))
    );

    // A new token for alice: the old one stops; deleted, the new one stops too.
    let renewed = server.put("/api/v0/users/alice", Some(&admin), json!({})).await.expect(200);
    let renewed = renewed.body["access_token"].as_str().unwrap().to_string();
    server.get("/api/v0/servers", Some(&token)).await.expect_error(401, "unauthorized");
    server.get("/api/v0/servers", Some(&renewed)).await.expect(200);
    server.delete("/api/v0/users/alice", Some(&admin)).await.expect(204);
    server.get("/api/v0/servers", Some(&renewed)).await.expect_error(401, "unauthorized");
    server.delete("/api/v0/users/alice", Some(&admin)).await.expect_error(404, "not_found");

    // Clients: one limited to calc, one allowed everything.
    let agent = json!({"name": "agent", "description": "CI bot", "allow_list": ["calc"]});
    let agent = server.post("/api/v0/clients", Some(&admin), agent).await.expect(201);
    assert_eq!(agent.body["allow_list"], json!(["calc"]));
    let agent_key = agent.body["access_token"].as_str().unwrap().to_string();
    let everything = json!({"name": "all", "allow_list": ["*"]});
    let all_key =
        server.post("/api/v0/clients", Some(&admin), everything).await.expect(201).body["access_token"]
            .as_str()
            .unwrap()
            .to_string();
    let served = |key: String| {
        let server = &server;
        async move {
            let mut c = McpClient::new(server, "/mcp", Some(&key), "2025-06-18");
            c.initialize().await.expect(200);
            let mut list =
                names(&c.request("tools/list", json!({})).await.expect(200).body["result"]["tools"]);
            list.retain(|n| n.ends_with("__echo"));
            list
        }
    };
    assert_eq!(served(agent_key.clone()).await, ["calc__echo"]);
    assert_eq!(served(all_key.clone()).await, ["calc__echo", "other__echo"]);
    let clients = server.get("/api/v0/clients", Some(&admin)).await.expect(200);
    assert_eq!(clients.body.as_array().unwrap().len(), 2, "{}", clients.text);
    assert!(!clients.text.contains(&agent_key), "a client's token is shown once");
    server
        .post("/api/v0/clients", Some(&admin), json!({"name": "agent", "allow_list": ["*"]}))
        .await
        .expect_error(409, "conflict");
    let unknown = json!({"name": "ghost", "allow_list": ["nope"]});
    server.post("/api/v0/clients", Some(&admin), unknown).await.expect_error(404, "not_found");

    let moved =
        server.put("/api/v0/clients/agent", Some(&admin), json!({"allow_list": ["other"]})).await.expect(200);
    assert_eq!(moved.body["allow_list"], json!(["other"]));
    assert_eq!(served(agent_key.clone()).await, ["other__echo"]);
    server.delete("/api/v0/clients/agent", Some(&admin)).await.expect(204);
    let r = McpClient::new(&server, "/mcp", Some(&agent_key), "2025-06-18")
        .request("tools/list", json!({}))
        .await;
    assert_eq!(r.status, 401);
    server.delete("/api/v0/clients/all", Some(&admin)).await.expect(204);
    let r =
        McpClient::new(&server, "/mcp", Some(&all_key), "2025-06-18").request("tools/list", json!({})).await;
    assert_eq!(r.status, 401);
    assert_eq!(server.get("/api/v0/clients", Some(&admin)).await.expect(200).body, json!([]));
    let groups = server.get("/api/v0/tool-groups", Some(&admin)).await.expect(200);
    assert_eq!(groups.body, json!([]), "neither the proxy nor clients are groups");
}

async fn users_and_clients_are_enterprise_only(backend: Backend) {
    let server = TestServer::dev(backend).await;
    server.get("/api/v0/users", None).await.expect_error(400, "invalid_input");
    server
        .post("/api/v0/clients", None, json!({"name": "x", "allow_list": ["*"]}))
        .await
        .expect_error(400, "invalid_input");
}

backend_tests!(
    users_and_clients,
    users_and_clients_are_enterprise_only,
    tool_groups_serve_subsets,
    registered_servers_are_served_at_the_global_endpoint,
    enterprise_mode_needs_tokens_and_roles
);
