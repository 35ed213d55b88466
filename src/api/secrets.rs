//! Secrets of an org (provider keys and other credentials): `/api/orgs/{org}/secrets`. A value goes in and
//! never comes out: it is sealed with the master key and lists show a masked placeholder.
//! HTTP tools reference a secret by id (`auth: {type, secretId}`); disabling a secret in use
//! is refused with the names of its users unless `force=true`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::domain::{ids, secret, text, time};
use crate::error::{ApiError, ApiResult};
use crate::notify::notify;
use crate::secrets;
use crate::store::{SecretRecord, SecretUser};

/// A secret as the API shows it: never its value.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    secret_id: String,
    org_id: String,
    name: String,
    /// Provider or kind label, e.g. `openai`.
    provider: String,
    /// A placeholder such as `sk-…9f2c`.
    masked: String,
    /// `active` or `disabled`.
    status: String,
    created_at: String,
    updated_at: String,
    /// Last time the gateway presented it; null if never.
    last_used_at: Option<String>,
    /// What presents it (HTTP tools, plugins, upstreams); in reads, not in answers to changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    used_by: Option<Vec<SecretUse>>,
}

/// Something that presents a secret.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretUse {
    /// `http_tool`, `plugin` or `upstream`.
    kind: &'static str,
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name: Option<String>,
}

impl From<SecretUser> for SecretUse {
    fn from(u: SecretUser) -> Self {
        Self { kind: u.kind, id: u.id, name: u.name, server_id: u.server_id, server_name: u.server_name }
    }
}

impl Secret {
    /// The view with what uses the secret.
    async fn with_users(record: SecretRecord, ctx: &OpCtx) -> ApiResult<Self> {
        let users = secrets::secret_users(ctx.state.store.as_ref(), &record.org_id, &record.id).await?;
        let mut view = Self::from(record);
        view.used_by = Some(users.into_iter().map(SecretUse::from).collect());
        Ok(view)
    }
}

impl From<SecretRecord> for Secret {
    fn from(s: SecretRecord) -> Self {
        Self {
            secret_id: s.id,
            org_id: s.org_id,
            name: s.name,
            provider: s.provider,
            masked: s.masked,
            status: s.status,
            created_at: time::iso(s.created_at),
            updated_at: time::iso(s.updated_at),
            last_used_at: s.last_used_at.map(time::iso),
            used_by: None,
        }
    }
}

/// `{"secret": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SecretEnvelope {
    secret: Secret,
}

/// `{"secrets": […]}`, by name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SecretList {
    secrets: Vec<Secret>,
}

/// Input of `set_provider_key`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    /// Unique in the org.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: String,
    /// Provider or kind label (`openai`, `anthropic`, `generic`…): a-z, 0-9, `_.-`.
    #[schemars(pattern(crate::domain::secret::PROVIDER_PATTERN))]
    provider: String,
    /// The secret itself; write-only.
    #[schemars(length(min = 1, max = 8192), pattern(crate::domain::secret::VALUE_PATTERN))]
    value: String,
}

/// `active` or `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecretStatus {
    Active,
    Disabled,
}

/// Input of `update_provider_key`: any of the fields.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecret {
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: Option<String>,
    #[schemars(pattern(crate::domain::secret::PROVIDER_PATTERN))]
    provider: Option<String>,
    /// A new value; write-only.
    #[schemars(length(min = 1, max = 8192), pattern(crate::domain::secret::VALUE_PATTERN))]
    value: Option<String>,
    /// `active` re-enables a disabled secret; `disabled` is refused while it is in use.
    status: Option<SecretStatus>,
}

/// Input of `delete_provider_key`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteSecret {
    /// Disable even when HTTP tools use it (their calls then fail until they are changed).
    force: Option<bool>,
}

