//! Story: an admin publishes an API that takes OAuth 2.0 client credentials — by hand, or from
//! its OpenAPI document — giving the client's id and, as a secret, its secret. Gatehouse asks
//! the API's token endpoint (a real one on loopback) for a token on the first call, reuses it,
//! asks again when the API refuses it, and never shows the secret.

mod common;

use common::backend::ClientCredentialsApi;
use common::browser::Browser;
use common::gateway::{call, create_server, session, text_of};
use common::{Backend, TestServer};
use serde_json::{Value, json};

async fn secret(server: &TestServer, name: &str, value: &str) -> String {
    let made = server
        .post("/api/orgs/default/secrets", None, json!({"name": name, "provider": "generic", "value": value}))
        .await
        .expect(201);
    made.body["secret"]["secretId"].as_str().unwrap().to_owned()
}

fn structured(reply: &Value) -> &Value {
    assert_ne!(reply["result"]["isError"], true, "{reply}");
    &reply["result"]["structuredContent"]
}

async fn a_tool_gets_its_token_and_a_new_one_when_refused(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let api = ClientCredentialsApi::start("gh-client", "s3cr3t-value", 3600);
    let (server_id, slug) = create_server(&server, "Pets").await;
    let secret_id = secret(&server, "client secret", "s3cr3t-value").await;
    let tools = format!("/api/orgs/default/servers/{server_id}/tools");
    let definition = |auth: Value| {
        json!({"name": "list_pets", "description": "List pets", "method": "GET",
               "endpointUrl": api.url("/pets"), "auth": auth})
    };
    let grant = json!({"tokenUrl": api.url("/oauth/token"), "clientId": "gh-client", "scope": "pets:read"});

    // Refused when the grant is missing, or given to another auth type; nothing stored.
    let r = server
        .post(&tools, None, definition(json!({"type": "oauth_client_credentials", "secretId": secret_id})))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("auth.oauth"), "{}", r.text);
    let r = server
        .post(&tools, None, definition(json!({"type": "bearer", "secretId": secret_id, "oauth": grant})))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let bad = json!({"tokenUrl": "token", "clientId": "gh-client"});
    let r = server
        .post(
            &tools,
            None,
            definition(json!({"type": "oauth_client_credentials", "secretId": secret_id, "oauth": bad})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("tokenUrl"), "{}", r.text);
    assert_eq!(server.get(&tools, None).await.expect(200).body["total"], 0);

    let made = server
        .post(
            &tools,
            None,
            definition(json!({"type": "oauth_client_credentials", "secretId": secret_id, "oauth": grant})),
        )
        .await
        .expect(201);
    assert_eq!(made.body["tool"]["auth"]["oauth"], grant, "{}", made.text);
    assert!(!made.text.contains("s3cr3t"), "{}", made.text);

    let mut client = session(&server, &slug, "2025-11-25").await;
    let first = call(&mut client, "list_pets", json!({})).await;
    assert_eq!(structured(&first)["token"], "tok-1");
    assert_eq!(structured(&first)["scope"], "pets:read");
    let second = call(&mut client, "list_pets", json!({})).await;
    assert_eq!(structured(&second)["token"], "tok-1", "the token is kept");
    assert_eq!(api.stats().await["issued"], 1);

    // The API revokes it early: the call is answered after one new token, without an error.
    api.revoke_all().await;
    let third = call(&mut client, "list_pets", json!({})).await;
    assert_eq!(structured(&third)["token"], "tok-2", "{third}");
    assert_eq!(api.stats().await["issued"], 2);

    // A wrong client secret: an error result naming the token endpoint's answer, not the secret.
    let wrong = secret(&server, "stale client secret", "not-the-secret").await;
    let tool_id = made.body["tool"]["toolId"].as_str().unwrap();
    server
        .patch(
            &format!("{tools}/{tool_id}"),
            None,
            json!({"auth": {"type": "oauth_client_credentials", "secretId": wrong}}),
        )
        .await
        .expect(200);
    let refused = call(&mut client, "list_pets", json!({})).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let text = text_of(&refused);
    assert!(text.contains("OAuth token") && text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
}

async fn an_imported_scheme_carries_the_grant(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let api = ClientCredentialsApi::start("importer", "imp-secret", 3600);
    let (server_id, slug) = create_server(&server, "Pets").await;
    let secret_id = secret(&server, "client secret", "imp-secret").await;
    let document = json!({
        "openapi": "3.1.0", "info": {"title": "Pets", "version": "1"},
        "servers": [{"url": api.url("")}],
        "components": {"securitySchemes": {"machine": {"type": "oauth2", "flows": {"clientCredentials": {
            "tokenUrl": api.url("/oauth/token"), "scopes": {"pets:read": "read pets", "pets:write": "change pets"}}}}}},
        "security": [{"machine": ["pets:read"]}],
        "paths": {"/pets": {"get": {"operationId": "listPets", "responses": {"200": {"description": "ok"}}}}}
    })
    .to_string();
    let preview = server
        .post(
            &format!("/api/orgs/default/servers/{server_id}/openapi/preview"),
            None,
            json!({"document": document}),
        )
        .await
        .expect(200);
    assert_eq!(
        preview.body["preview"]["tools"][0]["auth"],
        json!({"scheme": "machine", "kind": "client_credentials", "tokenUrl": api.url("/oauth/token"), "scopes": ["pets:read"]})
    );
    let imports = format!("/api/orgs/default/servers/{server_id}/openapi-imports");
    let without_id =
        json!({"source": {"document": document}, "credentials": {"machine": {"secretId": secret_id}}});
    let r = server.post(&imports, None, without_id).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("credentials.machine.clientId"), "{}", r.text);

    let input = json!({"source": {"document": document},
                       "credentials": {"machine": {"secretId": secret_id, "clientId": "importer"}}});
    server.post(&imports, None, input).await.expect(201);
    let mut client = session(&server, &slug, "2025-11-25").await;
    let reply = call(&mut client, "list_pets", json!({})).await;
    assert_eq!(structured(&reply)["scope"], "pets:read", "{reply}");
    assert_eq!(api.stats().await["scopes"], json!(["pets:read"]));
}

