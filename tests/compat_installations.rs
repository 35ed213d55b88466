//! Story: a product analytics platform's MCP installations API, pointed at Gatehouse: a project
//! (an org) installs MCP servers, pages through them, approves their tools one by one and calls
//! them through `proxy` — under both the environments and the projects paths, with the
//! `project:read` / `project:write` scopes — against a real upstream process.

mod common;

use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

async fn installations_are_upstreams_of_the_project(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    let org_id = server.create_org(&admin, "acme").await;
    let writer = server.mint_token(&admin, "acme", &["project:write"]).await;
    let reader = server.mint_token(&admin, "acme", &["project:read"]).await;
    let upstream = PyUpstream::start();
    let base = format!("/api/projects/{org_id}/mcp_server_installations");
    let env_base = "/api/environments/acme/mcp_server_installations";

    // Create: needs project:write; the reader is refused.
    let body = json!({"display_name": "Calculator", "url": upstream.url(), "description": "Sums", "auth_type": "none"});
    server.post(&base, Some(&reader), body.clone()).await.expect_error(403, "insufficient_scope");
    let made = server.post(&base, Some(&writer), body).await.expect(201);
    assert_eq!(made.body["display_name"], "Calculator");
    assert_eq!(made.body["auth_type"], "none");
    assert_eq!(made.body["is_enabled"], true);
    assert_eq!(made.body["status"], "connected", "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_string();
    for i in 0..2 {
        let other = json!({"display_name": format!("Dead {i}"), "url": "http://127.0.0.1:9/mcp"});
        let r = server.post(env_base, Some(&writer), other).await.expect(201);
        assert_eq!(r.body["status"], "error", "an unreachable server installs and says so");
    }

    // Paged, under either path.
    let page = server.get(&format!("{base}?limit=2&offset=0"), Some(&reader)).await.expect(200);
    assert_eq!(page.body["count"], 3);
    assert_eq!(page.body["results"].as_array().unwrap().len(), 2);
    assert!(page.body["next"].as_str().unwrap().contains("offset=2"), "{}", page.text);
    assert_eq!(page.body["previous"], Value::Null);
    let last = server.get(&format!("{env_base}?limit=2&offset=2"), Some(&reader)).await.expect(200);
    assert_eq!(last.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(last.body["next"], Value::Null);
    server.get(&format!("{base}?limit=0"), Some(&reader)).await.expect_error(400, "invalid_input");
    let one = server.get(&format!("{env_base}/{id}"), Some(&reader)).await.expect(200);
    assert_eq!(one.body["display_name"], "Calculator");

    // Tools: none approved yet, so the proxy lists none; approve echo, and it is callable.
    let tools = server.get(&format!("{base}/{id}/tools"), Some(&reader)).await.expect(200);
    let echo = tools.body.as_array().unwrap().iter().find(|t| t["tool_name"] == "echo").unwrap();
    assert_eq!(echo["approval_state"], "needs_approval");
    let proxy = format!("{base}/{id}/proxy");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let listed = server.post(&proxy, Some(&writer), list.clone()).await.expect(200);
    assert_eq!(listed.body["result"]["tools"], json!([]));
    let approve = json!({"approval_state": "approved"});
    let approved =
        server.patch(&format!("{base}/{id}/tools/echo"), Some(&writer), approve.clone()).await.expect(200);
    assert_eq!(approved.body["approval_state"], "approved");
    server
        .patch(&format!("{base}/{id}/tools/echo"), Some(&reader), approve)
        .await
        .expect_error(403, "insufficient_scope");
    let listed = server.post(&proxy, Some(&writer), list).await.expect(200);
    assert_eq!(listed.body["result"]["tools"][0]["name"], "echo", "{}", listed.text);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "via proxy"}}});
    let called = server.post(&proxy, Some(&writer), call).await.expect(200);
    assert_eq!(called.body["id"], 2);
    assert_eq!(called.body["result"]["content"][0]["text"], "Echo: via proxy", "{}", called.text);
    let unapproved = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {}}});
    let refused = server.post(&proxy, Some(&writer), unapproved).await.expect(200);
    assert_eq!(refused.body["error"]["code"], -32602);
    let refreshed =
        server.post(&format!("{base}/{id}/tools/refresh"), Some(&writer), json!({})).await.expect(200);
    assert!(refreshed.body.as_array().unwrap().len() >= 2);

    // Update and delete.
    let changed = server
        .patch(&format!("{base}/{id}"), Some(&writer), json!({"display_name": "Calc", "is_enabled": false}))
        .await;
    let changed = changed.expect(200);
    assert_eq!(changed.body["display_name"], "Calc");
    assert_eq!(changed.body["is_enabled"], false);
    server
        .patch(&format!("{base}/{id}"), Some(&writer), json!({"url": "http://x"}))
        .await
        .expect_error(400, "invalid_input");
    server.delete(&format!("{base}/{id}"), Some(&writer)).await.expect(204);
    server.get(&format!("{base}/{id}"), Some(&reader)).await.expect_error(404, "not_found");

    // install_custom with an API key: sent as a bearer token, never shown.
    let custom = json!({"name": "Keyed", "url": upstream.url(), "auth_type": "api_key", "api_key": "sk-installed-1234"});
    let installed = server.post(&format!("{base}/install_custom"), Some(&writer), custom).await.expect(201);
    assert_eq!(installed.body["auth_type"], "api_key");
    assert!(!installed.text.contains("sk-installed-1234"));
    let misplaced =
        json!({"name": "X", "url": upstream.url(), "auth_type": "api_key", "api_key": "k", "client_id": "c"});
    server
        .post(&format!("{base}/install_custom"), Some(&writer), misplaced)
        .await
        .expect_error(400, "invalid_input");
    let bad_template = json!({"template_id": "no-such-template"});
    server
        .post(&format!("{base}/install_template"), Some(&writer), bad_template)
        .await
        .expect_error(400, "invalid_input");

    // Another project's key reaches nothing here.
    server.create_org(&admin, "rival").await;
    let rival = server.mint_token(&admin, "rival", &["project:write"]).await;
    server.get(&base, Some(&rival)).await.expect_error(404, "not_found");
    server
        .get("/api/projects/no-such-project/mcp_server_installations", Some(&rival))
        .await
        .expect_error(404, "not_found");
}

