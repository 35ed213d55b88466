//! What upstream OAuth operations take and answer: starting an authorization, a client
//! registered by hand, and what a token exchange upstream's authorization server must trust.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Query of `authorize_upstream`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeInput {
    /// Started from the console: the callback then sends the person back to the upstream's page.
    pub(super) console: Option<bool>,
    /// Where the callback sends the browser instead: a URL under Gatehouse's public URL, or an
    /// http(s) listener on a loopback address (a local app's).
    #[serde(rename = "returnUrl")]
    #[schemars(length(max = 2048))]
    pub(super) return_url: Option<String>,
}

/// Input of `set_upstream_oauth_client`: a client registered at the upstream's authorization
/// server by hand, with the redirect URI this instance's callback.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuthClientInput {
    #[schemars(length(min = 1, max = 512), pattern(r"^[\x21-\x7E]+$"))]
    pub(super) client_id: String,
    /// Write-only, sealed; none for a public client.
    #[schemars(length(min = 1, max = 2048), pattern(r"^[\x21-\x7E]+$"))]
    pub(super) client_secret: Option<String>,
}

/// The client an upstream's authorizations use (never its secret).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientSet {
    pub(super) client_id: String,
    pub(super) has_secret: bool,
    /// The authorization server it belongs to.
    pub(super) issuer: String,
    /// Where the authorization server must send people back.
    pub(super) redirect_uri: String,
}

/// The issuer whose assertions a `passthrough_exchange` upstream's authorization server trades
/// for each person's token, and where its keys are.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenExchange {
    /// `iss` of the assertions (one per org).
    pub(super) issuer: String,
    /// The issuer's public keys (RS256).
    pub(super) jwks_uri: String,
    /// The claim naming the person: `sub`, their e-mail in lower case (also in `email`).
    pub(super) subject_claim: &'static str,
}

impl TokenExchange {
    pub(super) fn of(issuer: String) -> Self {
        Self { jwks_uri: format!("{issuer}/.well-known/jwks.json"), issuer, subject_claim: "sub" }
    }
}
