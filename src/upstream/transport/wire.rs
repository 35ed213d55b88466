//! A message as an upstream receives it. For a 2026-07-28 request, Gatehouse's client
//! capabilities and identity go into `_meta` here, written from JSON text made once, rather than
//! cloned into every request's params, serialised and dropped (basic § _meta: every request of
//! that revision carries them). `Connection::add_request_meta` marks such a request with the
//! revision; any capabilities or identity the params already carry (a relayed client's own) are
//! left out in favour of Gatehouse's.

use std::sync::LazyLock;

use gatehouse_mcp::model::keys;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{STATELESS_VERSION, client_capabilities, client_info};

/// Gatehouse's capabilities and `Implementation` as JSON text.
static CONSTANTS: LazyLock<(Box<RawValue>, Box<RawValue>)> = LazyLock::new(|| {
    let text = |v: &Value| serde_json::value::to_raw_value(v).expect("JSON made here");
    (text(&client_capabilities()), text(&client_info()))
});

/// The bytes of `msg` as sent upstream.
pub(crate) fn to_wire(msg: &Value) -> serde_json::Result<Vec<u8>> {
    let stateless = msg
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(gatehouse_mcp::version::META_PROTOCOL_VERSION))
        .and_then(Value::as_str)
        == Some(STATELESS_VERSION);
    match msg {
        Value::Object(message) if stateless => serde_json::to_vec(&WithMeta { map: message, depth: 0 }),
        _ => serde_json::to_vec(msg),
    }
}

/// A map written as it is but for one entry: the message's `params` (depth 0), the params'
/// `_meta` (depth 1), whose constants (depth 2) are Gatehouse's.
struct WithMeta<'a> {
    map: &'a Map<String, Value>,
    depth: u8,
}

impl Serialize for WithMeta<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let constant = |k: &str| k == keys::CLIENT_CAPABILITIES || k == keys::CLIENT_INFO;
        let mut out = serializer.serialize_map(None)?;
        for (key, value) in self.map {
            match (self.depth, key.as_str(), value) {
                (0, "params", Value::Object(params)) => {
                    out.serialize_entry(key, &WithMeta { map: params, depth: 1 })?
                }
                (1, "_meta", Value::Object(meta)) => {
                    out.serialize_entry(key, &WithMeta { map: meta, depth: 2 })?
                }
                (2, k, _) if constant(k) => {}
                _ => out.serialize_entry(key, value)?,
            }
        }
        if self.depth == 2 {
            let (capabilities, info) = &*CONSTANTS;
            out.serialize_entry(keys::CLIENT_CAPABILITIES, &**capabilities)?;
            out.serialize_entry(keys::CLIENT_INFO, &**info)?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stateless_requests_carry_gatehouse_s_capabilities_and_identity() {
        let version = gatehouse_mcp::version::META_PROTOCOL_VERSION;
        let msg = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "echo", "arguments": {"_meta": "not the params' own"},
            "_meta": {version: STATELESS_VERSION, "progressToken": "p1",
                      keys::CLIENT_CAPABILITIES: {"sampling": {}}, keys::CLIENT_INFO: {"name": "a client"}}}});
        let sent: Value = serde_json::from_slice(&to_wire(&msg).unwrap()).unwrap();
        let mut expected = msg.clone();
        expected["params"]["_meta"][keys::CLIENT_CAPABILITIES] = client_capabilities();
        expected["params"]["_meta"][keys::CLIENT_INFO] = client_info();
        assert_eq!(sent, expected);
        // Other messages go as they are.
        for other in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}}),
        ] {
            assert_eq!(to_wire(&other).unwrap(), serde_json::to_vec(&other).unwrap());
        }
    }
}