/// The console's tool form: an OAuth tool added by hand, shown again with its grant (never the
/// secret), saved unchanged, and called.
async fn a_console_tool_with_client_credentials(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let api = ClientCredentialsApi::start("console-client", "typed-secret", 3600);
    let Some(browser) = Browser::start(&server.base).await else { return };
    let (server_id, slug) = create_server(&server, "Pets").await;
    browser.open(&format!("/orgs/default/servers/{server_id}/tools/new")).await;
    browser.fill("Name", "list_pets").await;
    browser.fill("Description", "List pets").await;
    browser.fill("Endpoint URL", &api.url("/pets")).await;
    browser.choose("Auth type", "oauth_client_credentials").await;
    browser.fill("Credential", "typed-secret").await;
    browser.fill("Token URL (OAuth client credentials only)", &api.url("/oauth/token")).await;
    browser.fill("Client ID (OAuth client credentials only)", "console-client").await;
    browser.fill("Scope (OAuth client credentials only)", "pets:read").await;
    browser.submit("form.tool-form button[type=submit]").await;
    browser.wait_path("/tools").await;

    browser.go("list_pets").await;
    let token_url = browser.labelled("Token URL (OAuth client credentials only)").await;
    assert_eq!(token_url.prop("value").await.unwrap().unwrap(), api.url("/oauth/token"));
    assert!(!browser.client.source().await.unwrap().contains("typed-secret"));
    browser.submit("form.tool-form button[type=submit]").await;
    browser.wait_path("/tools").await;

    let mut client = session(&server, &slug, "2025-11-25").await;
    let reply = call(&mut client, "list_pets", json!({})).await;
    assert_eq!(structured(&reply)["scope"], "pets:read", "{reply}");
    browser.close().await;
}

backend_tests!(
    a_tool_gets_its_token_and_a_new_one_when_refused,
    an_imported_scheme_carries_the_grant,
    a_console_tool_with_client_credentials
);
