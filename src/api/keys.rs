//! API keys of a server, plus rotation:
//! `/api/orgs/{org}/servers/{serverId}/keys`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use super::servers::server_of;
use crate::auth::Scope;
use crate::crypto;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::notify::notify;
use crate::store::{ApiKeyRecord, KeyRotationRecord, ServerRecord};

/// Prefix of API key values.
pub const API_KEY_PREFIX: &str = "mcp_";

/// A key as the API shows it (never its hash or value).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    key_id: String,
    server_id: String,
    org_id: String,
    label: String,
    /// `active`, or `revoked` once archived.
    status: String,
    created_at: String,
    /// `request-code` calls made with the key; a key with any can only be archived.
    usage_count: i64,
    /// MCP requests made with the key.
    call_count: i64,
    /// When it last made one.
    last_used_at: Option<String>,
}

impl From<ApiKeyRecord> for Key {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            key_id: k.id,
            server_id: k.server_id,
            org_id: k.org_id,
            label: k.label,
            // Stored as `archived`; the seed calls an archived key revoked.
            status: if k.status == "archived" { "revoked".into() } else { k.status },
            created_at: time::iso(k.created_at),
            usage_count: k.usage_count,
            call_count: k.call_count,
            last_used_at: k.last_used_at.map(time::iso),
        }
    }
}

/// `{"keys": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyList {
    keys: Vec<Key>,
}

/// A new key with its raw value, shown once.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    key: Key,
    raw_value: String,
    /// For rotations: the key this one replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated_from: Option<String>,
}

/// Input of `create_key`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// What the key is for (e.g. production, staging).
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    label: String,
}

/// Input of `archive_key`: nothing, or `{"status": "archived"}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveKey {
    /// Validated by deserialisation: only `archived` (or `revoked`) is accepted.
    #[serde(rename = "status")]
    _status: Option<ArchivedOnly>,
}

/// The only status a key can be moved to (`revoked` is the same, by the name keys show).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArchivedOnly {
    Archived,
    Revoked,
}

/// `{"ok": true}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ok {
    ok: bool,
}

/// One rotation.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    rotation_id: String,
    old_key_id: String,
    new_key_id: String,
    actor_type: String,
    actor_id: Option<String>,
    created_at: String,
}

/// `{"rotations": […]}`, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RotationList {
    rotations: Vec<Rotation>,
}

