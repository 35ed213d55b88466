//! Story: how an upstream authenticates: OAuth that Gatehouse runs and refreshes, or a
//! credential taken from an org secret; and another org's upstream is never reachable.

mod common;

use common::gateway::{ORG, attach, call, create_server, create_upstream, session, text_of};
use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

/// OAuth toward an upstream: 401 → needs_auth; authorize discovers the authorization server,
/// registers Gatehouse dynamically and sends the person there (PKCE S256, resource); the
/// callback stores the tokens and connects; a revoked access token is refreshed on the 401.
async fn oauth_story(backend: Backend) {
    let upstream = PyUpstream::start_oauth();
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Guarded").await;
    let up = create_upstream(
        &server,
        json!({"name": "Guarded", "transport": "streamable_http", "url": upstream.url(),
               "auth": {"type": "oauth"}, "approvalPolicy": "auto_approve"}),
    )
    .await;
    assert_eq!(up["status"], "needs_auth", "{up}");
    let uid = up["upstreamId"].as_str().unwrap().to_string();

    let started = server.get(&format!("{ORG}/upstreams/{uid}/authorize"), None).await.expect(200).body;
    let url = started["authorizationUrl"].as_str().unwrap().to_string();
    assert!(url.starts_with(&upstream.base("/authorize?")), "{url}");
    for part in ["code_challenge_method=S256", "code_challenge=", "state=", "resource=", "client_id=client-"]
    {
        assert!(url.contains(part), "{part} missing in {url}");
    }
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let consent = no_redirects.get(&url).send().await.unwrap();
    assert_eq!(consent.status(), 302);
    let location = consent.headers()["location"].to_str().unwrap().to_string();
    let callback =
        location.strip_prefix("http://gatehouse.test").expect("the public URL's callback").to_string();
    assert!(callback.starts_with("/api/upstreams/oauth/callback?"), "{callback}");
    let done = server.get(&callback, None).await.expect(200).body;
    assert_eq!(done["ok"], true);
    assert_eq!(done["status"], "connected", "{done}");
    server.get(&callback, None).await.expect_error(422, "unprocessable");
    server
        .get("/api/upstreams/oauth/callback?code=x&state=st_forged", None)
        .await
        .expect_error(422, "unprocessable");

    let shown = server.get(&format!("{ORG}/upstreams/{uid}"), None).await.expect(200);
    assert_eq!(shown.body["upstream"]["auth"], json!({"type": "oauth", "credentialSet": true}));
    assert!(!shown.text.contains("at-") && !shown.text.contains("rt-"), "tokens are never shown");
    attach(&server, &server_id, &uid, json!({"prefix": ""})).await;
    let mut client = session(&server, &slug, "2025-06-18").await;
    assert_eq!(
        text_of(&call(&mut client, "echo", json!({"message": "authorized"})).await),
        "Echo: authorized"
    );

    // The authorization server revokes the access token: the next call refreshes and goes on.
    upstream.control(json!({"revoke": true})).await;
    assert_eq!(text_of(&call(&mut client, "echo", json!({"message": "again"})).await), "Echo: again");
    let stats: Value = reqwest::get(upstream.base("/stats")).await.unwrap().json().await.unwrap();
    assert_eq!(stats["refreshes"], 1);
}

