//! A real HTTP API process for tests (`tests/support/http_backend.py`, standard library only).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The running backend.
pub struct HttpBackend {
    pub port: u16,
    child: Child,
}

impl HttpBackend {
    /// Starts it on a free loopback port.
    pub fn start() -> Self {
        let script = format!("{}/tests/support/http_backend.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the backend");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("backend prints its port");
        Self { port: v["port"].as_u64().unwrap() as u16, child }
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
        let script = format!("{}/tests/support/client_credentials_api.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .args([script.as_str(), client_id, client_secret, &expires_in.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the API");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("the API prints its port");
        Self { port: v["port"].as_u64().unwrap() as u16, child }
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
