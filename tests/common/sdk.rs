//! The official MCP SDK clients as test peers, installed pinned by `scripts/install-test-deps.sh`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// Runs the TypeScript SDK driver (`tests/support/node/ts_client.mjs`): connect, list tools,
/// call `tool`. `None` (with a message) when the SDK is not installed, outside CI.
pub fn node_client(
    url: &str,
    transport: &str,
    api_key: &str,
    tool: &str,
    arguments: &Value,
) -> Option<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-deps/node");
    let driver = dir.join("ts_client.mjs");
    if !dir.join("node_modules/@modelcontextprotocol/sdk").exists() || !driver.exists() {
        assert!(
            !super::in_ci(),
            "CI=true but the MCP TypeScript SDK is missing: run scripts/install-test-deps.sh"
        );
        eprintln!("SKIPPED: the MCP TypeScript SDK is not installed; run scripts/install-test-deps.sh");
        return None;
    }
    let out = Command::new("node")
        .arg(driver)
        .args([url, transport, api_key, tool, &arguments.to_string()])
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    Some(serde_json::from_str(line).unwrap_or_else(|_| {
        panic!("driver printed no JSON: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    }))
}

/// Runs the Python SDK driver (`tests/support/py_client.py`) in `mode` (`auto`: server/discover
/// first, as the SDK does by default; `legacy`: initialize). `None` when not installed, outside CI.
pub fn python_client(url: &str, api_key: &str, tool: &str, arguments: &Value, mode: &str) -> Option<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".test-deps/venv/bin/python");
    let installed = python.exists()
        && Command::new(&python).args(["-c", "import mcp"]).status().is_ok_and(|s| s.success());
    if !installed {
        assert!(
            !super::in_ci(),
            "CI=true but the MCP Python SDK is missing: run scripts/install-test-deps.sh"
        );
        eprintln!("SKIPPED: the MCP Python SDK is not installed; run scripts/install-test-deps.sh");
        return None;
    }
    let out = Command::new(python)
        .arg(root.join("tests/support/py_client.py"))
        .args([url, api_key, tool, &arguments.to_string(), mode])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    Some(serde_json::from_str(line).unwrap_or_else(|_| {
        panic!("driver printed no JSON: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    }))
}

/// Which official SDK drives an OAuth sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    TypeScript,
    Python,
}

/// Runs an SDK's OAuth driver (`ts_oauth_client.mjs`, `py_oauth_client.py`) against `url`: when it
/// prints `{"authorize": …}`, `person` signs in and consents and returns the redirect the browser
/// got, which is handed back. The driver's last JSON line; `None` when the SDK is missing, outside CI.
pub async fn oauth_client<F, Fut>(
    sdk: Sdk,
    url: &str,
    transport: &str,
    tool: &str,
    arguments: &Value,
    metadata_url: Option<&str>,
    mut person: F,
) -> Option<Value>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (program, script) = match sdk {
        Sdk::TypeScript => (PathBuf::from("node"), root.join(".test-deps/node/ts_oauth_client.mjs")),
        Sdk::Python => {
            (root.join(".test-deps/venv/bin/python"), root.join("tests/support/py_oauth_client.py"))
        }
    };
    let installed = match sdk {
        Sdk::TypeScript => {
            root.join(".test-deps/node/node_modules/@modelcontextprotocol/sdk").exists() && script.exists()
        }
        Sdk::Python => program.exists(),
    };
    if !installed {
        assert!(
            !super::in_ci(),
            "CI=true but the MCP {sdk:?} SDK is missing: run scripts/install-test-deps.sh"
        );
        eprintln!("SKIPPED: the MCP {sdk:?} SDK is not installed; run scripts/install-test-deps.sh");
        return None;
    }
    let mut args =
        vec![script.display().to_string(), url.into(), transport.into(), tool.into(), arguments.to_string()];
    args.extend(metadata_url.map(str::to_string));
    let mut child = tokio::process::Command::new(program)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the SDK driver starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let deadline = std::time::Duration::from_secs(60);
    while let Ok(Ok(Some(line))) = tokio::time::timeout(deadline, lines.next_line()).await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            printed.push(line);
            continue;
        };
        if let Some(authorize) = message["authorize"].as_str() {
            let redirect = person(authorize.to_string()).await;
            stdin.write_all(format!("{redirect}\n").as_bytes()).await.unwrap();
            stdin.flush().await.unwrap();
            continue;
        }
        let _ = child.kill().await;
        return Some(message);
    }
    panic!("the SDK driver printed no answer: {printed:?}")
}

/// The MCP Inspector's CLI as an OAuth client: its own callback listener receives the code (as
/// a browser would deliver it) and it keeps what it got in a file under its own `HOME`.
pub struct InspectorCli {
    program: PathBuf,
    home: tempfile::TempDir,
    callback: String,
}

impl InspectorCli {
    /// `None` (outside CI) when the Inspector is not installed.
    pub fn find() -> Option<Self> {
        let program =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-deps/node/node_modules/.bin/mcp-inspector");
        if !program.exists() {
            assert!(
                !super::in_ci(),
                "CI=true but the MCP Inspector is missing: run scripts/install-test-deps.sh"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let callback = format!("http://127.0.0.1:{port}/oauth/callback");
        Some(Self { program, home: tempfile::tempdir().unwrap(), callback })
    }

    /// Where the authorization server sends the browser back.
    pub fn callback(&self) -> &str {
        &self.callback
    }

    /// Starts `mcp-inspector --cli <url> --transport http --callback-url … <args>`.
    pub fn start(&self, url: &str, args: &[&str]) -> tokio::process::Child {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(["--cli", url, "--transport", "http", "--callback-url", &self.callback])
            .args(args)
            .env("HOME", self.home.path())
            // Interactive sign-in without a terminal; the "browser" is the test, so nothing opens.
            .env("MCP_AUTO_OPEN_ENABLED", "true")
            .env("BROWSER", "true")
            // Its credentials kept in a file under HOME (no keychain here).
            .env("MCP_INSPECTOR_SECRET_STORE", "file")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        command.spawn().expect("the Inspector starts")
    }

    /// Runs it once, signing in: `person` answers at the authorization URL it asks the browser
    /// to open and gives where the browser is sent back; what it printed.
    pub async fn signing_in<F, Fut>(&self, url: &str, args: &[&str], person: F) -> std::process::Output
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = String>,
    {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut first = self.start(url, args);
        let mut errors = BufReader::new(first.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let authorize = loop {
            let line = tokio::time::timeout(std::time::Duration::from_secs(60), errors.next_line())
                .await
                .expect("the Inspector asks for sign-in in time")
                .unwrap()
                .unwrap_or_else(|| panic!("the Inspector ended without asking: {seen:?}"));
            if let Some(at) = line.find("http") {
                if line.contains("navigate to") {
                    break line[at..].trim().to_string();
                }
            }
            seen.push(line);
        };
        let back = person(authorize).await;
        assert!(back.starts_with(&self.callback), "{back}");
        // The browser follows the redirect to the Inspector's own listener.
        reqwest::get(&back).await.expect("the Inspector's callback answers");
        Self::finished(first).await
    }

    /// Runs it with what it stored, no one signing in.
    pub async fn stored(&self, url: &str, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.push("--stored-auth-only");
        Self::finished(self.start(url, &all)).await
    }

    async fn finished(child: tokio::process::Child) -> std::process::Output {
        tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap()
            .unwrap()
    }
}
