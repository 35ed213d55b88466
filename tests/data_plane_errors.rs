//! Story: whatever an agent sends to `/mcp/{org}/{server}`, it gets the right HTTP status and
//! JSON-RPC error for its revision, nothing reaches the API behind, and nothing panics. Includes
//! the transport MUSTs real servers often miss: unknown or ended sessions are 404, a present
//! but foreign Origin is 403.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::schema::assert_valid;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

async fn setup(backend_kind: Backend, backend: &HttpBackend) -> (TestServer, String, String, String) {
    let options = Options { metrics_token: Some("metrics".into()), ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend_kind, options).await;
    let (sid, key) = server
        .publish_echo(&admin, backend, json!([{"name": "q", "location": "query", "required": true}]))
        .await;
    (server, admin, sid, key)
}

async fn raw_post(
    server: &TestServer,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> common::Resp {
    let mut req = server.request(reqwest::Method::POST, "/mcp/acme/echo");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("accept")) {
        req = req.header("accept", "application/json, text/event-stream");
    }
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    TestServer::read(req.body(body.to_string()).send().await.unwrap()).await
}

const JSON: (&str, &str) = ("content-type", "application/json");

async fn credentials_and_server_state(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin, sid, key) = setup(backend_kind, &backend).await;
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    assert_eq!(raw_post(&server, None, &[JSON], ping).await.status, 401);
    assert_eq!(raw_post(&server, Some("mcp_wrong"), &[JSON], ping).await.status, 401);
    let r = server
        .request(reqwest::Method::POST, "/mcp/acme/nope")
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(TestServer::read(r).await.status, 404);
    // Without a valid key, unknown and existing servers look the same: 401.
    let r = server
        .request(reqwest::Method::POST, "/mcp/acme/nope")
        .header("content-type", "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(TestServer::read(r).await.status, 401);
    let r = server
        .request(reqwest::Method::POST, "/mcp/rival/echo")
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(TestServer::read(r).await.status, 404);
    // Authorization: Bearer with the key works too (clients that only send that header).
    let r = server
        .request(reqwest::Method::POST, "/mcp/acme/echo")
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(TestServer::read(r).await.status, 200);

    // Disabled server: 403 with a clear message.
    server
        .patch(&format!("/api/orgs/acme/servers/{sid}"), Some(&admin), json!({"status": "disabled"}))
        .await
        .expect(200);
    let r = raw_post(&server, Some(&key), &[JSON], ping).await;
    assert_eq!(r.status, 403);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("disabled"));
    server
        .patch(&format!("/api/orgs/acme/servers/{sid}"), Some(&admin), json!({"status": "active"}))
        .await
        .expect(200);
    assert_eq!(raw_post(&server, Some(&key), &[JSON], ping).await.status, 200);

    // Origin: absent or loopback is fine; a foreign one is 403.
    assert_eq!(
        raw_post(&server, Some(&key), &[JSON, ("origin", "http://localhost:6274")], ping).await.status,
        200
    );
    assert_eq!(
        raw_post(&server, Some(&key), &[JSON, ("origin", "https://evil.example")], ping).await.status,
        403
    );

    // A path that needs decoding goes through the router rather than the short way; it is the
    // same endpoint, and both ways count under the route's one metrics label.
    let r = server
        .request(reqwest::Method::POST, "/mcp/ac%6De/ech%6F")
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(TestServer::read(r).await.status, 200);
    let metrics = server.metrics().await;
    for status in [200, 401, 403, 404] {
        let series = format!(
            r#"gatehouse_http_requests_total{{method="POST",route="/mcp/{{org}}/{{server}}",status="{status}"}}"#
        );
        assert!(metrics.contains(&series), "{series} in:\n{metrics}");
    }
    assert!(!metrics.contains("route=\"/mcp/acme"), "a route label is the template, never the path");
}

