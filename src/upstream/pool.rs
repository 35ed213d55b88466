//! The per-node pool of upstream connections (`docs/UPSTREAMS.md` "Connections"): one shared
//! connection per upstream for discovery and callers without a session, one connection per
//! (client session, upstream) for stateful clients, a circuit breaker per upstream, and the
//! last health seen, so that status is written to the database only when it changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::launch::LaunchPolicy;
use super::{Connection, Spec, UpstreamError};
use crate::outbound::Outbound;

/// Consecutive failures that open the breaker.
const BREAKER_THRESHOLD: u32 = 5;
/// How long an open breaker fails calls before letting a probe through.
const BREAKER_OPEN: Duration = Duration::from_secs(10);
/// Session connections unused this long are closed.
pub const SESSION_IDLE: Duration = Duration::from_secs(10 * 60);
/// Session connections one node keeps at most; beyond, the least recently used is closed.
pub const MAX_SESSION_CONNECTIONS: usize = 1000;
/// Session connections one API key may hold on a node; beyond, its least recently used is
/// closed, so that one key opening sessions cannot push everyone else's out.
pub const MAX_SESSION_CONNECTIONS_PER_KEY: usize = 100;

/// Before a session connection of `key` is added: takes out the least recently used one of
/// that key when it holds its share, and the node's least recently used when the node is full.
fn make_room(sessions: &mut HashMap<(String, String), Slot>, key: &str) -> Vec<Arc<Connection>> {
    let mut taken = Vec::new();
    let oldest = |sessions: &HashMap<(String, String), Slot>, of_key: Option<&str>| {
        sessions
            .iter()
            .filter(|(_, slot)| of_key.is_none_or(|k| slot.key == k))
            .min_by_key(|(_, slot)| slot.last_used)
            .map(|(id, _)| id.clone())
    };
    if sessions.values().filter(|s| s.key == key).count() >= MAX_SESSION_CONNECTIONS_PER_KEY {
        taken.extend(oldest(sessions, Some(key)).and_then(|id| sessions.remove(&id)).map(|s| s.conn));
    }
    if sessions.len() >= MAX_SESSION_CONNECTIONS {
        taken.extend(oldest(sessions, None).and_then(|id| sessions.remove(&id)).map(|s| s.conn));
    }
    taken
}

#[derive(Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    last_error: String,
}

struct Slot {
    fingerprint: String,
    conn: Arc<Connection>,
    last_used: Instant,
    started: Instant,
    /// The API key whose client session holds it (session connections).
    key: String,
}

/// Restart backoff of a stdio upstream whose process keeps dying.
#[derive(Default)]
struct Restart {
    failures: u32,
    not_before: Option<Instant>,
}

/// First restart delay of a stdio process that died young; doubles up to [`RESTART_MAX`].
const RESTART_FIRST: Duration = Duration::from_millis(500);
const RESTART_MAX: Duration = Duration::from_secs(30);
/// A process that lived this long died of old age: its backoff starts over.
const RESTART_RESET: Duration = Duration::from_secs(60);

