//! A single JSON-RPC message read straight into its members.
//!
//! An endpoint needs a message's `jsonrpc`, `id` and `method` to route it and passes `params`
//! on as a tree. Read into a `Value`, the message object is a map with a key string per member
//! that is built and dropped on every request; read into [`Envelope`], the members go straight
//! into fields (about 4 k instructions less for a typical tools/call), and the map is only
//! made again for the paths that want one ([`Envelope::into_value`]).

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The members of one JSON-RPC message object; a member that is absent is `None` (a present
/// `null` is `Some(Value::Null)`). Members JSON-RPC does not define are not kept.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope {
    /// `jsonrpc`, which must be `"2.0"` ([`Envelope::is_v2`]).
    #[serde(default, deserialize_with = "present")]
    pub jsonrpc: Option<Value>,
    /// `id`: absent in a notification.
    #[serde(default, deserialize_with = "present")]
    pub id: Option<Value>,
    /// `method`: absent in a response.
    #[serde(default, deserialize_with = "present")]
    pub method: Option<Value>,
    /// `params`.
    #[serde(default, deserialize_with = "present")]
    pub params: Option<Value>,
    /// `result` of a response.
    #[serde(default, deserialize_with = "present")]
    pub result: Option<Value>,
    /// `error` of a response.
    #[serde(default, deserialize_with = "present")]
    pub error: Option<Value>,
}

/// A present member, `null` included (serde's `Option` would make `null` absent).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// What a body holds: one message object, or anything else (a batch, a scalar) as a tree.
#[derive(Debug)]
pub enum Payload {
    /// One JSON object.
    One(Envelope),
    /// Any other JSON value.
    Other(Value),
}

impl Payload {
    /// Reads a body. An object goes into an [`Envelope`]; an object that cannot (a member
    /// given twice: JSON keeps the last, as a `Value` does) is read as a tree and then taken
    /// apart. The error is the JSON parser's, for a body that is not JSON.
    pub fn read(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        // An object only: serde's derived structs would also take an array of members in order.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            if let Ok(envelope) = super::from_json_bytes::<Envelope>(bytes) {
                return Ok(Payload::One(envelope));
            }
        }
        Ok(match super::from_json_bytes::<Value>(bytes)? {
            Value::Object(object) => Payload::One(Envelope::from_object(object)),
            other => Payload::Other(other),
        })
    }

    /// The body as a tree.
    pub fn into_value(self) -> Value {
        match self {
            Payload::One(envelope) => envelope.into_value(),
            Payload::Other(value) => value,
        }
    }
}

impl Envelope {
    /// Takes the members out of a message object.
    pub fn from_object(mut object: Map<String, Value>) -> Self {
        Self {
            jsonrpc: object.remove("jsonrpc"),
            id: object.remove("id"),
            method: object.remove("method"),
            params: object.remove("params"),
            result: object.remove("result"),
            error: object.remove("error"),
        }
    }

    /// Whether it declares JSON-RPC 2.0.
    pub fn is_v2(&self) -> bool {
        self.jsonrpc.as_ref().and_then(Value::as_str) == Some("2.0")
    }

    /// `method`, when it is a string.
    pub fn method(&self) -> Option<&str> {
        self.method.as_ref().and_then(Value::as_str)
    }

    /// `params`, when it is an object.
    pub fn params_object(&self) -> Option<&Map<String, Value>> {
        self.params.as_ref().and_then(Value::as_object)
    }

    /// The message object again, with the members it had.
    pub fn into_value(self) -> Value {
        let mut object = Map::new();
        let members = [
            ("jsonrpc", self.jsonrpc),
            ("id", self.id),
            ("method", self.method),
            ("params", self.params),
            ("result", self.result),
            ("error", self.error),
        ];
        for (name, value) in members {
            if let Some(value) = value {
                object.insert(name.to_string(), value);
            }
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) -> Value {
        Payload::read(text.as_bytes()).unwrap().into_value()
    }

    #[test]
    fn a_message_reads_into_its_members_and_back_unchanged() {
        let messages = [
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "a", "arguments": {"x": [1, {"y": null}]}}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": "s-1", "result": {}}),
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -1, "message": "m"}}),
            json!({"id": 1, "method": "tools/list"}),
            json!({"jsonrpc": 2, "id": 1.5, "method": 7, "params": [1]}),
            json!({}),
        ];
        for message in messages {
            assert_eq!(round_trip(&message.to_string()), message);
        }
    }

    #[test]
    fn absent_and_null_differ() {
        let Payload::One(e) = Payload::read(br#"{"jsonrpc":"2.0","id":null,"method":"m"}"#).unwrap() else {
            panic!("an object")
        };
        assert_eq!(e.id, Some(Value::Null));
        assert!(e.params.is_none() && e.is_v2() && e.method() == Some("m"));
    }

    #[test]
    fn members_json_rpc_does_not_define_are_dropped() {
        assert_eq!(
            round_trip(r#"{"jsonrpc":"2.0","method":"m","extra":1}"#),
            json!({"jsonrpc": "2.0", "method": "m"})
        );
    }

    #[test]
    fn a_member_given_twice_keeps_the_last_as_json_values_do() {
        assert_eq!(round_trip(r#" {"id":1,"method":"a","id":2}"#), json!({"id": 2, "method": "a"}));
    }

    #[test]
    fn batches_scalars_and_non_json() {
        let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}, "2.0", 1]);
        assert!(matches!(
            Payload::read(batch.to_string().as_bytes()).unwrap(),
            Payload::Other(Value::Array(_))
        ));
        assert!(matches!(Payload::read(br#"["2.0", 1, "ping"]"#).unwrap(), Payload::Other(Value::Array(_))));
        assert!(matches!(Payload::read(b"42").unwrap(), Payload::Other(Value::Number(_))));
        assert!(Payload::read(b"{\"id\":").is_err());
        assert!(Payload::read(b"").is_err());
    }
}
