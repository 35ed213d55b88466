//! Story: the whole management API, as its OpenAPI document describes it, and the authorization
//! server's endpoints, as theirs do, are fuzzed by
//! schemathesis (pinned, installed by `scripts/install-test-deps.sh`) in dev and enterprise
//! mode, against real resources so that operations get past their 404s. Every answer must
//! match the document (status, content type, body schema), no request the document admits may
//! be refused as malformed, and nothing may be a server error (a 502 from an upstream that is
//! not there is the upstream's failure, documented as such). Destructive operations run last,
//! in a run of their own.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::smtp::SmtpSink;
use common::{Backend, Options, TestServer};
use serde_json::json;

/// Test cases per operation and phase: enough to find a limit the document does not state,
/// few enough for CI.
const EXAMPLES: &str = "20";

fn schemathesis() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-deps/schemathesis/bin/schemathesis");
    if path.exists() {
        return Some(path);
    }
    assert!(!common::in_ci(), "CI=true but schemathesis is missing: run scripts/install-test-deps.sh");
    eprintln!("SKIPPED: schemathesis is not installed; run scripts/install-test-deps.sh");
    None
}

/// Creates one of every resource in org `default`; returns the path parameters naming them and
/// the server's API key (for the operations an agent calls).
async fn resources(server: &TestServer, token: Option<&str>) -> (Vec<(&'static str, String)>, String) {
    let org = "/api/orgs/default";
    let id = |v: serde_json::Value, outer: &str, inner: &str| v[outer][inner].as_str().unwrap().to_string();
    let srv = server.post(&format!("{org}/servers"), token, json!({"name": "Fuzzed"})).await.expect(201).body;
    let sid = id(srv, "server", "serverId");
    let tool = server
        .post(
            &format!("{org}/servers/{sid}/tools"),
            token,
            json!({"name": "echo", "description": "Echo", "method": "GET", "endpointUrl": "http://127.0.0.1:9/echo"}),
        )
        .await
        .expect(201)
        .body;
    let key =
        server.post(&format!("{org}/servers/{sid}/keys"), token, json!({"label": "k"})).await.expect(201);
    let upstream = server
        .post(
            &format!("{org}/upstreams"),
            token,
            json!({"name": "Up", "transport": "streamable_http", "url": "https://example.com/mcp", "isEnabled": false}),
        )
        .await
        .expect(201)
        .body;
    let secret = server
        .post(&format!("{org}/secrets"), token, json!({"name": "S", "provider": "generic", "value": "v"}))
        .await
        .expect(201)
        .body;
    let minted = server
        .post(&format!("{org}/tokens"), token, json!({"name": "t", "scopes": ["servers:read"]}))
        .await
        .expect(201)
        .body;
    let policy = server
        .put(
            &format!("{org}/servers/{sid}/policies"),
            token,
            json!({"toolPattern": "echo", "action": "deny"}),
        )
        .await
        .expect(200)
        .body;
    let client = server
        .post(
            &format!("{org}/oauth-clients"),
            token,
            json!({"clientName": "Fuzzed client", "redirectUris": ["http://127.0.0.1/cb"]}),
        )
        .await
        .expect(201)
        .body;
    let me = server.get("/api/auth/me", token).await.expect(200).body;
    let api_key = key.body["rawValue"].as_str().unwrap().to_string();
    let parameters = vec![
        ("org", "default".to_string()),
        ("toolId", id(tool, "tool", "toolId")),
        ("keyId", id(key.body, "key", "keyId")),
        ("upstreamId", id(upstream, "upstream", "upstreamId")),
        ("secretId", id(secret, "secret", "secretId")),
        ("tokenId", id(minted, "token", "tokenId")),
        ("policyId", id(policy, "policy", "policyId")),
        ("userId", me["user"]["userId"].as_str().unwrap_or("usr_none").to_string()),
        ("serverId", sid),
        ("clientId", id(client, "client", "clientId")),
        ("connectionId", "ocg_none".to_string()),
        ("server", "fuzzed".to_string()),
        ("toolName", "echo".to_string()),
        ("pluginId", "fcm".to_string()),
        ("notificationId", "ntf_none".to_string()),
    ];
    (parameters, api_key)
}

/// The run's configuration: where the resources are, and what the checks accept.
fn config(parameters: &[(&str, String)], token: Option<&str>, api_key: &str) -> String {
    let mut toml = String::from("[parameters]\n");
    // The compatible surfaces' path parameters: the org, and names that exist or not.
    for (name, value) in [("environment_id", "default"), ("project_id", "default"), ("username", "fuzz-user")]
    {
        toml.push_str(&format!("{name} = {value:?}\n"));
    }
    for (name, value) in parameters {
        toml.push_str(&format!("{name} = {value:?}\n"));
    }
    toml.push_str(&format!("\n[headers]\nX-API-Key = {api_key:?}\n"));
    if let Some(token) = token {
        toml.push_str(&format!("Authorization = \"Bearer {token}\"\n"));
    }
    // 422: what the document admits but cannot be done (fields that contradict each other,
    // a reference to nothing); 502: an upstream that is not there.
    toml.push_str(
        r#"
[checks.not_a_server_error]
expected-statuses = ["1xx", "2xx", "3xx", "4xx", "502"]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "502"]
"#,
    );
    toml
}

