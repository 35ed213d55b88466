//! The request body of an HTTP tool: how it is written (JSON, or a form) and whether one
//! argument holds all of it (an imported operation's body) or `body` parameters are its members.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a request body is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `application/json`.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`: members as pairs, arrays as repeated names.
    Form,
}

/// The body of a tool's requests, when not the default (body parameters as JSON members).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Body {
    /// `json` (default) or `form`.
    #[serde(default)]
    pub encoding: BodyEncoding,
    /// The argument that holds the whole body; without it, `body` parameters are its members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z0-9_-]{1,64}$"))]
    pub argument: Option<String>,
    /// Whether that argument must be given.
    #[serde(default)]
    pub required: bool,
    /// That argument's JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// What the body is (shown to the model).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 4000))]
    pub description: String,
}

impl Body {
    /// The body of a tool that names none: body parameters as members of a JSON object.
    pub fn members() -> Self {
        Self {
            encoding: BodyEncoding::Json,
            argument: None,
            required: false,
            schema: None,
            description: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::http_tool::{Location, ParamType, Parameter, input_schema, validate};
    use serde_json::json;

    fn whole(argument: &str) -> Body {
        Body {
            argument: Some(argument.into()),
            required: true,
            schema: Some(json!({"type": "object"})),
            ..Body::members()
        }
    }

    #[test]
    fn a_whole_body_argument_stands_alone() {
        let url = "https://api.example.com/v1";
        let query = Parameter::simple("q", Location::Query, ParamType::String, false);
        assert!(validate(url, std::slice::from_ref(&query), Some(&whole("body")), None, 1000).is_ok());
        assert!(
            validate(url, std::slice::from_ref(&query), Some(&whole("q")), None, 1000)
                .unwrap_err()
                .contains("also")
        );
        let member = Parameter::simple("m", Location::Body, ParamType::String, false);
        assert!(validate(url, &[member], Some(&whole("body")), None, 1000).is_err());
        assert!(validate(url, &[], Some(&whole("a b")), None, 1000).is_err());
        let form = Body { encoding: BodyEncoding::Form, ..Body::members() };
        assert!(validate(url, &[], Some(&form), None, 1000).is_ok());
    }

    #[test]
    fn input_schema_takes_schemas_and_the_body() {
        let status = Parameter {
            schema: Some(json!({"type": "string", "enum": ["a", "b"]})),
            description: "Which".into(),
            ..Parameter::simple("status", Location::Query, ParamType::String, true)
        };
        let body = Body {
            schema: Some(json!({"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object"}}})),
            ..whole("body")
        };
        let schema = input_schema(&[status], Some(&body));
        assert_eq!(
            schema["properties"]["status"],
            json!({"type": "string", "enum": ["a", "b"], "description": "Which"})
        );
        assert_eq!(schema["properties"]["body"], json!({"$ref": "#/$defs/Node"}));
        assert_eq!(schema["$defs"]["Node"], json!({"type": "object"}));
        assert_eq!(schema["required"], json!(["status", "body"]));
    }
}
