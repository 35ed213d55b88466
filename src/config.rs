//! Configuration: defaults, then the TOML file (`--config`), then `GATEHOUSE_*` variables and
//! flags (clap merges those two; a flag wins over its variable).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::connection::ConnectionLimits;

/// Who may create organizations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OrgCreation {
    /// Instance admins only.
    #[default]
    Admins,
    /// Any signed-in user (each becomes the admin of what they create).
    Users,
}

/// How the instance runs: see `docs/ARCHITECTURE.md` ("Modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One org (`default`), no credentials anywhere; for a laptop.
    Dev,
    /// Every request authenticated.
    Enterprise,
}

impl Mode {
    /// The wire name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dev => "dev",
            Mode::Enterprise => "enterprise",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dev" => Some(Mode::Dev),
            "enterprise" => Some(Mode::Enterprise),
            _ => None,
        }
    }
}

/// Settings that may come from the TOML file; every field is optional there.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FileConfig {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub mode: Option<Mode>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub master_key: Option<String>,
    pub previous_master_key: Option<String>,
    pub public_url: Option<String>,
    pub setup_token: Option<String>,
    pub open_signup: Option<bool>,
    pub allow_private_networks: Option<bool>,
    pub mcp_server_enabled: Option<bool>,
    pub max_body_bytes: Option<usize>,
    pub fcm_base_url: Option<String>,
    pub revenuecat_api_url: Option<String>,
    pub app_check_jwks_url: Option<String>,
    pub stdio_commands: Option<Vec<String>>,
    pub stdio_env: Option<Vec<String>>,
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub metrics_token: Option<String>,
    pub org_creation: Option<OrgCreation>,
    pub oauth_access_token_ttl_secs: Option<u64>,
    pub tls_ca_file: Option<PathBuf>,
    pub drain_delay_secs: Option<u64>,
    pub drain_timeout_secs: Option<u64>,
    pub db_max_connections: Option<u32>,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Whether `bind` was chosen explicitly (dev mode warns when it is not loopback).
    pub bind_explicit: bool,
    /// Directory for the SQLite database and the generated master key.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Mode to initialise at start when the instance is not yet initialised.
    pub mode: Option<Mode>,
    /// `smtp://host:port`, `smtps://…`; unset means mail is logged (dev) or refused.
    pub smtp_url: Option<String>,
    /// The `From:` of every mail.
    pub smtp_from: String,
    /// Base64 (32 bytes) master key; when unset a key file in `data_dir` is used.
    pub master_key: Option<String>,
    /// The key before a rotation: opens (never seals) what it sealed, until
    /// `gatehouse secrets rotate-master-key` has re-sealed everything.
    pub previous_master_key: Option<String>,
    /// Base URL used in issued tokens and links.
    pub public_url: String,
    /// Required in `X-Setup-Token` for a non-loopback `/init`; generated when unset.
    pub setup_token: Option<String>,
    /// Whether unknown e-mails may sign up by OTP (enterprise).
    pub open_signup: bool,
    /// Whether outbound calls may reach private, loopback and link-local addresses.
    pub allow_private_networks: bool,
    /// Whether the management MCP server at `/api/mcp` is on (`MCP_SERVER_ENABLED`).
    pub mcp_server_enabled: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Base URL of Firebase Cloud Messaging (the FCM plugin posts to `{base}/v1/projects/…`).
    pub fcm_base_url: String,
    /// Base URL of RevenueCat's REST API (entitlements are read from `{base}/v1/subscribers/…`).
    pub revenuecat_api_url: String,
    /// Where Firebase App Check publishes the keys its tokens are signed with.
    pub app_check_jwks_url: String,
    /// stdio commands upstreams may run: program names, or `*` for any (the dev-mode default).
    pub stdio_commands: Vec<String>,
    /// Environment variable names every stdio upstream may set, beyond its template's own.
    pub stdio_env: Vec<String>,
    /// Client connections open at once, at most.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (from connecting or its first byte).
    pub header_timeout: Duration,
    /// Time a kept-alive client connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// Bearer token `/metrics` asks for beyond dev mode (unset: metrics are not served there).
    pub metrics_token: Option<String>,
    /// Who may create organizations beyond dev mode.
    pub org_creation: OrgCreation,
    /// How long an access token Gatehouse issues to an MCP client lives.
    pub oauth_access_ttl: Duration,
    /// After SIGTERM, how long the node keeps serving while `/ready` says it is draining, so
    /// that load balancers stop sending it requests before it stops accepting them.
    pub drain_delay: Duration,
    /// Then, how long in-flight requests and streams have to finish before they are cut.
    pub drain_timeout: Duration,
    /// Connections to PostgreSQL this node opens at most (beside the one that listens).
    pub db_max_connections: u32,
    /// PEM certificates trusted for outbound TLS beside the public roots (an internal CA).
    pub tls_ca_file: Option<PathBuf>,
}

