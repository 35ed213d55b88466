//! The import against real published documents (tests/fixtures/openapi) and broken ones.

use serde_json::{Value, json};

use super::*;
use crate::domain::http_tool::{HttpMethod, Location as ArgumentLocation};

fn fixture(name: &str) -> (String, String) {
    let path = format!("{}/tests/fixtures/openapi/{name}", env!("CARGO_MANIFEST_DIR"));
    (name.to_owned(), std::fs::read_to_string(path).unwrap())
}

fn plan_of(files: &[(String, String)]) -> Result<Plan, ImportError> {
    let set = DocumentSet::parse(files)?;
    plan(&set, &Options::default())
}

fn tool<'a>(plan: &'a Plan, name: &str) -> &'a ToolPlan {
    plan.tools.iter().find(|t| t.name == name).unwrap_or_else(|| {
        panic!("no tool {name} in {:?}", plan.tools.iter().map(|t| &t.name).collect::<Vec<_>>())
    })
}

#[test]
fn petstore_3_0_becomes_its_tools() {
    let plan = plan_of(&[fixture("petstore-3.0.yaml")]).unwrap();
    assert_eq!(plan.openapi, "3.0");
    assert_eq!(plan.base_url, "https://petstore3.swagger.io/api/v3");
    assert_eq!(plan.tools.len(), 19, "{:#?}", plan.skipped);

    let get = tool(&plan, "get_pet_by_id");
    assert_eq!(get.method, HttpMethod::Get);
    assert_eq!(get.endpoint_url, "https://petstore3.swagger.io/api/v3/pet/{petId}");
    assert_eq!(get.input_schema["required"], json!(["petId"]));
    assert_eq!(get.input_schema["properties"]["petId"]["type"], "integer");
    assert_eq!(get.input_schema["properties"]["petId"]["format"], "int64");
    // api_key OR petstore_auth: the key is what a tool can carry.
    let auth = get.auth.as_ref().unwrap();
    assert_eq!((auth.kind, auth.name.as_deref()), (AuthKind::ApiKey, Some("api_key")));
    let output = get.output_schema.as_ref().unwrap();
    assert_eq!(output["properties"]["status"]["enum"], json!(["available", "pending", "sold"]));
    assert_eq!(output["properties"]["category"]["properties"]["name"]["type"], "string");

    let add = tool(&plan, "add_pet");
    let body = add.body.as_ref().unwrap();
    assert_eq!((body.argument.as_str(), body.encoding, body.required), ("body", BodyEncoding::Json, true));
    let pet = &add.input_schema["properties"]["body"];
    assert_eq!(pet["required"], json!(["name", "photoUrls"]));
    assert_eq!(pet["properties"]["name"]["examples"], json!(["doggie"]));
    assert!(pet.get("xml").is_none() && pet["properties"]["photoUrls"].get("xml").is_none());
    // Only OAuth (implicit) protects it: imported without a credential, and said so.
    assert!(add.auth.is_none());
    assert!(
        add.warnings
            .iter()
            .any(|w| w.contains("petstore_auth (OAuth 2.0 without a client-credentials flow)")),
        "{:?}",
        add.warnings
    );

    let find = tool(&plan, "find_pets_by_status");
    let status = &find.input_schema["properties"]["status"];
    assert_eq!(status["enum"], json!(["available", "pending", "sold"]));
    assert_eq!(status["default"], "available");
    assert_eq!(find.parameters[0].location, ArgumentLocation::Query);

    // A binary upload is no JSON or form: the optional body is left out, with a warning.
    let upload = tool(&plan, "upload_file");
    assert!(upload.body.is_none());
    assert!(upload.warnings.iter().any(|w| w.contains("application/octet-stream")));
    // The `api_key` header parameter of deletePet stays an argument.
    let delete = tool(&plan, "delete_pet");
    assert!(delete.parameters.iter().any(|p| p.name == "api_key" && p.location == ArgumentLocation::Header));
}

#[test]
fn petstore_3_1_resolves_ids_and_anchors_and_passes_over_what_is_broken() {
    // Its server URL is relative: to where it was fetched from.
    let set = DocumentSet::parse(&[fixture("petstore-3.1.yaml")]).unwrap();
    let options = Options {
        source_url: Some("https://petstore31.swagger.io/api/v31/openapi.yaml".into()),
        ..Default::default()
    };
    let plan = plan(&set, &options).unwrap();
    assert_eq!(plan.openapi, "3.1");
    assert_eq!(plan.base_url, "https://petstore31.swagger.io/api/v31");
    let add = tool(&plan, "add_pet");
    let pet = &add.input_schema["properties"]["body"]["properties"];
    // `$ref: /components/schemas/petdetails#pet_details_id`: a `$id` and an `$anchor`.
    assert_eq!(pet["petDetailsId"]["type"], "integer");
    // `$ref: #/…` unquoted is a YAML comment: a `$ref` of null, passed over and said so.
    assert_eq!(pet["petDetails"], json!({}));
    assert!(
        add.warnings.iter().any(|w| w.contains("petDetails") && w.contains("not a string")),
        "{:?}",
        add.warnings
    );
    // 3.1's numeric exclusive bounds are kept as they are.
    assert_eq!(pet["availableInstances"]["exclusiveMaximum"], 10);
}

