//! The errors of the authorization server, as OAuth names them (RFC 6749 § 5.2, RFC 7591
//! § 3.2.2, RFC 8707 § 2, RFC 7009 § 2.2.1). They map to HTTP in `api/oauth/`.

use crate::store::StoreError;

/// An OAuth error: its registered code and a description safe to show the client.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A refused request, with its code (`invalid_request`, `invalid_grant`, …).
    #[error("{description}")]
    Refused { code: &'static str, description: String },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OAuthError {
    /// The registered error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::Refused { code, .. } => code,
            OAuthError::Store(_) => "server_error",
        }
    }

    /// What the client is told.
    pub fn description(&self) -> String {
        match self {
            OAuthError::Refused { description, .. } => description.clone(),
            OAuthError::Store(_) => "the authorization server could not complete the request".into(),
        }
    }
}

fn refused(code: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError::Refused { code, description: description.into() }
}

/// `invalid_request`.
pub fn invalid_request(description: impl Into<String>) -> OAuthError {
    refused("invalid_request", description)
}

/// `invalid_client`: unknown client or wrong credentials.
pub fn invalid_client(description: impl Into<String>) -> OAuthError {
    refused("invalid_client", description)
}

/// `invalid_grant`: a code or refresh token that is unknown, used, expired or not this
/// client's, or a PKCE verifier that does not match.
pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
    refused("invalid_grant", description)
}

/// `invalid_scope`.
pub fn invalid_scope(description: impl Into<String>) -> OAuthError {
    refused("invalid_scope", description)
}

/// `invalid_target` (RFC 8707): the resource is not one of ours or not open to sign-in.
pub fn invalid_target(description: impl Into<String>) -> OAuthError {
    refused("invalid_target", description)
}

/// `unsupported_grant_type`.
pub fn unsupported_grant_type(description: impl Into<String>) -> OAuthError {
    refused("unsupported_grant_type", description)
}

/// `unsupported_response_type`.
pub fn unsupported_response_type(description: impl Into<String>) -> OAuthError {
    refused("unsupported_response_type", description)
}

/// `access_denied`: the person said no, or may not grant this.
pub fn access_denied(description: impl Into<String>) -> OAuthError {
    refused("access_denied", description)
}

/// `invalid_redirect_uri` (RFC 7591).
pub fn invalid_redirect_uri(description: impl Into<String>) -> OAuthError {
    refused("invalid_redirect_uri", description)
}

/// `invalid_client_metadata` (RFC 7591).
pub fn invalid_client_metadata(description: impl Into<String>) -> OAuthError {
    refused("invalid_client_metadata", description)
}
