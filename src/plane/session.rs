//! Sessions of the stateful revisions (2024-11-05 … 2025-11-25) without a session store: the
//! `Mcp-Session-Id` is the session, sealed with AES-256-GCM under the master key, so any node
//! can open it and a restart loses nothing. Ended sessions (DELETE) are remembered in the
//! database and announced to every node (`session_ended:<hash>`).

use hashbrown::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

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
    /// The client declared URL-mode elicitation (2025-11-25 `capabilities.elicitation.url`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub u: bool,
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

/// A session id this node has opened, with the hash it is remembered by when ended.
#[derive(Debug)]
pub struct OpenedSession {
    /// What the id carries.
    pub session: Session,
    /// SHA-256 of the id (hex).
    pub hash: String,
}

/// Entries kept per map before it is cleared (a bound on memory, not an expiry).
const REMEMBERED: usize = 100_000;

/// Which sessions this node has opened, and which were ended, as far as it knows.
#[derive(Default)]
pub struct EndedSessions {
    /// Ids already opened: decrypting an id is paid once per id per node, not per request.
    opened: RwLock<HashMap<String, Arc<OpenedSession>>>,
    ended: RwLock<HashSet<String>>,
    live: RwLock<HashSet<String>>,
}

impl EndedSessions {
    /// Opens a session id ([`Session::open`]), from memory when this node opened it before.
    pub fn open(&self, key: &MasterKey, id: &str, now: i64) -> Option<Arc<OpenedSession>> {
        let known = self.opened.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned();
        if let Some(opened) = known {
            return (now - opened.session.t < SESSION_TTL_MS).then_some(opened);
        }
        let session = Session::open(key, id, now)?;
        let opened = Arc::new(OpenedSession { session, hash: crypto::sha256_hex(id) });
        let mut map = self.opened.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= REMEMBERED {
            map.clear();
        }
        map.insert(id.to_string(), opened.clone());
        Some(opened)
    }

    /// Whether the session with this id hash was ended (asks the database once per id per
    /// node).
    pub async fn is_ended(&self, store: &dyn Store, hash: &str) -> StoreResult<bool> {
        if self.ended.read().unwrap_or_else(|p| p.into_inner()).contains(hash) {
            return Ok(true);
        }
        if self.live.read().unwrap_or_else(|p| p.into_inner()).contains(hash) {
            return Ok(false);
        }
        let ended = store.session_is_ended(hash).await?;
        let set = if ended { &self.ended } else { &self.live };
        let mut set = set.write().unwrap_or_else(|p| p.into_inner());
        if set.len() >= REMEMBERED {
            set.clear();
        }
        set.insert(hash.to_string());
        Ok(ended)
    }

    /// Ends a session everywhere.
    pub async fn end(&self, store: &dyn Store, opened: &OpenedSession) -> StoreResult<()> {
        let hash = &opened.hash;
        store.session_end(hash, opened.session.t + SESSION_TTL_MS).await?;
        self.mark(hash);
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
            u: false,
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

    proptest::proptest! {
        /// The session-id opener, fuzzed (`docs/SECURITY.md` "Fuzzing"): any header value opens
        /// nothing, and an id changed anywhere opens nothing but what it was.
        #[test]
        fn no_forged_or_altered_id_opens(forged in "\\PC{0,600}", at in 0usize..512, to in 0x21u8..0x7f) {
            let dir = tempfile::tempdir().unwrap();
            let key = MasterKey::load(None, dir.path()).unwrap();
            proptest::prop_assert_eq!(Session::open(&key, &forged, 2_000), None);
            let s = Session { o: "o".into(), s: "s".into(), k: "k".into(), v: "2025-06-18".into(), t: 1_000, u: false };
            let id = s.mint(&key);
            let mut altered = id.clone().into_bytes();
            let at = at % altered.len();
            altered[at] = to;
            let altered = String::from_utf8(altered).unwrap();
            let opened = Session::open(&key, &altered, 2_000);
            proptest::prop_assert!(opened.is_none() || opened == Some(s), "{altered}");
        }
    }

    #[test]
    fn opened_ids_are_remembered_but_still_expire() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::load(None, dir.path()).unwrap();
        let s = Session {
            o: "o".into(),
            s: "s".into(),
            k: "k".into(),
            v: "2025-06-18".into(),
            t: 1_000,
            u: false,
        };
        let id = s.mint(&key);
        let book = EndedSessions::default();
        let first = book.open(&key, &id, 2_000).unwrap();
        assert_eq!(first.session, s);
        assert_eq!(first.hash, crypto::sha256_hex(&id));
        assert!(Arc::ptr_eq(&first, &book.open(&key, &id, 3_000).unwrap()), "opened once");
        assert!(book.open(&key, &id, 1_000 + SESSION_TTL_MS).is_none(), "expiry holds from memory");
        assert!(book.open(&key, "v1.forged", 2_000).is_none());
    }
}