/// An upstream may take its credential from an org secret: the value reaches the upstream,
/// a new value is used at once, and the secret cannot be disabled while in use.
async fn secret_referenced_upstream_story(backend: Backend) {
    let upstream = PyUpstream::start();
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Secretive").await;
    let secret = server
        .post(
            &format!("{ORG}/secrets"),
            None,
            json!({"name": "upstream-token", "provider": "generic", "value": "tok-first-value"}),
        )
        .await
        .expect(201)
        .body;
    let secret_id = secret["secret"]["secretId"].as_str().unwrap().to_string();
    let up = create_upstream(
        &server,
        json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve",
               "auth": {"type": "bearer", "secretId": secret_id}}),
    )
    .await;
    assert_eq!(up["status"], "connected", "{up}");
    assert_eq!(up["auth"], json!({"type": "bearer", "secretId": secret_id}));
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let mut client = session(&server, &slug, "2025-11-25").await;
    let seen: Value = serde_json::from_str(&text_of(&call(&mut client, "headers", json!({})).await)).unwrap();
    assert_eq!(seen["authorization"], "Bearer tok-first-value");

    server
        .put(&format!("{ORG}/secrets/{secret_id}"), None, json!({"value": "tok-second-value"}))
        .await
        .expect(200);
    let seen: Value = serde_json::from_str(&text_of(&call(&mut client, "headers", json!({})).await)).unwrap();
    assert_eq!(seen["authorization"], "Bearer tok-second-value", "the new value is used at once");

    let busy = server.delete(&format!("{ORG}/secrets/{secret_id}"), None).await.expect_error(409, "conflict");
    assert!(busy.text.contains("upstream Py"), "{}", busy.text);
    // A secret of nobody (or disabled) cannot be referenced.
    server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": "Bad", "transport": "streamable_http", "url": upstream.url(),
                   "auth": {"type": "bearer", "secretId": "sec_unknown"}}),
        )
        .await
        .expect_error(422, "unprocessable");
}

/// Another org's upstream, by its real id, is never reachable: not readable, changeable,
/// refreshable or attachable, and never listed.
async fn tenant_isolation_story(backend: Backend) {
    let upstream = PyUpstream::start();
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "alpha").await;
    server.create_org(&admin, "beta").await;
    let beta_up = server
        .post(
            "/api/orgs/beta/upstreams",
            Some(&admin),
            json!({"name": "Secret upstream", "transport": "streamable_http", "url": upstream.url(),
                   "approvalPolicy": "auto_approve"}),
        )
        .await
        .expect(201);
    let beta_id = beta_up.body["upstream"]["upstreamId"].as_str().unwrap().to_string();
    let all: Vec<&str> = gatehouse::auth::Scope::ALL.iter().map(|s| s.as_str()).collect();
    let alpha = server.mint_token(&admin, "alpha", &all).await;
    let alpha_server =
        server.post("/api/orgs/alpha/servers", Some(&alpha), json!({"name": "Mine"})).await.expect(201).body
            ["server"]["serverId"]
            .as_str()
            .unwrap()
            .to_string();
    let one = format!("/api/orgs/alpha/upstreams/{beta_id}");
    server.get(&one, Some(&alpha)).await.expect_error(404, "not_found");
    server.patch(&one, Some(&alpha), json!({"isEnabled": false})).await.expect_error(404, "not_found");
    server.get(&format!("{one}/tools"), Some(&alpha)).await.expect_error(404, "not_found");
    server
        .post(&format!("{one}/tools/refresh"), Some(&alpha), json!({}))
        .await
        .expect_error(404, "not_found");
    server
        .patch(&format!("{one}/tools/echo"), Some(&alpha), json!({"approvalState": "rejected"}))
        .await
        .expect_error(404, "not_found");
    server
        .put(&format!("/api/orgs/alpha/servers/{alpha_server}/upstreams/{beta_id}"), Some(&alpha), json!({}))
        .await
        .expect_error(404, "not_found");
    server.delete(&one, Some(&alpha)).await.expect_error(404, "not_found");
    let listed = server.get("/api/orgs/alpha/upstreams", Some(&alpha)).await.expect(200);
    assert!(!listed.text.contains(&beta_id) && !listed.text.contains("Secret upstream"));
    // Beta's upstream is untouched.
    let still = server.get(&format!("/api/orgs/beta/upstreams/{beta_id}"), Some(&admin)).await.expect(200);
    assert_eq!(still.body["upstream"]["isEnabled"], true);
    let tools =
        server.get(&format!("/api/orgs/beta/upstreams/{beta_id}/tools"), Some(&admin)).await.expect(200);
    assert!(tools.body["tools"].as_array().unwrap().iter().all(|t| t["approvalState"] == "approved"));
    // Without upstreams:read a token cannot list them.
    let narrow = server.mint_token(&admin, "alpha", &["servers:read"]).await;
    server.get("/api/orgs/alpha/upstreams", Some(&narrow)).await.expect_error(403, "insufficient_scope");
}

backend_tests!(oauth_story, secret_referenced_upstream_story, tenant_isolation_story,);
