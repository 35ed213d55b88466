//! JSON read strictly for the management API: an object that names a member twice is refused.
//! A plain read keeps the last value, so two readers of one body (a proxy or a firewall in
//! front, and Gatehouse) could disagree on what it says; refusing it leaves one meaning.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON value with no object naming a member twice.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let value = Strict::deserialize(&mut reader)?.0;
    reader.end()?;
    Ok(value)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    /// A whole number written with a fraction (`3780.0`) is an integer in JSON Schema, so it
    /// is read as one: an integer field takes it as a request the schema admits.
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact
        if v.fract() == 0.0 && v.abs() < EXACT {
            return Ok(Strict(Value::from(v as i64)));
        }
        Ok(Strict(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Strict, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("the member {key:?} is given twice")));
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Strict(Value::Object(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::from_slice;
    use serde_json::json;

    #[test]
    fn reads_what_serde_json_reads_but_refuses_a_member_given_twice() {
        for text in [r#"{"a":1,"b":[true,null,-2,1.5,"x",{"c":{}}]}"#, "[]", "3", r#""s\u00e9""#] {
            assert_eq!(
                from_slice(text.as_bytes()).unwrap(),
                serde_json::from_str::<serde_json::Value>(text).unwrap()
            );
        }
        assert_eq!(from_slice(br#"{"n": 18446744073709551615}"#).unwrap(), json!({"n": u64::MAX}));
        assert_eq!(from_slice(br#"[3780.0, -2.0, 1.5, 1e300]"#).unwrap(), json!([3780, -2, 1.5, 1e300]));
        let twice = from_slice(br#"{"name":"a","x":{"k":1,"k":2}}"#).unwrap_err();
        assert!(twice.to_string().contains("\"k\" is given twice"), "{twice}");
        assert!(from_slice(br#"{"a":1,"a":1}"#).is_err());
        assert!(from_slice(br#"{"a":1} x"#).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(from_slice(deep.as_bytes()).is_err(), "nesting is bounded");
    }
}
