//! A plain MCP client over Streamable HTTP for stories: the stateful revisions (initialize,
//! `Mcp-Session-Id`) and the stateless 2026-07-28 (`_meta`, `Mcp-Method`/`Mcp-Name`).

use serde_json::{Value, json};

use super::{Resp, TestServer};

/// A connection to `/mcp/{org}/{server}` speaking one revision.
pub struct McpClient<'a> {
    pub server: &'a TestServer,
    pub path: String,
    pub key: Option<String>,
    pub version: String,
    pub session: Option<String>,
    next_id: i64,
}

impl<'a> McpClient<'a> {
    /// A client that has not initialized (use [`McpClient::initialize`] or the stateless revision).
    pub fn new(server: &'a TestServer, path: &str, key: Option<&str>, version: &str) -> Self {
        Self {
            server,
            path: path.to_string(),
            key: key.map(str::to_string),
            version: version.to_string(),
            session: None,
            next_id: 1,
        }
    }

    /// Initializes a stateful session; returns the initialize response.
    pub async fn initialize(&mut self) -> Resp {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": self.version, "capabilities": {}, "clientInfo": {"name": "gatehouse-tests", "version": "1.0"}}});
        let r = self.post(body, &[]).await;
        if let Some(id) = r.headers.get("mcp-session-id") {
            self.session = Some(id.to_str().unwrap().to_string());
        }
        if r.status == 200 {
            self.notify("notifications/initialized").await;
        }
        r
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str) -> Resp {
        self.post(json!({"jsonrpc": "2.0", "method": method}), &[]).await
    }

    /// Sends a request, adding what the revision requires.
    pub async fn request(&mut self, method: &str, params: Value) -> Resp {
        self.next_id += 1;
        let mut params = params;
        let mut extra: Vec<(String, String)> = Vec::new();
        if self.version == "2026-07-28" {
            if !params.is_object() {
                params = json!({});
            }
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "gatehouse-tests", "version": "1.0"}
            });
            extra.push(("mcp-method".into(), method.into()));
            if let Some(name) = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str) {
                extra.push(("mcp-name".into(), name.into()));
            }
        }
        let body = json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post(body, &extra).await
    }

    /// Posts a raw body with the connection's headers plus `extra`.
    pub async fn post(&self, body: Value, extra: &[(&str, &str)]) -> Resp {
        TestServer::read(self.builder(extra).json(&body).send().await.unwrap()).await
    }

    /// A POST with the connection's headers plus `extra`.
    fn builder(&self, extra: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut req = self
            .server
            .request(reqwest::Method::POST, &self.path)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(key) = &self.key {
            req = req.header("x-api-key", key);
        }
        if let Some(session) = &self.session {
            req = req.header("mcp-session-id", session);
        }
        if self.version.as_str() >= "2025-06-18"
            && !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("mcp-protocol-version"))
        {
            req = req.header("mcp-protocol-version", &self.version);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req
    }
}

impl McpClient<'_> {
    /// Posts a request and reads the SSE answer as it arrives. For each request the server
    /// sends on the stream, `answer` gives the result that is POSTed back in this session.
    /// Returns every message received; the response to `body` is the last.
    pub async fn post_streaming(&self, body: Value, mut answer: impl FnMut(&Value) -> Value) -> Vec<Value> {
        let mut response = self.builder(&[]).json(&body).send().await.unwrap();
        let ctype = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ctype.starts_with("text/event-stream"), "expected SSE, got {ctype}");
        let mut buffer = String::new();
        let mut messages = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let data: Vec<&str> =
                    event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                if data.is_empty() {
                    continue;
                }
                let msg: Value = serde_json::from_str(&data.join("\n")).unwrap();
                if msg.get("method").is_some() && msg.get("id").is_some() {
                    let result = answer(&msg);
                    let reply = serde_json::json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                    let r = self.post(reply, &[]).await;
                    assert_eq!(r.status, 202, "answer not accepted: {}", r.text);
                }
                let done = msg.get("id") == body.get("id") && msg.get("method").is_none();
                messages.push(msg);
                if done {
                    return messages;
                }
            }
        }
        panic!("the stream ended without a response: {messages:?}");
    }
}
