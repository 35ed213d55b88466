//! The end-user auth service of a server, exactly:
//! `POST /api/orgs/{org}/servers/{serverId}/auth/request-code` and `…/auth/verify-code` with
//! the server's `X-API-Key`, `GET …/auth/me` with `Authorization: Bearer <jwt>`.
//!
//! These are public operations: the caller is the customer's backend (by API key) or their end
//! user (by JWT), never a platform principal, so the handlers check credentials themselves and
//! are not offered over `/api/mcp`. Codes work like platform login codes (`login.rs`), per
//! server: six digits, stored as an HMAC under the master key, single use, five wrong guesses.

use std::time::Duration;

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::auth_config;
use super::one_time_code::{self, CodeBook, CodeMail};
use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::app::AppState;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::integrations::app_check::{self, AppCheckError};
use crate::plane::keys::KeyInfo;
use crate::store::{EndUserCodeRecord, Store, StoreResult};

/// Codes one e-mail may be sent per server per [`EMAIL_WINDOW`].
pub const CODES_PER_EMAIL: i64 = 5;
/// The per-e-mail window.
pub const EMAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Codes one API key may request per [`KEY_WINDOW`].
pub const CODES_PER_KEY: i64 = 100;
/// The per-key window.
pub const KEY_WINDOW: Duration = Duration::from_secs(60);
/// Subject of the code mail unless configured.
pub const DEFAULT_SUBJECT: &str = "Your verification code";

/// Input of `request_auth_code`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCode {
    /// The end user's e-mail address.
    #[schemars(length(max = 254), pattern(crate::domain::text::EMAIL_PATTERN))]
    email: String,
}

/// Input of `verify_auth_code`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCode {
    /// The address the code was sent to.
    #[schemars(length(max = 254), pattern(crate::domain::text::EMAIL_PATTERN))]
    email: String,
    /// The six digits from the mail.
    #[schemars(pattern(r"^[0-9]{6}$"))]
    code: String,
}

/// `{"message": "Verification code sent"}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Message {
    message: &'static str,
}

/// Answer of `verify_auth_code`: a signed RS256 JWT for the end user.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    token: String,
    email: String,
    server_id: String,
    org_id: String,
}

/// Answer of `get_auth_me`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    email: String,
    server_id: String,
    org_id: String,
}

/// Registers the auth-service operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "request_auth_code",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/auth/request-code",
            Access::Public,
            "E-mail an end user a six-digit code (X-API-Key of the server).",
        ),
        request_code,
    );
    r.add(
        OpSpec::new(
            "verify_auth_code",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/auth/verify-code",
            Access::Public,
            "Exchange an end user's code for a signed RS256 JWT (X-API-Key of the server).",
        ),
        verify_code,
    );
    r.add(
        OpSpec::new(
            "get_auth_me",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/auth/me",
            Access::Public,
            "Validate an end user's JWT and that the API key behind it is still active.",
        ),
        me,
    );
}

fn invalid_key() -> ApiError {
    ApiError::Unauthorized("missing or invalid X-API-Key".into())
}

/// Authenticates a public per-server call by that server's `X-API-Key`: 401 when it is
/// missing, unknown, archived, or a key of any other server.
pub async fn server_key(ctx: &OpCtx) -> ApiResult<KeyInfo> {
    let raw = ctx.header("x-api-key").map(str::trim).filter(|k| !k.is_empty() && k.len() <= 512);
    let raw = raw.ok_or_else(invalid_key)?;
    let store = ctx.state.store.as_ref();
    let key = ctx.state.plane.keys.verify(store, raw).await?.ok_or_else(invalid_key)?;
    if key.server_id != ctx.param("serverId")? || !same_org(ctx, &key.org_id).await? {
        return Err(invalid_key());
    }
    Ok(KeyInfo::clone(&key))
}

/// Whether the `{org}` of the path (an id or a slug) is the org `org_id`.
async fn same_org(ctx: &OpCtx, org_id: &str) -> ApiResult<bool> {
    let named = ctx.param("org")?;
    if named == org_id {
        return Ok(true);
    }
    Ok(ctx.state.store.org_find(named).await?.is_some_and(|o| o.id == org_id))
}

