//! Story: clients and upstreams of different protocol revisions reach each other: a 2026-07-28
//! client before 2025-era upstreams that ask for input mid-call, and older clients before an
//! upstream that speaks only 2026-07-28.

mod common;

use common::gateway::{attach, call, create_server, create_upstream, session, text_of, tool_names};
use common::mcp::McpClient;
use common::schema::assert_valid;
use common::upstreams::{EverythingHttp, PyUpstream};
use common::{Backend, TestServer};
use serde_json::{Value, json};

/// A 2026-07-28 client (no session, no server-to-client requests) reaches a 2025-era upstream
/// that asks for sampling mid-call: the gateway answers `input_required` with a sealed
/// `requestState`, and the retry's `inputResponses` reach the upstream.
async fn mrtr_bridge_story(backend: Backend) {
    let Some(remote) = EverythingHttp::start("streamableHttp") else { return };
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Bridge").await;
    let up = create_upstream(
        &server,
        json!({"name": "Old", "transport": "streamable_http", "url": remote.url("/mcp"), "approvalPolicy": "auto_approve"}),
    )
    .await;
    assert!(up["protocolVersion"].as_str().unwrap() < "2026-07-28", "{up}");
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let client = McpClient::new(&server, &format!("/mcp/default/{slug}"), None, "2026-07-28");
    let meta = |caps: Value| {
        json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": caps,
               "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"}})
    };
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "trigger-sampling-request")];
    let first = client
        .post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "trigger-sampling-request", "arguments": {"prompt": "capital of France?"},
                "_meta": meta(json!({"sampling": {}}))}}),
            &headers,
        )
        .await
        .expect(200)
        .body;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    assert_valid("2026-07-28", "InputRequiredResult", result);
    let (key, ask) = result["inputRequests"].as_object().unwrap().iter().next().unwrap();
    assert_eq!(ask["method"], "sampling/createMessage");
    let state = result["requestState"].as_str().unwrap().to_string();

    let retry = |id: i64, state: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "trigger-sampling-request", "arguments": {"prompt": "capital of France?"},
            "inputResponses": {key.as_str(): {"role": "assistant", "content": {"type": "text", "text": "Paris, says the client"},
                                               "model": "m", "stopReason": "endTurn"}},
            "requestState": state, "_meta": meta(json!({"sampling": {}}))}})
    };
    // Tampered state is refused and does not consume the parked call.
    let mut tampered = state.clone();
    tampered.insert(3, if tampered.as_bytes()[3] == b'A' { 'B' } else { 'A' });
    let refused = client.post(retry(2, &tampered), &headers).await.expect(200).body;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    // State bound to another tool is refused too.
    let mut other = retry(3, &state);
    other["params"]["name"] = json!("echo");
    let refused =
        client.post(other, &[("mcp-method", "tools/call"), ("mcp-name", "echo")]).await.expect(200).body;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");

    let done = client.post(retry(4, &state), &headers).await.expect(200).body;
    assert!(done["result"].to_string().contains("Paris, says the client"), "{done}");
    assert_ne!(done["result"]["resultType"], "input_required");
    assert_valid("2026-07-28", "CallToolResult", &done["result"]);
    let replay = client.post(retry(5, &state), &headers).await.expect(200).body;
    assert_eq!(replay["error"]["code"], -32602, "a used state cannot be replayed: {replay}");

    // A client that did not declare sampling is never asked.
    let plain = client
        .post(
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
                "name": "trigger-sampling-request", "arguments": {"prompt": "x"}, "_meta": meta(json!({}))}}),
            &headers,
        )
        .await
        .expect(200)
        .body;
    assert_ne!(plain["result"]["resultType"], "input_required", "{plain}");
}

