//! The one list of management scopes. Roles, tokens, REST and `/api/mcp` all check these.

use serde::{Deserialize, Serialize};

macro_rules! scopes {
    ($($variant:ident = $name:literal $(| $alias:literal)* : $doc:literal,)*) => {
        /// A permission a management token or role can carry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Scope {
            $(#[doc = $doc] #[serde(rename = $name $(, alias = $alias)*)] $variant,)*
        }

        impl Scope {
            /// Every scope, in documentation order.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant,)*];

            /// The wire name, e.g. `servers:read`.
            pub fn as_str(self) -> &'static str {
                match self { $(Scope::$variant => $name,)* }
            }

            /// Other names the scope is accepted under (those of the management API the
            /// compatibility surfaces speak for, e.g. `apps:read`); never written back.
            pub fn aliases(self) -> &'static [&'static str] {
                match self { $(Scope::$variant => &[$($alias),*],)* }
            }

            /// What the scope allows.
            pub fn description(self) -> &'static str {
                match self { $(Scope::$variant => $doc,)* }
            }
        }
    };
}

scopes! {
    OrgsRead = "orgs:read": "Read the organization.",
    OrgsWrite = "orgs:write": "Rename or delete the organization.",
    MembersRead = "members:read": "List members and their roles.",
    MembersWrite = "members:write": "Add, remove and change the role of members.",
    TokensRead = "tokens:read": "List management tokens.",
    TokensWrite = "tokens:write": "Create and revoke management tokens (never beyond the creator's own scopes).",
    ServersRead = "servers:read" | "apps:read": "Read servers and their tools.",
    ServersWrite = "servers:write" | "apps:write": "Create and change servers and their tools.",
    ServersDelete = "servers:delete" | "apps:delete": "Delete servers with their tools and keys.",
    KeysRead = "keys:read": "List API keys.",
    KeysWrite = "keys:write": "Create, archive and delete API keys.",
    KeysRotate = "keys:rotate": "Rotate API keys and read the rotation log.",
    ToolsCall = "tools:call": "Call servers' tools from the management API (governed and counted like any call).",
    UpstreamsRead = "upstreams:read": "Read upstream MCP servers and their catalogue.",
    UpstreamsWrite = "upstreams:write": "Register upstreams and approve their tools.",
    SecretsRead = "secrets:read" | "provider_keys:read": "List secrets (masked).",
    SecretsWrite = "secrets:write" | "provider_keys:write": "Create, change and disable secrets.",
    PoliciesRead = "policies:read": "Read policies.",
    PoliciesWrite = "policies:write": "Change policies.",
    PluginsRead = "plugins:read": "Read plugin installations and invocations.",
    PluginsWrite = "plugins:write": "Install, configure and remove plugins.",
    UsageRead = "usage:read": "Read usage and call logs.",
    AuditRead = "audit:read": "Read the audit log.",
    NotificationsRead = "notifications:read": "Read notifications.",
    NotificationsWrite = "notifications:write": "Mark notifications read and configure their delivery.",
}

impl Scope {
    /// Parses a wire name or an alias.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|s| s.as_str() == name || s.aliases().contains(&name))
    }

    /// Whether this scope only reads.
    pub fn is_read(self) -> bool {
        self.as_str().ends_with(":read")
    }
}

/// Names and aliases, so that a schema admits what deserialising admits.
impl schemars::JsonSchema for Scope {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scope".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Scope::ALL
            .iter()
            .flat_map(|s| std::iter::once(s.as_str()).chain(s.aliases().iter().copied()))
            .collect();
        schemars::json_schema!({
            "type": "string",
            "description": "A management scope, by name or alias (an alias is stored as the name).",
            "enum": names,
        })
    }
}

/// Names that stand for several scopes at once: the broader scopes of the compatible APIs
/// (docs/COMPATIBILITY.md). A token minted with one holds the scopes it stands for.
pub const GROUPS: &[(&str, &[Scope])] = &[
    ("project:read", &[Scope::UpstreamsRead, Scope::ServersRead]),
    (
        "project:write",
        &[
            Scope::UpstreamsRead,
            Scope::UpstreamsWrite,
            Scope::ServersRead,
            Scope::ServersWrite,
            Scope::ToolsCall,
        ],
    ),
];

/// A scope as a token request names it: a scope, an alias of one, or a group ([`GROUPS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeGrant(Vec<Scope>);

impl ScopeGrant {
    /// Reads a name.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(scope) = Scope::parse(name) {
            return Some(Self(vec![scope]));
        }
        GROUPS.iter().find(|(group, _)| *group == name).map(|(_, scopes)| Self(scopes.to_vec()))
    }

    /// The scopes it grants.
    pub fn scopes(&self) -> &[Scope] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ScopeGrant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown scope {name:?}")))
    }
}

impl schemars::JsonSchema for ScopeGrant {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScopeGrant".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Scope::ALL
            .iter()
            .flat_map(|s| std::iter::once(s.as_str()).chain(s.aliases().iter().copied()))
            .chain(GROUPS.iter().map(|(g, _)| *g))
            .collect();
        schemars::json_schema!({
            "type": "string",
            "description": "A management scope, an alias of one, or a group of several (stored as the scopes it stands for).",
            "enum": names,
        })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(*s));
            assert!(seen.insert(s.as_str()));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Scope::parse("nope:read"), None);
        assert_eq!(Scope::parse("apps:delete"), Some(Scope::ServersDelete));
        let alias: Scope = serde_json::from_value(serde_json::json!("provider_keys:write")).unwrap();
        assert_eq!(alias, Scope::SecretsWrite);
        assert_eq!(serde_json::to_value(alias).unwrap(), "secrets:write");
        let group: ScopeGrant = serde_json::from_value(serde_json::json!("project:write")).unwrap();
        assert!(
            group.scopes().contains(&Scope::UpstreamsWrite) && group.scopes().contains(&Scope::ToolsCall)
        );
        assert!(serde_json::from_value::<ScopeGrant>(serde_json::json!("project:admin")).is_err());
    }
}
