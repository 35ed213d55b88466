//! Per-org RS256 signing keys of the end-user auth service.
//!
//! Each org gets an RSA-2048 key pair on its first verify-code. The private half is sealed
//! with the master key (purpose `signing-key`, bound to the key id) and opened only to sign;
//! the public half is stored in the clear and published as a JWK. Rotation retires the active
//! key; a retired key stays in the JWKS until the last token it signed expires (`max_exp`).
//!
//! Keys never change once created, so both halves are cached in memory by `kid`: verifying a
//! token reads the database only the first time a node sees its `kid`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use schemars::JsonSchema;
use serde::Serialize;

use crate::crypto::MasterKey;
use crate::domain::{ids, time};
use crate::error::{ApiError, ApiResult};
use crate::store::{SigningKeyRecord, Store, StoreResult};

/// The only algorithm issued and accepted.
pub const ALGORITHM: &str = "RS256";
/// RSA modulus size.
pub const KEY_BITS: usize = 2048;
/// Sealing purpose of private keys.
const PURPOSE: &str = "signing-key";
/// Prefix of key ids (`kid`).
pub const KEY_ID_PREFIX: &str = "sk";
/// Unknown `kid`s remembered at most before they are forgotten wholesale.
const MAX_UNKNOWN: usize = 10_000;

/// A public key as RFC 7517 describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Jwk {
    /// `RSA`.
    pub kty: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// `RS256`.
    pub alg: &'static str,
    /// Key id, as in the `kid` header of the tokens it signed.
    pub kid: String,
    /// Modulus, base64url.
    pub n: String,
    /// Public exponent, base64url.
    pub e: String,
}

impl Jwk {
    /// The JWK of a stored key.
    pub fn of(key: &SigningKeyRecord) -> Self {
        Self {
            kty: "RSA",
            use_: "sig",
            alg: ALGORITHM,
            kid: key.id.clone(),
            n: key.public_n.clone(),
            e: key.public_e.clone(),
        }
    }
}

/// Whether a key belongs in the published JWKS at `now`: it signs, or a token it signed is
/// still valid.
pub fn is_published(key: &SigningKeyRecord, now: i64) -> bool {
    key.retired_at.is_none() || key.max_exp > now
}

/// Generates a key pair for `org_id` and seals its private half (CPU-bound: run it blocking).
pub fn generate(master_key: &MasterKey, org_id: &str, now: i64) -> anyhow::Result<SigningKeyRecord> {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)?;
    let der = private.to_pkcs1_der()?;
    let id = ids::new_id(KEY_ID_PREFIX);
    Ok(SigningKeyRecord {
        private_key: master_key.encrypt(PURPOSE, der.as_bytes(), id.as_bytes()),
        id,
        org_id: org_id.to_string(),
        algorithm: ALGORITHM.to_string(),
        public_n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        public_e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        created_at: now,
        retired_at: None,
        max_exp: 0,
    })
}

/// A verification key and the org it belongs to.
pub struct PublicKey {
    /// The org whose tokens it verifies.
    pub org_id: String,
    /// The key.
    pub key: DecodingKey,
}

/// The in-memory side of signing keys: opened private keys and parsed public keys by `kid`.
#[derive(Default)]
pub struct SigningKeys {
    private: RwLock<HashMap<String, Arc<EncodingKey>>>,
    public: RwLock<HashMap<String, Option<Arc<PublicKey>>>>,
}

