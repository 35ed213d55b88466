//! Story: an MCP client that cannot send an API key signs in. It finds Gatehouse as the
//! authorization server from the endpoint's `401` (RFC 9728), registers (RFC 7591), sends the
//! person through sign-in (platform code from a real SMTP sink, or the server's end-user code)
//! and consent, redeems the code with PKCE, calls tools with a token bound to that one server,
//! refreshes it by rotation — and every way this can go wrong ends in the exact OAuth error.

mod common;

use std::time::Duration;

use common::mcp::McpClient;
use common::oauth::{Answer, answer_consent, consent_as_member, pkce, query_param};
use common::sign_in::*;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

async fn a_member_connects_a_client_and_calls_tools(backend: Backend) {
    let Some(w) = world(backend, Options::default()).await else { return };
    let resource = mcp_url(&w, "echo");

    // 1. Without credentials: 401 naming the metadata and the scopes.
    let r = McpClient::new(&w.server, "/mcp/acme/echo", None, "2026-07-28")
        .request("tools/list", json!({}))
        .await;
    assert_eq!(r.status, 401);
    let challenge = challenge_of(&r);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert_eq!(param_in(&challenge, "scope").as_deref(), Some("mcp:read mcp:call"));
    let metadata_url = param_in(&challenge, "resource_metadata").expect("resource_metadata");
    assert_eq!(metadata_url, format!("{}/.well-known/oauth-protected-resource/mcp/acme/echo", w.server.base));

    // 2. Protected resource metadata names Gatehouse; the authorization server's names its endpoints.
    let prm: Value = w.server.client.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(prm["resource"], resource);
    assert_eq!(prm["authorization_servers"], json!([w.server.base]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:call"]));
    let sse_prm = w.server.get("/.well-known/oauth-protected-resource/sse/acme/echo", None).await.expect(200);
    assert_eq!(sse_prm.body["resource"], format!("{}/sse/acme/echo", w.server.base));
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let meta = w.server.get(path, None).await.expect(200).body;
        assert_eq!(meta["issuer"], w.server.base);
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(meta["client_id_metadata_document_supported"], true);
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", w.server.base));
    }

    // 3. Register, sign in, consent: the code comes back with state and iss (RFC 9207).
    let client_id = register(&w).await;
    let flow = authorize_url(&w, &client_id, &resource, "mcp:read mcp:call");
    let back = consent_as_member(&w.server, &w.smtp, &flow.url, "admin@example.com", Answer::Allow).await;
    assert!(back.starts_with(&flow.redirect), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some(flow.state.as_str()));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(w.server.base.as_str()));
    let code = query_param(&back, "code").unwrap();

    // 4. The code and its verifier make tokens.
    let tokens = exchange(&w, &client_id, &flow, &code, &resource).await.expect(200).body;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:read mcp:call");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // 5. The token calls tools on this server.
    let r = call_echo(&w, "echo", &access).await.expect(200);
    assert!(r.body["result"]["content"].is_array() && r.body["result"]["isError"] != true, "{}", r.text);
    let session = McpClient::new(&w.server, "/mcp/acme/echo", None, "2025-06-18");
    let bearer = format!("Bearer {access}");
    let init = session
        .post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
            "capabilities": {}, "clientInfo": {"name": "story", "version": "1"}}}), &[("authorization", &bearer)])
        .await
        .expect(200);
    assert!(init.headers.get("mcp-session-id").is_some());

    // 6. Refresh rotates: the new pair works, the old refresh token is spent.
    let rotated = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await
    .expect(200)
    .body;
    let access2 = rotated["access_token"].as_str().unwrap().to_string();
    assert_ne!(rotated["refresh_token"], refresh);
    call_echo(&w, "echo", &access2).await.expect(200);

    // 7. The person sees the connection, the usage counts under it, and the audit log has the consent.
    let mine = w.server.get("/api/me/connections", Some(&w.admin)).await.expect(200).body;
    let connections = mine["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0]["clientName"], "Story Client");
    assert_eq!(connections[0]["email"], "admin@example.com");
    assert_eq!(connections[0]["serverId"], w.sid);
    let audit = w.server.get("/api/orgs/acme/audit", Some(&w.admin)).await.expect(200).body;
    assert!(audit.to_string().contains("authorize_client"), "consent audited: {audit}");

    // 8. Revoking it ends every token of it at once.
    let connection = connections[0]["connectionId"].as_str().unwrap();
    w.server.delete(&format!("/api/me/connections/{connection}"), Some(&w.admin)).await.expect(204);
    let r = call_echo(&w, "echo", &access2).await;
    assert_eq!(r.status, 401);
    assert_eq!(param_in(&challenge_of(&r), "error").as_deref(), Some("invalid_token"));
    let _ = &w.backend;
}

