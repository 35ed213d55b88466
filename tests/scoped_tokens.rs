//! Story: an admin mints scoped management tokens for automation; scopes are checked on every
//! call, and every mutation lands in the audit log.

mod common;

use common::{Backend, TestServer};
use serde_json::json;

async fn scopes_allow_reads_and_refuse_writes(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let reader = server.mint_token(&admin, "acme", &["members:read", "orgs:read"]).await;
    assert!(reader.starts_with("gh_mt_"));

    // Both header styles are accepted.
    server.get("/api/orgs/acme/members", Some(&reader)).await.expect(200);
    let r = server
        .request(reqwest::Method::GET, "/api/orgs/acme")
        .header("X-Management-Token", &reader)
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect(200);

    server
        .post("/api/orgs/acme/members", Some(&reader), json!({"email": "x@example.com", "role": "member"}))
        .await
        .expect_error(403, "insufficient_scope");
    server
        .patch("/api/orgs/acme", Some(&reader), json!({"name": "Evil"}))
        .await
        .expect_error(403, "insufficient_scope");
    server.get("/api/orgs/acme/tokens", Some(&reader)).await.expect_error(403, "insufficient_scope");
    // Tokens belong to one org and cannot create others.
    server.post("/api/orgs", Some(&reader), json!({"name": "Other"})).await.expect_error(403, "forbidden");
    // Its org list is its own org.
    let orgs = server.get("/api/orgs", Some(&reader)).await.expect(200);
    assert_eq!(orgs.body["orgs"].as_array().unwrap().len(), 1);
}

async fn tokens_cannot_grant_more_than_they_hold(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let minter = server.mint_token(&admin, "acme", &["tokens:write", "tokens:read", "members:read"]).await;
    server.mint_token(&minter, "acme", &["members:read"]).await;
    server
        .post("/api/orgs/acme/tokens", Some(&minter), json!({"name": "x", "scopes": ["members:write"]}))
        .await
        .expect_error(403, "insufficient_scope");
    server
        .post("/api/orgs/acme/tokens", Some(&minter), json!({"name": "x", "scopes": ["nope:read"]}))
        .await
        .expect_error(400, "invalid_input");
    server
        .post("/api/orgs/acme/tokens", Some(&minter), json!({"name": "x", "scopes": []}))
        .await
        .expect_error(400, "invalid_input");
    server
        .post(
            "/api/orgs/acme/tokens",
            Some(&admin),
            json!({"name": "x", "scopes": ["orgs:read"], "expiresAt": "2001-01-01T00:00:00Z"}),
        )
        .await
        .expect_error(422, "unprocessable");
    server
        .post(
            "/api/orgs/acme/tokens",
            Some(&admin),
            json!({"name": "x", "scopes": ["orgs:read"], "expiresAt": "soon"}),
        )
        .await
        .expect_error(400, "invalid_input");
}

async fn revoked_tokens_stop_working_at_once(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let created = server
        .post(
            "/api/orgs/acme/tokens",
            Some(&admin),
            json!({"name": "ci", "scopes": ["orgs:read"], "expiresAt": "2999-01-01T00:00:00Z"}),
        )
        .await
        .expect(201);
    let raw = created.body["rawValue"].as_str().unwrap().to_string();
    let id = created.body["token"]["tokenId"].as_str().unwrap().to_string();
    assert_eq!(created.body["token"]["status"], "active");
    assert_eq!(created.body["token"]["expiresAt"], "2999-01-01T00:00:00.000Z");
    server.get("/api/orgs/acme", Some(&raw)).await.expect(200);

    let list = server.get("/api/orgs/acme/tokens", Some(&admin)).await.expect(200);
    assert!(!list.text.contains(&raw), "a raw token value must never be listed");
    assert!(!list.text.contains("hash"));
    assert!(list.body["tokens"][0]["lastUsedAt"].is_string());

    server.delete(&format!("/api/orgs/acme/tokens/{id}"), Some(&admin)).await.expect(200);
    server.get("/api/orgs/acme", Some(&raw)).await.expect_error(401, "unauthorized");
    server.delete(&format!("/api/orgs/acme/tokens/{id}"), Some(&admin)).await.expect_error(409, "conflict");
    server.delete("/api/orgs/acme/tokens/tok_nope", Some(&admin)).await.expect_error(404, "not_found");
    let list = server.get("/api/orgs/acme/tokens", Some(&admin)).await.expect(200);
    assert_eq!(list.body["tokens"][0]["status"], "revoked");
}

