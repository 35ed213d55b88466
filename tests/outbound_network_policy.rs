//! Story: tools cannot be pointed at the gateway's own network. Outbound calls to loopback and
//! private addresses are refused unless allowed, and cloud metadata addresses always, also
//! when reached through a redirect. A redirect to another origin carries no credentials; a
//! chain of more than five redirects ends in an error; a header value cannot smuggle in
//! another header.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::{Backend, Options, TestServer};
use serde_json::json;

async fn publish(server: &TestServer, admin: &str, url: &str) -> String {
    server.create_org(admin, "acme").await;
    let s = server
        .post("/api/orgs/acme/servers", Some(admin), json!({"name": "Net", "slug": "net"}))
        .await
        .expect(201);
    let sid = s.body["server"]["serverId"].as_str().unwrap().to_string();
    server
        .post(
            &format!("/api/orgs/acme/servers/{sid}/tools"),
            Some(admin),
            json!({"name": "fetch", "description": "Fetch", "method": "GET", "endpointUrl": url}),
        )
        .await
        .expect(201);
    let k = server
        .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(admin), json!({"label": "a"}))
        .await
        .expect(201);
    k.body["rawValue"].as_str().unwrap().to_string()
}

/// The id of the one server [`publish`] made.
async fn server_id(server: &TestServer, admin: &str) -> String {
    let servers = server.get("/api/orgs/acme/servers", Some(admin)).await.expect(200);
    servers.body["servers"][0]["serverId"].as_str().unwrap().to_string()
}

async fn call(server: &TestServer, key: &str) -> serde_json::Value {
    let mut client = McpClient::new(server, "/mcp/acme/net", Some(key), "2025-11-25");
    client.initialize().await.expect(200);
    client.request("tools/call", json!({"name": "fetch", "arguments": {}})).await.expect(200).body["result"]
        .clone()
}

async fn private_networks_are_refused_by_default(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let options = Options { deny_private_networks: true, ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend_kind, options).await;
    let key = publish(&server, &admin, &backend.url("/echo")).await;
    let result = call(&server, &key).await;
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("refused") && text.contains("127.0.0.1"), "{text}");
}

async fn redirects_to_metadata_are_refused(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let key =
        publish(&server, &admin, &backend.url("/redirect?to=http://169.254.169.254/latest/meta-data/")).await;
    let result = call(&server, &key).await;
    assert_eq!(result["isError"], true);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("metadata"), "{text}");
}

async fn credentials_stay_with_their_origin_across_redirects(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let key = publish(&server, &admin, &backend.url("/echo")).await;
    let sid = server_id(&server, &admin).await;
    // 127.0.0.1 and localhost are the same socket but not the same origin.
    let other_origin = format!("http://localhost:{}/echo", backend.port);
    for (name, target) in [("same_origin", "/echo".to_string()), ("other_origin", other_origin)] {
        let url = format!("{}?to={}", backend.url("/redirect"), urlencode(&target));
        server
            .post(
                &format!("/api/orgs/acme/servers/{sid}/tools"),
                Some(&admin),
                json!({"name": name, "description": "Follows a redirect", "method": "GET", "endpointUrl": url,
                       "auth": {"type": "bearer", "credential": "s3cret-bearer"}}),
            )
            .await
            .expect(201);
    }
    let mut client = McpClient::new(&server, "/mcp/acme/net", Some(&key), "2025-11-25");
    client.initialize().await.expect(200);
    let same = echoed_headers(&mut client, "same_origin").await;
    assert_eq!(same["authorization"], "Bearer s3cret-bearer", "{same}");
    let other = echoed_headers(&mut client, "other_origin").await;
    assert_eq!(other["authorization"], serde_json::Value::Null, "{other}");
    assert!(other["host"].as_str().unwrap().starts_with("localhost:"), "{other}");
}

async fn redirect_chains_end_after_five(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let key = publish(&server, &admin, &backend.url("/echo")).await;
    let sid = server_id(&server, &admin).await;
    // `/redirect?to=/redirect?to=…/echo`, n hops deep.
    let chain =
        |hops: usize| (0..hops).fold("/echo".to_string(), |to, _| format!("/redirect?to={}", urlencode(&to)));
    for (name, hops) in [("five_hops", 5), ("six_hops", 6)] {
        server
            .post(
                &format!("/api/orgs/acme/servers/{sid}/tools"),
                Some(&admin),
                json!({"name": name, "description": "Follows redirects", "method": "GET",
                       "endpointUrl": backend.url(&chain(hops))}),
            )
            .await
            .expect(201);
    }
    let mut client = McpClient::new(&server, "/mcp/acme/net", Some(&key), "2025-11-25");
    client.initialize().await.expect(200);
    let five = echoed_headers(&mut client, "five_hops").await;
    assert!(five["host"].is_string(), "five redirects are followed to the end: {five}");
    let r = client.request("tools/call", json!({"name": "six_hops", "arguments": {}})).await.expect(200);
    let result = &r.body["result"];
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("too many redirects"), "{text}");
    assert!(!text.contains("/redirect"), "errors name no URL: {text}");
}

async fn header_values_that_would_split_the_request_are_refused(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let key = publish(&server, &admin, &backend.url("/echo")).await;
    let sid = server_id(&server, &admin).await;
    server
        .post(
            &format!("/api/orgs/acme/servers/{sid}/tools"),
            Some(&admin),
            json!({"name": "traced", "description": "Sends a header", "method": "GET",
                   "endpointUrl": backend.url("/echo"),
                   "parameters": [{"name": "X-Trace", "location": "header", "type": "string", "required": true}]}),
        )
        .await
        .expect(201);
    let mut client = McpClient::new(&server, "/mcp/acme/net", Some(&key), "2025-11-25");
    client.initialize().await.expect(200);
    let injected = json!({"name": "traced", "arguments": {"X-Trace": "t-1\r\nX-Injected: yes"}});
    let r = client.request("tools/call", injected).await.expect(200);
    let result = &r.body["result"];
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("invalid value for header X-Trace")
            || text.contains("invalid value for header x-trace"),
        "{text}"
    );
    // A clean value still goes through, as the one header it is.
    let r = client
        .request("tools/call", json!({"name": "traced", "arguments": {"X-Trace": "t-2"}}))
        .await
        .expect(200);
    let echo = &r.body["result"]["structuredContent"]["headers"];
    assert_eq!(echo["x-trace"], "t-2", "{echo}");
    assert!(echo.get("x-injected").is_none(), "{echo}");
}

async fn echoed_headers(client: &mut McpClient<'_>, name: &str) -> serde_json::Value {
    let r = client.request("tools/call", json!({"name": name, "arguments": {}})).await.expect(200);
    let result = r.body["result"].clone();
    assert_eq!(result["isError"], serde_json::Value::Null, "{name}: {result}");
    result["structuredContent"]["headers"].clone()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

backend_tests!(
    private_networks_are_refused_by_default,
    redirects_to_metadata_are_refused,
    credentials_stay_with_their_origin_across_redirects,
    redirect_chains_end_after_five,
    header_values_that_would_split_the_request_are_refused
);
