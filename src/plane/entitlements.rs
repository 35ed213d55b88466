//! App users' entitlement categories (RevenueCat) in memory, by server: what a policy's
//! `entitlement:<category>` caller pattern is matched against. Read from the store on first
//! sight; a refresh announces `entitlement:<server id>` and every node forgets that server's.

use hashbrown::HashMap;
use std::sync::{Arc, RwLock};

use crate::store::{Store, StoreResult};

/// App users remembered per server at most (then that server's are forgotten wholesale).
const MAX_PER_SERVER: usize = 50_000;

/// One server's app users: their category, or `None` when RevenueCat was never asked.
type AppUsers = HashMap<String, Option<Arc<str>>>;

/// The cache.
#[derive(Default)]
pub struct Entitlements {
    by_server: RwLock<HashMap<String, AppUsers>>,
}

impl Entitlements {
    /// The category of `app_user_id` on `server_id`, if RevenueCat was ever asked.
    pub async fn category(
        &self,
        store: &dyn Store,
        server_id: &str,
        app_user_id: &str,
    ) -> StoreResult<Option<Arc<str>>> {
        let cached = {
            let map = self.by_server.read().unwrap_or_else(|p| p.into_inner());
            map.get(server_id).and_then(|users| users.get(app_user_id).cloned())
        };
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let found =
            store.entitlement_get(server_id, app_user_id).await?.map(|r| Arc::<str>::from(r.category));
        let mut map = self.by_server.write().unwrap_or_else(|p| p.into_inner());
        let users = map.entry_ref(server_id).or_default();
        if users.len() >= MAX_PER_SERVER {
            users.clear();
        }
        users.insert(app_user_id.to_string(), found.clone());
        Ok(found)
    }

    /// Applies a change event.
    pub fn apply(&self, change: &str) {
        let mut map = self.by_server.write().unwrap_or_else(|p| p.into_inner());
        if change == "*" {
            map.clear();
        } else if let Some(server) = change.strip_prefix("entitlement:") {
            map.remove(server);
        }
    }
}
