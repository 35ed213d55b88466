//! One request relayed to an upstream for a client: over the connection the client's session
//! (or the shared one) uses, through the upstream's breaker, with one retry after an OAuth
//! token refresh when the upstream answers 401; what it showed is recorded as its health.

use serde_json::Value;
use tokio::sync::oneshot;

use super::authorize;
use super::service::{self, connection, note_health};
use crate::app::AppState;
use crate::upstream::{CallSink, Spec, UpstreamError};

/// Who a relayed call is for and what flows back during it.
#[derive(Default)]
pub struct Call<'a> {
    /// SHA-256 of the client's session id (stateful clients).
    pub session: Option<&'a str>,
    /// The caller's API key id (bounds the session connections one key holds).
    pub key: &'a str,
    /// Receives progress, logging and upstream requests while the call runs.
    pub sink: Option<CallSink>,
    /// Fires when the client cancels.
    pub cancel: Option<oneshot::Receiver<String>>,
}

/// Sends one request to an upstream for a client and records what it showed. An OAuth
/// upstream that answers 401 gets its token refreshed and the request once more.
pub async fn call(
    state: &AppState,
    spec: &Spec,
    call: Call<'_>,
    method: &str,
    params: Value,
) -> Result<Value, UpstreamError> {
    state.plane.upstreams.breaker_check(&spec.id)?;
    let sink = call.sink.clone();
    let conn = connection(state, spec, call.session, call.key).await;
    // Kept for the one retry after a token refresh; a deep copy per call otherwise.
    let retry_params = spec.oauth.then(|| params.clone());
    let result = match conn {
        Ok(conn) => conn.request_with(method, params, call.sink, call.cancel).await,
        Err(e) => Err(e),
    };
    let result = match result {
        Err(UpstreamError::NeedsAuth) if retry_params.is_some() => {
            let params = retry_params.unwrap_or_default();
            match authorize::refresh(state, &spec.org_id, &spec.id).await {
                Ok(true) => {
                    let record = state.store.upstream_get(&spec.org_id, &spec.id).await.ok().flatten();
                    let fresh = match record {
                        Some(r) => Some(service::spec(state, &r).await),
                        None => None,
                    };
                    match fresh {
                        Some(Ok(fresh)) => match connection(state, &fresh, call.session, call.key).await {
                            Ok(conn) => conn.request_with(method, params, sink, None).await,
                            Err(e) => Err(e),
                        },
                        _ => Err(UpstreamError::NeedsAuth),
                    }
                }
                _ => Err(UpstreamError::NeedsAuth),
            }
        }
        other => other,
    };
    state.plane.upstreams.record(&spec.id, result.as_ref().err());
    note_health(state, &spec.id, result.as_ref().map(|_| ())).await;
    result
}
