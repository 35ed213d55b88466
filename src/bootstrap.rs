//! Initialising an instance, once: dev mode (one `default` org, no credentials) or enterprise
//! mode (a first admin whose token is returned once).

use crate::app::{AppState, MODE_SETTING};
use crate::auth::principal::PLATFORM_TOKEN_PREFIX;
use crate::config::Mode;
use crate::crypto;
use crate::domain::{ids, text, time};
use crate::store::{OrgRecord, SessionRecord, UserRecord};

/// Slug of the dev-mode organization.
pub const DEFAULT_ORG_SLUG: &str = "default";

/// Why initialisation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// `/init` answers once.
    #[error("already initialised")]
    AlreadyInitialized,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The configuration pins another mode.
    #[error("{0}")]
    ModeMismatch(String),
    /// Storage failed.
    #[error(transparent)]
    Other(#[from] crate::store::StoreError),
}

fn check_configured(state: &AppState, wanted: Mode) -> Result<(), InitError> {
    match state.config.mode {
        Some(pinned) if pinned != wanted => Err(InitError::ModeMismatch(format!(
            "this server is configured for {} mode (GATEHOUSE_MODE)",
            pinned.as_str()
        ))),
        _ => Ok(()),
    }
}

/// Initialises dev mode and its `default` org.
pub async fn init_dev(state: &AppState) -> Result<(), InitError> {
    check_configured(state, Mode::Dev)?;
    if !state.store.setting_insert_if_absent(MODE_SETTING, Mode::Dev.as_str()).await? {
        return Err(InitError::AlreadyInitialized);
    }
    ensure_default_org(state).await?;
    tracing::warn!("initialised in DEV mode: no credentials are required anywhere");
    Ok(())
}

async fn ensure_default_org(state: &AppState) -> Result<(), InitError> {
    if state.store.org_find(DEFAULT_ORG_SLUG).await?.is_none() {
        let org = OrgRecord {
            id: ids::new_id("org"),
            slug: DEFAULT_ORG_SLUG.into(),
            name: "Default".into(),
            created_at: time::now_ms(),
        };
        state.store.org_create(&org, None).await?;
    }
    Ok(())
}

/// Initialises enterprise mode; returns the admin's platform token (shown once).
pub async fn init_enterprise(state: &AppState, admin_email: &str) -> Result<String, InitError> {
    check_configured(state, Mode::Enterprise)?;
    let email = text::normalize_email(admin_email)
        .ok_or_else(|| InitError::Invalid("adminEmail is not a valid e-mail address".into()))?;
    // Claim the instance first, so two racing callers cannot both create an admin.
    if !state.store.setting_insert_if_absent(MODE_SETTING, Mode::Enterprise.as_str()).await? {
        return Err(InitError::AlreadyInitialized);
    }
    let now = time::now_ms();
    let user = UserRecord { id: ids::new_id("usr"), email, instance_admin: true, created_at: now };
    state.store.user_create(&user).await?;
    let token = crypto::new_token(PLATFORM_TOKEN_PREFIX);
    let session = SessionRecord {
        token_hash: crypto::sha256_hex(&token),
        user_id: user.id,
        created_at: now,
        expires_at: None,
    };
    state.store.session_create(&session).await?;
    tracing::info!("initialised in enterprise mode");
    Ok(token)
}

/// At start: honour a configured mode (`--dev`, `GATEHOUSE_MODE`) against what is stored.
pub async fn apply_configured_mode(state: &AppState) -> anyhow::Result<()> {
    let stored = state.mode().await?;
    match (state.config.mode, stored) {
        (Some(Mode::Dev), None) => match init_dev(state).await {
            Ok(()) | Err(InitError::AlreadyInitialized) => Ok(()),
            Err(err) => Err(err.into()),
        },
        (Some(wanted), Some(have)) if wanted != have => anyhow::bail!(
            "the data in {} was initialised in {} mode, but {} mode was requested",
            state.config.database_url_for_log(),
            have.as_str(),
            wanted.as_str()
        ),
        _ => Ok(()),
    }
}
