//! Story: an admin points Gatehouse at an API's OpenAPI document — pasted, or published at a
//! URL (a real file server on loopback), one file or several — and previews the tools its
//! operations would become: names, schemas, what is skipped and why, which names clash. Bad
//! documents get an error naming the place, and nothing changes.

mod common;

use common::backend::HttpBackend;
use common::files::StaticFiles;
use common::gateway::{call, create_server, session, text_of};
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

fn tool<'a>(preview: &'a Value, name: &str) -> &'a Value {
    preview["preview"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name} in {preview}"))
}

async fn previews_show_what_would_be_made(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let (server_id, _) = create_server(&server, "Pets").await;
    let path = format!("/api/orgs/default/servers/{server_id}/openapi/preview");

    // Pasted YAML.
    let r = server.post(&path, None, json!({"document": fixture("petstore-3.0.yaml")})).await.expect(200);
    assert_eq!(r.body["preview"]["title"], "Swagger Petstore - OpenAPI 3.0");
    assert_eq!(r.body["preview"]["tools"].as_array().unwrap().len(), 19);
    let get = tool(&r.body, "get_pet_by_id");
    assert_eq!(get["endpointUrl"], "https://petstore3.swagger.io/api/v3/pet/{petId}");
    assert_eq!(get["auth"], json!({"scheme": "api_key", "kind": "api_key", "name": "api_key"}));
    assert_eq!(get["outputSchema"]["properties"]["status"]["enum"], json!(["available", "pending", "sold"]));
    assert_eq!(r.body["conflicts"], json!([]));

    // A tool of that name already there: a conflict is named.
    server
        .post(
            &format!("/api/orgs/default/servers/{server_id}/tools"),
            None,
            json!({"name": "add_pet", "description": "by hand", "method": "GET", "endpointUrl": "https://a.example/x"}),
        )
        .await
        .expect(201);
    let selected = json!({"document": fixture("petstore-3.0.yaml"), "select": {"tags": ["pet"]}});
    let r = server.post(&path, None, selected).await.expect(200);
    assert_eq!(r.body["conflicts"], json!(["add_pet"]));
    let skipped = r.body["preview"]["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["operation"] == "GET /store/inventory" && s["reason"] == "not selected")
    );

    // Fetched from where it is published; its relative server URL resolves against that.
    let files = StaticFiles::serve(&fixtures());
    let r = server
        .post(&path, None, json!({"url": format!("{}/petstore-3.1.yaml", files.base)}))
        .await
        .expect(200);
    assert_eq!(r.body["preview"]["baseUrl"], format!("{}/api/v31", files.base));
    // A document split over files: the ones it references are fetched beside it.
    let r = server
        .post(&path, None, json!({"url": format!("{}/split/openapi.yaml", files.base)}))
        .await
        .expect(200);
    let list = tool(&r.body, "list_pets");
    assert_eq!(list["endpointUrl"], format!("{}/v1/pets", files.base));
    assert_eq!(
        list["outputSchema"]["properties"]["items"]["items"]["properties"]["kind"]["enum"],
        json!(["cat", "dog"])
    );
    assert_eq!(list["inputSchema"]["properties"]["limit"]["maximum"], 100);
    // The same set given as text, with its other files by their relative paths.
    let given = json!({"document": fixture("split/openapi.yaml"), "baseUrl": "https://pets.example/v1", "files": {
        "paths/pets.yaml": fixture("split/paths/pets.yaml"),
        "schemas/page.yaml": fixture("split/schemas/page.yaml"),
        "schemas/pet.yaml": fixture("split/schemas/pet.yaml")}});
    let r = server.post(&path, None, given).await.expect(200);
    assert_eq!(tool(&r.body, "list_pets")["endpointUrl"], "https://pets.example/v1/pets");
}

