//! Rules that care neither about HTTP nor SQL.

pub mod client_access;
pub mod client_credentials;
pub mod http_body;
pub mod http_tool;
pub mod ids;
pub mod policy;
pub mod secret;
pub mod text;
pub mod time;
pub mod upstream;
