//! Story: agents built on the official MCP SDKs connect to Gatehouse, list and call tools —
//! over Streamable HTTP and the legacy SSE transport — with nothing but a URL and an API key.

mod common;

use common::backend::HttpBackend;
use common::sdk::{node_client, python_client};
use common::{Backend, TestServer};
use serde_json::json;

async fn official_sdks_list_and_call(backend_kind: Backend) {
    let backend = HttpBackend::start();
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    let (_sid, key) = server
        .publish_echo(&admin, &backend, json!([{"name": "q", "location": "query", "required": true}]))
        .await;
    let base = server.base.clone();
    for (transport, url) in
        [("streamable-http", format!("{base}/mcp/acme/echo")), ("sse", format!("{base}/sse/acme/echo"))]
    {
        let (url2, key2) = (url.clone(), key.clone());
        let out = tokio::task::spawn_blocking(move || {
            node_client(&url2, transport, &key2, "echo", &json!({"q": "hello"}))
        })
        .await
        .unwrap();
        let Some(out) = out else { return };
        assert!(out.get("error").is_none(), "{transport}: {out}");
        assert_eq!(out["tools"], json!(["echo"]), "{transport}: {out}");
        assert_eq!(out["serverInfo"]["name"], "Echo");
        let text = out["call"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("\"q\": \"hello\"") || text.contains("\"q\":\"hello\""), "{transport}: {text}");
    }
    // The Python SDK: its default (stateless server/discover under 2026-07-28) and the handshake.
    for (mode, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let (url, key2) = (format!("{base}/mcp/acme/echo"), key.clone());
        let out = tokio::task::spawn_blocking(move || {
            python_client(&url, &key2, "echo", &json!({"q": "py"}), mode)
        })
        .await
        .unwrap();
        let Some(out) = out else { return };
        assert!(out.get("error").is_none(), "python {mode}: {out}");
        assert_eq!(out["protocolVersion"], version, "python {mode}: {out}");
        assert_eq!(out["tools"], json!(["echo"]));
        assert_eq!(out["serverInfo"]["name"], "Echo", "python {mode}: {out}");
        assert!(out["call"]["content"][0]["text"].as_str().unwrap().contains("py"), "python {mode}: {out}");
    }
    // A wrong key is refused to the SDK as well.
    let url = format!("{base}/mcp/acme/echo");
    let out = tokio::task::spawn_blocking(move || {
        node_client(&url, "streamable-http", "mcp_wrong", "echo", &json!({}))
    })
    .await
    .unwrap();
    if let Some(out) = out {
        assert!(out["error"].as_str().is_some_and(|e| e.contains("invalid API key")), "{out}");
    }
}

backend_tests!(official_sdks_list_and_call);
