//! The console's accessibility basics, checked in a real browser: every control has a label,
//! text and buttons have enough contrast (WCAG AA, 4.5:1), and the main flow works from the
//! keyboard alone.

mod common;

use std::time::Duration;

use common::browser::{AUDIT, Browser};
use common::{Backend, TestServer};
use fantoccini::key::Key;
use serde_json::{Value, json};

async fn every_page_is_labelled_and_readable(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let Some(browser) = Browser::start(&server.base).await else { return };
    let (server_id, _) = common::gateway::create_server(&server, "Weather").await;
    let org = "/api/orgs/default";
    let tool = json!({"name": "get_weather", "description": "Weather", "method": "GET",
        "endpointUrl": "https://api.example.com/w/{city}",
        "parameters": [{"name": "city", "location": "path", "type": "string", "required": true}]});
    let tool = server.post(&format!("{org}/servers/{server_id}/tools"), None, tool).await.expect(201);
    let tool_id = tool.body["tool"]["toolId"].as_str().unwrap().to_string();
    server
        .post(&format!("{org}/servers/{server_id}/keys"), None, json!({"label": "production"}))
        .await
        .expect(201);
    server
        .post(
            &format!("{org}/secrets"),
            None,
            json!({"name": "k", "provider": "generic", "value": "secret-value-1"}),
        )
        .await
        .expect(201);
    let s = format!("/orgs/default/servers/{server_id}");
    // An MCP client's consent page (dev mode's person is signed in already).
    let client = json!({"client_name": "Desk App", "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"});
    let client = server.post("/oauth/register", None, client).await.expect(201).body;
    let mut consent = url::Url::parse("http://x/oauth/authorize").unwrap();
    consent
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client["client_id"].as_str().unwrap())
        .append_pair("redirect_uri", "http://127.0.0.1:5000/callback")
        .append_pair("code_challenge", &common::oauth::pkce().1)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", &format!("{}/mcp/default/weather", server.config.public_url));
    let consent = format!("{}?{}", consent.path(), consent.query().unwrap());
    let pages = [
        consent,
        "/orgs/default/settings/oauth-clients".into(),
        "/orgs/default/servers".into(),
        "/orgs/default/servers/new".into(),
        s.clone(),
        format!("{s}/tools"),
        format!("{s}/tools/new"),
        format!("{s}/tools/{tool_id}"),
        format!("{s}/keys"),
        format!("{s}/upstreams"),
        format!("{s}/plugins"),
        format!("{s}/plugins/fcm"),
        "/orgs/default/upstreams".into(),
        "/orgs/default/upstreams/new".into(),
        "/orgs/default/upstreams/catalog".into(),
        "/orgs/default/secrets".into(),
        "/orgs/default/notifications".into(),
        "/orgs/default/audit".into(),
        "/orgs/default/usage".into(),
        format!("/orgs/default/usage?server={server_id}"),
        format!("{s}/usage"),
        format!("{s}/auth"),
        format!("{s}/integrations"),
        format!("{s}/policies"),
        format!("{s}/logs"),
        "/orgs/default/settings/tokens".into(),
        "/orgs/default/settings/members".into(),
        "/orgs/default/settings/account".into(),
    ];
    browser.open(&pages[0]).await;
    assert!(
        browser.text().await.contains("Desk App wants to connect to Weather"),
        "{}",
        browser.text().await
    );
    for page in &pages {
        browser.open(page).await;
        // Open every <details> so the forms inside are checked too.
        browser.eval("document.querySelectorAll('details').forEach(d => d.open = true); return null").await;
        let audit = browser.eval(AUDIT).await;
        assert_eq!(audit["unlabelled"], json!([]), "{page}: controls without a label");
        assert_eq!(audit["low"], json!([]), "{page}: text below 4.5:1 contrast");
    }
    // The audit itself finds what it looks for.
    let planted = browser
        .eval(&format!(
            "const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#bbb';
             const i = document.createElement('input'); document.querySelector('main').append(p, i); {AUDIT}"
        ))
        .await;
    assert_eq!(planted["low"][0]["text"], "faint", "{planted}");
    assert_eq!(planted["unlabelled"].as_array().map(Vec::len), Some(1), "{planted}");
    // The amber banner, once there is one.
    browser.open(&format!("{s}/keys")).await;
    browser.click_text("+ New key").await;
    browser.fill("Label", "banner").await;
    browser.go("Create").await;
    let audit = browser.eval(AUDIT).await;
    assert_eq!(audit["low"], json!([]), "the amber banner");
    browser.close().await;
}

/// Presses keys on whatever has the focus.
async fn press(browser: &Browser, keys: &str) {
    browser.client.active_element().await.unwrap().send_keys(keys).await.unwrap();
}

/// Tabs until the focused element's text is `text` (at most 40 presses).
async fn tab_to(browser: &Browser, text: &str) {
    for _ in 0..40 {
        press(browser, &Key::Tab.to_string()).await;
        let focused: Value = browser.eval("return (document.activeElement.textContent || '').trim()").await;
        if focused == text {
            return;
        }
    }
    panic!("Tab never reached {text:?}");
}

async fn the_main_flow_works_from_the_keyboard(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let Some(browser) = Browser::start(&server.base).await else { return };
    browser.open("/orgs/default/servers").await;
    // The first Tab reaches the skip link.
    press(&browser, &Key::Tab.to_string()).await;
    assert_eq!(browser.eval("return document.activeElement.textContent").await, "Skip to content");
    tab_to(&browser, "New server").await;
    browser.eval("window.__ghLeaving = true; return null").await;
    press(&browser, &Key::Enter.to_string()).await;
    wait_for(&browser, "/orgs/default/servers/new").await;
    // The name field has the focus; Enter submits.
    assert_eq!(browser.eval("return document.activeElement.id").await, "name");
    press(&browser, "Keyboard").await;
    press(&browser, &Key::Enter.to_string()).await;
    wait_for(&browser, "/orgs/default/servers/srv_").await;
    assert!(browser.text().await.contains("Keyboard"));
    tab_to(&browser, "API Keys").await;
    press(&browser, &Key::Enter.to_string()).await;
    wait_for(&browser, "/keys").await;
    tab_to(&browser, "+ New key").await;
    press(&browser, &Key::Enter.to_string()).await;
    tab_to(&browser, "").await; // the Label input
    assert_eq!(browser.eval("return document.activeElement.id").await, "label");
    press(&browser, "from the keyboard").await;
    press(&browser, &Key::Enter.to_string()).await;
    let banner = browser.find(".banner.amber").await;
    assert!(banner.text().await.unwrap().contains("from the keyboard"));
    browser.close().await;
}

async fn wait_for(browser: &Browser, path_part: &str) {
    for _ in 0..100 {
        if browser.path().await.contains(path_part) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {path_part}; at {}", browser.path().await);
}

backend_tests!(every_page_is_labelled_and_readable, the_main_flow_works_from_the_keyboard);