/// Values given on the command line or in the environment; `None` means "not given".
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// TOML configuration file.
    #[arg(long, env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// host:port to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "GATEHOUSE_BIND")]
    pub bind: Option<SocketAddr>,
    /// Data directory (default ./gatehouse-data).
    #[arg(long, env = "GATEHOUSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://… (default, in the data directory) or postgres://…
    #[arg(long, env = "GATEHOUSE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Initialise this mode at start if the instance is not initialised yet.
    #[arg(long, env = "GATEHOUSE_MODE", value_enum)]
    pub mode: Option<Mode>,
    /// Shorthand for --mode dev.
    #[arg(long)]
    pub dev: bool,
    /// SMTP server for outgoing mail, e.g. smtp://127.0.0.1:2525.
    #[arg(long, env = "GATEHOUSE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// From address of outgoing mail.
    #[arg(long, env = "GATEHOUSE_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Master key (base64 of 32 bytes) that encrypts secrets at rest.
    #[arg(long, env = "GATEHOUSE_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// The master key before a rotation, still accepted for reading (rolling rotation).
    #[arg(long, env = "GATEHOUSE_PREVIOUS_MASTER_KEY", hide_env_values = true)]
    pub previous_master_key: Option<String>,
    /// Public base URL (used in issued tokens and links).
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Token a non-loopback caller of /init must present in X-Setup-Token.
    #[arg(long, env = "GATEHOUSE_SETUP_TOKEN", hide_env_values = true)]
    pub setup_token: Option<String>,
    /// Let unknown e-mail addresses sign up by OTP.
    #[arg(long, env = "GATEHOUSE_OPEN_SIGNUP")]
    pub open_signup: Option<bool>,
    /// Let outbound requests reach private and loopback addresses.
    #[arg(long, env = "GATEHOUSE_ALLOW_PRIVATE_NETWORKS")]
    pub allow_private_networks: Option<bool>,
    /// Serve the management MCP server at /api/mcp.
    #[arg(long, env = "MCP_SERVER_ENABLED")]
    pub mcp_server_enabled: Option<bool>,
    /// Base URL of Firebase Cloud Messaging (default https://fcm.googleapis.com).
    #[arg(long, env = "GATEHOUSE_FCM_BASE_URL")]
    pub fcm_base_url: Option<String>,
    /// Base URL of RevenueCat's REST API (default https://api.revenuecat.com).
    #[arg(long, env = "GATEHOUSE_REVENUECAT_API_URL")]
    pub revenuecat_api_url: Option<String>,
    /// Firebase App Check's JWKS (default https://firebaseappcheck.googleapis.com/v1/jwks).
    #[arg(long, env = "GATEHOUSE_APP_CHECK_JWKS_URL")]
    pub app_check_jwks_url: Option<String>,
    /// Comma-separated programs stdio upstreams may run (`*` for any; default: any in dev mode,
    /// none otherwise).
    #[arg(long, env = "GATEHOUSE_STDIO_COMMANDS", value_delimiter = ',')]
    pub stdio_commands: Option<Vec<String>>,
    /// Comma-separated environment variable names stdio upstreams may set (beyond the variables
    /// of their catalogue template; default none).
    #[arg(long, env = "GATEHOUSE_STDIO_ENV", value_delimiter = ',')]
    pub stdio_env: Option<Vec<String>>,
    /// Client connections open at once, at most (default 10000; lowered to fit the open-file
    /// limit).
    #[arg(long, env = "GATEHOUSE_MAX_CONNECTIONS", value_parser = clap::value_parser!(usize))]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers (default 10).
    #[arg(long, env = "GATEHOUSE_HEADER_TIMEOUT_SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a kept-alive connection may stay silent between requests (default 60).
    #[arg(long, env = "GATEHOUSE_IDLE_TIMEOUT_SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout_secs: Option<u64>,
    /// Bearer token that /metrics requires beyond dev mode (unset: /metrics is refused there).
    #[arg(long, env = "GATEHOUSE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Who may create organizations: `admins` (instance admins, the default) or `users`.
    #[arg(long, env = "GATEHOUSE_ORG_CREATION", value_enum)]
    pub org_creation: Option<OrgCreation>,
    /// Seconds an access token issued to an MCP client lives (default 3600).
    #[arg(long, env = "GATEHOUSE_OAUTH_ACCESS_TOKEN_TTL_SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub oauth_access_token_ttl_secs: Option<u64>,
    /// PEM file of certificates to trust for outbound TLS beside the public roots.
    #[arg(long, env = "GATEHOUSE_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// Seconds a stopping node keeps serving while /ready reports it draining (default 5).
    #[arg(long, env = "GATEHOUSE_DRAIN_DELAY_SECS", value_parser = clap::value_parser!(u64).range(0..=600))]
    pub drain_delay_secs: Option<u64>,
    /// Seconds in-flight requests and streams then have to finish (default 30).
    #[arg(long, env = "GATEHOUSE_DRAIN_TIMEOUT_SECS", value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_timeout_secs: Option<u64>,
    /// Connections to PostgreSQL a node opens at most (default 16).
    #[arg(long, env = "GATEHOUSE_DB_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: Option<u32>,
}

