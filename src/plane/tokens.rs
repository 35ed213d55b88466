//! The access-token cache of the data plane: OAuth access tokens Gatehouse issued to MCP
//! clients (`oauth/grants.rs`), checked from memory after first sight, like API keys. A grant
//! revoked anywhere (by its person, its client, a replayed code or refresh token, a member
//! removed) is announced as `oauth_grant:<id>` and dropped here on every node; expiry is
//! checked on every use.

use hashbrown::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::crypto;
use crate::store::{Store, StoreResult};

/// What a valid access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub grant_id: String,
    pub org_id: String,
    pub server_id: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// `member` or `end_user`.
    pub subject_kind: String,
    pub user_id: Option<String>,
    pub email: String,
    pub client_id: String,
    pub client_name: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// Unknown hashes remembered at most (then forgotten wholesale).
const MAX_NEGATIVE: usize = 10_000;

/// The cache.
#[derive(Default)]
pub struct TokenCache {
    entries: RwLock<HashMap<String, Option<Arc<AccessGrant>>>>,
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
        let hash = crypto::sha256_hex(raw);
        let cached = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(&hash).cloned();
        let found = match cached {
            Some(hit) => hit,
            None => {
                let found = store
                    .oauth_token_find(&hash)
                    .await?
                    .filter(|(t, g)| t.kind == "access" && g.revoked_at.is_none())
                    .map(|(t, g)| {
                        Arc::new(AccessGrant {
                            grant_id: g.id,
                            org_id: g.org_id,
                            server_id: g.server_id,
                            scopes: g.scopes,
                            subject_kind: g.subject_kind,
                            user_id: g.user_id,
                            email: g.email,
                            client_id: g.client_id,
                            client_name: g.client_name,
                            expires_at: t.expires_at,
                        })
                    });
                self.remember(hash, found.clone());
                found
            }
        };
        Ok(found.filter(|g| g.expires_at > now))
    }

    fn remember(&self, hash: String, found: Option<Arc<AccessGrant>>) {
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
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, v| v.as_ref().is_none_or(|g| g.grant_id != grant_id && g.expires_at > now));
    }

    /// Forgets everything (after a gap in the change feed).
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
        *self.negatives.lock().unwrap_or_else(|p| p.into_inner()) = 0;
    }
}