/// Registers the secret operations.
pub fn register(r: &mut Registry) {
    let base = "/api/orgs/{org}/secrets";
    let one = "/api/orgs/{org}/secrets/{secretId}";
    r.add(
        OpSpec::new(
            "list_provider_keys",
            Method::GET,
            base,
            Access::Org(Scope::SecretsRead),
            "List the org's secrets (provider keys); values are never returned, only masked.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "set_provider_key",
            Method::POST,
            base,
            Access::Org(Scope::SecretsWrite),
            "Store a secret (provider key); it is encrypted at rest and never returned.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(
        OpSpec::new(
            "get_provider_key",
            Method::GET,
            one,
            Access::Org(Scope::SecretsRead),
            "Read a secret (masked).",
        ),
        get,
    );
    r.add(
        OpSpec::new(
            "update_provider_key",
            Method::PUT,
            one,
            Access::Org(Scope::SecretsWrite),
            "Change a secret's name, provider, value or status.",
        ),
        update,
    );
    r.add(
        OpSpec::new(
            "delete_provider_key",
            Method::DELETE,
            one,
            Access::Org(Scope::SecretsWrite),
            "Disable (soft-delete) a secret; refused while in use unless force=true.",
        ),
        delete,
    );
}

fn check_name(raw: &str) -> ApiResult<String> {
    text::display_name(raw, "name").map_err(ApiError::BadRequest)
}

async fn secret_of(ctx: &OpCtx) -> ApiResult<SecretRecord> {
    let org = ctx.org()?;
    ctx.state.store.secret_get(&org.id, ctx.param("secretId")?).await?.ok_or(ApiError::NotFound("secret"))
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<SecretList> {
    ctx.state.plane.secret_uses.flush(ctx.state.store.as_ref()).await;
    let records = ctx.state.store.secret_list(&ctx.org()?.id).await?;
    let mut secrets = Vec::with_capacity(records.len());
    for record in records {
        secrets.push(Secret::with_users(record, &ctx).await?);
    }
    Ok(SecretList { secrets })
}

async fn create(ctx: OpCtx, input: CreateSecret) -> ApiResult<SecretEnvelope> {
    let org = ctx.org()?;
    let name = check_name(&input.name)?;
    let provider = secret::validate_provider(&input.provider).map_err(ApiError::BadRequest)?;
    secret::validate_value(&input.value).map_err(ApiError::BadRequest)?;
    let id = ids::new_id("sec");
    let now = time::now_ms();
    let record = SecretRecord {
        value: secrets::seal(&ctx.state.master_key, &id, &input.value),
        masked: secret::mask(&input.value),
        id,
        org_id: org.id.clone(),
        name,
        provider,
        status: "active".into(),
        created_at: now,
        updated_at: now,
        last_used_at: None,
        disabled_at: None,
    };
    ctx.state.store.secret_create(&record).await?;
    Ok(SecretEnvelope { secret: record.into() })
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<SecretEnvelope> {
    ctx.state.plane.secret_uses.flush(ctx.state.store.as_ref()).await;
    Ok(SecretEnvelope { secret: Secret::with_users(secret_of(&ctx).await?, &ctx).await? })
}

async fn update(ctx: OpCtx, input: UpdateSecret) -> ApiResult<SecretEnvelope> {
    let mut secret = secret_of(&ctx).await?;
    let mut changed = false;
    if let Some(name) = input.name {
        secret.name = check_name(&name)?;
    }
    if let Some(provider) = input.provider {
        secret.provider = secret::validate_provider(&provider).map_err(ApiError::BadRequest)?;
    }
    if let Some(value) = input.value {
        secret::validate_value(&value).map_err(ApiError::BadRequest)?;
        secret.value = secrets::seal(&ctx.state.master_key, &secret.id, &value);
        secret.masked = secret::mask(&value);
        changed = true;
    }
    let now = time::now_ms();
    match input.status {
        Some(SecretStatus::Disabled) if secret.status == "active" => {
            refuse_if_in_use(&ctx, &secret).await?;
            secret.status = "disabled".into();
            secret.disabled_at = Some(now);
            changed = true;
        }
        Some(SecretStatus::Active) if secret.status != "active" => {
            secret.status = "active".into();
            secret.disabled_at = None;
            changed = true;
        }
        _ => {}
    }
    secret.updated_at = now;
    ctx.state.store.secret_update(&secret).await?;
    if changed {
        ctx.state.announce(&secrets::changed(&secret.id)).await?;
    }
    Ok(SecretEnvelope { secret: secret.into() })
}

/// 409 naming the users of a secret, if it has any; returns them otherwise (none).
async fn refuse_if_in_use(ctx: &OpCtx, secret: &SecretRecord) -> ApiResult<()> {
    let users = secrets::secret_users(ctx.state.store.as_ref(), &secret.org_id, &secret.id).await?;
    in_use(&users)
}

fn in_use(users: &[SecretUser]) -> ApiResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "Secret is in use by {}; change them first or pass force=true",
        secrets::describe_users(users)
    )))
}

async fn delete(ctx: OpCtx, input: DeleteSecret) -> ApiResult<SecretEnvelope> {
    let mut secret = secret_of(&ctx).await?;
    if secret.status != "active" {
        return Err(ApiError::conflict("Secret is already disabled"));
    }
    let force = input.force.unwrap_or(false);
    let users = secrets::secret_users(ctx.state.store.as_ref(), &secret.org_id, &secret.id).await?;
    if !force {
        in_use(&users)?;
    }
    let now = time::now_ms();
    secret.status = "disabled".into();
    secret.disabled_at = Some(now);
    secret.updated_at = now;
    ctx.state.store.secret_update(&secret).await?;
    ctx.state.announce(&secrets::changed(&secret.id)).await?;
    if !users.is_empty() {
        let described = secrets::describe_users(&users);
        let user_ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
        notify(
            &ctx.state,
            &secret.org_id,
            "secret.disabled_in_use",
            "Secret disabled while in use",
            &format!("Secret \"{}\" was disabled although {described} use it; their calls fail until they are changed.", secret.name),
            json!({"secretId": secret.id, "users": user_ids}),
        )
        .await;
    }
    Ok(SecretEnvelope { secret: secret.into() })
}