/// The pool.
pub struct UpstreamPool {
    outbound: Outbound,
    launch: LaunchPolicy,
    shared: Mutex<HashMap<String, Slot>>,
    sessions: Mutex<HashMap<(String, String), Slot>>,
    /// Serialises connection attempts per key, so a burst of calls makes one connection.
    connecting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    breakers: Mutex<HashMap<String, Breaker>>,
    health: Mutex<HashMap<String, String>>,
    refreshing: Mutex<std::collections::HashSet<String>>,
    restarts: Mutex<HashMap<String, Restart>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl UpstreamPool {
    /// An empty pool.
    pub fn new(outbound: Outbound, launch: LaunchPolicy) -> Self {
        Self {
            outbound,
            launch,
            shared: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            connecting: Mutex::new(HashMap::new()),
            breakers: Mutex::new(HashMap::new()),
            health: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(std::collections::HashSet::new()),
            restarts: Mutex::new(HashMap::new()),
        }
    }

    /// Claims the refresh of an upstream; false when one is already pending.
    pub fn begin_refresh(&self, upstream_id: &str) -> bool {
        lock(&self.refreshing).insert(upstream_id.to_string())
    }

    /// Releases the claim.
    pub fn end_refresh(&self, upstream_id: &str) {
        lock(&self.refreshing).remove(upstream_id);
    }

    /// Connections held for client sessions now.
    pub fn session_connections(&self) -> usize {
        lock(&self.sessions).len()
    }

    /// How many upstreams have a shared connection open (or opening) now.
    pub fn shared_connections(&self) -> usize {
        lock(&self.shared).len()
    }

    /// What stdio upstreams may run.
    pub fn launch_policy(&self) -> &LaunchPolicy {
        &self.launch
    }

    /// The shared connection to an upstream, connecting if needed.
    pub async fn shared(&self, spec: &Spec) -> Result<Arc<Connection>, UpstreamError> {
        self.get(spec, None, "").await
    }

    /// The connection a client session (`session` is its id hash) of API key `key` uses: its
    /// own when the upstream keeps a session per connection, else the shared one; `true` with
    /// a connection of the session's own. A session's connection already open is found with
    /// one lookup; the shared one is consulted only to open one.
    pub async fn for_session(
        &self,
        spec: &Spec,
        session: &str,
        key: &str,
    ) -> Result<(Arc<Connection>, bool), UpstreamError> {
        if let Some(own) = self.cached(spec, Some(session)) {
            return Ok((own, true));
        }
        let shared = self.shared(spec).await?;
        if !shared.keeps_session() {
            return Ok((shared, false));
        }
        Ok((self.get(spec, Some(session), key).await?, true))
    }

    /// The connection one person's calls to a per-person upstream use: always one of its own,
    /// held for `holder` (the person's client session, or the person), so that no answer made
    /// with one person's credential or in their upstream session reaches anyone else.
    pub async fn for_person(
        &self,
        spec: &Spec,
        holder: &str,
        key: &str,
    ) -> Result<Arc<Connection>, UpstreamError> {
        self.get(spec, Some(holder), key).await
    }

    async fn get(
        &self,
        spec: &Spec,
        session: Option<&str>,
        key: &str,
    ) -> Result<Arc<Connection>, UpstreamError> {
        if let Some(conn) = self.cached(spec, session) {
            return Ok(conn);
        }
        self.breaker_check(&spec.id)?;
        let gate_key = format!("{}|{}", spec.id, session.unwrap_or(""));
        let gate = lock(&self.connecting).entry(gate_key.clone()).or_default().clone();
        let _guard = gate.lock().await;
        if let Some(conn) = self.cached(spec, session) {
            return Ok(conn);
        }
        let stdio = spec.transport == crate::domain::upstream::TransportKind::Stdio;
        if stdio {
            self.note_death(spec, session);
            if let Some(wait) = self.restart_wait(&spec.id) {
                return Err(UpstreamError::Closed(format!(
                    "the process exited; restarting in {} ms",
                    wait.as_millis()
                )));
            }
        }
        let result = Connection::connect(spec, &self.outbound, &self.launch).await;
        self.record(&spec.id, result.as_ref().err());
        if stdio && result.is_err() {
            self.died_young(&spec.id);
        }
        let conn = result?;
        let now = Instant::now();
        let slot = Slot {
            fingerprint: spec.fingerprint.clone(),
            conn: conn.clone(),
            last_used: now,
            started: now,
            key: key.to_string(),
        };
        let mut closing = Vec::new();
        match session {
            None => closing.extend(lock(&self.shared).insert(spec.id.clone(), slot).map(|s| s.conn)),
            Some(s) => {
                let mut sessions = lock(&self.sessions);
                let id = (s.to_string(), spec.id.clone());
                closing.extend(sessions.remove(&id).map(|s| s.conn));
                closing.extend(make_room(&mut sessions, key));
                sessions.insert(id, slot);
            }
        }
        lock(&self.connecting).remove(&gate_key);
        if !closing.is_empty() {
            tokio::spawn(async move {
                for conn in closing {
                    conn.close().await;
                }
            });
        }
        Ok(conn)
    }

    fn cached(&self, spec: &Spec, session: Option<&str>) -> Option<Arc<Connection>> {
        let fresh = |slot: &mut Slot| {
            if slot.fingerprint == spec.fingerprint && !slot.conn.is_closed() {
                slot.last_used = Instant::now();
                Some(slot.conn.clone())
            } else {
                None
            }
        };
        match session {
            None => lock(&self.shared).get_mut(&spec.id).and_then(fresh),
            Some(s) => lock(&self.sessions).get_mut(&(s.to_string(), spec.id.clone())).and_then(fresh),
        }
    }

    /// A stdio process found dead: how long it lived decides the next restart's delay.
    fn note_death(&self, spec: &Spec, session: Option<&str>) {
        let slots = match session {
            None => lock(&self.shared),
            Some(_) => return, // stdio connections are always shared
        };
        let Some(slot) =
            slots.get(&spec.id).filter(|s| s.conn.is_closed() && s.fingerprint == spec.fingerprint)
        else {
            return;
        };
        let lived = slot.started.elapsed();
        drop(slots);
        if lived < RESTART_RESET {
            self.died_young(&spec.id);
        } else {
            lock(&self.restarts).remove(&spec.id);
        }
        // Counted once: the dead slot goes.
        lock(&self.shared).remove(&spec.id);
    }

    fn died_young(&self, upstream_id: &str) {
        let mut restarts = lock(&self.restarts);
        let r = restarts.entry(upstream_id.to_string()).or_default();
        r.failures += 1;
        let delay = RESTART_FIRST.saturating_mul(1 << (r.failures - 1).min(10)).min(RESTART_MAX);
        r.not_before = Some(Instant::now() + delay);
        tracing::warn!(upstream = %upstream_id, restart_in_ms = delay.as_millis() as u64, "stdio upstream died; backing off");
    }

    fn restart_wait(&self, upstream_id: &str) -> Option<Duration> {
        let restarts = lock(&self.restarts);
        let until = restarts.get(upstream_id)?.not_before?;
        until.checked_duration_since(Instant::now())
    }

    /// Fails fast while the upstream's breaker is open.
    pub fn breaker_check(&self, upstream_id: &str) -> Result<(), UpstreamError> {
        let mut breakers = lock(&self.breakers);
        let Some(b) = breakers.get_mut(upstream_id) else { return Ok(()) };
        match b.open_until {
            Some(until) if Instant::now() < until => Err(UpstreamError::CircuitOpen(b.last_error.clone())),
            Some(_) => {
                // Half-open: this caller is the probe; the next failure reopens at once.
                b.open_until = None;
                b.failures = BREAKER_THRESHOLD - 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records the outcome of a call for the breaker.
    pub fn record(&self, upstream_id: &str, error: Option<&UpstreamError>) {
        let mut breakers = lock(&self.breakers);
        match error {
            Some(e) if e.is_fault() => {
                let b = breakers.entry(upstream_id.to_string()).or_default();
                b.failures += 1;
                b.last_error = e.to_string();
                if b.failures >= BREAKER_THRESHOLD {
                    b.open_until = Some(Instant::now() + BREAKER_OPEN);
                }
            }
            _ => {
                breakers.remove(upstream_id);
            }
        }
    }

    /// Remembers an upstream's health; true when it differs from what was last remembered
    /// (the caller then writes it to the database).
    pub fn health_changed(&self, upstream_id: &str, status: &str, error: Option<&str>) -> bool {
        self.health_transition(upstream_id, status, error).0
    }

    /// Like [`UpstreamPool::health_changed`], also returning, when it changed, the status
    /// remembered before.
    pub fn health_transition(
        &self,
        upstream_id: &str,
        status: &str,
        error: Option<&str>,
    ) -> (bool, Option<String>) {
        let mut health = lock(&self.health);
        // The steady state (every call of a healthy upstream) changes nothing and allocates nothing.
        let same = |v: &String| v.split_once('|') == Some((status, error.unwrap_or("")));
        if health.get(upstream_id).is_some_and(same) {
            return (false, None);
        }
        let value = format!("{status}|{}", error.unwrap_or(""));
        let before = health.insert(upstream_id.to_string(), value.clone());
        let previous_status = before.as_deref().and_then(|b| b.split('|').next()).map(str::to_string);
        (before.as_deref() != Some(value.as_str()), previous_status)
    }

    /// Closes every connection to an upstream (deleted, disabled or reconfigured).
    pub async fn drop_upstream(&self, upstream_id: &str) {
        let mut closing = self.take_sessions(|(_, u), _| u == upstream_id);
        if let Some(slot) = lock(&self.shared).remove(upstream_id) {
            closing.push(slot.conn);
        }
        lock(&self.breakers).remove(upstream_id);
        lock(&self.health).remove(upstream_id);
        lock(&self.restarts).remove(upstream_id);
        for conn in closing {
            conn.close().await;
        }
    }

    /// Closes the connections a client session held.
    pub async fn end_session(&self, session: &str) {
        for conn in self.take_sessions(|(s, _), _| s == session) {
            conn.close().await;
        }
    }

    /// Closes session connections idle longer than [`SESSION_IDLE`].
    pub async fn reap_idle(&self) {
        let now = Instant::now();
        let idle = |_: &(String, String), slot: &Slot| {
            now.duration_since(slot.last_used) > SESSION_IDLE || slot.conn.is_closed()
        };
        for conn in self.take_sessions(idle) {
            conn.close().await;
        }
    }

    /// Removes the session connections `which` selects; returns them (to be closed).
    fn take_sessions(&self, which: impl Fn(&(String, String), &Slot) -> bool) -> Vec<Arc<Connection>> {
        let mut taken = Vec::new();
        lock(&self.sessions).retain(|k, slot| {
            if which(k, slot) {
                taken.push(slot.conn.clone());
                false
            } else {
                true
            }
        });
        taken
    }

    /// Closes everything (shutdown): stdio children are stopped, upstream sessions ended.
    pub async fn close_all(&self) {
        let mut closing: Vec<Arc<Connection>> = lock(&self.shared).drain().map(|(_, s)| s.conn).collect();
        closing.extend(lock(&self.sessions).drain().map(|(_, s)| s.conn));
        for conn in closing {
            conn.close().await;
        }
    }
}
