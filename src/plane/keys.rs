//! The API-key cache of the data plane: `X-API-Key` checks answered from memory, filled from
//! the store on first sight of a key, dropped on every node when the key is archived, deleted
//! or rotated (change event `api_key:<sha256>`). Requests are counted in memory and flushed in
//! batches into the keys' call counts, never written on the hot path.

use hashbrown::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use sha2::{Digest, Sha256};

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
    entries: RwLock<HashMap<String, Option<Arc<KeyInfo>>>>,
    negatives: Mutex<usize>,
    usage: Mutex<HashMap<String, i64>>,
}

impl KeyCache {
    /// Checks a raw key value. Steady state: one hash and one map lookup, no allocation.
    pub async fn verify(&self, store: &dyn Store, raw: &str) -> StoreResult<Option<Arc<KeyInfo>>> {
        let mut hex = [0u8; 64];
        let hash = sha256_hex_into(raw, &mut hex);
        if let Some(hit) = self.entries.read().unwrap_or_else(|p| p.into_inner()).get(hash) {
            return Ok(hit.clone());
        }
        let found = store
            .key_by_hash(hash)
            .await?
            .filter(|k| k.status == "active")
            .map(|k| Arc::new(KeyInfo { key_id: k.id, server_id: k.server_id, org_id: k.org_id }));
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if found.is_none() {
            let mut negatives = self.negatives.lock().unwrap_or_else(|p| p.into_inner());
            if *negatives >= MAX_NEGATIVE {
                entries.retain(|_, v| v.is_some());
                *negatives = 0;
            }
            *negatives += 1;
        }
        entries.insert(hash.to_string(), found.clone());
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
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        match usage.get_mut(key_id) {
            Some(n) => *n += 1,
            None => {
                usage.insert(key_id.to_string(), 1);
            }
        }
    }

    /// Writes buffered request counts to the keys' call counts (not their usage count, which
    /// counts `request-code` calls); on failure they are kept for the next flush.
    pub async fn flush_usage(&self, store: &dyn Store) {
        let batch: Vec<(String, i64)> = {
            let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            usage.drain().collect()
        };
        if batch.is_empty() {
            return;
        }
        let now = crate::domain::time::now_ms();
        let calls: Vec<(String, i64, i64)> = batch.iter().map(|(k, n)| (k.clone(), *n, now)).collect();
        if let Err(err) = store.key_add_calls(&calls).await {
            tracing::warn!(error = %err, "could not flush key usage; will retry");
            let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            for (k, n) in batch {
                *usage.entry(k).or_default() += n;
            }
        }
    }
}

/// [`crate::crypto::sha256_hex`] into a buffer on the stack (API keys and access tokens).
pub(super) fn sha256_hex_into<'a>(value: &str, out: &'a mut [u8; 64]) -> &'a str {
    hex::encode_to_slice(Sha256::digest(value.as_bytes()), out).expect("64 bytes hold a SHA-256 in hex");
    std::str::from_utf8(out).expect("hex is ASCII")
}

#[cfg(test)]
mod tests {
    #[test]
    fn stack_hash_matches_the_stored_form() {
        let mut buf = [0u8; 64];
        assert_eq!(super::sha256_hex_into("gh_key", &mut buf), crate::crypto::sha256_hex("gh_key"));
    }
}
