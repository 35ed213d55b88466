//! Upstream operations that need the whole application: refreshing the catalogue (connect,
//! discover, merge, store, announce) and keeping each upstream's health in the database.

use std::sync::Arc;

use serde_json::Value;

use crate::upstream::discovery::{self, ChangedTool};
use tokio::sync::mpsc;

use crate::app::AppState;
use crate::domain::time;
use crate::domain::upstream::{ApprovalPolicy, TransportKind, UpstreamStatus};
use crate::store::{StoreResult, UpstreamRecord};
use crate::upstream::{Connection, Incoming, Spec, UpstreamError};

/// What a refresh did.
#[derive(Debug, Default)]
pub struct RefreshReport {
    /// Approved tools whose definition changed: withheld until approved again.
    pub changed: Vec<ChangedTool>,
    /// Tools now in the catalogue.
    pub tools: usize,
}

/// The connection target of a record.
pub async fn spec(state: &AppState, record: &UpstreamRecord) -> Result<Spec, UpstreamError> {
    let secret = match &record.auth_secret_id {
        None => None,
        Some(id) => Some(
            crate::secrets::resolve_secret(state.store.as_ref(), &state.master_key, &record.org_id, id)
                .await
                .map_err(|e| UpstreamError::Config(format!("the credential's secret: {e}")))?,
        ),
    };
    Spec::from_record_with(record, &state.master_key, secret.as_deref())
}

/// The connection a caller uses (`docs/UPSTREAMS.md` "Pool"): the shared one, unless the
/// upstream keeps a session per connection (an HTTP upstream that gave a session id) and the
/// caller has a client session: then that client session's own, so that no client sees
/// another's upstream state. A per-person upstream's caller (`person`, with `spec` made for
/// them) always has one of their own.
pub async fn connection(
    state: &AppState,
    spec: &Spec,
    client_session: Option<&str>,
    key: &str,
    person: Option<&str>,
) -> Result<Arc<Connection>, UpstreamError> {
    let pool = &state.plane.upstreams;
    let (result, client_session) =
        match (person, client_session.filter(|_| spec.transport != TransportKind::Stdio)) {
            (Some(person), session) => {
                let holder = session.map_or_else(|| format!("person:{person}"), str::to_string);
                (pool.for_person(spec, &holder, key).await, session)
            }
            (None, None) => (pool.shared(spec).await, None),
            (None, Some(session)) => match pool.for_session(spec, session, key).await {
                Ok((conn, own)) => (Ok(conn), own.then_some(session)),
                Err(e) => (Err(e), None),
            },
        };
    match &result {
        // One person's refused token says nothing of the upstream's health.
        Err(UpstreamError::NeedsAuth) if person.is_some() => {}
        Err(e) => note_health(state, &spec.id, Err(e)).await,
        Ok(conn) if !conn.has_listener() => {
            // What the upstream sends outside any call: list changes trigger a refresh;
            // the rest goes to the client session's GET stream, if one is open here.
            let (tx, rx) = mpsc::unbounded_channel();
            conn.set_listener(Some(tx));
            tokio::spawn(listen(
                state.clone(),
                spec.org_id.clone(),
                spec.id.clone(),
                client_session.map(str::to_string),
                rx,
            ));
        }
        Ok(_) => {}
    }
    result
}

/// Handles what an upstream sends outside any call.
async fn listen(
    state: AppState,
    org_id: String,
    upstream_id: String,
    session: Option<String>,
    mut rx: mpsc::UnboundedReceiver<Incoming>,
) {
    while let Some(incoming) = rx.recv().await {
        if let Incoming::Notification(msg) = &incoming {
            let method = msg.get("method").and_then(Value::as_str).unwrap_or_default();
            if method.ends_with("/list_changed") {
                refresh_soon(&state, &org_id, &upstream_id);
                continue;
            }
        }
        let relay = &state.plane.relay;
        match &session {
            Some(s) if relay.has_stream(s) => {
                if let Some(msg) = relay.to_client(s, incoming, true) {
                    relay.to_stream(s, msg);
                }
            }
            _ => {
                // Nobody to tell: requests are refused so the upstream does not wait.
                relay.to_client("", incoming, false);
            }
        }
    }
}