async fn bad_documents_are_refused_naming_the_place(backend: Backend) {
    let (server, admin) =
        TestServer::enterprise_with(backend, Options { deny_private_networks: true, ..Default::default() })
            .await;
    server.create_org(&admin, "acme").await;
    let s = server.post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Pets"})).await.expect(201);
    let server_id = s.body["server"]["serverId"].as_str().unwrap().to_owned();
    let path = format!("/api/orgs/acme/servers/{server_id}/openapi/preview");
    let refused = |body: Value, words: &'static str| {
        let (server, admin, path) = (&server, &admin, &path);
        async move {
            let r = server.post(path, Some(admin), body).await;
            assert_eq!(r.status, 422, "{}", r.text);
            assert!(r.text.contains(words), "{words}: {}", r.text);
        }
    };
    refused(json!({"document": "openapi: 3.0.0\npaths: [\n"}), "line").await;
    refused(json!({"document": "{\"swagger\": \"2.0\"}"}), "Swagger 2.0").await;
    refused(json!({"document": "{\"openapi\": \"4.0.0\"}"}), "openapi#/openapi").await;
    let dangling = json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
        "servers": [{"url": "https://api.example.com"}], "paths": {"/x": {"post": {"operationId": "x",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}},
        "responses": {}}}}});
    refused(json!({"document": dangling.to_string()}), "requestBody/content/application~1json/schema/$ref")
        .await;
    let deep = format!("{{\"openapi\": \"3.0.0\", \"x\": {}1{}}}", "[".repeat(100), "]".repeat(100));
    refused(json!({"document": deep}), "nest").await;
    // A URL on a private address: the outbound network policy refuses to fetch it.
    let files = StaticFiles::serve(&fixtures());
    refused(json!({"url": format!("{}/petstore-3.0.yaml", files.base)}), "private").await;
    refused(json!({"url": "http://169.254.169.254/latest/openapi.json"}), "169.254.169.254").await;
    refused(json!({"document": "{}", "url": "https://a.example/x"}), "not both").await;
    refused(
        json!({"document": fixture("petstore-3.0.yaml"), "select": {"paths": ["/pet/[a"]}}),
        "select.paths",
    )
    .await;
    // Past the size limit: refused before it is read.
    // The server answers 413 from the declared length and closes the connection, which can
    // reach the client while it is still writing the body: then it sees the connection closed.
    let huge = json!({"document": "x".repeat(17 * 1024 * 1024)});
    let sent = server.request(reqwest::Method::POST, &path).bearer_auth(&admin).json(&huge).send().await;
    match sent {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(e.is_request() && !e.is_timeout(), "{e}"),
    }
    // Nothing was made.
    let tools =
        server.get(&format!("/api/orgs/acme/servers/{server_id}/tools"), Some(&admin)).await.expect(200);
    assert_eq!(tools.body["total"], 0);
}

