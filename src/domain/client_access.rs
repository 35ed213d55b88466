//! Who may connect an MCP client to a server by signing in (OAuth), beside its API keys.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The server's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignIn {
    /// API keys only: no sign-in, no protected resource metadata.
    Off,
    /// People of the org sign in with their platform e-mail code.
    #[default]
    Members,
    /// The server's own end users sign in through its end-user auth service.
    EndUsers,
}

impl SignIn {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignIn::Off => "off",
            SignIn::Members => "members",
            SignIn::EndUsers => "end_users",
        }
    }

    /// Parses the stored name (anything else is the default).
    pub fn parse(stored: Option<&str>) -> SignIn {
        match stored {
            Some("off") => SignIn::Off,
            Some("end_users") => SignIn::EndUsers,
            _ => SignIn::Members,
        }
    }
}
