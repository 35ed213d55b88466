//! Counting a call once it is answered: the usage rollups and call log (`usage.rs`, as the
//! server's data logging says) and the Prometheus series (`metrics.rs`), under a bounded label.

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::integrations::posthog;
use crate::plane::directory::ServerEntry;
use gatehouse_mcp::jsonrpc::RpcError;

/// Whether a method is counted in usage and metrics: pings and lists are the protocol's
/// housekeeping; what is counted is what does work.
pub(super) fn counted(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read" | "completion/complete")
}

/// Bytes a value serialises to, without keeping the text.
fn json_len(v: &impl serde::Serialize) -> i64 {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0 as i64
}

/// Counts a call in usage and metrics. `bytes` are the request's and the answer's sizes where
/// the caller knows them; else params or result are measured as they serialise.
#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    method: &str,
    params: &Map<String, Value>,
    result: &Result<Value, RpcError>,
    elapsed: std::time::Duration,
    (bytes_in, bytes_out): (Option<i64>, Option<i64>),
) {
    let out_len = || match result {
        Ok(v) => json_len(v),
        Err(e) => json_len(&e.to_object()),
    };
    let bytes = (bytes_in.unwrap_or_else(|| json_len(params)), bytes_out.unwrap_or_else(out_len));
    let label = match result {
        Ok(r) if r.get("isError") == Some(&Value::Bool(true)) => "tool_error",
        Ok(r) if r.get("resultType").and_then(Value::as_str) == Some("input_required") => "input_required",
        Ok(_) => "ok",
        Err(e) if e.code == super::policy::RATE_LIMITED => "rate_limited",
        Err(_) => "error",
    };
    let error_value;
    let out: &Value = match result {
        Ok(v) => v,
        Err(e) => {
            error_value = serde_json::to_value(e.to_object()).unwrap_or(Value::Null);
            &error_value
        }
    };
    let outcome = Outcome { label, logged: Some(out) };
    record_outcome(state, entry, key, method, Subject::of(entry, method, params), outcome, elapsed, bytes);
}

/// How a call ended, as usage counts it: its label, and the result (or error) the call log
/// keeps when it keeps results.
pub(super) struct Outcome<'a> {
    pub(super) label: &'static str,
    pub(super) logged: Option<&'a Value>,
}

/// Counts a call whose subject, outcome and sizes are known ([`record`] works them out).
#[allow(clippy::too_many_arguments)]
pub(super) fn record_outcome(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    method: &str,
    subject: Subject<'_>,
    outcome: Outcome<'_>,
    elapsed: std::time::Duration,
    (bytes_in, bytes_out): (i64, i64),
) {
    let Subject { target, requested, arguments } = subject;
    state.metrics.observe_call(
        &entry.server.id,
        target,
        outcome.label,
        elapsed.as_secs_f64(),
        (bytes_in + bytes_out) as u64,
    );
    state.plane.usage.record(crate::usage::CallEvent {
        org_id: &entry.server.org_id,
        server_id: &entry.server.id,
        key_id: key,
        method,
        tool: target,
        requested,
        outcome: outcome.label,
        latency_ms: elapsed.as_millis() as i64,
        bytes_in,
        bytes_out,
        log: entry.log_mode,
        arguments,
        result: outcome.logged,
        secrets: &entry.secrets,
    });
    if let Some(to) = &entry.analytics {
        let full = entry.log_mode == crate::usage::LogMode::Full;
        let bounded = |v| crate::usage::bounded_json(v, &entry.secrets);
        let person = key.starts_with("ocg_").then(|| state.plane.tokens.cached(key)).flatten();
        let event = posthog::event(posthog::CallFacts {
            distinct_id: person.as_ref().map_or(if key.is_empty() { "anonymous" } else { key }, |g| &g.email),
            org_id: &entry.server.org_id,
            server_id: &entry.server.id,
            method,
            tool: target,
            outcome: outcome.label,
            latency_ms: elapsed.as_millis() as i64,
            bytes: (bytes_in, bytes_out),
            payload: full.then(|| (bounded(arguments), bounded(outcome.logged))),
            timestamp: &crate::domain::time::iso(crate::domain::time::now_ms()),
        });
        state.plane.analytics.push(to, event);
    }
}

/// What usage counts a call under, from its params.
#[derive(Clone, Copy)]
pub(super) struct Subject<'a> {
    /// [`usage_target`].
    target: &'a str,
    /// The name (or URI) the call asked for, else its method.
    requested: &'a str,
    /// Its arguments, for a call log that keeps them.
    arguments: Option<&'a Value>,
}

impl<'a> Subject<'a> {
    pub(super) fn of(entry: &'a ServerEntry, method: &'a str, params: &'a Map<String, Value>) -> Self {
        Subject {
            target: usage_target(entry, method, params),
            requested: params
                .get("name")
                .or_else(|| params.get("uri"))
                .and_then(Value::as_str)
                .unwrap_or(method),
            arguments: params.get("arguments"),
        }
    }
}

/// What a call is counted under: the tool or prompt it names, the resource (or template) it
/// reads, else the method. Names the server does not serve are all counted as `(unknown)`, so
/// that a client cannot grow the usage rollups and the metric series without bound.
fn usage_target<'a>(entry: &'a ServerEntry, method: &'a str, params: &'a Map<String, Value>) -> &'a str {
    let param = |name| params.get(name).and_then(Value::as_str);
    let known = match method {
        "tools/call" => param("name").filter(|name| entry.target(name).is_some()),
        "prompts/get" => param("name").filter(|name| entry.prompt(name).is_some()),
        "resources/read" => param("uri").and_then(|uri| entry.resource_label(uri)),
        _ => return method,
    };
    known.unwrap_or(UNKNOWN_TARGET)
}

/// The usage and metrics label of calls to names the server does not serve.
const UNKNOWN_TARGET: &str = "(unknown)";
