//! A server's end-user auth settings (management tools `get_auth_config`, `update_auth_config`):
//! `/api/orgs/{org}/servers/{serverId}/auth-config`.

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::server_of;
use crate::auth::Scope;
use crate::domain::{text, time};
use crate::error::{ApiError, ApiResult};
use crate::store::{AuthConfigRecord, Store, StoreResult};

/// Tokens last this long unless configured (24 h).
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// Codes last this long unless configured (10 min).
pub const DEFAULT_CODE_LIFETIME_SECS: i64 = 10 * 60;
/// Bounds of the token lifetime: 5 minutes to 30 days.
pub const TOKEN_LIFETIME_RANGE: std::ops::RangeInclusive<i64> = 300..=30 * 24 * 60 * 60;
/// Bounds of the code lifetime: 1 minute to 1 hour.
pub const CODE_LIFETIME_RANGE: std::ops::RangeInclusive<i64> = 60..=60 * 60;
/// Most allowed e-mail domains.
pub const MAX_DOMAINS: usize = 100;
/// Most App Check app ids.
pub const MAX_APP_IDS: usize = 20;
/// A Firebase project number.
const PROJECT_NUMBER_PATTERN: &str = r"^[0-9]{1,20}$";
/// A Firebase app id, e.g. `1:123456789012:android:0a1b2c3d4e5f`.
const APP_ID_PATTERN: &str = r"^[0-9]+:[0-9]+:[a-z]+:[0-9A-Za-z]+$";

/// The settings in force for a server: stored, or the defaults.
pub async fn effective(store: &dyn Store, org_id: &str, server_id: &str) -> StoreResult<AuthConfigRecord> {
    Ok(store.auth_config_get(server_id).await?.unwrap_or_else(|| AuthConfigRecord {
        server_id: server_id.to_string(),
        org_id: org_id.to_string(),
        enabled: true,
        token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
        code_lifetime_secs: DEFAULT_CODE_LIFETIME_SECS,
        allowed_email_domains: Vec::new(),
        email_sender_name: None,
        email_subject: None,
        app_check_enabled: false,
        app_check_project_number: None,
        app_check_app_ids: Vec::new(),
        updated_at: 0,
    }))
}

/// Whether `email` (normalised) may sign in under `config`.
pub fn domain_allowed(config: &AuthConfigRecord, email: &str) -> bool {
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    config.allowed_email_domains.is_empty() || config.allowed_email_domains.iter().any(|d| d == domain)
}

/// A server's auth-service settings.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    server_id: String,
    org_id: String,
    /// Whether request-code and verify-code answer.
    enabled: bool,
    /// Lifetime of issued JWTs.
    token_lifetime_seconds: i64,
    /// Lifetime of mailed codes.
    code_lifetime_seconds: i64,
    /// Domains whose addresses may sign in; empty means all.
    allowed_email_domains: Vec<String>,
    /// Display name of the code mail's sender.
    email_sender_name: Option<String>,
    /// Subject of the code mail.
    email_subject: Option<String>,
    /// Firebase App Check on request-code and verify-code.
    app_check: AppCheckConfig,
    /// When it was last changed (absent while the defaults apply).
    updated_at: Option<String>,
}

impl From<AuthConfigRecord> for AuthConfig {
    fn from(c: AuthConfigRecord) -> Self {
        Self {
            server_id: c.server_id,
            org_id: c.org_id,
            enabled: c.enabled,
            token_lifetime_seconds: c.token_lifetime_secs,
            code_lifetime_seconds: c.code_lifetime_secs,
            allowed_email_domains: c.allowed_email_domains,
            email_sender_name: c.email_sender_name,
            email_subject: c.email_subject,
            app_check: AppCheckConfig {
                enabled: c.app_check_enabled,
                project_number: c.app_check_project_number,
                app_ids: c.app_check_app_ids,
            },
            updated_at: (c.updated_at > 0).then(|| time::iso(c.updated_at)),
        }
    }
}

