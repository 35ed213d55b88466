//! The shared state every handler receives.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::auth::end_user::EndUserAuth;
use crate::config::{Config, Mode};
use crate::crypto::MasterKey;
use crate::error::ApiError;
use crate::integrations::app_check::AppCheck;
use crate::limiter::Limiter;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::plane::DataPlane;
use crate::plugins::PluginRuntime;
use crate::store::Store;
use crate::upstream::launch::LaunchPolicy;

/// Handle to the shared state (cheap to clone).
pub type AppState = Arc<App>;

/// Everything a request may need.
pub struct App {
    /// Resolved configuration.
    pub config: Config,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Keys HMACs and encrypts secrets.
    pub master_key: MasterKey,
    /// Prometheus registry.
    pub metrics: Metrics,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// In-memory rate limits (per IP, per node).
    pub limiter: Limiter,
    /// The data plane's state on this node: caches, sessions, relays, upstream connections and
    /// the outbound client.
    pub plane: DataPlane,
    /// The end-user auth service's signing keys and key-status cache.
    pub end_user: EndUserAuth,
    /// What plugins keep between invocations (access tokens).
    pub plugins: PluginRuntime,
    /// Firebase App Check tokens verified against Firebase's cached keys.
    pub app_check: AppCheck,
    /// The token a non-loopback `/init` must present.
    pub setup_token: String,
    /// When the process started.
    pub started: Instant,
    /// Whether the node is draining before it stops.
    pub lifecycle: crate::lifecycle::Lifecycle,
    /// Set once known: a mode never changes after `/init`. A plain load to read (every MCP
    /// request reads it), where a lock would write to a line both cores share.
    mode: OnceLock<Mode>,
}

/// Setting key holding the instance mode once initialised.
pub const MODE_SETTING: &str = "mode";

impl App {
    /// Assembles the state.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        master_key: MasterKey,
        setup_token: String,
    ) -> anyhow::Result<Self> {
        let mailer = Mailer::new(config.smtp_url.as_deref(), &config.smtp_from);
        let launch = LaunchPolicy::new(&config.stdio_commands, &config.stdio_env);
        let roots = match &config.tls_ca_file {
            Some(path) => crate::outbound::read_ca_file(path)?,
            None => Vec::new(),
        };
        let plane = DataPlane::new(config.allow_private_networks, launch, roots);
        let end_user = EndUserAuth::new(store.clone(), master_key.clone(), config.public_url.clone());
        Ok(Self {
            plane,
            end_user,
            plugins: PluginRuntime::default(),
            app_check: AppCheck::new(config.app_check_jwks_url.clone()),
            config,
            store,
            master_key,
            metrics: Metrics::new(),
            mailer,
            limiter: Limiter::default(),
            setup_token,
            started: Instant::now(),
            lifecycle: Default::default(),
            mode: OnceLock::new(),
        })
    }

    /// The instance mode, `None` before `/init`. Read from the database until it is known, so
    /// a node learns of an `/init` made on another node.
    pub async fn mode(&self) -> Result<Option<Mode>, ApiError> {
        if let Some(mode) = self.mode.get() {
            return Ok(Some(*mode));
        }
        let stored = self.store.setting_get(MODE_SETTING).await?;
        let mode = stored.as_deref().and_then(Mode::parse);
        if let Some(mode) = mode {
            // Two requests may both have read it: the first to store it wins, with the same value.
            let _ = self.mode.set(mode);
        }
        Ok(mode)
    }

    /// Announces a change to every node's caches, this node's first and at once, so that the
    /// request after a change already sees it here (`docs/GATEWAY.md` "Caches").
    pub async fn announce(&self, change: &str) -> Result<(), crate::store::StoreError> {
        self.plane.apply(change);
        self.store.publish_change(change).await
    }

    /// The mode, or 503 `not_initialized`.
    pub async fn require_mode(&self) -> Result<Mode, ApiError> {
        self.mode().await?.ok_or(ApiError::NotInitialized)
    }
}
