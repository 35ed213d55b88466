//! Story: an admin configures a server from its console tabs — a policy that denies a tool, the
//! end-user auth service's settings, data logging — each form going through the operation, a
//! refused value shown beside its field and changing nothing.

mod common;

use common::backend::HttpBackend;
use common::console::{client, post_form, visit};
use common::mcp::McpClient;
use common::{Backend, TestServer};
use serde_json::json;

async fn page(server: &TestServer, path: &str) -> String {
    client().get(format!("{}{path}", server.base)).send().await.unwrap().text().await.unwrap()
}

async fn configuring_a_server_from_its_tabs(backend: Backend) {
    let api = HttpBackend::start();
    let server = TestServer::dev(backend).await;
    let (id, slug) = common::gateway::create_server(&server, "Tabs").await;
    let org = "/api/orgs/default";
    for name in ["get_thing", "put_thing"] {
        let tool =
            json!({"name": name, "description": "d", "method": "GET", "endpointUrl": api.url("/thing")});
        server.post(&format!("{org}/servers/{id}/tools"), None, tool).await.expect(201);
    }
    let key = server.post(&format!("{org}/servers/{id}/keys"), None, json!({"label": "k"})).await.expect(201);
    let raw = key.body["rawValue"].as_str().unwrap().to_string();
    let tabs = format!("/orgs/default/servers/{id}");
    let (cookies, csrf, _) = visit(&server, &format!("{tabs}/policies"), None).await;

    // Policies: deny put_*; it leaves tools/list; then delete it.
    let form = [
        ("_csrf", csrf.as_str()),
        ("toolPattern", "put_*"),
        ("action", "deny"),
        ("requests", ""),
        ("perSeconds", ""),
        ("scope", "key"),
    ];
    assert_eq!(post_form(&server, &format!("{tabs}/policies"), &cookies, &form, &[]).await, 303);
    let policies = server.get(&format!("{org}/servers/{id}/policies"), None).await.expect(200).body;
    assert_eq!(policies["policies"][0]["action"], "deny", "{policies}");
    let mut client = McpClient::new(&server, &format!("/mcp/default/{slug}"), Some(&raw), "2026-07-28");
    let listed = client.request("tools/list", json!({})).await.expect(200).body;
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 1, "{listed}");
    let half = [
        ("_csrf", csrf.as_str()),
        ("toolPattern", "*"),
        ("action", "allow"),
        ("requests", "5"),
        ("perSeconds", ""),
        ("scope", "key"),
    ];
    assert_eq!(post_form(&server, &format!("{tabs}/policies"), &cookies, &half, &[]).await, 400);
    let policy_id = policies["policies"][0]["policyId"].as_str().unwrap();
    let form = [("_csrf", csrf.as_str())];
    assert_eq!(
        post_form(&server, &format!("{tabs}/policies/{policy_id}/delete"), &cookies, &form, &[]).await,
        303
    );
    assert_eq!(
        server.get(&format!("{org}/servers/{id}/policies"), None).await.expect(200).body["policies"],
        json!([])
    );

    // Auth: settings saved; a lifetime out of range is refused beside its field.
    let mut form = vec![
        ("_csrf", csrf.as_str()),
        ("enabled", "true"),
        ("tokenLifetimeSeconds", "3600"),
        ("codeLifetimeSeconds", "300"),
        ("allowedEmailDomains", "example.com, example.org"),
        ("emailSenderName", "Tabs"),
        ("emailSubject", ""),
    ];
    assert_eq!(post_form(&server, &format!("{tabs}/auth"), &cookies, &form, &[]).await, 303);
    let config = server.get(&format!("{org}/servers/{id}/auth-config"), None).await.expect(200).body;
    assert_eq!(config["authConfig"]["tokenLifetimeSeconds"], 3600, "{config}");
    assert_eq!(config["authConfig"]["allowedEmailDomains"], json!(["example.com", "example.org"]));
    form[2] = ("tokenLifetimeSeconds", "10");
    let refused = client_post_text(&server, &format!("{tabs}/auth"), &cookies, &form).await;
    assert_eq!(refused.0, 400);
    assert!(refused.1.contains(r#"id="tokenLifetimeSeconds-error""#), "{}", refused.1);
    let page_html = page(&server, &format!("{tabs}/auth")).await;
    assert!(page_html.contains(r#"value="3600""#), "unchanged");
    assert!(page_html.contains("/.well-known/jwks.json"), "the JWKS URL is shown");

    // Logs: keep everything for 7 days; a call shows up with its arguments.
    let form = [("_csrf", csrf.as_str()), ("mode", "full"), ("retentionDays", "7")];
    assert_eq!(post_form(&server, &format!("{tabs}/logs/setting"), &cookies, &form, &[]).await, 303);
    client
        .request("tools/call", json!({"name": "get_thing", "arguments": {"marker": "m-42"}}))
        .await
        .expect(200);
    let mut logs = String::new();
    for _ in 0..50 {
        logs = page(&server, &format!("{tabs}/logs")).await;
        if logs.contains("m-42") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(logs.contains("<code>get_thing</code>") && logs.contains("m-42"), "{logs}");
    let form = [("_csrf", csrf.as_str()), ("mode", "full"), ("retentionDays", "365")];
    assert_eq!(post_form(&server, &format!("{tabs}/logs/setting"), &cookies, &form, &[]).await, 400);

    // Integrations: keys go in and never come back; App Check needs its project number.
    let integrations = format!("{tabs}/integrations");
    let host = api.url("");
    let form = [
        ("_csrf", csrf.as_str()),
        ("enabled", "true"),
        ("apiKey", "phc_console_key_9876"),
        ("host", host.as_str()),
    ];
    assert_eq!(post_form(&server, &format!("{integrations}/posthog"), &cookies, &form, &[]).await, 303);
    let form =
        [("_csrf", csrf.as_str()), ("enabled", "true"), ("apiKey", ""), ("categoryOrder", "pro, plus")];
    assert_eq!(post_form(&server, &format!("{integrations}/revenuecat"), &cookies, &form, &[]).await, 400);
    let form = [
        ("_csrf", csrf.as_str()),
        ("enabled", "false"),
        ("apiKey", "sk_console_5555"),
        ("categoryOrder", "pro, plus"),
    ];
    assert_eq!(post_form(&server, &format!("{integrations}/revenuecat"), &cookies, &form, &[]).await, 303);
    let stored = server.get(&format!("{org}/servers/{id}/integrations"), None).await.expect(200).body;
    assert_eq!(stored["posthog"]["enabled"], true, "{stored}");
    assert_eq!(stored["revenuecat"]["categoryOrder"], json!(["pro", "plus"]));
    let shown = page(&server, &integrations).await;
    assert!(shown.contains("…9876") && !shown.contains("phc_console_key"), "{shown}");
    let form = [("_csrf", csrf.as_str()), ("enabled", "true"), ("projectNumber", ""), ("appIds", "")];
    let refused = client_post_text(&server, &format!("{integrations}/app-check"), &cookies, &form).await;
    assert_eq!(refused.0, 400);
    assert!(refused.1.contains(r#"id="projectNumber-error""#), "{}", refused.1);
    let form = [
        ("_csrf", csrf.as_str()),
        ("enabled", "true"),
        ("projectNumber", "123456789012"),
        ("appIds", "1:123456789012:web:abc"),
    ];
    assert_eq!(post_form(&server, &format!("{integrations}/app-check"), &cookies, &form, &[]).await, 303);
    let config = server.get(&format!("{org}/servers/{id}/auth-config"), None).await.expect(200).body;
    assert_eq!(config["authConfig"]["appCheck"]["appIds"], json!(["1:123456789012:web:abc"]), "{config}");
}

async fn client_post_text(
    server: &TestServer,
    path: &str,
    cookies: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let r = client()
        .post(format!("{}{path}", server.base))
        .header(reqwest::header::COOKIE, cookies)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A server with many tools: the API gives them a page at a time (with a search), and the
/// Tools tab shows 50 a page, searching on the server.
async fn a_long_tool_list_comes_a_page_at_a_time(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let (id, _) = common::gateway::create_server(&server, "Many").await;
    let tools = format!("/api/orgs/default/servers/{id}/tools");
    for i in 0..120 {
        let tool = json!({"name": format!("tool_{i:03}"), "description": format!("Tool number {i}"),
            "method": "GET", "endpointUrl": "https://api.example.com/x"});
        server.post(&tools, None, tool).await.expect(201);
    }
    let all = server.get(&tools, None).await.expect(200).body;
    assert_eq!((all["tools"].as_array().unwrap().len(), all["total"].as_u64()), (120, Some(120)));
    assert!(all.get("nextOffset").is_none());
    let page = server.get(&format!("{tools}?limit=50&offset=50"), None).await.expect(200).body;
    assert_eq!(page["tools"][0]["name"], "tool_050");
    assert_eq!(page["nextOffset"], 100);
    let last = server.get(&format!("{tools}?limit=50&offset=100"), None).await.expect(200).body;
    assert_eq!(last["tools"].as_array().unwrap().len(), 20);
    assert!(last.get("nextOffset").is_none());
    let found = server.get(&format!("{tools}?q=TOOL_01&limit=5"), None).await.expect(200).body;
    assert_eq!((found["total"].as_u64(), found["nextOffset"].as_u64()), (Some(10), Some(5)));
    // `_` and `%` are looked for as themselves, not as wildcards.
    let literal = server.get(&format!("{tools}?q=_1&limit=1"), None).await.expect(200).body;
    assert_eq!(literal["total"], 20, "tool_100 to tool_119 only");
    let percent = server.get(&format!("{tools}?q=%25"), None).await.expect(200).body;
    assert_eq!(percent["total"], 0);
    server.get(&format!("{tools}?limit=0"), None).await.expect_error(400, "invalid_input");

    let tab = format!("/orgs/default/servers/{id}/tools");
    let rows = |html: &str| html.matches("<td><a href=").count();
    let first = page_of(&server, &tab).await;
    assert_eq!(rows(&first), 50);
    assert!(first.contains("Search 120 tools") && first.contains("Page 1 of 3"));
    let third = page_of(&server, &format!("{tab}?page=3")).await;
    assert_eq!(rows(&third), 20);
    assert!(third.contains("tool_119"));
    let beyond = page_of(&server, &format!("{tab}?page=9")).await;
    assert!(beyond.contains("Page 3 of 3") && beyond.contains("tool_119"), "past the end: the last page");
    let tool_id = page["tools"][0]["toolId"].as_str().unwrap();
    let edit = page_of(&server, &format!("{tab}/{tool_id}")).await;
    assert!(edit.contains(r#"value="tool_050""#) && edit.contains("Edit tool"), "{edit}");
    let searched = page_of(&server, &format!("{tab}?q=number+11")).await;
    assert_eq!(rows(&searched), 11, "number 11 and 110–119");
    assert!(searched.contains("Search 120 tools"));
}

/// Values the console reads itself (a number, `Name: value` lines) are refused beside their
/// field before any operation runs, and nothing is made.
async fn unreadable_values_are_refused_beside_their_field(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let (id, _) = common::gateway::create_server(&server, "Forms").await;
    let (cookies, csrf, _) = visit(&server, "/orgs/default/upstreams/new", None).await;
    let tool = [
        ("_csrf", csrf.as_str()),
        ("name", "get_x"),
        ("description", "d"),
        ("method", "GET"),
        ("endpointUrl", "https://api.example.com/x"),
        ("timeoutMs", "soon"),
        ("auth_type", "none"),
    ];
    let (status, html) =
        client_post_text(&server, &format!("/orgs/default/servers/{id}/tools"), &cookies, &tool).await;
    assert_eq!(status, 400);
    assert!(html.contains(r#"id="timeoutMs-error""#) && html.contains("whole number"), "{html}");
    let tools = server.get(&format!("/api/orgs/default/servers/{id}/tools"), None).await.expect(200).body;
    assert_eq!(tools["total"], 0);
    let upstream = [
        ("_csrf", csrf.as_str()),
        ("name", "Remote"),
        ("transport", "streamable_http"),
        ("url", "https://mcp.example.com/mcp"),
        ("requestHeaders", "Authorization Bearer x"),
        ("auth_type", "none"),
        ("approvalPolicy", "require_approval_all"),
    ];
    let (status, html) = client_post_text(&server, "/orgs/default/upstreams", &cookies, &upstream).await;
    assert_eq!(status, 400);
    assert!(html.contains(r#"id="requestHeaders-error""#), "{html}");
    assert!(!html.contains("Bearer x"), "a header value typed is not written back into the page");
    let upstreams = server.get("/api/orgs/default/upstreams", None).await.expect(200).body;
    assert_eq!(upstreams["upstreams"], json!([]));
}

async fn page_of(server: &TestServer, path: &str) -> String {
    client().get(format!("{}{path}", server.base)).send().await.unwrap().text().await.unwrap()
}

backend_tests!(
    configuring_a_server_from_its_tabs,
    a_long_tool_list_comes_a_page_at_a_time,
    unreadable_values_are_refused_beside_their_field
);
