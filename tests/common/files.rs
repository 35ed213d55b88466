//! A directory served over HTTP on loopback by Python's own file server (a real process): where
//! published documents are fetched from.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running file server (killed on drop).
pub struct StaticFiles {
    pub base: String,
    child: Child,
}

impl StaticFiles {
    /// Serves `dir` at `http://127.0.0.1:<port>`.
    pub fn serve(dir: &std::path::Path) -> Self {
        let port = super::balancer::free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 serves files");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the file server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { base: format!("http://127.0.0.1:{port}"), child }
    }
}

impl Drop for StaticFiles {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