async fn sessions_are_404_when_unknown_or_ended(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (mut server, _admin, _sid, key) = setup(backend_kind, &backend).await;
    let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2025-06-18");
    client.initialize().await.expect(200);
    let session = client.session.clone().unwrap();
    client.request("tools/list", json!({})).await.expect(200);

    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let forged = raw_post(&server, Some(&key), &[JSON, ("mcp-session-id", "v1.forged")], list).await;
    assert_eq!(forged.status, 404);
    // An unsupported protocol version header is 400; the stateless revision has no sessions.
    for bad in ["1999-01-01", "2026-07-28", "garbage"] {
        let r = raw_post(
            &server,
            Some(&key),
            &[JSON, ("mcp-session-id", &session), ("mcp-protocol-version", bad)],
            list,
        )
        .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    // Another supported stateful revision is tolerated (the session's own governs the answer),
    // as the reference SDK and the conformance suite expect.
    let r = raw_post(
        &server,
        Some(&key),
        &[JSON, ("mcp-session-id", &session), ("mcp-protocol-version", "2025-03-26")],
        list,
    )
    .await;
    assert_eq!(r.status, 200);
    // No session but a stateful version: 400 (it must initialize again). No session and no
    // version at all: answered on its own (a person's curl).
    let stateful = [JSON, ("mcp-protocol-version", "2025-06-18")];
    assert_eq!(raw_post(&server, Some(&key), &stateful, list).await.status, 400);
    assert_eq!(raw_post(&server, Some(&key), &[JSON], list).await.status, 200);

    // Sessions survive a restart: any node can open them.
    drop(client);
    server.restart().await;
    let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2025-06-18");
    client.session = Some(session.clone());
    client.request("tools/list", json!({})).await.expect(200);

    // DELETE ends it; afterwards 404, GET and DELETE too.
    let del = server
        .request(reqwest::Method::DELETE, "/mcp/acme/echo")
        .header("x-api-key", &key)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
    assert_eq!(client.request("tools/list", json!({})).await.status, 404);
    let del = server
        .request(reqwest::Method::DELETE, "/mcp/acme/echo")
        .header("x-api-key", &key)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 404);
    let get = server
        .request(reqwest::Method::GET, "/mcp/acme/echo")
        .header("x-api-key", &key)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 404);
    // Without a session, GET and DELETE are 405.
    let get = server
        .request(reqwest::Method::GET, "/mcp/acme/echo")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let del = server
        .request(reqwest::Method::DELETE, "/mcp/acme/echo")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 405);
}

async fn malformed_messages(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, _admin, _sid, key) = setup(backend_kind, &backend).await;
    let mut client = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2025-06-18");
    client.initialize().await.expect(200);
    let session = client.session.clone().unwrap();
    let s = ("mcp-session-id", session.as_str());

    let r = raw_post(&server, Some(&key), &[JSON, s], "{not json").await;
    assert_eq!((r.status, r.body["error"]["code"].as_i64()), (400, Some(-32700)));
    // No id can be known for unparseable input; the id-less error is the 2025-11-25 form.
    assert_valid("2025-11-25", "JSONRPCErrorResponse", &r.body);
    let r = raw_post(&server, Some(&key), &[JSON, s], r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).await;
    assert_eq!(r.body["error"]["code"], -32600);
    let r =
        raw_post(&server, Some(&key), &[JSON, s], r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#).await;
    assert_eq!(r.body["error"]["code"], -32600);
    let r = raw_post(&server, Some(&key), &[JSON, s], r#"{"jsonrpc":"2.0","id":1,"method":"no/such"}"#).await;
    assert_eq!((r.status, r.body["error"]["code"].as_i64()), (200, Some(-32601)));
    let r = raw_post(
        &server,
        Some(&key),
        &[JSON, s],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}"#,
    )
    .await;
    assert_eq!(r.body["error"]["code"], -32602);
    let r = raw_post(
        &server,
        Some(&key),
        &[("content-type", "text/plain"), s],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    )
    .await;
    assert_eq!(r.status, 415);
    // An answer is JSON or SSE: a client that takes neither is told so (406); wildcards do.
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    for (accept, status) in [
        ("text/html", 406),
        ("application/json;q=0, text/event-stream;q=0", 406),
        ("*/*", 200),
        ("application/*", 200),
        ("text/event-stream", 200),
    ] {
        let r = raw_post(&server, Some(&key), &[JSON, s, ("accept", accept)], ping).await;
        assert_eq!(r.status, status, "{accept}: {}", r.text);
        if status == 406 {
            assert_eq!(r.body["error"]["code"], -32600, "{}", r.text);
        }
    }
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let r = raw_post(&server, Some(&key), &[JSON, s], &deep).await;
    assert_eq!((r.status, r.body["error"]["code"].as_i64()), (400, Some(-32700)));
    let (status, _) = server
        .declared_body_answer(
            "/mcp/acme/echo",
            &[("x-api-key", &key), ("mcp-session-id", &session)],
            1_100_000,
        )
        .await;
    assert_eq!(status, 413);
    // Batches: refused in 2025-06-18, answered in 2025-03-26.
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#;
    assert_eq!(raw_post(&server, Some(&key), &[JSON, s], batch).await.status, 400);
    let mut old = McpClient::new(&server, "/mcp/acme/echo", Some(&key), "2025-03-26");
    old.initialize().await.expect(200);
    let old_session = old.session.clone().unwrap();
    let r = raw_post(&server, Some(&key), &[JSON, ("mcp-session-id", &old_session)], batch).await.expect(200);
    let replies = r.body.as_array().unwrap();
    assert_eq!(replies.len(), 2);
    assert_valid("2025-03-26", "JSONRPCBatchResponse", &r.body);
    // Bounded: one body must not become thousands of outbound calls.
    let calls = |n: usize| {
        let one = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"q": "x"}}});
        Value::Array(vec![one; n]).to_string()
    };
    let session_headers = [JSON, ("mcp-session-id", old_session.as_str())];
    for (body, words) in [(calls(5000), "at most 100"), (calls(11), "at most 10")] {
        let r = raw_post(&server, Some(&key), &session_headers, &body).await;
        assert_eq!((r.status, r.body["error"]["code"].as_i64()), (400, Some(-32600)), "{}", r.text);
        assert!(r.text.contains(words), "{}", r.text);
    }
    let r = raw_post(&server, Some(&key), &session_headers, &calls(10)).await.expect(200);
    assert_eq!(r.body.as_array().unwrap().len(), 10);
    // Notifications: 202, no body.
    let r = raw_post(
        &server,
        Some(&key),
        &[JSON, s],
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (202, ""));
    // Server still fine.
    client.request("ping", json!({})).await.expect(200);
}

