//! MCP methods of a Gatehouse server, independent of transport: given the revision the
//! connection speaks and a request, produce a result or a JSON-RPC error. Results are shaped
//! for the revision here (e.g. no `structuredContent` before 2025-06-18; `resultType`,
//! `ttlMs` and `cacheScope` on 2026-07-28).

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tracing::Instrument;

use super::accounting::{Outcome, Subject, counted, record, record_outcome};
use super::context::{CallCtx, finish_result, relay};
use super::tools::{tools_call, tools_list_json};
use crate::app::AppState;
use crate::plane::directory::ServerEntry;
use crate::upstream::http_tool;

pub use gatehouse_mcp::jsonrpc::{RpcError, code};
use gatehouse_mcp::model::{
    self, DiscoverResult, Implementation, InitializeResult, ListChangedCapability, ResourcesCapability,
    ServerCapabilities,
};
pub use gatehouse_mcp::version::{ALL, STATELESS, negotiate};

fn capabilities(entry: &ServerEntry) -> ServerCapabilities {
    // List changes are announced on the session's GET stream (`DataPlane::apply`).
    let changes = || Some(ListChangedCapability { list_changed: Some(true), extra: Map::new() });
    let relays = !entry.upstreams.is_empty();
    ServerCapabilities {
        tools: changes(),
        prompts: changes(),
        resources: Some(ResourcesCapability {
            subscribe: relays.then_some(true),
            list_changed: Some(true),
            extra: Map::new(),
        }),
        logging: relays.then(Map::new),
        completions: relays.then(Map::new),
        ..ServerCapabilities::default()
    }
}

/// The result of `initialize` for a negotiated revision.
pub fn initialize_result(entry: &ServerEntry, version: &str) -> Value {
    let result = InitializeResult {
        protocol_version: version.to_string(),
        capabilities: capabilities(entry),
        server_info: Implementation::new(&entry.server.name, env!("CARGO_PKG_VERSION")),
        instructions: Some(entry.server.description.clone()).filter(|d| !d.is_empty()),
        meta: None,
        extra: Map::new(),
    };
    model::to_value(&result)
}

/// Runs one request (not `initialize`) and shapes its result for `version`; counts it in the
/// usage rollups (and the call log, as the server's data logging says) and the metrics.
pub async fn handle(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    ctx: &mut CallCtx,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let started = std::time::Instant::now();
    let span = crate::spans::mcp_span(method, params);
    let result = handle_inner(state, entry, version, ctx, method, params).instrument(span).await;
    if counted(method) {
        let bytes_in = ctx.request_bytes.map(|b| b as i64);
        record(state, entry, &ctx.key, method, params, &result, started.elapsed(), (bytes_in, None));
    }
    result
}

/// [`handle`], answered as the JSON-RPC response text for `id`, with its HTTP status. The
/// usage record counts the `request_bytes` the client sent and the bytes of this text, rather
/// than serialising params and result once more to count them.
#[allow(clippy::too_many_arguments)]
pub async fn answer(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    ctx: &mut CallCtx,
    method: &str,
    params: &Map<String, Value>,
    id: &Value,
    request_bytes: usize,
) -> (u16, String) {
    let started = std::time::Instant::now();
    let span = crate::spans::mcp_span(method, params);
    let result = if method == "tools/call" && version == STATELESS {
        match tools_call(state, entry, ctx, params).instrument(span).await {
            Ok(http_tool::Output::Text { text, utf8 }) => {
                let call = TextAnswer { text, utf8, started, request_bytes };
                let subject = Subject::of(entry, method, params);
                return answer_text_tool(state, entry, &ctx.key, subject, id, call);
            }
            // What `handle_inner` does with any other tools/call output.
            other => other.map(|output| {
                let mut value = output.into_value();
                finish_result(entry, version, method, &mut value);
                value
            }),
        }
    } else {
        handle_inner(state, entry, version, ctx, method, params).instrument(span).await
    };
    let elapsed = started.elapsed();
    let (status, text) = response_text(id, &result);
    if counted(method) {
        let bytes = (request_bytes as i64, text.len() as i64);
        record(state, entry, &ctx.key, method, params, &result, elapsed, (Some(bytes.0), Some(bytes.1)));
    }
    (status, text)
}

/// The JSON-RPC response text of a result or error for `id`, with its HTTP status.
fn response_text(id: &Value, result: &Result<Value, RpcError>) -> (u16, String) {
    match result {
        Ok(r) => (200, gatehouse_mcp::jsonrpc::result_message_text(id, r)),
        Err(e) => (e.status, serde_json::to_string(&e.to_message(id.clone())).unwrap_or_default()),
    }
}

/// An HTTP tool's 2xx answer to a stateless `tools/call`, and what its usage record needs.
struct TextAnswer {
    text: String,
    utf8: bool,
    started: std::time::Instant,
    request_bytes: usize,
}

