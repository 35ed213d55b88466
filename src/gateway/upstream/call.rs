//! One request relayed to an upstream for a client: over the connection the client's session
//! (or the shared one) uses, through the upstream's breaker, with one retry after an OAuth
//! token refresh when the upstream answers 401; what it showed is recorded as its health.
//! A per-person upstream is called with the caller's own token, over a connection of theirs.

use std::borrow::Cow;

use serde_json::Value;
use tokio::sync::oneshot;

use super::service::{self, connection, note_health};
use super::{authorize, personal};
use crate::app::AppState;
use crate::upstream::{CallSink, Spec, UpstreamError};

/// Who a relayed call is for and what flows back during it.
#[derive(Default)]
pub struct Call<'a> {
    /// SHA-256 of the client's session id (stateful clients).
    pub session: Option<&'a str>,
    /// The caller's API key id, or OAuth grant id (bounds the session connections one
    /// credential holds; names the person for a per-person upstream).
    pub key: &'a str,
    /// Receives progress, logging and upstream requests while the call runs.
    pub sink: Option<CallSink>,
    /// Fires when the client cancels.
    pub cancel: Option<oneshot::Receiver<String>>,
}

/// The target as this caller reaches it: the upstream's own, or (per-person upstream) theirs,
/// with the person it is for. `NotConnected` when they are no person or have no token.
async fn target<'s>(
    state: &AppState,
    spec: &'s Spec,
    key: &str,
) -> Result<(Cow<'s, Spec>, Option<String>), UpstreamError> {
    if !spec.per_user {
        return Ok((Cow::Borrowed(spec), None));
    }
    let subject = personal::subject_of(state, key).await?.ok_or(UpstreamError::NotConnected(None))?;
    let tokens = &state.plane.user_tokens;
    let token = tokens
        .get(state.store.as_ref(), &state.master_key, &spec.id, &subject)
        .await
        .map_err(authorize::store_err)?;
    match token {
        Some(token) => Ok((Cow::Owned(spec.for_person(&token.access_token)), Some(subject))),
        None => Err(UpstreamError::NotConnected(Some(subject))),
    }
}

/// A fresh target after a refreshed token: the upstream's record read again (its own
/// credential), or the person's new token.
async fn refreshed(state: &AppState, spec: &Spec, key: &str) -> Result<Cow<'static, Spec>, UpstreamError> {
    let record = state.store.upstream_get(&spec.org_id, &spec.id).await.map_err(authorize::store_err)?;
    let fresh = service::spec(state, &record.ok_or(UpstreamError::NeedsAuth)?).await?;
    let (target, _) = target(state, &fresh, key).await?;
    Ok(Cow::Owned(target.into_owned()))
}

/// A person's tool call refused because the tool is defined differently for them than
/// approved (checked once per connection of theirs).
async fn withheld(
    state: &AppState,
    spec: &Spec,
    conn: &crate::upstream::Connection,
    person: bool,
    method: &str,
    params: &Value,
) -> Option<UpstreamError> {
    if !person || method != "tools/call" {
        return None;
    }
    let name = params.get("name").and_then(Value::as_str)?;
    match conn.withheld(|| personal::differing_tools(state, &spec.id, conn)).await {
        Ok(withheld) => withheld.contains(name).then(|| UpstreamError::Withheld(name.to_string())),
        Err(e) => Some(e),
    }
}

/// Sends one request to an upstream for a client and records what it showed. An OAuth
/// upstream that answers 401 gets its token (or the person's) refreshed and the request once
/// more.
pub async fn call(
    state: &AppState,
    spec: &Spec,
    call: Call<'_>,
    method: &str,
    params: Value,
) -> Result<Value, UpstreamError> {
    state.plane.upstreams.breaker_check(&spec.id)?;
    let (target, person) = target(state, spec, call.key).await?;
    let sink = call.sink.clone();
    let conn = connection(state, &target, call.session, call.key, person.as_deref()).await;
    // Kept for the one retry after a token refresh; a deep copy per call otherwise.
    let retry_params = (spec.oauth || person.is_some()).then(|| params.clone());
    let result = match conn {
        Ok(conn) => match withheld(state, spec, &conn, person.is_some(), method, &params).await {
            Some(refused) => Err(refused),
            None => conn.request_with(method, params, call.sink, call.cancel).await,
        },
        Err(e) => Err(e),
    };
    let result = match (result, retry_params) {
        (Err(UpstreamError::NeedsAuth), Some(params)) => {
            let renewed = match &person {
                Some(subject) => personal::refresh(state, &spec.org_id, &spec.id, subject).await,
                None => authorize::refresh(state, &spec.org_id, &spec.id).await,
            };
            match renewed {
                Ok(true) => match refreshed(state, spec, call.key).await {
                    Ok(fresh) => {
                        match connection(state, &fresh, call.session, call.key, person.as_deref()).await {
                            Ok(conn) => conn.request_with(method, params, sink, None).await,
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                },
                // The person's authorization is gone: they are asked to connect again.
                _ if person.is_some() => Err(UpstreamError::NotConnected(person.clone())),
                _ => Err(UpstreamError::NeedsAuth),
            }
        }
        (other, _) => other,
    };
    // One person's refused token says nothing of the upstream's health.
    let theirs =
        person.is_some() && matches!(result, Err(UpstreamError::NeedsAuth | UpstreamError::NotConnected(_)));
    if !theirs {
        state.plane.upstreams.record(&spec.id, result.as_ref().err());
        note_health(state, &spec.id, result.as_ref().map(|_| ())).await;
    }
    result
}
