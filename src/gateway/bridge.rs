//! Version bridging for 2026-07-28 clients (basic/patterns/mrtr): such a client has no
//! session and cannot receive server-to-client requests, so when an upstream speaking an
//! older revision sends one during a relayed call, Gatehouse *parks* the call (the upstream
//! request stays open on this node) and answers the client with an `input_required` result.
//! The client's retry carries `inputResponses` and the `requestState` Gatehouse issued; the
//! answers go to the upstream and the call goes on. `docs/UPSTREAMS.md` "Version bridging".
//!
//! `requestState` is `base64url(payload) "." hex(HMAC-SHA256)` under a key derived from the
//! master key. The payload binds the state to this node, the parked call, the server, the
//! API key (the principal), the method and its target, and an expiry (mrtr § Server
//! Requirements 4–5: state is attacker-controlled input; bind principal, TTL and request).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::context::CallCtx;
use super::router::{self, RpcError, STATELESS, code};
use crate::app::AppState;
use crate::crypto::{self, MasterKey};
use crate::domain::time;
use crate::plane::directory::ServerEntry;
use crate::plane::parked::{Parked, STATE_TTL};
use crate::upstream::Incoming;
use crate::upstream::transport::Responder;
use gatehouse_mcp::model::{self, InputRequest, InputRequiredResult};

const PURPOSE: &str = "mrtr-request-state";

/// The methods that may answer `input_required` (mrtr § Supported Requests).
pub fn supports_mrtr(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read")
}

/// What `requestState` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StatePayload {
    /// Node that holds the call.
    n: String,
    /// Parked call id.
    c: String,
    /// Server id.
    s: String,
    /// API key id (empty in dev mode).
    k: String,
    /// Method and its target (tool or prompt name, resource URI).
    m: String,
    t: String,
    /// Expiry (ms).
    e: i64,
}

fn seal(key: &MasterKey, payload: &StatePayload) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("serialisable"));
    let tag = key.keyed_hash(PURPOSE, body.as_bytes());
    format!("{body}.{tag}")
}

