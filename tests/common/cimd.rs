//! A client's own HTTPS site on loopback hosting Client ID Metadata Documents
//! (`tests/support/cimd_server.py`), with a throwaway certificate authority Gatehouse is told to
//! trust (`GATEHOUSE_TLS_CA_FILE`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;

/// The running site.
pub struct CimdSite {
    pub port: u16,
    pub ca_file: PathBuf,
    child: Child,
    _stdin: ChildStdin,
}

impl CimdSite {
    /// Serves `documents` (`{"/path": document}`; `{base}` in them is the site's origin), writing
    /// its CA into `dir`. `None` (with a message) when the test Python is missing, outside CI.
    pub fn start(dir: &std::path::Path, documents: &Value) -> Option<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".test-deps/venv/bin/python");
        if !python.exists() {
            assert!(
                !super::in_ci(),
                "CI=true but the test Python is missing: run scripts/install-test-deps.sh"
            );
            eprintln!("SKIPPED: the test Python is not installed; run scripts/install-test-deps.sh");
            return None;
        }
        let ca_file = dir.join("cimd-ca.pem");
        let mut child = Command::new(python)
            .arg(root.join("tests/support/cimd_server.py"))
            .arg(&ca_file)
            .arg(documents.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the metadata site starts");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = serde_json::from_str::<Value>(&line).expect("the site prints its port")["port"]
            .as_u64()
            .unwrap() as u16;
        Some(Self { port, ca_file, child, _stdin: stdin })
    }

    /// `https://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for CimdSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