/// Every check: the management API admits no schema-valid request it then refuses.
const ALL_CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                          response_schema_conformance,positive_data_acceptance";
/// The authorization server's endpoints refuse what only the server can know is wrong (a code
/// that was never issued, a token that is not one) with the OAuth errors their document
/// states, so acceptance of schema-valid input is not asked of them.
const OAUTH_CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn run(
    server: &TestServer,
    config_file: &std::path::Path,
    (document, checks): (&str, &str),
    methods: &[&str],
) {
    let binary = schemathesis().expect("checked by the caller");
    // Run in the configuration's own temporary folder: schemathesis keeps a cache where it runs.
    let output = Command::new(binary)
        .current_dir(config_file.parent().unwrap())
        .args(["--config-file", config_file.to_str().unwrap(), "run"])
        .arg(format!("{}{document}", server.base))
        // One worker: with two threads, hypothesis 6's lambda-source introspection can fail
        // with an internal "AST constructor recursion depth mismatch" that is no finding.
        .args(["-n", EXAMPLES, "--seed", "1", "-w", "1", "--no-color"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--checks", checks])
        .args(methods)
        .output()
        .expect("schemathesis runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "schemathesis found failures:\n{text}");
    assert!(text.contains(" passed"), "schemathesis ran nothing:\n{text}");
}

async fn fuzz(server: TestServer, token: Option<String>) {
    let (parameters, api_key) = resources(&server, token.as_deref()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schemathesis.toml");
    std::fs::write(&file, config(&parameters, token.as_deref(), &api_key)).unwrap();
    // The runs block on a child process: the server keeps serving on the runtime's workers.
    tokio::task::block_in_place(|| {
        let management = ("/api/openapi.json", ALL_CHECKS);
        run(&server, &file, management, &["--exclude-method", "DELETE"]);
        run(&server, &file, management, &["--include-method", "DELETE"]);
        run(&server, &file, ("/oauth/openapi.json", OAUTH_CHECKS), &[]);
        // The compatible surfaces: their payloads are other APIs' (described loosely), so what
        // is asked of them is that nothing they are sent fails inside.
        run(&server, &file, ("/api/compat/openapi.json", "not_a_server_error"), &[]);
    });
}

async fn dev_mode_surface_holds(backend: Backend) {
    if schemathesis().is_none() {
        return;
    }
    // No stdio program may run: the fuzzer must not start whatever commands it makes up.
    let options = Options {
        mode: Some(gatehouse::config::Mode::Dev),
        stdio_commands: Some(Vec::new()),
        ..Default::default()
    };
    fuzz(TestServer::start(backend, options).await, None).await;
}

async fn enterprise_mode_surface_holds(backend: Backend) {
    if schemathesis().is_none() {
        return;
    }
    // Login codes go out by real SMTP, as in production.
    let Some(sink) = SmtpSink::start() else { return };
    let options =
        Options { smtp_url: Some(sink.url()), stdio_commands: Some(Vec::new()), ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    server.create_org(&admin, "default").await;
    fuzz(server, Some(admin)).await;
    drop(sink);
}

backend_tests!(dev_mode_surface_holds, enterprise_mode_surface_holds);
