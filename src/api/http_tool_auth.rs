//! How an HTTP tool authenticates, as written to the API: a credential sealed with the master key,
//! or a reference to an org secret whose value fits the auth type.

use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::OpCtx;
use crate::domain::client_credentials::ClientCredentials;
use crate::domain::http_tool::{self, AuthType, CREDENTIAL_PURPOSE};
use crate::error::{ApiError, ApiResult};
use crate::secrets::{self, SecretError};
use crate::store::HttpToolRecord;

/// Auth as written: type, credential (write-only), header for api_key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    /// `none`, `bearer`, `api_key`, `basic`, `api_key_query` or `oauth_client_credentials`.
    #[serde(rename = "type")]
    kind: AuthType,
    /// Raw token, key, `username:password`, or an OAuth client's secret; write-only.
    #[schemars(length(min = 1, max = 8192), pattern(r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    credential: Option<String>,
    /// A secret of the org to use as the credential, instead of `credential`.
    #[serde(rename = "secretId")]
    secret_id: Option<String>,
    /// Header that carries an api_key credential.
    #[schemars(pattern(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"))]
    header: Option<String>,
    /// Query parameter that carries an api_key_query credential.
    #[schemars(length(min = 1, max = 256), pattern(r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    parameter: Option<String>,
    /// The grant of `oauth_client_credentials`: token endpoint, client id, scope. The client
    /// secret is the credential (or the secret).
    oauth: Option<ClientCredentials>,
}

impl AuthInput {
    /// Where the key goes: the header of `api_key`, the query parameter of `api_key_query`.
    fn place(&self) -> Option<&String> {
        match self.kind {
            AuthType::ApiKey => self.header.as_ref(),
            AuthType::ApiKeyQuery => self.parameter.as_ref(),
            _ => None,
        }
    }
}

/// Applies an auth input to a tool record: seals a credential, or checks and keeps a secret
/// reference (the secret must be an active secret of the tool's org whose value fits the type).
pub(super) async fn apply_auth(ctx: &OpCtx, tool: &mut HttpToolRecord, auth: AuthInput) -> ApiResult<()> {
    let same_type = tool.auth_type == auth.kind.as_str();
    tool.auth_type = auth.kind.as_str().to_string();
    tool.auth_header = auth.place().cloned();
    match (auth.kind, &auth.oauth) {
        (AuthType::OauthClientCredentials, Some(grant)) => {
            grant.validate().map_err(ApiError::Unprocessable)?;
            tool.auth_oauth = Some(serde_json::to_string(grant).map_err(ApiError::internal)?);
        }
        (AuthType::OauthClientCredentials, None) if same_type && tool.auth_oauth.is_some() => {}
        (AuthType::OauthClientCredentials, None) => {
            return Err(ApiError::unprocessable(
                "auth.oauth (tokenUrl, clientId) is required for oauth_client_credentials",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::unprocessable("auth.oauth is only for oauth_client_credentials"));
        }
        (_, None) => tool.auth_oauth = None,
    }
    if auth.kind == AuthType::None {
        if auth.credential.is_some()
            || auth.header.is_some()
            || auth.parameter.is_some()
            || auth.secret_id.is_some()
        {
            return Err(ApiError::unprocessable(
                "auth type none takes no credential, secretId, header or parameter",
            ));
        }
        tool.auth_credential = None;
        tool.auth_secret_id = None;
        return Ok(());
    }
    let place = auth.place().cloned();
    match (auth.credential, auth.secret_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable("auth takes a credential or a secretId, not both"));
        }
        (Some(credential), None) => {
            http_tool::validate_credential(auth.kind, &credential, place.as_deref())
                .map_err(ApiError::Unprocessable)?;
            let sealed =
                ctx.state.master_key.encrypt(CREDENTIAL_PURPOSE, credential.as_bytes(), tool.id.as_bytes());
            tool.auth_credential = Some(sealed);
            tool.auth_secret_id = None;
        }
        (None, Some(secret_id)) => {
            let opened = secrets::open_secret(
                ctx.state.store.as_ref(),
                &ctx.state.master_key,
                &tool.org_id,
                &secret_id,
            )
            .await;
            let value = match opened {
                Ok((_, value)) => value,
                Err(SecretError::NotFound(_)) => {
                    return Err(ApiError::unprocessable(format!(
                        "auth.secretId: no secret {secret_id} in this organization"
                    )));
                }
                Err(SecretError::Disabled(_)) => {
                    return Err(ApiError::conflict(format!("auth.secretId: secret {secret_id} is disabled")));
                }
                Err(other) => return Err(ApiError::internal(other)),
            };
            http_tool::validate_credential(auth.kind, &value, place.as_deref())
                .map_err(|e| ApiError::unprocessable(format!("the secret's value does not fit: {e}")))?;
            tool.auth_secret_id = Some(secret_id);
            tool.auth_credential = None;
        }
        (None, None) if same_type && (tool.auth_credential.is_some() || tool.auth_secret_id.is_some()) => {
            if auth.kind == AuthType::ApiKey && tool.auth_header.is_none() {
                return Err(ApiError::unprocessable("auth.header is required for api_key"));
            }
            if auth.kind == AuthType::ApiKeyQuery && tool.auth_header.is_none() {
                return Err(ApiError::unprocessable("auth.parameter is required for api_key_query"));
            }
        }
        (None, None) => {
            return Err(ApiError::unprocessable(format!(
                "auth type {} needs a credential or a secretId",
                auth.kind.as_str()
            )));
        }
    }
    Ok(())
}
