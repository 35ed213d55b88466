//! What a token lets its client do on the one MCP server it is for. Two scopes, the second
//! implying the first (a hierarchy, as the authorization spec's scope challenge handling asks
//! servers to honour): `mcp:read` lists and reads (tools, prompts, resources, completions),
//! `mcp:call` also calls tools.

/// Lists and reads.
pub const READ: &str = "mcp:read";
/// Calls tools (implies [`READ`]).
pub const CALL: &str = "mcp:call";
/// Every scope, in the order metadata lists them.
pub const ALL: [&str; 2] = [READ, CALL];

/// A set of granted scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    pub read: bool,
    pub call: bool,
}

impl Scopes {
    /// Both.
    pub const FULL: Scopes = Scopes { read: true, call: true };

    /// The scopes named in a space-separated `scope` parameter: unknown names are ignored (the
    /// server grants what it knows, RFC 6749 § 3.3); nothing named means everything; `None`
    /// when names were given and none is known.
    pub fn requested(raw: Option<&str>) -> Option<Scopes> {
        let raw = raw.map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Some(Scopes::FULL);
        }
        let mut s = Scopes::default();
        for name in raw.split(' ').filter(|n| !n.is_empty()) {
            match name {
                READ => s.read = true,
                CALL => s = Scopes::FULL,
                _ => {}
            }
        }
        (s.read || s.call).then_some(s)
    }

    /// Reads the stored (space-separated) form.
    pub fn parse(stored: &str) -> Scopes {
        Scopes::requested(Some(stored)).unwrap_or_default()
    }

    /// The space-separated form, as tokens and metadata carry it.
    pub fn to_param(self) -> String {
        match (self.read, self.call) {
            (_, true) => format!("{READ} {CALL}"),
            (true, false) => READ.to_string(),
            (false, false) => String::new(),
        }
    }

    /// Whether these include all of `other`.
    pub fn covers(self, other: Scopes) -> bool {
        (self.read || !other.read) && (self.call || !other.call)
    }

    /// What is left of `self` after a person narrowed it at consent.
    pub fn narrowed(self, allow_calls: bool) -> Scopes {
        Scopes { read: self.read, call: self.call && allow_calls }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_implies_read_and_unknown_names_are_ignored() {
        assert_eq!(Scopes::requested(Some("mcp:call")), Some(Scopes::FULL));
        assert_eq!(Scopes::requested(Some("openid mcp:read")), Some(Scopes { read: true, call: false }));
        assert_eq!(Scopes::requested(Some("openid profile")), None);
        assert_eq!(Scopes::requested(None), Some(Scopes::FULL));
        assert_eq!(Scopes::parse("mcp:read mcp:call").to_param(), "mcp:read mcp:call");
        assert!(Scopes::FULL.covers(Scopes { read: true, call: false }));
        assert!(!Scopes { read: true, call: false }.covers(Scopes::FULL));
    }
}
