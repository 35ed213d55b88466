//! Rules about upstream MCP servers that care neither about HTTP nor SQL: the enumerations,
//! validation of what people register, definition hashes and the approval state machine
//! (`docs/UPSTREAMS.md` "Discovery, catalogue and pinning").

use gatehouse_mcp::transport::headers;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }

            /// Parses the wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)* _ => None }
            }
        }
    };
}

wire_enum! {
    /// How Gatehouse talks to an upstream.
    TransportKind { StreamableHttp = "streamable_http", Sse = "sse", Stdio = "stdio", }
}

wire_enum! {
    /// What happens to tools an upstream brings.
    ApprovalPolicy { AutoApprove = "auto_approve", RequireApprovalAll = "require_approval_all", }
}

wire_enum! {
    /// Whether a tool may be served.
    ApprovalState { Approved = "approved", NeedsApproval = "needs_approval", Rejected = "rejected", }
}

wire_enum! {
    /// How Gatehouse authenticates to an upstream.
    UpstreamAuth { None = "none", Bearer = "bearer", ApiKey = "api_key", Basic = "basic", Oauth = "oauth", }
}

wire_enum! {
    /// Whose credential an upstream's calls carry: one the org gave, shared by every caller;
    /// each calling person's own, which they authorize; or each person's, obtained for them by
    /// token exchange where the upstream's authorization server trusts Gatehouse
    /// (`docs/UPSTREAMS.md` "Per-person credentials").
    CredentialMode { Shared = "shared", PerUser = "per_user", PassthroughExchange = "passthrough_exchange", }
}

impl CredentialMode {
    /// Whether calls carry the calling person's own token (which a stdio upstream cannot).
    pub fn is_personal(self) -> bool {
        self != CredentialMode::Shared
    }
}

wire_enum! {
    /// Health of an upstream as last seen.
    UpstreamStatus { Connected = "connected", Error = "error", NeedsAuth = "needs_auth", Disabled = "disabled", }
}

/// Default per-request timeout toward an upstream.
pub const DEFAULT_TIMEOUT_MS: i64 = 30_000;
/// Longest per-request timeout.
pub const MAX_TIMEOUT_MS: i64 = 600_000;

/// Headers an upstream configuration may not set: hop-by-hop and framing headers that would
/// break the transport, and the ones Gatehouse sets itself. (`Accept` may be set: the media
/// types the transport needs are always sent with the configured ones.)
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    headers::SESSION_ID,
    headers::PROTOCOL_VERSION,
    headers::METHOD,
    headers::NAME,
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-connection",
];

/// Validates request headers: names are HTTP tokens, values visible ASCII, at most 50.
pub fn validate_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    if headers.len() > 50 {
        return Err("at most 50 requestHeaders".into());
    }
    for (name, value) in headers {
        let token = !name.is_empty()
            && name.len() <= 100
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            return Err(format!("requestHeaders: {name:?} is not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(format!("requestHeaders: {name} is set by Gatehouse and cannot be configured"));
        }
        if value.len() > 8192 || !value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            return Err(format!("requestHeaders: the value of {name} must be printable ASCII"));
        }
    }
    Ok(())
}

