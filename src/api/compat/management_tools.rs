//! The management MCP server's tools under the names its reference document gives them, where
//! those differ from the registry's: an "app" there is a server here. Each name is the native
//! operation with `serverId` called `appId`; the call runs the very same operation.

/// A tool offered under another name.
pub struct AliasTool {
    /// The tool's name.
    pub name: &'static str,
    /// The registry operation it runs.
    pub operation: &'static str,
}

/// The aliases, in the order `tools/list` shows them.
pub const ALIASES: &[AliasTool] = &[
    AliasTool { name: "list_apps", operation: "list_servers" },
    AliasTool { name: "create_app", operation: "create_server" },
    AliasTool { name: "get_app", operation: "get_server" },
    AliasTool { name: "update_app", operation: "update_server" },
    AliasTool { name: "delete_app", operation: "delete_server" },
    AliasTool { name: "get_app_usage", operation: "get_server_usage" },
];

/// The argument that names an app, standing for the registry's `serverId`.
pub const APP_ID: &str = "appId";

/// The operation behind a tool name: an alias's, or the name itself.
pub fn operation_of(tool: &str) -> (&str, bool) {
    match ALIASES.iter().find(|a| a.name == tool) {
        Some(alias) => (alias.operation, true),
        None => (tool, false),
    }
}
