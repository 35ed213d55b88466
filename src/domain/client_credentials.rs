//! An OAuth 2.0 client-credentials grant (RFC 6749 § 4.4) a tool obtains its bearer token with:
//! the authorization server's token endpoint, the client's id and the scope asked for. The
//! client's secret is the tool's credential (sealed, or an org secret), never stored here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest token URL, client id and scope.
const MAX_URL: usize = 2048;
const MAX_CLIENT_ID: usize = 256;
const MAX_SCOPE: usize = 1024;

/// Where and as whom a tool asks for its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCredentials {
    /// The authorization server's token endpoint (`https://`, or `http://` where the network
    /// policy allows it).
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://"))]
    pub token_url: String,
    /// The client's id at that server.
    #[schemars(length(min = 1, max = 256), pattern(r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub client_id: String,
    /// Space-separated scopes to ask for; none: the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024), pattern(r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub scope: Option<String>,
}

impl ClientCredentials {
    /// Checks the grant, naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.token_url)
            .map_err(|e| format!("auth.oauth.tokenUrl is not an absolute URL: {e}"))?;
        if self.token_url.len() > MAX_URL || !matches!(url.scheme(), "http" | "https") || url.host().is_none()
        {
            return Err(format!(
                "auth.oauth.tokenUrl must be an http(s) URL with a host, at most {MAX_URL} characters"
            ));
        }
        if self.client_id.is_empty()
            || self.client_id.len() > MAX_CLIENT_ID
            || self.client_id.chars().any(char::is_control)
        {
            return Err(format!("auth.oauth.clientId must be 1 to {MAX_CLIENT_ID} printable characters"));
        }
        if let Some(scope) = &self.scope
            && (scope.len() > MAX_SCOPE || scope.chars().any(char::is_control))
        {
            return Err(format!("auth.oauth.scope must be at most {MAX_SCOPE} printable characters"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(url: &str, id: &str) -> ClientCredentials {
        ClientCredentials { token_url: url.into(), client_id: id.into(), scope: None }
    }

    #[test]
    fn grants_are_checked_by_field() {
        assert!(grant("https://auth.example/token", "c1").validate().is_ok());
        assert!(grant("ftp://auth.example/token", "c1").validate().unwrap_err().contains("tokenUrl"));
        assert!(grant("/token", "c1").validate().unwrap_err().contains("tokenUrl"));
        assert!(grant("https://auth.example/token", "").validate().unwrap_err().contains("clientId"));
        let mut scoped = grant("https://auth.example/token", "c1");
        scoped.scope = Some("a\nb".into());
        assert!(scoped.validate().unwrap_err().contains("scope"));
    }
}