/// Validates an upstream URL's shape (where it may point is the outbound policy's business).
pub fn validate_url(url: &str) -> Result<(), String> {
    if url.chars().count() > 2048 {
        return Err("url must be at most 2048 characters".into());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("url is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("url must be an absolute http(s) URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not carry credentials; use auth".into());
    }
    Ok(())
}

/// Validates a stdio command and its arguments.
pub fn validate_command(command: &str, args: &[String]) -> Result<(), String> {
    if command.trim().is_empty() || command.chars().count() > 1024 || command.contains('\0') {
        return Err("command must be a non-empty program name or path".into());
    }
    if args.len() > 100 || args.iter().any(|a| a.chars().count() > 4096 || a.contains('\0')) {
        return Err("args: at most 100 arguments of at most 4096 characters".into());
    }
    Ok(())
}

/// Validates environment variables for a stdio command.
pub fn validate_env(env: &BTreeMap<String, String>) -> Result<(), String> {
    if env.len() > 100 {
        return Err("at most 100 env variables".into());
    }
    for (k, v) in env {
        let ok = !k.is_empty()
            && k.len() <= 256
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !k.as_bytes()[0].is_ascii_digit();
        if !ok {
            return Err(format!("env: {k:?} is not a valid variable name"));
        }
        if v.chars().count() > 32 * 1024 || v.contains('\0') {
            return Err(format!("env: the value of {k} is too long or contains NUL"));
        }
    }
    Ok(())
}

/// Validates a tool-name prefix: empty, or snake_case of at most 40 characters.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let ok = prefix.is_empty()
        || (prefix.len() <= 40
            && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && prefix.as_bytes()[0].is_ascii_lowercase()
            && !prefix.contains("__"));
    if ok { Ok(()) } else { Err("prefix must be snake_case (a-z, 0-9, _), at most 40 characters".into()) }
}

/// The default prefix of an upstream: its name in snake_case (`"GitHub Tools"` → `github_tools`).
pub fn default_prefix(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_string();
    out.truncate(40);
    let out = out.trim_end_matches('_').to_string();
    match out.as_bytes().first() {
        Some(b) if b.is_ascii_lowercase() => out,
        Some(_) => format!("u_{out}").chars().take(40).collect(),
        None => "upstream".into(),
    }
}

/// The name a server serves an upstream's tool (or prompt) under.
pub fn served_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}__{name}") }
}

