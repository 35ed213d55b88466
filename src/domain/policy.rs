//! Policies of a server (management tools `read_policy`/`update_policy`/`delete_policy`): each applies to
//! the served tools whose name matches its `toolPattern` (a glob: `*` any run of characters, `?`
//! one). When several match, a deny wins, every rate limit applies, the smallest argument limit
//! applies, and arguments are validated if any of them asks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a policy does with the calls it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyAction {
    Allow,
    Deny,
}

impl PolicyAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAction::Allow => "allow",
            PolicyAction::Deny => "deny",
        }
    }
}

/// Who shares a rate limit's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateScope {
    /// Each API key, and each connected client, has its own budget.
    Key,
    /// Each signed-in person has one, shared by every client they connected (an API key
    /// counts on its own).
    User,
    /// All callers of the server share one.
    Server,
}

impl RateScope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RateScope::Key => "key",
            RateScope::User => "user",
            RateScope::Server => "server",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "key" => Some(RateScope::Key),
            "user" => Some(RateScope::User),
            "server" => Some(RateScope::Server),
            _ => None,
        }
    }
}

/// `requests` per `perSeconds`, counted per key or per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimit {
    #[schemars(range(min = 1, max = 1_000_000))]
    pub requests: i64,
    #[schemars(range(min = 1, max = 86_400))]
    pub per_seconds: i64,
    pub scope: RateScope,
}

/// Caller patterns a policy may name at most.
pub const MAX_CALLERS: usize = 20;

/// Checks a policy's caller patterns: globs over the identities a caller has ([`identities`]).
pub fn validate_callers(callers: &[String]) -> Result<(), String> {
    if callers.len() > MAX_CALLERS {
        return Err(format!("callers may name at most {MAX_CALLERS} patterns"));
    }
    for c in callers {
        if c.is_empty()
            || c.chars().count() > 254
            || c.chars().any(|ch| ch.is_control() || ch.is_whitespace())
        {
            return Err("each of callers must be 1 to 254 characters without spaces".into());
        }
    }
    Ok(())
}

/// The identities a caller has, which a policy's `callers` patterns are matched against: a
/// signed-in person's e-mail, `client:<client id>` and `connection:<id>`; an API key's
/// `key:<id>`.
pub fn identities(key_id: &str, signed_in: Option<(&str, &str)>) -> Vec<String> {
    match signed_in {
        Some((email, client)) => {
            vec![email.to_string(), format!("client:{client}"), format!("connection:{key_id}")]
        }
        None if key_id.is_empty() => vec![],
        None => vec![format!("key:{key_id}")],
    }
}

/// Largest argument limit a policy may set (the body limit bounds it anyway).
pub const MAX_ARGUMENT_LIMIT: i64 = 10 * 1024 * 1024;

