//! What a caller of a per-person upstream hears before they have connected their own account
//! (`docs/UPSTREAMS.md` "Per-person credentials"), as their client can take it:
//!
//! * a 2026-07-28 client that declared URL-mode elicitation is asked with an `elicitation/create`
//!   in URL mode, which the bridge turns into `input_required`; once it answers, the call goes
//!   on as soon as the person has connected (within [`WAIT_FOR_CONNECTION`]);
//! * a 2025-11-25 session whose client declared it gets `URLElicitationRequiredError` (-32042,
//!   client/elicitation § URL Elicitation Required Error), and calls again when done;
//! * every other client, a tool result (or, for requests that are not tool calls, an error)
//!   with the link in words.
//!
//! The link is a console page that signs the person in first and connects only the signed-in
//! person's own account, so it is useless to anyone it leaks to.

use std::time::Duration;

use gatehouse_mcp::jsonrpc::{RpcError, code};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::context::CallCtx;
use super::upstream::personal;
use crate::app::AppState;
use crate::plane::directory::ServerEntry;
use crate::upstream::Incoming;
use crate::upstream::transport::Responder;

/// JSON-RPC code of `URLElicitationRequiredError` (2025-11-25).
pub const URL_ELICITATION_REQUIRED: i64 = -32042;
/// How long a call waits, once its client has answered the elicitation, for the person to
/// finish connecting.
pub const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(120);

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// Whether this call can ask its client and wait: a 2026-07-28 tool call whose client declared
/// URL-mode elicitation, run where a request can be put to it.
pub fn may_wait(ctx: &CallCtx, method: &str, params: &Map<String, Value>) -> bool {
    let meta = params.get("_meta");
    method == "tools/call"
        && ctx.sink.is_some()
        && meta.and_then(|m| m.get(META_VERSION)).and_then(Value::as_str)
            == Some(crate::upstream::transport::STATELESS_VERSION)
        && meta
            .and_then(|m| m.get(META_CAPABILITIES))
            .and_then(|c| c.get("elicitation"))
            .is_some_and(|e| e.get("url").is_some())
}

/// The page where the person connects their account to the upstream (the org by its slug, as
/// people read it; by id if it cannot be read).
async fn link(state: &AppState, entry: &ServerEntry, upstream: usize, ctx: &CallCtx) -> String {
    let org_id = &entry.server.org_id;
    let org = state.store.org_find(org_id).await.ok().flatten().map_or_else(|| org_id.clone(), |o| o.slug);
    let base = state.config.public_url.trim_end_matches('/');
    let upstream_id = &entry.upstreams[upstream].spec.id;
    // An end user of the server has no console session: their page signs them in by code.
    match personal::end_user_server(state, &ctx.key).await {
        Some(server_id) => {
            format!("{base}{}", personal::end_user_connect_path(&org, &server_id, upstream_id))
        }
        None => format!("{base}{}", personal::connect_path(&org, upstream_id)),
    }
}

/// What the caller is told, in words, with `link` (a person) or without (an API key).
fn message(entry: &ServerEntry, upstream: usize, link: Option<&str>) -> String {
    let name = &entry.upstreams[upstream].name;
    if let Some(link) = link {
        format!("Connect your {name} account to use this: open {link}, authorize {name}, then call again.")
    } else {
        format!(
            "{name} is reached with each person's own account, and an API key is no person: connect this client by signing in (OAuth) to use it."
        )
    }
}

/// Asks the client to open the link (URL-mode elicitation, through the call's sink) and, if
/// it accepts, waits for the person to connect: true once they have.
pub async fn ask_and_wait(state: &AppState, entry: &ServerEntry, upstream: usize, ctx: &CallCtx) -> bool {
    let Some(sink) = &ctx.sink else { return false };
    let (tx, mut answers) = mpsc::unbounded_channel();
    let elicitation_id = crate::crypto::new_token("elc_");
    let link = link(state, entry, upstream, ctx).await;
    let request = json!({"jsonrpc": "2.0", "id": format!("gh-{elicitation_id}"), "method": "elicitation/create",
        "params": {"mode": "url", "elicitationId": elicitation_id, "url": link,
                   "message": message(entry, upstream, Some(&link))}});
    if sink.send(Incoming::Request(request, Responder::outbox(tx))).is_err() {
        return false;
    }
    let answer = answers.recv().await;
    if answer.as_ref().and_then(|a| a.pointer("/result/action")).and_then(Value::as_str) != Some("accept") {
        return false;
    }
    let Ok(Some(person)) = personal::subject_of(state, &ctx.key).await else { return false };
    let upstream_id = &entry.upstreams[upstream].spec.id;
    let deadline = tokio::time::Instant::now() + WAIT_FOR_CONNECTION;
    while tokio::time::Instant::now() < deadline {
        // The callback's change event drops this node's cached absence, on every node.
        let found =
            state.plane.user_tokens.get(state.store.as_ref(), &state.master_key, upstream_id, &person).await;
        if matches!(found, Ok(Some(_))) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// The answer to a caller who has not connected: -32042 to a 2025-11-25 session that declared
/// URL-mode elicitation, a tool result for a tool call, an error for anything else.
pub async fn not_connected(
    state: &AppState,
    entry: &ServerEntry,
    upstream: usize,
    ctx: &CallCtx,
    method: &str,
    person: bool,
) -> Result<Value, RpcError> {
    let link = match person {
        true => Some(link(state, entry, upstream, ctx).await),
        false => None,
    };
    let message = message(entry, upstream, link.as_deref());
    if let Some(link) = link.filter(|_| ctx.url_elicitation) {
        let elicitation = json!({"mode": "url", "elicitationId": crate::crypto::new_token("elc_"),
                                 "url": link, "message": message});
        return Err(RpcError {
            status: 200,
            code: URL_ELICITATION_REQUIRED,
            message: "this request needs you to connect your account first".into(),
            data: Some(json!({"elicitations": [elicitation]})),
        });
    }
    if method == "tools/call" {
        Ok(json!({"content": [{"type": "text", "text": message}], "isError": true}))
    } else {
        Err(RpcError::new(code::INVALID_REQUEST, message))
    }
}
