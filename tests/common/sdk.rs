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
