//! Who is calling: credentials in, a [`Principal`] out, and what that principal may do.

pub mod principal;
pub mod scopes;

pub use principal::{Actor, OrgAccess, Principal, authenticate};
pub use scopes::Scope;
