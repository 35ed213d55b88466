//! Who can make Gatehouse run what: on an instance that allows no stdio command, an org admin
//! installs a catalogue template and then tries to make it run code of theirs, through the
//! environment (`NODE_OPTIONS=--require=…`) or extra arguments. Both are refused when the
//! upstream is changed, and a launch the operator stops allowing is refused at its next start.

mod common;

use common::upstreams::everything;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

/// A script that leaves a mark if Node ever loads it.
fn payload(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let marker = dir.join("owned");
    let script = dir.join("payload.js");
    std::fs::write(
        &script,
        format!(
            "require('fs').writeFileSync({:?}, 'the gateway ran my code');\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    (script, marker)
}

async fn install_everything(server: &TestServer, token: &str) -> (String, Value) {
    let installed = server
        .post(
            "/api/orgs/acme/upstreams/install-template",
            Some(token),
            json!({"templateId": "everything", "approvalPolicy": "auto_approve"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(installed["upstream"]["status"], "connected", "{installed}");
    (installed["upstream"]["upstreamId"].as_str().unwrap().to_string(), installed["upstream"]["args"].clone())
}

async fn an_org_admin_cannot_make_a_template_run_their_code(backend: Backend) {
    if everything().is_none() {
        return; // npx resolves the pinned package from the cache the test dependencies filled
    }
    let (server, admin) =
        TestServer::enterprise_with(backend, Options { stdio_commands: Some(vec![]), ..Default::default() })
            .await;
    server.create_org(&admin, "acme").await;
    // An ordinary management token, not the instance admin.
    let token = server.mint_token(&admin, "acme", &["upstreams:read", "upstreams:write"]).await;
    let (uid, args) = install_everything(&server, &token).await;
    let one = format!("/api/orgs/acme/upstreams/{uid}");
    let dir = tempfile::tempdir().unwrap();
    let (script, marker) = payload(dir.path());

    for (name, value) in [
        ("NODE_OPTIONS", format!("--require={}", script.display())),
        ("LD_PRELOAD", "/tmp/x.so".to_string()),
        ("PYTHONPATH", dir.path().display().to_string()),
        ("BASH_ENV", script.display().to_string()),
        ("PATH", dir.path().display().to_string()),
        ("SOMETHING_NEW", "x".to_string()),
    ] {
        let refused = server
            .patch(&one, Some(&token), json!({"env": {name: value}}))
            .await
            .expect_error(403, "forbidden");
        assert!(
            refused.text.contains(name) && refused.text.contains("GATEHOUSE_STDIO_ENV"),
            "{}",
            refused.text
        );
    }
    // Extra arguments after the template's own, or in place of them.
    let mut trailing: Vec<Value> = args.as_array().unwrap().clone();
    trailing.extend([json!("--require"), json!(script.display().to_string())]);
    let refused =
        server.patch(&one, Some(&token), json!({"args": trailing})).await.expect_error(403, "forbidden");
    assert!(refused.text.contains("fixes the whole command line"), "{}", refused.text);
    server
        .patch(&one, Some(&token), json!({"args": ["-e", "require('child_process')"]}))
        .await
        .expect_error(403, "forbidden");

    // Nothing was changed, and the upstream restarts as it was installed.
    let shown = server.get(&one, Some(&token)).await.expect(200).body;
    assert_eq!(shown["upstream"]["envKeys"], json!([]), "{shown}");
    assert_eq!(shown["upstream"]["args"], args);
    let refreshed = server.post(&format!("{one}/tools/refresh"), Some(&token), json!({})).await.expect(200);
    assert!(refreshed.text.contains("echo"), "{}", refreshed.text);
    assert!(!marker.exists(), "the injected code ran");
}

/// The operator allowed a variable once; after a restart without it, the upstream that uses it
/// does not start again (the policy is checked before every spawn, not only when configured).
async fn a_launch_is_checked_again_before_every_start(backend: Backend) {
    if everything().is_none() {
        return;
    }
    let options = Options {
        stdio_commands: Some(vec![]),
        stdio_env: vec!["NODE_OPTIONS".into()],
        ..Default::default()
    };
    let (mut server, admin) = TestServer::enterprise_with(backend, options).await;
    server.create_org(&admin, "acme").await;
    let (uid, _) = install_everything(&server, &admin).await;
    let one = format!("/api/orgs/acme/upstreams/{uid}");
    let dir = tempfile::tempdir().unwrap();
    let (script, marker) = payload(dir.path());
    let allowed = server
        .patch(
            &one,
            Some(&admin),
            json!({"env": {"NODE_OPTIONS": format!("--require={}", script.display())}}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(allowed["upstream"]["envKeys"], json!(["NODE_OPTIONS"]), "{allowed}");
    assert!(marker.exists(), "allowed by the operator, the option applies");
    std::fs::remove_file(&marker).unwrap();

    server.config.stdio_env = Vec::new();
    server.restart().await;
    let refreshed = server.post(&format!("{one}/tools/refresh"), Some(&admin), json!({})).await;
    assert!(refreshed.status >= 400, "{}", refreshed.text);
    let shown = server.get(&one, Some(&admin)).await.expect(200).body;
    assert_eq!(shown["upstream"]["status"], "error", "{shown}");
    let last_error = shown["upstream"]["lastError"].as_str().unwrap_or_default();
    assert!(last_error.contains("NODE_OPTIONS"), "{shown}");
    assert!(!marker.exists(), "a launch the operator no longer allows must not start");
}

backend_tests!(
    an_org_admin_cannot_make_a_template_run_their_code,
    a_launch_is_checked_again_before_every_start
);
