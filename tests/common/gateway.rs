//! A dev-mode server's view of upstreams, for the upstream stories: servers and upstreams of
//! org `default` created through the API, attachments and approvals, and an MCP client's calls.

use serde_json::{Value, json};

use super::TestServer;
use super::mcp::McpClient;
use super::schema::assert_valid;

pub const ORG: &str = "/api/orgs/default";

pub async fn create_server(server: &TestServer, name: &str) -> (String, String) {
    let s = server.post(&format!("{ORG}/servers"), None, json!({"name": name})).await.expect(201);
    (
        s.body["server"]["serverId"].as_str().unwrap().to_string(),
        s.body["server"]["slug"].as_str().unwrap().to_string(),
    )
}

pub async fn create_upstream(server: &TestServer, body: Value) -> Value {
    let r = server.post(&format!("{ORG}/upstreams"), None, body).await.expect(201);
    r.body["upstream"].clone()
}

pub async fn attach(server: &TestServer, server_id: &str, upstream_id: &str, body: Value) -> Value {
    server
        .put(&format!("{ORG}/servers/{server_id}/upstreams/{upstream_id}"), None, body)
        .await
        .expect(200)
        .body
}

pub async fn approve(server: &TestServer, upstream_id: &str, tool: &str, state: &str) {
    server
        .patch(&format!("{ORG}/upstreams/{upstream_id}/tools/{tool}"), None, json!({"approvalState": state}))
        .await
        .expect(200);
}

pub async fn tool_names(client: &mut McpClient<'_>) -> Vec<String> {
    let r = client.request("tools/list", json!({})).await.expect(200);
    assert_valid(&client.version, "ListToolsResult", &r.body["result"]);
    r.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

pub async fn call(client: &mut McpClient<'_>, name: &str, arguments: Value) -> Value {
    client.request("tools/call", json!({"name": name, "arguments": arguments})).await.expect(200).body
}

pub fn text_of(reply: &Value) -> String {
    reply["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text in {reply}")).to_string()
}

pub async fn session<'a>(server: &'a TestServer, slug: &str, version: &str) -> McpClient<'a> {
    let mut c = McpClient::new(server, &format!("/mcp/default/{slug}"), None, version);
    if version != "2026-07-28" {
        c.initialize().await.expect(200);
    }
    c
}
