//! Sessions of the stateful revisions (2024-11-05 … 2025-11-25) without a session store: the
//! `Mcp-Session-Id` is the session, sealed with AES-256-GCM under the master key, so any node
//! can open it and a restart loses nothing. Ended sessions (DELETE) are remembered in the
//! database and announced to every node (`session_ended:<hash>`).

use std::collections::HashSet;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, MasterKey};
use crate::store::{Store, StoreResult};

/// Sealing purpose of session ids.
const PURPOSE: &str = "mcp-session";
/// Sessions end this long after `initialize`.
pub const SESSION_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// What a session id carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Org id.
    pub o: String,
    /// Server id.
    pub s: String,
    /// API key id (empty in dev mode without a key).
    pub k: String,
    /// Negotiated protocol revision.
    pub v: String,
    /// Issued at (ms).
    pub t: i64,
}

impl Session {
    /// Seals the session into an id.
    pub fn mint(&self, key: &MasterKey) -> String {
        let json = serde_json::to_vec(self).expect("serialisable");
        key.encrypt(PURPOSE, &json, b"")
    }

    /// Opens an id; `None` when it is not one of ours, or has expired.
    pub fn open(key: &MasterKey, id: &str, now: i64) -> Option<Session> {
        if id.len() > 512 || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return None;
        }
        let bytes = key.decrypt(PURPOSE, id, b"").ok()?;
        let session: Session = serde_json::from_slice(&bytes).ok()?;
        (now - session.t < SESSION_TTL_MS).then_some(session)
    }
}

/// Which sessions were ended, as far as this node knows.
#[derive(Default)]
pub struct EndedSessions {
    ended: RwLock<HashSet<String>>,
    live: RwLock<HashSet<String>>,
}

impl EndedSessions {
    /// Whether a session id was ended (asks the database once per id per node).
    pub async fn is_ended(&self, store: &dyn Store, id: &str) -> StoreResult<bool> {
        let hash = crypto::sha256_hex(id);
        if self.ended.read().unwrap_or_else(|p| p.into_inner()).contains(&hash) {
            return Ok(true);
        }
        if self.live.read().unwrap_or_else(|p| p.into_inner()).contains(&hash) {
            return Ok(false);
        }
        let ended = store.session_is_ended(&hash).await?;
        let set = if ended { &self.ended } else { &self.live };
        let mut set = set.write().unwrap_or_else(|p| p.into_inner());
        if set.len() > 100_000 {
            set.clear();
        }
        set.insert(hash);
        Ok(ended)
    }

    /// Ends a session everywhere.
    pub async fn end(&self, store: &dyn Store, id: &str, session: &Session) -> StoreResult<()> {
        let hash = crypto::sha256_hex(id);
        store.session_end(&hash, session.t + SESSION_TTL_MS).await?;
        self.mark(&hash);
        store.publish_change(&format!("session_ended:{hash}")).await
    }

    /// Applies a change event.
    pub fn apply(&self, change: &str) {
        if let Some(hash) = change.strip_prefix("session_ended:") {
            self.mark(hash);
        } else if change == "*" {
            self.live.write().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    fn mark(&self, hash: &str) {
        self.live.write().unwrap_or_else(|p| p.into_inner()).remove(hash);
        self.ended.write().unwrap_or_else(|p| p.into_inner()).insert(hash.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_open_only_when_ours_and_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::load(None, dir.path()).unwrap();
        let s = Session {
            o: "org_1".into(),
            s: "srv_1".into(),
            k: "key_1".into(),
            v: "2025-06-18".into(),
            t: 1_000,
        };
        let id = s.mint(&key);
        assert_eq!(Session::open(&key, &id, 2_000), Some(s.clone()));
        assert_eq!(Session::open(&key, &id, 1_000 + SESSION_TTL_MS), None);
        assert_eq!(Session::open(&key, "v1.forged", 2_000), None);
        assert_eq!(Session::open(&key, "not ascii ✓", 2_000), None);
        let mut tampered = id.clone();
        tampered.pop();
        tampered.push(if id.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(Session::open(&key, &tampered, 2_000), None);
    }
}
