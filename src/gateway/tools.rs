//! The tools of a served server: `tools/list` made from the text the directory keeps per
//! revision, and `tools/call` of an HTTP tool (policies, arguments, the call) or relayed to
//! the attached upstream that serves it.

use serde_json::{Map, Value, json};

use super::context::{CallCtx, finish_result, relay};
use crate::app::AppState;
use crate::plane::directory::{ServerEntry, ToolTarget};
use crate::upstream::http_tool;
use gatehouse_mcp::jsonrpc::{RpcError, code};

/// Tools per tools/list page.
pub const PAGE_SIZE: usize = 500;

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

pub(super) async fn tools_call(
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
