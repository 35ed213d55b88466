//! Story: an operator starts Gatehouse, initialises it once, and the system endpoints answer.

mod common;

use common::{Backend, Options, TestServer};
use serde_json::json;

async fn uninitialised_instance_refuses_management_until_init(backend: Backend) {
    let server = TestServer::start(backend, Options::default()).await;
    server.get("/health", None).await.expect(200);
    let meta = server.get("/metadata", None).await.expect(200);
    assert_eq!(meta.body["initialized"], false);
    assert_eq!(meta.body["mode"], serde_json::Value::Null);
    server.get("/api/orgs", None).await.expect_error(503, "not_initialized");
    server
        .post("/api/auth/request-code", None, json!({"email": "a@example.com"}))
        .await
        .expect_error(503, "not_initialized");

    let init = server
        .post("/init", None, json!({"mode": "enterprise", "adminEmail": "Boss@Example.com"}))
        .await
        .expect(201);
    assert_eq!(init.body["mode"], "enterprise");
    let admin = init.body["adminToken"].as_str().unwrap().to_string();
    assert!(admin.starts_with("gh_pt_"));

    // Once only, whatever the mode asked for.
    server.post("/init", None, json!({"mode": "dev"})).await.expect_error(409, "conflict");
    server
        .post("/init", None, json!({"mode": "enterprise", "adminEmail": "x@example.com"}))
        .await
        .expect_error(409, "conflict");

    let meta = server.get("/metadata", None).await.expect(200);
    assert_eq!(meta.body["mode"], "enterprise");
    assert!(meta.body["version"].is_string());

    // Enterprise: credentials everywhere.
    server.get("/api/orgs", None).await.expect_error(401, "unauthorized");
    server.get("/api/orgs", Some("gh_pt_not-a-real-token")).await.expect_error(401, "unauthorized");
    let me = server.get("/api/auth/me", Some(&admin)).await.expect(200);
    assert_eq!(me.body["user"]["email"], "boss@example.com");
    assert_eq!(me.body["user"]["instanceAdmin"], true);
}

async fn init_rejects_bad_bodies(backend: Backend) {
    let server = TestServer::start(backend, Options::default()).await;
    server.post("/init", None, json!({"mode": "enterprise"})).await.expect_error(400, "invalid_input");
    server
        .post("/init", None, json!({"mode": "enterprise", "adminEmail": "nope"}))
        .await
        .expect_error(400, "invalid_input");
    server.post("/init", None, json!({"mode": "chaos"})).await.expect_error(400, "invalid_input");
    server
        .post("/init", None, json!({"mode": "dev", "adminEmail": "a@example.com"}))
        .await
        .expect_error(400, "invalid_input");
    server.post("/init", None, json!({"mode": "dev", "extra": 1})).await.expect_error(400, "invalid_input");
    let r = server
        .request(reqwest::Method::POST, "/init")
        .header("content-type", "text/plain")
        .body("mode=dev")
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect_error(415, "unsupported_media_type");
    let r = server
        .request(reqwest::Method::POST, "/init")
        .header("content-type", "application/json")
        .body("{\"mode\":")
        .send()
        .await
        .unwrap();
    TestServer::read(r).await.expect_error(400, "invalid_input");
    // Nothing of that initialised anything.
    assert_eq!(server.get("/metadata", None).await.body["initialized"], false);
    server.post("/init", None, json!({"mode": "dev"})).await.expect(201);
}

async fn dev_mode_needs_no_credentials(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let orgs = server.get("/api/orgs", None).await.expect(200);
    let orgs = orgs.body["orgs"].as_array().unwrap().clone();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["slug"], "default");
    server.get("/api/orgs/default", None).await.expect(200);
    server.get("/api/orgs/default/members", None).await.expect(200);
    let me = server.get("/api/auth/me", None).await.expect(200);
    assert_eq!(me.body["kind"], "dev");
    server.post("/init", None, json!({"mode": "dev"})).await.expect_error(409, "conflict");
}

