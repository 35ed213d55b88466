//! A loopback OTLP/HTTP trace collector (`tests/support/otlp_collector.py`): what a node
//! exports, read back span by span.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running collector (killed on drop).
pub struct Collector {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Collector {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let script = format!("{}/tests/support/otlp_collector.py", env!("CARGO_MANIFEST_DIR"));
        let child = Command::new("python3")
            .args([script, port_file.display().to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the collector");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "the collector did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { port, child, _dir: dir }
    }

    /// Where nodes send: `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spans of trace `trace_id` once at least `n` have arrived (waits up to 20 s).
    pub async fn trace(&self, trace_id: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let all: Vec<Value> =
                reqwest::get(format!("{}/spans", self.endpoint())).await.unwrap().json().await.unwrap();
            let spans: Vec<Value> = all.into_iter().filter(|s| s["traceId"] == trace_id).collect();
            if spans.len() >= n || Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
