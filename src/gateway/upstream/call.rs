//! One request relayed to an upstream for a client: over the connection the client's session
//! (or the shared one) uses, through the upstream's breaker, with one retry after an OAuth
//! token refresh when the upstream answers 401; what it showed is recorded as its health.
//! A per-person upstream is called with the caller's own token, over a connection of theirs.

use std::borrow::Cow;

use serde_json::Value;
use tokio::sync::oneshot;

use super::service::{self, connection, note_health};
use super::{authorize, exchange, personal};
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

/// The upstream as one caller reaches it.
struct Target<'s> {
    /// The upstream's own target, or (per-person upstream) the caller's.
    spec: Cow<'s, Spec>,
    /// The person it is for, on a per-person upstream.
    person: Option<String>,
    /// The person's access token it carries.
    token: Option<String>,
}

/// The target as this caller reaches it. `NotConnected` when they are no person, or have no
/// token of their own authorization; a token exchange upstream's is obtained for them.
async fn target<'s>(state: &AppState, spec: &'s Spec, key: &str) -> Result<Target<'s>, UpstreamError> {
    if !spec.per_user {
        return Ok(Target { spec: Cow::Borrowed(spec), person: None, token: None });
    }
    let subject = personal::subject_of(state, key).await?.ok_or(UpstreamError::NotConnected(None))?;
    let tokens = &state.plane.user_tokens;
    let token = tokens
        .get(state.store.as_ref(), &state.master_key, &spec.id, &subject)
        .await
        .map_err(authorize::store_err)?
        .map(|t| t.access_token.to_string());
    let token = match token {
        Some(token) => token,
        None if spec.exchanged => exchange::token_for(state, spec, &subject, None).await?,
        None => return Err(UpstreamError::NotConnected(Some(subject))),
    };
    Ok(Target { spec: Cow::Owned(spec.for_person(&token)), person: Some(subject), token: Some(token) })
}

/// The target once the token `was` was refused: the upstream's own (its record read again
/// after a refresh), or the person's, refreshed or exchanged anew. `None` when there is no
/// new token.
async fn renewed(
    state: &AppState,
    spec: &Spec,
    key: &str,
    was: &Target<'_>,
) -> Result<Option<Spec>, UpstreamError> {
    let fresh = match (&was.person, spec.exchanged) {
        (Some(subject), true) => {
            let token = exchange::token_for(state, spec, subject, was.token.as_deref()).await?;
            return Ok(Some(spec.for_person(&token)));
        }
        (Some(subject), false) => personal::refresh(state, &spec.org_id, &spec.id, subject).await?,
        (None, _) => authorize::refresh(state, &spec.org_id, &spec.id).await?,
    };
    if !fresh {
        return Ok(None);
    }
    let record = state.store.upstream_get(&spec.org_id, &spec.id).await.map_err(authorize::store_err)?;
    let record = service::spec(state, &record.ok_or(UpstreamError::NeedsAuth)?).await?;
    Ok(Some(target(state, &record, key).await?.spec.into_owned()))
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
    let span = crate::spans::child(format_args!("upstream {} {method}", spec.name));
    tracing::Instrument::instrument(relay(state, spec, call, method, params), span).await
}

async fn relay(
    state: &AppState,
    spec: &Spec,
    call: Call<'_>,
    method: &str,
    params: Value,
) -> Result<Value, UpstreamError> {
    state.plane.upstreams.breaker_check(&spec.id)?;
    let target = target(state, spec, call.key).await?;
    let person = target.person.clone();
    let sink = call.sink.clone();
    let conn = connection(state, &target.spec, call.session, call.key, person.as_deref()).await;
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
            match renewed(state, spec, call.key, &target).await {
                Ok(Some(fresh)) => {
                    match connection(state, &fresh, call.session, call.key, person.as_deref()).await {
                        Ok(conn) => conn.request_with(method, params, sink, None).await,
                        Err(e) => Err(e),
                    }
                }
                // A token exchange refused now says why.
                Err(e @ UpstreamError::ExchangeRefused(_)) => Err(e),
                // The person's authorization is gone: they are asked to connect again.
                _ if person.is_some() => Err(UpstreamError::NotConnected(person.clone())),
                _ => Err(UpstreamError::NeedsAuth),
            }
        }
        (other, _) => other,
    };
    // One person's refused token says nothing of the upstream's health.
    let theirs = person.is_some()
        && matches!(
            result,
            Err(UpstreamError::NeedsAuth
                | UpstreamError::NotConnected(_)
                | UpstreamError::ExchangeRefused(_))
        );
    if !theirs {
        state.plane.upstreams.record(&spec.id, result.as_ref().err());
        note_health(state, &spec.id, result.as_ref().map(|_| ())).await;
    }
    tracing::debug!(upstream = %spec.name, method, failed = result.is_err(), "relayed to an upstream");
    result
}
