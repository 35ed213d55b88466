//! The OpenAPI document of the authorization server's endpoints (`api/oauth.rs`), served at
//! `/oauth/openapi.json`: they speak OAuth's own formats (form bodies, `{"error": …}`), so they
//! are described apart from the management API's document, and fuzzed apart from it.

use serde_json::{Value, json};

use crate::oauth::clients::MAX_REDIRECT_URIS;
use crate::oauth::scope;

/// The document.
pub fn document() -> Value {
    let error = json!({"description": "An OAuth error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}});
    let object = |r: &str| json!({"$ref": format!("#/components/schemas/{r}")});
    let form = |schema: Value| json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": schema}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse authorization server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OAuth 2.1 for MCP clients: RFC 8414 and RFC 9728 metadata, RFC 7591 registration, the token endpoint and RFC 7009 revocation. The authorization endpoint, /oauth/authorize, is a page where a person signs in and consents."
        },
        "paths": {
            "/.well-known/oauth-authorization-server": {"get": {
                "operationId": "authorization_server_metadata", "summary": "RFC 8414 metadata.",
                "responses": {"200": {"description": "Metadata", "content": {"application/json": {"schema": object("ServerMetadata")}}}}
            }},
            "/.well-known/openid-configuration": {"get": {
                "operationId": "openid_configuration", "summary": "The same metadata, where OpenID clients look.",
                "responses": {"200": {"description": "Metadata", "content": {"application/json": {"schema": object("ServerMetadata")}}}}
            }},
            "/.well-known/oauth-protected-resource/{transport}/{org}/{server}": {"get": {
                "operationId": "protected_resource_metadata",
                "summary": "RFC 9728 metadata of an MCP endpoint (404 unless it accepts sign-in).",
                "parameters": [
                    {"name": "transport", "in": "path", "required": true, "schema": {"type": "string", "enum": ["mcp", "sse"]}},
                    {"name": "org", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "server", "in": "path", "required": true, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "Metadata", "content": {"application/json": {"schema": object("ResourceMetadata")}}},
                    "404": error
                }
            }},
            "/oauth/register": {"post": {
                "operationId": "register_client", "summary": "Dynamic client registration (RFC 7591).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": object("Registration")}}},
                "responses": {
                    "201": {"description": "Registered", "content": {"application/json": {"schema": object("Registered")}}},
                    "400": error, "429": error
                }
            }},
            "/oauth/token": {"post": {
                "operationId": "token", "summary": "Redeem a code (with its PKCE verifier) or rotate a refresh token.",
                "requestBody": form(object("TokenRequest")),
                "responses": {
                    "200": {"description": "Tokens", "content": {"application/json": {"schema": object("Tokens")}}},
                    "400": error, "401": error, "429": error, "500": error
                }
            }},
            "/oauth/revoke": {"post": {
                "operationId": "revoke", "summary": "Revoke a token and its connection (RFC 7009); 200 for unknown tokens too.",
                "requestBody": form(object("Revocation")),
                "responses": {"200": {"description": "Revoked, or nothing to revoke"}, "400": error, "401": error, "429": error}
            }}
        },
        "components": {"schemas": schemas()}
    })
}

fn schemas() -> Value {
    let text = json!({"type": "string"});
    let uris = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "OAuthError": {
            "type": "object", "required": ["error", "error_description"],
            "properties": {"error": text, "error_description": text}
        },
        "ServerMetadata": {
            "type": "object",
            "required": ["issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint", "revocation_endpoint",
                         "response_types_supported", "code_challenge_methods_supported", "client_id_metadata_document_supported"],
            "properties": {
                "issuer": text, "authorization_endpoint": text, "token_endpoint": text, "registration_endpoint": text,
                "revocation_endpoint": text, "scopes_supported": uris, "response_types_supported": uris,
                "response_modes_supported": uris, "grant_types_supported": uris,
                "token_endpoint_auth_methods_supported": uris, "revocation_endpoint_auth_methods_supported": uris,
                "code_challenge_methods_supported": {"type": "array", "items": {"const": "S256"}},
                "client_id_metadata_document_supported": {"type": "boolean"},
                "authorization_response_iss_parameter_supported": {"type": "boolean"}
            }
        },
        "ResourceMetadata": {
            "type": "object", "required": ["resource", "authorization_servers"],
            "properties": {
                "resource": text, "authorization_servers": uris, "scopes_supported": uris,
                "bearer_methods_supported": uris, "resource_name": text
            }
        },
        "Registration": {
            "type": "object", "required": ["redirect_uris"],
            "properties": {
                "redirect_uris": {"type": "array", "items": {"type": "string", "maxLength": 2048}, "minItems": 1, "maxItems": MAX_REDIRECT_URIS},
                "client_name": text,
                "token_endpoint_auth_method": {"type": "string", "enum": ["none", "client_secret_post", "client_secret_basic"]},
                "grant_types": {"type": "array", "items": {"type": "string", "enum": ["authorization_code", "refresh_token"]}},
                "response_types": {"type": "array", "items": {"type": "string", "enum": ["code"]}},
                "application_type": {"type": "string", "enum": ["native", "web"]},
                "client_uri": text,
                "scope": text
            }
        },
        "Registered": {
            "type": "object",
            "required": ["client_id", "client_id_issued_at", "client_name", "redirect_uris", "token_endpoint_auth_method"],
            "properties": {
                "client_id": text, "client_id_issued_at": {"type": "integer"}, "client_name": text, "redirect_uris": uris,
                "token_endpoint_auth_method": text, "grant_types": uris, "response_types": uris, "application_type": text,
                "scope": text, "client_uri": text, "client_secret": text, "client_secret_expires_at": {"type": "integer"}
            }
        },
        "TokenRequest": {
            "type": "object", "required": ["grant_type"],
            "properties": {
                "grant_type": {"type": "string", "enum": ["authorization_code", "refresh_token"]},
                "code": text, "redirect_uri": text, "code_verifier": text, "refresh_token": text,
                "resource": text, "scope": text, "client_id": text, "client_secret": text
            }
        },
        "Tokens": {
            "type": "object", "required": ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
            "properties": {
                "access_token": text, "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"},
                "refresh_token": text, "scope": {"type": "string", "enum": [scope::READ, scope::ALL.join(" ")]}
            }
        },
        "Revocation": {
            "type": "object", "required": ["token"],
            "properties": {"token": text, "token_type_hint": text, "client_id": text, "client_secret": text}
        }
    })
}
