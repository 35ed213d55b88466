//! Story: an admin installs an MCP server from the catalogue in one call.

mod common;

use common::upstreams::{PyUpstream, everything};
use common::{Backend, Options, TestServer};
use serde_json::json;

/// The catalogue: templates listed, one installed in one call; on an instance that allows no
/// stdio commands, custom commands are refused but templates (fixed, pinned) install.
async fn catalog_story(backend: Backend) {
    if everything().is_none() {
        return; // npx resolves the pinned package from the cache the test dependencies filled
    }
    let (server, admin) =
        TestServer::enterprise_with(backend, Options { stdio_commands: Some(vec![]), ..Default::default() })
            .await;
    server.create_org(&admin, "acme").await;
    let catalog = server.get("/api/catalog", Some(&admin)).await.expect(200).body;
    let ids: Vec<&str> =
        catalog["templates"].as_array().unwrap().iter().map(|t| t["templateId"].as_str().unwrap()).collect();
    for wanted in ["everything", "filesystem", "memory", "fetch"] {
        assert!(ids.contains(&wanted), "{ids:?}");
    }
    let fs =
        catalog["templates"].as_array().unwrap().iter().find(|t| t["templateId"] == "filesystem").unwrap();
    assert_eq!(fs["settings"][0]["name"], "allowedDirectories");
    assert_eq!(fs["settings"][0]["required"], true);
    server.get("/api/catalog", None).await.expect_error(401, "unauthorized");

    let custom = server
        .post(
            "/api/orgs/acme/upstreams",
            Some(&admin),
            json!({"name": "Shell", "transport": "stdio", "command": "sh"}),
        )
        .await
        .expect_error(403, "forbidden");
    assert!(custom.text.contains("GATEHOUSE_STDIO_COMMANDS"), "{}", custom.text);
    let path = "/api/orgs/acme/upstreams/install-template";
    server.post(path, Some(&admin), json!({"templateId": "nope"})).await.expect_error(400, "invalid_input");
    server
        .post(path, Some(&admin), json!({"templateId": "filesystem"}))
        .await
        .expect_error(422, "unprocessable");
    server
        .post(
            path,
            Some(&admin),
            json!({"templateId": "filesystem", "settings": {"allowedDirectories": ["--x"]}}),
        )
        .await
        .expect_error(422, "unprocessable");
    let dir = tempfile::tempdir().unwrap();
    let fs = server
        .post(
            path,
            Some(&admin),
            json!({"templateId": "filesystem", "isEnabled": false,
                   "settings": {"allowedDirectories": [dir.path().display().to_string()]}}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(fs["upstream"]["templateId"], "filesystem");
    assert_eq!(
        fs["upstream"]["args"].as_array().unwrap().last().unwrap(),
        &json!(dir.path().display().to_string())
    );

    let installed = server
        .post(path, Some(&admin), json!({"templateId": "everything", "approvalPolicy": "auto_approve"}))
        .await
        .expect(201)
        .body;
    assert_eq!(installed["upstream"]["status"], "connected", "{installed}");
    assert_eq!(installed["upstream"]["name"], "Everything");
    let uid = installed["upstream"]["upstreamId"].as_str().unwrap();
    let tools =
        server.get(&format!("/api/orgs/acme/upstreams/{uid}/tools"), Some(&admin)).await.expect(200).body;
    assert!(tools["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"));
    // Changing the command takes it out of the template's trust: the allow-list applies again.
    server
        .patch(&format!("/api/orgs/acme/upstreams/{uid}"), Some(&admin), json!({"command": "sh"}))
        .await
        .expect_error(403, "forbidden");
    // install-custom is the plain create.
    let upstream = PyUpstream::start();
    server
        .post(
            "/api/orgs/acme/upstreams/install-custom",
            Some(&admin),
            json!({"name": "Custom", "transport": "streamable_http", "url": upstream.url()}),
        )
        .await
        .expect(201);
}

backend_tests!(catalog_story,);
