//! Tests of HTTP tool definitions: names, placeholders, headers, schemas, credentials.

use super::*;

fn param(name: &str, location: Location, required: bool) -> Parameter {
    Parameter::simple(name, location, ParamType::String, required)
}

#[test]
fn names_are_snake_case() {
    assert!(validate_name("get_weather").is_ok());
    for bad in ["GetWeather", "get-weather", "1tool", "", "a b"] {
        assert!(validate_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn placeholders_must_match_path_parameters() {
    let url = "https://api.example.com/users/{id}/posts";
    assert!(validate(url, &[param("id", Location::Path, true)], None, None, 1000).is_ok());
    assert!(validate(url, &[], None, None, 1000).unwrap_err().contains("{id}"));
    assert!(validate("https://x.example/a", &[param("id", Location::Path, true)], None, None, 1000).is_err());
    assert!(validate(url, &[param("id", Location::Path, false)], None, None, 1000).is_err());
    assert!(validate("https://x.example/{a", &[], None, None, 1000).is_err());
    assert!(validate("ftp://x.example/", &[], None, None, 1000).is_err());
    assert!(validate("/relative", &[], None, None, 1000).is_err());
    assert!(
        validate(
            url,
            &[param("id", Location::Path, true), param("id", Location::Query, false)],
            None,
            None,
            1000
        )
        .is_err()
    );
    assert!(validate(url, &[param("id", Location::Path, true)], None, None, 0).is_err());
}

#[test]
fn header_parameters_leave_the_headers_gatehouse_sets_alone() {
    let url = "https://api.example.com/v1";
    let header = |name: &str| param(name, Location::Header, false);
    assert!(validate(url, &[header("X-Trace")], None, None, 1000).is_ok());
    for name in ["Authorization", "accept", "Host", "User-Agent", "Content-Type", "Transfer-Encoding"] {
        assert!(validate(url, &[header(name)], None, None, 1000).unwrap_err().contains(name), "{name}");
    }
    // The header an API-key credential goes in, whatever its case.
    assert!(validate(url, &[header("x-key")], None, Some(CredentialPlace::Header("X-Key")), 1000).is_err());
    // Nor the query parameter a key goes in.
    let key = Some(CredentialPlace::Query("key"));
    assert!(validate(url, &[param("key", Location::Query, false)], None, key, 1000).is_err());
    let renamed = Parameter { wire_name: Some("key".into()), ..param("k", Location::Query, false) };
    assert!(validate(url, &[renamed], None, key, 1000).is_err());
    // A query parameter may have any of these names: it is no header.
    assert!(validate(url, &[param("accept", Location::Query, false)], None, None, 1000).is_ok());
}

#[test]
fn input_schema_has_a_property_per_parameter() {
    let schema = input_schema(
        &[
            Parameter { description: "City name".into(), ..param("city", Location::Query, true) },
            param("units", Location::Query, false),
        ],
        None,
    );
    assert_eq!(
        schema,
        json!({"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "units": {"type": "string"}}, "required": ["city"]})
    );
}

#[test]
fn credentials_are_checked_per_type() {
    assert!(validate_credential(AuthType::Basic, "user:pw", None).is_ok());
    assert!(validate_credential(AuthType::Basic, "userpw", None).is_err());
    assert!(validate_credential(AuthType::ApiKey, "k", None).is_err());
    assert!(validate_credential(AuthType::ApiKey, "k", Some("X-Api-Key")).is_ok());
    assert!(validate_credential(AuthType::ApiKey, "k", Some("bad header")).is_err());
    assert!(validate_credential(AuthType::Bearer, "", None).is_err());
}