async fn mutations_are_audited_with_outcome(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let reader = server.mint_token(&admin, "acme", &["orgs:read"]).await;
    server.patch("/api/orgs/acme", Some(&reader), json!({"name": "Nope"})).await.expect(403);
    server.patch("/api/orgs/acme", Some(&admin), json!({"name": "Acme Inc"})).await.expect(200);
    server.patch("/api/orgs/acme", Some(&admin), json!({"slug": "NOT VALID"})).await.expect(400);

    // Reading the audit log needs audit:read.
    server.get("/api/orgs/acme/audit", Some(&reader)).await.expect_error(403, "insufficient_scope");
    let log = server.get("/api/orgs/acme/audit", Some(&admin)).await.expect(200);
    let events = log.body["events"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
                e["actorType"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary[..4],
        [
            ("update_org".into(), "invalid_input".into(), "user".into()),
            ("update_org".into(), "success".into(), "user".into()),
            ("update_org".into(), "insufficient_scope".into(), "token".into()),
            ("create_token".into(), "success".into(), "user".into()),
        ]
    );
    assert_eq!(events.last().unwrap()["action"], "create_org");

    // Paging: one at a time, following the cursor, visits every event once.
    let mut seen = Vec::new();
    let mut path = "/api/orgs/acme/audit?limit=1".to_string();
    loop {
        let page = server.get(&path, Some(&admin)).await.expect(200);
        seen.extend(page.body["events"].as_array().unwrap().iter().map(|e| e["eventId"].clone()));
        match page.body["nextCursor"].as_str() {
            Some(c) => path = format!("/api/orgs/acme/audit?limit=1&before={c}"),
            None => break,
        }
    }
    assert_eq!(seen, events.iter().map(|e| e["eventId"].clone()).collect::<Vec<_>>());

    // Filters: by actor kind, action, outcome (an exact code, or every failure), and time.
    let count = |path: &str| {
        let path = path.to_string();
        let admin = admin.clone();
        let server = &server;
        async move { server.get(&path, Some(&admin)).await.expect(200).body["events"].as_array().unwrap().len() }
    };
    assert_eq!(count("/api/orgs/acme/audit?actor=token").await, 1);
    assert_eq!(count("/api/orgs/acme/audit?action=update_org").await, 3);
    assert_eq!(count("/api/orgs/acme/audit?action=update_org&outcome=success").await, 1);
    assert_eq!(count("/api/orgs/acme/audit?outcome=failure").await, 2);
    assert_eq!(count("/api/orgs/acme/audit?outcome=insufficient_scope").await, 1);
    assert_eq!(count("/api/orgs/acme/audit?until=2000-01-01T00:00:00Z").await, 0);
    assert_eq!(count("/api/orgs/acme/audit?since=2000-01-01T00:00:00Z").await, events.len());
    server.get("/api/orgs/acme/audit?since=yesterday", Some(&admin)).await.expect_error(400, "invalid_input");
    server.get("/api/orgs/acme/audit?limit=0", Some(&admin)).await.expect_error(400, "invalid_input");
    server.get("/api/orgs/acme/audit?limit=abc", Some(&admin)).await.expect_error(400, "invalid_input");
}

async fn members_and_roles(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let added = server
        .post("/api/orgs/acme/members", Some(&admin), json!({"email": "ann@example.com", "role": "admin"}))
        .await
        .expect(201);
    let ann = added.body["member"]["userId"].as_str().unwrap().to_string();
    server
        .post("/api/orgs/acme/members", Some(&admin), json!({"email": "ANN@example.com", "role": "member"}))
        .await
        .expect_error(409, "conflict");
    server
        .post("/api/orgs/acme/members", Some(&admin), json!({"email": "bo@example.com", "role": "owner"}))
        .await
        .expect_error(400, "invalid_input");
    // The creator of an org is its admin; an org keeps at least one admin.
    let me = server.get("/api/auth/me", Some(&admin)).await.expect(200);
    let boss = me.body["user"]["userId"].as_str().unwrap().to_string();
    server
        .patch(&format!("/api/orgs/acme/members/{ann}"), Some(&admin), json!({"role": "member"}))
        .await
        .expect(200);
    server
        .patch(&format!("/api/orgs/acme/members/{boss}"), Some(&admin), json!({"role": "member"}))
        .await
        .expect_error(409, "conflict");
    server
        .delete(&format!("/api/orgs/acme/members/{boss}"), Some(&admin))
        .await
        .expect_error(409, "conflict");
    server
        .patch(&format!("/api/orgs/acme/members/{ann}"), Some(&admin), json!({"role": "admin"}))
        .await
        .expect(200);
    server
        .patch(&format!("/api/orgs/acme/members/{boss}"), Some(&admin), json!({"role": "member"}))
        .await
        .expect(200);
    server.delete(&format!("/api/orgs/acme/members/{boss}"), Some(&admin)).await.expect(204);
    server.delete(&format!("/api/orgs/acme/members/{ann}"), Some(&admin)).await.expect_error(409, "conflict");
    let list = server.get("/api/orgs/acme/members", Some(&admin)).await.expect(200);
    assert_eq!(list.body["members"].as_array().unwrap().len(), 1);
    server
        .delete(&format!("/api/orgs/acme/members/{boss}"), Some(&admin))
        .await
        .expect_error(404, "not_found");
}

backend_tests!(
    scopes_allow_reads_and_refuse_writes,
    tokens_cannot_grant_more_than_they_hold,
    revoked_tokens_stop_working_at_once,
    mutations_are_audited_with_outcome,
    members_and_roles,
);
