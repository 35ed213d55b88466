//! Kinds of upstream a server's tools are served from. HTTP tools are the first kind.

pub mod http_tool;
