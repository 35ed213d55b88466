//! Who is calling: credentials in, a [`Principal`] out, and what that principal may do.

pub mod end_user;
pub mod principal;
pub mod scopes;
pub mod signing;

pub use principal::{Actor, OrgAccess, Principal, authenticate};
pub use scopes::Scope;
