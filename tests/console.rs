//! Stories of people using the web console in a real browser (Debian's chromium over
//! WebDriver), and the console's guards checked over plain HTTP.

mod common;

use std::time::Duration;

use common::backend::HttpBackend;
use common::browser::Browser;
use common::smtp::SmtpSink;
use common::{Backend, Options, TestServer, sdk};
use gatehouse::config::Mode;
use serde_json::json;

async fn enterprise_with_mail(backend: Backend) -> Option<(TestServer, String, SmtpSink)> {
    let sink = SmtpSink::start()?;
    let options = Options { smtp_url: Some(sink.url()), open_signup: true, ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    Some((server, admin, sink))
}

/// Signs in through the sign-in page with the code the SMTP sink received.
async fn sign_in_by_code(browser: &Browser, sink: &SmtpSink, email: &str) {
    browser.open("/").await;
    assert_eq!(browser.path().await, "/sign-in");
    browser.fill("Email", email).await;
    browser.go("Send code").await;
    let code = SmtpSink::code_in(&sink.next_mail());
    browser.fill("Code", &code).await;
    browser.go("Sign in").await;
}

/// Getting started, by clicking: sign in with a mailed code (a default org is made
/// at first login), New server, Add tool, New key, copy the key from the amber banner, and an
/// official MCP client lists and calls the tool with it.
async fn getting_started_by_clicking(backend: Backend) {
    let Some((server, _admin, sink)) = enterprise_with_mail(backend).await else { return };
    let Some(browser) = Browser::start(&server.base).await else { return };
    let api = HttpBackend::start();

    sign_in_by_code(&browser, &sink, "ada@example.com").await;
    assert_eq!(browser.path().await, "/orgs/ada/servers", "the default org made at first login");
    assert!(browser.text().await.contains("No servers yet"));

    browser.go("New server").await;
    browser.fill("Name", "Weather").await;
    browser.fill("Description (optional)", "Forecasts for agents").await;
    browser.go("Create server").await;
    let overview = browser.path().await;
    assert!(overview.starts_with("/orgs/ada/servers/srv_"), "{overview}");
    let url = browser.labelled("MCP URL").await.prop("value").await.unwrap().unwrap();
    assert_eq!(url, "http://gatehouse.test/mcp/ada/weather");
    assert!(browser.text().await.contains("VS Code"));

    browser.go("Tools").await;
    browser.go("Add tool").await;
    browser.fill("Name", "get_weather").await;
    browser.fill("Description", "Current weather for a city").await;
    browser.choose("Method", "GET").await;
    browser.fill("Endpoint URL", &api.url("/weather/{city}")).await;
    let name = browser.find("#param-0-name").await;
    name.send_keys("city").await.unwrap();
    browser.find("#param-0-location").await.select_by_value("path").await.unwrap();
    browser.find("#param-0-required").await.select_by_value("yes").await.unwrap();
    browser.click_text("Add parameter").await;
    browser.find("#param-2-name").await.send_keys("units").await.unwrap();
    // The inputSchema is shown as the parameters are typed.
    let preview = browser.find("#schema-preview").await;
    let mut schema = String::new();
    for _ in 0..50 {
        schema = preview.text().await.unwrap();
        if schema.contains("units") && schema.contains("\"required\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("the preview is JSON");
    assert_eq!(schema["required"], json!(["city"]), "{schema}");
    assert_eq!(schema["properties"]["units"]["type"], "string");
    browser.submit("form.tool-form button[type=submit]").await;
    browser.wait_path("/tools").await;
    assert!(browser.text().await.contains("get_weather"));

    browser.go("API Keys").await;
    browser.click_text("+ New key").await;
    browser.fill("Label", "production").await;
    browser.go("Create").await;
    let banner = browser.find(".banner.amber").await;
    assert!(banner.text().await.unwrap().contains("shown only once"));
    let raw = browser.labelled("API key").await.prop("value").await.unwrap().unwrap();
    assert!(raw.starts_with("mcp_"), "{raw}");
    browser.find(".banner.amber button[data-copy]").await.click().await.unwrap();
    // Shown once: the list page no longer carries it.
    browser.go("API Keys").await;
    assert!(!browser.has(".banner.amber").await);
    assert!(
        !browser.eval("return document.documentElement.outerHTML").await.as_str().unwrap().contains(&raw)
    );

    // Try it, on the Overview: list and call through the real endpoint with that key.
    browser.open(&overview).await;
    browser.fill("API key", &raw).await;
    browser.click_text("List tools").await;
    let summary = browser.find("details.try-tool summary").await;
    assert_eq!(summary.text().await.unwrap(), "get_weather");
    summary.click().await.unwrap();
    let args = browser.find("#try-args-0").await;
    args.clear().await.unwrap();
    args.send_keys(r#"{"city": "Lima"}"#).await.unwrap();
    browser.click_text("Call").await;
    let mut output = String::new();
    for _ in 0..50 {
        output = browser.find("pre.try-output").await.text().await.unwrap();
        if output.contains("Lima") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(output.contains("/weather/Lima"), "{output}");

    // The Inspector command the Overview shows, run as shown (the pinned Inspector for npx).
    let inspector = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".test-deps/node/node_modules/.bin/mcp-inspector");
    if inspector.exists() {
        let shown = browser.find("#cfg-inspector").await.prop("textContent").await.unwrap().unwrap();
        let command = shown
            .replace("npx @modelcontextprotocol/inspector", &inspector.display().to_string())
            .replace("YOUR_API_KEY", &raw)
            .replace("http://gatehouse.test", &server.base);
        let out = std::process::Command::new("bash").arg("-c").arg(&command).output().expect("bash runs");
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(
            listed.contains("\"get_weather\""),
            "{command}\n{listed}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            !common::in_ci(),
            "CI=true but the MCP Inspector is missing: run scripts/install-test-deps.sh"
        );
    }

    // The MCP URL the console showed, on this server's address; the official TypeScript client.
    let endpoint = url.replace("http://gatehouse.test", &server.base);
    let Some(out) =
        sdk::node_client(&endpoint, "streamable-http", &raw, "get_weather", &json!({"city": "Lima"}))
    else {
        return;
    };
    assert_eq!(out["tools"], json!(["get_weather"]), "{out}");
    let text = out["call"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("/weather/Lima"), "{text}");
    browser.close().await;
}

/// Archive and Delete follow the key rules: an unused key can be deleted, a used one only
/// archived, and an archived one offers nothing more.
async fn archive_and_delete_follow_the_key_rules(backend: Backend) {
    let server = TestServer::start(backend, Options { mode: Some(Mode::Dev), ..Default::default() }).await;
    let Some(browser) = Browser::start(&server.base).await else { return };
    let (server_id, slug) = common::gateway::create_server(&server, "Keys").await;
    let used = server
        .post(&format!("/api/orgs/default/servers/{server_id}/keys"), None, json!({"label": "used"}))
        .await;
    let used_raw = used.body["rawValue"].as_str().unwrap().to_string();
    server
        .post(&format!("/api/orgs/default/servers/{server_id}/keys"), None, json!({"label": "spare"}))
        .await
        .expect(201);
    // A key is used once a request-code was made with it (its MCP calls are counted apart).
    let code = server
        .request(reqwest::Method::POST, &format!("/api/orgs/default/servers/{server_id}/auth/request-code"))
        .header("X-API-Key", &used_raw)
        .json(&json!({"email": "user@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code.status().as_u16(), 200);

    browser.open(&format!("/orgs/default/servers/{server_id}/keys")).await;
    let row = |label: &str| format!("//tr[td[1][normalize-space(.)='{label}']]");
    let buttons = |label: &str| format!("{}//button", row(label));
    let labels = |els: Vec<fantoccini::elements::Element>| async move {
        let mut out = Vec::new();
        for e in els {
            out.push(e.text().await.unwrap());
        }
        out
    };
    let find = |xpath: String| {
        let client = browser.client.clone();
        async move { client.find_all(fantoccini::Locator::XPath(&xpath)).await.unwrap() }
    };
    assert_eq!(labels(find(buttons("used")).await).await, vec!["Archive"]);
    assert_eq!(labels(find(buttons("spare")).await).await, vec!["Delete"]);

    // Confirmations are the script's; accept them as a person would.
    browser.eval("window.confirm = () => true; return null").await;
    browser.eval("window.__ghLeaving = true; return null").await;
    find(buttons("spare")).await[0].click().await.unwrap();
    browser.wait_count(&row("spare"), 0).await;
    browser.eval("window.confirm = () => true; return null").await;
    find(buttons("used")).await[0].click().await.unwrap();
    // An archived key offers nothing more.
    browser.wait_count(&buttons("used"), 0).await;
    assert!(browser.text().await.contains("revoked"));
    // And the archived key no longer opens the server.
    let mut again =
        common::mcp::McpClient::new(&server, &format!("/mcp/default/{slug}"), Some(&used_raw), "2025-06-18");
    assert_eq!(again.initialize().await.status, 401);
    browser.close().await;
}

/// A member sees everything and can change nothing: no New server, disabled forms, and a
/// crafted post is refused by the operation's scope check.
async fn a_member_reads_but_does_not_change(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    server.create_org(&admin, "acme").await;
    let created =
        server.post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Billing"})).await.expect(201);
    let server_id = created.body["server"]["serverId"].as_str().unwrap().to_string();
    server
        .post("/api/orgs/acme/members", Some(&admin), json!({"email": "mel@example.com", "role": "member"}))
        .await
        .expect(201);
    let Some(browser) = Browser::start(&server.base).await else { return };
    sign_in_by_code(&browser, &sink, "mel@example.com").await;
    assert_eq!(browser.path().await, "/orgs/acme/servers");
    assert!(browser.text().await.contains("Billing"));
    assert!(browser.text().await.contains("member · read-only"));
    assert!(!browser.text().await.contains("New server"));
    browser.open(&format!("/orgs/acme/servers/{server_id}")).await;
    assert_eq!(
        browser.find("form.stack fieldset").await.attr("disabled").await.unwrap().as_deref(),
        Some("true")
    );
    browser.open(&format!("/orgs/acme/servers/{server_id}/keys")).await;
    assert!(!browser.text().await.contains("+ New key"));
    // A post made by hand, with a valid anti-forgery token, meets the scope check.
    let status = browser
        .eval_async(&format!(
            "const token = document.querySelector('input[name=_csrf]').value;
             const r = await fetch('/orgs/acme/servers/{server_id}/keys', {{method: 'POST',
               body: new URLSearchParams({{_csrf: token, label: 'sneaky'}})}});
             return r.status;"
        ))
        .await;
    assert_eq!(status, json!(403));
    let keys =
        server.get(&format!("/api/orgs/acme/servers/{server_id}/keys"), Some(&admin)).await.expect(200);
    assert_eq!(keys.body["keys"], json!([]));
    browser.close().await;
}

/// Installing a plugin: the Plugins tab lists FCM, Install opens its configuration form,
/// a bad key file is refused beside its field, the real one installs it; disable and uninstall.
async fn installing_a_plugin_by_clicking(backend: Backend) {
    let Some(fcm) = common::fake_fcm::FakeFcm::start() else { return };
    let server = TestServer::start(backend, Options { mode: Some(Mode::Dev), ..Default::default() }).await;
    let Some(browser) = Browser::start(&server.base).await else { return };
    let (server_id, _) = common::gateway::create_server(&server, "Push").await;
    browser.open(&format!("/orgs/default/servers/{server_id}")).await;
    browser.go("Plugins").await;
    let card = browser.find("#plugin-fcm").await;
    assert_eq!(card.text().await.unwrap(), "FCM Integration");
    assert!(browser.text().await.contains("Not installed"));
    browser.go("Install").await;
    browser.fill("Service Account Key JSON", "{not json").await;
    browser.submit("form.card button[type=submit]").await;
    let error = browser.find("#cfg-serviceAccountJson-error").await.text().await.unwrap();
    assert!(error.contains("serviceAccountJson"), "{error}");
    let field = browser.labelled("Service Account Key JSON").await;
    assert_eq!(field.prop("value").await.unwrap().as_deref(), Some(""), "a secret is never written back");
    browser.fill("Service Account Key JSON", &fcm.service_account.to_string()).await;
    browser.go("Install plugin").await;
    browser.wait_path("/plugins").await;
    assert!(browser.text().await.contains("Enabled"));
    let api =
        server.get(&format!("/api/orgs/default/servers/{server_id}/plugins/fcm"), None).await.expect(200);
    assert_eq!(api.body["plugin"]["secretFields"], json!(["serviceAccountJson"]));

    browser.go("Disable").await;
    assert!(browser.text().await.contains("Disabled"));
    browser.eval("window.confirm = () => true; return null").await;
    browser.go("Uninstall").await;
    assert!(browser.text().await.contains("Not installed"));
    server.get(&format!("/api/orgs/default/servers/{server_id}/plugins/fcm"), None).await.expect(404);
    browser.close().await;
}

backend_tests!(
    getting_started_by_clicking,
    archive_and_delete_follow_the_key_rules,
    a_member_reads_but_does_not_change,
    installing_a_plugin_by_clicking
);
