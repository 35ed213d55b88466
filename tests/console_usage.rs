//! Story: an admin reads a server's usage in the console — charts drawn on the server as SVG,
//! their numbers beside them, narrowed to a tool or a key — without any script.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::{Backend, TestServer};
use serde_json::json;

async fn usage_is_charted_with_its_numbers(backend: Backend) {
    let api = HttpBackend::start();
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = common::gateway::create_server(&server, "Weather").await;
    let org = "/api/orgs/default";
    for (name, url) in [("ok_tool", api.url("/fine")), ("bad_tool", api.url("/status/404"))] {
        let tool = json!({"name": name, "description": "d", "method": "GET", "endpointUrl": url});
        server.post(&format!("{org}/servers/{server_id}/tools"), None, tool).await.expect(201);
    }
    let key =
        server.post(&format!("{org}/servers/{server_id}/keys"), None, json!({"label": "production"})).await;
    let key = key.expect(201).body;
    let (raw, key_id) = (key["rawValue"].as_str().unwrap(), key["key"]["keyId"].as_str().unwrap());
    let mut client = McpClient::new(&server, &format!("/mcp/default/{slug}"), Some(raw), "2026-07-28");
    for i in 0..9 {
        let name = if i % 3 == 0 { "bad_tool" } else { "ok_tool" };
        client.request("tools/call", json!({"name": name, "arguments": {}})).await.expect(200);
    }

    let page = |query: String| {
        let server = &server;
        async move {
            server
                .client
                .get(format!("{}/orgs/default/usage?{query}", server.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page(format!("server={server_id}&range=30d")).await;
    assert!(html.contains(r#"aria-label="Calls per day: 9 calls, 3 errors""#), "{html}");
    let today = &gatehouse::domain::time::iso(gatehouse::domain::time::now_ms())[..10];
    assert!(
        html.contains(&format!("<td>{today}</td><td class=\"num\">9</td><td class=\"num\">3</td>")),
        "the numbers beside it"
    );
    assert_eq!(html.matches("<rect class=\"calls\"").count(), 30, "a bar per day");
    assert!(html.contains("<td>production</td><td class=\"num\">9</td>"), "by key, by its label");
    let html = page(format!("server={server_id}&tool=bad_tool")).await;
    assert!(html.contains(r#"aria-label="Calls per day: 3 calls, 3 errors""#));
    let html = page(format!("server={server_id}&key={key_id}&range=90d")).await;
    assert_eq!(html.matches("<rect class=\"calls\"").count(), 90);
    // The server's own Usage tab is the same, the server fixed.
    let tab = server
        .client
        .get(format!("{}/orgs/default/servers/{server_id}/usage", server.base))
        .send()
        .await
        .unwrap();
    assert!(tab.text().await.unwrap().contains(r#"aria-label="Calls per day: 9 calls, 3 errors""#));
}

backend_tests!(usage_is_charted_with_its_numbers);
