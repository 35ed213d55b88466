//! Tokens of the end-user auth service: what an issued JWT says, issuing one, and
//! checking one presented to `/auth/me` — signature, issuer, audience, expiry, and whether the
//! API key that started the session is still active.
//!
//! The key check answers from memory: a key's status is cached by key id and dropped on every
//! node by the same `api_key:<sha256>` change event that clears the data plane's key cache, so
//! archiving a key ends its sessions everywhere at once.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

use super::signing::SigningKeys;
use crate::crypto::MasterKey;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use std::sync::Arc;

use crate::store::{Store, StoreResult};

/// The `context` claim of end-user tokens (platform tokens are not JWTs at all).
pub const CONTEXT: &str = "server";

/// The claims of an end-user token, as `docs/AUTH_SERVICE.md` lists them, plus `iat`, `jti` and the
/// API key that started the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndUserClaims {
    /// The public base URL.
    pub iss: String,
    /// The user's e-mail.
    pub sub: String,
    /// `[base URL, {base}/orgs/{orgId}/servers/{serverId}]`.
    pub aud: Vec<String>,
    /// Always `server`.
    pub context: String,
    pub server_id: String,
    pub org_id: String,
    /// Seconds since the epoch.
    pub exp: i64,
    /// Seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The API key that requested the code.
    pub key_id: String,
}

/// The server-specific audience: `{base}/orgs/{orgId}/servers/{serverId}`.
pub fn server_audience(base: &str, org_id: &str, server_id: &str) -> String {
    format!("{base}/orgs/{org_id}/servers/{server_id}")
}

/// The end-user auth service's tokens: issued and checked with the signing keys it keeps, under
/// the issuer it was made with.
pub struct EndUserAuth {
    /// Signing keys by `kid`.
    pub signing: SigningKeys,
    /// Status of the API keys that back sessions.
    pub keys: KeyStatusCache,
    store: Arc<dyn Store>,
    master_key: MasterKey,
    /// The public base URL: the issuer and platform audience of every token.
    issuer: String,
}

impl EndUserAuth {
    /// Issues and checks tokens as `issuer`, with signing keys kept in `store` under
    /// `master_key`; follows the store's change feed to keep the key-status cache true.
    pub fn new(store: Arc<dyn Store>, master_key: MasterKey, issuer: String) -> Self {
        let keys = KeyStatusCache::new(store.subscribe_changes());
        Self { signing: SigningKeys::default(), keys, store, master_key, issuer }
    }

    /// Signs a token for `email` on a server.
    pub async fn issue(
        &self,
        org_id: &str,
        server_id: &str,
        key_id: &str,
        email: &str,
        lifetime_secs: i64,
    ) -> ApiResult<String> {
        let store = self.store.as_ref();
        let key = self.signing.active(store, &self.master_key, org_id).await?;
        let base = &self.issuer;
        let iat = time::now_ms() / 1000;
        let claims = EndUserClaims {
            iss: base.clone(),
            sub: email.to_string(),
            aud: vec![base.clone(), server_audience(base, org_id, server_id)],
            context: CONTEXT.to_string(),
            server_id: server_id.to_string(),
            org_id: org_id.to_string(),
            exp: iat + lifetime_secs,
            iat,
            jti: ids::new_id("jti"),
            key_id: key_id.to_string(),
        };
        let token = self.signing.sign(&self.master_key, &key, &claims)?;
        // Keeps the key in the JWKS at least as long as this token is valid, even if it is retired.
        store.signing_key_note_exp(&key.id, claims.exp * 1000).await?;
        Ok(token)
    }

    /// Checks a token's signature, issuer, platform audience, expiry and shape; answers 401 for
    /// anything wrong. Which server it is for, and its API key, are for the caller to check.
    pub async fn verify(&self, token: &str) -> ApiResult<EndUserClaims> {
        verify(self, token).await
    }
}

fn rejected(why: &str) -> ApiError {
    ApiError::Unauthorized(format!("invalid token: {why}"))
}

async fn verify(auth: &EndUserAuth, token: &str) -> ApiResult<EndUserClaims> {
    if token.len() > 8 * 1024 {
        return Err(rejected("too long"));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed"))?;
    if header.alg != Algorithm::RS256 {
        return Err(rejected("unsupported algorithm"));
    }
    let kid = header.kid.ok_or_else(|| rejected("no key id"))?;
    let public = auth
        .signing
        .public_key(auth.store.as_ref(), &kid)
        .await?
        .ok_or_else(|| rejected("unknown signing key"))?;
    let base = &auth.issuer;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.set_issuer(&[base]);
    validation.set_audience(&[base]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<EndUserClaims>(token, &public.key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::ExpiredSignature => rejected("expired"),
            ErrorKind::InvalidSignature => rejected("bad signature"),
            ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => rejected("not issued here"),
            _ => rejected("malformed"),
        }
    })?;
    let claims = data.claims;
    if claims.context != CONTEXT || claims.org_id != public.org_id {
        return Err(rejected("not an end-user token of this organization"));
    }
    Ok(claims)
}

/// Whether API keys are still active, by key id, from memory in the steady state.
pub struct KeyStatusCache {
    entries: RwLock<HashMap<String, KeyStatus>>,
    changes: Mutex<Receiver<String>>,
}

#[derive(Debug, Clone)]
struct KeyStatus {
    server_id: String,
    /// SHA-256 of the key value: what change events name. Empty for keys that no longer exist.
    hash: String,
    active: bool,
}

/// Entries kept at most before the cache starts over.
const MAX_KEYS: usize = 100_000;

impl KeyStatusCache {
    /// A cache kept true by the change feed `changes`.
    pub fn new(changes: Receiver<String>) -> Self {
        Self { entries: RwLock::default(), changes: Mutex::new(changes) }
    }

    /// Whether key `key_id` of `server_id` is active.
    pub async fn is_active(&self, store: &dyn Store, server_id: &str, key_id: &str) -> StoreResult<bool> {
        self.apply_pending();
        if let Some(hit) = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(key_id) {
            return Ok(hit.active && hit.server_id == server_id);
        }
        let status = match store.key_get(server_id, key_id).await? {
            Some(key) => {
                KeyStatus { server_id: key.server_id, hash: key.key_hash, active: key.status == "active" }
            }
            // Key ids are never reused: a key that is gone stays gone.
            None => KeyStatus { server_id: server_id.to_string(), hash: String::new(), active: false },
        };
        let active = status.active;
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS {
            entries.clear();
        }
        entries.insert(key_id.to_string(), status);
        Ok(active)
    }

    /// Applies one change event: `api_key:<sha256>` drops that key, `*` drops everything.
    pub fn apply(&self, change: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if change == "*" {
            entries.clear();
        } else if let Some(hash) = change.strip_prefix("api_key:") {
            entries.retain(|_, s| s.hash != hash);
        }
    }

    /// Drains the change feed before answering, so an event published before a request was
    /// received is always applied to it.
    fn apply_pending(&self) {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match changes.try_recv() {
                Ok(change) => self.apply(&change),
                Err(TryRecvError::Lagged(_)) => self.apply("*"),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }
}
