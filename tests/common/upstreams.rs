//! Real upstream MCP servers for tests: our misbehaving-on-purpose Python server
//! (`tests/support/mcp_upstream.py`) and the reference `@modelcontextprotocol/server-everything`
//! from npm (installed by `scripts/install-test-deps.sh`), over each transport.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::TestServer;

/// Path of our test upstream script.
pub fn script() -> String {
    format!("{}/tests/support/mcp_upstream.py", env!("CARGO_MANIFEST_DIR"))
}

/// A running Streamable HTTP test upstream (killed on drop).
pub struct PyUpstream {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PyUpstream {
    /// Starts it on a free loopback port.
    pub fn start() -> Self {
        Self::start_mode("http")
    }

    /// Starts the 2026-07-28-only variant.
    pub fn start_modern() -> Self {
        Self::start_mode("http-modern")
    }

    /// Starts the variant behind OAuth (it is its own authorization server).
    pub fn start_oauth() -> Self {
        Self::start_mode("http-oauth")
    }

    /// The variant behind OAuth, run by a Python that has PyJWT so that its token endpoint can
    /// check the assertions it trades (token exchange); `None` (with a message) without one,
    /// outside CI.
    pub fn start_oauth_exchanging() -> Option<Self> {
        let Some(python) = super::fake_fcm::python() else {
            assert!(!super::in_ci(), "CI=true but PyJWT is missing: run scripts/install-test-deps.sh");
            eprintln!("SKIPPED: PyJWT not installed; run scripts/install-test-deps.sh");
            return None;
        };
        Some(Self::start_with(&python.display().to_string(), "http-oauth"))
    }

    /// `http://127.0.0.1:<port><path>` (the authorization server's endpoints, `/stats`).
    pub fn base(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn start_mode(mode: &str) -> Self {
        Self::start_with("python3", mode)
    }

    fn start_with(python: &str, mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let child = Command::new(python)
            .args([script(), mode.into(), port_file.display().to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the test upstream");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "test upstream did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { port, child, _dir: dir }
    }

    /// Its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// Changes its behaviour (`{"description": …}`, `{"mode": …}`, `{"sse": true}`).
    pub async fn control(&self, body: Value) {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/control", self.port))
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    /// Kills it (an upstream that dies).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PyUpstream {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The entry point of server-everything, or `None` (with a message) outside CI when the test
/// dependencies are not installed.
pub fn everything() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".test-deps/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if path.exists() {
        return Some(path);
    }
    assert!(!super::in_ci(), "CI=true but server-everything is missing: run scripts/install-test-deps.sh");
    eprintln!("SKIPPED: server-everything is not installed; run scripts/install-test-deps.sh");
    None
}

/// server-everything serving over HTTP (`streamableHttp` or `sse`), killed on drop.
pub struct EverythingHttp {
    pub port: u16,
    child: Child,
}

impl EverythingHttp {
    /// Starts it; `None` when not installed (outside CI).
    pub fn start(mode: &str) -> Option<Self> {
        let entry = everything()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("node")
            .arg(entry)
            .arg(mode)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs server-everything");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server-everything did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self { port, child })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for EverythingHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows an authorization URL as a browser whose person signs in at the upstream as `user`:
/// the callback's answer.
pub async fn authorize_as(server: &TestServer, url: &str, user: &str) -> Value {
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let consent = no_redirects.get(format!("{url}&user={user}")).send().await.unwrap();
    assert_eq!(consent.status(), 302, "{url}");
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    let callback = location.strip_prefix(&server.base).expect("Gatehouse's callback").to_string();
    server.get(&callback, None).await.expect(200).body
}

/// A call of the upstream `people`'s `caller` tool, attached to `acme`'s server `echo`, by a
/// client signed in with `bearer`, through one node: the result.
pub async fn call_caller_on(node: &TestServer, bearer: &str) -> Value {
    caller_answer(node, bearer).await["result"].clone()
}

/// [`call_caller_on`]'s whole JSON-RPC answer.
pub async fn caller_answer(node: &TestServer, bearer: &str) -> Value {
    let c = super::mcp::McpClient::new(node, "/mcp/acme/echo", None, "2026-07-28");
    let auth = format!("Bearer {bearer}");
    let r = c
        .post(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "people__caller", "arguments": {},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
                          "io.modelcontextprotocol/clientInfo": {"name": "story", "version": "1"}}}}),
            &[("authorization", &auth), ("mcp-method", "tools/call"), ("mcp-name", "people__caller")],
        )
        .await
        .expect(200);
    r.body
}

pub fn text_of(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap_or_default().to_string()
}