/// Refreshes an upstream in the background, at most one refresh at a time per upstream.
pub fn refresh_soon(state: &AppState, org_id: &str, upstream_id: &str) {
    if !state.plane.upstreams.begin_refresh(upstream_id) {
        return;
    }
    let (state, org_id, upstream_id) = (state.clone(), org_id.to_string(), upstream_id.to_string());
    tokio::spawn(async move {
        // Let a burst of list_changed notifications settle into one refresh.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        state.plane.upstreams.end_refresh(&upstream_id);
        match state.store.upstream_get(&org_id, &upstream_id).await {
            Ok(Some(record)) if record.is_enabled => {
                if let Err(e) = refresh(&state, &record).await {
                    tracing::warn!(upstream = %upstream_id, error = %e, "refresh after list_changed failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(upstream = %upstream_id, error = %e, "upstream not readable"),
        }
    });
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
    let spec = spec(state, record).await?;
    let conn = state.plane.upstreams.shared(&spec).await?;
    let offer = match discovery::discover(&conn).await {
        Ok(offer) => offer,
        Err(e) => {
            state.plane.upstreams.record(&spec.id, Some(&e));
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
    note_health(state, &record.id, Ok(())).await;
    for c in &changed {
        tracing::warn!(upstream = %record.id, tool = %c.name, "tool definition changed; withheld until approved again");
        audit(state, record, &format!("upstream_tool_changed:{}", c.name)).await;
    }
    if !changed.is_empty() {
        let names: Vec<&str> = changed.iter().map(|c| c.name.as_str()).collect();
        crate::notify::notify(
            state,
            &record.org_id,
            "upstream.tool_changed",
            &format!("Tool definitions changed on {}", record.name),
            &format!(
                "{} changed since approval and {} withheld until approved again: {}",
                if names.len() == 1 { "A tool" } else { "Tools" },
                if names.len() == 1 { "is" } else { "are" },
                names.join(", ")
            ),
            serde_json::json!({"upstreamId": record.id, "tools": changed.iter().map(|c| serde_json::json!({
                "name": c.name, "approvedHash": c.old_hash, "definitionHash": c.new_hash})).collect::<Vec<_>>()}),
        )
        .await;
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
    let (changed, before) =
        state.plane.upstreams.health_transition(upstream_id, status.as_str(), error.as_deref());
    if !changed {
        return;
    }
    let was = before.as_deref();
    let kind = match (was, status) {
        (Some("connected") | None, UpstreamStatus::Error) => Some(("upstream.down", "is down")),
        (Some("error" | "needs_auth"), UpstreamStatus::Connected) => Some(("upstream.up", "is back")),
        (_, UpstreamStatus::NeedsAuth) if was != Some("needs_auth") => {
            Some(("upstream.needs_auth", "needs authorization"))
        }
        _ => None,
    };
    if let Some((kind, what)) = kind {
        if let Ok(Some(record)) = find_upstream(state, upstream_id).await {
            let message = match &error {
                Some(e) => format!("{} {what}: {e}", record.name),
                None => format!("{} {what}.", record.name),
            };
            crate::notify::notify(
                state,
                &record.org_id,
                kind,
                &format!("Upstream {} {what}", record.name),
                &message,
                serde_json::json!({"upstreamId": record.id, "status": status.as_str()}),
            )
            .await;
        }
    }
    let write: StoreResult<()> = state
        .store
        .upstream_set_status(upstream_id, status.as_str(), error.as_deref(), None, time::now_ms())
        .await;
    if let Err(e) = write {
        tracing::error!(upstream = %upstream_id, error = %e, "upstream status not recorded");
    }
}

/// An upstream by id alone (health notes know no org).
async fn find_upstream(state: &AppState, upstream_id: &str) -> StoreResult<Option<UpstreamRecord>> {
    Ok(state.store.upstream_list_enabled().await?.into_iter().find(|u| u.id == upstream_id))
}
