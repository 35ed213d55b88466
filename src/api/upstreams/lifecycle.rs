//! Creating, reading, changing and deleting an upstream: the whole configuration checked (transport
//! fields, URL policy, stdio launch policy, limits), its auth applied, its environment and request
//! headers sealed.

use std::collections::BTreeMap;

use crate::api::registry::{NoInput, OpCtx};
use crate::domain::upstream::{
    self as rules, ApprovalPolicy, CredentialMode, TransportKind, UpstreamAuth, UpstreamStatus,
};
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::gateway::upstream::service;
use crate::outbound::OutboundError;
use crate::store::UpstreamRecord;
use crate::upstream::launch::Launch;
use crate::upstream::spec::CREDENTIAL_PURPOSE;

use super::model::*;
use super::{bad, upstream_of, view};

/// Checks the whole record: transport fields, URL policy, stdio allow-list, limits.
pub(super) fn check(ctx: &OpCtx, u: &UpstreamRecord, opened: &Opened) -> ApiResult<()> {
    let (env, headers) = (&opened.env, &opened.headers);
    let transport = TransportKind::parse(&u.transport).ok_or_else(|| bad("unknown transport"))?;
    let args: Vec<String> = serde_json::from_str(&u.args).map_err(ApiError::internal)?;
    rules::validate_headers(headers).map_err(ApiError::Unprocessable)?;
    if !(1..=rules::MAX_TIMEOUT_MS).contains(&u.timeout_ms) {
        return Err(bad(format!("timeoutMs must be 1 to {}", rules::MAX_TIMEOUT_MS)));
    }
    let personal = CredentialMode::parse(&u.credential_mode).is_some_and(CredentialMode::is_personal);
    if personal && transport == TransportKind::Stdio {
        // A process per person would let callers fork processes on the gateway at will.
        return Err(ApiError::unprocessable(format!(
            "credentialMode {} is for HTTP upstreams",
            u.credential_mode
        )));
    }
    match transport {
        TransportKind::StreamableHttp | TransportKind::Sse => {
            let url = u
                .url
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable(format!("url is required for {}", u.transport)))?;
            if u.command.is_some() || !args.is_empty() || !env.is_empty() {
                return Err(ApiError::unprocessable("command, args and env are for stdio upstreams"));
            }
            rules::validate_url(url).map_err(ApiError::Unprocessable)?;
            match ctx.state.plane.outbound.check_url(url) {
                Ok(_) => {}
                Err(OutboundError::Forbidden(m)) => {
                    return Err(ApiError::unprocessable(format!("url is not allowed: {m}")));
                }
                Err(e) => return Err(ApiError::unprocessable(format!("url: {e}"))),
            }
        }
        TransportKind::Stdio => {
            let command = u
                .command
                .as_deref()
                .ok_or_else(|| ApiError::unprocessable("command is required for stdio"))?;
            if u.url.is_some() || !headers.is_empty() {
                return Err(ApiError::unprocessable("url and requestHeaders are for HTTP upstreams"));
            }
            rules::validate_command(command, &args).map_err(ApiError::BadRequest)?;
            rules::validate_env(env).map_err(ApiError::BadRequest)?;
            let launch = Launch { template_id: u.template_id.as_deref(), command, args: &args, env };
            ctx.state
                .plane
                .upstreams
                .launch_policy()
                .check(launch)
                .map_err(|refused| ApiError::Forbidden(refused.to_string()))?;
        }
    }
    Ok(())
}

