//! The streams of the legacy HTTP+SSE transport open on this node. A stream lives where it was
//! opened, so its session is held here in memory, not in the store.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::mpsc;

/// One open legacy stream.
pub struct LegacySession {
    /// The server it was opened on.
    pub server_id: String,
    /// The API key that opened it (empty in dev mode).
    pub key_id: String,
    /// The revision its `initialize` negotiated, once it has.
    pub version: Option<String>,
    /// Messages for the stream.
    pub tx: mpsc::Sender<Value>,
    /// SHA-256 of the session id, which names its relayed calls: computed once, at open.
    pub relay_key: String,
}

/// Open legacy streams of this node, by session id.
#[derive(Default)]
pub struct LegacySessions {
    open: Mutex<HashMap<String, LegacySession>>,
}

impl LegacySessions {
    fn open(&self) -> MutexGuard<'_, HashMap<String, LegacySession>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds a newly opened stream.
    pub fn insert(&self, id: String, session: LegacySession) {
        self.open().insert(id, session);
    }

    /// Forgets a stream (its client went away).
    pub fn remove(&self, id: &str) {
        self.open().remove(id);
    }

    /// What the stream `id` posts go to (its sender, revision and relay key), when it is open
    /// on `server_id` for `key_id`: a session is only ever used by whoever opened it.
    pub fn find(
        &self,
        id: &str,
        server_id: &str,
        key_id: &str,
    ) -> Option<(mpsc::Sender<Value>, Option<String>, String)> {
        let open = self.open();
        let s = open.get(id).filter(|s| s.server_id == server_id && s.key_id == key_id)?;
        Some((s.tx.clone(), s.version.clone(), s.relay_key.clone()))
    }

    /// Notes the revision the stream's `initialize` negotiated.
    pub fn set_version(&self, id: &str, version: &str) {
        if let Some(s) = self.open().get_mut(id) {
            s.version = Some(version.to_string());
        }
    }
}