#[test]
fn twilio_imports_hundreds_of_form_operations() {
    let plan = plan_of(&[fixture("twilio-api-v2010.yaml")]).unwrap();
    assert!(plan.tools.len() >= 190, "{} tools; skipped {:#?}", plan.tools.len(), plan.skipped);
    let create = tool(&plan, "create_message");
    assert_eq!(create.body.as_ref().unwrap().encoding, BodyEncoding::Form);
    assert_eq!(create.auth.as_ref().unwrap().kind, AuthKind::Basic);
    assert!(create.input_schema["properties"]["body"]["properties"]["To"].is_object());
    let list = tool(&plan, "list_message");
    let before = list.parameters.iter().find(|p| p.wire_name.as_deref() == Some("DateSent<")).unwrap();
    assert_eq!(before.name, "DateSent_lt");
    let names: std::collections::HashSet<&str> = plan.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), plan.tools.len(), "names are unique");
    assert!(plan.tools.iter().all(|t| crate::domain::http_tool::validate_name(&t.name).is_ok()));
}

fn doc(paths: Value, components: Value) -> Vec<(String, String)> {
    let doc = json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
        "servers": [{"url": "https://api.example.com/v1"}], "paths": paths, "components": components});
    vec![("api.json".to_owned(), doc.to_string())]
}

#[test]
fn a_schema_that_contains_itself_is_kept_once_in_defs() {
    let files = doc(
        json!({"/nodes": {"post": {"operationId": "addNode", "requestBody": {"required": true, "content":
            {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}, "responses": {"200":
            {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}}),
        json!({"schemas": {"Node": {"type": "object", "properties": {"name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}}}),
    );
    let plan = plan_of(&files).unwrap();
    let add = tool(&plan, "add_node");
    assert_eq!(add.input_schema["properties"]["body"], json!({"$ref": "#/$defs/Node"}));
    assert_eq!(
        add.input_schema["$defs"]["Node"]["properties"]["children"]["items"],
        json!({"$ref": "#/$defs/Node"})
    );
    assert_eq!(add.output_schema.as_ref().unwrap()["$defs"]["Node"]["properties"]["name"]["type"], "string");
    let validator = jsonschema::validator_for(&add.input_schema).unwrap();
    assert!(validator.is_valid(&json!({"body": {"name": "a", "children": [{"name": "b", "children": []}]}})));
    assert!(!validator.is_valid(&json!({"body": {"children": [{"name": 1}]}})));
}

#[test]
fn references_reach_other_files_of_the_set() {
    let root = json!({"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {"/pets": {"$ref": "paths/pets.json"}}});
    let pets = json!({"get": {"operationId": "listPets", "responses": {"200": {"description": "ok",
        "content": {"application/json": {"schema": {"$ref": "../schemas/page.json#/Page"}}}}}}});
    let page = json!({"Page": {"type": "object", "properties": {"items": {"type": "array"}}}});
    let files = vec![
        ("api.json".to_owned(), root.to_string()),
        ("paths/pets.json".to_owned(), pets.to_string()),
        ("schemas/page.json".to_owned(), page.to_string()),
    ];
    let plan = plan_of(&files).unwrap();
    assert_eq!(
        tool(&plan, "list_pets").output_schema.as_ref().unwrap()["properties"]["items"]["type"],
        "array"
    );
}

#[test]
fn bad_documents_name_the_place() {
    let err = plan_of(&[("a.yaml".into(), "openapi: 3.0.0\npaths: [\n".into())]).unwrap_err();
    assert!(err.message.contains("invalid YAML") && err.message.contains("line"), "{err}");
    let err = plan_of(&[("a.json".into(), r#"{"swagger": "2.0"}"#.into())]).unwrap_err();
    assert!(err.message.contains("Swagger 2.0"), "{err}");
    let err = plan_of(&[("a.json".into(), r#"{"openapi": "4.0.0", "paths": {}}"#.into())]).unwrap_err();
    assert_eq!(err.at, "a.json#/openapi");
    // The only operation's body names a schema that is not there.
    let files = doc(
        json!({"/x": {"post": {"operationId": "x", "requestBody": {"required": true, "content":
            {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}, "responses": {}}}}),
        json!({}),
    );
    let err = plan_of(&files).unwrap_err();
    assert!(
        err.message.contains("api.json#/paths/~1x/post/requestBody/content/application~1json/schema/$ref"),
        "{err}"
    );
    assert!(err.message.contains("#/components/schemas/Nope"), "{err}");
    // Nesting past the limit.
    let deep = format!("{}1{}", "[".repeat(MAX_DEPTH + 10), "]".repeat(MAX_DEPTH + 10));
    let err = plan_of(&[("a.json".into(), format!(r#"{{"openapi": "3.0.0", "x": {deep}}}"#))]).unwrap_err();
    assert!(err.message.contains("nest"), "{err}");
    // A server URL that is relative, with nothing to resolve it against.
    let relative = json!({"openapi": "3.0.0", "info": {}, "servers": [{"url": "/v1"}], "paths": {}});
    let err = plan_of(&[("a.json".into(), relative.to_string())]).unwrap_err();
    assert!(err.message.contains("relative"), "{err}");
}