async fn stateless_header_rules(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, _admin, _sid, key) = setup(backend_kind, &backend).await;
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"q": "x"}, "_meta": meta}}).to_string();
    let v = ("mcp-protocol-version", "2026-07-28");
    // Correct headers: 200.
    let ok =
        raw_post(&server, Some(&key), &[JSON, v, ("mcp-method", "tools/call"), ("mcp-name", "echo")], &call)
            .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Base64-sentinel Mcp-Name is decoded before comparing.
    let ok = raw_post(
        &server,
        Some(&key),
        &[JSON, v, ("mcp-method", "tools/call"), ("mcp-name", "=?base64?ZWNobw==?=")],
        &call,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Mismatches and missing headers: 400 with -32020.
    for headers in [
        vec![JSON, v, ("mcp-method", "tools/list"), ("mcp-name", "echo")],
        vec![JSON, v, ("mcp-method", "tools/call"), ("mcp-name", "other")],
        vec![JSON, v, ("mcp-method", "tools/call")],
        vec![JSON, v, ("mcp-name", "echo")],
        vec![JSON, ("mcp-method", "tools/call"), ("mcp-name", "echo")],
        vec![
            JSON,
            ("mcp-protocol-version", "2025-06-18"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ],
    ] {
        let r = raw_post(&server, Some(&key), &headers, &call).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_i64()),
            (400, Some(-32020)),
            "{headers:?}: {}",
            r.text
        );
        assert_valid("2026-07-28", "HeaderMismatchError", &r.body);
    }
    // Unrecognised Mcp-Param-* headers are tolerated.
    let ok = raw_post(
        &server,
        Some(&key),
        &[JSON, v, ("mcp-method", "tools/call"), ("mcp-name", "echo"), ("mcp-param-region", "x")],
        &call,
    )
    .await;
    assert_eq!(ok.status, 200);
    // Unsupported version: 400 with -32022 listing what is supported.
    let old = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}}).to_string();
    let r = raw_post(
        &server,
        Some(&key),
        &[JSON, ("mcp-protocol-version", "2099-01-01"), ("mcp-method", "tools/list")],
        &old,
    )
    .await;
    assert_eq!((r.status, r.body["error"]["code"].as_i64()), (400, Some(-32022)));
    assert_valid("2026-07-28", "UnsupportedProtocolVersionError", &r.body);
    // Unknown method: 404 with -32601.
    let unknown =
        json!({"jsonrpc": "2.0", "id": 1, "method": "nope/nope", "params": {"_meta": meta}}).to_string();
    let r = raw_post(&server, Some(&key), &[JSON, v, ("mcp-method", "nope/nope")], &unknown).await;
    assert_eq!((r.status, r.body["error"]["code"].as_i64()), (404, Some(-32601)));
    // No sessions: none minted, a stale one ignored is not needed; GET/DELETE are 405.
    assert!(ok.headers.get("mcp-session-id").is_none());
    // Not JSON-RPC 2.0 (no or another `jsonrpc`): 400 with -32600.
    let headers = [JSON, v, ("mcp-method", "tools/call"), ("mcp-name", "echo")];
    for jsonrpc in [None, Some(json!("1.0")), Some(json!(2.0))] {
        let mut message = json!({"id": 8, "method": "tools/call", "params": {"name": "echo", "arguments": {"q": "never"}, "_meta": meta}});
        if let Some(j) = jsonrpc.clone() {
            message["jsonrpc"] = j;
        }
        let r = raw_post(&server, Some(&key), &headers, &message.to_string()).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_i64()),
            (400, Some(-32600)),
            "{jsonrpc:?}: {}",
            r.text
        );
        assert_valid("2026-07-28", "JSONRPCErrorResponse", &r.body);
    }
    // params that is not an object: 400 with -32602 and the request's id.
    let r = raw_post(
        &server,
        Some(&key),
        &[JSON, v, ("mcp-method", "tools/list")],
        r#"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":["never"]}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_i64(), r.body["id"].as_i64()),
        (400, Some(-32602), Some(9))
    );
    assert_valid("2026-07-28", "JSONRPCErrorResponse", &r.body);
    // A member given twice counts once, the last (as JSON parsers keep it).
    let twice =
        format!(r#"{{"jsonrpc":"2.0","id":"a","id":10,"method":"tools/list","params":{{"_meta":{meta}}}}}"#);
    let r = raw_post(&server, Some(&key), &[JSON, v, ("mcp-method", "tools/list")], &twice).await;
    assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(10)), "{}", r.text);
    // A tools/call is answered alike whichever way it is read: the short way for the usual
    // shape (escapes included), the general way for a params member that way does not know or
    // a member given twice.
    let headers = [JSON, v, ("mcp-method", "tools/call"), ("mcp-name", "echo")];
    let calls = [
        format!(
            r#"{{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{{"name":"echo","arguments":{{"q":"x"}},"_meta":{meta}}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{{"name":"ech\u006f","arguments":{{"q":"x"}},"_meta":{meta}}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{{"name":"echo","extra":1,"arguments":{{"q":"x"}},"_meta":{meta}}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":"a","id":11,"method":"tools/call","params":{{"name":"echo","arguments":{{"q":"x"}},"_meta":{meta}}}}}"#
        ),
    ];
    let mut results = Vec::new();
    for call in &calls {
        let r = raw_post(&server, Some(&key), &headers, call).await;
        assert_eq!((r.status, r.body["id"].as_i64()), (200, Some(11)), "{call}: {}", r.text);
        assert_valid("2026-07-28", "JSONRPCResultResponse", &r.body);
        results.push(r.body["result"].clone());
    }
    assert!(results.iter().all(|r| *r == results[0]), "{results:?}");
    // Arguments that are not an object, and a missing required argument: -32602 either way.
    for (arguments, extra) in
        [(r#""x""#, ""), (r#""x""#, r#","extra":1"#), ("{}", ""), ("{}", r#","extra":1"#)]
    {
        let call = format!(
            r#"{{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{{"name":"echo","arguments":{arguments}{extra},"_meta":{meta}}}}}"#
        );
        let r = raw_post(&server, Some(&key), &headers, &call).await;
        assert_eq!(
            (r.body["error"]["code"].as_i64(), r.body["id"].as_i64()),
            (Some(-32602), Some(12)),
            "{call}"
        );
        assert_valid("2026-07-28", "JSONRPCErrorResponse", &r.body);
    }
}

backend_tests!(
    credentials_and_server_state,
    sessions_are_404_when_unknown_or_ended,
    malformed_messages,
    stateless_header_rules
);