/// Firebase App Check: when enabled, request-code and verify-code need an `X-Firebase-AppCheck`
/// token Firebase issued to an app of the project.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppCheckConfig {
    enabled: bool,
    /// The Firebase project number tokens must be issued for.
    project_number: Option<String>,
    /// App ids accepted; empty accepts every app of the project.
    app_ids: Vec<String>,
}

/// Changes to App Check: fields left out keep their value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateAppCheck {
    /// Enabling needs a project number (given now or before).
    enabled: Option<bool>,
    /// Digits, as the Firebase console shows them.
    #[schemars(pattern(PROJECT_NUMBER_PATTERN))]
    project_number: Option<String>,
    /// Up to 20 app ids such as `1:123456789012:android:0a1b2c3d`; empty accepts every app.
    #[schemars(length(max = 20), inner(length(max = 100), pattern(APP_ID_PATTERN)))]
    app_ids: Option<Vec<String>>,
}

/// `{"authConfig": …}`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfigAnswer {
    auth_config: AuthConfig,
}

/// Input of `update_auth_config`: fields left out keep their value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateAuthConfig {
    enabled: Option<bool>,
    /// 300 to 2592000 (30 days).
    #[schemars(range(min = 300, max = 2_592_000))]
    token_lifetime_seconds: Option<i64>,
    /// 60 to 3600.
    #[schemars(range(min = 60, max = 3600))]
    code_lifetime_seconds: Option<i64>,
    /// Domains such as `example.com`; empty allows all.
    #[schemars(
        length(max = 100),
        inner(
            length(min = 3, max = 253),
            pattern(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$")
        )
    )]
    allowed_email_domains: Option<Vec<String>>,
    /// Up to 100 characters; empty string removes it.
    #[schemars(length(max = 100), pattern(r"^(?:[ \t\r\n]*|[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*)$"))]
    email_sender_name: Option<String>,
    /// Up to 200 characters; empty string restores the default.
    #[schemars(length(max = 200), pattern(r"^(?:[ \t\r\n]*|[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*)$"))]
    email_subject: Option<String>,
    /// Firebase App Check.
    app_check: Option<UpdateAppCheck>,
}

/// Registers the auth-config operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "get_auth_config",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/auth-config",
            Access::Org(Scope::ServersRead),
            "Read a server's end-user auth settings.",
        ),
        get,
    );
    r.add(
        OpSpec::new(
            "update_auth_config",
            Method::PUT,
            "/api/orgs/{org}/servers/{serverId}/auth-config",
            Access::Org(Scope::ServersWrite),
            "Change a server's end-user auth settings (fields left out keep their value).",
        ),
        update,
    );
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<AuthConfigAnswer> {
    let server = server_of(&ctx).await?;
    let config = effective(ctx.state.store.as_ref(), &server.org_id, &server.id).await?;
    Ok(AuthConfigAnswer { auth_config: config.into() })
}

fn domain(raw: &str) -> ApiResult<String> {
    let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let ok = (3..=253).contains(&d.len())
        && d.contains('.')
        && !d.starts_with(['.', '-'])
        && !d.ends_with(['.', '-'])
        && !d.contains("..")
        && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if ok { Ok(d) } else { Err(ApiError::bad_request(format!("{raw:?} is not an e-mail domain"))) }
}

fn optional_text(
    raw: Option<String>,
    field: &str,
    max: usize,
    current: Option<String>,
) -> ApiResult<Option<String>> {
    match raw {
        None => Ok(current),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => {
            let value = text::display_name(&s, field).map_err(ApiError::BadRequest)?;
            if value.chars().count() > max {
                return Err(ApiError::bad_request(format!("{field} must be at most {max} characters")));
            }
            Ok(Some(value))
        }
    }
}