fn open(key: &MasterKey, state: &str) -> Option<StatePayload> {
    let (body, tag) = state.split_once('.')?;
    if !crypto::constant_time_eq(&key.keyed_hash(PURPOSE, body.as_bytes()), tag) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

/// The target a request acts on (part of what a state is bound to).
fn target(method: &str, params: &Map<String, Value>) -> String {
    let key = if method == "resources/read" { "uri" } else { "name" };
    params.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Runs a relayed request of a 2026-07-28 client: a fresh call, or the retry of a parked one.
/// `on_note` receives notifications the upstream sends meanwhile (for an SSE answer).
pub async fn run(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    key_id: &str,
    method: &str,
    params: Map<String, Value>,
    request_bytes: Option<usize>,
    on_note: &mut (dyn FnMut(Value) + Send),
) -> Result<Value, RpcError> {
    let capabilities = params
        .get("_meta")
        .and_then(|m| m.get(gatehouse_mcp::model::keys::CLIENT_CAPABILITIES))
        .cloned()
        .unwrap_or_else(|| json!({}));
    // What a state is bound to besides the call; the params themselves go to the call.
    let call_target = target(method, &params);
    let (mut parked, call_id) = match params.get("requestState") {
        Some(Value::String(token)) => {
            let (parked, call_id) = resume(state, entry, key_id, method, &params, token)?;
            if !parked.asked.is_empty() {
                // mrtr § Error Handling: ask again for what is still missing, not an error.
                return Ok(input_required(state, entry, key_id, method, &call_target, call_id, parked));
            }
            (parked, call_id)
        }
        Some(_) => return Err(RpcError::new(code::INVALID_PARAMS, "requestState must be a string")),
        None if params.contains_key("inputResponses") => {
            return Err(RpcError::new(code::INVALID_PARAMS, "inputResponses without requestState"));
        }
        // A fresh call: named only if it comes to be parked.
        None => (start(state, entry, key_id, method, params, request_bytes), String::new()),
    };
    loop {
        tokio::select! {
            biased;
            Some(incoming) = parked.events.recv() => match incoming {
                Incoming::Notification(msg) => on_note(msg),
                Incoming::Request(msg, responder) => {
                    if !ask(&mut parked, &capabilities, msg, responder) {
                        continue;
                    }
                    // Gather what else the upstream asks at once, then hand the round to the client.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    while let Ok(more) = parked.events.try_recv() {
                        match more {
                            Incoming::Notification(msg) => on_note(msg),
                            Incoming::Request(msg, responder) => {
                                ask(&mut parked, &capabilities, msg, responder);
                            }
                        }
                    }
                    return Ok(input_required(state, entry, key_id, method, &call_target, call_id, parked));
                }
            },
            result = &mut parked.call => return result,
        }
    }
}

/// Takes a request the upstream sends during the call: `ping` is answered here; a request for
/// input is kept for the client (`true`) when the client declared the capability it needs, and
/// refused otherwise (mrtr § Server Requirements 7: never ask what the client did not declare).
fn ask(parked: &mut Parked, capabilities: &Value, msg: Value, responder: Responder) -> bool {
    let Value::Object(mut msg) = msg else { return false };
    let upstream_id = msg.remove("id").unwrap_or(Value::Null);
    let method = match msg.remove("method") {
        Some(Value::String(method)) => method,
        _ => String::new(),
    };
    if method == "ping" {
        responder.respond(upstream_id, Ok(json!({})));
        return false;
    }
    let params = match msg.remove("params") {
        Some(Value::Object(params)) => Some(params),
        _ => None,
    };
    let request = InputRequest { method, params, extra: Map::new() };
    match request.required_capability() {
        Some(needs) if capabilities.get(needs).is_some() => {
            let key = parked.next_key();
            parked.requests.insert(key.clone(), request);
            parked.asked.insert(key, (responder, upstream_id));
            true
        }
        needs => {
            let message = match needs {
                Some(needs) => {
                    format!("{}: the client did not declare the {needs} capability", request.method)
                }
                None => format!("{}: not a request a client can be asked", request.method),
            };
            responder.respond(upstream_id, Err(json!({"code": -32601, "message": message})));
            false
        }
    }
}

fn start(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    key_id: &str,
    method: &str,
    params: Map<String, Value>,
    request_bytes: Option<usize>,
) -> Parked {
    let (sink, events) = mpsc::unbounded_channel();
    let (cancel, cancelled) = crate::plane::relay::CancelOnDrop::new();
    let (state, entry, method, key) = (state.clone(), entry.clone(), method.to_string(), key_id.to_string());
    // Boxed: the call's state machine is kilobytes; it stays put when the call moves into a
    // task of its own.
    let call = Box::pin(async move {
        let mut ctx =
            CallCtx { sink: Some(sink), key, cancel: Some(cancelled), request_bytes, ..CallCtx::default() };
        router::handle(&state, &entry, STATELESS, &mut ctx, &method, &params).await
    });
    Parked::new(events, call, cancel)
}

fn input_required(
    state: &AppState,
    entry: &ServerEntry,
    key_id: &str,
    method: &str,
    call_target: &str,
    call_id: String,
    mut parked: Parked,
) -> Value {
    let call_id = if call_id.is_empty() { crate::domain::ids::new_id("call") } else { call_id };
    let payload = StatePayload {
        n: state.plane.node_id.clone(),
        c: call_id.clone(),
        s: entry.server.id.clone(),
        k: key_id.to_string(),
        m: method.to_string(),
        t: call_target.to_string(),
        e: time::now_ms() + STATE_TTL.as_millis() as i64,
    };
    let requests: BTreeMap<String, InputRequest> = parked
        .requests
        .iter()
        .filter(|(k, _)| parked.asked.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // The call outlives this request now: it waits for the client's retry in a task of its own.
    parked.park();
    state.plane.parked.put(call_id, parked);
    let state_token = seal(&state.master_key, &payload);
    model::to_value(&InputRequiredResult::new(requests, Some(state_token)))
}

fn resume(
    state: &AppState,
    entry: &ServerEntry,
    key_id: &str,
    method: &str,
    params: &Map<String, Value>,
    token: &str,
) -> Result<(Parked, String), RpcError> {
    let invalid = |why: &str| RpcError::new(code::INVALID_PARAMS, format!("invalid requestState: {why}"));
    let payload = open(&state.master_key, token)
        .ok_or_else(|| invalid("it was not issued by this gateway or was altered"))?;
    if payload.e < time::now_ms() {
        return Err(invalid("it has expired; send the request again without it"));
    }
    if payload.s != entry.server.id || payload.k != key_id {
        return Err(invalid("it belongs to another server or credential"));
    }
    if payload.m != method || payload.t != target(method, params) {
        return Err(invalid("it belongs to another request"));
    }
    if payload.n != state.plane.node_id {
        return Err(RpcError::new(
            code::INTERNAL_ERROR,
            "the call this requestState continues is held by another Gatehouse node; route retries to the node that answered",
        ));
    }
    let mut parked =
        state.plane.parked.take(&payload.c).ok_or_else(|| invalid("it was already used or has expired"))?;
    let responses = match params.get("inputResponses") {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(RpcError::new(code::INVALID_PARAMS, "inputResponses must be an object")),
    };
    let keys: Vec<String> = parked.asked.keys().cloned().collect();
    for key in keys {
        if let Some(answer) = responses.get(&key) {
            if let Some((responder, upstream_id)) = parked.asked.remove(&key) {
                responder.respond(upstream_id, Ok(answer.clone()));
            }
        }
    }
    Ok((parked, payload.c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_sealed_and_tamper_evident() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::load(None, dir.path()).unwrap();
        let payload = StatePayload {
            n: "node".into(),
            c: "call_1".into(),
            s: "srv_1".into(),
            k: "key_1".into(),
            m: "tools/call".into(),
            t: "echo".into(),
            e: 1,
        };
        let token = seal(&key, &payload);
        assert_eq!(open(&key, &token), Some(payload.clone()));
        let (body, tag) = token.split_once('.').unwrap();
        let mut forged = payload;
        forged.k = "key_2".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(open(&key, &format!("{forged_body}.{tag}")), None, "a changed payload fails the tag");
        assert_eq!(open(&key, &format!("{body}.00")), None);
        assert_eq!(open(&key, "garbage"), None);
        let other = MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).ok();
        if let Some(other) = other {
            assert_eq!(open(&other, &token), None, "another instance's key fails");
        }
    }
}
