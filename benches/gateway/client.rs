//! The bench as a client: REST calls that set a scenario up, and MCP requests prepared once and
//! sent again and again.

use super::*;

pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Value {
    send_json(client, reqwest::Method::POST, url, headers, body).await
}

pub(crate) async fn send_json(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Value {
    let mut req = client.request(method, url).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// An MCP endpoint as the load generator calls it: URL, fixed headers, and how to read the
/// answer (JSON or one SSE event).
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Endpoint {
    pub(crate) fn new(client: &reqwest::Client, url: String, key: Option<&str>) -> Self {
        let mut headers = vec![("accept", "application/json, text/event-stream".to_string())];
        if let Some(key) = key {
            headers.push(("x-api-key", key.to_string()));
        }
        Self { client: client.clone(), url, headers }
    }

    /// Sends one message; returns the JSON-RPC answer (parsed from JSON or from an SSE body)
    /// and the session id header, if any.
    pub(crate) async fn send(&self, extra: &[(&str, &str)], body: &[u8]) -> (Value, Option<String>) {
        let mut req = self.client.post(&self.url).header("content-type", "application/json");
        for (k, v) in &self.headers {
            req = req.header(*k, v.as_str());
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let r = req.body(body.to_vec()).send().await.expect("request");
        let status = r.status();
        let session = r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = r.bytes().await.unwrap();
        assert!(status.is_success(), "{}: {status} {}", self.url, String::from_utf8_lossy(&bytes));
        if status == StatusCode::ACCEPTED {
            return (Value::Null, session);
        }
        let text = String::from_utf8_lossy(&bytes);
        if text.starts_with('{') {
            return (serde_json::from_str(&text).unwrap_or(Value::Null), session);
        }
        // An SSE body: the first event whose data is a message (a priming event has none).
        let message = text
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .find_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
            .unwrap_or(Value::Null);
        (message, session)
    }

    /// The request the measured loop sends: this endpoint's headers, `extra` and `body`.
    pub(crate) fn prepare(&self, extra: &[(&str, &str)], body: &'static [u8]) -> Prepared {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        for (k, v) in self.headers.iter().map(|(k, v)| (*k, v.as_str())).chain(extra.iter().copied()) {
            headers.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        Prepared::new(&self.client, &self.url, headers, body)
    }
}

/// Requests sent once more because the peer closed the connection they went out on.
pub(crate) static RESENT: AtomicUsize = AtomicUsize::new(0);

/// A request the measured loop sends again and again, made once: URL parsed, headers built,
/// body serialised, as wrk or oha prepare theirs. So the load generator's own work per call is
/// the same small amount whichever path it measures, and what differs between the paths is
/// what happens behind the URL.
/// (Cloned per call: a reference count.)
#[derive(Clone)]
pub(crate) struct Prepared(Arc<PreparedParts>);

pub(crate) struct PreparedParts {
    pub(crate) client: reqwest::Client,
    pub(crate) url: reqwest::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: bytes::Bytes,
}

impl Prepared {
    pub(crate) fn new(client: &reqwest::Client, url: &str, headers: HeaderMap, body: &'static [u8]) -> Self {
        let url = reqwest::Url::parse(url).expect("url");
        let body = bytes::Bytes::from_static(body);
        Self(Arc::new(PreparedParts { client: client.clone(), url, headers, body }))
    }

    /// Sends the request and reads the whole answer (a failed call stops the bench: an error
    /// answered fast must never count as throughput).
    pub(crate) async fn fire(&self) {
        let _ = self.exchange().await;
    }

    /// Sends the request; the answer's text (for the checks before measuring).
    pub(crate) async fn answer(&self) -> String {
        String::from_utf8_lossy(&self.exchange().await).into_owned()
    }

    /// Sends the request; the answer's bytes, after its status is checked.
    pub(crate) async fn exchange(&self) -> bytes::Bytes {
        let parts = &*self.0;
        let mut request = reqwest::Request::new(reqwest::Method::POST, parts.url.clone());
        *request.headers_mut() = parts.headers.clone();
        *request.body_mut() = Some(parts.body.clone().into());
        let again = request.try_clone();
        let r = match parts.client.execute(request).await {
            Ok(r) => r,
            // A kept-alive connection the peer closed as the request went out (Node does, now and
            // then, under load): sent once more on a fresh one, and counted.
            Err(e) if e.is_request() => {
                RESENT.fetch_add(1, Ordering::Relaxed);
                parts.client.execute(again.expect("a body in memory")).await.expect("request")
            }
            Err(e) => panic!("request: {e}"),
        };
        let status = r.status();
        let bytes = r.bytes().await.expect("answer");
        assert!(status.is_success(), "{}: {status} {}", parts.url, String::from_utf8_lossy(&bytes));
        // A JSON-RPC error travels with 200: it must not count as a call made.
        assert!(
            !bytes.windows(8).any(|w| w == b"\"error\":"),
            "{}: {}",
            parts.url,
            String::from_utf8_lossy(&bytes)
        );
        bytes
    }
}

pub(crate) fn leak(v: Value) -> &'static [u8] {
    Box::leak(serde_json::to_vec(&v).unwrap().into_boxed_slice())
}

pub(crate) fn stateless_meta() -> Value {
    json!({META_VERSION: STATELESS, "io.modelcontextprotocol/clientCapabilities": {}})
}

pub(crate) fn stateless_call(tool: &str, message: &str) -> &'static [u8] {
    leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": {"message": message}, "_meta": stateless_meta()}}))
}

pub(crate) fn stateless_list() -> &'static [u8] {
    leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": stateless_meta()}}))
}