async fn metrics_count_requests_by_route_and_status(backend: Backend) {
    let server = TestServer::dev(backend).await;
    server.get("/api/orgs/default", None).await.expect(200);
    server.get("/api/orgs/nope", None).await.expect(404);
    let r = server.get("/metrics", None).await.expect(200);
    assert!(
        r.text.contains(
            r#"gatehouse_http_requests_total{method="GET",route="/api/orgs/{org}",status="200"} 1"#
        ),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            r#"gatehouse_http_requests_total{method="GET",route="/api/orgs/{org}",status="404"} 1"#
        )
    );
    assert!(r.text.contains("gatehouse_http_request_duration_seconds_bucket"));
}

/// Metrics name every tenant's servers and tools: beyond dev mode only the operator's metrics
/// token reads them, and without one configured nobody does.
async fn metrics_need_the_operators_token_in_enterprise_mode(backend: Backend) {
    let (closed, admin) = TestServer::enterprise(backend).await;
    closed.get("/metrics", None).await.expect_error(403, "metrics_disabled");
    closed.get("/metrics", Some(&admin)).await.expect_error(403, "metrics_disabled");

    let options = Options { metrics_token: Some("scrape-me".into()), ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    server.create_org(&admin, "acme").await;
    server.get("/metrics", None).await.expect_error(401, "unauthorized");
    server.get("/metrics", Some(&admin)).await.expect_error(401, "unauthorized");
    server.get("/metrics", Some("scrape-mf")).await.expect_error(401, "unauthorized");
    let scraped = server.get("/metrics", Some("scrape-me")).await.expect(200);
    assert!(scraped.text.contains("gatehouse_http_requests_total"), "{}", scraped.text);
}

async fn openapi_lists_every_operation(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let doc = server.get("/api/openapi.json", None).await.expect(200).body;
    assert_eq!(doc["openapi"], "3.1.0");
    let registry = gatehouse::api::registry();
    for op in registry.operations() {
        let method = op.spec.method.as_str().to_ascii_lowercase();
        let entry = &doc["paths"][op.spec.path][&method];
        assert_eq!(entry["operationId"], op.spec.name, "{} {} missing", method, op.spec.path);
    }
    assert_eq!(doc["paths"]["/api/orgs/{org}/tokens"]["post"]["x-required-scope"], "tokens:write");
}

backend_tests!(
    metrics_need_the_operators_token_in_enterprise_mode,
    uninitialised_instance_refuses_management_until_init,
    init_rejects_bad_bodies,
    dev_mode_needs_no_credentials,
    metrics_count_requests_by_route_and_status,
    openapi_lists_every_operation,
);

/// `GATEHOUSE_MODE=enterprise` on a fresh instance says how to finish, and `gatehouse init`
/// finishes it: the admin's token on standard output, ready for the MCPJungle API at once.
#[tokio::test]
async fn enterprise_mode_says_how_to_finish() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let mut p =
        common::process::Process::start_with(&["serve"], dir.path(), &[("GATEHOUSE_MODE", "enterprise")]);
    p.wait_for_log("gatehouse init --admin-email");
    let client = reqwest::Client::new();
    let r = client.get(format!("{}/api/v0/servers", p.base)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.text().await.unwrap();
    assert!(body.contains("POST /init") && body.contains("adminEmail"), "{body}");

    let init = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["init", "--admin-email", email])
            .env("GATEHOUSE_DATA_DIR", data_dir)
            .env("GATEHOUSE_MODE", "enterprise")
            .env("NO_COLOR", "1")
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_MASTER_KEY")
            .output()
            .unwrap()
    };
    let out = init("admin@example.com");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("gh_pt_") && !token.contains('\n'), "only the token on stdout: {token}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token), "the token is never logged");

    // The running node learns of it; the admin works at once, in a default org.
    let r = client.get(format!("{}/api/v0/servers", p.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let orgs: serde_json::Value = client
        .get(format!("{}/api/orgs", p.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orgs["orgs"][0]["slug"], "default", "{orgs}");
    let again = init("other@example.com");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));
    let r = client.post(format!("{}/init", p.base)).json(&json!({"mode": "dev"})).send().await.unwrap();
    assert_eq!(r.status(), 409);
}
