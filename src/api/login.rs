//! Platform login by e-mail one-time code: `/api/auth/request-code`, `/verify-code`, `/me`.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::one_time_code::{self, CodeBook, CodeMail};
use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::principal::{PLATFORM_TOKEN_PREFIX, credential, role_scopes};
use crate::auth::{Principal, Scope};
use crate::config::Mode;
use crate::crypto;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::store::{LoginCodeRecord, OrgRecord, Role, SessionRecord, Store, StoreResult, UserRecord};

/// A code is valid this long.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Codes one e-mail may be sent per window.
pub const CODES_PER_EMAIL: i64 = 5;
/// Requests one IP may make per window.
pub const REQUESTS_PER_IP: usize = 20;
/// The rate-limit window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Platform sessions last this long.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Input of `request_login_code`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCode {
    /// Where to send the code.
    #[schemars(length(max = 254), pattern(crate::domain::text::EMAIL_PATTERN))]
    email: String,
}

/// Input of `verify_login_code`.
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

/// `{"message": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Message {
    message: &'static str,
}

/// A person as the API shows them.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    user_id: String,
    email: String,
    instance_admin: bool,
    created_at: String,
}

impl From<UserRecord> for User {
    fn from(u: UserRecord) -> Self {
        Self {
            user_id: u.id,
            email: u.email,
            instance_admin: u.instance_admin,
            created_at: time::iso(u.created_at),
        }
    }
}

/// Answer of `verify_login_code`: the platform token, shown once.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResult {
    token: String,
    expires_at: String,
    user: User,
}

/// An org the caller belongs to, with their role and scopes there.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeOrg {
    org_id: String,
    slug: String,
    name: String,
    role: Option<Role>,
    scopes: Vec<Scope>,
}

/// Answer of `get_me`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// `dev`, `user` or `token`.
    kind: &'static str,
    user: Option<User>,
    token_id: Option<String>,
    orgs: Vec<MeOrg>,
}

/// Registers the login operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "request_login_code",
            Method::POST,
            "/api/auth/request-code",
            Access::Public,
            "E-mail a six-digit login code.",
        ),
        request_code,
    );
    r.add(
        OpSpec::new(
            "verify_login_code",
            Method::POST,
            "/api/auth/verify-code",
            Access::Public,
            "Exchange a login code for a platform token.",
        ),
        verify_code,
    );
    r.add(
        OpSpec::new(
            "get_me",
            Method::GET,
            "/api/auth/me",
            Access::Authenticated,
            "Who the caller is and what they may do.",
        ),
        me,
    );
    r.add(
        OpSpec::new(
            "sign_out",
            Method::POST,
            "/api/auth/sign-out",
            Access::Authenticated,
            "End the caller's platform session (its token stops working at once).",
        )
        .status(StatusCode::NO_CONTENT),
        sign_out,
    );
    r.add(
        OpSpec::new(
            "sign_out_everywhere",
            Method::POST,
            "/api/auth/sign-out-everywhere",
            Access::Authenticated,
            "End every platform session of the caller, in every browser and script.",
        ),
        sign_out_everywhere,
    );
}

/// `{"ended": n}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ended {
    /// How many sessions were ended.
    ended: u64,
}

fn keyed_code(ctx: &OpCtx, email: &str, code: &str) -> String {
    one_time_code::keyed(&ctx.state.master_key, "login-code", email, code)
}

/// Platform login codes in the store.
struct LoginCodes<'a>(&'a dyn Store);

#[async_trait::async_trait]
impl CodeBook for LoginCodes<'_> {
    async fn wrong_guess(&self, id: &str) -> StoreResult<i64> {
        self.0.login_code_fail(id).await
    }

    async fn consume(&self, id: &str, now: i64) -> StoreResult<bool> {
        self.0.login_code_consume(id, now).await
    }
}

