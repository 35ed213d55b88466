//! Each person's access token for the per-person upstreams, in memory: read and opened from
//! the store on first use, dropped on every node when the person connects, reconnects or
//! disconnects (`upstream_user:<upstream id>`) or the upstream changes.

use hashbrown::HashMap;
use std::sync::{Arc, RwLock};

use crate::crypto::MasterKey;
use crate::store::{Store, StoreResult};

/// Sealing purpose of a person's access token for an upstream.
pub const ACCESS_PURPOSE: &str = "upstream-user-access";
/// Sealing purpose of a person's refresh token for an upstream.
pub const REFRESH_PURPOSE: &str = "upstream-user-refresh";

/// People remembered per upstream at most (then that upstream's are forgotten wholesale).
const MAX_PER_UPSTREAM: usize = 50_000;

/// A person's token as a call uses it: the value, and the row it was read from.
#[derive(Clone)]
pub struct UserToken {
    pub access_token: Arc<str>,
}

impl std::fmt::Debug for UserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserToken(…)")
    }
}

/// Locks that one person's concurrent first calls share while a token is obtained for them.
const OBTAINING_STRIPES: usize = 64;

/// The cache: upstream id → subject → their token, or `None` when they have not connected.
pub struct UserTokens {
    by_upstream: RwLock<HashMap<String, HashMap<String, Option<UserToken>>>>,
    obtaining: Vec<tokio::sync::Mutex<()>>,
}

impl Default for UserTokens {
    fn default() -> Self {
        let obtaining = (0..OBTAINING_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect();
        Self { by_upstream: RwLock::default(), obtaining }
    }
}

impl UserTokens {
    /// `subject`'s token for `upstream_id`, if they connected it.
    pub async fn get(
        &self,
        store: &dyn Store,
        key: &MasterKey,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UserToken>> {
        let cached = {
            let map = self.by_upstream.read().unwrap_or_else(|p| p.into_inner());
            map.get(upstream_id).and_then(|people| people.get(subject).cloned())
        };
        if let Some(hit) = cached {
            return Ok(hit);
        }
        self.load(store, key, upstream_id, subject).await
    }

    /// `subject`'s token for `upstream_id` as the store has it now (remembered for next time).
    pub async fn load(
        &self,
        store: &dyn Store,
        key: &MasterKey,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UserToken>> {
        let record = store.user_token_get(upstream_id, subject).await?;
        // A value that cannot be opened (a master key rotated away) counts as not connected:
        // the person is asked to connect again.
        let token = record.and_then(|r| {
            let bytes = key.decrypt(ACCESS_PURPOSE, &r.access_token, r.id.as_bytes()).ok()?;
            Some(UserToken { access_token: Arc::from(String::from_utf8_lossy(&bytes).as_ref()) })
        });
        let mut map = self.by_upstream.write().unwrap_or_else(|p| p.into_inner());
        let people = map.entry_ref(upstream_id).or_default();
        if people.len() >= MAX_PER_UPSTREAM {
            people.clear();
        }
        people.insert(subject.to_string(), token.clone());
        Ok(token)
    }

    /// The lock a person's calls of an upstream hold while a token is obtained for them, so
    /// that concurrent first calls obtain one, not one each.
    pub fn obtaining(&self, upstream_id: &str, subject: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        (upstream_id, subject).hash(&mut h);
        &self.obtaining[h.finish() as usize % self.obtaining.len()]
    }

    /// Applies a change event.
    pub fn apply(&self, change: &str) {
        let mut map = self.by_upstream.write().unwrap_or_else(|p| p.into_inner());
        if change == "*" {
            map.clear();
        } else if let Some(upstream) = change
            .strip_prefix("upstream_user:")
            .or_else(|| change.strip_prefix("upstream_gone:"))
            .or_else(|| change.strip_prefix("upstream:"))
        {
            map.remove(upstream);
        }
    }
}
