//! Story: whoever holds a server's API key chooses a tool's arguments, never where the tool's
//! credential goes. Placeholders in `endpointUrl` fill path segments only: a template that
//! would let an argument choose the scheme, host, port or query is refused when the tool is
//! defined, and a value cannot climb out of its segment (`/` is encoded; `.` and `..` are
//! refused), on both ways a call is sent.

mod common;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::{Backend, TestServer};
use serde_json::{Value, json};

const ORG: &str = "/api/orgs/default";

async fn add_tool(server: &TestServer, sid: &str, name: &str, url: &str) -> common::Resp {
    server
        .post(
            &format!("{ORG}/servers/{sid}/tools"),
            None,
            json!({"name": name, "description": "A file", "method": "GET", "endpointUrl": url,
                   "parameters": [{"name": "seg", "location": "path", "type": "string", "required": true}],
                   "auth": {"type": "bearer", "credential": "tool-secret"}}),
        )
        .await
}

async fn placeholders_fill_the_path_only(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let api = HttpBackend::start();
    let created = server.post(&format!("{ORG}/servers"), None, json!({"name": "Files"})).await.expect(201);
    let sid = created.body["server"]["serverId"].as_str().unwrap().to_string();
    let slug = created.body["server"]["slug"].as_str().unwrap().to_string();

    for url in [
        "https://{seg}/v1/items".to_string(),
        "https://{seg}.example.com/v1".to_string(),
        "http://127.0.0.1:{seg}/v1".to_string(),
        "http://user:{seg}@example.com/v1".to_string(),
        format!("{}?to={{seg}}", api.url("/files")),
        "{seg}://example.com/v1".to_string(),
    ] {
        let refused = add_tool(&server, &sid, "bad", &url).await.expect_error(422, "unprocessable");
        assert!(refused.text.contains("only fill the path"), "{url}: {}", refused.text);
    }
    // Inside the path, whole or part of a segment, they are fine (a fragment is not sent).
    add_tool(&server, &sid, "get_file", &api.url("/files/{seg}.json")).await.expect(201);
    add_tool(&server, &sid, "get_file_at_top", &api.url("/files/{seg}#top")).await.expect(201);

    let key = server
        .post(&format!("{ORG}/servers/{sid}/keys"), None, json!({"label": "agent"}))
        .await
        .expect(201)
        .body["rawValue"]
        .as_str()
        .unwrap()
        .to_string();
    let mut client = McpClient::new(&server, &format!("/mcp/default/{slug}"), Some(&key), "2025-06-18");
    client.initialize().await.expect(200);
    for tool in ["get_file", "get_file_at_top"] {
        let call = |seg: &str| json!({"name": tool, "arguments": {"seg": seg}});
        let result = client.request("tools/call", call("../../admin")).await.expect(200).body;
        let echo: Value =
            serde_json::from_str(result["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
        let raw = echo["rawPath"].as_str().unwrap();
        assert!(raw.starts_with("/files/..%2F..%2Fadmin"), "{tool}: {raw}");
        for dots in [".", ".."] {
            let refused = client.request("tools/call", call(dots)).await.expect(200).body;
            assert_eq!(refused["result"]["isError"], true, "{tool}: {refused}");
            let text = refused["result"]["content"][0]["text"].as_str().unwrap();
            assert!(text.contains("cannot be"), "{tool}: {text}");
        }
    }
}

backend_tests!(placeholders_fill_the_path_only);
