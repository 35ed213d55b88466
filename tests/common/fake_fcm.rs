//! A real fake of Google's OAuth token endpoint and FCM HTTP v1 for tests:
//! `tests/support/fake_fcm.py` (PyJWT and cryptography, installed by
//! `scripts/install-test-deps.sh`), run as a child process on loopback. It makes a throwaway
//! service account at start; nothing private is committed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;

/// The running fake.
pub struct FakeFcm {
    pub port: u16,
    /// A service-account key file Google (the fake) accepts.
    pub service_account: Value,
    /// The same account name with a key Google (the fake) does not know.
    pub impostor_account: Value,
    child: Child,
    _stdin: ChildStdin,
}

/// The Python that has PyJWT and cryptography (the test-deps venv, else the system one).
pub fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".test-deps/venv/bin/python");
    let python = if venv.exists() { venv } else { PathBuf::from("python3") };
    let ok = Command::new(&python).args(["-c", "import jwt, cryptography"]).stderr(Stdio::null()).status();
    ok.is_ok_and(|s| s.success()).then_some(python)
}

impl FakeFcm {
    /// Starts the fake; `None` (with a message) when PyJWT is not installed, outside CI.
    pub fn start() -> Option<Self> {
        let Some(python) = python() else {
            assert!(
                !super::in_ci(),
                "CI=true but PyJWT/cryptography are missing: run scripts/install-test-deps.sh"
            );
            eprintln!("SKIPPED: PyJWT/cryptography not installed; run scripts/install-test-deps.sh");
            return None;
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_fcm.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the fake FCM server");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let first: Value = serde_json::from_str(&line).expect("the fake FCM server announces itself");
        Some(Self {
            port: first["port"].as_u64().unwrap() as u16,
            service_account: first["serviceAccount"].clone(),
            impostor_account: first["impostorAccount"].clone(),
            child,
            _stdin: stdin,
        })
    }

    /// The base URL to configure as `fcm_base_url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the fake has seen: `tokenRequests`, `rejectedAssertions`, `unauthorized`, `sends`.
    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/stats", self.base_url())).await.unwrap().json().await.unwrap()
    }
}

impl Drop for FakeFcm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
