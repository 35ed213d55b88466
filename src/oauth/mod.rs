//! Gatehouse as the OAuth 2.1 authorization server of its own MCP endpoints (the MCP
//! specification's authorization section; `docs/AUTH_CLIENTS.md`). Here are the rules — which
//! clients exist, what a request may ask, how codes and tokens are issued, rotated and revoked
//! — free of HTTP: `api/oauth/` serves the endpoints, `console/pages/authorize.rs` the sign-in
//! and consent page, `plane/tokens.rs` checks access tokens on the data plane.

pub mod clients;
pub mod error;
pub mod grants;
pub mod pkce;
pub mod redirect;
pub mod resource;
pub mod scope;

pub use error::OAuthError;
