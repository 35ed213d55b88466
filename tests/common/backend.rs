//! A real HTTP API process for tests (`tests/support/http_backend.py`, standard library only).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Runs `tests/support/<script>` with `args`; it prints `{"port": N}` first.
fn spawn(script: &str, args: &[&str]) -> (u16, Child) {
    let script = format!("{}/tests/support/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 runs {script}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script} prints its port: {line:?}"));
    (v["port"].as_u64().unwrap() as u16, child)
}

/// The running backend.
pub struct HttpBackend {
    pub port: u16,
    child: Child,
}

impl HttpBackend {
    /// Starts it on a free loopback port.
    pub fn start() -> Self {
        let (port, child) = spawn("http_backend.py", &[]);
        Self { port, child }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real API protected by OAuth client credentials, with its own token endpoint
/// (`tests/support/client_credentials_api.py`).
pub struct ClientCredentialsApi {
    pub port: u16,
    child: Child,
}

impl ClientCredentialsApi {
    /// Starts it for one client, its tokens lasting `expires_in` seconds.
    pub fn start(client_id: &str, client_secret: &str, expires_in: u64) -> Self {
        let (port, child) =
            spawn("client_credentials_api.py", &[client_id, client_secret, &expires_in.to_string()]);
        Self { port, child }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `{"issued": n, "scopes": [...]}`.
    pub async fn stats(&self) -> serde_json::Value {
        reqwest::get(self.url("/control/stats")).await.unwrap().json().await.unwrap()
    }

    /// Forgets every token it issued.
    pub async fn revoke_all(&self) {
        reqwest::Client::new().post(self.url("/control/revoke")).send().await.unwrap();
    }
}

impl Drop for ClientCredentialsApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
