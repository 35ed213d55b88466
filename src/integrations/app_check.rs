//! Firebase App Check tokens verified: an end-user auth request from an app that enabled App
//! Check must carry `X-Firebase-AppCheck`, an RS256 JWT from Firebase whose keys are published
//! as a JWKS ("Verify App Check tokens using a JWT library": issuer
//! `https://firebaseappcheck.googleapis.com/<project number>`, audience containing
//! `projects/<project number>`, subject the app id).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use http::Method;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::outbound::Outbound;

/// The header an app sends its token in.
pub const HEADER: &str = "x-firebase-appcheck";
/// Issuer prefix; the project number follows.
const ISSUER: &str = "https://firebaseappcheck.googleapis.com/";
/// Keys are kept this long unless the JWKS says otherwise (Firebase advises six hours).
const DEFAULT_KEYS_LIFETIME: Duration = Duration::from_secs(6 * 3600);
/// A token naming an unknown key refetches the keys at most this often.
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Largest JWKS read.
const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Longest token considered.
const MAX_TOKEN_BYTES: usize = 4096;

/// Why a request's App Check token was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppCheckError {
    /// No token was sent.
    #[error("this app requires Firebase App Check: send a token in X-Firebase-AppCheck")]
    Missing,
    /// The token is not one Firebase issued for this app.
    #[error("invalid Firebase App Check token: {0}")]
    Invalid(String),
    /// Firebase's keys could not be read.
    #[error("Firebase App Check keys are unavailable: {0}")]
    Unavailable(String),
}

/// What a token must be issued for.
pub struct Expected<'a> {
    pub project_number: &'a str,
    /// Accepted app ids; empty accepts every app of the project.
    pub app_ids: &'a [String],
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Instant,
    lifetime: Duration,
}

/// The verifier, with Firebase's keys cached.
pub struct AppCheck {
    jwks_url: String,
    keys: RwLock<Option<Keys>>,
}

impl AppCheck {
    /// A verifier reading keys from `jwks_url`.
    pub fn new(jwks_url: String) -> Self {
        Self { jwks_url, keys: RwLock::new(None) }
    }

    /// Checks `token` (the header's value, if any) for `expected`: the app id it was issued to.
    pub async fn verify(
        &self,
        outbound: &Outbound,
        token: Option<&str>,
        expected: &Expected<'_>,
    ) -> Result<String, AppCheckError> {
        let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(AppCheckError::Missing)?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AppCheckError::Invalid("the token is too long".into()));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| AppCheckError::Invalid("not a JWT".into()))?;
        if header.alg != Algorithm::RS256 {
            return Err(AppCheckError::Invalid("the token must be signed with RS256".into()));
        }
        let kid = header.kid.ok_or_else(|| AppCheckError::Invalid("the token names no key".into()))?;
        let key = self.key(outbound, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[format!("{ISSUER}{}", expected.project_number)]);
        validation.set_audience(&[format!("projects/{}", expected.project_number)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AppCheckError::Invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".into(),
                ErrorKind::InvalidIssuer => "the token was issued for another Firebase project".into(),
                ErrorKind::InvalidAudience => "the token was issued for another Firebase project".into(),
                ErrorKind::InvalidSignature => "the signature does not verify".into(),
                _ => "the token could not be verified".into(),
            })
        })?;
        let app = data.claims.sub;
        if !expected.app_ids.is_empty() && !expected.app_ids.contains(&app) {
            return Err(AppCheckError::Invalid(
                "the token was issued to an app this server does not accept".into(),
            ));
        }
        Ok(app)
    }

    /// The key `kid`, from the cache while it is fresh; an unknown one refetches the JWKS, at
    /// most once per [`REFETCH_INTERVAL`] (a forged kid cannot make every request fetch).
    async fn key(&self, outbound: &Outbound, kid: &str) -> Result<DecodingKey, AppCheckError> {
        let stale = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            match keys.as_ref() {
                Some(k) if k.fetched.elapsed() < k.lifetime => {
                    if let Some(key) = k.by_kid.get(kid) {
                        return Ok(key.clone());
                    }
                    k.fetched.elapsed() >= REFETCH_INTERVAL
                }
                _ => true,
            }
        };
        if stale {
            let fresh = self.fetch(outbound).await?;
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Some(fresh);
        }
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.as_ref()
            .and_then(|k| k.by_kid.get(kid).cloned())
            .ok_or_else(|| AppCheckError::Invalid("the token names a key Firebase does not publish".into()))
    }

    async fn fetch(&self, outbound: &Outbound) -> Result<Keys, AppCheckError> {
        let unavailable = |e: &dyn std::fmt::Display| AppCheckError::Unavailable(e.to_string());
        let request = outbound
            .request(Method::GET, &self.jwks_url)
            .map_err(|e| unavailable(&e))?
            .header(http::header::ACCEPT, "application/json")
            .timeout(Duration::from_secs(10));
        let response = outbound.send(request).await.map_err(|e| unavailable(&e))?;
        if !response.status().is_success() {
            return Err(unavailable(&format!("the JWKS answered {}", response.status())));
        }
        let lifetime = crate::outbound::cache_lifetime(
            response.headers(),
            DEFAULT_KEYS_LIFETIME,
            REFETCH_INTERVAL..=Duration::from_secs(24 * 3600),
        );
        let body = response.read_limited(MAX_JWKS_BYTES).await.map_err(|e| unavailable(&e))?;
        let jwks: Jwks = serde_json::from_slice(&body).map_err(|_| unavailable(&"the JWKS is not JSON"))?;
        let by_kid = jwks
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| {
                let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
                Some((k.kid?, key))
            })
            .collect();
        Ok(Keys { by_kid, fetched: Instant::now(), lifetime })
    }
}
