//! Story: in a real browser (Debian's chromium over WebDriver), a person sent by an MCP client
//! signs in, reads who asks for what on the consent page, allows it, and the browser lands on
//! the client's loopback redirect with the code — the page's policy lets that redirect through.
//! Then they find the client under Your account and disconnect it.

mod common;

use common::backend::HttpBackend;
use common::browser::Browser;
use common::oauth::{pkce, query_param};
use common::smtp::SmtpSink;
use common::{Backend, Options, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A native client's loopback listener: the request line of the first request it gets.
async fn callback_listener() -> (u16, tokio::sync::oneshot::Receiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let n = socket.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let body = "Signed in. You can close this window.";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        let _ = tx.send(head.lines().next().unwrap_or_default().to_string());
    });
    (port, rx)
}

async fn a_person_consents_in_the_browser(backend: Backend) {
    let Some(smtp) = SmtpSink::start() else { return };
    let options = Options { smtp_url: Some(smtp.url()), public_url_is_base: true, ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    let http = HttpBackend::start();
    let params = json!([{"name": "text", "location": "query", "type": "string", "required": true}]);
    server.publish_echo(&admin, &http, params).await;
    let Some(browser) = Browser::start(&server.base).await else { return };

    let registered = server
        .post(
            "/oauth/register",
            None,
            json!({"client_name": "Desk App", "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}),
        )
        .await
        .expect(201);
    let client_id = registered.body["client_id"].as_str().unwrap().to_string();
    let (port, arrived) = callback_listener().await;
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let (verifier, challenge) = pkce();
    let resource = format!("{}/mcp/acme/echo", server.base);
    let mut url = url::Url::parse(&format!("{}/oauth/authorize", server.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", "browser-state")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("scope", "mcp:read mcp:call")
        .append_pair("resource", &resource);

    // Sent to sign in first, then straight back to the request.
    browser.client.goto(url.as_str()).await.unwrap();
    assert!(browser.path().await.starts_with("/sign-in?next="));
    browser.fill("Email", "admin@example.com").await;
    browser.go("Send code").await;
    browser.fill("Code", &SmtpSink::code_in(&smtp.next_mail())).await;
    browser.go("Sign in").await;
    browser.wait_path(&format!("resource={}", urlencoded(&resource))).await;
    let page = browser.text().await;
    assert!(page.contains("Desk App wants to connect to Echo"), "{page}");
    assert!(page.contains("Signed in as admin@example.com"), "{page}");
    assert!(page.contains("Registered itself (its name is not verified)"), "{page}");
    assert!(page.contains("Call its tools as you"), "{page}");

    // Allow: the browser is sent on to the client's own listener with the code.
    browser.click_text("Allow").await;
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), arrived)
        .await
        .expect("the redirect arrives")
        .unwrap();
    let target = format!("http://127.0.0.1:{port}{}", line.split(' ').nth(1).unwrap());
    assert_eq!(query_param(&target, "state").as_deref(), Some("browser-state"));
    assert_eq!(query_param(&target, "iss").as_deref(), Some(server.base.as_str()));
    let code = query_param(&target, "code").expect("a code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
        ("client_id", client_id.as_str()),
        ("resource", resource.as_str()),
    ];
    let tokens = TestServer::read(
        server.request(reqwest::Method::POST, "/oauth/token").form(&form).send().await.unwrap(),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(tokens["scope"], "mcp:read mcp:call");

    // Your account lists the client; Disconnect ends it.
    browser.open("/orgs/acme/settings/account").await;
    assert!(browser.text().await.contains("Desk App"));
    browser.eval("window.confirm = () => true; return null").await;
    browser.go("Disconnect").await;
    assert!(!browser.text().await.contains("Desk App"), "disconnected");
    let mine = server.get("/api/me/connections", Some(&admin)).await.expect(200).body;
    assert_eq!(mine["connections"], json!([]));
    browser.close().await;
}

fn urlencoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

backend_tests!(a_person_consents_in_the_browser);
