//! What the gateway does with upstream MCP servers beyond relaying: connecting and
//! reconnecting them, discovering and approving their catalogues ([`service`]), and their
//! OAuth authorization ([`authorize`]; a person's own credentials:
//! [`personal`], or tokens exchanged for them: [`exchange`]), and relaying a client's request to
//! one ([`call`]). The connections themselves are [`crate::upstream`].

pub mod authorize;
pub mod call;
pub mod exchange;
pub mod personal;
pub mod service;
