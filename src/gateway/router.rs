//! MCP methods of a Gatehouse server, independent of transport: given the revision the
//! connection speaks and a request, produce a result or a JSON-RPC error. Results are shaped
//! for the revision here (e.g. no `structuredContent` before 2025-06-18; `resultType`,
//! `ttlMs` and `cacheScope` on 2026-07-28).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::gateway::upstream::call;
use crate::plane::directory::{ServerEntry, ToolTarget};
use crate::upstream::http_tool;
use crate::upstream::{CallSink, UpstreamError};
use tokio::sync::oneshot;

pub use gatehouse_mcp::jsonrpc::{RpcError, code};
use gatehouse_mcp::model::{
    self, DiscoverResult, Implementation, InitializeResult, ListChangedCapability, ResourcesCapability,
    ServerCapabilities,
};
pub use gatehouse_mcp::version::{ALL, STATELESS, negotiate};

/// Tools per tools/list page.
pub const PAGE_SIZE: usize = 500;

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

/// What a request carries besides its params: whose session it is (upstream sessions follow
/// it), where what the upstream sends during the call goes, and how the client cancels it.
#[derive(Default)]
pub struct CallCtx {
    /// SHA-256 of the client's `Mcp-Session-Id` (stateful revisions only).
    pub session: Option<String>,
    /// Receives progress, logging and upstream requests while a relayed call runs.
    pub sink: Option<CallSink>,
    /// Fires when the client cancels the request.
    pub cancel: Option<oneshot::Receiver<String>>,
    /// The caller's API key id (empty in dev mode without a key): per-key rate limits.
    pub key: String,
    /// The size of the client's message, when it came alone in its body: counted as the call's
    /// bytes in, rather than its params serialised once more to be measured.
    pub request_bytes: Option<usize>,
}

impl CallCtx {
    /// The context of a request in a stateful session, named by the SHA-256 of its id
    /// ([`crate::plane::session::OpenedSession::hash`], computed once per id and node).
    pub fn for_session(session_hash: Option<&str>, key: &str) -> Self {
        Self { session: session_hash.map(str::to_string), key: key.to_string(), ..Self::default() }
    }

