//! OAuth toward upstreams (basic/authorization): Gatehouse is the OAuth
//! client of an upstream that answers 401. It finds the authorization server through the
//! upstream's protected-resource metadata (RFC 9728) and the server's metadata (RFC 8414),
//! registers itself where dynamic client registration is offered (RFC 7591), runs the
//! authorization-code flow with PKCE S256 and the `resource` indicator (RFC 8707), and keeps
//! the tokens sealed, refreshing them before they expire and when the upstream says 401.
//! Every request goes through [`crate::outbound`], so the network policy applies.

use crate::outbound::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::UpstreamError;
use super::transport::{excerpt, outbound_error};
use crate::outbound::Outbound;

/// Sealing purpose of refresh tokens and client secrets.
pub const SECRET_PURPOSE: &str = "upstream-oauth";
/// Sealing purpose of PKCE verifiers of flows in progress.
pub const FLOW_PURPOSE: &str = "upstream-oauth-flow";
/// Path of the callback, under the public URL.
pub const CALLBACK_PATH: &str = "/api/upstreams/oauth/callback";
/// Largest metadata or token answer read.
const MAX_BODY: usize = 256 * 1024;

/// What Gatehouse learnt about where to authorize.
#[derive(Debug, Clone)]
pub struct AuthServer {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    /// The upstream's resource identifier (RFC 8707 `resource`).
    pub resource: String,
    pub scope: Option<String>,
}

/// A token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

fn err(msg: impl Into<String>) -> UpstreamError {
    UpstreamError::Protocol(msg.into())
}

async fn get_json(outbound: &Outbound, url: &str) -> Result<Option<Value>, UpstreamError> {
    let req =
        outbound.request(Method::GET, url).map_err(outbound_error)?.header("accept", "application/json");
    let response = outbound.send(req).await.map_err(outbound_error)?;
    if !response.status().is_success() {
        return Ok(None);
    }
    let bytes = Outbound::read_limited(response, MAX_BODY).await.map_err(outbound_error)?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| err(format!("{url} is not JSON: {e}")))
}

