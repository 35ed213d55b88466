//! The OpenAPI 3.1 document, generated from the registry so it can never drift from the routes.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::registry::{Access, Operation, Registry, path_param_doc};

/// Builds the document.
pub fn document(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for op in registry.operations() {
        let item = paths.entry(op.spec.path.to_string()).or_insert_with(|| json!({}));
        item[op.spec.method.as_str().to_ascii_lowercase()] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse management API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every operation here is also a tool of the management MCP server at /api/mcp."
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "code"],
                    "properties": {
                        "error": {"type": "string", "description": "Human-readable message"},
                        "code": {"type": "string", "description": "Stable snake_case code"}
                    }
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Platform or management token"},
                "managementToken": {"type": "apiKey", "in": "header", "name": "X-Management-Token"}
            }
        }
    })
}

fn operation(op: &Operation) -> Value {
    let mut parameters: Vec<Value> = op
        .path_params
        .iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "description": path_param_doc(p), "schema": {"type": "string"}}))
        .collect();
    let mut out = json!({
        "operationId": op.spec.name,
        "summary": op.spec.summary,
        "tags": [tag(op.spec.path)],
    });
    if op.spec.input_in_query() {
        let required: Vec<&str> = op.input_schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = op.input_schema["properties"].as_object() {
            for (name, schema) in props {
                parameters.push(json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema}));
            }
        }
    } else {
        // An empty body reads as `{}`: it may be left out when no member is required.
        let required = op.input_schema["required"].as_array().is_some_and(|r| !r.is_empty());
        out["requestBody"] =
            json!({"required": required, "content": {"application/json": {"schema": op.input_schema}}});
    }
    out["parameters"] = Value::Array(parameters);
    let success = if op.spec.status == StatusCode::NO_CONTENT {
        json!({"description": "Done"})
    } else {
        json!({"description": "Success", "content": {"application/json": {"schema": op.output_schema}}})
    };
    let error = json!({"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    out["responses"] = json!({ op.spec.status.as_u16().to_string(): success, "default": error });
    if let Some(field) = op.spec.redirect_field {
        out["responses"]["303"] = json!({
            "description": format!("Redirect to the output's `{field}`, when the flow was started there"),
            "headers": {"Location": {"schema": {"type": "string"}}}
        });
    }
    match op.spec.access {
        Access::Public => out["security"] = json!([]),
        Access::Authenticated => out["security"] = json!([{"bearer": []}, {"managementToken": []}]),
        Access::Org(scope) => {
            out["security"] = json!([{"bearer": []}, {"managementToken": []}]);
            out["x-required-scope"] = json!(scope.as_str());
        }
    }
    out
}

/// The resource an operation belongs to (`/api/orgs/{org}/tokens/…` → `tokens`).
fn tag(path: &str) -> String {
    path.split('/')
        .rev()
        .find(|s| !s.is_empty() && !s.starts_with('{') && *s != "api")
        .unwrap_or("system")
        .to_string()
}
