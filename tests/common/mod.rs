//! Test support: a real Gatehouse on an ephemeral port, on SQLite or on a fresh PostgreSQL
//! database, and a small HTTP client for it.
//!
//! Every story is written once as `async fn story(backend: Backend)` and instantiated for both
//! backends with [`backend_tests!`]. PostgreSQL comes from `GATEHOUSE_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); when it is unreachable the
//! PostgreSQL variant is skipped with a message, except under `CI=true`, where it fails.

#![allow(dead_code)]

pub mod backend;
pub mod balancer;
pub mod browser;
pub mod cimd;
pub mod collector;
pub mod console;
pub mod fake_fcm;
pub mod files;
pub mod gateway;
pub mod mcp;
pub mod oauth;
pub mod process;
pub mod schema;
pub mod sdk;
pub mod sign_in;
pub mod smtp;
pub mod upstreams;
pub mod vendors;

use std::time::Duration;

use gatehouse::config::{
    Config, DEFAULT_FCM_BASE_URL, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, Mode,
};
use gatehouse::server::{self, RunningServer};
use reqwest::Method;
use serde_json::{Value, json};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Instantiates each story for SQLite and PostgreSQL: `backend_tests!(story_a, story_b);`.
#[macro_export]
macro_rules! backend_tests {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$story($crate::common::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::common::postgres_available().await {
                        super::$story($crate::common::Backend::Postgres).await;
                    }
                }
            }
        )*
    };
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether PostgreSQL can be used; panics in CI when it cannot.
pub async fn postgres_available() -> bool {
    use sqlx::Connection;
    match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&postgres_admin_url()))
        .await
    {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            true
        }
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_string(),
            };
            assert!(!in_ci(), "CI=true but PostgreSQL at {} is unavailable: {why}", postgres_admin_url());
            eprintln!(
                "SKIPPED: PostgreSQL unavailable at {} ({why}); set CI=true to make this fail",
                postgres_admin_url()
            );
            false
        }
    }
}

/// A database made for one test and dropped after it.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn create(backend: Backend, dir: &std::path::Path) -> Self {
        match backend {
            Backend::Sqlite => {
                Self { url: format!("sqlite://{}/gatehouse.db", dir.display()), pg_name: None }
            }
            Backend::Postgres => {
                use sqlx::{Connection, Executor};
                let name = format!("gh_test_{}", uuid::Uuid::now_v7().simple());
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_string();
                Self { url: format!("{base}/{name}"), pg_name: Some(name) }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs outside async context; use a private runtime on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                use sqlx::{Connection, Executor};
                if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ =
                        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// How to start a test server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Mode to initialise at start (`None`: uninitialised).
    pub mode: Option<Mode>,
    /// SMTP server URL.
    pub smtp_url: Option<String>,
    /// Let unknown e-mails sign up.
    pub open_signup: bool,
    /// Serve `/api/mcp`.
    pub mcp_server_enabled: bool,
    /// Refuse outbound calls to private and loopback addresses (the production default).
    pub deny_private_networks: bool,
    /// Base URL of FCM (a fake's, for the FCM plugin).
    pub fcm_base_url: Option<String>,
    /// stdio commands upstreams may run (default: any).
    pub stdio_commands: Option<Vec<String>>,
    /// Variables stdio upstreams may set beyond their template's.
    pub stdio_env: Vec<String>,
    /// Client connection limits (default: the product's defaults).
    pub max_connections: Option<usize>,
    pub header_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    /// The token `/metrics` asks for beyond dev mode.
    pub metrics_token: Option<String>,
    /// Who may create organizations.
    pub org_creation: gatehouse::config::OrgCreation,
    /// Serve at a port chosen before start and make `http://127.0.0.1:<port>` the public URL
    /// (what OAuth clients compare resource and issuer URLs with).
    pub public_url_is_base: bool,
    /// Lifetime of OAuth access tokens (default: the product's).
    pub oauth_access_ttl: Option<Duration>,
    /// Extra CA certificates for outbound TLS.
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// RevenueCat's API (a loopback vendor's).
    pub revenuecat_api_url: Option<String>,
    /// Firebase App Check's JWKS (a loopback vendor's).
    pub app_check_jwks_url: Option<String>,
}

/// A running Gatehouse and a client for it.
pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
    server: Option<RunningServer>,
    pub data_dir: tempfile::TempDir,
    db: TestDb,
}

