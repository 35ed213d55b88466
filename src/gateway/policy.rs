//! Applying a server's policies to a tool call on the data plane: deny (a tool error the model
//! can read), argument size, argument validation against the tool's inputSchema, and rate
//! limits. Rate limits are fixed windows counted in the database (one atomic upsert per limited
//! call), so every node sharing the database shares every budget; calls no rate limit matches
//! never touch the database.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::domain::policy::{self, RateScope};
use crate::domain::time;
use crate::plane::directory::ServerEntry;
use crate::plane::rates::{self, Take};
use gatehouse_mcp::jsonrpc::{RpcError, code};

/// JSON-RPC error code of a rate-limited call (server-defined range; `data.retryAfterMs` says
/// when to retry).
pub const RATE_LIMITED: i64 = -32029;
/// Refusals in one window after which the org is notified.
const PERSISTENT_REFUSALS: i64 = 10;

/// Checks a call against the policies; `Ok(Some(result))` is a refusal to return as the call's
/// result (a denied tool), `Err` a JSON-RPC error.
pub async fn enforce(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    tool: &str,
    arguments: &Map<String, Value>,
) -> Result<Option<Value>, RpcError> {
    if entry.rules.is_empty() {
        return Ok(None);
    }
    let span = crate::spans::child("policy");
    tracing::Instrument::instrument(judge(state, entry, key, tool, arguments), span).await
}

/// [`enforce`] where the server has policies.
async fn judge(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    tool: &str,
    arguments: &Map<String, Value>,
) -> Result<Option<Value>, RpcError> {
    let who = caller(state, key).await?;
    let verdict = policy::evaluate(&entry.rules, tool, Some(&who.identities));
    if let Some(pattern) = verdict.denied_by {
        return Ok(Some(json!({
            "isError": true,
            "content": [{"type": "text", "text": format!("Denied by policy: calls to {tool} are not allowed on this server (policy {pattern}).")}]
        })));
    }
    if let Some(max) = verdict.max_argument_bytes {
        let size = serde_json::to_vec(arguments).map(|b| b.len()).unwrap_or(usize::MAX) as i64;
        if size > max {
            return Err(RpcError::new(
                code::INVALID_PARAMS,
                format!("arguments are {size} bytes; the policy allows at most {max}"),
            ));
        }
    }
    if verdict.validate_arguments {
        validate(entry, tool, arguments)?;
    }
    if let Err(limited) =
        count(state, &entry.server, (key, who.person.as_deref()), tool, &verdict.rates).await?
    {
        return Err(RpcError::new(RATE_LIMITED, limited.message())
            .with_data(json!({"retryAfterMs": limited.retry_after_ms})));
    }
    Ok(None)
}

/// Who a call comes from, as policies see it.
struct Caller {
    identities: Vec<String>,
    /// The signed-in person's e-mail (a `user` rate limit's budget).
    person: Option<String>,
}

/// The caller behind `key`: an API key's id, or a connected client's grant id (`ocg_…`),
/// whose person and client the token cache knows.
async fn caller(state: &AppState, key: &str) -> Result<Caller, RpcError> {
    if !key.starts_with("ocg_") {
        return Ok(Caller { identities: policy::identities(key, None), person: None });
    }
    let grant = state
        .plane
        .tokens
        .subject(state.store.as_ref(), key)
        .await
        .map_err(|e| RpcError::new(code::INTERNAL_ERROR, format!("policy check failed: {e}")))?
        .ok_or_else(|| RpcError::new(code::INVALID_REQUEST, "this connection has been revoked"))?;
    let mut identities = policy::identities(key, Some((&grant.email, &grant.client_id)));
    // The person as an app user: the entitlement category RevenueCat last reported for them.
    let category = state
        .plane
        .entitlements
        .category(state.store.as_ref(), &grant.server_id, &grant.email)
        .await
        .map_err(|e| RpcError::new(code::INTERNAL_ERROR, format!("policy check failed: {e}")))?;
    if let Some(category) = category {
        identities.push(format!("entitlement:{category}"));
    }
    Ok(Caller { identities, person: Some(grant.email.clone()) })
}