/// Applied, the import's tools call the API as its document says, the credential from the
/// secret given for its scheme; a second import of the same names is refused; deleting the
/// import takes its tools.
async fn an_import_makes_tools_that_call_the_api(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let api = HttpBackend::start();
    let (server_id, slug) = create_server(&server, "Pets").await;
    let secret = server
        .post(
            "/api/orgs/default/secrets",
            None,
            json!({"name": "petstore key", "provider": "generic", "value": "k-123"}),
        )
        .await
        .expect(201);
    let secret_id = secret.body["secret"]["secretId"].as_str().unwrap().to_owned();
    let imports = format!("/api/orgs/default/servers/{server_id}/openapi-imports");
    let input = json!({"source": {"document": fixture("petstore-3.0.yaml"), "baseUrl": api.url("/api/v3")},
                       "credentials": {"api_key": {"secretId": secret_id}}});
    let made = server.post(&imports, None, input.clone()).await.expect(201);
    assert_eq!(made.body["import"]["tools"].as_array().unwrap().len(), 19);
    assert_eq!(made.body["import"]["title"], "Swagger Petstore - OpenAPI 3.0");
    assert!(made.body.get("missingCredentials").is_none(), "{}", made.text);
    let import_id = made.body["import"]["importId"].as_str().unwrap().to_owned();

    let mut client = session(&server, &slug, "2025-11-25").await;
    let listed = client.request("tools/list", json!({})).await.expect(200);
    let tools = listed.body["result"]["tools"].as_array().unwrap();
    let get = tools.iter().find(|t| t["name"] == "get_pet_by_id").unwrap();
    assert_eq!(get["outputSchema"]["properties"]["name"]["type"], "string");
    // The echo backend answers with what it received, which is no Pet: not passed off as the
    // structured content the outputSchema describes, but an error quoting the answer.
    let reply = call(&mut client, "get_pet_by_id", json!({"petId": 7})).await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = text_of(&reply);
    assert!(text.contains("outputSchema"), "{text}");
    assert!(text.contains(r#""path": "/api/v3/pet/7""#), "{text}");
    assert!(
        text.contains(r#""api_key": "k-123""#),
        "the key from the secret, in the scheme's header: {text}"
    );
    let reply = call(
        &mut client,
        "add_pet",
        json!({"body": {"name": "doggie", "photoUrls": ["p"], "status": "sold"}}),
    )
    .await;
    let text = text_of(&reply);
    assert!(text.contains(r#""body": {"name": "doggie", "photoUrls": ["p"], "status": "sold"}"#), "{text}");
    assert!(text.contains(r#""content-type": "application/json""#), "{text}");
    let reply = call(&mut client, "find_pets_by_status", json!({"status": "lost"})).await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");

    // The same names again: refused, naming them; nothing added.
    let again = server.post(&imports, None, input).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.text.contains("get_pet_by_id"), "{}", again.text);
    let listed = server.get(&imports, None).await.expect(200);
    assert_eq!(listed.body["imports"].as_array().unwrap().len(), 1);
    server.get(&format!("{imports}/{import_id}"), None).await.expect(200);

    server.delete(&format!("{imports}/{import_id}"), None).await.expect(204);
    let tools = server.get(&format!("/api/orgs/default/servers/{server_id}/tools"), None).await.expect(200);
    assert_eq!(tools.body["total"], 0);
    let listed = client.request("tools/list", json!({})).await.expect(200);
    assert_eq!(listed.body["result"]["tools"], json!([]));
}

/// The API changes and is imported again: the difference is shown, then applied; what it adds
/// or changes is not served until approved (the import's policy is manual), what it removes is
/// gone.
async fn a_changed_api_is_imported_again_under_approval(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Pets").await;
    let dir = tempfile::tempdir().unwrap();
    let api = |operations: Value| {
        json!({"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"},
               "servers": [{"url": "https://pets.example/v1"}], "paths": operations})
        .to_string()
    };
    let list = json!({"get": {"operationId": "listPets", "summary": "List pets", "responses": {"200": {"description": "ok"}}}});
    let get = json!({"get": {"operationId": "getPet", "summary": "Read a pet",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}}}});
    let document = dir.path().join("openapi.json");
    std::fs::write(&document, api(json!({"/pets": list, "/pets/{id}": get}))).unwrap();
    let files = StaticFiles::serve(dir.path());
    let imports = format!("/api/orgs/default/servers/{server_id}/openapi-imports");
    let made = server
        .post(&imports, None, json!({"source": {"url": format!("{}/openapi.json", files.base)}}))
        .await
        .expect(201);
    assert_eq!(made.body["import"]["approvalPolicy"], "manual");
    let import = made.body["import"]["importId"].as_str().unwrap().to_owned();

    // The API now: listPets described anew, getPet gone, deletePet new.
    let changed = json!({"get": {"operationId": "listPets", "summary": "List every pet", "responses": {"200": {"description": "ok"}}}});
    let delete = json!({"delete": {"operationId": "deletePet",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "responses": {"204": {"description": "gone"}}}});
    std::fs::write(&document, api(json!({"/pets": changed, "/pets/{id}": delete}))).unwrap();
    let diff = server.post(&format!("{imports}/{import}/preview"), None, json!({})).await.expect(200);
    let entry = |key: &str| {
        let list = diff.body[key].as_array().unwrap();
        assert_eq!(list.len(), 1, "{key}: {}", diff.text);
        list[0].clone()
    };
    let (added, changed, removed) = (entry("added"), entry("changed"), entry("removed"));
    assert_eq!((&added["name"], &added["operation"]), (&json!("delete_pet"), &json!("DELETE /pets/{id}")));
    assert_eq!(added["after"]["method"], "DELETE");
    assert!(added.get("before").is_none(), "{added}");
    assert_eq!((&changed["name"], &changed["fields"]), (&json!("list_pets"), &json!(["description"])));
    // A changed tool's definitions, before and after, as the API shows tools (no ids or times).
    assert_eq!(
        (&changed["before"]["description"], &changed["after"]["description"]),
        (&json!("List pets"), &json!("List every pet"))
    );
    assert!(changed["before"].get("toolId").is_none() && changed["before"].get("updatedAt").is_none());
    assert_eq!(changed["before"]["inputSchema"], changed["after"]["inputSchema"]);
    assert_eq!((&removed["name"], &removed["operation"]), (&json!("get_pet"), &json!("GET /pets/{id}")));
    assert!(removed["before"].is_object() && removed.get("after").is_none(), "{removed}");
    assert_eq!(diff.body["approvalState"], "pending");
    // A preview changes nothing.
    let tools = server.get(&format!("/api/orgs/default/servers/{server_id}/tools"), None).await.expect(200);
    assert_eq!(tools.body["total"], 2);

    server.post(&format!("{imports}/{import}/apply"), None, json!({})).await.expect(200);
    let mut client = session(&server, &slug, "2025-11-25").await;
    let names = |listed: &Value| {
        listed["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let listed = client.request("tools/list", json!({})).await.expect(200);
    assert!(names(&listed.body).is_empty(), "added and changed tools wait for approval: {}", listed.text);
    let reply = call(&mut client, "list_pets", json!({})).await;
    assert!(reply.get("error").is_some() || reply["result"]["isError"] == true, "{reply}");

    let tools = server.get(&format!("/api/orgs/default/servers/{server_id}/tools"), None).await.expect(200);
    let tools = tools.body["tools"].as_array().unwrap().clone();
    assert_eq!(tools.len(), 2);
    let listed_pets = tools.iter().find(|t| t["name"] == "list_pets").unwrap();
    assert_eq!(
        (listed_pets["approvalState"].as_str(), listed_pets["description"].as_str()),
        (Some("pending"), Some("List every pet"))
    );
    // What was approved is kept beside the change until it is approved in turn.
    assert_eq!(listed_pets["approvedDefinition"]["description"], "List pets", "{listed_pets}");
    assert!(listed_pets["approvedDefinition"].get("toolId").is_none());
    let added = tools.iter().find(|t| t["name"] == "delete_pet").unwrap();
    assert!(added.get("approvedDefinition").is_none(), "never approved: {added}");
    let tool_id = listed_pets["toolId"].as_str().unwrap();
    server
        .patch(
            &format!("/api/orgs/default/servers/{server_id}/tools/{tool_id}"),
            None,
            json!({"approvalState": "approved"}),
        )
        .await
        .expect(200);
    let listed = client.request("tools/list", json!({})).await.expect(200);
    assert_eq!(names(&listed.body), ["list_pets"]);
    let approved =
        server.get(&format!("/api/orgs/default/servers/{server_id}/tools/{tool_id}"), None).await.expect(200);
    assert!(approved.body["tool"].get("approvedDefinition").is_none(), "{}", approved.text);
    // Nothing changed since: a re-import is all unchanged.
    let diff = server.post(&format!("{imports}/{import}/preview"), None, json!({})).await.expect(200);
    assert_eq!(
        (diff.body["unchanged"].as_u64(), diff.body["changed"].as_array().map(Vec::len)),
        (Some(2), Some(0))
    );
}

backend_tests!(
    a_changed_api_is_imported_again_under_approval,
    previews_show_what_would_be_made,
    bad_documents_are_refused_naming_the_place,
    an_import_makes_tools_that_call_the_api
);