/// An answer: status, headers, and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an error envelope with this status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.body["code"], code, "unexpected error code; body: {}", self.text);
        assert!(
            self.body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "error message missing: {}",
            self.text
        );
        self
    }
}

impl TestServer {
    /// Starts a server on `backend`.
    pub async fn start(backend: Backend, options: Options) -> Self {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::create(backend, data_dir.path()).await;
        let (bind, public_url) = if options.public_url_is_base {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            (format!("127.0.0.1:{port}").parse().unwrap(), format!("http://127.0.0.1:{port}"))
        } else {
            ("127.0.0.1:0".parse().unwrap(), "http://gatehouse.test".to_string())
        };
        let config = Config {
            bind,
            bind_explicit: true,
            data_dir: data_dir.path().to_path_buf(),
            database_url: db.url.clone(),
            mode: options.mode,
            smtp_url: options.smtp_url,
            smtp_from: "Gatehouse <gatehouse@localhost>".into(),
            master_key: None,
            previous_master_key: None,
            public_url,
            setup_token: None,
            open_signup: options.open_signup,
            allow_private_networks: !options.deny_private_networks,
            mcp_server_enabled: options.mcp_server_enabled,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            fcm_base_url: options.fcm_base_url.unwrap_or_else(|| DEFAULT_FCM_BASE_URL.into()),
            revenuecat_api_url: options
                .revenuecat_api_url
                .unwrap_or_else(|| gatehouse::config::DEFAULT_REVENUECAT_API_URL.into()),
            app_check_jwks_url: options
                .app_check_jwks_url
                .unwrap_or_else(|| gatehouse::config::DEFAULT_APP_CHECK_JWKS_URL.into()),
            stdio_commands: options.stdio_commands.unwrap_or_else(|| vec!["*".into()]),
            stdio_env: options.stdio_env,
            max_connections: options.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            header_timeout: options.header_timeout.unwrap_or(DEFAULT_HEADER_TIMEOUT),
            idle_timeout: options.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            metrics_token: options.metrics_token,
            org_creation: options.org_creation,
            oauth_access_ttl: options.oauth_access_ttl.unwrap_or(gatehouse::config::DEFAULT_OAUTH_ACCESS_TTL),
            tls_ca_file: options.tls_ca_file,
            // Stopped in-process, a test server has no balancer to wait for.
            drain_delay: Duration::ZERO,
            drain_timeout: gatehouse::config::DEFAULT_DRAIN_TIMEOUT,
            db_max_connections: gatehouse::config::DEFAULT_DB_MAX_CONNECTIONS,
        };
        let server = server::start(config.clone()).await.expect("server starts");
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Self { backend, base, client, config, server: Some(server), data_dir, db }
    }

    /// A dev-mode server.
    pub async fn dev(backend: Backend) -> Self {
        Self::start(backend, Options { mode: Some(Mode::Dev), ..Default::default() }).await
    }

    /// An enterprise server, initialised; returns it and the admin token.
    pub async fn enterprise(backend: Backend) -> (Self, String) {
        Self::enterprise_with(backend, Options::default()).await
    }

    /// An enterprise server with options, initialised; returns it and the admin token.
    pub async fn enterprise_with(backend: Backend, options: Options) -> (Self, String) {
        let server = Self::start(backend, options).await;
        let init = server
            .post("/init", None, json!({"mode": "enterprise", "adminEmail": "admin@example.com"}))
            .await
            .expect(201);
        let token = init.body["adminToken"].as_str().expect("admin token").to_string();
        (server, token)
    }