/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default request body limit (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default cap on open client connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default time to send a request's headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a kept-alive connection may stay silent.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default lifetime of the access tokens MCP clients are issued.
pub const DEFAULT_OAUTH_ACCESS_TTL: Duration = Duration::from_secs(3600);
/// Default time a stopping node keeps serving while reporting not ready.
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);
/// Default time in-flight requests have to finish when a node stops.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default most connections a node opens to PostgreSQL.
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 16;
/// Default base URL of Firebase Cloud Messaging.
pub const DEFAULT_FCM_BASE_URL: &str = "https://fcm.googleapis.com";
/// RevenueCat's REST API.
pub const DEFAULT_REVENUECAT_API_URL: &str = "https://api.revenuecat.com";
/// Firebase App Check's public keys.
pub const DEFAULT_APP_CHECK_JWKS_URL: &str = "https://firebaseappcheck.googleapis.com/v1/jwks";

impl Config {
    /// Resolves the configuration: defaults < file < environment/flags.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Ok(Self::resolve(file, overrides))
    }

    fn resolve(file: FileConfig, o: &Overrides) -> Self {
        let bind_given = o.bind.or(file.bind);
        let bind = bind_given.unwrap_or_else(|| DEFAULT_BIND.parse().expect("valid default"));
        let data_dir =
            o.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./gatehouse-data"));
        let database_url =
            o.database_url.clone().or(file.database_url).unwrap_or_else(|| default_sqlite_url(&data_dir));
        let mode = if o.dev { Some(Mode::Dev) } else { o.mode.or(file.mode) };
        let public_url = o.public_url.clone().or(file.public_url).unwrap_or_else(|| format!("http://{bind}"));
        let dev = mode == Some(Mode::Dev);
        Self {
            bind,
            bind_explicit: bind_given.is_some(),
            data_dir,
            database_url,
            mode,
            smtp_url: o.smtp_url.clone().or(file.smtp_url).filter(|s| !s.is_empty()),
            smtp_from: o
                .smtp_from
                .clone()
                .or(file.smtp_from)
                .unwrap_or_else(|| "Gatehouse <gatehouse@localhost>".into()),
            master_key: o.master_key.clone().or(file.master_key).filter(|s| !s.is_empty()),
            previous_master_key: o
                .previous_master_key
                .clone()
                .or(file.previous_master_key)
                .filter(|s| !s.is_empty()),
            public_url: public_url.trim_end_matches('/').to_string(),
            setup_token: o.setup_token.clone().or(file.setup_token).filter(|s| !s.is_empty()),
            open_signup: o.open_signup.or(file.open_signup).unwrap_or(false),
            allow_private_networks: o.allow_private_networks.or(file.allow_private_networks).unwrap_or(dev),
            mcp_server_enabled: o.mcp_server_enabled.or(file.mcp_server_enabled).unwrap_or(false),
            max_body_bytes: file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            fcm_base_url: o
                .fcm_base_url
                .clone()
                .or(file.fcm_base_url)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_FCM_BASE_URL.into())
                .trim_end_matches('/')
                .to_string(),
            revenuecat_api_url: o
                .revenuecat_api_url
                .clone()
                .or(file.revenuecat_api_url)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_REVENUECAT_API_URL.into())
                .trim_end_matches('/')
                .to_string(),
            app_check_jwks_url: o
                .app_check_jwks_url
                .clone()
                .or(file.app_check_jwks_url)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_APP_CHECK_JWKS_URL.into()),
            stdio_commands: o
                .stdio_commands
                .clone()
                .or(file.stdio_commands)
                .unwrap_or_else(|| if dev { vec!["*".into()] } else { Vec::new() })
                .into_iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            stdio_env: o
                .stdio_env
                .clone()
                .or(file.stdio_env)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            max_connections: o
                .max_connections
                .or(file.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS)
                .max(1),
            header_timeout: o
                .header_timeout_secs
                .or(file.header_timeout_secs)
                .map_or(DEFAULT_HEADER_TIMEOUT, |s| Duration::from_secs(s.max(1))),
            idle_timeout: o
                .idle_timeout_secs
                .or(file.idle_timeout_secs)
                .map_or(DEFAULT_IDLE_TIMEOUT, |s| Duration::from_secs(s.max(1))),
            metrics_token: o.metrics_token.clone().or(file.metrics_token).filter(|s| !s.is_empty()),
            org_creation: o.org_creation.or(file.org_creation).unwrap_or_default(),
            oauth_access_ttl: o
                .oauth_access_token_ttl_secs
                .or(file.oauth_access_token_ttl_secs)
                .map_or(DEFAULT_OAUTH_ACCESS_TTL, |s| Duration::from_secs(s.clamp(1, 86_400))),
            tls_ca_file: o.tls_ca_file.clone().or(file.tls_ca_file),
            drain_delay: o
                .drain_delay_secs
                .or(file.drain_delay_secs)
                .map_or(DEFAULT_DRAIN_DELAY, |s| Duration::from_secs(s.min(600))),
            drain_timeout: o
                .drain_timeout_secs
                .or(file.drain_timeout_secs)
                .map_or(DEFAULT_DRAIN_TIMEOUT, |s| Duration::from_secs(s.min(3600))),
            db_max_connections: o
                .db_max_connections
                .or(file.db_max_connections)
                .map_or(DEFAULT_DB_MAX_CONNECTIONS, |n| n.clamp(1, 1000)),
        }
    }

    /// What each client connection is held to.
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
        }
    }

    /// The database URL without its password, for log lines and errors.
    pub fn database_url_for_log(&self) -> String {
        redact_url(&self.database_url)
    }

    /// Whether the database is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}/gatehouse.db", data_dir.display())
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_defaults_apply() {
        let file: FileConfig =
            toml::from_str("bind = \"0.0.0.0:9000\"\nopen_signup = true\nmode = \"enterprise\"").unwrap();
        let o = Overrides { bind: Some("127.0.0.1:7000".parse().unwrap()), ..Default::default() };
        let c = Config::resolve(file, &o);
        assert_eq!(c.bind.to_string(), "127.0.0.1:7000");
        assert!(c.bind_explicit);
        assert!(c.open_signup);
        assert_eq!(c.mode, Some(Mode::Enterprise));
        assert!(!c.allow_private_networks);
        assert_eq!(c.database_url, "sqlite://./gatehouse-data/gatehouse.db");
        assert_eq!(c.public_url, "http://127.0.0.1:7000");
        assert_eq!(c.fcm_base_url, DEFAULT_FCM_BASE_URL);
        assert_eq!(c.db_max_connections, DEFAULT_DB_MAX_CONNECTIONS);
        let file: FileConfig = toml::from_str("db_max_connections = 0").unwrap();
        assert_eq!(Config::resolve(file, &Overrides::default()).db_max_connections, 1);
        let file: FileConfig = toml::from_str("fcm_base_url = \"http://127.0.0.1:9/\"").unwrap();
        assert_eq!(Config::resolve(file, &Overrides::default()).fcm_base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn dev_flag_selects_dev_and_private_networks() {
        let o = Overrides { dev: true, ..Default::default() };
        let c = Config::resolve(FileConfig::default(), &o);
        assert_eq!(c.mode, Some(Mode::Dev));
        assert!(c.allow_private_networks);
        assert!(!c.bind_explicit);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<FileConfig>("bnd = \"x\"").is_err());
    }
}
