//! Where a registry operation sits in the CLI: `gatehouse <resource> <verb>`, from its name
//! (`list_servers` → `servers list`, `update_upstream_tool` → `upstream-tools update`), the
//! resource made plural; the few names that do not read as verb and resource are listed.

/// Operations whose name is not `<verb>_<resource>`.
const IRREGULAR: &[(&str, &str, &str)] = &[
    ("get_me", "me", "get"),
    ("sign_out", "sessions", "sign-out"),
    ("sign_out_everywhere", "sessions", "sign-out-everywhere"),
    ("request_login_code", "login-codes", "request"),
    ("verify_login_code", "login-codes", "verify"),
    ("request_auth_code", "auth-codes", "request"),
    ("verify_auth_code", "auth-codes", "verify"),
    ("get_auth_me", "auth-me", "get"),
    ("mark_notification_read", "notifications", "mark-read"),
    ("read_policy", "policies", "get"),
    ("get_jwks", "jwks", "get"),
    ("upstream_oauth_callback", "upstream-oauth", "callback"),
    ("trigger_revenuecat_refresh", "revenuecat", "refresh"),
    ("update_revenuecat_config", "revenuecat", "configure"),
    ("update_posthog_config", "posthog", "configure"),
    ("get_usage_timeseries", "usage", "timeseries"),
    ("get_server_usage", "usage", "server"),
    ("set_provider_key", "provider-keys", "set"),
    ("set_notification_webhook", "notification-webhooks", "set"),
    ("set_plugin_enabled", "plugins", "set-enabled"),
    ("refresh_upstream_tools", "upstream-tools", "refresh"),
    ("invoke_tool", "tools", "invoke"),
    ("invoke_plugin", "plugins", "invoke"),
    ("render_prompt", "prompts", "render"),
    ("list_server_prompts", "prompts", "list"),
    ("attach_upstream", "server-upstreams", "attach"),
    ("detach_upstream", "server-upstreams", "detach"),
    ("list_server_upstreams", "server-upstreams", "list"),
    ("authorize_upstream", "upstreams", "authorize"),
    ("install_template", "upstreams", "install-template"),
    ("install_custom", "upstreams", "install-custom"),
    ("list_catalog", "catalog", "list"),
    ("list_my_upstream_connections", "accounts", "list"),
    ("connect_upstream", "accounts", "connect"),
    ("disconnect_upstream", "accounts", "disconnect"),
];

/// Resources that stay singular.
const UNCOUNTED: &[&str] = &["data-logging", "auth-config", "client-access", "integrations", "jwks", "me"];

/// `(resource, verb)` of an operation.
pub fn command_of(op: &str) -> (String, String) {
    if let Some((_, resource, verb)) = IRREGULAR.iter().find(|(name, _, _)| *name == op) {
        return ((*resource).to_string(), (*verb).to_string());
    }
    let (verb, resource) = op.split_once('_').unwrap_or((op, "api"));
    (plural(&resource.replace('_', "-")), verb.replace('_', "-"))
}

fn plural(resource: &str) -> String {
    if UNCOUNTED.contains(&resource) || resource.ends_with('s') {
        resource.to_string()
    } else if let Some(stem) = resource.strip_suffix('y').filter(|s| !s.ends_with(['a', 'e', 'o', 'u'])) {
        format!("{stem}ies")
    } else {
        format!("{resource}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_resource_and_verb() {
        assert_eq!(command_of("list_servers"), ("servers".into(), "list".into()));
        assert_eq!(command_of("create_key"), ("keys".into(), "create".into()));
        assert_eq!(command_of("list_keys"), ("keys".into(), "list".into()));
        assert_eq!(command_of("update_upstream_tool"), ("upstream-tools".into(), "update".into()));
        assert_eq!(command_of("delete_policy"), ("policies".into(), "delete".into()));
        assert_eq!(command_of("get_data_logging"), ("data-logging".into(), "get".into()));
        assert_eq!(command_of("invoke_tool"), ("tools".into(), "invoke".into()));
    }

    #[test]
    fn every_operation_has_one_command() {
        let registry = crate::api::registry();
        let mut seen = std::collections::HashSet::new();
        for op in registry.operations() {
            assert!(
                seen.insert(command_of(op.spec.name)),
                "two operations read as {:?}",
                command_of(op.spec.name)
            );
        }
    }
}