    /// Stops the server gracefully and starts it again on the same data (and port-less config).
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
        let server = server::start(self.config.clone()).await.expect("server restarts");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    /// Another node on the same database and master key (PostgreSQL scale-out).
    pub async fn second_node(&self) -> TestServer {
        let mut config = self.config.clone();
        config.master_key = Some(std::fs::read_to_string(self.data_dir.path().join("master.key")).unwrap());
        config.mode = None;
        // Its own port; the public URL stays the fleet's.
        config.bind = "127.0.0.1:0".parse().unwrap();
        let server = server::start(config.clone()).await.expect("second node starts");
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let data_dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb { url: self.db.url.clone(), pg_name: None };
        TestServer { backend: self.backend, base, client, config, server: Some(server), data_dir, db }
    }

    /// The same fleet reached at `base` (a balancer, or a node run as a process): requests
    /// only, nothing to stop.
    pub fn at(&self, base: &str) -> TestServer {
        let db = TestDb { url: self.db.url.clone(), pg_name: None };
        let data_dir = tempfile::tempdir().expect("tempdir");
        let (backend, client, config) = (self.backend, self.client.clone(), self.config.clone());
        TestServer { backend, base: base.to_string(), client, config, server: None, data_dir, db }
    }

    /// The running server's state.
    pub fn state(&self) -> &gatehouse::app::AppState {
        &self.server.as_ref().expect("running").state
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    /// Sends a prepared request builder.
    pub async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let sse = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/event-stream"));
        // An SSE answer's body is its last message (the response; notifications come before it).
        let body = if sse {
            text.lines()
                .rev()
                .filter_map(|l| l.strip_prefix("data:"))
                .find_map(|d| serde_json::from_str(d.trim()).ok())
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Resp { status, headers, text, body }
    }

    /// A request builder for custom headers and bodies.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(Method::DELETE, path, token, None).await
    }

    /// Creates an org as `token`; returns its id.
    pub async fn create_org(&self, token: &str, slug: &str) -> String {
        let r = self.post("/api/orgs", Some(token), json!({"name": slug, "slug": slug})).await.expect(201);
        r.body["org"]["orgId"].as_str().unwrap().to_string()
    }

    /// Publishes org `acme` with server `echo` (slug) whose HTTP tool `echo` GETs the backend's
    /// `/echo` with `parameters`, and an API key; returns (server id, raw key).
    pub async fn publish_echo(
        &self,
        admin: &str,
        backend: &backend::HttpBackend,
        parameters: Value,
    ) -> (String, String) {
        self.create_org(admin, "acme").await;
        let s = self
            .post("/api/orgs/acme/servers", Some(admin), json!({"name": "Echo", "slug": "echo"}))
            .await
            .expect(201);
        let sid = s.body["server"]["serverId"].as_str().unwrap().to_string();
        self.post(
            &format!("/api/orgs/acme/servers/{sid}/tools"),
            Some(admin),
            json!({"name": "echo", "description": "Echo", "method": "GET", "endpointUrl": backend.url("/echo"), "parameters": parameters}),
        )
        .await
        .expect(201);
        let k = self
            .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(admin), json!({"label": "k"}))
            .await
            .expect(201);
        (sid, k.body["rawValue"].as_str().unwrap().to_string())
    }

    /// Sends only the headers of a POST declaring a `len`-byte JSON body and returns the status
    /// and text of the answer (a client writing the whole body would race the server closing
    /// the connection after an early 413).
    pub async fn declared_body_answer(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        len: usize,
    ) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n"
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        (text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), text)
    }

    /// The metrics text, read with the operator's metrics token when one is configured.
    pub async fn metrics(&self) -> String {
        self.get("/metrics", self.config.metrics_token.as_deref()).await.expect(200).text
    }

    /// Mints a management token in `org` with `scopes`; returns its raw value.
    pub async fn mint_token(&self, token: &str, org: &str, scopes: &[&str]) -> String {
        let r = self
            .post(&format!("/api/orgs/{org}/tokens"), Some(token), json!({"name": "test", "scopes": scopes}))
            .await
            .expect(201);
        r.body["rawValue"].as_str().unwrap().to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Close the pool before the database is dropped, so PostgreSQL need not force it.
        if let Some(server) = self.server.take() {
            drop(server);
        }
    }
}
