//! The clients that may ask for authorization, found three ways (the authorization spec's
//! "Client Registration"): a Client ID Metadata Document fetched from the HTTPS URL that is the
//! client's id, a client registered dynamically (RFC 7591), or one an org admin registered.

use std::time::Duration;

use axum::http::{Method, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{self, OAuthError};
use super::redirect;
use crate::crypto;
use crate::outbound::{Outbound, OutboundError};
use crate::store::{OAuthClientRecord, Store};

/// Client secrets begin with this.
pub const SECRET_PREFIX: &str = "gh_cs_";
/// Ids of clients registered dynamically or by an admin begin with this.
pub const ID_PREFIX: &str = "ghc_";
/// A metadata document is read up to this size (the draft suggests 5 KB).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// Redirect URIs a client may register at most.
pub const MAX_REDIRECT_URIS: usize = 10;
/// How long a fetched document is trusted at most, and at least (whatever its cache headers).
const MAX_CACHE: Duration = Duration::from_secs(24 * 3600);
const MIN_CACHE: Duration = Duration::from_secs(60);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A client as the flow uses it.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub kind: String,
    pub org_id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub secret_hash: Option<String>,
    pub auth_method: String,
    pub client_uri: Option<String>,
}

impl Client {
    fn from_record(r: OAuthClientRecord) -> Client {
        Client {
            redirect_uris: serde_json::from_str(&r.redirect_uris).unwrap_or_default(),
            id: r.id,
            kind: r.kind,
            org_id: r.org_id,
            name: r.name,
            secret_hash: r.secret_hash,
            auth_method: r.auth_method,
            client_uri: r.client_uri,
        }
    }

    /// Whether the client authenticates with a secret.
    pub fn confidential(&self) -> bool {
        self.secret_hash.is_some()
    }
}

/// Finds a client by the id it presents: a URL is a metadata document (fetched, or read from
/// its cached copy while fresh), anything else must be registered.
pub async fn find(
    store: &dyn Store,
    outbound: &Outbound,
    client_id: &str,
    now: i64,
) -> Result<Client, OAuthError> {
    if client_id.is_empty() || client_id.len() > 2048 {
        return Err(error::invalid_client("client_id is missing or too long"));
    }
    let stored = store.oauth_client_get(client_id).await?;
    if client_id.starts_with("https://") {
        if let Some(r) = stored.filter(|r| r.kind == "metadata" && r.expires_at.is_some_and(|e| e > now)) {
            return Ok(Client::from_record(r));
        }
        return fetch_document(store, outbound, client_id, now).await;
    }
    stored
        .filter(|r| r.kind != "metadata")
        .map(Client::from_record)
        .ok_or_else(|| error::invalid_client("unknown client_id"))
}

/// A Client ID Metadata Document as the draft defines it (fields beyond these are ignored).
#[derive(Debug, Deserialize)]
struct Document {
    client_id: Option<String>,
    client_name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    client_uri: Option<String>,
}

fn document_refused(why: impl std::fmt::Display) -> OAuthError {
    error::invalid_client(format!("the client's metadata document was refused: {why}"))
}

