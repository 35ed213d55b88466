//! A server's vendor integrations: `/api/orgs/{org}/servers/{serverId}/integrations`.
//! RevenueCat (a write-only secret key; app users' entitlements refreshed into a category that
//! policies match as `entitlement:<category>`) and PostHog (calls sent as events). The vendor
//! clients are in [`crate::integrations`]; this file checks input and keeps the settings.

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::{announce, server_of};
use crate::auth::Scope;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::integrations::revenuecat::{self, RevenueCatError};
use crate::integrations::stored::{self, PostHogSettings, RevenueCatSettings};
use crate::store::{EntitlementRecord, IntegrationRecord, ServerRecord};

/// Most entitlement identifiers in a category order.
pub const MAX_CATEGORIES: usize = 20;
/// A vendor key's pattern: visible ASCII, no spaces.
const KEY_PATTERN: &str = r"^[!-~]+$";
/// An entitlement identifier's pattern.
const CATEGORY_PATTERN: &str = r"^[A-Za-z0-9_.:-]+$";

/// RevenueCat as the API shows it: never the key.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueCatConfig {
    enabled: bool,
    /// The key's last characters, when one is set.
    api_key_hint: Option<String>,
    /// Entitlements in order of precedence when an app user holds several.
    category_order: Vec<String>,
    updated_at: String,
}

/// PostHog as the API shows it: never the key.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostHogConfig {
    enabled: bool,
    api_key_hint: Option<String>,
    /// The ingestion host events are posted to (`{host}/batch/`).
    host: String,
    updated_at: String,
}

/// `{"revenuecat": …, "posthog": …}` (`null` where never configured).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Integrations {
    revenuecat: Option<RevenueCatConfig>,
    posthog: Option<PostHogConfig>,
}

/// `{"revenuecat": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RevenueCatAnswer {
    revenuecat: RevenueCatConfig,
}

/// `{"posthog": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PostHogAnswer {
    posthog: PostHogConfig,
}

/// Input of `update_revenuecat_config`: fields left out keep their value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateRevenueCat {
    /// Enabling needs a key (given now or before).
    enabled: Option<bool>,
    /// RevenueCat's secret API key (`sk_…`); write-only.
    #[schemars(length(min = 1, max = 512), pattern(KEY_PATTERN))]
    api_key: Option<String>,
    /// Up to 20 entitlement identifiers, highest precedence first.
    #[schemars(length(max = 20), inner(length(min = 1, max = 100), pattern(CATEGORY_PATTERN)))]
    category_order: Option<Vec<String>>,
}

/// Input of `update_posthog_config`: fields left out keep their value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePostHog {
    /// Enabling needs a key (given now or before).
    enabled: Option<bool>,
    /// The PostHog project API key (`phc_…`); write-only.
    #[schemars(length(min = 1, max = 512), pattern(KEY_PATTERN))]
    api_key: Option<String>,
    /// An http(s) URL, e.g. `https://eu.i.posthog.com` (default `https://us.i.posthog.com`).
    #[schemars(length(min = 8, max = 2048), pattern(r"^https?://[^\s]+$"))]
    host: Option<String>,
}

/// Input of `trigger_revenuecat_refresh`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshEntitlements {
    /// The app user id RevenueCat knows the end user by (with Gatehouse's auth service, their
    /// e-mail address).
    #[schemars(
        length(min = 1, max = 256),
        pattern(
            r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )
    )]
    app_user_id: String,
}

/// An app user's entitlements as last refreshed.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entitlement {
    app_user_id: String,
    /// What policies match as `entitlement:<category>` (`free` with no active entitlement).
    category: String,
    /// Active entitlement identifiers.
    entitlements: Vec<String>,
    refreshed_at: String,
}

/// `{"entitlement": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EntitlementAnswer {
    entitlement: Entitlement,
}

