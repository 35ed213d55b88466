//! Story: an upstream whose authorization server trusts Gatehouse's issuer, reached as each
//! person without them connecting anything. Gatehouse signs a short assertion of who is calling
//! and trades it at that server for the person's token (RFC 8693 token exchange); the
//! authorization server (a real process on loopback) checks the assertion against Gatehouse's
//! published keys, and the upstream says whose token each call carried. One exchange per
//! person however many calls race; a token the upstream refuses is exchanged anew; a server
//! that stops trusting Gatehouse refuses that person's calls without failing the upstream.

mod common;

use common::oauth::{Answer, consent_as_member, query_param};
use common::sign_in::*;
use common::upstreams::{PyUpstream, authorize_as, call_caller_on, caller_answer, text_of};
use common::{Backend, Options};
use serde_json::{Value, json};

async fn stats(upstream: &PyUpstream) -> Value {
    reqwest::get(upstream.base("/stats")).await.unwrap().json().await.unwrap()
}

async fn each_person_gets_a_token_by_exchange(backend: Backend) {
    let Some(upstream) = PyUpstream::start_oauth_exchanging() else { return };
    let Some(w) = world(backend, Options { open_signup: true, ..Default::default() }).await else { return };
    let members = "/api/orgs/acme/members";
    w.server
        .post(members, Some(&w.admin), json!({"email": "bob@example.com", "role": "member"}))
        .await
        .expect(201);

    // Stdio upstreams cannot be per person.
    let stdio = json!({"name": "local", "transport": "stdio", "command": "python3",
                       "credentialMode": "passthrough_exchange"});
    w.server.post("/api/orgs/acme/upstreams", Some(&w.admin), stdio).await.expect_error(422, "unprocessable");

    // Registered for token exchange; the admin authorizes the account the catalogue is
    // discovered with, then gives the client the authorization server knows Gatehouse by.
    let up = w
        .server
        .post(
            "/api/orgs/acme/upstreams",
            Some(&w.admin),
            json!({"name": "people", "transport": "streamable_http", "url": upstream.url(),
                   "credentialMode": "passthrough_exchange", "approvalPolicy": "auto_approve"}),
        )
        .await
        .expect(201)
        .body;
    let uid = up["upstream"]["upstreamId"].as_str().unwrap().to_string();
    let trust = &up["upstream"]["tokenExchange"];
    let issuer = trust["issuer"].as_str().unwrap().to_string();
    assert!(issuer.starts_with(&format!("{}/api/orgs/", w.server.base)), "{up}");
    assert_eq!(trust["jwksUri"], format!("{issuer}/.well-known/jwks.json"));
    let started = w.server.get(&format!("/api/orgs/acme/upstreams/{uid}/authorize"), Some(&w.admin)).await;
    let done =
        authorize_as(&w.server, started.expect(200).body["authorizationUrl"].as_str().unwrap(), "catalogue")
            .await;
    assert_eq!(done["status"], "connected", "{done}");
    let client = json!({"clientId": "gatehouse-exchange", "clientSecret": "exchange-secret"});
    w.server
        .put(&format!("/api/orgs/acme/upstreams/{uid}/oauth-client"), Some(&w.admin), client)
        .await
        .expect(200);
    w.server
        .put(&format!("/api/orgs/acme/servers/{}/upstreams/{uid}", w.sid), Some(&w.admin), json!({}))
        .await
        .expect(200);
    let trusted = json!({"issuer": issuer, "jwks_uri": trust["jwksUri"], "client_id": "gatehouse-exchange",
                         "client_secret": "exchange-secret"});
    upstream.control(json!({"trust": trusted})).await;

    // Two members sign in with MCP clients.
    let client_id = register(&w).await;
    let admin_tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    let admin_access = admin_tokens["access_token"].as_str().unwrap().to_string();
    let resource = mcp_url(&w, "echo");
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = consent_as_member(&w.server, &w.smtp, &flow.url, "bob@example.com", Answer::Allow).await;
    let bob_tokens = exchange(&w, &client_id, &flow, &query_param(&back, "code").unwrap(), &resource).await;
    let bob_access = bob_tokens.expect(200).body["access_token"].as_str().unwrap().to_string();

    // Their first calls race: each reaches the upstream as themselves, after one exchange each.
    let calls = (0..16).map(|i| {
        let (token, user) = if i % 2 == 0 {
            (admin_access.as_str(), "admin@example.com")
        } else {
            (bob_access.as_str(), "bob@example.com")
        };
        let server = &w.server;
        async move { (user, text_of(&call_caller_on(server, token).await)) }
    });
    for (user, answer) in futures_util::future::join_all(calls).await {
        assert!(answer.starts_with(&format!("user={user} ")), "{user} got {answer}");
    }
    let seen = stats(&upstream).await;
    let exchanges = seen["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 2, "one exchange per person: {seen}");
    for claims in exchanges {
        assert_eq!(claims["iss"], issuer.as_str());
        assert_eq!(claims["aud"], upstream.base(""));
        assert_eq!(claims["sub"], claims["email"]);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60, "{claims}");
    }

    // Nobody connects anything; admins see who holds a token, never the token.
    let connection = format!("/api/orgs/acme/upstreams/{uid}/connection");
    w.server.post(&connection, Some(&w.admin), json!({})).await.expect_error(422, "unprocessable");
    let listed = w.server.get(&format!("/api/orgs/acme/upstreams/{uid}/connections"), Some(&w.admin)).await;
    let emails: Vec<&str> =
        listed.body["connections"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["admin@example.com", "bob@example.com"], "{}", listed.text);
    assert!(!listed.text.contains("at-"), "{}", listed.text);

    // An API key is no person.
    let mut keyed = common::mcp::McpClient::new(&w.server, "/mcp/acme/echo", Some(&w.key), "2026-07-28");
    let r = keyed.request("tools/call", json!({"name": "people__caller", "arguments": {}})).await.expect(200);
    assert_eq!(r.body["result"]["isError"], true);
    assert!(text_of(&r.body["result"]).contains("API key is no person"), "{}", r.text);

    // Bob's token expires at the upstream: the 401 has it exchanged anew, the call goes through.
    upstream.control(json!({"expire_user": "bob@example.com"})).await;
    assert!(text_of(&call_caller_on(&w.server, &bob_access).await).starts_with("user=bob@example.com "));
    assert_eq!(stats(&upstream).await["exchanges"].as_array().unwrap().len(), 3);

    // The authorization server stops trusting Gatehouse: bob's next exchange is refused and he
    // is told so; the admin's token still works and the upstream stays connected.
    upstream.control(json!({"trust": null, "expire_user": "bob@example.com"})).await;
    let refused = caller_answer(&w.server, &bob_access).await;
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("refused a token for you"), "{refused}");
    assert!(!message.contains("eyJ"), "the assertion is never shown: {refused}");
    assert!(text_of(&call_caller_on(&w.server, &admin_access).await).starts_with("user=admin@example.com "));
    let shown = w.server.get(&format!("/api/orgs/acme/upstreams/{uid}"), Some(&w.admin)).await.expect(200);
    assert_eq!(shown.body["upstream"]["status"], "connected", "{}", shown.text);

    // Bob leaves the org: the token obtained for him is deleted.
    let all = w.server.get(members, Some(&w.admin)).await.expect(200).body;
    let bob_id = all["members"].as_array().unwrap().iter().find(|m| m["email"] == "bob@example.com").unwrap()
        ["userId"]
        .as_str()
        .unwrap()
        .to_string();
    w.server.delete(&format!("{members}/{bob_id}"), Some(&w.admin)).await.expect(204);
    let listed = w.server.get(&format!("/api/orgs/acme/upstreams/{uid}/connections"), Some(&w.admin)).await;
    let emails: Vec<&str> =
        listed.body["connections"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["admin@example.com"], "{}", listed.text);
}

backend_tests!(each_person_gets_a_token_by_exchange);
