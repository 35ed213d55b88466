//! A `tools/call` request read without a tree for anything but its arguments.
//!
//! Why: a tools/call is the message a data plane reads tens of thousands of times a second,
//! and reading it into an [`Envelope`] builds a `Value` tree of its whole `params` (the
//! params object, `_meta` and its capabilities, every key and string allocated, then all of
//! it freed): ~8 k instructions of a ~65 k HTTP-tool call. Here the envelope's members and the
//! tool's name are borrowed from the body, `_meta` is kept as its text and only
//! `io.modelcontextprotocol/protocolVersion` read out of it, and only `arguments` (which a
//! tool call needs as values) becomes a tree.
//!
//! Only a message of exactly that shape is read so; anything else (another method, a member of
//! `params` not listed here, a member given twice, a `jsonrpc` other than `"2.0"`, an id that
//! is not a string or an integer) is `None`, and the caller reads it the general way
//! ([`Payload::read`](super::Payload::read)), so what is answered never depends on which way
//! a message was read. [`ToolCall::into_envelope`] gives the general form of one read here.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Envelope, is_id};

/// A `tools/call` request, its members borrowed from the body where they can be.
#[derive(Debug)]
pub struct ToolCall<'a> {
    /// `id`: a string or an integer ([`is_id`]).
    pub id: Value,
    /// `params.name`.
    pub name: Cow<'a, str>,
    /// `params.arguments` as given (`Some(Value::Null)` when it is `null`; the caller checks
    /// that it is an object).
    pub arguments: Option<Value>,
    /// `params._meta` as its text, when present.
    pub meta: Option<&'a RawValue>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when it is a string.
    pub meta_version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: Value,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: Params<'a>,
}

/// Every member a tool call's params may have that this reader keeps; any other member makes
/// the message one for the general way, which keeps them all.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, deserialize_with = "present")]
    arguments: Option<Value>,
    #[serde(rename = "_meta", default, borrow)]
    meta: Option<&'a RawValue>,
}

/// The one member of `_meta` read here; the others are skipped over.
#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default, borrow)]
    version: Option<MaybeText<'a>>,
}

/// A JSON value that is kept only when it is a string (the general way reads a version that
/// is not a string as absent).
enum MaybeText<'a> {
    Text(Cow<'a, str>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for MaybeText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeText::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeText::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeText::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeText::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeText::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(MaybeText::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(MaybeText::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A present member, `null` included (serde's `Option` would make `null` absent).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl<'a> ToolCall<'a> {
    /// Reads `text` when it is a JSON-RPC 2.0 `tools/call` request of the shape above; `None`
    /// for anything else, valid or not (the general way then reads it and answers it).
    pub fn read(text: &'a str) -> Option<Self> {
        // An object only: serde's derived structs would also take an array of members in order.
        if text.trim_start().as_bytes().first() != Some(&b'{') {
            return None;
        }
        let wire: Wire<'a> = serde_json::from_str(text).ok()?;
        if wire.jsonrpc != "2.0" || wire.method != "tools/call" || !is_id(&wire.id) {
            return None;
        }
        let Params { name, arguments, meta } = wire.params;
        let meta_version = match meta {
            // `_meta` that is not an object: the general way answers it.
            Some(raw) if !raw.get().starts_with('{') => return None,
            Some(raw) => match serde_json::from_str::<Meta<'a>>(raw.get()).ok()?.version {
                Some(MaybeText::Text(v)) => Some(v),
                _ => None,
            },
            None => None,
        };
        Some(ToolCall { id: wire.id, name, arguments, meta, meta_version })
    }

    /// The same message as the general way reads it.
    pub fn into_envelope(self) -> Envelope {
        let mut params = Map::new();
        params.insert("name".into(), Value::String(self.name.into_owned()));
        if let Some(arguments) = self.arguments {
            params.insert("arguments".into(), arguments);
        }
        if let Some(meta) = self.meta {
            // Text this reader has just read as JSON reads again as JSON.
            params.insert("_meta".into(), serde_json::from_str(meta.get()).unwrap_or(Value::Null));
        }
        Envelope {
            jsonrpc: Some(Value::String("2.0".into())),
            id: Some(self.id),
            method: Some(Value::String("tools/call".into())),
            params: Some(Value::Object(params)),
            result: None,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::Payload;
    use crate::version::META_PROTOCOL_VERSION;
    use serde_json::json;

    /// The general way's reading of a body, as a tree.
    fn general(text: &str) -> Value {
        Payload::read(text.as_bytes()).unwrap().into_value()
    }

    /// `params._meta["io.modelcontextprotocol/protocolVersion"]` as the general way reads it.
    fn meta_version(envelope: &Envelope) -> Option<&str> {
        envelope
            .params
            .as_ref()
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .and_then(Value::as_str)
    }

    #[test]
    fn a_tool_call_reads_as_the_general_way_reads_it() {
        let calls = [
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_weather",
                "arguments": {"city": "Lisbon", "n": [1, {"x": null}]},
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}, "progressToken": 3}}}),
            json!({"method": "tools/call", "params": {"name": "a"}, "id": "r-1", "jsonrpc": "2.0"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "a", "arguments": null}}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "a",
                "_meta": {"io.modelcontextprotocol/protocolVersion": 7}}}),
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "extra": true, "params": {"name": "a"}}),
        ];
        for call in calls {
            let text = serde_json::to_string(&call).unwrap();
            let read = ToolCall::read(&text).unwrap_or_else(|| panic!("not read: {text}"));
            let version = read.meta_version.as_deref().map(str::to_owned);
            let envelope = read.into_envelope();
            assert_eq!(version.as_deref(), meta_version(&envelope), "{text}");
            assert_eq!(envelope.into_value(), general(&text), "{text}");
        }
        // Escapes in the borrowed members.
        let text = r#"{"jsonrpc":"2\u002e0","id":1,"method":"tools\/call","params":{"name":"a\"b",
            "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-2\u0038"}}}"#;
        let read = ToolCall::read(text).unwrap();
        assert_eq!((read.name.as_ref(), read.meta_version.as_deref()), ("a\"b", Some("2026-07-28")));
    }

    #[test]
    fn anything_else_is_left_to_the_general_way() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"a"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"a"}}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"a"}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"a"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","task":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"a"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":[]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"io.modelcontextprotocol/protocolVersion":"x","io.modelcontextprotocol/protocolVersion":"y"}}}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}]"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}"#,
            "",
            "not json",
        ] {
            assert!(ToolCall::read(text).is_none(), "{text}");
        }
    }
}