/// An installation behind OAuth: the person authorizes it in the browser and comes back to the
/// caller's local listener; nowhere else may the flow send them.
async fn oauth_installations_return_to_the_caller(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let writer = server.mint_token(&admin, "acme", &["project:write"]).await;
    let upstream = PyUpstream::start_oauth();
    let base = "/api/projects/acme/mcp_server_installations";
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let callback = "http://127.0.0.1:5555/callback";

    let body = json!({"name": "Guarded", "url": upstream.url(), "auth_type": "oauth",
                      "install_source": "posthog-code", "posthog_code_callback_url": callback});
    let pending = server.post(&format!("{base}/install_custom"), Some(&writer), body).await.expect(200);
    assert_eq!(pending.body["status"], "needs_auth", "{}", pending.text);
    let authorize = pending.body["redirect_url"].as_str().unwrap();
    assert!(authorize.starts_with(&upstream.base("/authorize?")), "{authorize}");
    let id = pending.body["id"].as_str().unwrap().to_string();

    // The authorization server sends the browser to Gatehouse's callback, which sends it on to
    // the caller's listener, saying the installation is connected.
    let consent = no_redirects.get(authorize).send().await.unwrap();
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    let path = location.strip_prefix("http://gatehouse.test").expect("Gatehouse's callback");
    let back = no_redirects.get(format!("{}{path}", server.base)).send().await.unwrap();
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"].to_str().unwrap(), format!("{callback}?connected=connected"));
    let got = server.get(&format!("{base}/{id}"), Some(&writer)).await.expect(200);
    assert_eq!(got.body["status"], "connected");

    // Again through GET …/authorize: a redirect to the authorization server.
    let again = no_redirects
        .get(format!(
            "{}{base}/authorize?installation_id={id}&posthog_code_callback_url={callback}",
            server.base
        ))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 302);
    assert!(again.headers()["location"].to_str().unwrap().starts_with(&upstream.base("/authorize?")));
    let evil =
        format!("{base}/authorize?installation_id={id}&posthog_code_callback_url=https://evil.example/cb");
    server.get(&evil, Some(&writer)).await.expect_error(422, "unprocessable");
    server.get(&format!("{base}/authorize"), Some(&writer)).await.expect_error(400, "invalid_input");

    // A client registered by hand at the authorization server is the one used.
    let by_hand: Value = reqwest::Client::new()
        .post(upstream.base("/register"))
        .json(&json!({"redirect_uris": ["http://gatehouse.test/api/upstreams/oauth/callback"], "client_name": "by hand"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = by_hand["client_id"].as_str().unwrap();
    let body = json!({"name": "Guarded by hand", "url": upstream.url(), "auth_type": "oauth", "client_id": client_id});
    let pending = server.post(&format!("{base}/install_custom"), Some(&writer), body).await.expect(200);
    let authorize = pending.body["redirect_url"].as_str().unwrap();
    assert!(authorize.contains(&format!("client_id={client_id}")), "{authorize}");
    let consent = no_redirects.get(authorize).send().await.unwrap();
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    let path = location.strip_prefix("http://gatehouse.test").expect("Gatehouse's callback");
    let back = no_redirects.get(format!("{}{path}", server.base)).send().await.unwrap();
    assert_eq!(back.status(), 303, "to the console");
    let id = pending.body["id"].as_str().unwrap();
    assert_eq!(
        server.get(&format!("{base}/{id}"), Some(&writer)).await.expect(200).body["status"],
        "connected"
    );
}

backend_tests!(installations_are_upstreams_of_the_project, oauth_installations_return_to_the_caller);
