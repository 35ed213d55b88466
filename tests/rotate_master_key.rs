//! Story: an operator rotates the master key. First the server is restarted with the new key
//! and the old one as `GATEHOUSE_PREVIOUS_MASTER_KEY` (a rolling step: it reads both, seals with
//! the new one); then `gatehouse secrets rotate-master-key` runs as a real process against the
//! database and re-seals everything; the server starts with the new key alone and every sealed
//! credential (org secrets, tools' own credentials, old and new) still works.
//! Started with the old key, Gatehouse refuses to run with a clear error instead of serving
//! credentials it cannot open.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::backend::HttpBackend;
use common::process::Process;
use common::{Backend, TestDb};
use gatehouse::crypto::MasterKey;
use serde_json::{Value, json};

const ORG_SECRET: &str = "sk-rotation-org-secret-31f0c2d4";
const TOOL_CREDENTIAL: &str = "inline-tool-credential-7a2b";

/// Runs the binary to completion (at most 60 s) with `env`; returns its output.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args(args)
        .env("GATEHOUSE_BIND", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_MASTER_KEY")
        .env_remove("GATEHOUSE_NEW_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn gatehouse");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("gatehouse {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let r = client.request(method, format!("{base}{path}")).json(&body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Calls `tool` on server `vault` statelessly; returns the Authorization header the API saw.
async fn authorization(client: &reqwest::Client, base: &str, key: &str, tool: &str) -> String {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let r: Value = client
        .post(format!("{base}/mcp/default/vault"))
        .header("x-api-key", key)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}, "_meta": meta}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["result"]["isError"].is_null(), "{tool}: {r}");
    let echo: Value = serde_json::from_str(r["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    echo["headers"]["authorization"].as_str().unwrap_or_default().to_string()
}

async fn rotation_reseals_everything_and_the_old_key_is_refused(backend: Backend) {
    let http = HttpBackend::start();
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path()).await;
    let env = [("GATEHOUSE_DATABASE_URL", db.url.as_str())];
    let client = reqwest::Client::new();

    // A server whose tools present an org secret and their own credential.
    let mut p = Process::start(dir.path(), &env);
    let base = p.base.clone();
    let s = send(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/orgs/default/secrets",
        json!({"name": "Backend", "provider": "generic", "value": ORG_SECRET}),
    )
    .await;
    let secret_id = s["secret"]["secretId"].as_str().unwrap().to_string();
    let srv =
        send(&client, &base, reqwest::Method::POST, "/api/orgs/default/servers", json!({"name": "Vault"}))
            .await;
    let sid = srv["server"]["serverId"].as_str().unwrap().to_string();
    let tools = format!("/api/orgs/default/servers/{sid}/tools");
    send(
        &client,
        &base,
        reqwest::Method::POST,
        &tools,
        json!({"name": "via_secret", "description": "d", "method": "GET",
        "endpointUrl": http.url("/echo"), "auth": {"type": "bearer", "secretId": secret_id}}),
    )
    .await;
    send(
        &client,
        &base,
        reqwest::Method::POST,
        &tools,
        json!({"name": "inline", "description": "d", "method": "GET",
        "endpointUrl": http.url("/echo"), "auth": {"type": "bearer", "credential": TOOL_CREDENTIAL}}),
    )
    .await;
    // An upstream with its own credential (not connected: only its sealed column matters here).
    send(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/orgs/default/upstreams",
        json!({"name": "remote",
        "transport": "streamable_http", "url": http.url("/mcp"), "isEnabled": false,
        "requestHeaders": {"X-Tenant-Key": "tenant-key-77aa"},
        "auth": {"type": "bearer", "credential": "upstream-credential-4d2e"}}),
    )
    .await;
    let k = send(
        &client,
        &base,
        reqwest::Method::POST,
        &format!("/api/orgs/default/servers/{sid}/keys"),
        json!({"label": "k"}),
    )
    .await;
    let key = k["rawValue"].as_str().unwrap().to_string();
    assert_eq!(authorization(&client, &base, &key, "via_secret").await, format!("Bearer {ORG_SECRET}"));
    assert_eq!(authorization(&client, &base, &key, "inline").await, format!("Bearer {TOOL_CREDENTIAL}"));
    p.stop_and_read_log();

    let key_file = dir.path().join("master.key");
    let old = std::fs::read_to_string(&key_file).unwrap();
    let new = MasterKey::generate().to_base64();

    // Rolling step: the new key seals, the old one still opens.
    let rolling = [
        ("GATEHOUSE_DATABASE_URL", db.url.as_str()),
        ("GATEHOUSE_MASTER_KEY", new.as_str()),
        ("GATEHOUSE_PREVIOUS_MASTER_KEY", old.trim()),
    ];
    let mut p = Process::start(dir.path(), &rolling);
    let base = p.base.clone();
    assert_eq!(authorization(&client, &base, &key, "via_secret").await, format!("Bearer {ORG_SECRET}"));
    let s = send(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/orgs/default/secrets",
        json!({"name": "Rolled", "provider": "generic", "value": "rolled-secret-value-99"}),
    )
    .await;
    let rolled_id = s["secret"]["secretId"].as_str().unwrap().to_string();
    send(
        &client,
        &base,
        reqwest::Method::POST,
        &tools,
        json!({"name": "rolled", "description": "d", "method": "GET",
        "endpointUrl": http.url("/echo"), "auth": {"type": "bearer", "secretId": rolled_id}}),
    )
    .await;
    assert_eq!(authorization(&client, &base, &key, "rolled").await, "Bearer rolled-secret-value-99");
    p.stop_and_read_log();
    let data_dir = dir.path().to_str().unwrap();
    let rotate = ["secrets", "rotate-master-key"];
    // Runs the binary on this data directory and database, with `extra` variables.
    let run_with = |args: &[&str], extra: &[(&str, String)]| {
        let mut env: Vec<(&str, &str)> =
            vec![("GATEHOUSE_DATA_DIR", data_dir), ("GATEHOUSE_DATABASE_URL", &db.url)];
        env.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
        run(args, &env)
    };

    // Refused: no new key, a malformed one, the current one. Nothing changes.
    let out = run_with(&rotate, &[]);
    assert!(!out.status.success() && text(&out).contains("GATEHOUSE_NEW_MASTER_KEY"), "{}", text(&out));
    let out = run_with(&rotate, &[("GATEHOUSE_NEW_MASTER_KEY", "not-a-key".into())]);
    assert!(!out.status.success() && text(&out).contains("new master key"), "{}", text(&out));
    let out = run_with(&rotate, &[("GATEHOUSE_NEW_MASTER_KEY", old.clone())]);
    assert!(!out.status.success() && text(&out).contains("is the current one"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), old);

    // Rotated, from a key file: the new key replaces it, the old is kept as .bak.
    let new_key_file = dir.path().join("incoming.key");
    std::fs::write(&new_key_file, &new).unwrap();
    let out = run_with(&[&rotate[..], &["--new-key-file", new_key_file.to_str().unwrap()]].concat(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("master key rotated"), "{}", text(&out));
    assert!(!text(&out).contains(&new) && !text(&out).contains(&old), "keys are never logged");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), new);
    assert_eq!(std::fs::read_to_string(dir.path().join("master.key.bak")).unwrap(), old);
    assert!(!dir.path().join("master.key.new").exists());
    // Every sealed value of every sealed column now opens with the new key only.
    let store = gatehouse::store::open(&db.url, gatehouse::config::DEFAULT_DB_MAX_CONNECTIONS).await.unwrap();
    let (old_key, new_key) = (MasterKey::from_base64(&old).unwrap(), MasterKey::from_base64(&new).unwrap());
    let mut seen = Vec::new();
    for column in gatehouse::store::SEALED_COLUMNS {
        for (id, sealed) in store.sealed_sample(column, 1000).await.unwrap() {
            assert!(
                new_key.decrypt(column.purpose, &sealed, id.as_bytes()).is_ok(),
                "{}.{} of {id}",
                column.table,
                column.column
            );
            assert!(old_key.decrypt(column.purpose, &sealed, id.as_bytes()).is_err());
            seen.push(format!("{}.{}", column.table, column.column));
        }
    }
    store.close().await;
    for column in [
        "settings.value",
        "secrets.value",
        "http_tools.auth_credential",
        "upstreams.auth_credential",
        "upstreams.headers_sealed",
    ] {
        assert!(seen.iter().any(|s| s == column), "{column} was re-sealed: {seen:?}");
    }

    // The server starts with the new key alone and every credential still works.
    let mut p = Process::start(dir.path(), &env);
    assert_eq!(authorization(&client, &p.base, &key, "via_secret").await, format!("Bearer {ORG_SECRET}"));
    assert_eq!(authorization(&client, &p.base, &key, "inline").await, format!("Bearer {TOOL_CREDENTIAL}"));
    assert_eq!(authorization(&client, &p.base, &key, "rolled").await, "Bearer rolled-secret-value-99");
    p.stop_and_read_log();

    // With the old key it refuses to start, saying why.
    let out = run_with(&["serve", "--dev"], &[("GATEHOUSE_MASTER_KEY", old.trim().to_string())]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("master key does not match the data in this database"), "{}", text(&out));
    // So does a key file that is not this database's (e.g. regenerated after it was lost).
    std::fs::remove_file(&key_file).unwrap();
    let out = run_with(&["serve", "--dev"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("master key does not match the data in this database"), "{}", text(&out));
    // And rotation with a wrong current key changes nothing.
    let out = run_with(
        &rotate,
        &[
            ("GATEHOUSE_MASTER_KEY", old.trim().to_string()),
            ("GATEHOUSE_NEW_MASTER_KEY", MasterKey::generate().to_base64()),
        ],
    );
    assert!(!out.status.success() && text(&out).contains("does not match"), "{}", text(&out));
    let mut p = Process::start(
        dir.path(),
        &[("GATEHOUSE_DATABASE_URL", db.url.as_str()), ("GATEHOUSE_MASTER_KEY", new.as_str())],
    );
    assert_eq!(authorization(&client, &p.base, &key, "via_secret").await, format!("Bearer {ORG_SECRET}"));
    let log = p.stop_and_read_log();
    assert!(!log.contains(ORG_SECRET) && !log.contains(&new), "no secret or key in the log");
}

backend_tests!(rotation_reseals_everything_and_the_old_key_is_refused);