/// The other way round: clients of older revisions in front of an upstream that speaks only
/// 2026-07-28. Gatehouse discovers it statelessly, and turns its `input_required` rounds into
/// real requests to a stateful client (and into its own rounds for a 2026-07-28 client).
async fn modern_upstream_story(backend: Backend) {
    let upstream = PyUpstream::start_modern();
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Modern").await;
    let up = create_upstream(
        &server,
        json!({"name": "New", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
    )
    .await;
    assert_eq!(up["status"], "connected", "{up}");
    assert_eq!(up["protocolVersion"], "2026-07-28");
    assert_eq!(up["serverInfo"]["name"], "modern-upstream");
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;

    for version in ["2024-11-05", "2025-06-18"] {
        let mut old = session(&server, &slug, version).await;
        let names = tool_names(&mut old).await;
        assert!(names.contains(&"confirm".to_string()), "{names:?}");
        let listed = old.request("tools/list", json!({})).await.body;
        assert!(listed["result"].get("resultType").is_none(), "2026 fields are shaped away for {version}");
        assert_eq!(
            text_of(&call(&mut old, "echo", json!({"message": version})).await),
            format!("Echo: {version}")
        );
        let mut asked = Vec::new();
        let messages = old
            .post_streaming(
                json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                       "params": {"name": "confirm", "arguments": {"action": "deploy"}}}),
                |req| {
                    asked.push(req.clone());
                    json!({"action": "accept", "content": {"ok": true}})
                },
            )
            .await;
        assert_eq!(asked.len(), 1, "{messages:?}");
        assert_eq!(asked[0]["method"], "elicitation/create");
        assert_eq!(asked[0]["params"]["message"], "Proceed with deploy?");
        let last = messages.last().unwrap();
        assert_eq!(last["result"]["content"][0]["text"], "confirmed: {\"ok\": true}", "{last}");
        assert!(last["result"].get("resultType").is_none());
    }

    // A 2026-07-28 client gets the round as input_required from Gatehouse itself.
    let client = McpClient::new(&server, &format!("/mcp/default/{slug}"), None, "2026-07-28");
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"}});
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "confirm")];
    let body = |id: i64, extra: Value| {
        let mut params = json!({"name": "confirm", "arguments": {"action": "ship"}, "_meta": meta.clone()});
        for (k, v) in extra.as_object().unwrap() {
            params[k] = v.clone();
        }
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
    };
    let first = client.post(body(1, json!({})), &headers).await.expect(200).body;
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    let state = first["result"]["requestState"].as_str().unwrap();
    assert_ne!(state, "opaque-state-1", "the upstream's own state never reaches the client");
    let key = first["result"]["inputRequests"].as_object().unwrap().keys().next().unwrap().clone();
    let done = client
        .post(
            body(2, json!({"requestState": state, "inputResponses": {key: {"action": "accept", "content": {"ok": false}}}})),
            &headers,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["result"]["content"][0]["text"], "confirmed: {\"ok\": false}", "{done}");
}

/// A 2026-07-28 client through to a 2025-06-18 upstream that asks for input on its SSE
/// answer: the request becomes an input_required round, the answer goes back upstream.
async fn modern_client_old_upstream_story(backend: Backend) {
    let upstream = PyUpstream::start();
    upstream.control(json!({"max_version": "2025-06-18"})).await;
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Span").await;
    let up = create_upstream(
        &server,
        json!({"name": "Old", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
    )
    .await;
    assert_eq!(up["protocolVersion"], "2025-06-18", "{up}");
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let client = McpClient::new(&server, &format!("/mcp/default/{slug}"), None, "2026-07-28");
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"}});
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "ask")];
    let first = client
        .post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "ask", "arguments": {}, "_meta": meta.clone()}}),
            &headers,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    let (key, ask) = first["result"]["inputRequests"].as_object().unwrap().iter().next().unwrap();
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(ask["params"]["message"], "Which color?");
    let done = client
        .post(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "ask", "arguments": {}, "_meta": meta.clone(),
                "requestState": first["result"]["requestState"],
                "inputResponses": {key.as_str(): {"action": "accept", "content": {"color": "teal"}}}}}),
            &headers,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(done["result"]["content"][0]["text"], "chosen: {\"color\": \"teal\"}", "{done}");
    assert_valid("2026-07-28", "CallToolResult", &done["result"]);

    // An upstream asking two things at once: the client declared elicitation only, so it is
    // asked that alone, and the upstream is told it cannot have the sampling (-32601).
    let call = |id: u64, extra: Value| {
        let mut params = json!({"name": "ask", "arguments": {"also": "sampling"}, "_meta": meta.clone()});
        params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
    };
    let first = client.post(call(3, json!({})), &headers).await.expect(200).body;
    let asked = first["result"]["inputRequests"].as_object().unwrap();
    assert_eq!(asked.len(), 1, "only what the client declared is asked: {first}");
    let (key, ask) = asked.iter().next().unwrap();
    assert_eq!(ask["method"], "elicitation/create", "{first}");
    let answers = json!({"requestState": first["result"]["requestState"],
        "inputResponses": {key.as_str(): {"action": "accept", "content": {"color": "red"}}}});
    let done = client.post(call(4, answers), &headers).await.expect(200).body;
    assert_eq!(
        done["result"]["content"][0]["text"], "chosen: {\"color\": \"red\"}; sampling: -32601",
        "{done}"
    );
}

backend_tests!(mrtr_bridge_story, modern_upstream_story, modern_client_old_upstream_story,);
