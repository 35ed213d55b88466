//! Story: agents built on the official MCP SDKs connect to Gatehouse, list and call tools —
//! over Streamable HTTP and the legacy SSE transport — with nothing but a URL and an API key.

mod common;

use common::backend::HttpBackend;
use common::sdk::{node_client, python_client};
use common::upstreams::{EverythingHttp, everything};
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

/// The official SDK clients reach upstream MCP servers through Gatehouse: server-everything over
/// stdio, Streamable HTTP and SSE, registered, discovered, approved and attached to one server.
async fn official_sdks_through_upstreams(backend_kind: Backend) {
    let Some(entry) = everything() else { return };
    let (Some(streamed), Some(sse)) = (EverythingHttp::start("streamableHttp"), EverythingHttp::start("sse"))
    else {
        return;
    };
    let (server, admin) = TestServer::enterprise(backend_kind).await;
    server.create_org(&admin, "acme").await;
    let s = server.post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Hub"})).await.expect(201);
    let sid = s.body["server"]["serverId"].as_str().unwrap().to_string();
    let upstreams = [
        (
            "Local",
            json!({"transport": "stdio", "command": "node", "args": [entry.display().to_string(), "stdio"]}),
        ),
        ("Streamed", json!({"transport": "streamable_http", "url": streamed.url("/mcp")})),
        ("Legacy", json!({"transport": "sse", "url": sse.url("/sse")})),
    ];
    for (name, mut body) in upstreams {
        body["name"] = json!(name);
        let up = server.post("/api/orgs/acme/upstreams", Some(&admin), body).await.expect(201);
        assert_eq!(up.body["upstream"]["status"], "connected", "{}", up.text);
        let uid = up.body["upstream"]["upstreamId"].as_str().unwrap();
        server
            .patch(
                &format!("/api/orgs/acme/upstreams/{uid}/tools/echo"),
                Some(&admin),
                json!({"approvalState": "approved"}),
            )
            .await
            .expect(200);
        server
            .put(&format!("/api/orgs/acme/servers/{sid}/upstreams/{uid}"), Some(&admin), json!({}))
            .await
            .expect(200);
    }
    let key = server
        .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(&admin), json!({"label": "sdk"}))
        .await;
    let key = key.expect(201).body["rawValue"].as_str().unwrap().to_string();
    let base = server.base.clone();
    for prefix in ["local", "streamed", "legacy"] {
        let tool = format!("{prefix}__echo");
        for transport in ["streamable-http", "sse"] {
            let url = if transport == "sse" {
                format!("{base}/sse/acme/hub")
            } else {
                format!("{base}/mcp/acme/hub")
            };
            let (key2, tool2) = (key.clone(), tool.clone());
            let out = tokio::task::spawn_blocking(move || {
                node_client(&url, transport, &key2, &tool2, &json!({"message": "from ts"}))
            })
            .await
            .unwrap();
            let Some(out) = out else { return };
            assert!(out.get("error").is_none(), "{transport} {tool}: {out}");
            let names: Vec<&str> =
                out["tools"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            assert_eq!(names, vec!["local__echo", "streamed__echo", "legacy__echo"], "{out}");
            assert_eq!(out["call"]["content"][0]["text"], "Echo: from ts", "{transport} {tool}: {out}");
        }
        for mode in ["auto", "legacy"] {
            let (url, key2, tool2) = (format!("{base}/mcp/acme/hub"), key.clone(), tool.clone());
            let out = tokio::task::spawn_blocking(move || {
                python_client(&url, &key2, &tool2, &json!({"message": "from py"}), mode)
            })
            .await
            .unwrap();
            let Some(out) = out else { return };
            assert!(out.get("error").is_none(), "python {mode} {tool}: {out}");
            assert_eq!(out["call"]["content"][0]["text"], "Echo: from py", "python {mode} {tool}: {out}");
        }
    }
}

backend_tests!(official_sdks_list_and_call, official_sdks_through_upstreams);
