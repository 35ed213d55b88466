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
