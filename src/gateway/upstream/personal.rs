//! Per-person credentials toward an upstream (`credentialMode: per_user`): who a caller is as
//! a person, their tokens stored sealed per (upstream, person) and refreshed, and forgotten.
//! The flow that obtains them is [`super::authorize`]'s, started for one person.

use super::authorize::store_err;
use crate::app::AppState;
use crate::auth::principal::DEV_EMAIL;
use crate::domain::{ids, time};
use crate::plane::user_tokens::{ACCESS_PURPOSE, REFRESH_PURPOSE};
use crate::store::UpstreamUserTokenRecord;
use crate::upstream::UpstreamError;
use crate::upstream::oauth::TokenSet;

/// The console page where a person connects their own account to an upstream (the org by
/// id or slug).
pub fn connect_path(org: &str, upstream_id: &str) -> String {
    format!("/orgs/{org}/accounts/{upstream_id}")
}

/// The public page where an end user of a server (who has no console session) connects their
/// own account to an upstream the server serves.
pub fn end_user_connect_path(org: &str, server_id: &str, upstream_id: &str) -> String {
    format!("/connect/{org}/{server_id}/{upstream_id}")
}

/// The server whose end users the caller is one of, when they signed in as an end user.
pub async fn end_user_server(state: &AppState, key: &str) -> Option<String> {
    if !key.starts_with("ocg_") {
        return None;
    }
    let grant = state.plane.tokens.subject(state.store.as_ref(), key).await.ok()??;
    (grant.subject_kind == "end_user").then(|| grant.server_id.clone())
}

/// The person behind a caller's credential (`CallCtx::key`): the signed-in person of an OAuth
/// grant (a member, or an end user of the server's sign-in), dev mode's person for a call
/// without a credential; `None` for an API key, which is no person.
pub async fn subject_of(state: &AppState, key: &str) -> Result<Option<String>, UpstreamError> {
    if key.is_empty() {
        return Ok(Some(DEV_EMAIL.to_string()));
    }
    if !key.starts_with("ocg_") {
        return Ok(None);
    }
    let grant = state.plane.tokens.subject(state.store.as_ref(), key).await.map_err(store_err)?;
    Ok(grant.map(|g| g.email.to_ascii_lowercase()))
}

/// Stores a person's tokens (sealed, bound to a new row id) and tells every node.
pub async fn store_tokens(
    state: &AppState,
    record: &crate::store::UpstreamRecord,
    subject: &str,
    tokens: TokenSet,
) -> Result<(), UpstreamError> {
    let now = time::now_ms();
    let id = ids::new_id("uut");
    let seal = |purpose, value: &str| state.master_key.encrypt(purpose, value.as_bytes(), id.as_bytes());
    let row = UpstreamUserTokenRecord {
        access_token: seal(ACCESS_PURPOSE, &tokens.access_token),
        refresh_token: tokens.refresh_token.as_deref().map(|r| seal(REFRESH_PURPOSE, r)),
        expires_at: tokens.expires_in.map(|s| now + s.max(0) * 1000),
        id: id.clone(),
        upstream_id: record.id.clone(),
        org_id: record.org_id.clone(),
        subject: subject.to_string(),
        created_at: now,
        updated_at: now,
    };
    state.store.user_token_put(&row).await.map_err(store_err)?;
    announce(state, &record.id).await;
    Ok(())
}

/// The approved tools whose definition, as a person's connection shows it, differs from the
/// one approved (or that it does not show): discovery and approval are the upstream's, so
/// these are not served to that person.
pub async fn differing_tools(
    state: &AppState,
    upstream_id: &str,
    conn: &crate::upstream::Connection,
) -> Result<std::collections::HashSet<String>, UpstreamError> {
    let theirs = crate::upstream::discovery::list_tools(conn).await?;
    let approved = state.store.upstream_tools(upstream_id).await.map_err(store_err)?;
    let seen: std::collections::HashMap<&str, String> = theirs
        .iter()
        .filter_map(|t| Some((t.get("name")?.as_str()?, crate::domain::upstream::definition_hash(t))))
        .collect();
    Ok(approved
        .into_iter()
        .filter(|t| t.approved_hash.as_ref().is_some_and(|h| seen.get(t.name.as_str()) != Some(h)))
        .map(|t| t.name)
        .collect())
}

/// Tells every node that someone's tokens for `upstream_id` changed.
pub async fn announce(state: &AppState, upstream_id: &str) {
    if let Err(e) = state.announce(&format!("upstream_user:{upstream_id}")).await {
        tracing::error!(error = %e, "change event not published");
    }
}

/// Uses a person's refresh token; true when a new access token was stored. A refused refresh
/// forgets their tokens: they are asked to connect again.
pub async fn refresh(
    state: &AppState,
    org_id: &str,
    upstream_id: &str,
    subject: &str,
) -> Result<bool, UpstreamError> {
    let store = state.store.as_ref();
    let Some(row) = store.user_token_get(upstream_id, subject).await.map_err(store_err)? else {
        return Ok(false);
    };
    let refresh = row.refresh_token.as_deref().and_then(|sealed| {
        let bytes = state.master_key.decrypt(REFRESH_PURPOSE, sealed, row.id.as_bytes()).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    });
    let (Some(refresh), Some(auth), Some(record)) = (
        refresh,
        store.oauth_get(upstream_id).await.map_err(store_err)?,
        store.upstream_get(org_id, upstream_id).await.map_err(store_err)?,
    ) else {
        forget(state, org_id, Some(upstream_id), subject).await?;
        return Ok(false);
    };
    let answer = super::authorize::refresh_grant(state, &auth, &refresh).await;
    match answer {
        Ok(tokens) => {
            store_tokens(state, &record, subject, tokens).await?;
            Ok(true)
        }
        Err(e) => {
            tracing::info!(upstream = %upstream_id, error = %e, "a person's OAuth refresh was refused; they must connect again");
            forget(state, org_id, Some(upstream_id), subject).await?;
            Ok(false)
        }
    }
}

/// Forgets a person's tokens for one upstream, or for every upstream of the org (`None`: they
/// left it); every node drops them.
pub async fn forget(
    state: &AppState,
    org_id: &str,
    upstream_id: Option<&str>,
    subject: &str,
) -> Result<(), UpstreamError> {
    let gone = state.store.user_token_delete(org_id, subject, upstream_id).await.map_err(store_err)?;
    for upstream in gone {
        announce(state, &upstream).await;
    }
    Ok(())
}

/// Refreshes every person's access token that expires soon (called by the background task).
pub async fn refresh_expiring(state: &AppState) {
    let soon = time::now_ms() + super::authorize::REFRESH_MARGIN_MS;
    let due = match state.store.user_tokens_expiring(soon).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "cannot list people's OAuth tokens to refresh");
            return;
        }
    };
    for row in due {
        let _ = refresh(state, &row.org_id, &row.upstream_id, &row.subject).await;
    }
}
