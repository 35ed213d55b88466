//! Gatehouse as an OAuth authorization server for MCP clients: clients, authorization codes,
//! grants (a connected client) and their tokens. Only SHA-256 hashes of codes, tokens and
//! client secrets are stored.

use async_trait::async_trait;

use super::StoreResult;

/// A client that may ask for authorization.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthClientRecord {
    /// The `client_id` as the client sends it (the document's URL for a metadata document).
    pub id: String,
    /// `dynamic` (RFC 7591), `metadata` (a Client ID Metadata Document) or `registered` (by an
    /// org admin).
    pub kind: String,
    /// The org a registered client belongs to; its servers are the only ones it may ask for.
    pub org_id: Option<String>,
    pub name: String,
    /// JSON array of exact redirect URIs.
    pub redirect_uris: String,
    pub secret_hash: Option<String>,
    /// `none`, `client_secret_post` or `client_secret_basic`.
    pub auth_method: String,
    /// `native` or `web`.
    pub application_type: String,
    pub client_uri: Option<String>,
    pub created_at: i64,
    /// When a metadata document's cached copy goes stale.
    pub expires_at: Option<i64>,
}

/// An authorization code handed out at consent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthCodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub org_id: String,
    pub server_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    /// Space-separated.
    pub scopes: String,
    pub subject_kind: String,
    pub user_id: Option<String>,
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: Option<String>,
}

/// A connected client: one subject, one client, one server; the family of its tokens.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthGrantRecord {
    pub id: String,
    pub org_id: String,
    pub server_id: String,
    pub client_id: String,
    pub client_name: String,
    pub subject_kind: String,
    pub user_id: Option<String>,
    pub email: String,
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub revoked_at: Option<i64>,
}

/// A token of a grant (the hash of its value).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthTokenRecord {
    pub hash: String,
    pub grant_id: String,
    /// `access` or `refresh`.
    pub kind: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// When a refresh token was exchanged for new ones.
    pub rotated_at: Option<i64>,
}

/// What taking a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeTake {
    /// The code, now marked used.
    Taken(Box<OAuthCodeRecord>),
    /// Used before: the grant it produced, if any, must be revoked.
    Replayed(Option<String>),
    /// No such code.
    Unknown,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshTake {
    /// Valid and now rotated: its grant.
    Rotated(Box<OAuthGrantRecord>),
    /// Rotated before (a stolen copy or a replay): its grant id, to revoke the family.
    Reused(String),
    /// Unknown, expired, or of a revoked grant.
    Invalid,
}

/// Persistence of the authorization server.
#[async_trait]
pub trait OAuthStore {
    /// Stores a client, or replaces one of the same id (a metadata document fetched anew).
    async fn oauth_client_put(&self, client: &OAuthClientRecord) -> StoreResult<()>;
    /// One client.
    async fn oauth_client_get(&self, client_id: &str) -> StoreResult<Option<OAuthClientRecord>>;
    /// The clients an org's admins registered, newest first.
    async fn oauth_client_list_for_org(&self, org_id: &str) -> StoreResult<Vec<OAuthClientRecord>>;
    /// Deletes a client an org registered; false when it has none of this id.
    async fn oauth_client_delete(&self, org_id: &str, client_id: &str) -> StoreResult<bool>;

    /// Stores a new code.
    async fn oauth_code_create(&self, code: &OAuthCodeRecord) -> StoreResult<()>;
    /// Marks a code used, once.
    async fn oauth_code_take(&self, code_hash: &str, now: i64) -> StoreResult<CodeTake>;

    /// Stores a grant and its first tokens, and ties the code it came from to it.
    async fn oauth_grant_create(
        &self,
        grant: &OAuthGrantRecord,
        tokens: &[OAuthTokenRecord],
        code_hash: &str,
    ) -> StoreResult<()>;
    /// One grant.
    async fn oauth_grant_get(&self, grant_id: &str) -> StoreResult<Option<OAuthGrantRecord>>;
    /// A token and its grant, when the token exists.
    async fn oauth_token_find(&self, hash: &str)
    -> StoreResult<Option<(OAuthTokenRecord, OAuthGrantRecord)>>;
    /// Rotates a refresh token: marks it used and stores its successors, in one transaction.
    async fn oauth_refresh_rotate(
        &self,
        hash: &str,
        now: i64,
        successors: &[OAuthTokenRecord],
    ) -> StoreResult<RefreshTake>;
    /// Revokes a grant (and so every token of it); false when it was already revoked or is
    /// unknown.
    async fn oauth_grant_revoke(&self, grant_id: &str, now: i64) -> StoreResult<bool>;
    /// Revokes every live grant of a person in an org; the ids revoked.
    async fn oauth_grant_revoke_for_member(
        &self,
        org_id: &str,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Vec<String>>;
    /// Live grants of a person, newest first.
    async fn oauth_grant_list_for_user(&self, user_id: &str) -> StoreResult<Vec<OAuthGrantRecord>>;
    /// Live grants of a server, newest first.
    async fn oauth_grant_list_for_server(&self, server_id: &str) -> StoreResult<Vec<OAuthGrantRecord>>;
    /// Deletes tokens and codes that expired before `before`, and clients that registered
    /// themselves a month before it and have no live connection.
    async fn oauth_prune(&self, before: i64) -> StoreResult<u64>;

    /// Who may sign in to a server with OAuth (`None`: the default).
    async fn client_access_get(&self, server_id: &str) -> StoreResult<Option<String>>;
    /// Sets it.
    async fn client_access_put(
        &self,
        org_id: &str,
        server_id: &str,
        sign_in: &str,
        now: i64,
    ) -> StoreResult<()>;
}
