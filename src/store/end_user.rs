//! The end-user auth service: per-org signing keys, per-server auth configuration and
//! the one-time codes of end users, with the [`EndUserStore`] trait.

use async_trait::async_trait;

use super::StoreResult;

/// An org's RS256 signing key. The private half is sealed with the master key (purpose
/// `signing-key`, bound to the key id); the public half is kept in the clear for the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRecord {
    /// The `kid`.
    pub id: String,
    pub org_id: String,
    /// `RS256`.
    pub algorithm: String,
    /// Modulus, base64url without padding (JWK `n`).
    pub public_n: String,
    /// Exponent, base64url without padding (JWK `e`).
    pub public_e: String,
    /// Sealed PKCS#1 DER of the private key.
    pub private_key: String,
    pub created_at: i64,
    /// When a newer key replaced it (`None` while it signs).
    pub retired_at: Option<i64>,
    /// The latest expiry (ms) of a token it signed: it stays published until then.
    pub max_exp: i64,
}

/// A server's auth-service settings (defaults apply while no row exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfigRecord {
    pub server_id: String,
    pub org_id: String,
    pub enabled: bool,
    pub token_lifetime_secs: i64,
    pub code_lifetime_secs: i64,
    /// Lower-case domains; empty means every domain.
    pub allowed_email_domains: Vec<String>,
    pub email_sender_name: Option<String>,
    pub email_subject: Option<String>,
    /// Firebase App Check required on request-code and verify-code.
    pub app_check_enabled: bool,
    /// The Firebase project number App Check tokens must be issued for.
    pub app_check_project_number: Option<String>,
    /// Firebase app ids (`sub`) accepted; empty accepts every app of the project.
    pub app_check_app_ids: Vec<String>,
    pub updated_at: i64,
}

/// A one-time code mailed to an end user (stored as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndUserCodeRecord {
    pub id: String,
    pub server_id: String,
    /// The API key that requested it (it backs the token the code is exchanged for).
    pub key_id: String,
    pub email: String,
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub consumed_at: Option<i64>,
}

/// Persistence of the end-user auth service.
#[async_trait]
pub trait EndUserStore {
    /// The key an org signs with now.
    async fn signing_key_active(&self, org_id: &str) -> StoreResult<Option<SigningKeyRecord>>;
    /// A key by `kid`.
    async fn signing_key_get(&self, key_id: &str) -> StoreResult<Option<SigningKeyRecord>>;
    /// Every key of an org, newest first.
    async fn signing_key_list(&self, org_id: &str) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Stores an org's first active key; false when it already has one (another request won).
    async fn signing_key_create(&self, key: &SigningKeyRecord) -> StoreResult<bool>;
    /// Retires the org's active key (if any) and makes `key` the active one, atomically.
    async fn signing_key_rotate(&self, key: &SigningKeyRecord, now: i64) -> StoreResult<()>;
    /// Raises a key's `max_exp` to `exp` (ms) when it is lower.
    async fn signing_key_note_exp(&self, key_id: &str, exp: i64) -> StoreResult<()>;

    /// A server's auth configuration, if it was ever set.
    async fn auth_config_get(&self, server_id: &str) -> StoreResult<Option<AuthConfigRecord>>;
    /// Creates or replaces a server's auth configuration.
    async fn auth_config_put(&self, config: &AuthConfigRecord) -> StoreResult<()>;

    /// Stores a code.
    async fn end_user_code_create(&self, code: &EndUserCodeRecord) -> StoreResult<()>;
    /// The newest unused, unexpired code of an e-mail on a server.
    async fn end_user_code_active(
        &self,
        server_id: &str,
        email: &str,
        now: i64,
    ) -> StoreResult<Option<EndUserCodeRecord>>;
    /// Counts a wrong attempt; returns the new count.
    async fn end_user_code_fail(&self, code_id: &str) -> StoreResult<i64>;
    /// Marks a code used; false when it was used already (single use under races).
    async fn end_user_code_consume(&self, code_id: &str, now: i64) -> StoreResult<bool>;
    /// Codes sent to an e-mail on a server since a time.
    async fn end_user_code_count_for_email(
        &self,
        server_id: &str,
        email: &str,
        since: i64,
    ) -> StoreResult<i64>;
    /// Codes requested with an API key since a time.
    async fn end_user_code_count_for_key(&self, key_id: &str, since: i64) -> StoreResult<i64>;
}
