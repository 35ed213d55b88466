//! Story: whatever a client sends, it gets a clear error in the one envelope
//! `{"error": "...", "code": "..."}`, nothing changes, and nothing internal leaks.

mod common;

use common::{Backend, TestServer};
use reqwest::Method;
use serde_json::json;

async fn raw(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> common::Resp {
    let r = server
        .request(method, path)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    TestServer::read(r).await
}

async fn malformed_requests_get_4xx_envelopes(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let json_ct = "application/json";

    raw(&server, Method::POST, "/api/orgs", &admin, json_ct, b"{\"name\":".to_vec())
        .await
        .expect_error(400, "invalid_input");
    raw(&server, Method::POST, "/api/orgs", &admin, json_ct, b"[1,2]".to_vec())
        .await
        .expect_error(400, "invalid_input");
    raw(&server, Method::POST, "/api/orgs", &admin, json_ct, b"\xff\xfe".to_vec())
        .await
        .expect_error(400, "invalid_input");
    server.post("/api/orgs", Some(&admin), json!({"name": 42})).await.expect_error(400, "invalid_input");
    server
        .post("/api/orgs", Some(&admin), json!({"name": "x", "color": "red"}))
        .await
        .expect_error(400, "invalid_input");
    // A name with too few letters for a slug gets a generated one.
    let unsluggable = server.post("/api/orgs", Some(&admin), json!({"name": "!!!"})).await.expect(201);
    assert!(unsluggable.body["org"]["slug"].as_str().unwrap().starts_with("org-"), "{}", unsluggable.text);
    server.post("/api/orgs", Some(&admin), json!({"name": ""})).await.expect_error(400, "invalid_input");
    server
        .post("/api/orgs", Some(&admin), json!({"name": "x", "slug": "-bad-"}))
        .await
        .expect_error(400, "invalid_input");
    // A NUL (PostgreSQL text cannot hold one): in a query 400, in a path 404, in a name or a
    // description 400.
    server
        .get("/api/orgs/acme/notifications?cursor=%C2%A1%00x", Some(&admin))
        .await
        .expect_error(400, "invalid_input");
    server.get("/api/orgs/acme/servers/srv%00x", Some(&admin)).await.expect_error(404, "not_found");
    raw(&server, Method::POST, "/api/orgs", &admin, json_ct, br#"{"name":"a\u0000b"}"#.to_vec())
        .await
        .expect_error(400, "invalid_input");
    let nul_description = br#"{"name":"Nul","description":"a\u0000b"}"#.to_vec();
    raw(&server, Method::POST, "/api/orgs/acme/servers", &admin, json_ct, nul_description)
        .await
        .expect_error(400, "invalid_input");
    // A member given twice has no one meaning: refused, and nothing is created.
    let twice = raw(
        &server,
        Method::POST,
        "/api/orgs",
        &admin,
        json_ct,
        br#"{"name":"Harmless","slug":"harmless","slug":"acme-2"}"#.to_vec(),
    )
    .await
    .expect_error(400, "invalid_input");
    assert!(twice.text.contains("given twice"), "{}", twice.text);
    let orgs = server.get("/api/orgs", Some(&admin)).await.expect(200);
    assert!(!orgs.text.contains("harmless") && !orgs.text.contains("acme-2"), "{}", orgs.text);
    raw(&server, Method::POST, "/api/orgs", &admin, "text/plain", b"{\"name\":\"x\"}".to_vec())
        .await
        .expect_error(415, "unsupported_media_type");

    // Nesting far beyond any sane document is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    raw(&server, Method::POST, "/api/orgs", &admin, json_ct, deep.into_bytes())
        .await
        .expect_error(400, "invalid_input");

    // Bodies over the limit: 413 as soon as the declared length is seen, before any of it is read.
    let bearer = format!("Bearer {admin}");
    let (status, text) =
        server.declared_body_answer("/api/orgs", &[("Authorization", &bearer)], 2 * 1024 * 1024).await;
    assert_eq!(status, 413);
    assert!(text.contains("payload_too_large"), "{text}");

    server.get("/api/nowhere", Some(&admin)).await.expect_error(404, "not_found");
    server
        .send(Method::PUT, "/api/orgs", Some(&admin), Some(json!({})))
        .await
        .expect_error(405, "method_not_allowed");
    server
        .post("/api/orgs", Some(&admin), json!({"name": "Acme", "slug": "acme"}))
        .await
        .expect_error(409, "conflict");
    let r =
        server.request(Method::GET, "/api/orgs").header("authorization", "Basic YTpi").send().await.unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");
    let r = server
        .request(Method::GET, "/api/orgs")
        .header("x-management-token", "gh_mt_forged")
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");

    // Validation is answered only to callers who may make the call.
    let r = server
        .request(Method::POST, "/api/orgs")
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");
    let r = server
        .request(Method::POST, "/api/orgs/acme/members")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");

    // None of it created anything but the org with the generated slug.
    let orgs = server.get("/api/orgs", Some(&admin)).await.expect(200);
    assert_eq!(orgs.body["orgs"].as_array().unwrap().len(), 2);
}

async fn internal_errors_leak_nothing(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    // Break the database underneath the running server.
    drop_table(&server, "memberships").await;
    let r = server.get("/api/orgs/acme/members", Some(&admin)).await.expect_error(500, "internal_error");
    assert_eq!(r.body["error"], "internal error");
    for leak in ["memberships", "sql", "table", "relation"] {
        assert!(!r.text.to_lowercase().contains(leak), "500 body leaks {leak}: {}", r.text);
    }
}

async fn drop_table(server: &TestServer, table: &str) {
    use sqlx::{Connection, Executor};
    let url = &server.config.database_url;
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        conn.execute(format!("DROP TABLE {table} CASCADE").as_str()).await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        conn.execute(format!("DROP TABLE {table}").as_str()).await.unwrap();
    }
}

/// `/ready` says 503 when the database cannot be reached (PostgreSQL: connections refused);
/// `/health`, liveness, still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_when_the_database_is_unreachable() {
    if !common::postgres_available().await {
        return;
    }
    use sqlx::{Connection, Executor};
    let server = TestServer::dev(Backend::Postgres).await;
    assert_eq!(server.get("/ready", None).await.expect(200).body["status"], "ready");
    let name = server.config.database_url.rsplit('/').next().unwrap().to_string();
    let mut conn = sqlx::PgConnection::connect(&common::postgres_admin_url()).await.unwrap();
    conn.execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false").as_str()).await.unwrap();
    conn.execute(
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'").as_str(),
    )
    .await
    .unwrap();
    let r = server.get("/ready", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["code"], "database_unavailable");
    server.get("/health", None).await.expect(200);
    conn.execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true").as_str()).await.unwrap();
}

backend_tests!(malformed_requests_get_4xx_envelopes, internal_errors_leak_nothing);