/// Opens `n` stateful sessions (initialize, then notifications/initialized).
pub(crate) async fn open_sessions(endpoint: &Endpoint, n: usize, version: &str) -> Vec<&'static str> {
    let init = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1.0.0"}}}))
    .unwrap();
    let initialized =
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
    let mut sessions = Vec::new();
    for _ in 0..n {
        let (answer, session) = endpoint.send(&[], &init).await;
        assert_eq!(answer["result"]["protocolVersion"], version, "{answer}");
        let session: &'static str = Box::leak(session.expect("a session id").into_boxed_str());
        endpoint.send(&[("mcp-session-id", session), ("mcp-protocol-version", version)], &initialized).await;
        sessions.push(session);
    }
    sessions
}

pub(crate) async fn create_server(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    slug: &str,
) -> (String, String) {
    let server = post_json(
        client,
        &format!("{base}/api/orgs/default/servers"),
        &[],
        &json!({"name": name, "slug": slug}),
    )
    .await;
    let server_id = server["server"]["serverId"].as_str().unwrap().to_string();
    let key = post_json(
        client,
        &format!("{base}/api/orgs/default/servers/{server_id}/keys"),
        &[],
        &json!({"label": "bench"}),
    )
    .await;
    (server_id, key["rawValue"].as_str().unwrap().to_string())
}

/// Adds `get_weather` (`POST http://{backend}/weather/{city}`) to a server.
pub(crate) async fn add_weather_tool(
    client: &reqwest::Client,
    base: &str,
    server_id: &str,
    backend: SocketAddr,
) {
    post_json(
        client,
        &format!("{base}/api/orgs/default/servers/{server_id}/tools"),
        &[],
        &json!({"name": "get_weather", "description": "Weather for a city", "method": "POST",
                "endpointUrl": format!("http://{backend}/weather/{{city}}"),
                "parameters": [{"name": "city", "location": "path", "type": "string", "required": true}]}),
    )
    .await;
}

/// Registers an upstream (auto-approved) and attaches it to a server with its default prefix.
pub(crate) async fn attach_upstream(
    client: &reqwest::Client,
    base: &str,
    server_id: &str,
    name: &str,
    transport: &str,
    url: &str,
) {
    let up = post_json(
        client,
        &format!("{base}/api/orgs/default/upstreams"),
        &[],
        &json!({"name": name, "transport": transport, "url": url, "approvalPolicy": "auto_approve"}),
    )
    .await;
    let up_id = up["upstream"]["upstreamId"].as_str().expect("upstreamId").to_string();
    send_json(
        client,
        reqwest::Method::PUT,
        &format!("{base}/api/orgs/default/servers/{server_id}/upstreams/{up_id}"),
        &[],
        &json!({}),
    )
    .await;
}

