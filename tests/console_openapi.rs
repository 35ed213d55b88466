//! Story: an admin publishes an API from its OpenAPI document in the console — uploads the file,
//! previews the tools with their schemas and what is left out, gives the security scheme its
//! secret and imports; an MCP client (the official Python SDK) calls the tools. Later the API
//! changes: the admin imports it again from its URL, reviews what is added, changed (side by
//! side) and removed, applies, and approves the new and changed tools before they are served.

mod common;

use common::backend::HttpBackend;
use common::browser::{AUDIT, Browser};
use common::files::StaticFiles;
use common::gateway::{create_server, session};
use common::sdk::python_client;
use common::{Backend, TestServer};
use fantoccini::Locator;
use serde_json::{Value, json};

fn petstore() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi/petstore-3.0.yaml")
}

/// Every control labelled and all text readable on the page shown, its `<details>` opened.
async fn accessible(browser: &Browser) {
    browser.eval("document.querySelectorAll('details').forEach(d => d.open = true); return null").await;
    let audit = browser.eval(AUDIT).await;
    let page = browser.path().await;
    assert_eq!(audit["unlabelled"], json!([]), "{page}: controls without a label");
    assert_eq!(audit["low"], json!([]), "{page}: text below 4.5:1 contrast");
}

async fn tool_names(server: &TestServer, slug: &str) -> Vec<String> {
    let mut client = session(server, slug, "2025-11-25").await;
    let listed = client.request("tools/list", json!({})).await.expect(200);
    let mut names: Vec<String> = listed.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn importing_an_uploaded_document(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let api = HttpBackend::start();
    let Some(browser) = Browser::start(&server.base).await else { return };
    let (server_id, slug) = create_server(&server, "Pets").await;
    let secret = server
        .post(
            "/api/orgs/default/secrets",
            None,
            json!({"name": "petstore key", "provider": "generic", "value": "k-9"}),
        )
        .await
        .expect(201);
    let secret_id = secret.body["secret"]["secretId"].as_str().unwrap().to_owned();
    let tools = format!("/orgs/default/servers/{server_id}/tools");

    browser.open(&tools).await;
    browser.go("Import OpenAPI").await;
    accessible(&browser).await;
    // Something that is no OpenAPI document first: refused with the place, the text kept.
    browser.fill("Or paste it", "openapi: 3.0.3\npaths: [").await;
    browser.go("Preview").await;
    let text = browser.text().await;
    assert!(text.contains("invalid YAML at line 3"), "the YAML error names its place: {text}");
    assert_eq!(
        browser.labelled("Or paste it").await.prop("value").await.unwrap().unwrap(),
        "openapi: 3.0.3\npaths: ["
    );

    browser.fill("Or paste it", "").await;
    browser.labelled("Or upload a file").await.send_keys(petstore().to_str().unwrap()).await.unwrap();
    browser.fill("Base URL (optional)", &api.url("/api/v3")).await;
    browser.fill("Tags (optional)", "pet").await;
    browser.go("Preview").await;
    let text = browser.text().await;
    assert!(text.contains("Preview: Swagger Petstore - OpenAPI 3.0"), "{text}");
    assert!(text.contains("Not selected"), "operations of other tags are counted: {text}");
    let planned = browser.find("#planned-tools").await.text().await.unwrap();
    for name in ["add_pet", "get_pet_by_id", "find_pets_by_status"] {
        assert!(planned.contains(name), "{name} in {planned}");
    }
    assert!(planned.contains(&api.url("/api/v3/pet/{petId}")), "{planned}");
    browser.click_text("Schemas of get_pet_by_id").await;
    let schemas = browser
        .client
        .find(Locator::XPath("//details[summary[normalize-space(.)='Schemas of get_pet_by_id']]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(schemas.contains("\"petId\"") && schemas.contains("outputSchema"), "{schemas}");
    accessible(&browser).await;
    browser.choose("api_key", &secret_id).await;
    browser.submit("form[action$='/tools/import'] button[type=submit]").await;

    assert_eq!(browser.path().await, format!("{tools}/imports"));
    let text = browser.text().await;
    assert!(text.contains("Swagger Petstore - OpenAPI 3.0") && text.contains("pasted or uploaded"), "{text}");
    accessible(&browser).await;
    let names = tool_names(&server, &slug).await;
    assert!(
        names.contains(&"get_pet_by_id".to_owned()) && !names.contains(&"get_inventory".to_owned()),
        "{names:?}"
    );

    // An imported tool is shown as served, not as a form that could not hold its schemas.
    browser.open(&tools).await;
    browser.go("get_pet_by_id").await;
    assert!(browser.text().await.contains("Made from the operation GET /pet/{petId}"));
    accessible(&browser).await;

    // The official Python SDK calls one: the request reaches the API with the secret's key.
    let key = server
        .post(&format!("/api/orgs/default/servers/{server_id}/keys"), None, json!({"label": "sdk"}))
        .await
        .expect(201)
        .body["rawValue"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/mcp/default/{slug}", server.base);
    let call = |tool: &'static str, args: Value| {
        let (url, key) = (url.clone(), key.clone());
        tokio::task::spawn_blocking(move || python_client(&url, &key, tool, &args, "auto"))
    };
    let Some(out) = call("find_pets_by_status", json!({"status": "sold"})).await.unwrap() else { return };
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(out["call"]["structuredContent"]["path"], "/api/v3/pet/findByStatus", "{out}");
    assert_eq!(out["call"]["structuredContent"]["query"]["status"], "sold", "{out}");
    // getPetById uses the api_key scheme: the key from the secret goes in its header. (The echo
    // backend's answer is no Pet, so the result is the error quoting it, not structured content.)
    let out = call("get_pet_by_id", json!({"petId": 3})).await.unwrap().unwrap();
    assert_eq!(out["call"]["isError"], true, "{out}");
    let answer = out["call"]["content"][0]["text"].as_str().unwrap_or_default();
    assert!(answer.contains(r#""path": "/api/v3/pet/3""#) && answer.contains(r#""api_key": "k-9""#), "{out}");
    browser.close().await;
}

fn api(operations: Value) -> String {
    json!({"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"},
           "servers": [{"url": "https://pets.example/v1"}], "paths": operations})
    .to_string()
}

async fn reimporting_a_changed_api(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let Some(browser) = Browser::start(&server.base).await else { return };
    let (server_id, slug) = create_server(&server, "Pets").await;
    let dir = tempfile::tempdir().unwrap();
    let id_param = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let list = json!({"get": {"operationId": "listPets", "summary": "List pets", "responses": {"200": {"description": "ok"}}}});
    let get = json!({"get": {"operationId": "getPet", "summary": "Read a pet", "parameters": id_param,
        "responses": {"200": {"description": "ok"}}}});
    let document = dir.path().join("openapi.json");
    std::fs::write(&document, api(json!({"/pets": list, "/pets/{id}": get}))).unwrap();
    let files = StaticFiles::serve(dir.path());
    let tools = format!("/orgs/default/servers/{server_id}/tools");

    browser.open(&format!("{tools}/import")).await;
    browser.fill("Document URL", &format!("{}/openapi.json", files.base)).await;
    browser.go("Preview").await;
    browser.submit("form[action$='/tools/import'] button[type=submit]").await;
    assert_eq!(tool_names(&server, &slug).await, ["get_pet", "list_pets"]);

    // The API changes: listPets described anew, getPet gone, deletePet new.
    let changed = json!({"get": {"operationId": "listPets", "summary": "List every pet", "responses": {"200": {"description": "ok"}}}});
    let delete = json!({"delete": {"operationId": "deletePet", "parameters": id_param, "responses": {"204": {"description": "gone"}}}});
    std::fs::write(&document, api(json!({"/pets": changed, "/pets/{id}": delete}))).unwrap();
    browser.go("Re-import").await;
    assert!(browser.text().await.contains("Leave these empty to fetch it again from"));
    accessible(&browser).await;
    browser.go("Preview").await;
    let summary = browser.find("#reimport-summary").await.text().await.unwrap();
    assert_eq!(summary, "1 added, 1 changed, 1 removed, 0 unchanged.");
    accessible(&browser).await;
    assert!(browser.find("#added-tools + ul").await.text().await.unwrap().contains("delete_pet"));
    assert!(browser.find("#removed-tools + ul").await.text().await.unwrap().contains("get_pet"));
    let card = browser.find("section.changed").await.text().await.unwrap();
    assert!(card.contains("“list_pets” changes") && card.contains("Changed: description"), "{card}");
    let removed = browser.find("table.diff td.del").await.text().await.unwrap();
    let added = browser.find("table.diff td.ins").await.text().await.unwrap();
    assert!(removed.contains("List pets") && added.contains("List every pet"), "{removed} / {added}");
    assert_eq!(tool_names(&server, &slug).await, ["get_pet", "list_pets"], "a preview changes nothing");

    browser.go("Apply changes").await;
    assert_eq!(browser.path().await, tools);
    assert_eq!(browser.client.find_all(Locator::Css(".badge.warn")).await.unwrap().len(), 2);
    assert!(tool_names(&server, &slug).await.is_empty(), "added and changed tools wait for approval");
    accessible(&browser).await;
    // The changed tool's page shows what was approved beside what it is now.
    browser.go("list_pets").await;
    let card = browser.find("section.changed").await.text().await.unwrap();
    assert!(card.contains("Changed since it was approved"), "{card}");
    let removed = browser.find("table.diff td.del").await.text().await.unwrap();
    assert!(removed.contains("List pets"), "{removed}");
    accessible(&browser).await;
    browser.submit("button[aria-label='Approve list_pets']").await;
    assert_eq!(browser.path().await, tools);
    assert_eq!(tool_names(&server, &slug).await, ["list_pets"]);
    browser.submit("button[aria-label='Approve delete_pet']").await;
    assert!(!browser.has(".badge.warn").await);
    assert_eq!(tool_names(&server, &slug).await, ["delete_pet", "list_pets"]);

    // Deleting the import takes its tools.
    browser.open(&format!("{tools}/imports")).await;
    browser.eval("window.confirm = () => true; return null").await;
    browser.submit("button[aria-label='Delete Pets']").await;
    assert!(browser.text().await.contains("No imports yet"));
    assert!(tool_names(&server, &slug).await.is_empty());
    browser.close().await;
}

backend_tests!(importing_an_uploaded_document, reimporting_a_changed_api);