async fn every_refusal_names_its_oauth_error(backend: Backend) {
    let Some(w) =
        world(backend, Options { oauth_access_ttl: Some(Duration::from_secs(1)), ..Default::default() })
            .await
    else {
        return;
    };
    let resource = mcp_url(&w, "echo");
    let client_id = register(&w).await;
    // A second server of the same org, for a token used where it does not belong.
    w.server
        .post("/api/orgs/acme/servers", Some(&w.admin), json!({"name": "Other", "slug": "other"}))
        .await
        .expect(201);

    // A redirect URI the client never registered: shown to the person, never redirected to.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let evil = flow.url.replace("127.0.0.1%3A53682%2Fcallback", "evil.example%2Fcallback");
    let r = w.server.client.get(&evil).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("redirect_uri is not registered"));

    // An unknown client: shown, not redirected.
    let r = w.server.client.get(flow.url.replace(&client_id, "ghc_nobody")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // No PKCE, or plain: back to the client with invalid_request.
    let plain = flow.url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let r = common::console::client().get(&plain).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&location, "state").as_deref(), Some(flow.state.as_str()));

    // A resource that is not one of ours: invalid_target.
    let foreign = authorize_url(&w, &client_id, "https://elsewhere.example/mcp/acme/echo", "mcp:call");
    let r = common::console::client().get(&foreign.url).send().await.unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"));

    // Denied at consent: access_denied.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, Answer::Deny).await;
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));

    // A wrong verifier: invalid_grant, and the code is spent.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, Answer::Allow).await;
    let code = query_param(&back, "code").unwrap();
    let wrong = Flow { verifier: pkce().0, ..flow };
    let r = exchange(&w, &client_id, &wrong, &code, &resource).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")), "{}", r.text);

    // A replayed code: invalid_grant, and what it was exchanged for is revoked.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, Answer::Allow).await;
    let code = query_param(&back, "code").unwrap();
    let first = exchange(&w, &client_id, &flow, &code, &resource).await.expect(200).body;
    let replay = exchange(&w, &client_id, &flow, &code, &resource).await;
    assert_eq!((replay.status, replay.body["error"].as_str()), (400, Some("invalid_grant")));
    let r = call_echo(&w, "echo", first["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 401, "tokens of a replayed code are revoked");

    // A token for this server on another: refused (RFC 8707 audience).
    let tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    let access = tokens["access_token"].as_str().unwrap();
    let r = call_echo(&w, "other", access).await;
    assert_eq!(r.status, 401);
    assert_eq!(param_in(&challenge_of(&r), "error").as_deref(), Some("invalid_token"));
    // Asking to redeem a refresh token for another server: invalid_target.
    let r = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
            ("resource", &mcp_url(&w, "other")),
        ],
    )
    .await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_target")));

    // A rotated refresh token used again: invalid_grant, and the whole family is revoked.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form =
        [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client_id.as_str())];
    let rotated = token_request(&w, &form).await.expect(200).body;
    let reused = token_request(&w, &form).await;
    assert_eq!((reused.status, reused.body["error"].as_str()), (400, Some("invalid_grant")));
    let newer = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
        ("client_id", client_id.as_str()),
    ];
    let r = token_request(&w, &newer).await;
    assert_eq!(r.body["error"], "invalid_grant", "the successor is revoked with its family");

    // Expired access tokens: invalid_token.
    let tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 401);
    assert_eq!(param_in(&challenge_of(&r), "error").as_deref(), Some("invalid_token"));

    // Revocation (RFC 7009) of the refresh token ends it; unknown tokens answer 200 too.
    let form = [("token", tokens["refresh_token"].as_str().unwrap()), ("client_id", client_id.as_str())];
    let r = w.server.request(reqwest::Method::POST, "/oauth/revoke").form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A revocation naming no token, or sent as JSON: invalid_request.
    let r = w
        .server
        .request(reqwest::Method::POST, "/oauth/revoke")
        .form(&[("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    let r = TestServer::read(r).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
    let r = w.server.post("/oauth/revoke", None, json!({"token": "x", "client_id": client_id})).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_request")));
    let again = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", client_id.as_str()),
    ];
    assert_eq!(token_request(&w, &again).await.body["error"], "invalid_grant");
    let r = w
        .server
        .request(reqwest::Method::POST, "/oauth/revoke")
        .form(&[("token", "gh_rt_nope"), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Read-only consent: listing works, calling a tool is 403 insufficient_scope naming mcp:call.
    let tokens = connect(&w, &client_id, "echo", Answer::AllowReadOnly).await;
    assert_eq!(tokens["scope"], "mcp:read");
    let r = call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 403);
    let challenge = challenge_of(&r);
    assert_eq!(param_in(&challenge, "error").as_deref(), Some("insufficient_scope"));
    assert_eq!(param_in(&challenge, "scope").as_deref(), Some("mcp:call"));
    assert!(param_in(&challenge, "resource_metadata").is_some());

    // A confidential client proves its secret.
    let reg = w
        .server
        .post("/oauth/register", None, json!({"client_name": "Web", "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_post"}))
        .await
        .expect(201);
    assert_eq!(reg.body["application_type"], "web");
    let id = reg.body["client_id"].as_str().unwrap();
    let r = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", id),
            ("client_secret", "gh_cs_wrong"),
        ],
    )
    .await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));

    // Registration refuses what it cannot honour.
    let bad = [
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["http://evil.example/cb"]}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "web"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, error) in bad {
        let r = w.server.post("/oauth/register", None, body.clone()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some(error)), "{body}");
    }
    // Unsupported grant types and bodies that are not forms.
    let r = token_request(&w, &[("grant_type", "password"), ("client_id", client_id.as_str())]).await;
    assert_eq!(r.body["error"], "unsupported_grant_type");
    let r = w.server.post("/oauth/token", None, json!({"grant_type": "authorization_code"})).await;
    assert_eq!(r.body["error"], "invalid_request");
}

backend_tests!(a_member_connects_a_client_and_calls_tools, every_refusal_names_its_oauth_error);
