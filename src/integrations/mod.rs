//! Gatehouse's clients of vendor services a server can be integrated with, free of HTTP
//! handling and storage: RevenueCat entitlements, PostHog events, Firebase App Check tokens.
//! Every request goes through [`crate::outbound`] and its network policy.

pub mod app_check;
pub mod posthog;
pub mod revenuecat;
pub mod stored;
