//! Loopback stand-ins of RevenueCat, PostHog and Firebase App Check:
//! `tests/support/vendors.py` (PyJWT and cryptography, from `scripts/install-test-deps.sh`),
//! a child process answering as those vendors' APIs do. Its signing key is made at start.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{Value, json};

/// RevenueCat's key the stand-in accepts.
pub const REVENUECAT_KEY: &str = "sk_test_valid_revenuecat_key";

/// The running stand-in.
pub struct Vendors {
    pub port: u16,
    child: Child,
    _stdin: ChildStdin,
}

impl Vendors {
    /// Starts it; `None` (with a message) when PyJWT is not installed, outside CI.
    pub fn start() -> Option<Self> {
        let Some(python) = super::fake_fcm::python() else {
            assert!(
                !super::in_ci(),
                "CI=true but PyJWT/cryptography are missing: run scripts/install-test-deps.sh"
            );
            eprintln!("SKIPPED: PyJWT/cryptography not installed; run scripts/install-test-deps.sh");
            return None;
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/vendors.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the vendor stand-ins");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let first: Value = serde_json::from_str(&line).expect("the stand-ins announce themselves");
        Some(Self { port: first["port"].as_u64().unwrap() as u16, child, _stdin: stdin })
    }

    /// Its base URL (RevenueCat's API, PostHog's host).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where App Check's keys are.
    pub fn jwks_url(&self) -> String {
        format!("{}/v1/jwks", self.base_url())
    }

    /// Sets the entitlements RevenueCat reports for `user`: `{id: expires ISO or null}`.
    pub async fn set_entitlements(&self, user: &str, entitlements: Value) {
        let map: serde_json::Map<String, Value> = entitlements
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), json!({"expires_date": v})))
            .collect();
        let url = format!("{}/control/subscribers/{}", self.base_url(), urlencode(user));
        let r = reqwest::Client::new().put(url).json(&json!({"entitlements": map})).send().await.unwrap();
        assert!(r.status().is_success());
    }

    /// Makes PostHog answer the next `count` batches with 503.
    pub async fn fail_posthog(&self, count: u32) {
        let url = format!("{}/control/posthog-fail", self.base_url());
        reqwest::Client::new().post(url).json(&json!({"count": count})).send().await.unwrap();
    }

    /// An App Check token as Firebase would issue it (`impostor`: signed with a key Firebase
    /// does not publish).
    pub async fn app_check_token(
        &self,
        app_id: &str,
        project_number: &str,
        expires_in: i64,
        impostor: bool,
    ) -> String {
        let url = format!("{}/control/app-check-token", self.base_url());
        let body = json!({"app_id": app_id, "project_number": project_number, "expires_in": expires_in, "impostor": impostor});
        let r: Value =
            reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
        r["token"].as_str().unwrap().to_string()
    }

    /// What it has seen: `subscriberRequests`, `batches`, `failedBatches`, `jwksRequests`.
    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/stats", self.base_url())).await.unwrap().json().await.unwrap()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

impl Drop for Vendors {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
