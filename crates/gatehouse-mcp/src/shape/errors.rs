//! Errors for the revision a connection speaks.

use crate::jsonrpc::{RpcError, code};
use crate::version::ProtocolVersion;

/// Renders an error for `version`, in place:
/// * 2026-07-28 never emits -32002 (basic § Error Codes: resource not found is -32602 there),
///   and answers -32601 with HTTP 404 (streamable-http § Protocol Version Header);
/// * earlier revisions answer -32601 with HTTP 200, and an unknown resource relayed from a
///   2026-07-28 upstream keeps -32602 (it cannot be told apart from other bad params).
pub fn render_error(error: &mut RpcError, version: ProtocolVersion) {
    if version.is_stateless() {
        if error.code == code::RESOURCE_NOT_FOUND {
            error.code = code::INVALID_PARAMS;
        }
        if error.code == code::METHOD_NOT_FOUND {
            error.status = 404;
        }
    } else if error.code == code::METHOD_NOT_FOUND && error.status == 404 {
        error.status = 200;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion as V;

    #[test]
    fn codes_and_statuses() {
        let mut e = RpcError::new(code::RESOURCE_NOT_FOUND, "Resource not found");
        render_error(&mut e, V::V2025_11_25);
        assert_eq!(e.code, code::RESOURCE_NOT_FOUND);
        render_error(&mut e, V::V2026_07_28);
        assert_eq!(e.code, code::INVALID_PARAMS);
        let mut e = RpcError::new(code::METHOD_NOT_FOUND, "no");
        render_error(&mut e, V::V2026_07_28);
        assert_eq!(e.status, 404);
        render_error(&mut e, V::V2025_06_18);
        assert_eq!(e.status, 200);
    }
}