async fn update(ctx: OpCtx, input: UpdateAuthConfig) -> ApiResult<AuthConfigAnswer> {
    let server = server_of(&ctx).await?;
    let store = ctx.state.store.as_ref();
    let mut config = effective(store, &server.org_id, &server.id).await?;
    if let Some(enabled) = input.enabled {
        config.enabled = enabled;
    }
    if let Some(secs) = input.token_lifetime_seconds {
        if !TOKEN_LIFETIME_RANGE.contains(&secs) {
            return Err(ApiError::bad_request("tokenLifetimeSeconds must be between 300 and 2592000"));
        }
        config.token_lifetime_secs = secs;
    }
    if let Some(secs) = input.code_lifetime_seconds {
        if !CODE_LIFETIME_RANGE.contains(&secs) {
            return Err(ApiError::bad_request("codeLifetimeSeconds must be between 60 and 3600"));
        }
        config.code_lifetime_secs = secs;
    }
    if let Some(domains) = input.allowed_email_domains {
        if domains.len() > MAX_DOMAINS {
            return Err(ApiError::bad_request(format!("at most {MAX_DOMAINS} allowedEmailDomains")));
        }
        let mut list = domains.iter().map(|d| domain(d)).collect::<ApiResult<Vec<_>>>()?;
        list.sort();
        list.dedup();
        config.allowed_email_domains = list;
    }
    config.email_sender_name =
        optional_text(input.email_sender_name, "emailSenderName", 100, config.email_sender_name)?;
    config.email_subject = optional_text(input.email_subject, "emailSubject", 200, config.email_subject)?;
    if let Some(app_check) = input.app_check {
        update_app_check(&mut config, app_check)?;
    }
    config.updated_at = time::now_ms();
    store.auth_config_put(&config).await?;
    Ok(AuthConfigAnswer { auth_config: config.into() })
}

/// [`PROJECT_NUMBER_PATTERN`].
fn is_project_number(s: &str) -> bool {
    (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// [`APP_ID_PATTERN`].
fn is_app_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    let all = |p: &str, f: fn(&u8) -> bool| !p.is_empty() && p.as_bytes().iter().all(f);
    parts.len() == 4
        && all(parts[0], u8::is_ascii_digit)
        && all(parts[1], u8::is_ascii_digit)
        && all(parts[2], u8::is_ascii_lowercase)
        && all(parts[3], u8::is_ascii_alphanumeric)
}

fn update_app_check(config: &mut AuthConfigRecord, input: UpdateAppCheck) -> ApiResult<()> {
    if let Some(number) = input.project_number {
        if !is_project_number(&number) {
            return Err(ApiError::bad_request("appCheck.projectNumber must be 1 to 20 digits"));
        }
        config.app_check_project_number = Some(number);
    }
    if let Some(ids) = input.app_ids {
        if ids.len() > MAX_APP_IDS {
            return Err(ApiError::bad_request(format!(
                "appCheck.appIds may name at most {MAX_APP_IDS} apps"
            )));
        }
        if let Some(bad) = ids.iter().find(|id| id.len() > 100 || !is_app_id(id)) {
            return Err(ApiError::bad_request(format!("appCheck.appIds: {bad:?} is not a Firebase app id")));
        }
        let mut ids = ids;
        ids.sort();
        ids.dedup();
        config.app_check_app_ids = ids;
    }
    if let Some(enabled) = input.enabled {
        if enabled && config.app_check_project_number.is_none() {
            return Err(ApiError::bad_request("appCheck.projectNumber is required to enable App Check"));
        }
        config.app_check_enabled = enabled;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(domain(" @Example.COM ").unwrap(), "example.com");
        for bad in ["", "com", "a..b", "-a.com", "a.com.", "a b.com", "ex_ample.com"] {
            assert!(domain(bad).is_err(), "{bad}");
        }
        assert!(is_app_id("1:123456789012:android:0a1b2c3d4e5f"));
        for bad in ["1:2:web", "1:x:web:ab", "1:2:Web:ab", "1:2:web:a-b", ""] {
            assert!(!is_app_id(bad), "{bad}");
        }
        assert!(is_project_number("123456789012") && !is_project_number("12a") && !is_project_number(""));
    }
}