/// The `resource_metadata` URL of a `WWW-Authenticate: Bearer …` header, if any.
pub fn resource_metadata_url(www_authenticate: &str) -> Option<String> {
    let start = www_authenticate.find("resource_metadata=")? + "resource_metadata=".len();
    let rest = &www_authenticate[start..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    (!value.is_empty()).then(|| value.to_string())
}

/// Well-known URLs of `base` with the path inserted after the well-known part (RFC 8414 § 3.1,
/// RFC 9728 § 3.1), then at the root.
fn well_known(base: &str, name: &str) -> Result<Vec<String>, UpstreamError> {
    let url = url::Url::parse(base).map_err(|e| err(format!("invalid URL {base}: {e}")))?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let mut out = Vec::new();
    if !path.is_empty() {
        out.push(format!("{origin}/.well-known/{name}{path}"));
    }
    out.push(format!("{origin}/.well-known/{name}"));
    Ok(out)
}

/// Finds the authorization server of an upstream: asks it (unauthenticated) for a 401 and its
/// metadata pointer, reads the protected-resource metadata, then the server's metadata.
pub async fn discover(outbound: &Outbound, upstream_url: &str) -> Result<AuthServer, UpstreamError> {
    let probe = outbound
        .request(Method::POST, upstream_url)
        .map_err(outbound_error)?
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#);
    let response = outbound.send(probe).await.map_err(outbound_error)?;
    let pointer = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .and_then(resource_metadata_url);
    let candidates = match pointer {
        Some(url) => vec![url],
        None => well_known(upstream_url, "oauth-protected-resource")?,
    };
    let mut prm = None;
    for url in candidates {
        if let Some(doc) = get_json(outbound, &url).await? {
            prm = Some(doc);
            break;
        }
    }
    let prm = prm.ok_or_else(|| err("the upstream publishes no OAuth protected-resource metadata"))?;
    let issuer = prm["authorization_servers"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or_else(|| err("the protected-resource metadata names no authorization server"))?
        .to_string();
    let resource = prm["resource"].as_str().unwrap_or(upstream_url).to_string();
    let scope = prm["scopes_supported"]
        .as_array()
        .map(|s| s.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty());
    let mut candidates = well_known(&issuer, "oauth-authorization-server")?;
    candidates.extend(well_known(&issuer, "openid-configuration")?);
    for url in candidates {
        let Some(meta) = get_json(outbound, &url).await? else { continue };
        let endpoint = |k: &str| meta[k].as_str().map(str::to_string);
        let (Some(authorization_endpoint), Some(token_endpoint)) =
            (endpoint("authorization_endpoint"), endpoint("token_endpoint"))
        else {
            return Err(err("the authorization server metadata lacks its endpoints"));
        };
        // basic/authorization: clients MUST use PKCE and refuse servers that cannot do S256.
        let s256 = meta["code_challenge_methods_supported"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m.as_str() == Some("S256")));
        if !s256 {
            return Err(err("the authorization server does not support PKCE S256"));
        }
        return Ok(AuthServer {
            issuer: meta["issuer"].as_str().unwrap_or(&issuer).to_string(),
            authorization_endpoint,
            token_endpoint,
            registration_endpoint: endpoint("registration_endpoint"),
            resource,
            scope,
        });
    }
    Err(err(format!("no authorization server metadata found for {issuer}")))
}

/// Registers Gatehouse as a public client (RFC 7591); returns (client id, client secret).
pub async fn register(
    outbound: &Outbound,
    endpoint: &str,
    redirect_uri: &str,
) -> Result<(String, Option<String>), UpstreamError> {
    let body = json!({
        "client_name": "Gatehouse",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    let req = outbound.request(Method::POST, endpoint).map_err(outbound_error)?.json(&body);
    let response = outbound.send(req).await.map_err(outbound_error)?;
    let status = response.status().as_u16();
    let bytes = Outbound::read_limited(response, MAX_BODY).await.map_err(outbound_error)?;
    if !(200..300).contains(&status) {
        return Err(UpstreamError::Http(status, format!("client registration refused: {}", excerpt(&bytes))));
    }
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| err(format!("registration answer: {e}")))?;
    let id = doc["client_id"].as_str().ok_or_else(|| err("the registration answer has no client_id"))?;
    Ok((id.to_string(), doc["client_secret"].as_str().map(str::to_string)))
}

/// A PKCE verifier and its S256 challenge (RFC 7636 § 4.1–4.2).
pub fn pkce() -> (String, String) {
    let verifier = crate::crypto::new_token("");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The URL a person opens to authorize Gatehouse.
pub fn authorization_url(
    server: &AuthServer,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<String, UpstreamError> {
    let mut url = url::Url::parse(&server.authorization_endpoint)
        .map_err(|e| err(format!("authorization endpoint: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("resource", &server.resource);
        if let Some(scope) = &server.scope {
            q.append_pair("scope", scope);
        }
    }
    Ok(url.to_string())
}

/// Calls the token endpoint with a form (`grant_type` and the rest).
pub async fn token(
    outbound: &Outbound,
    endpoint: &str,
    form: &[(&str, &str)],
    client_secret: Option<(&str, &str)>,
) -> Result<TokenSet, UpstreamError> {
    let mut req = outbound.request(Method::POST, endpoint).map_err(outbound_error)?.form(form);
    if let Some((id, secret)) = client_secret {
        req = req.basic_auth(id, Some(secret));
    }
    let response = outbound.send(req).await.map_err(outbound_error)?;
    let status = response.status().as_u16();
    let bytes = Outbound::read_limited(response, MAX_BODY).await.map_err(outbound_error)?;
    if !(200..300).contains(&status) {
        // The error body names the OAuth error; it never carries our secrets back.
        return Err(UpstreamError::Http(status, format!("token endpoint: {}", excerpt(&bytes))));
    }
    serde_json::from_slice(&bytes).map_err(|e| err(format!("the token answer is not a token set: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_metadata_pointer() {
        assert_eq!(
            resource_metadata_url(
                r#"Bearer error="invalid_token", resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp""#
            ),
            Some("https://a.example/.well-known/oauth-protected-resource/mcp".into())
        );
        assert_eq!(
            resource_metadata_url("Bearer resource_metadata=https://a/x, scope=y"),
            Some("https://a/x".into())
        );
        assert_eq!(resource_metadata_url("Bearer realm=x"), None);
    }

    #[test]
    fn well_known_paths_insert_the_path() {
        assert_eq!(
            well_known("https://as.example/tenant1", "oauth-authorization-server").unwrap(),
            vec![
                "https://as.example/.well-known/oauth-authorization-server/tenant1".to_string(),
                "https://as.example/.well-known/oauth-authorization-server".to_string()
            ]
        );
        assert_eq!(
            well_known("https://as.example", "x").unwrap(),
            vec!["https://as.example/.well-known/x".to_string()]
        );
    }

    #[test]
    fn pkce_challenge_is_s256_of_the_verifier() {
        let (verifier, challenge) = pkce();
        assert!(verifier.len() >= 43 && verifier.len() <= 128);
        assert_eq!(challenge, URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())));
    }
}