pub(super) async fn apply_auth(ctx: &OpCtx, u: &mut UpstreamRecord, auth: AuthInput) -> ApiResult<()> {
    if let Some(secret_id) = auth.secret_id {
        if auth.credential.is_some() {
            return Err(ApiError::unprocessable("auth takes a credential or a secretId, not both"));
        }
        if matches!(auth.kind, UpstreamAuth::None | UpstreamAuth::Oauth) {
            return Err(ApiError::unprocessable("auth.secretId is for bearer, api_key and basic"));
        }
        let opened = crate::secrets::open_secret(
            ctx.state.store.as_ref(),
            &ctx.state.master_key,
            &u.org_id,
            &secret_id,
        )
        .await;
        match opened {
            Ok(_) => {}
            Err(crate::secrets::SecretError::NotFound(_)) => {
                return Err(ApiError::unprocessable(format!(
                    "auth.secretId: no secret {secret_id} in this organization"
                )));
            }
            Err(crate::secrets::SecretError::Disabled(_)) => {
                return Err(ApiError::conflict(format!("auth.secretId: secret {secret_id} is disabled")));
            }
            Err(other) => return Err(ApiError::internal(other)),
        }
        u.auth_type = auth.kind.as_str().to_string();
        u.auth_header = match (auth.kind, auth.header) {
            (UpstreamAuth::ApiKey, h) => Some(h.unwrap_or_else(|| "X-API-Key".to_string())),
            (_, Some(_)) => return Err(ApiError::unprocessable("auth.header is only for api_key")),
            (_, None) => None,
        };
        u.auth_secret_id = Some(secret_id);
        u.auth_credential = None;
        return Ok(());
    }
    u.auth_secret_id = None;
    let same_type = u.auth_type == auth.kind.as_str();
    u.auth_type = auth.kind.as_str().to_string();
    u.auth_header = match (auth.kind, auth.header) {
        (UpstreamAuth::ApiKey, Some(h)) => {
            rules::validate_headers(&BTreeMap::from([(h.clone(), "x".to_string())]))
                .map_err(ApiError::Unprocessable)?;
            Some(h)
        }
        (UpstreamAuth::ApiKey, None) => Some("X-API-Key".to_string()),
        (_, Some(_)) => return Err(ApiError::unprocessable("auth.header is only for api_key")),
        (_, None) => None,
    };
    match (auth.kind, auth.credential) {
        (UpstreamAuth::None, Some(_)) => Err(ApiError::unprocessable("auth type none takes no credential")),
        (UpstreamAuth::None, None) => {
            u.auth_credential = None;
            Ok(())
        }
        (kind, Some(credential)) => {
            let ok = !credential.is_empty()
                && credential.len() <= 8192
                && credential.bytes().all(|b| (0x20..0x7f).contains(&b))
                && (kind != UpstreamAuth::Basic || credential.contains(':'));
            if !ok {
                return Err(ApiError::unprocessable(match kind {
                    UpstreamAuth::Basic => "auth.credential must be username:password",
                    _ => "auth.credential must be printable ASCII, at most 8192 characters",
                }));
            }
            u.auth_credential = Some(ctx.state.master_key.encrypt(
                CREDENTIAL_PURPOSE,
                credential.as_bytes(),
                u.id.as_bytes(),
            ));
            Ok(())
        }
        // OAuth tokens come from the authorization flow; others keep what they had.
        (UpstreamAuth::Oauth, None) => {
            if !same_type {
                u.auth_credential = None;
            }
            Ok(())
        }
        (_, None) if same_type && u.auth_credential.is_some() => Ok(()),
        (kind, None) => {
            Err(ApiError::unprocessable(format!("auth type {} needs a credential", kind.as_str())))
        }
    }
}

pub(super) fn description(raw: Option<String>) -> ApiResult<String> {
    let d = raw.unwrap_or_default().trim().to_string();
    if d.chars().count() > 4000 {
        return Err(bad("description must be at most 4000 characters"));
    }
    if d.contains('\0') {
        return Err(bad("description must not contain NUL"));
    }
    Ok(d)
}

pub(super) async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<UpstreamList> {
    let mut upstreams = Vec::new();
    for u in ctx.state.store.upstream_list(&ctx.org()?.id).await? {
        upstreams.push(view(&ctx, u).await?);
    }
    Ok(UpstreamList { upstreams })
}

pub(super) async fn create(ctx: OpCtx, input: CreateUpstream) -> ApiResult<UpstreamEnvelope> {
    create_upstream(ctx, input, None).await
}

pub(super) async fn create_upstream(
    ctx: OpCtx,
    input: CreateUpstream,
    template_id: Option<String>,
) -> ApiResult<UpstreamEnvelope> {
    let org_id = ctx.org()?.id.clone();
    let now = time::now_ms();
    let is_enabled = input.is_enabled.unwrap_or(true);
    let opened =
        Opened { env: input.env.unwrap_or_default(), headers: input.request_headers.unwrap_or_default() };
    let mut u = UpstreamRecord {
        id: ids::new_id("ups"),
        org_id,
        name: text::display_name(&input.name, "name").map_err(ApiError::BadRequest)?,
        description: description(input.description)?,
        transport: input.transport.as_str().to_string(),
        url: input.url.map(|s| s.trim().to_string()),
        command: input.command.map(|s| s.trim().to_string()),
        args: serde_json::to_string(&input.args.unwrap_or_default()).map_err(ApiError::internal)?,
        env_sealed: None,
        headers_sealed: None,
        auth_type: UpstreamAuth::None.as_str().to_string(),
        auth_header: None,
        auth_credential: None,
        auth_secret_id: None,
        approval_policy: input
            .approval_policy
            .unwrap_or(ApprovalPolicy::RequireApprovalAll)
            .as_str()
            .to_string(),
        credential_mode: input.credential_mode.unwrap_or(CredentialMode::Shared).as_str().to_string(),
        is_enabled,
        status: if is_enabled { UpstreamStatus::Error } else { UpstreamStatus::Disabled }
            .as_str()
            .to_string(),
        last_error: is_enabled.then(|| "not connected yet".to_string()),
        protocol_version: None,
        server_info: None,
        template_id,
        timeout_ms: input.timeout_ms.unwrap_or(rules::DEFAULT_TIMEOUT_MS),
        created_at: now,
        updated_at: now,
        refreshed_at: None,
        created_by: ctx.principal.as_ref().map(|p| {
            let actor = p.actor();
            actor.id.map_or_else(|| actor.kind.to_string(), |id| format!("{}:{id}", actor.kind))
        }),
    };
    check(&ctx, &u, &opened)?;
    opened.seal_into(&ctx, &mut u);
    if let Some(auth) = input.auth {
        apply_auth(&ctx, &mut u, auth).await?;
    }
    ctx.state.store.upstream_create(&u).await?;
    if is_enabled {
        // A failure to connect is not a failure to register: it shows in status/lastError.
        let _ = service::refresh(&ctx.state, &u).await;
    }
    let stored =
        ctx.state.store.upstream_get(&u.org_id, &u.id).await?.ok_or(ApiError::NotFound("upstream"))?;
    Ok(UpstreamEnvelope { upstream: view(&ctx, stored).await? })
}

