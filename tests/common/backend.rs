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
