//! OAuth toward an upstream (start and callback) and installing from the catalogue.

use crate::api::registry::{NoInput, OpCtx};
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::gateway::upstream::authorize;
use crate::upstream::catalog::{self};

use super::lifecycle::create_upstream;
use super::model::*;
use super::{bad, upstream_error, upstream_of};

pub(super) async fn authorize_upstream(ctx: OpCtx, input: AuthorizeInput) -> ApiResult<Authorization> {
    let u = upstream_of(&ctx).await?;
    let console = format!("/orgs/{}/upstreams/{}", ctx.org()?.slug, u.id);
    let return_to = return_to(&ctx, input, console)?;
    start(&ctx, &u, return_to, None).await
}

/// Where the callback sends the browser: a return URL Gatehouse allows, or the console page
/// that started the flow. Never an open redirect.
pub(super) fn return_to(ctx: &OpCtx, input: AuthorizeInput, console: String) -> ApiResult<Option<String>> {
    match input.return_url {
        Some(url) if crate::oauth::redirect::returnable(&url, &ctx.state.config.public_url) => Ok(Some(url)),
        Some(url) => Err(ApiError::unprocessable(format!(
            "returnUrl {url:?} must be under Gatehouse's public URL or a loopback http(s) address"
        ))),
        None => Ok(input.console.unwrap_or(false).then_some(console)),
    }
}

/// Starts an authorization of the upstream's own credential, or of `subject`'s.
pub(super) async fn start(
    ctx: &OpCtx,
    u: &crate::store::UpstreamRecord,
    return_to: Option<String>,
    subject: Option<String>,
) -> ApiResult<Authorization> {
    let (url, expires_at) =
        authorize::start(&ctx.state, u, return_to, subject).await.map_err(upstream_error)?;
    Ok(Authorization {
        authorization_url: url,
        redirect_uri: authorize::redirect_uri(&ctx.state),
        expires_at: time::iso(expires_at),
    })
}

pub(super) async fn set_oauth_client(ctx: OpCtx, input: OAuthClientInput) -> ApiResult<OAuthClientSet> {
    let u = upstream_of(&ctx).await?;
    let secret = input.client_secret.as_deref();
    let issuer =
        authorize::set_client(&ctx.state, &u, &input.client_id, secret).await.map_err(upstream_error)?;
    Ok(OAuthClientSet {
        client_id: input.client_id,
        has_secret: secret.is_some(),
        issuer,
        redirect_uri: authorize::redirect_uri(&ctx.state),
    })
}

pub(super) async fn oauth_callback(ctx: OpCtx, input: CallbackInput) -> ApiResult<CallbackResult> {
    if let Some(error) = input.error {
        let detail = input.error_description.map(|d| format!(": {d}")).unwrap_or_default();
        return Err(ApiError::unprocessable(format!("the authorization server refused: {error}{detail}")));
    }
    let (Some(code), Some(state)) = (input.code, input.state) else {
        return Err(ApiError::unprocessable("code and state are required"));
    };
    match authorize::finish(&ctx.state, &code, &state).await {
        Ok((record, return_to)) => {
            ctx.set_audit_org(&record.org_id);
            let return_to = return_to.map(|to| {
                let joiner = if to.contains('?') { '&' } else { '?' };
                format!("{to}{joiner}connected={}", record.status)
            });
            Ok(CallbackResult { ok: true, upstream_id: record.id, status: record.status, return_to })
        }
        Err(authorize::CallbackError::State) => {
            Err(ApiError::unprocessable("unknown or expired authorization state; start again"))
        }
        Err(authorize::CallbackError::Upstream(e)) => Err(upstream_error(e)),
    }
}

pub(super) async fn list_catalog(_: OpCtx, _: NoInput) -> ApiResult<TemplateList> {
    Ok(TemplateList { templates: catalog::templates() })
}

pub(super) async fn install_template(ctx: OpCtx, input: InstallTemplate) -> ApiResult<UpstreamEnvelope> {
    let template = catalog::template(&input.template_id)
        .ok_or_else(|| bad(format!("unknown templateId {}; see GET /api/catalog", input.template_id)))?;
    let installation = catalog::install(&template, &input.settings).map_err(ApiError::Unprocessable)?;
    let create_input = CreateUpstream {
        name: input.name.unwrap_or_else(|| template.name.to_string()),
        description: Some(template.description.to_string()),
        transport: template.transport,
        url: None,
        command: Some(template.command.to_string()),
        args: Some(installation.args),
        env: Some(installation.env),
        request_headers: None,
        auth: None,
        credential_mode: None,
        approval_policy: input.approval_policy,
        is_enabled: input.is_enabled,
        timeout_ms: input.timeout_ms,
    };
    create_upstream(ctx, create_input, Some(template.template_id.to_string())).await
}
