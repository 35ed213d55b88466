//! Gatehouse: a multi-tenant MCP gateway and control plane.
//!
//! Start at `docs/ARCHITECTURE.md`. In short: [`server`] assembles the app; [`api`] is the
//! control plane (REST generated from one registry of operations); [`store`] persists; [`auth`]
//! resolves callers; [`domain`] holds rules free of HTTP and SQL; [`gateway`] is the data plane
//! and [`upstream`] its MCP client toward upstream servers.

pub mod accept;
pub mod allocator;
pub mod api;
pub mod app;
pub mod auth;
pub mod body;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod connection;
pub mod console;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod front;
pub mod gateway;
pub mod integrations;
pub mod jobs;
pub mod keyring;
pub mod lifecycle;
pub mod limiter;
pub mod mail;
pub mod metrics;
pub mod node_metrics;
pub mod notify;
pub mod oauth;
pub mod openapi;
pub mod outbound;
pub mod plane;
pub mod plugins;
pub mod probe;
pub mod secrets;
pub mod server;
pub mod spans;
pub mod store;
pub mod telemetry;
pub mod upstream;
pub mod usage;
