//! Upstream operations that need the whole application: refreshing the catalogue (connect,
//! discover, merge, store, announce) and keeping each upstream's health in the database.

use std::sync::Arc;

use serde_json::Value;

use super::discovery::{self, ChangedTool};
use super::{Connection, Spec, UpstreamError};
use crate::app::AppState;
use crate::domain::time;
use crate::domain::upstream::{ApprovalPolicy, TransportKind, UpstreamStatus};
use crate::store::{StoreResult, UpstreamRecord};

/// What a refresh did.
#[derive(Debug, Default)]
pub struct RefreshReport {
    /// Approved tools whose definition changed: withheld until approved again.
    pub changed: Vec<ChangedTool>,
    /// Tools now in the catalogue.
    pub tools: usize,
}

/// The connection target of a record.
pub fn spec(state: &AppState, record: &UpstreamRecord) -> Result<Spec, UpstreamError> {
    Spec::from_record(record, &state.master_key)
}

/// The connection a caller uses: stdio upstreams are one process per node, shared; HTTP
/// upstreams get one upstream session per client session (`docs/UPSTREAMS.md` "Pool").
pub async fn connection(
    state: &AppState,
    spec: &Spec,
    client_session: Option<&str>,
) -> Result<Arc<Connection>, UpstreamError> {
    let pool = &state.gateway.upstreams;
    let result = match client_session {
        Some(session) if spec.transport != TransportKind::Stdio => pool.for_session(spec, session).await,
        _ => pool.shared(spec).await,
    };
    if let Err(e) = &result {
        note_health(state, &spec.id, Err(e)).await;
    }
    result
}

/// Connects (through the pool), lists everything, stores the merged catalogue, announces the
/// change. Failures are recorded in the upstream's status and returned.
pub async fn refresh(state: &AppState, record: &UpstreamRecord) -> Result<RefreshReport, UpstreamError> {
    let outcome = refresh_inner(state, record).await;
    if let Err(e) = &outcome {
        note_health(state, &record.id, Err(e)).await;
    }
    outcome
}

async fn refresh_inner(state: &AppState, record: &UpstreamRecord) -> Result<RefreshReport, UpstreamError> {
    let spec = spec(state, record)?;
    let conn = state.gateway.upstreams.shared(&spec).await?;
    let offer = match discovery::discover(&conn).await {
        Ok(offer) => offer,
        Err(e) => {
            state.gateway.upstreams.record(&spec.id, Some(&e));
            return Err(e);
        }
    };
    let facts = conn.facts().clone();
    let store = state.store.as_ref();
    let previous = store.upstream_tools(&record.id).await.map_err(store_err)?;
    let policy = ApprovalPolicy::parse(&record.approval_policy).unwrap_or(ApprovalPolicy::RequireApprovalAll);
    let now = time::now_ms();
    let (catalogue, changed) = discovery::merge(&record.id, policy, &previous, &offer, now);
    store.catalogue_replace(&record.id, &catalogue, now).await.map_err(store_err)?;
    let info = facts.server_info.to_string();
    store
        .upstream_set_status(
            &record.id,
            UpstreamStatus::Connected.as_str(),
            None,
            Some((&facts.protocol_version, &info)),
            now,
        )
        .await
        .map_err(store_err)?;
    state.gateway.upstreams.health_changed(&record.id, UpstreamStatus::Connected.as_str(), None);
    for c in &changed {
        tracing::warn!(upstream = %record.id, tool = %c.name, "tool definition changed; withheld until approved again");
        audit(state, record, &format!("upstream_tool_changed:{}", c.name)).await;
    }
    announce(state, &record.id).await;
    Ok(RefreshReport { tools: catalogue.tools.len(), changed })
}

fn store_err(e: crate::store::StoreError) -> UpstreamError {
    UpstreamError::Connect(format!("storing the catalogue failed: {e}"))
}

async fn audit(state: &AppState, record: &UpstreamRecord, action: &str) {
    let event = crate::store::AuditRecord {
        id: crate::domain::ids::new_id("aud"),
        org_id: Some(record.org_id.clone()),
        actor_type: "system".into(),
        actor_id: None,
        action: action.to_string(),
        target: record.id.clone(),
        outcome: "needs_approval".into(),
        created_at: time::now_ms(),
    };
    if let Err(e) = state.store.audit_insert(&event).await {
        tracing::error!(error = %e, "audit event not recorded");
    }
}

/// Tells every node that an upstream's catalogue, configuration or attachments changed.
pub async fn announce(state: &AppState, upstream_id: &str) {
    if let Err(e) = state.announce(&format!("upstream:{upstream_id}")).await {
        tracing::error!(error = %e, "change event not published");
    }
}

/// Records the health an upstream call showed, writing only when it changed.
pub async fn note_health(state: &AppState, upstream_id: &str, outcome: Result<(), &UpstreamError>) {
    let (status, error) = match outcome {
        Ok(()) => (UpstreamStatus::Connected, None),
        Err(UpstreamError::Rpc { .. }) => (UpstreamStatus::Connected, None),
        Err(UpstreamError::NeedsAuth) => {
            (UpstreamStatus::NeedsAuth, Some(UpstreamError::NeedsAuth.to_string()))
        }
        Err(e) => (UpstreamStatus::Error, Some(e.to_string())),
    };
    if !state.gateway.upstreams.health_changed(upstream_id, status.as_str(), error.as_deref()) {
        return;
    }
    let write: StoreResult<()> = state
        .store
        .upstream_set_status(upstream_id, status.as_str(), error.as_deref(), None, time::now_ms())
        .await;
    if let Err(e) = write {
        tracing::error!(upstream = %upstream_id, error = %e, "upstream status not recorded");
    }
}

/// Sends one request to an upstream for a client and records what it showed.
pub async fn call(
    state: &AppState,
    spec: &Spec,
    client_session: Option<&str>,
    method: &str,
    params: Value,
) -> Result<Value, UpstreamError> {
    state.gateway.upstreams.breaker_check(&spec.id)?;
    let conn = connection(state, spec, client_session).await?;
    let result = conn.request(method, params, None).await;
    state.gateway.upstreams.record(&spec.id, result.as_ref().err());
    note_health(state, &spec.id, result.as_ref().map(|_| ())).await;
    result
}
