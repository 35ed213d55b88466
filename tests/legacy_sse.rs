//! Story: an old client on the 2024-11-05 HTTP+SSE transport opens `/sse/{org}/{server}`,
//! posts to the endpoint it is given, and reads its answers from the stream.

mod common;

use common::backend::HttpBackend;
use common::schema::assert_valid;
use common::{Backend, TestServer};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Reads SSE events (event name, data) from a streaming response.
struct Events {
    stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>,
    buffer: String,
}

impl Events {
    async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.starts_with(':') {
                    continue;
                }
                let mut event = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                return (event, data);
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("an SSE event in time")
                .expect("stream open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn old_clients_talk_over_http_and_sse(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (_sid, key) = server.publish_echo(&admin, &backend, json!([])).await;

    // Without a key: 401.
    let r = server.request(reqwest::Method::GET, "/sse/acme/echo").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let r = server
        .request(reqwest::Method::GET, "/sse/acme/echo")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut events = Events { stream: Box::pin(r.bytes_stream()), buffer: String::new() };
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");
    assert!(endpoint.starts_with("/sse/acme/echo/message?sessionId="));

    let post = |body: Value| {
        let req = server.request(reqwest::Method::POST, &endpoint).header("x-api-key", &key).json(&body);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "old", "version": "0"}}});
    assert_eq!(post(init).await, 202);
    let (event, data) = events.next().await;
    assert_eq!(event, "message");
    let reply: Value = serde_json::from_str(&data).unwrap();
    assert_valid("2024-11-05", "JSONRPCResponse", &reply);
    assert_eq!(reply["result"]["protocolVersion"], "2024-11-05");

    assert_eq!(post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await, 202);
    assert_eq!(post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {}}})).await, 202);
    let (_, data) = events.next().await;
    let reply: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(reply["id"], 2);
    assert_valid("2024-11-05", "CallToolResult", &reply["result"]);
    assert!(reply["result"]["content"][0]["text"].as_str().unwrap().contains("/echo"));

    // Unknown session: 404.
    let r = server
        .request(reqwest::Method::POST, "/sse/acme/echo/message?sessionId=nope")
        .header("x-api-key", &key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

backend_tests!(old_clients_talk_over_http_and_sse);