/// Registers the integration operations.
pub fn register(r: &mut Registry) {
    let base = "/api/orgs/{org}/servers/{serverId}/integrations";
    r.add(
        OpSpec::new(
            "get_integrations",
            Method::GET,
            base,
            Access::Org(Scope::ServersRead),
            "Read a server's RevenueCat and PostHog integrations (keys are never returned).",
        ),
        get,
    );
    r.add(
        OpSpec::new(
            "update_revenuecat_config",
            Method::PUT,
            "/api/orgs/{org}/servers/{serverId}/integrations/revenuecat",
            Access::Org(Scope::ServersWrite),
            "Create or update a server's RevenueCat configuration (the API key is write-only).",
        ),
        update_revenuecat,
    );
    r.add(
        OpSpec::new(
            "trigger_revenuecat_refresh",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/integrations/revenuecat/refresh",
            Access::Org(Scope::ServersWrite),
            "Refresh one app user's entitlement category from RevenueCat.",
        ),
        refresh,
    );
    r.add(
        OpSpec::new(
            "update_posthog_config",
            Method::PUT,
            "/api/orgs/{org}/servers/{serverId}/integrations/posthog",
            Access::Org(Scope::ServersWrite),
            "Create or update a server's PostHog configuration (the API key is write-only).",
        ),
        update_posthog,
    );
}

fn revenuecat_view(r: &IntegrationRecord) -> RevenueCatConfig {
    let settings: RevenueCatSettings = stored::settings(r);
    RevenueCatConfig {
        enabled: r.enabled,
        api_key_hint: r.api_key_hint.clone(),
        category_order: settings.category_order,
        updated_at: time::iso(r.updated_at),
    }
}

fn posthog_view(r: &IntegrationRecord) -> PostHogConfig {
    let settings: PostHogSettings = stored::settings(r);
    PostHogConfig {
        enabled: r.enabled,
        api_key_hint: r.api_key_hint.clone(),
        host: settings.host,
        updated_at: time::iso(r.updated_at),
    }
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<Integrations> {
    let server = server_of(&ctx).await?;
    let mut answer = Integrations { revenuecat: None, posthog: None };
    for record in ctx.state.store.integration_list(&server.id).await? {
        match record.kind.as_str() {
            stored::REVENUECAT => answer.revenuecat = Some(revenuecat_view(&record)),
            stored::POSTHOG => answer.posthog = Some(posthog_view(&record)),
            _ => {}
        }
    }
    Ok(answer)
}

/// The server's integration of `kind`, or a new disabled one.
async fn current(ctx: &OpCtx, server: &ServerRecord, kind: &str) -> ApiResult<IntegrationRecord> {
    Ok(ctx.state.store.integration_get(&server.id, kind).await?.unwrap_or_else(|| IntegrationRecord {
        id: ids::new_id("int"),
        server_id: server.id.clone(),
        org_id: server.org_id.clone(),
        kind: kind.to_string(),
        enabled: false,
        settings: "{}".into(),
        api_key: None,
        api_key_hint: None,
        updated_at: 0,
    }))
}

/// Sets the key (sealed) and `enabled`, which needs a key.
fn apply_common(
    ctx: &OpCtx,
    record: &mut IntegrationRecord,
    api_key: Option<String>,
    enabled: Option<bool>,
) -> ApiResult<()> {
    if let Some(key) = api_key {
        let key = key.trim();
        if key.is_empty() || key.len() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::bad_request("apiKey must be 1 to 512 visible ASCII characters"));
        }
        record.api_key = Some(stored::seal_key(&ctx.state.master_key, &record.id, key));
        record.api_key_hint = Some(stored::hint(key));
    }
    if let Some(enabled) = enabled {
        if enabled && record.api_key.is_none() {
            return Err(ApiError::bad_request("apiKey is required to enable the integration"));
        }
        record.enabled = enabled;
    }
    record.updated_at = time::now_ms();
    Ok(())
}