async fn request_code(ctx: OpCtx, input: RequestCode) -> ApiResult<Message> {
    let email = text::normalize_email(&input.email)
        .ok_or_else(|| ApiError::bad_request("email is not a valid e-mail address"))?;
    let ip = ctx.client_ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    ctx.state
        .limiter
        .check(&format!("login-ip:{ip}"), REQUESTS_PER_IP, WINDOW)
        .map_err(|wait| ApiError::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
    let now = time::now_ms();
    let window_ms = WINDOW.as_millis() as i64;
    let store = &ctx.state.store;
    if store.login_code_count_since(&email, now - window_ms).await? >= CODES_PER_EMAIL {
        return Err(ApiError::RateLimited { retry_after_secs: WINDOW.as_secs() });
    }
    let mode = ctx.state.require_mode().await?;
    let known = store.user_find_by_email(&email).await?.is_some();
    let sent = Message { message: "Verification code sent" };
    if !known && !ctx.state.config.open_signup && mode != Mode::Dev {
        // Same answer as for a known address, so the endpoint does not reveal who has an account.
        tracing::info!("login code requested for an unknown e-mail; nothing sent");
        return Ok(sent);
    }
    let code = one_time_code::new_code();
    let record = LoginCodeRecord {
        id: ids::new_id("otp"),
        email: email.clone(),
        code_hash: keyed_code(&ctx, &email, &code),
        created_at: now,
        expires_at: now + CODE_TTL_MS,
        attempts: 0,
        consumed_at: None,
    };
    store.login_code_create(&record).await?;
    let body = format!(
        "Your Gatehouse login code is {code}.\n\nIt expires in 10 minutes. If you did not ask for it, ignore this mail.\n"
    );
    let mail =
        CodeMail { to: &email, sender_name: None, subject: "Your Gatehouse login code", body, code: &code };
    one_time_code::send(&ctx.state.mailer, Some(mode), mail).await?;
    Ok(sent)
}

async fn verify_code(ctx: OpCtx, input: VerifyCode) -> ApiResult<LoginResult> {
    let email = text::normalize_email(&input.email)
        .ok_or_else(|| ApiError::bad_request("email is not a valid e-mail address"))?;
    let code = one_time_code::read(&input.code)?;
    let store = &ctx.state.store;
    let now = time::now_ms();
    let active = store.login_code_active(&email, now).await?.ok_or_else(one_time_code::invalid)?;
    let typed = keyed_code(&ctx, &email, code);
    one_time_code::redeem(&LoginCodes(store.as_ref()), &active.id, &active.code_hash, &typed, now).await?;
    let user = match store.user_find_by_email(&email).await? {
        Some(user) => user,
        None => {
            let user = UserRecord { id: ids::new_id("usr"), email, instance_admin: false, created_at: now };
            store.user_create(&user).await?;
            if ctx.state.require_mode().await? != Mode::Dev {
                create_default_org(store.as_ref(), &user, now).await?;
            }
            user
        }
    };
    let token = crypto::new_token(PLATFORM_TOKEN_PREFIX);
    let session = SessionRecord {
        token_hash: crypto::sha256_hex(&token),
        user_id: user.id.clone(),
        created_at: now,
        expires_at: Some(now + SESSION_TTL_MS),
    };
    store.session_create(&session).await?;
    Ok(LoginResult { token, expires_at: time::iso(now + SESSION_TTL_MS), user: user.into() })
}

/// A newcomer's own organization, made at their first login (only people whom signup let in
/// reach this), with them as its admin, so they can start at once.
async fn create_default_org(store: &dyn Store, user: &UserRecord, now: i64) -> ApiResult<()> {
    let local = user.email.split('@').next().unwrap_or("my");
    let name = text::display_name(local, "name").unwrap_or_else(|_| "My organization".to_string());
    let mut slug = text::slug_for(&name, "org");
    if store.org_find(&slug).await?.is_some() {
        slug = format!(
            "{}-{:06x}",
            slug.chars().take(55).collect::<String>(),
            rand::random::<u32>() & 0xff_ffff
        );
    }
    let org = OrgRecord { id: ids::new_id("org"), slug, name, created_at: now };
    store.org_create(&org, Some(&user.id)).await?;
    tracing::info!(org = %org.id, user = %user.id, "default organization created at first login");
    Ok(())
}

async fn sign_out(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    // Only a person's session ends here; management tokens are revoked with revoke_token.
    if let Principal::User(_) = ctx.principal()? {
        if let Some(token) = credential(&ctx.headers)?.filter(|t| t.starts_with(PLATFORM_TOKEN_PREFIX)) {
            ctx.state.store.session_delete(&crypto::sha256_hex(token)).await?;
        }
    }
    Ok(())
}

async fn sign_out_everywhere(ctx: OpCtx, _: NoInput) -> ApiResult<Ended> {
    match ctx.principal()? {
        Principal::User(user) => Ok(Ended { ended: ctx.state.store.session_delete_user(&user.id).await? }),
        _ => Err(ApiError::Forbidden("only a person signed in with a platform token has sessions".into())),
    }
}

async fn me(ctx: OpCtx, _: NoInput) -> ApiResult<Me> {
    let store = &ctx.state.store;
    Ok(match ctx.principal()? {
        Principal::Dev => {
            let orgs = store.org_list_all().await?;
            let orgs = orgs
                .into_iter()
                .map(|o| MeOrg {
                    org_id: o.id,
                    slug: o.slug,
                    name: o.name,
                    role: Some(Role::Admin),
                    scopes: Scope::ALL.to_vec(),
                })
                .collect();
            Me { kind: "dev", user: None, token_id: None, orgs }
        }
        Principal::User(user) => {
            let mut orgs = Vec::new();
            let visible = if user.instance_admin {
                store.org_list_all().await?
            } else {
                store.org_list_for_user(&user.id).await?
            };
            for o in visible {
                let role = store.member_get(&o.id, &user.id).await?.map(|m| m.role);
                let scopes = if user.instance_admin {
                    Scope::ALL.to_vec()
                } else {
                    role_scopes(role.unwrap_or(Role::Member))
                };
                orgs.push(MeOrg { org_id: o.id, slug: o.slug, name: o.name, role, scopes });
            }
            Me { kind: "user", user: Some(user.clone().into()), token_id: None, orgs }
        }
        Principal::Token(token) => {
            let orgs = store
                .org_find(&token.org_id)
                .await?
                .into_iter()
                .map(|o| MeOrg {
                    org_id: o.id,
                    slug: o.slug,
                    name: o.name,
                    role: None,
                    scopes: token.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
                })
                .collect();
            Me { kind: "token", user: None, token_id: Some(token.id.clone()), orgs }
        }
    })
}