    /// The context of a request without a session.
    pub fn for_key(key: &str) -> Self {
        Self { key: key.to_string(), ..Self::default() }
    }
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
    let result = handle_inner(state, entry, version, ctx, method, params).await;
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
    let result = if method == "tools/call" && version == STATELESS {
        match tools_call(state, entry, ctx, params).await {
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
        handle_inner(state, entry, version, ctx, method, params).await
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

/// [`answer`] of a stateless `tools/call` of one of the server's HTTP tools, read the short way
/// (`gatehouse_mcp::jsonrpc::ToolCall`): its name, target and arguments given rather than a
/// params map. The same answer and the same usage record as [`answer`] gives.
#[allow(clippy::too_many_arguments)]
pub async fn answer_http_tool(
    state: &AppState,
    entry: &ServerEntry,
    ctx: &CallCtx,
    name: &str,
    tool: &crate::upstream::http_tool::HttpTool,
    arguments: Option<&Value>,
    id: &Value,
    request_bytes: usize,
) -> (u16, String) {
    let started = std::time::Instant::now();
    // A tool the server serves is counted under its name (`usage_target`).
    let subject = Subject { target: name, requested: name, arguments };
    let result = match arguments_object(arguments) {
        Ok(arguments) => http_tool_call(state, entry, &ctx.key, name, tool, arguments).await,
        Err(err) => Err(err),
    };
    let result = match result {
        Ok(http_tool::Output::Text { text, utf8 }) => {
            let call = TextAnswer { text, utf8, started, request_bytes };
            return answer_text_tool(state, entry, &ctx.key, subject, id, call);
        }
        other => other.map(|output| {
            let mut value = output.into_value();
            finish_result(entry, STATELESS, "tools/call", &mut value);
            value
        }),
    };
    let elapsed = started.elapsed();
    let (status, text) = response_text(id, &result);
    let bytes = (request_bytes as i64, text.len() as i64);
    record_result(state, entry, &ctx.key, "tools/call", subject, &result, elapsed, bytes);
    (status, text)
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

/// Whether a method is counted in usage and metrics: pings and lists are the protocol's
/// housekeeping; what is counted is what does work.
fn counted(method: &str) -> bool {
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
fn record(
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
    record_result(state, entry, key, method, Subject::of(entry, method, params), result, elapsed, bytes);
}

/// [`record`] of a call whose subject and sizes are known.
#[allow(clippy::too_many_arguments)]
fn record_result(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    method: &str,
    subject: Subject<'_>,
    result: &Result<Value, RpcError>,
    elapsed: std::time::Duration,
    bytes: (i64, i64),
) {
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
    record_outcome(state, entry, key, method, subject, outcome, elapsed, bytes);
}

/// How a call ended, as usage counts it: its label, and the result (or error) the call log
/// keeps when it keeps results.
struct Outcome<'a> {
    label: &'static str,
    logged: Option<&'a Value>,
}

/// [`record`] of a call whose outcome and sizes are known.
#[allow(clippy::too_many_arguments)]
fn record_outcome(
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
}

/// What usage counts a call under, from its params.
#[derive(Clone, Copy)]
struct Subject<'a> {
    /// [`usage_target`].
    target: &'a str,
    /// The name (or URI) the call asked for, else its method.
    requested: &'a str,
    /// Its arguments, for a call log that keeps them.
    arguments: Option<&'a Value>,
}

impl<'a> Subject<'a> {
    fn of(entry: &'a ServerEntry, method: &'a str, params: &'a Map<String, Value>) -> Self {
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

/// Shapes a result for `version` and stamps the server's identity on it (2026-07-28): what
/// every result goes through, tools/list's spliced text included.
fn finish_result(entry: &ServerEntry, version: &str, method: &str, result: &mut Value) {
    if let Some(v) = gatehouse_mcp::ProtocolVersion::parse(version) {
        let options = gatehouse_mcp::shape::ShapeOptions::default();
        let _ = gatehouse_mcp::shape::render_result(result, v, method, &options);
        gatehouse_mcp::shape::stamp_server_info_json(result, v, &entry.server_info);
    }
}

fn string_param<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, RpcError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("params.{name} is required")))
}

/// Sends a request to one of the server's upstreams, mapping failures to JSON-RPC errors: the
/// upstream's own errors pass through; transport failures are -32603 naming the upstream.
async fn relay(
    state: &AppState,
    entry: &ServerEntry,
    upstream: usize,
    ctx: &mut CallCtx,
    method: &str,
    params: Map<String, Value>,
) -> Result<Value, RpcError> {
    let attached = &entry.upstreams[upstream];
    let call = call::Call {
        session: ctx.session.as_deref(),
        key: &ctx.key,
        sink: ctx.sink.clone(),
        cancel: ctx.cancel.take(),
    };
    // Boxed: the upstream exchange's future is kilobytes, and inline it would size every future
    // that may relay (tools_call, handle_inner, answer, the endpoint's), HTTP-tool calls included,
    // which are then moved into their boxes whole on every request.
    let exchange = Box::pin(call::call(state, &attached.spec, call, method, Value::Object(params)));
    exchange.await.map_err(|e| match e {
        UpstreamError::Rpc { code, message, data } => RpcError { status: 200, code, message, data },
        other => RpcError::new(code::INTERNAL_ERROR, format!("upstream {}: {other}", attached.name)),
    })
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

/// The result of tools/list for `version`, as JSON text: exactly what [`handle`] answers (the
/// same fields, shaped and stamped the same way, keys in the same order), with the page's tools
/// spliced in from the text the directory keeps per revision ([`ServerEntry::tool_json`]).
pub fn tools_list_json(
    entry: &ServerEntry,
    version: &str,
    params: &Map<String, Value>,
) -> Result<String, RpcError> {
    let (start, end) = tools_page(entry, params)?;
    // Everything but the tools, made as every result is made.
    let mut rest = json!({"tools": []});
    if end < entry.tool_listings.len() {
        rest["nextCursor"] = json!(format!("o:{end}"));
    }
    finish_result(entry, version, "tools/list", &mut rest);
    let Value::Object(rest) = rest else { unreachable!("built as an object") };
    let tools = &entry.tool_json(gatehouse_mcp::ProtocolVersion::parse(version))[start..end];
    let mut out = String::with_capacity(tools.iter().map(|t| t.len() + 1).sum::<usize>() + 256);
    out.push('{');
    for (i, (key, value)) in rest.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        if key == "tools" {
            out.push('[');
            for (j, tool) in tools.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(tool);
            }
            out.push(']');
        } else {
            out.push_str(&serde_json::to_string(value).unwrap_or_default());
        }
    }
    out.push('}');
    Ok(out)
}

/// The first and last (exclusive) index of the tools on the page `params.cursor` names.
fn tools_page(entry: &ServerEntry, params: &Map<String, Value>) -> Result<(usize, usize), RpcError> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => c
            .strip_prefix("o:")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= entry.tool_listings.len())
            .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "invalid cursor"))?,
        Some(_) => return Err(RpcError::new(code::INVALID_PARAMS, "cursor must be a string")),
    };
    Ok((start, (start + PAGE_SIZE).min(entry.tool_listings.len())))
}