/// Fetches, checks and caches a metadata document. It goes through the outbound network
/// policy like every request Gatehouse makes, so a client id naming a private address is
/// refused where private networks are.
async fn fetch_document(
    store: &dyn Store,
    outbound: &Outbound,
    url: &str,
    now: i64,
) -> Result<Client, OAuthError> {
    let parsed = url::Url::parse(url).map_err(|_| document_refused("client_id is not a URL"))?;
    if parsed.scheme() != "https"
        || parsed.path() == "/"
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.path().split('/').any(|s| s == "." || s == "..")
    {
        return Err(document_refused(
            "client_id must be an https URL with a path, no fragment or credentials",
        ));
    }
    let request = outbound
        .request(Method::GET, url)
        .map_err(document_refused)?
        .header(header::ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT);
    let response = outbound.send(request).await.map_err(|e| document_refused(describe(&e)))?;
    if response.status() != 200 {
        return Err(document_refused(format!("fetching it answered HTTP {}", response.status().as_u16())));
    }
    let cache = cache_lifetime(response.headers());
    let bytes =
        response.read_limited(MAX_DOCUMENT_BYTES).await.map_err(|e| document_refused(describe(&e)))?;
    let doc: Document =
        serde_json::from_slice(&bytes).map_err(|_| document_refused("it is not a JSON object"))?;
    if doc.client_id.as_deref() != Some(url) {
        return Err(document_refused("its client_id is not the URL it was fetched from"));
    }
    let name = doc
        .client_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| document_refused("client_name is missing"))?;
    let uris = doc
        .redirect_uris
        .filter(|u| !u.is_empty())
        .ok_or_else(|| document_refused("redirect_uris is missing"))?;
    checked_redirects(&uris).map_err(document_refused)?;
    match doc.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(document_refused(format!(
                "token_endpoint_auth_method {other} is not supported (metadata-document clients are public: none)"
            )));
        }
    }
    let record = OAuthClientRecord {
        id: url.to_string(),
        kind: "metadata".into(),
        org_id: None,
        name: clip(&name, 200),
        redirect_uris: json!(uris).to_string(),
        secret_hash: None,
        auth_method: "none".into(),
        application_type: "native".into(),
        client_uri: doc.client_uri.filter(|u| u.starts_with("https://")).map(|u| clip(&u, 2048)),
        created_at: now,
        expires_at: Some(now + cache.as_millis() as i64),
    };
    store.oauth_client_put(&record).await?;
    Ok(Client::from_record(record))
}

/// What the client may be told about a failed fetch: the kind of failure, never our network.
fn describe(err: &OutboundError) -> String {
    match err {
        OutboundError::Forbidden(_) => {
            "its address is not one Gatehouse may fetch from (a private address)".into()
        }
        OutboundError::TooLarge(n) => format!("it is larger than {n} bytes"),
        OutboundError::Timeout => "fetching it timed out".into(),
        _ => "it could not be fetched".into(),
    }
}

/// How long a document may be used: its `Cache-Control` within bounds.
fn cache_lifetime(headers: &axum::http::HeaderMap) -> Duration {
    crate::outbound::cache_lifetime(headers, Duration::from_secs(3600), MIN_CACHE..=MAX_CACHE)
}

fn checked_redirects(uris: &[String]) -> Result<(), String> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(format!("at most {MAX_REDIRECT_URIS} redirect_uris"));
    }
    for uri in uris {
        if uri.len() > 2048 {
            return Err("a redirect URI is longer than 2048 characters".into());
        }
        redirect::registrable(uri)?;
    }
    Ok(())
}