fn keyed_code(state: &AppState, server_id: &str, email: &str, code: &str) -> String {
    one_time_code::keyed(&state.master_key, "end-user-code", &format!("{server_id}:{email}"), code)
}

/// End users' codes in the store.
struct EndUserCodes<'a>(&'a dyn Store);

#[async_trait::async_trait]
impl CodeBook for EndUserCodes<'_> {
    async fn wrong_guess(&self, id: &str) -> StoreResult<i64> {
        self.0.end_user_code_fail(id).await
    }

    async fn consume(&self, id: &str, now: i64) -> StoreResult<bool> {
        self.0.end_user_code_consume(id, now).await
    }
}

fn disabled() -> ApiError {
    ApiError::ForbiddenCode {
        code: "auth_disabled",
        message: "the auth service of this server is disabled".into(),
    }
}

fn domain_refused() -> ApiError {
    ApiError::ForbiddenCode {
        code: "email_domain_not_allowed",
        message: "this server does not accept sign-ins from this e-mail domain".into(),
    }
}

fn email_of(raw: &str) -> ApiResult<String> {
    text::normalize_email(raw).ok_or_else(|| ApiError::bad_request("email is not a valid e-mail address"))
}

/// Firebase App Check, where the server turned it on: the request must carry a token Firebase
/// issued to one of the server's apps.
async fn app_check(ctx: &OpCtx, key: &KeyInfo) -> ApiResult<()> {
    let config = auth_config::effective(ctx.state.store.as_ref(), &key.org_id, &key.server_id).await?;
    let Some(project_number) =
        config.app_check_project_number.as_deref().filter(|_| config.app_check_enabled)
    else {
        return Ok(());
    };
    let expected = app_check::Expected { project_number, app_ids: &config.app_check_app_ids };
    let token = ctx.header(app_check::HEADER);
    match ctx.state.app_check.verify(&ctx.state.plane.outbound, token, &expected).await {
        Ok(_) => Ok(()),
        Err(e @ AppCheckError::Unavailable(_)) => {
            tracing::warn!(error = %e, "App Check keys unavailable");
            Err(ApiError::Unavailable { code: "app_check_unavailable", message: e.to_string() })
        }
        Err(e) => Err(ApiError::Unauthorized(e.to_string())),
    }
}

async fn request_code(ctx: OpCtx, input: RequestCode) -> ApiResult<Message> {
    let key = server_key(&ctx).await?;
    app_check(&ctx, &key).await?;
    let store = ctx.state.store.as_ref();
    let now = time::now_ms();
    let key_window = KEY_WINDOW.as_millis() as i64;
    if store.end_user_code_count_for_key(&key.key_id, now - key_window).await? >= CODES_PER_KEY {
        return Err(ApiError::RateLimited { retry_after_secs: KEY_WINDOW.as_secs() });
    }
    send_code(&ctx.state, (&key.org_id, &key.server_id), &key.key_id, &input.email).await?;
    // A key's usage count is the number of request-code calls made with it.
    store.key_add_usage(&[(key.key_id.clone(), 1)]).await?;
    Ok(Message { message: "Verification code sent" })
}

