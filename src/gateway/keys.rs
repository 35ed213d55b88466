//! The API-key cache of the data plane: `X-API-Key` checks answered from memory, filled from
//! the store on first sight of a key, dropped on every node when the key is archived, deleted
//! or rotated (change event `api_key:<sha256>`). Uses are counted in memory and flushed in
//! batches, never written on the hot path.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use crate::crypto;
use crate::store::{Store, StoreResult};

/// What a valid key grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub key_id: String,
    pub server_id: String,
    pub org_id: String,
}

/// Unknown hashes remembered at most (then forgotten wholesale), so junk keys cannot grow memory.
const MAX_NEGATIVE: usize = 10_000;

/// The cache.
#[derive(Default)]
pub struct KeyCache {
    /// SHA-256 → the key, or `None` for a hash known not to be an active key.
    entries: RwLock<HashMap<String, Option<KeyInfo>>>,
    negatives: Mutex<usize>,
    usage: Mutex<HashMap<String, i64>>,
}

impl KeyCache {
    /// Checks a raw key value. Steady state: one hash and one map lookup.
    pub async fn verify(&self, store: &dyn Store, raw: &str) -> StoreResult<Option<KeyInfo>> {
        let hash = crypto::sha256_hex(raw);
        if let Some(hit) = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(&hash) {
            return Ok(hit.clone());
        }
        let found = store.key_by_hash(&hash).await?.filter(|k| k.status == "active").map(|k| KeyInfo {
            key_id: k.id,
            server_id: k.server_id,
            org_id: k.org_id,
        });
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if found.is_none() {
            let mut negatives = self.negatives.lock().unwrap_or_else(|p| p.into_inner());
            if *negatives >= MAX_NEGATIVE {
                entries.retain(|_, v| v.is_some());
                *negatives = 0;
            }
            *negatives += 1;
        }
        entries.insert(hash, found.clone());
        Ok(found)
    }

    /// Forgets one key (by hash), e.g. after it was archived anywhere.
    pub fn invalidate(&self, hash: &str) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(hash);
    }

    /// Forgets everything (after a gap in the change feed).
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
        *self.negatives.lock().unwrap_or_else(|p| p.into_inner()) = 0;
    }

    /// Counts one use of a key (flushed later).
    pub fn record_use(&self, key_id: &str) {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner()).entry(key_id.to_string()).or_default() += 1;
    }

    /// Writes buffered use counts to the store; on failure they are kept for the next flush.
    pub async fn flush_usage(&self, store: &dyn Store) {
        let batch: Vec<(String, i64)> = {
            let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            usage.drain().collect()
        };
        if batch.is_empty() {
            return;
        }
        if let Err(err) = store.key_add_usage(&batch).await {
            tracing::warn!(error = %err, "could not flush key usage; will retry");
            let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            for (k, n) in batch {
                *usage.entry(k).or_default() += n;
            }
        }
    }
}
