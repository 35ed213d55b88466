//! How an outbound credential (of an HTTP tool or an upstream) is shown: its kind and where it
//! comes from, never the credential itself.

use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::client_credentials::ClientCredentials;

/// Auth as shown: never the credential; the secret it references, if any.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthView {
    #[serde(rename = "type")]
    kind: String,
    /// Whether an inline credential is stored (absent when a secret is referenced).
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_set: Option<bool>,
    /// The referenced secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_id: Option<String>,
    /// The header an `api_key` goes in.
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    /// The query parameter an `api_key_query` goes in.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
    /// The grant an `oauth_client_credentials` tool gets its token with.
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth: Option<ClientCredentials>,
}

impl AuthView {
    /// The view of a stored auth: `kind`, whether an inline credential is stored, the secret
    /// referenced instead (if any), and the api_key header.
    pub fn new(
        kind: String,
        has_credential: bool,
        secret_id: Option<String>,
        header: Option<String>,
    ) -> Self {
        // One column holds where a key goes: a header, or (api_key_query) a query parameter.
        let (header, parameter) = match kind.as_str() {
            "api_key_query" => (None, header),
            _ => (header, None),
        };
        Self {
            kind,
            credential_set: secret_id.is_none().then_some(has_credential),
            secret_id,
            header,
            parameter,
            oauth: None,
        }
    }

    /// With the client-credentials grant of an `oauth_client_credentials` tool.
    pub fn with_oauth(self, oauth: Option<ClientCredentials>) -> Self {
        Self { oauth, ..self }
    }
}
