//! Rules that care neither about HTTP nor SQL.

pub mod ids;
pub mod text;
pub mod time;
