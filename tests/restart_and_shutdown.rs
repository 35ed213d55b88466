//! Story: an operator restarts Gatehouse, stops it with SIGTERM, or it is killed outright;
//! nothing acknowledged is lost.

mod common;

use std::process::Command;

use common::process::Process;

use common::{Backend, TestServer};
use serde_json::json;

async fn restart_on_the_same_data_keeps_everything(backend: Backend) {
    let (mut server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    server
        .post("/api/orgs/acme/members", Some(&admin), json!({"email": "kim@example.com", "role": "admin"}))
        .await
        .expect(201);
    let token = server.mint_token(&admin, "acme", &["members:read", "audit:read"]).await;
    let before = server.get("/api/orgs/acme/audit", Some(&token)).await.expect(200).body;

    server.restart().await;

    assert_eq!(server.get("/metadata", None).await.body["mode"], "enterprise");
    server.post("/init", None, json!({"mode": "dev"})).await.expect_error(409, "conflict");
    let members = server.get("/api/orgs/acme/members", Some(&token)).await.expect(200);
    assert!(members.text.contains("kim@example.com"));
    assert_eq!(server.get("/api/orgs/acme/audit", Some(&token)).await.body["events"], before["events"]);
    server.get("/api/auth/me", Some(&admin)).await.expect(200);
}

/// Rolling upgrades: a node starts and serves on a schema a newer release moved forward (a
/// migration it does not know is applied), and says `migrations_pending` while its own latest
/// migration is missing (an older backup restored under it).
async fn a_node_works_on_a_schema_a_newer_release_moved_forward(backend: Backend) {
    use sqlx::{Connection, Executor};
    let (mut server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&server.config.database_url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer release', TRUE, $1, 1)",
    )
    .bind(vec![0u8; 48])
    .execute(&mut db)
    .await
    .unwrap();

    server.restart().await;
    assert_eq!(server.get("/ready", None).await.expect(200).body["status"], "ready");
    server.get("/api/orgs/acme/members", Some(&admin)).await.expect(200);

    // Now the schema lacks this release's latest migration: not ready, still alive.
    db.execute(
        "DELETE FROM _sqlx_migrations WHERE version < 99990101000000 AND version = \
                (SELECT MAX(version) FROM _sqlx_migrations WHERE version < 99990101000000)",
    )
    .await
    .unwrap();
    db.execute("DELETE FROM _sqlx_migrations WHERE version = 99990101000000").await.unwrap();
    let r = server.get("/ready", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["code"], "migrations_pending");
    server.get("/health", None).await.expect(200);
}

backend_tests!(
    restart_on_the_same_data_keeps_everything,
    a_node_works_on_a_schema_a_newer_release_moved_forward
);

#[tokio::test]
async fn sigterm_drains_and_closes_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Process::start(dir.path(), &[]);
    let client = reqwest::Client::new();
    let r = client.get(format!("{}/health", p.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    p.signal("-TERM");
    let status = p.wait_exit();
    assert!(status.success(), "exit status {status}");
    let log = p.log_lines().join("\n");
    assert!(log.contains("shutdown signal received"), "{log}");
    assert!(log.contains("database closed"), "{log}");
    assert!(log.contains("DEV MODE"), "dev mode must say so loudly: {log}");
}

#[tokio::test]
async fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut p = Process::start(dir.path(), &[]);
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = client
            .post(format!("{}/api/orgs/default/tokens", p.base))
            .json(&json!({"name": format!("t{i}"), "scopes": ["orgs:read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        ids.push(body["token"]["tokenId"].as_str().unwrap().to_string());
    }
    p.signal("-KILL");
    p.wait_exit();
    let p = Process::start(dir.path(), &[]);
    let body: serde_json::Value =
        client.get(format!("{}/api/orgs/default/tokens", p.base)).send().await.unwrap().json().await.unwrap();
    let listed = body["tokens"].as_array().unwrap();
    for id in &ids {
        assert!(listed.iter().any(|t| t["tokenId"] == *id), "token {id} lost after kill -9");
    }
}

#[test]
fn a_bad_master_key_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--dev"])
        .env("GATEHOUSE_BIND", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_MASTER_KEY", "too-short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("master key"), "{text}");
    assert!(!text.contains("too-short"), "the key itself must not be echoed: {text}");
}

#[tokio::test]
async fn the_worker_thread_setting_serves_on_any_runtime() {
    // 0: tokio's current-thread runtime (everything on the main thread); 1: one worker.
    for threads in ["0", "1"] {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Process::start(dir.path(), &[("GATEHOUSE_WORKER_THREADS", threads)]);
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{}/api/orgs/default/tokens", p.base))
            .json(&json!({"name": "t", "scopes": ["orgs:read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "GATEHOUSE_WORKER_THREADS={threads}");
        p.signal("-TERM");
        let status = p.wait_exit();
        assert!(status.success(), "GATEHOUSE_WORKER_THREADS={threads}: exit status {status}");
    }
}

#[test]
fn a_bad_worker_thread_setting_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--dev"])
        .env("GATEHOUSE_BIND", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env("GATEHOUSE_WORKER_THREADS", "many")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("GATEHOUSE_WORKER_THREADS must be a number"), "{text}");
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("migrate")
        .env("GATEHOUSE_DATA_DIR", dir.path())
        .env_remove("GATEHOUSE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("gatehouse.db").exists());
}

/// `gatehouse probe`, a container's health check: 0 and the answer when the node on the
/// configured address is alive or ready; 1 and why when nothing answers there.
#[tokio::test]
async fn probe_asks_the_node_on_this_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Process::start(dir.path(), &[]);
    let bind = p.base.trim_start_matches("http://").to_string();
    let probe = |args: &[&str], bind: &str| {
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("probe")
            .args(args)
            .env("GATEHOUSE_BIND", bind)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap()
    };
    let ready = probe(&["ready"], &bind);
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    assert_eq!(String::from_utf8_lossy(&ready.stdout).trim(), r#"200 {"status":"ready"}"#);
    let health = probe(&[], &bind);
    assert!(health.status.success());
    assert!(String::from_utf8_lossy(&health.stdout).contains(r#"{"status":"ok"}"#));
    p.signal("-TERM");
    p.wait_exit();
    let gone = probe(&["ready"], &bind);
    assert_eq!(gone.status.code(), Some(1));
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(said.contains("connecting to") && said.contains(&bind), "{said}");
}
