//! The access-token cache of the data plane: OAuth access tokens Gatehouse issued to MCP
//! clients (`oauth/grants.rs`), checked from memory after first sight, like API keys. A grant
//! revoked anywhere (by its person, its client, a replayed code or refresh token, a member
//! removed) is announced as `oauth_grant:<id>` and dropped here on every node; expiry is
//! checked on every use.

use hashbrown::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use super::keys::sha256_hex_into;
use crate::oauth::scope::Scopes;
use crate::store::{OAuthGrantRecord, Store, StoreResult};

/// What a valid access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub grant_id: String,
    pub org_id: String,
    pub server_id: String,
    /// What the person allowed, read once from the grant.
    pub scopes: Scopes,
    /// `member` or `end_user`.
    pub subject_kind: String,
    pub user_id: Option<String>,
    pub email: String,
    pub client_id: String,
    pub client_name: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

impl AccessGrant {
    /// The grant as the data plane keeps it; `expires_at` is its token's (0 when none is known).
    fn of(g: OAuthGrantRecord, expires_at: i64) -> Arc<Self> {
        Arc::new(AccessGrant {
            scopes: Scopes::parse(&g.scopes),
            grant_id: g.id,
            org_id: g.org_id,
            server_id: g.server_id,
            subject_kind: g.subject_kind,
            user_id: g.user_id,
            email: g.email,
            client_id: g.client_id,
            client_name: g.client_name,
            expires_at,
        })
    }
}

/// Unknown hashes remembered at most (then forgotten wholesale).
const MAX_NEGATIVE: usize = 10_000;

/// The cache.
#[derive(Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<String, Option<Arc<AccessGrant>>>>,
    /// The same grants by id: who a call counted under a connection's id comes from.
    by_grant: RwLock<HashMap<String, Arc<AccessGrant>>>,
    negatives: Mutex<usize>,
}

impl TokenCache {
    /// Checks a raw access token: the grant it belongs to while it is unexpired and unrevoked.
    pub async fn verify(
        &self,
        store: &dyn Store,
        raw: &str,
        now: i64,
    ) -> StoreResult<Option<Arc<AccessGrant>>> {
        let mut hex = [0u8; 64];
        let hash = sha256_hex_into(raw, &mut hex);
        let cached = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(hash).cloned();
        let found = match cached {
            Some(hit) => hit,
            None => {
                let found = store
                    .oauth_token_find(hash)
                    .await?
                    .filter(|(t, g)| t.kind == "access" && g.revoked_at.is_none())
                    .map(|(t, g)| AccessGrant::of(g, t.expires_at));
                self.remember(hash.to_string(), found.clone());
                found
            }
        };
        Ok(found.filter(|g| g.expires_at > now))
    }

    /// Who connected with the grant `grant_id` (from memory once a token of it was seen, else
    /// from the store), unless it is revoked.
    pub async fn subject(&self, store: &dyn Store, grant_id: &str) -> StoreResult<Option<Arc<AccessGrant>>> {
        if let Some(g) = self.by_grant.read().unwrap_or_else(|p| p.into_inner()).get(grant_id) {
            return Ok(Some(g.clone()));
        }
        Ok(store
            .oauth_grant_get(grant_id)
            .await?
            .filter(|g| g.revoked_at.is_none())
            .map(|g| AccessGrant::of(g, 0)))
    }

    /// Who connected with the grant `grant_id`, if a token of it was seen on this node.
    pub fn cached(&self, grant_id: &str) -> Option<Arc<AccessGrant>> {
        self.by_grant.read().unwrap_or_else(|p| p.into_inner()).get(grant_id).cloned()
    }

    fn remember(&self, hash: String, found: Option<Arc<AccessGrant>>) {
        if let Some(g) = &found {
            self.by_grant.write().unwrap_or_else(|p| p.into_inner()).insert(g.grant_id.clone(), g.clone());
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if found.is_none() {
            let mut negatives = self.negatives.lock().unwrap_or_else(|p| p.into_inner());
            if *negatives >= MAX_NEGATIVE {
                entries.retain(|_, v| v.is_some());
                *negatives = 0;
            }
            *negatives += 1;
        }
        entries.insert(hash, found);
    }

    /// Forgets every token of a grant (revoked), and expired ones on the way.
    pub fn revoke_grant(&self, grant_id: &str, now: i64) {
        self.by_grant.write().unwrap_or_else(|p| p.into_inner()).remove(grant_id);
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, v| v.as_ref().is_none_or(|g| g.grant_id != grant_id && g.expires_at > now));
    }

    /// Forgets everything (after a gap in the change feed).
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.by_grant.write().unwrap_or_else(|p| p.into_inner()).clear();
        *self.negatives.lock().unwrap_or_else(|p| p.into_inner()) = 0;
    }
}