fn clip(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A dynamic registration request (RFC 7591 § 2; unknown members are ignored, § 3.1).
#[derive(Debug, Deserialize)]
pub struct Registration {
    pub redirect_uris: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub application_type: Option<String>,
    pub client_uri: Option<String>,
    pub scope: Option<String>,
}

/// What registering made: the stored client and its secret, shown this once.
pub struct Registered {
    pub record: OAuthClientRecord,
    pub secret: Option<String>,
}

/// Checks a registration (dynamic, or an admin's with `org_id`) and stores the client.
pub async fn register(
    store: &dyn Store,
    input: Registration,
    org_id: Option<&str>,
    now: i64,
) -> Result<Registered, OAuthError> {
    let uris = input.redirect_uris.unwrap_or_default();
    if uris.is_empty() {
        return Err(error::invalid_redirect_uri("redirect_uris must name at least one URI"));
    }
    checked_redirects(&uris).map_err(error::invalid_redirect_uri)?;
    let native_only = uris.iter().all(|u| !u.starts_with("https://"));
    let application_type = match input.application_type.as_deref() {
        Some("web") if native_only => {
            return Err(error::invalid_redirect_uri(
                "a web application's redirect URIs must be https (use application_type native for loopback or app schemes)",
            ));
        }
        Some(t @ ("web" | "native")) => t.to_string(),
        Some(_) => return Err(error::invalid_client_metadata("application_type must be native or web")),
        None if native_only => "native".into(),
        None => "web".into(),
    };
    if let Some(grants) = &input.grant_types {
        if grants.iter().any(|g| g != "authorization_code" && g != "refresh_token") {
            return Err(error::invalid_client_metadata(
                "grant_types may only be authorization_code and refresh_token",
            ));
        }
    }
    if let Some(types) = &input.response_types {
        if types.iter().any(|t| t != "code") {
            return Err(error::invalid_client_metadata("response_types may only be code"));
        }
    }
    let method = input.token_endpoint_auth_method.unwrap_or_else(|| "client_secret_basic".into());
    if !matches!(method.as_str(), "none" | "client_secret_post" | "client_secret_basic") {
        return Err(error::invalid_client_metadata(
            "token_endpoint_auth_method must be none, client_secret_post or client_secret_basic",
        ));
    }
    let name = input.client_name.map(|n| clip(n.trim(), 200)).filter(|n| !n.is_empty());
    let name = name.unwrap_or_else(|| "Unnamed client".into());
    let client_uri = match input.client_uri {
        Some(u) if u.starts_with("https://") && u.len() <= 2048 => Some(u),
        Some(_) => return Err(error::invalid_client_metadata("client_uri must be an https URL")),
        None => None,
    };
    let secret = (method != "none").then(|| crypto::new_token(SECRET_PREFIX));
    let record = OAuthClientRecord {
        id: crypto::new_token(ID_PREFIX),
        kind: if org_id.is_some() { "registered" } else { "dynamic" }.into(),
        org_id: org_id.map(str::to_string),
        name,
        redirect_uris: json!(uris).to_string(),
        secret_hash: secret.as_deref().map(crypto::sha256_hex),
        auth_method: method,
        application_type,
        client_uri,
        created_at: now,
        expires_at: None,
    };
    store.oauth_client_put(&record).await?;
    Ok(Registered { record, secret })
}

/// The registration response (RFC 7591 § 3.2.1).
pub fn registration_response(r: &Registered) -> Value {
    let c = &r.record;
    let mut out = json!({
        "client_id": c.id,
        "client_id_issued_at": c.created_at / 1000,
        "client_name": c.name,
        "redirect_uris": serde_json::from_str::<Value>(&c.redirect_uris).unwrap_or_default(),
        "token_endpoint_auth_method": c.auth_method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "application_type": c.application_type,
        "scope": super::scope::ALL.join(" "),
    });
    if let Some(secret) = &r.secret {
        out["client_secret"] = json!(secret);
        out["client_secret_expires_at"] = json!(0);
    }
    if let Some(uri) = &c.client_uri {
        out["client_uri"] = json!(uri);
    }
    out
}

/// Authenticates a client at the token or revocation endpoint: a public client names itself;
/// a confidential one proves its secret the way it registered (form or Basic).
pub fn authenticate(client: &Client, secret: Option<&str>) -> Result<(), OAuthError> {
    match (&client.secret_hash, secret) {
        (None, _) => Ok(()),
        (Some(hash), Some(given)) if crypto::constant_time_eq(&crypto::sha256_hex(given), hash) => Ok(()),
        (Some(_), _) => Err(error::invalid_client("client authentication failed")),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn cache_headers_are_honoured_within_bounds() {
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=600"));
        assert_eq!(super::cache_lifetime(&h).as_secs(), 600);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=99999999"));
        assert_eq!(super::cache_lifetime(&h).as_secs(), 24 * 3600);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        assert_eq!(super::cache_lifetime(&h).as_secs(), 60);
    }
}
