//! The surfaces of other management APIs that Gatehouse speaks for (docs/COMPATIBILITY.md):
//! each is a thin mapping onto the operation registry — names, paths, envelopes — and never a
//! second implementation of a rule.

pub mod management_tools;
