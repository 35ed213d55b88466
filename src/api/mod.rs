//! The control plane: REST under `/api`, generated from one registry of operations.
//!
//! Open `registry.rs` for how operations are declared, `dispatch.rs` for what happens on every
//! call, and the file named after a resource (`orgs.rs`, `tokens.rs`, …) for its handlers.

pub mod audit;
pub mod auth_config;
pub mod compat;
pub mod connections;
pub mod credential;
pub mod dispatch;
pub mod end_user_auth;
pub mod http_tool_auth;
pub mod http_tools;
pub mod integrations;
pub mod invoke;
pub mod jwks;
pub mod keys;
pub mod login;
pub mod mcp;
pub mod members;
pub mod notifications;
pub mod oauth;
pub mod oauth_openapi;
pub mod one_time_code;
pub mod openapi;
pub mod openapi_import;
pub mod orgs;
pub mod plugins;
pub mod policies;
pub mod registry;
pub mod rest;
pub mod secrets;
pub mod servers;
pub mod strict_json;
pub mod system;
pub mod tokens;
pub mod upstreams;
pub mod usage;

use registry::Registry;

/// Every management operation Gatehouse offers.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    login::register(&mut r);
    orgs::register(&mut r);
    members::register(&mut r);
    tokens::register(&mut r);
    servers::register(&mut r);
    http_tools::register(&mut r);
    openapi_import::register(&mut r);
    keys::register(&mut r);
    connections::register(&mut r);
    auth_config::register(&mut r);
    integrations::register(&mut r);
    invoke::register(&mut r);
    end_user_auth::register(&mut r);
    jwks::register(&mut r);
    plugins::register(&mut r);
    policies::register(&mut r);
    usage::register(&mut r);
    upstreams::register(&mut r);
    secrets::register(&mut r);
    notifications::register(&mut r);
    audit::register(&mut r);
    r
}