/// A call refused by a rate limit.
#[derive(Debug, Clone, Copy)]
pub struct Limited {
    pub requests: i64,
    pub per_seconds: i64,
    pub retry_after_ms: i64,
}

impl Limited {
    /// What the caller is told.
    pub fn message(&self) -> String {
        format!(
            "rate limit exceeded: {} calls per {} s; retry in {} ms",
            self.requests, self.per_seconds, self.retry_after_ms
        )
    }
}

/// Counts a call against every matching rate limit: fixed windows whose counters every node
/// shares in the database, taken from this node's lease of each (`plane/rates.rs`);
/// `Ok(Err(limited))` when one is exhausted.
pub async fn count(
    state: &AppState,
    server: &crate::store::ServerRecord,
    (key, person): (&str, Option<&str>),
    tool: &str,
    rates: &[(&str, policy::RateLimit)],
) -> Result<Result<(), Limited>, RpcError> {
    let now = time::now_ms();
    let person_budget = person.map(|p| format!("user:{p}"));
    let unavailable = |e: crate::store::StoreError| {
        RpcError::new(code::INTERNAL_ERROR, format!("rate limit unavailable: {e}"))
    };
    for (policy_id, rate) in rates {
        let window_ms = rate.per_seconds * 1000;
        let window = now / window_ms;
        let who = match rate.scope {
            RateScope::Key => key,
            RateScope::User => person_budget.as_deref().unwrap_or(key),
            RateScope::Server => "*",
        };
        let counter = format!("{policy_id}:{who}:{window}");
        let ends = (window + 1) * window_ms;
        let budgets = &state.plane.rates;
        let mut taken = budgets.take(&counter);
        if taken == Take::Lease {
            let lease = rates::lease_size(rate.requests);
            let total = state.store.rate_hit(&counter, lease, ends, now).await.map_err(unavailable)?;
            // What was left of the limit before this lease, up to the lease.
            let granted = (rate.requests - (total - lease)).clamp(0, lease);
            taken = budgets.grant(&counter, ends, granted, now);
        }
        let Take::Refused(refusals) = taken else { continue };
        // Ten refusals in one window is no accident: tell the org, once per window whichever
        // nodes refused.
        if refusals == PERSISTENT_REFUSALS {
            let told = format!("{counter}:told");
            if state.store.rate_hit(&told, 1, ends, now).await.map_err(unavailable)? == 1 {
                crate::notify::notify(
                    state,
                    &server.org_id,
                    "policy.rate_limited",
                    &format!("Rate limit hit repeatedly on {}", server.name),
                    &format!(
                        "Calls to {tool} exceeded {} per {} s ({} scope) {PERSISTENT_REFUSALS} times in one window.",
                        rate.requests,
                        rate.per_seconds,
                        rate.scope.as_str()
                    ),
                    json!({"serverId": server.id, "policyId": policy_id, "tool": tool}),
                )
                .await;
            }
        }
        return Ok(Err(Limited {
            requests: rate.requests,
            per_seconds: rate.per_seconds,
            retry_after_ms: ends - now,
        }));
    }
    Ok(Ok(()))
}

fn validate(entry: &ServerEntry, tool: &str, arguments: &Map<String, Value>) -> Result<(), RpcError> {
    let validator = {
        let mut cache = entry.validators.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(tool) {
            Some(v) => v.clone(),
            None => {
                let Some(schema) = entry.input_schema(tool) else { return Ok(()) };
                let compiled = jsonschema::validator_for(schema).map_err(|e| {
                    RpcError::new(code::INTERNAL_ERROR, format!("the tool's inputSchema cannot be used: {e}"))
                })?;
                let compiled = Arc::new(compiled);
                cache.insert(tool.to_string(), compiled.clone());
                compiled
            }
        }
    };
    let value = Value::Object(arguments.clone());
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .take(3)
        .map(|e| {
            let path = e.instance_path().to_string();
            if path.is_empty() { e.to_string() } else { format!("{path}: {e}") }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RpcError::new(code::INVALID_PARAMS, format!("invalid arguments: {}", errors.join("; "))))
    }
}