impl SigningKeys {
    /// The org's active key, created on first use (concurrent first uses agree on one key).
    pub async fn active(
        &self,
        store: &dyn Store,
        master_key: &MasterKey,
        org_id: &str,
    ) -> ApiResult<SigningKeyRecord> {
        if let Some(key) = store.signing_key_active(org_id).await? {
            return Ok(key);
        }
        let key = generate_blocking(master_key, org_id).await?;
        if store.signing_key_create(&key).await? {
            tracing::info!(org_id, kid = %key.id, "provisioned the org's token-signing key");
            return Ok(key);
        }
        store
            .signing_key_active(org_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("signing key vanished while provisioning")))
    }

    /// Replaces the org's active key with a new one; the old one stays published until the
    /// tokens it signed have expired.
    pub async fn rotate(
        &self,
        store: &dyn Store,
        master_key: &MasterKey,
        org_id: &str,
    ) -> ApiResult<SigningKeyRecord> {
        let key = generate_blocking(master_key, org_id).await?;
        store.signing_key_rotate(&key, time::now_ms()).await?;
        tracing::info!(org_id, kid = %key.id, "rotated the org's token-signing key");
        Ok(key)
    }

    /// Signs `claims` with `key` (RS256, `kid` in the header).
    pub fn sign<T: Serialize>(
        &self,
        master_key: &MasterKey,
        key: &SigningKeyRecord,
        claims: &T,
    ) -> ApiResult<String> {
        let encoding = self.encoding_key(master_key, key)?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.id.clone());
        jsonwebtoken::encode(&header, claims, &encoding).map_err(ApiError::internal)
    }

    fn encoding_key(&self, master_key: &MasterKey, key: &SigningKeyRecord) -> ApiResult<Arc<EncodingKey>> {
        if let Some(hit) = self.private.read().unwrap_or_else(|p| p.into_inner()).get(&key.id) {
            return Ok(hit.clone());
        }
        let der = master_key
            .decrypt(PURPOSE, &key.private_key, key.id.as_bytes())
            .map_err(|e| ApiError::internal(anyhow::anyhow!("opening signing key {}: {e}", key.id)))?;
        let encoding = Arc::new(EncodingKey::from_rsa_der(&der));
        self.private.write().unwrap_or_else(|p| p.into_inner()).insert(key.id.clone(), encoding.clone());
        Ok(encoding)
    }

    /// The verification key for a `kid`, `None` when no such key exists.
    pub async fn public_key(&self, store: &dyn Store, kid: &str) -> StoreResult<Option<Arc<PublicKey>>> {
        if !ids::looks_like(kid, KEY_ID_PREFIX) {
            return Ok(None);
        }
        if let Some(hit) = self.public.read().unwrap_or_else(|p| p.into_inner()).get(kid) {
            return Ok(hit.clone());
        }
        let found = store.signing_key_get(kid).await?.and_then(|k| {
            let key = DecodingKey::from_rsa_components(&k.public_n, &k.public_e).ok()?;
            Some(Arc::new(PublicKey { org_id: k.org_id, key }))
        });
        let mut cache = self.public.write().unwrap_or_else(|p| p.into_inner());
        if found.is_none() && cache.len() >= MAX_UNKNOWN {
            cache.retain(|_, v| v.is_some());
        }
        cache.insert(kid.to_string(), found.clone());
        Ok(found)
    }

    /// Forgets every cached key (an org was deleted, or the change feed had a gap).
    pub fn clear(&self) {
        self.private.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.public.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

async fn generate_blocking(master_key: &MasterKey, org_id: &str) -> ApiResult<SigningKeyRecord> {
    let (master_key, org_id) = (master_key.clone(), org_id.to_string());
    tokio::task::spawn_blocking(move || generate(&master_key, &org_id, time::now_ms()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Validation;

    #[test]
    fn a_generated_key_signs_what_its_jwk_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let mk = MasterKey::load(None, dir.path()).unwrap();
        let key = generate(&mk, "org_1", 1).unwrap();
        assert!(ids::looks_like(&key.id, KEY_ID_PREFIX));
        assert_eq!(key.public_e, "AQAB");
        assert_eq!(URL_SAFE_NO_PAD.decode(&key.public_n).unwrap().len(), KEY_BITS / 8);
        assert!(key.private_key.starts_with("v1."), "sealed at rest");

        let keys = SigningKeys::default();
        let token = keys.sign(&mk, &key, &serde_json::json!({"sub": "a", "exp": 4_000_000_000i64})).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.id.as_str()));
        let jwk = Jwk::of(&key);
        let decoding = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).unwrap();
        let data =
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &Validation::new(Algorithm::RS256));
        assert_eq!(data.unwrap().claims["sub"], "a");

        // The sealed private key is bound to its id.
        let mut moved = key.clone();
        moved.id = ids::new_id(KEY_ID_PREFIX);
        assert!(SigningKeys::default().sign(&mk, &moved, &serde_json::json!({})).is_err());
    }

    #[test]
    fn retired_keys_stay_published_until_their_tokens_expire() {
        let mut key = SigningKeyRecord {
            id: "sk_x".into(),
            org_id: "org".into(),
            algorithm: ALGORITHM.into(),
            public_n: String::new(),
            public_e: String::new(),
            private_key: String::new(),
            created_at: 0,
            retired_at: None,
            max_exp: 0,
        };
        assert!(is_published(&key, 100));
        key.retired_at = Some(50);
        assert!(!is_published(&key, 100), "a retired key that signed nothing is dropped");
        key.max_exp = 200;
        assert!(is_published(&key, 100) && !is_published(&key, 200));
    }
}