async fn tools_call(
    state: &AppState,
    entry: &ServerEntry,
    session: &mut CallCtx,
    params: &Map<String, Value>,
) -> Result<http_tool::Output, RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, "params.name is required"))?;
    let target = entry
        .target(name)
        .ok_or_else(|| RpcError::new(code::INVALID_PARAMS, format!("unknown tool: {name}")))?;
    let arguments = arguments_object(params.get("arguments"))?;
    let tool = match target {
        ToolTarget::Upstream(target) => {
            if let Some(refusal) = super::policy::enforce(state, entry, &session.key, name, arguments).await?
            {
                return Ok(http_tool::Output::Result(refusal));
            }
            let mut forwarded = params.clone();
            forwarded.insert("name".into(), json!(target.original));
            let relayed = relay(state, entry, target.upstream, session, "tools/call", forwarded).await;
            return relayed.map(http_tool::Output::Result);
        }
        ToolTarget::Http(tool) => tool,
    };
    http_tool_call(state, entry, &session.key, name, tool, arguments).await
}

/// A call's `arguments` as an object (absent and `null` are none).
fn arguments_object(arguments: Option<&Value>) -> Result<&Map<String, Value>, RpcError> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    match arguments {
        None | Some(Value::Null) => Ok(&EMPTY),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(RpcError::new(code::INVALID_PARAMS, "arguments must be an object")),
    }
}

/// Calls one of the server's HTTP tools: the server's policies, the arguments checked against
/// the tool's parameters, then the call.
async fn http_tool_call(
    state: &AppState,
    entry: &ServerEntry,
    key: &str,
    name: &str,
    tool: &crate::upstream::http_tool::HttpTool,
    arguments: &Map<String, Value>,
) -> Result<http_tool::Output, RpcError> {
    if let Some(refusal) = super::policy::enforce(state, entry, key, name, arguments).await? {
        return Ok(http_tool::Output::Result(refusal));
    }
    http_tool::validate(tool, arguments).map_err(|e| RpcError::new(code::INVALID_PARAMS, e.0))?;
    if let Some(secret_id) = &tool.secret_id {
        state.plane.secret_uses.record(secret_id);
    }
    Ok(http_tool::call(&state.plane.outbound, tool, arguments).await)
}
