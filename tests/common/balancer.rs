//! HAProxy (Debian's, installed by `scripts/install-test-deps.sh`) as the load balancer in front
//! of several Gatehouse nodes: round robin, no stickiness, each node checked on `/ready`, a
//! request that cannot connect to a node sent to another.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HAPROXY: &str = "/usr/sbin/haproxy";

/// A running HAProxy (killed on drop).
pub struct Balancer {
    pub base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// A free loopback port (bound, then released for a child process to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Balancer {
    /// HAProxy on `port` in front of `nodes` (`http://127.0.0.1:<port>` each); `None` (with a
    /// message) when it is not installed, outside CI.
    pub fn start(port: u16, nodes: &[String]) -> Option<Self> {
        if !std::path::Path::new(HAPROXY).exists() {
            assert!(!super::in_ci(), "CI=true but HAProxy is missing: run scripts/install-test-deps.sh");
            eprintln!("SKIPPED: HAProxy not installed; run scripts/install-test-deps.sh");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let servers: String = nodes
            .iter()
            .enumerate()
            .map(|(i, base)| format!("  server n{i} {} check\n", base.trim_start_matches("http://")))
            .collect();
        let config = format!(
            "global\n  maxconn 4096\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\n  \
             retries 3\n  option redispatch 1\n  retry-on conn-failure\n\
             frontend fleet\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             backend nodes\n  balance roundrobin\n  option httpchk GET /ready\n  http-check expect status 200\n  \
             default-server inter 200ms fall 2 rise 2\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(HAPROXY)
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let balancer = Self { base: format!("http://127.0.0.1:{port}"), child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(balancer)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