/// Registers the key operations.
pub fn register(r: &mut Registry) {
    let base = "/api/orgs/{org}/servers/{serverId}/keys";
    let one = "/api/orgs/{org}/servers/{serverId}/keys/{keyId}";
    r.add(
        OpSpec::new(
            "list_keys",
            Method::GET,
            base,
            Access::Org(Scope::KeysRead),
            "List a server's API keys.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "create_key",
            Method::POST,
            base,
            Access::Org(Scope::KeysWrite),
            "Create an API key; its raw value is shown once.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(
        OpSpec::new(
            "archive_key",
            Method::PATCH,
            one,
            Access::Org(Scope::KeysWrite),
            "Archive (revoke) an API key.",
        ),
        archive,
    );
    r.add(
        OpSpec::new(
            "delete_key",
            Method::DELETE,
            one,
            Access::Org(Scope::KeysWrite),
            "Delete an API key that was never used.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
    r.add(
        OpSpec::new(
            "rotate_key",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/keys/{keyId}/rotate",
            Access::Org(Scope::KeysRotate),
            "Replace a key with a new one and archive the old (recorded for audit).",
        )
        .status(StatusCode::CREATED),
        rotate,
    );
    r.add(
        OpSpec::new(
            "list_key_rotations",
            Method::GET,
            "/api/orgs/{org}/servers/{serverId}/keys/rotations",
            Access::Org(Scope::KeysRotate),
            "Read a server's key rotation log, newest first.",
        ),
        rotations,
    );
}

fn new_key(server_id: &str, org_id: &str, label: String) -> (ApiKeyRecord, String) {
    let raw = crypto::new_token(API_KEY_PREFIX);
    let record = ApiKeyRecord {
        id: ids::new_id("key"),
        server_id: server_id.to_string(),
        org_id: org_id.to_string(),
        label,
        key_hash: crypto::sha256_hex(&raw),
        status: "active".into(),
        usage_count: 0,
        created_at: time::now_ms(),
        archived_at: None,
        call_count: 0,
        last_used_at: None,
    };
    (record, raw)
}

async fn key_of(ctx: &OpCtx, server_id: &str) -> ApiResult<ApiKeyRecord> {
    ctx.state.store.key_get(server_id, ctx.param("keyId")?).await?.ok_or(ApiError::NotFound("key"))
}

async fn revoke_everywhere(ctx: &OpCtx, key: &ApiKeyRecord) -> ApiResult<()> {
    ctx.state.announce(&format!("api_key:{}", key.key_hash)).await?;
    Ok(())
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<KeyList> {
    let server = server_of(&ctx).await?;
    ctx.state.plane.keys.flush_usage(ctx.state.store.as_ref()).await;
    let keys = ctx.state.store.key_list(&server.id).await?;
    Ok(KeyList { keys: keys.into_iter().map(Key::from).collect() })
}

async fn create(ctx: OpCtx, input: CreateKey) -> ApiResult<CreatedKey> {
    let server = server_of(&ctx).await?;
    let label = text::display_name(&input.label, "label").map_err(ApiError::BadRequest)?;
    let (record, raw) = new_key(&server.id, &server.org_id, label);
    ctx.state.store.key_create(&record).await?;
    Ok(CreatedKey { key: record.into(), raw_value: raw, rotated_from: None })
}

async fn archive(ctx: OpCtx, _: ArchiveKey) -> ApiResult<Ok> {
    let server = server_of(&ctx).await?;
    let key = key_of(&ctx, &server.id).await?;
    if !ctx.state.store.key_archive(&server.id, &key.id, time::now_ms()).await? {
        return Err(ApiError::conflict("Key is already archived"));
    }
    revoke_everywhere(&ctx, &key).await?;
    let message =
        format!("API key \"{}\" of server {} was archived; it no longer works.", key.label, server.name);
    let data = json!({"serverId": server.id, "keyId": key.id, "label": key.label, "actor": actor_of(&ctx)});
    notify(&ctx.state, &server.org_id, "key.archived", "API key archived", &message, data).await;
    Ok(Ok { ok: true })
}

/// `{"type", "id"}` of the caller, for notification data.
fn actor_of(ctx: &OpCtx) -> serde_json::Value {
    ctx.principal()
        .map(|p| p.actor())
        .map_or(serde_json::Value::Null, |a| json!({"type": a.kind, "id": a.id}))
}

async fn notify_rotated(ctx: &OpCtx, server: &ServerRecord, old: &ApiKeyRecord, new_key_id: &str) {
    let message = format!(
        "API key \"{}\" of server {} was rotated: the old key no longer works; use the new one.",
        old.label, server.name
    );
    let data = json!({"serverId": server.id, "oldKeyId": old.id, "newKeyId": new_key_id, "label": old.label, "actor": actor_of(ctx)});
    notify(&ctx.state, &server.org_id, "key.rotated", "API key rotated", &message, data).await;
}

async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let server = server_of(&ctx).await?;
    ctx.state.plane.keys.flush_usage(ctx.state.store.as_ref()).await;
    let key = key_of(&ctx, &server.id).await?;
    if !ctx.state.store.key_delete_unused(&server.id, &key.id).await? {
        return Err(ApiError::conflict("Cannot delete a key that has been used. Archive it instead."));
    }
    revoke_everywhere(&ctx, &key).await?;
    Ok(())
}

async fn rotate(ctx: OpCtx, _: NoInput) -> ApiResult<CreatedKey> {
    let server = server_of(&ctx).await?;
    let old = key_of(&ctx, &server.id).await?;
    let (record, raw) = new_key(&server.id, &server.org_id, old.label.clone());
    let actor = ctx.principal()?.actor();
    let rotation = KeyRotationRecord {
        id: ids::new_id("rot"),
        server_id: server.id.clone(),
        old_key_id: old.id.clone(),
        new_key_id: record.id.clone(),
        actor_type: actor.kind.to_string(),
        actor_id: actor.id,
        created_at: record.created_at,
    };
    if !ctx.state.store.key_rotate(&record, &old.id, &rotation).await? {
        return Err(ApiError::conflict("Key is already archived"));
    }
    revoke_everywhere(&ctx, &old).await?;
    notify_rotated(&ctx, &server, &old, &record.id).await;
    Ok(CreatedKey { key: record.into(), raw_value: raw, rotated_from: Some(old.id) })
}

async fn rotations(ctx: OpCtx, _: NoInput) -> ApiResult<RotationList> {
    let server = server_of(&ctx).await?;
    let rows = ctx.state.store.key_rotations(&server.id).await?;
    Ok(RotationList {
        rotations: rows
            .into_iter()
            .map(|r| Rotation {
                rotation_id: r.id,
                old_key_id: r.old_key_id,
                new_key_id: r.new_key_id,
                actor_type: r.actor_type,
                actor_id: r.actor_id,
                created_at: time::iso(r.created_at),
            })
            .collect(),
    })
}
