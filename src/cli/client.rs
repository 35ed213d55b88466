//! The CLI's side of HTTP: where Gatehouse is and with which credential (flags, environment,
//! the saved login), and one request through [`crate::outbound`] — the CLI talks to a running
//! instance like any other client, and may reach it on loopback or a private address.

use std::path::PathBuf;
use std::time::Duration;

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::outbound::{NetworkPolicy, Outbound};

/// Where Gatehouse listens unless told.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";
/// Largest answer read.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// What `gatehouse login` keeps (`$XDG_CONFIG_HOME/gatehouse/credentials.json`, mode 0600).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub url: String,
    pub token: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// Where the saved login lives.
pub fn saved_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gatehouse").join("credentials.json"))
}

/// The saved login, if any.
pub fn saved() -> Option<Saved> {
    let text = std::fs::read_to_string(saved_path()?).ok()?;
    serde_json::from_str(&text).ok()
}

/// Saves a login, readable by its owner only.
pub fn save(login: &Saved) -> std::io::Result<PathBuf> {
    let path =
        saved_path().ok_or_else(|| std::io::Error::other("neither XDG_CONFIG_HOME nor HOME is set"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(login).map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(&path)?.write_all(text.as_bytes())?;
    Ok(path)
}

/// An instance and a credential.
pub struct Client {
    pub base: String,
    token: Option<String>,
    outbound: Outbound,
}

/// An answer: status and JSON body (`Null` when empty).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// Why no answer came.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach Gatehouse at {url}: {reason}")]
pub struct Unreachable {
    pub url: String,
    pub reason: String,
}

impl Client {
    /// `url` and `token` as given, else from the environment (read by clap), else the saved
    /// login's, else the default URL and no token.
    pub fn new(url: Option<String>, token: Option<String>) -> Self {
        let saved = saved();
        let base = url
            .or_else(|| saved.as_ref().map(|s| s.url.clone()))
            .unwrap_or_else(|| DEFAULT_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        let token = token.or_else(|| saved.filter(|s| s.url.trim_end_matches('/') == base).map(|s| s.token));
        Self { base, token, outbound: Outbound::new(NetworkPolicy { allow_private: true }) }
    }

    /// Sends `method path` with a query or a JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Answer, Unreachable> {
        let url = format!("{}{path}", self.base);
        let unreachable = |reason: String| Unreachable { url: self.base.clone(), reason };
        let mut request = self.outbound.request(method, &url).map_err(|e| unreachable(e.to_string()))?;
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let request =
            request.header(http::header::ACCEPT, "application/json").timeout(Duration::from_secs(120));
        let response = self.outbound.send(request).await.map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response.read_limited(MAX_ANSWER).await.map_err(|e| unreachable(e.to_string()))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Answer { status, body })
    }
}