/// Validates a pattern and the limits of a policy.
pub fn validate(
    pattern: &str,
    rate: Option<&RateLimit>,
    max_argument_bytes: Option<i64>,
) -> Result<(), String> {
    if pattern.is_empty()
        || pattern.chars().count() > 200
        || pattern.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err("toolPattern must be 1 to 200 characters without spaces".into());
    }
    if let Some(r) = rate {
        if !(1..=1_000_000).contains(&r.requests) {
            return Err("rateLimit.requests must be 1 to 1000000".into());
        }
        if !(1..=86_400).contains(&r.per_seconds) {
            return Err("rateLimit.perSeconds must be 1 to 86400".into());
        }
    }
    if let Some(n) = max_argument_bytes {
        if !(1..=MAX_ARGUMENT_LIMIT).contains(&n) {
            return Err(format!("maxArgumentBytes must be 1 to {MAX_ARGUMENT_LIMIT}"));
        }
    }
    Ok(())
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` one character).
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A policy as the data plane applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub pattern: String,
    pub action: PolicyAction,
    pub rate: Option<RateLimit>,
    pub max_argument_bytes: Option<i64>,
    pub validate_arguments: bool,
    /// Caller patterns; empty applies to every caller.
    pub callers: Vec<String>,
}

impl Rule {
    /// Whether the rule applies to a caller with `who` identities (`None`: whoever it is — only
    /// rules for every caller apply, as when deciding what a tool list shows).
    fn applies_to(&self, who: Option<&[String]>) -> bool {
        if self.callers.is_empty() {
            return true;
        }
        who.is_some_and(|ids| self.callers.iter().any(|p| ids.iter().any(|id| glob_matches(p, id))))
    }
}

/// What the matching policies require of one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// The deny policy's pattern, when a deny matched.
    pub denied_by: Option<&'a str>,
    pub rates: Vec<(&'a str, RateLimit)>,
    pub max_argument_bytes: Option<i64>,
    pub validate_arguments: bool,
}

/// Combines every rule matching `tool` and applying to the caller `who`.
pub fn evaluate<'a>(rules: &'a [Rule], tool: &str, who: Option<&[String]>) -> Verdict<'a> {
    let mut v = Verdict::default();
    for r in rules.iter().filter(|r| glob_matches(&r.pattern, tool) && r.applies_to(who)) {
        if r.action == PolicyAction::Deny && v.denied_by.is_none() {
            v.denied_by = Some(&r.pattern);
        }
        if let Some(rate) = r.rate {
            v.rates.push((&r.id, rate));
        }
        if let Some(n) = r.max_argument_bytes {
            v.max_argument_bytes = Some(v.max_argument_bytes.map_or(n, |m| m.min(n)));
        }
        v.validate_arguments |= r.validate_arguments;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("github__*", "github__search"));
        assert!(!glob_matches("github__*", "gitlab__search"));
        assert!(glob_matches("*__delete_*", "db__delete_row"));
        assert!(glob_matches("get_?", "get_x"));
        assert!(!glob_matches("get_?", "get_xy"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn deny_wins_and_limits_combine() {
        let rule = |id: &str, pattern: &str, action, max, validate| Rule {
            id: id.into(),
            pattern: pattern.into(),
            action,
            rate: Some(RateLimit { requests: 5, per_seconds: 60, scope: RateScope::Key }),
            max_argument_bytes: max,
            validate_arguments: validate,
            callers: vec![],
        };
        let rules = vec![
            rule("p1", "*", PolicyAction::Allow, Some(1000), false),
            rule("p2", "db__*", PolicyAction::Deny, Some(10), true),
        ];
        let v = evaluate(&rules, "db__drop", None);
        assert_eq!(v.denied_by, Some("db__*"));
        assert_eq!(v.max_argument_bytes, Some(10));
        assert!(v.validate_arguments);
        assert_eq!(v.rates.len(), 2);
        let v = evaluate(&rules, "web__search", None);
        assert_eq!(v.denied_by, None);
        assert_eq!(v.max_argument_bytes, Some(1000));
        assert!(!v.validate_arguments);
        assert!(validate("", None, None).is_err());
        assert!(validate("a b", None, None).is_err());
        assert!(
            validate("x", Some(&RateLimit { requests: 0, per_seconds: 1, scope: RateScope::Key }), None)
                .is_err()
        );
        assert!(validate("x", None, Some(0)).is_err());
        assert!(validate("x*", None, Some(100)).is_ok());
    }

    #[test]
    fn caller_patterns_narrow_a_rule() {
        let deny = Rule {
            id: "p".into(),
            pattern: "*".into(),
            action: PolicyAction::Deny,
            rate: None,
            max_argument_bytes: None,
            validate_arguments: false,
            callers: vec!["*@contractor.example".into(), "key:key_1".into()],
        };
        let rules = vec![deny];
        let contractor = identities("ocg_1", Some(("ann@contractor.example", "https://c.example/app.json")));
        let staff = identities("ocg_2", Some(("bob@acme.example", "ghc_x")));
        assert_eq!(evaluate(&rules, "t", Some(&contractor)).denied_by, Some("*"));
        assert_eq!(evaluate(&rules, "t", Some(&staff)).denied_by, None);
        assert_eq!(evaluate(&rules, "t", Some(&identities("key_1", None))).denied_by, Some("*"));
        assert_eq!(evaluate(&rules, "t", None).denied_by, None, "a listing shows what some callers may call");
        assert!(validate_callers(&["a b".into()]).is_err());
        assert!(validate_callers(&vec!["x".into(); 21]).is_err());
    }
}