/// The hash pinned by approval: SHA-256 over the canonical JSON of the fields that say what a
/// tool does (name, description, inputSchema, outputSchema, annotations).
pub fn definition_hash(tool: &Value) -> String {
    let mut pinned = serde_json::Map::new();
    for field in ["name", "description", "inputSchema", "outputSchema", "annotations"] {
        if let Some(v) = tool.get(field) {
            pinned.insert(field.to_string(), v.clone());
        }
    }
    let mut canonical = String::new();
    write_canonical(&Value::Object(pinned), &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON with object keys sorted at every level (independent of serde_json's map order).
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The approval fields of a tool after a refresh saw `new_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub state: ApprovalState,
    pub approved_hash: Option<String>,
    /// True when an approved tool's definition changed and it went back to needs_approval.
    pub changed_since_approval: bool,
}

/// Decides the approval of a tool seen by a refresh, given what was stored before (if any).
pub fn approval_after_refresh(
    policy: ApprovalPolicy,
    previous: Option<(ApprovalState, Option<&str>)>,
    new_hash: &str,
) -> Approval {
    match previous {
        None => match policy {
            ApprovalPolicy::AutoApprove => Approval {
                state: ApprovalState::Approved,
                approved_hash: Some(new_hash.to_string()),
                changed_since_approval: false,
            },
            ApprovalPolicy::RequireApprovalAll => Approval {
                state: ApprovalState::NeedsApproval,
                approved_hash: None,
                changed_since_approval: false,
            },
        },
        // A rejection stands whatever the upstream does next.
        Some((ApprovalState::Rejected, approved)) => Approval {
            state: ApprovalState::Rejected,
            approved_hash: approved.map(str::to_string),
            changed_since_approval: false,
        },
        Some((ApprovalState::Approved, Some(approved))) if approved == new_hash => Approval {
            state: ApprovalState::Approved,
            approved_hash: Some(approved.to_string()),
            changed_since_approval: false,
        },
        // Pinning: an approved definition that changed is withheld until approved again.
        Some((ApprovalState::Approved, approved)) => Approval {
            state: ApprovalState::NeedsApproval,
            approved_hash: approved.map(str::to_string),
            changed_since_approval: true,
        },
        Some((ApprovalState::NeedsApproval, approved)) => Approval {
            state: ApprovalState::NeedsApproval,
            approved_hash: approved.map(str::to_string),
            changed_since_approval: false,
        },
    }
}

/// Whether a stored tool may be listed and called.
pub fn is_served(state: &str, enabled: bool, definition_hash: &str, approved_hash: Option<&str>) -> bool {
    state == ApprovalState::Approved.as_str() && enabled && approved_hash == Some(definition_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_key_order_and_unpinned_fields() {
        let a = json!({"name": "t", "description": "d", "inputSchema": {"type": "object", "properties": {"a": {}, "b": {}}}});
        let b = json!({"inputSchema": {"properties": {"b": {}, "a": {}}, "type": "object"}, "description": "d", "name": "t", "title": "T", "_meta": {"x": 1}});
        assert_eq!(definition_hash(&a), definition_hash(&b));
        let c =
            json!({"name": "t", "description": "d, and also exfiltrate", "inputSchema": {"type": "object"}});
        assert_ne!(definition_hash(&a), definition_hash(&c));
        let d = json!({"name": "t", "description": "d", "inputSchema": {"type": "object", "properties": {"a": {}, "b": {}}}, "annotations": {"destructiveHint": true}});
        assert_ne!(definition_hash(&a), definition_hash(&d));
    }

    #[test]
    fn approval_state_machine() {
        use ApprovalPolicy::*;
        use ApprovalState::*;
        let auto = approval_after_refresh(AutoApprove, None, "h1");
        assert_eq!((auto.state, auto.approved_hash.as_deref()), (Approved, Some("h1")));
        let manual = approval_after_refresh(RequireApprovalAll, None, "h1");
        assert_eq!((manual.state, manual.approved_hash), (NeedsApproval, None));
        let same = approval_after_refresh(AutoApprove, Some((Approved, Some("h1"))), "h1");
        assert_eq!(same.state, Approved);
        let changed = approval_after_refresh(AutoApprove, Some((Approved, Some("h1"))), "h2");
        assert_eq!(changed.state, NeedsApproval);
        assert!(changed.changed_since_approval);
        assert_eq!(changed.approved_hash.as_deref(), Some("h1"));
        let rejected = approval_after_refresh(AutoApprove, Some((Rejected, None)), "h2");
        assert_eq!(rejected.state, Rejected);
        assert!(is_served("approved", true, "h1", Some("h1")));
        assert!(!is_served("approved", true, "h2", Some("h1")));
        assert!(!is_served("approved", false, "h1", Some("h1")));
        assert!(!is_served("needs_approval", true, "h1", Some("h1")));
    }

    #[test]
    fn prefixes() {
        assert_eq!(default_prefix("GitHub Tools"), "github_tools");
        assert_eq!(default_prefix("42 things"), "u_42_things");
        assert_eq!(default_prefix("!!!"), "upstream");
        assert!(validate_prefix("github_tools").is_ok());
        assert!(validate_prefix("").is_ok());
        for bad in ["Git", "a__b", "_a", "1a", "a-b"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(served_name("gh", "search"), "gh__search");
        assert_eq!(served_name("", "search"), "search");
    }

    #[test]
    fn headers_urls_commands() {
        let ok = BTreeMap::from([("User-Agent".to_string(), "x/1".to_string())]);
        assert!(validate_headers(&ok).is_ok());
        let bad = BTreeMap::from([("Host".to_string(), "evil".to_string())]);
        assert!(validate_headers(&bad).is_err());
        let bad = BTreeMap::from([("X-A".to_string(), "a\r\nb".to_string())]);
        assert!(validate_headers(&bad).is_err());
        assert!(validate_url("https://example.com/mcp").is_ok());
        assert!(validate_url("ftp://example.com").is_err());
        assert!(validate_url("https://u:p@example.com").is_err());
        assert!(validate_url("nope").is_err());
        assert!(validate_command("npx", &["-y".into()]).is_ok());
        assert!(validate_command(" ", &[]).is_err());
        assert!(validate_env(&BTreeMap::from([("API_KEY".to_string(), "v".to_string())])).is_ok());
        assert!(validate_env(&BTreeMap::from([("1X".to_string(), "v".to_string())])).is_err());
    }
}