/// [`answer`] for an HTTP tool's 2xx answer: the message written from the backend's text
/// (`shape::stateless_text_tool_message`); the result itself is only made for a call log that
/// keeps results.
fn answer_text_tool(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    subject: Subject<'_>,
    id: &Value,
    call: TextAnswer,
) -> (u16, String) {
    let TextAnswer { text: body, utf8, started, request_bytes } = call;
    let structured = if utf8 { http_tool::Output::structured(&body) } else { None };
    let text =
        gatehouse_mcp::shape::stateless_text_tool_message(id, &body, structured, &entry.server_info_json);
    let bytes = (request_bytes as i64, text.len() as i64);
    let logged = (entry.log_mode == crate::usage::LogMode::Full).then(|| {
        let mut value = http_tool::Output::Text { text: body, utf8 }.into_value();
        finish_result(entry, STATELESS, "tools/call", &mut value);
        value
    });
    let outcome = Outcome { label: "ok", logged: logged.as_ref() };
    record_outcome(state, entry, key, "tools/call", subject, outcome, started.elapsed(), bytes);
    (200, text)
}

/// The request itself.
async fn handle_inner(
    state: &AppState,
    entry: &Arc<ServerEntry>,
    version: &str,
    ctx: &mut CallCtx,
    method: &str,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let session = ctx;
    let stateless = version == STATELESS;
    let mut result = match method {
        "ping" => json!({}),
        "server/discover" if stateless => {
            let mut discover = DiscoverResult::new(capabilities(entry));
            // Every revision served here, the ones reached with `initialize` too.
            discover.supported_versions = ALL.iter().map(|v| v.to_string()).collect();
            discover.instructions = Some(entry.server.description.clone());
            model::to_value(&discover)
        }
        // Shaped and stamped already: one way to make a list, whatever the transport.
        "tools/list" => {
            let json = tools_list_json(entry, version, params)?;
            return serde_json::from_str(&json).map_err(|e| {
                RpcError::new(code::INTERNAL_ERROR, format!("tools/list could not be read back: {e}"))
            });
        }
        "tools/call" => tools_call(state, entry, session, params).await?.into_value(),
        "prompts/list" => json!({"prompts": entry.prompt_listings}),
        "resources/list" => json!({"resources": entry.resource_listings}),
        "resources/templates/list" => json!({"resourceTemplates": entry.template_listings}),
        "prompts/get" => {
            let name = string_param(params, "name")?;
            let target = entry
                .prompt(name)
                .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("unknown prompt: {name}")))?;
            let mut forwarded = params.clone();
            forwarded.insert("name".into(), json!(target.original));
            relay(state, entry, target.upstream, session, method, forwarded).await?
        }
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            let uri = string_param(params, "uri")?;
            let Some(owner) = entry.resource_owner(uri) else {
                return Err(RpcError::new(code::RESOURCE_NOT_FOUND, format!("resource not found: {uri}"))
                    .with_data(json!({"uri": uri})));
            };
            relay(state, entry, owner, session, method, params.clone()).await?
        }
        "completion/complete" if !entry.upstreams.is_empty() => {
            complete(state, entry, session, params).await?
        }
        "logging/setLevel" if !entry.upstreams.is_empty() => {
            string_param(params, "level")?;
            for index in 0..entry.upstreams.len() {
                // Each upstream takes the level if it logs at all; one that does not is no error.
                let mut each = CallCtx {
                    session: session.session.clone(),
                    key: session.key.clone(),
                    ..CallCtx::default()
                };
                let _ = relay(state, entry, index, &mut each, method, params.clone()).await;
            }
            json!({})
        }
        _ => {
            let err = RpcError::new(code::METHOD_NOT_FOUND, format!("method not found: {method}"));
            // 2026-07-28 transport: an unimplemented method is HTTP 404.
            return Err(if stateless { err.with_status(404) } else { err });
        }
    };
    finish_result(entry, version, method, &mut result);
    Ok(result)
}

fn string_param<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, RpcError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("params.{name} is required")))
}

/// `completion/complete` for a prompt or resource of an upstream.
async fn complete(
    state: &AppState,
    entry: &ServerEntry,
    session: &mut CallCtx,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let reference = params
        .get("ref")
        .and_then(Value::as_object)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "params.ref is required"))?;
    let mut forwarded = params.clone();
    let owner = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = reference.get("name").and_then(Value::as_str).unwrap_or_default();
            let target = entry
                .prompt(name)
                .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("unknown prompt: {name}")))?;
            let mut r = reference.clone();
            r.insert("name".into(), json!(target.original));
            forwarded.insert("ref".into(), Value::Object(r));
            target.upstream
        }
        Some("ref/resource") => {
            let uri = reference.get("uri").and_then(Value::as_str).unwrap_or_default();
            entry
                .resource_owner(uri)
                .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("unknown resource: {uri}")))?
        }
        _ => return Err(RpcError::new(code::INVALID_PARAMS, "ref.type must be ref/prompt or ref/resource")),
    };
    relay(state, entry, owner, session, "completion/complete", forwarded).await
}