pub(super) async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<UpstreamEnvelope> {
    let u = upstream_of(&ctx).await?;
    let client = ctx.state.store.oauth_get(&u.id).await?;
    let mut upstream = view(&ctx, u).await?;
    upstream.oauth_client = client.map(|c| OAuthClientSet {
        has_secret: c.client_secret.is_some(),
        client_id: c.client_id,
        issuer: c.issuer,
        redirect_uri: crate::gateway::upstream::authorize::redirect_uri(&ctx.state),
    });
    Ok(UpstreamEnvelope { upstream })
}

pub(super) async fn update(ctx: OpCtx, input: UpdateUpstream) -> ApiResult<UpstreamEnvelope> {
    let mut u = upstream_of(&ctx).await?;
    let before = u.clone();
    let mut opened = Opened::of(&ctx, &u)?;
    if let Some(name) = input.name {
        u.name = text::display_name(&name, "name").map_err(ApiError::BadRequest)?;
    }
    if input.description.is_some() {
        u.description = description(input.description)?;
    }
    if let Some(t) = input.transport {
        u.transport = t.as_str().to_string();
        // Fields of the other kind no longer apply.
        if t == TransportKind::Stdio {
            u.url = None;
            opened.headers.clear();
        } else {
            u.command = None;
            u.args = "[]".into();
            opened.env.clear();
        }
    }
    if let Some(url) = input.url {
        u.url = Some(url.trim().to_string());
    }
    if let Some(command) = input.command {
        u.command = Some(command.trim().to_string());
    }
    if let Some(args) = input.args {
        u.args = serde_json::to_string(&args).map_err(ApiError::internal)?;
    }
    if let Some(env) = input.env {
        opened.env = env;
    }
    if let Some(headers) = input.request_headers {
        opened.headers = headers;
    }
    if let Some(p) = input.approval_policy {
        u.approval_policy = p.as_str().to_string();
    }
    if let Some(m) = input.credential_mode {
        u.credential_mode = m.as_str().to_string();
    }
    if let Some(t) = input.timeout_ms {
        u.timeout_ms = t;
    }
    if let Some(enabled) = input.is_enabled {
        u.is_enabled = enabled;
    }
    check(&ctx, &u, &opened)?;
    opened.seal_into(&ctx, &mut u);
    if let Some(auth) = input.auth {
        apply_auth(&ctx, &mut u, auth).await?;
    }
    let reconfigured = u.transport != before.transport
        || u.url != before.url
        || u.command != before.command
        || u.args != before.args
        || opened != Opened::of(&ctx, &before)?
        || u.auth_type != before.auth_type
        || u.auth_header != before.auth_header
        || u.auth_credential != before.auth_credential
        || u.auth_secret_id != before.auth_secret_id
        || u.credential_mode != before.credential_mode
        || u.timeout_ms != before.timeout_ms;
    if !u.is_enabled {
        u.status = UpstreamStatus::Disabled.as_str().to_string();
    } else if !before.is_enabled {
        u.status = UpstreamStatus::Error.as_str().to_string();
    }
    u.updated_at = time::now_ms();
    ctx.state.store.upstream_update(&u).await?;
    if !u.is_enabled {
        // Connections to a disabled upstream close on every node (a reconfigured one is
        // replaced where it is next used: its connection fingerprint changed).
        ctx.state.announce(&format!("upstream_gone:{}", u.id)).await?;
    }
    if u.is_enabled && (reconfigured || !before.is_enabled) {
        let _ = service::refresh(&ctx.state, &u).await;
    }
    if !u.is_enabled {
        ctx.state
            .store
            .upstream_set_status(&u.id, UpstreamStatus::Disabled.as_str(), None, None, u.updated_at)
            .await?;
    }
    service::announce(&ctx.state, &u.id).await;
    let stored =
        ctx.state.store.upstream_get(&u.org_id, &u.id).await?.ok_or(ApiError::NotFound("upstream"))?;
    Ok(UpstreamEnvelope { upstream: view(&ctx, stored).await? })
}

pub(super) async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let u = upstream_of(&ctx).await?;
    ctx.state.store.upstream_delete(&u.org_id, &u.id).await?;
    ctx.state.announce(&format!("upstream_gone:{}", u.id)).await?;
    service::announce(&ctx.state, &u.id).await;
    Ok(())
}