/// A worker's direct calls: a request prepared once, or a call over its own legacy HTTP+SSE
/// session.
#[derive(Clone)]
pub(crate) enum DirectCall {
    Http(Prepared),
    Sse(Arc<LegacySse>),
}

impl DirectCall {
    /// Makes one call and reads its whole answer.
    pub(crate) async fn fire(&self) {
        let _ = self.answer().await;
    }

    /// Makes one call; the answer's text.
    pub(crate) async fn answer(&self) -> String {
        match self {
            DirectCall::Http(request) => request.answer().await,
            DirectCall::Sse(session) => session.call_echo().await.to_string(),
        }
    }
}

/// A session of the legacy HTTP+SSE transport (2024-11-05), as a client of that era holds one:
/// the `GET /sse` stream read by a task of its own, messages POSTed to the endpoint it names,
/// each answer matched to its call by id.
pub(crate) struct LegacySse {
    client: reqwest::Client,
    post: reqwest::Url,
    next_id: AtomicUsize,
    pending: Arc<std::sync::Mutex<std::collections::HashMap<u64, tokio::sync::oneshot::Sender<Value>>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for LegacySse {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The next whole SSE event in `buffer` (its `event` and `data`), taken out of it.
fn next_event(buffer: &mut String) -> Option<(String, String)> {
    let normalised = buffer.replace("\r\n", "\n");
    let end = normalised.find("\n\n")?;
    let (event, rest) = normalised.split_at(end);
    let (mut name, mut data) = (String::from("message"), String::new());
    for line in event.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    *buffer = rest[2..].to_string();
    Some((name, data))
}

impl LegacySse {
    /// Opens a session at `base` (`http://host:port`): the stream, then `initialize` at
    /// `version` and `notifications/initialized`.
    pub(crate) async fn open(client: &reqwest::Client, base: &str, version: &str) -> Self {
        use futures_util::StreamExt;
        let response = client
            .get(format!("{base}/sse"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("GET /sse");
        assert!(response.status().is_success(), "GET {base}/sse: {}", response.status());
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        let endpoint = loop {
            if let Some((name, data)) = next_event(&mut buffer) {
                if name == "endpoint" {
                    break data;
                }
                continue;
            }
            let chunk = stream.next().await.expect("the stream names its endpoint").expect("stream");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        };
        let post = reqwest::Url::parse(base).unwrap().join(&endpoint).expect("endpoint URL");
        let pending: Arc<
            std::sync::Mutex<std::collections::HashMap<u64, tokio::sync::oneshot::Sender<Value>>>,
        > = Arc::default();
        let answers = pending.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(chunk)) = stream.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some((name, data)) = next_event(&mut buffer) {
                    let Ok(message) = serde_json::from_str::<Value>(&data) else { continue };
                    let id = message.get("id").and_then(Value::as_u64);
                    if let (true, Some(id)) = (name == "message", id) {
                        if let Some(waiter) = answers.lock().unwrap().remove(&id) {
                            let _ = waiter.send(message);
                        }
                    }
                }
            }
        });
        let session = Self { client: client.clone(), post, next_id: AtomicUsize::new(1), pending, reader };
        let init = session
            .call(
                "initialize",
                json!({"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "bench", "version": "1.0.0"}}),
            )
            .await;
        assert!(init.get("result").is_some(), "{init}");
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        session.client.post(session.post.clone()).json(&initialized).send().await.expect("initialized");
        session
    }

    /// One request: POSTed, its answer awaited on the stream.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) as u64;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let posted = self.client.post(self.post.clone()).json(&body).send().await.expect("POST a message");
        assert!(posted.status().is_success(), "{}: {}", self.post, posted.status());
        rx.await.expect("an answer on the stream")
    }

    /// `tools/call` of `echo`.
    pub(crate) async fn call_echo(&self) -> Value {
        self.call("tools/call", json!({"name": "echo", "arguments": {"message": "hello"}})).await
    }
}
