//! An org as the console shows it: what the visitor may open, and do there.

/// An org the visitor may open, with what they may do there.
#[derive(Debug, Clone)]
pub struct OrgChoice {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// `admin`, `member`, or `None` for a management token.
    pub role: Option<String>,
    /// The scopes the visitor holds there (as `get_me` says).
    pub scopes: Vec<String>,
}

impl OrgChoice {
    /// Whether the visitor holds `scope` here.
    pub fn can(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
