//! Story: an operator drives a running Gatehouse from the command line — signs in by e-mail code,
//! lists and creates things, calls a tool, reads usage — and scripts rely on `--json` and the
//! exit codes. Every registry operation is a command, a REST route, an OpenAPI operation and
//! (where offered) a management MCP tool.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::backend::HttpBackend;
use common::smtp::SmtpSink;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

struct Cli {
    url: String,
    token: Option<String>,
    home: tempfile::TempDir,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("GATEHOUSE_URL", &self.url)
            .env_remove("GATEHOUSE_TOKEN")
            .env_remove("GATEHOUSE_ORG")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = &self.token {
            cmd.env("GATEHOUSE_TOKEN", t);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[args, &["--json"]].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out)))
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

async fn an_operator_at_the_command_line(backend: Backend) {
    let Some(smtp) = SmtpSink::start() else { return };
    let (server, admin) =
        TestServer::enterprise_with(backend, Options { smtp_url: Some(smtp.url()), ..Default::default() })
            .await;
    let http = HttpBackend::start();
    let (_sid, _key) = server
        .publish_echo(
            &admin,
            &http,
            json!([{"name": "text", "location": "query", "type": "string", "required": true}]),
        )
        .await;
    let cli = Cli { url: server.base.clone(), token: None, home: tempfile::tempdir().unwrap() };

    // Not signed in: exit code 4.
    let out = cli.run(&["servers", "list"]);
    assert_eq!(code(&out), 4, "{}", text(&out));

    // login: the code comes by mail and is typed in; the session is saved, owner-only.
    let mut child =
        cli.command(&["login", "--email", "admin@example.com"]).stdin(Stdio::piped()).spawn().unwrap();
    let mail = smtp.next_mail();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", SmtpSink::code_in(&mail)).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let saved = cli.home.path().join("gatehouse/credentials.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);

    // Tables for people, JSON for scripts; the org is the only one when none is named.
    let out = cli.run(&["servers", "list", "--org", "acme"]);
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().next().unwrap().starts_with("SERVERID"), "{table}");
    assert!(table.contains("echo"), "{table}");
    let listed = cli.json(&["servers", "list"]);
    assert_eq!(listed["servers"][0]["slug"], "echo");

    // A server named by slug; a key created; a tool invoked; usage read.
    let key = cli.json(&["keys", "create", "--server", "echo", "--label", "ci"]);
    assert!(key["rawValue"].as_str().unwrap().starts_with("mcp_"), "{key}");
    let keys = cli.json(&["keys", "list", "--server", "echo"]);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    let done = cli.json(&["invoke", "echo", "echo", "text=hello"]);
    assert_eq!(done["isError"], false, "{done}");
    assert!(done.to_string().contains("hello"), "{done}");
    let usage = cli.json(&["usage", "--range", "30d"]);
    assert!(usage["days"].is_array(), "{usage}");
    let out = cli.run(&["usage", "timeseries", "--range", "7d"]);
    assert!(out.status.success(), "{}", text(&out));

    // An upstream registered, one of its tools approved by the shortcut.
    let upstream = common::upstreams::PyUpstream::start();
    let made = cli.json(&[
        "upstreams",
        "create",
        "--name",
        "calc",
        "--transport",
        "streamable_http",
        "--url-value",
        &upstream.url(),
    ]);
    assert_eq!(made["upstream"]["name"], "calc", "{made}");
    let approved = cli.json(&["upstreams", "approve", "--upstream", "calc", "--tool-name", "echo"]);
    assert_eq!(approved["tool"]["approvalState"], "approved", "{approved}");
    let rejected = cli.json(&["upstreams", "reject", "--upstream", "calc", "--tool-name", "add"]);
    assert_eq!(rejected["tool"]["approvalState"], "rejected", "{rejected}");
    assert!(cli.run(&["tools", "add", "--help"]).status.success(), "create answers to add");

    // Long values from files, as curl takes them: an OpenAPI document previewed and imported.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi");
    let document = format!("@{}", fixtures.join("petstore-3.1.yaml").display());
    let preview = cli.json(&[
        "openapi-imports",
        "preview",
        "--server",
        "echo",
        "--document",
        &document,
        "--base-url",
        "https://petstore.example/api/v31",
    ]);
    assert_eq!(preview["preview"]["tools"].as_array().unwrap().len(), 6, "{preview}");
    let source = cli.home.path().join("source.json");
    let yaml = std::fs::read_to_string(fixtures.join("petstore-3.1.yaml")).unwrap();
    std::fs::write(&source, json!({"document": yaml, "baseUrl": "https://petstore.example/api/v31", "select": {"operations": ["getPetById", "findPetsByStatus"]}}).to_string()).unwrap();
    let source = format!("@{}", source.display());
    let made = cli.json(&["openapi-imports", "create", "--server", "echo", "--source", &source]);
    assert_eq!(made["import"]["tools"], json!(["find_pets_by_status", "get_pet_by_id"]), "{made}");
    let out = cli.run(&["openapi-imports", "preview", "--server", "echo", "--document", "@/nowhere.yaml"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("--document: cannot read /nowhere.yaml"), "{}", text(&out));

    // Exit codes scripts can rely on.
    assert_eq!(code(&cli.run(&["servers", "get", "--server", "nope"])), 3);
    assert_eq!(code(&cli.run(&["servers", "create"])), 2, "a required option left out");
    assert_eq!(code(&cli.run(&["servers", "create", "--name", "Bad", "--slug", "NOT A SLUG"])), 5);
    assert_eq!(code(&cli.run(&["servers", "list", "--token", "gh_pt_not_a_token"])), 4);
    assert_eq!(code(&cli.run(&["servers", "list", "--url", "http://127.0.0.1:9"])), 6);
    let out = cli.run(&["servers", "get", "--server", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_found"), "{}", text(&out));

    // logout forgets the session.
    assert!(cli.run(&["logout"]).status.success());
    assert!(!saved.exists());
    assert_eq!(code(&cli.run(&["servers", "list"])), 4);
}

/// Help comes from each operation's summary and schema; completions for the shells.
#[test]
fn help_and_completions_are_generated() {
    let cli = Cli { url: "http://127.0.0.1:9".into(), token: None, home: tempfile::tempdir().unwrap() };
    let out = cli.run(&["servers", "create", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Create a server (an MCP endpoint).")
            && help.contains("--name")
            && help.contains("--slug"),
        "{help}"
    );
    assert!(help.contains("POST /api/orgs/{org}/servers"), "{help}");
    let out = cli.run(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for group in
        ["servers", "keys", "upstreams", "tools", "policies", "invoke", "login", "completions", "serve"]
    {
        assert!(help.contains(group), "{group} in {help}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = cli.run(&["completions", shell]);
        assert!(out.status.success(), "{}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("gatehouse") && script.contains("servers"), "{shell}");
    }
}

/// One registry, four surfaces: a test fails if an operation is missing from any of them.
async fn every_operation_is_everywhere(backend: Backend) {
    let (server, _admin) =
        TestServer::enterprise_with(backend, Options { mcp_server_enabled: true, ..Default::default() })
            .await;
    let registry = gatehouse::api::registry();
    let openapi = server.get("/api/openapi.json", None).await.expect(200).body;
    let mut in_openapi = std::collections::HashSet::new();
    for methods in openapi["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                in_openapi.insert(id.to_string());
            }
        }
    }
    let tools: Vec<String> = gatehouse::api::mcp::tools(&registry)
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let cli = Cli { url: server.base.clone(), token: None, home: tempfile::tempdir().unwrap() };
    for op in registry.operations() {
        let name = op.spec.name;
        assert!(in_openapi.contains(name), "{name} is missing from the OpenAPI document");
        assert_eq!(tools.contains(&name.to_string()), op.spec.mcp, "{name} and the management MCP tools");
        let (resource, verb) = gatehouse::cli::naming::command_of(name);
        let out = cli.run(&[&resource, &verb, "--help"]);
        assert!(out.status.success(), "{name}: gatehouse {resource} {verb}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(op.spec.summary), "{name}'s help");
        // The REST route answers (anything but the router's 404 for an unknown path).
        let path = op.spec.path.replace("{org}", "no-such-org").replace(['{', '}'], "");
        let r = server
            .send(reqwest::Method::from_bytes(op.spec.method.as_str().as_bytes()).unwrap(), &path, None, None)
            .await;
        assert!(
            !(r.status == 404 && r.text.contains("no route")),
            "{name}: {} {path}: {}",
            op.spec.method,
            r.text
        );
    }
}

backend_tests!(an_operator_at_the_command_line, every_operation_is_everywhere);
