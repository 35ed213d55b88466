//! `GET /api/compat/openapi.json`: the compatible surfaces' routes as an OpenAPI document —
//! paths, methods, parameters and what each takes — so that tools (and the fuzzer) can find
//! them. Their payloads are the reference documents' (docs/COMPATIBILITY.md), described here
//! as JSON objects; the native API's own document stays `/api/openapi.json`.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::AppState;

/// A route: method, path, what it does, and whether it takes a JSON body.
type Route = (&'static str, &'static str, &'static str, bool);

/// The installations API under one prefix.
const INSTALLATIONS: &[Route] = &[
    ("get", "", "List installations (limit, offset)", false),
    ("post", "", "Install an MCP server", true),
    ("post", "/install_custom", "Install a custom MCP server", true),
    ("post", "/install_template", "Install a catalogue template", true),
    ("get", "/authorize", "Start an installation's OAuth flow", false),
    ("get", "/{id}", "Read an installation", false),
    ("patch", "/{id}", "Change an installation", true),
    ("delete", "/{id}", "Remove an installation", false),
    ("post", "/{id}/proxy", "One JSON-RPC request to the installation", true),
    ("get", "/{id}/tools", "An installation's tools", false),
    ("post", "/{id}/tools/refresh", "Rediscover an installation's tools", true),
    ("patch", "/{id}/tools/{tool_name}", "Approve or reject a tool", true),
];

/// The other routes.
const ROUTES: &[Route] = &[
    ("get", "/api/v0/servers", "MCPJungle: list servers", false),
    ("post", "/api/v0/servers", "MCPJungle: register a server", true),
    ("delete", "/api/v0/servers/{name}", "MCPJungle: deregister a server", false),
    ("post", "/api/v0/servers/{name}/enable", "MCPJungle: enable a server", false),
    ("post", "/api/v0/servers/{name}/disable", "MCPJungle: disable a server", false),
    ("get", "/api/v0/tools", "MCPJungle: list tools (server)", false),
    ("get", "/api/v0/tool", "MCPJungle: read a tool (name)", false),
    ("post", "/api/v0/tools/invoke", "MCPJungle: invoke a tool", true),
    ("post", "/api/v0/tools/enable", "MCPJungle: enable tools (entity)", false),
    ("post", "/api/v0/tools/disable", "MCPJungle: disable tools (entity)", false),
    ("get", "/api/v0/prompts", "MCPJungle: list prompts (server)", false),
    ("get", "/api/v0/prompt", "MCPJungle: read a prompt (name)", false),
    ("post", "/api/v0/prompts/render", "MCPJungle: render a prompt", true),
    ("get", "/api/v0/tool-groups", "MCPJungle: list tool groups", false),
    ("post", "/api/v0/tool-groups", "MCPJungle: create a tool group", true),
    ("get", "/api/v0/tool-groups/{name}", "MCPJungle: read a tool group", false),
    ("put", "/api/v0/tool-groups/{name}", "MCPJungle: change a tool group", true),
    ("delete", "/api/v0/tool-groups/{name}", "MCPJungle: delete a tool group", false),
    ("get", "/api/v0/tool-groups/{name}/effective-tools", "MCPJungle: a group's tools now", false),
    ("get", "/api/v0/users", "MCPJungle: list users", false),
    ("post", "/api/v0/users", "MCPJungle: create a user", true),
    ("get", "/api/v0/users/whoami", "MCPJungle: who the token is", false),
    ("put", "/api/v0/users/{username}", "MCPJungle: renew a user's token", true),
    ("delete", "/api/v0/users/{username}", "MCPJungle: delete a user", false),
    ("get", "/api/v0/clients", "MCPJungle: list clients", false),
    ("post", "/api/v0/clients", "MCPJungle: create a client", true),
    ("put", "/api/v0/clients/{name}", "MCPJungle: change a client's allow list", true),
    ("delete", "/api/v0/clients/{name}", "MCPJungle: delete a client", false),
    ("get", "/api/mcp-servers", "Registry: list MCP servers", false),
    ("post", "/api/mcp-servers", "Registry: register an MCP server", true),
    ("get", "/api/mcp-servers/{id}", "Registry: read an MCP server", false),
    ("put", "/api/mcp-servers/{id}", "Registry: change an MCP server", true),
    ("patch", "/api/mcp-servers/{id}", "Registry: change an MCP server", true),
    ("delete", "/api/mcp-servers/{id}", "Registry: remove an MCP server", false),
];

/// Query parameters the routes read.
fn query_of(path: &str) -> &'static [&'static str] {
    match path {
        "/api/v0/servers" => &["force"],
        "/api/v0/tools" | "/api/v0/prompts" => &["server"],
        "/api/v0/tool" | "/api/v0/prompt" => &["name"],
        "/api/v0/tools/enable" | "/api/v0/tools/disable" => &["entity"],
        p if p.ends_with("/mcp_server_installations") => &["limit", "offset"],
        p if p.ends_with("/authorize") => {
            &["installation_id", "template_id", "install_source", "posthog_code_callback_url"]
        }
        _ => &[],
    }
}

fn operation((method, path, summary, body): (&str, &str, &str, bool)) -> Value {
    let mut parameters: Vec<Value> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,200}$"}}))
        .collect();
    parameters.extend(query_of(path).iter().map(|name| {
        let schema = if matches!(*name, "limit" | "offset") {
            json!({"type": "integer"})
        } else {
            json!({"type": "string"})
        };
        json!({"name": name, "in": "query", "required": false, "schema": schema})
    }));
    let mut op = json!({
        "operationId": format!("{method}_{}", path.trim_start_matches('/').replace(['/', '{', '}', '-'], "_")),
        "summary": summary,
        "parameters": parameters,
        "responses": {"default": {"description": "The surface's answer, or an error in its envelope (docs/COMPATIBILITY.md)"}},
    });
    if body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let prefixed = [
        "/api/environments/{environment_id}/mcp_server_installations",
        "/api/projects/{project_id}/mcp_server_installations",
    ]
    .into_iter()
    .flat_map(|prefix| INSTALLATIONS.iter().map(move |(m, p, s, b)| (*m, format!("{prefix}{p}"), *s, *b)));
    let routes = ROUTES.iter().map(|(m, p, s, b)| (*m, p.to_string(), *s, *b)).chain(prefixed);
    for (method, path, summary, body) in routes {
        let entry = paths.entry(path.clone()).or_insert_with(|| json!({}));
        entry[method] = operation((method, &path, summary, body));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Gatehouse: compatible surfaces", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Other management APIs served by Gatehouse; see docs/COMPATIBILITY.md."},
        "paths": paths,
    })
}

/// The route serving it.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/compat/openapi.json", get(|| async { Json(document()) }))
}
