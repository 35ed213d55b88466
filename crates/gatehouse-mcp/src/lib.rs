//! The Model Context Protocol for Gatehouse.