/// Mails an end user of a server a code, as the server's auth configuration says (enabled,
/// allowed domains, lifetime, subject, sender), at most [`CODES_PER_EMAIL`] per window. `via`
/// is the API key that asked, or empty when the end user signs in to connect an MCP client
/// (the authorization page).
pub async fn send_code(
    state: &AppState,
    (org_id, server_id): (&str, &str),
    via: &str,
    email: &str,
) -> ApiResult<()> {
    let store = state.store.as_ref();
    let config = auth_config::effective(store, org_id, server_id).await?;
    if !config.enabled {
        return Err(disabled());
    }
    let email = email_of(email)?;
    if !auth_config::domain_allowed(&config, &email) {
        return Err(domain_refused());
    }
    let now = time::now_ms();
    let email_window = EMAIL_WINDOW.as_millis() as i64;
    if store.end_user_code_count_for_email(server_id, &email, now - email_window).await? >= CODES_PER_EMAIL {
        return Err(ApiError::RateLimited { retry_after_secs: EMAIL_WINDOW.as_secs() });
    }
    let code = one_time_code::new_code();
    let record = EndUserCodeRecord {
        id: ids::new_id("euc"),
        server_id: server_id.to_string(),
        key_id: via.to_string(),
        code_hash: keyed_code(state, server_id, &email, &code),
        email: email.clone(),
        created_at: now,
        expires_at: now + config.code_lifetime_secs * 1000,
        attempts: 0,
        consumed_at: None,
    };
    store.end_user_code_create(&record).await?;
    let minutes = (config.code_lifetime_secs + 59) / 60;
    let body = format!(
        "Your verification code is {code}.\n\nIt expires in {minutes} minutes. If you did not ask for it, ignore this mail.\n"
    );
    let subject = config.email_subject.as_deref().unwrap_or(DEFAULT_SUBJECT);
    let sender_name = config.email_sender_name.as_deref();
    let mail = CodeMail { to: &email, sender_name, subject, body, code: &code };
    one_time_code::send(&state.mailer, state.mode().await?, mail).await
}

/// Redeems an end user's code for a server: the normalised e-mail and the API key that asked
/// for the code (empty when none did).
pub async fn redeem_code(
    state: &AppState,
    (org_id, server_id): (&str, &str),
    email: &str,
    code: &str,
) -> ApiResult<(String, String)> {
    let store = state.store.as_ref();
    let config = auth_config::effective(store, org_id, server_id).await?;
    if !config.enabled {
        return Err(disabled());
    }
    let email = email_of(email)?;
    let code = one_time_code::read(code)?;
    if !auth_config::domain_allowed(&config, &email) {
        return Err(domain_refused());
    }
    let now = time::now_ms();
    let active =
        store.end_user_code_active(server_id, &email, now).await?.ok_or_else(one_time_code::invalid)?;
    let typed = keyed_code(state, server_id, &email, code);
    one_time_code::redeem(&EndUserCodes(store), &active.id, &active.code_hash, &typed, now).await?;
    Ok((email, active.key_id))
}

async fn verify_code(ctx: OpCtx, input: VerifyCode) -> ApiResult<Verified> {
    let key = server_key(&ctx).await?;
    app_check(&ctx, &key).await?;
    let state = &ctx.state;
    let store = state.store.as_ref();
    let (email, via) = redeem_code(state, (&key.org_id, &key.server_id), &input.email, &input.code).await?;
    // The token is backed by the key that requested the code: if that one was archived since
    // (or the code was asked for by no key), the session would be dead on arrival.
    if via.is_empty() || !state.end_user.keys.is_active(store, &key.server_id, &via).await? {
        return Err(one_time_code::invalid());
    }
    let config = auth_config::effective(store, &key.org_id, &key.server_id).await?;
    let token =
        state.end_user.issue(&key.org_id, &key.server_id, &via, &email, config.token_lifetime_secs).await?;
    Ok(Verified { token, email, server_id: key.server_id, org_id: key.org_id })
}

fn bearer(ctx: &OpCtx) -> ApiResult<&str> {
    let missing = || ApiError::Unauthorized("expected Authorization: Bearer <token>".into());
    let value = ctx.header("authorization").ok_or_else(missing)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

async fn me(ctx: OpCtx, _: NoInput) -> ApiResult<Me> {
    let token = bearer(&ctx)?;
    let state = &ctx.state;
    let claims = state.end_user.verify(token).await?;
    if !same_org(&ctx, &claims.org_id).await? {
        return Err(ApiError::Unauthorized("invalid token: issued for another organization".into()));
    }
    if claims.server_id != ctx.param("serverId")? {
        return Err(ApiError::ForbiddenCode {
            code: "wrong_server",
            message: "the token was issued for a different server".into(),
        });
    }
    if !state.end_user.keys.is_active(state.store.as_ref(), &claims.server_id, &claims.key_id).await? {
        return Err(ApiError::Unauthorized("invalid token: its API key has been revoked".into()));
    }
    Ok(Me { email: claims.sub, server_id: claims.server_id, org_id: claims.org_id })
}