async fn update_revenuecat(ctx: OpCtx, input: UpdateRevenueCat) -> ApiResult<RevenueCatAnswer> {
    let server = server_of(&ctx).await?;
    let mut record = current(&ctx, &server, stored::REVENUECAT).await?;
    let mut settings: RevenueCatSettings = stored::settings(&record);
    if let Some(order) = input.category_order {
        if order.len() > MAX_CATEGORIES {
            return Err(ApiError::bad_request(format!("categoryOrder may name at most {MAX_CATEGORIES}")));
        }
        let valid = |c: &String| {
            (1..=100).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
        };
        if let Some(bad) = order.iter().find(|c| !valid(c)) {
            return Err(ApiError::bad_request(format!(
                "categoryOrder: {bad:?} is not an entitlement identifier"
            )));
        }
        settings.category_order = order;
    }
    record.settings = serde_json::to_string(&settings).map_err(|e| ApiError::Internal(e.into()))?;
    apply_common(&ctx, &mut record, input.api_key, input.enabled)?;
    ctx.state.store.integration_put(&record).await?;
    Ok(RevenueCatAnswer { revenuecat: revenuecat_view(&record) })
}

async fn update_posthog(ctx: OpCtx, input: UpdatePostHog) -> ApiResult<PostHogAnswer> {
    let server = server_of(&ctx).await?;
    let mut record = current(&ctx, &server, stored::POSTHOG).await?;
    let mut settings: PostHogSettings = stored::settings(&record);
    if let Some(host) = input.host {
        let host = host.trim().trim_end_matches('/').to_string();
        // The schema admits any http(s)-looking text; what is not a usable URL is 422.
        let url =
            url::Url::parse(&host).map_err(|_| ApiError::unprocessable("host must be an http(s) URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || host.len() > 2048 {
            return Err(ApiError::unprocessable("host must be an http(s) URL"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(ApiError::unprocessable("host must not carry a query, fragment or credentials"));
        }
        // Events go through the outbound network policy; a host it refuses is refused now.
        ctx.state
            .plane
            .outbound
            .check_url(&host)
            .map_err(|e| ApiError::unprocessable(format!("host: {e}")))?;
        settings.host = host;
    }
    record.settings = serde_json::to_string(&settings).map_err(|e| ApiError::Internal(e.into()))?;
    apply_common(&ctx, &mut record, input.api_key, input.enabled)?;
    ctx.state.store.integration_put(&record).await?;
    // The data plane keeps where a server's events go in its directory entry.
    announce(&ctx, &server.id).await?;
    Ok(PostHogAnswer { posthog: posthog_view(&record) })
}

async fn refresh(ctx: OpCtx, input: RefreshEntitlements) -> ApiResult<EntitlementAnswer> {
    let server = server_of(&ctx).await?;
    let app_user_id = input.app_user_id.trim().to_string();
    if app_user_id.is_empty()
        || app_user_id.chars().count() > 256
        || app_user_id.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "appUserId must be 1 to 256 characters without control characters",
        ));
    }
    // With Gatehouse's auth service an app user is known by their e-mail, kept normalised.
    let app_user_id = text::normalize_email(&app_user_id).unwrap_or(app_user_id);
    let record = ctx.state.store.integration_get(&server.id, stored::REVENUECAT).await?;
    let record = record
        .filter(|r| r.enabled)
        .ok_or_else(|| ApiError::conflict("RevenueCat is not enabled for this server"))?;
    let key = stored::open_key(&ctx.state.master_key, &record)
        .ok_or_else(|| ApiError::conflict("the RevenueCat API key cannot be read; set it again"))?;
    let settings: RevenueCatSettings = stored::settings(&record);
    let now = time::now_ms();
    let base = &ctx.state.config.revenuecat_api_url;
    let found =
        revenuecat::fetch(&ctx.state.plane.outbound, base, &key, &app_user_id, &settings.category_order, now)
            .await
            .map_err(|e| match e {
                RevenueCatError::Unauthorized(_) => ApiError::unprocessable(e.to_string()),
                _ => ApiError::BadGateway(e.to_string()),
            })?;
    let entitlement = EntitlementRecord {
        server_id: server.id.clone(),
        app_user_id: app_user_id.clone(),
        category: found.category,
        entitlements: found.active,
        refreshed_at: now,
    };
    ctx.state.store.entitlement_put(&entitlement).await?;
    ctx.state.announce(&format!("entitlement:{}", server.id)).await?;
    Ok(EntitlementAnswer {
        entitlement: Entitlement {
            app_user_id,
            category: entitlement.category,
            entitlements: entitlement.entitlements,
            refreshed_at: time::iso(now),
        },
    })
}
