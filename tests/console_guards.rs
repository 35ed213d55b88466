//! The console's guards over plain HTTP: forms need this browser's anti-forgery token and this
//! origin, another org's pages are not there, signing out ends the session, pages carry a strict
//! policy and assets are cached for good.

mod common;

use common::console::{client, post_form, set_cookie, visit};
use common::{Backend, Options, TestServer};
use gatehouse::config::Mode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

async fn server_count(server: &TestServer, org: &str, token: Option<&str>) -> usize {
    let list = server.get(&format!("/api/orgs/{org}/servers"), token).await.expect(200);
    list.body["servers"].as_array().unwrap().len()
}

/// A form is accepted only with this browser's token, from this origin.
async fn forms_need_this_browsers_token_and_origin(backend: Backend) {
    let server = TestServer::start(backend, Options { mode: Some(Mode::Dev), ..Default::default() }).await;
    let (cookies, csrf, status) = visit(&server, "/orgs/default/servers/new", None).await;
    assert_eq!(status, 200);
    let (other_cookies, other_csrf, _) = visit(&server, "/orgs/default/servers/new", None).await;
    assert_ne!(csrf, other_csrf, "each browser has its own token");
    let path = "/orgs/default/servers";

    assert_eq!(post_form(&server, path, &cookies, &[("name", "No token")], &[]).await, 403);
    assert_eq!(
        post_form(&server, path, &cookies, &[("_csrf", &other_csrf), ("name", "Theirs")], &[]).await,
        403
    );
    assert_eq!(
        post_form(&server, path, &other_cookies, &[("_csrf", &csrf), ("name", "Swapped")], &[]).await,
        403
    );
    let evil = [("origin", "http://evil.example")];
    assert_eq!(post_form(&server, path, &cookies, &[("_csrf", &csrf), ("name", "Evil")], &evil).await, 403);
    let cross = [("sec-fetch-site", "cross-site")];
    assert_eq!(post_form(&server, path, &cookies, &[("_csrf", &csrf), ("name", "Cross")], &cross).await, 403);
    assert_eq!(server_count(&server, "default", None).await, 0, "a refused form changes nothing");

    let host = server.base.trim_start_matches("http://").to_string();
    let ours = [("origin", server.base.as_str()), ("sec-fetch-site", "same-origin")];
    assert_eq!(
        post_form(&server, path, &cookies, &[("_csrf", &csrf), ("name", "Ours")], &ours).await,
        303,
        "{host}"
    );
    assert_eq!(server_count(&server, "default", None).await, 1);
}

/// Signs `email` in over the API; returns the platform token.
async fn platform_token(server: &TestServer, sink: &common::smtp::SmtpSink, email: &str) -> String {
    server.post("/api/auth/request-code", None, json!({"email": email})).await.expect(200);
    let code = common::smtp::SmtpSink::code_in(&sink.next_mail());
    let login =
        server.post("/api/auth/verify-code", None, json!({"email": email, "code": code})).await.expect(200);
    login.body["token"].as_str().unwrap().to_string()
}

/// Another org's pages do not exist for someone outside it, and its forms change nothing.
async fn another_orgs_pages_are_not_there(backend: Backend) {
    let Some(sink) = common::smtp::SmtpSink::start() else { return };
    let options = Options { smtp_url: Some(sink.url()), ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    server.create_org(&admin, "acme").await;
    server.create_org(&admin, "beta").await;
    let acme =
        server.post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Payroll"})).await.expect(201);
    let acme_server = acme.body["server"]["serverId"].as_str().unwrap().to_string();
    server
        .post("/api/orgs/beta/members", Some(&admin), json!({"email": "bea@example.com", "role": "admin"}))
        .await
        .expect(201);
    let bea = platform_token(&server, &sink, "bea@example.com").await;

    let (_, _, status) = visit(&server, "/orgs/beta/servers", Some(&bea)).await;
    assert_eq!(status, 200);
    // Every console page of acme, with real ids, is not there for her.
    let s = format!("/orgs/acme/servers/{acme_server}");
    let tool =
        json!({"name": "t", "description": "d", "method": "GET", "endpointUrl": "https://api.example.com/x"});
    let tool = server
        .post(&format!("/api/orgs/acme/servers/{acme_server}/tools"), Some(&admin), tool)
        .await
        .expect(201);
    let tool_id = tool.body["tool"]["toolId"].as_str().unwrap().to_string();
    let key = server
        .post(&format!("/api/orgs/acme/servers/{acme_server}/keys"), Some(&admin), json!({"label": "k"}))
        .await;
    let key_id = key.expect(201).body["key"]["keyId"].as_str().unwrap().to_string();
    let secret = json!({"name": "s", "provider": "generic", "value": "secret-value-1"});
    let secret = server.post("/api/orgs/acme/secrets", Some(&admin), secret).await.expect(201);
    let secret_id = secret.body["secret"]["secretId"].as_str().unwrap().to_string();
    let token = server
        .post("/api/orgs/acme/tokens", Some(&admin), json!({"name": "t", "scopes": ["orgs:read"]}))
        .await;
    let token_id = token.expect(201).body["token"]["tokenId"].as_str().unwrap().to_string();
    let document = json!({"openapi": "3.0.3", "info": {"title": "Payroll API", "version": "1"},
        "servers": [{"url": "https://payroll.example"}],
        "paths": {"/runs": {"get": {"operationId": "listRuns", "responses": {"200": {"description": "ok"}}}}}});
    let import = server
        .post(
            &format!("/api/orgs/acme/servers/{acme_server}/openapi-imports"),
            Some(&admin),
            json!({"source": {"document": document.to_string()}}),
        )
        .await
        .expect(201);
    let import_id = import.body["import"]["importId"].as_str().unwrap().to_string();
    let gets = [
        "/orgs/acme".to_string(),
        "/orgs/acme/servers".into(),
        "/orgs/acme/servers/new".into(),
        s.clone(),
        format!("{s}/tools"),
        format!("{s}/tools/new"),
        format!("{s}/tools/{tool_id}"),
        format!("{s}/tools/import"),
        format!("{s}/tools/imports"),
        format!("{s}/tools/imports/{import_id}/reimport"),
        format!("{s}/keys"),
        format!("{s}/upstreams"),
        format!("{s}/plugins"),
        format!("{s}/plugins/fcm"),
        "/orgs/acme/upstreams".into(),
        "/orgs/acme/upstreams/new".into(),
        "/orgs/acme/upstreams/catalog".into(),
        "/orgs/acme/upstreams/ups_nope".into(),
        "/orgs/acme/secrets".into(),
        "/orgs/acme/notifications".into(),
        "/orgs/acme/audit".into(),
        "/orgs/acme/usage".into(),
        format!("{s}/usage"),
        format!("{s}/auth"),
        format!("{s}/policies"),
        format!("{s}/logs"),
        "/orgs/acme/settings".into(),
        "/orgs/acme/settings/tokens".into(),
        "/orgs/acme/settings/members".into(),
        "/orgs/acme/settings/account".into(),
        "/switch?org=acme".into(),
    ];
    for path in &gets {
        let (_, _, status) = visit(&server, path, Some(&bea)).await;
        assert_eq!(status, 404, "{path}");
    }
    // Her own valid token, aimed at the other org: every form is 404 and changes nothing.
    let (cookies, csrf, _) = visit(&server, "/orgs/beta/servers", Some(&bea)).await;
    let posts = [
        "/orgs/acme/servers".to_string(),
        s.clone(),
        format!("{s}/delete"),
        format!("{s}/tools"),
        format!("{s}/tools/schema"),
        format!("{s}/tools/{tool_id}"),
        format!("{s}/tools/{tool_id}/delete"),
        format!("{s}/tools/{tool_id}/approve"),
        format!("{s}/tools/import"),
        format!("{s}/tools/import/preview"),
        format!("{s}/tools/imports/{import_id}/preview"),
        format!("{s}/tools/imports/{import_id}/apply"),
        format!("{s}/tools/imports/{import_id}/delete"),
        format!("{s}/keys"),
        format!("{s}/keys/{key_id}/archive"),
        format!("{s}/keys/{key_id}/delete"),
        format!("{s}/plugins/fcm"),
        format!("{s}/plugins/fcm/enabled"),
        format!("{s}/plugins/fcm/uninstall"),
        format!("{s}/auth"),
        format!("{s}/auth/rotate"),
        format!("{s}/policies"),
        format!("{s}/policies/pol_nope/delete"),
        format!("{s}/logs/setting"),
        format!("{s}/upstreams/ups_nope"),
        format!("{s}/upstreams/ups_nope/detach"),
        "/orgs/acme/upstreams/ups_nope/refresh".into(),
        "/orgs/acme/upstreams/ups_nope/tools/echo".into(),
        "/orgs/acme/notifications/webhook/delete".into(),
        "/orgs/acme/upstreams".into(),
        "/orgs/acme/upstreams/catalog".into(),
        format!("/orgs/acme/secrets/{secret_id}"),
        format!("/orgs/acme/secrets/{secret_id}/disable"),
        "/orgs/acme/secrets".into(),
        "/orgs/acme/notifications/webhook".into(),
        "/orgs/acme/settings/members".into(),
        "/orgs/acme/settings/tokens".into(),
        format!("/orgs/acme/settings/tokens/{token_id}/revoke"),
    ];
    let form =
        [("_csrf", csrf.as_str()), ("name", "mine now"), ("label", "mine now"), ("value", "x-value-123")];
    for path in &posts {
        assert_eq!(post_form(&server, path, &cookies, &form, &[]).await, 404, "{path}");
    }
    let imports = server
        .get(&format!("/api/orgs/acme/servers/{acme_server}/openapi-imports"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(imports.body["imports"][0]["tools"], json!(["list_runs"]));
    let keys =
        server.get(&format!("/api/orgs/acme/servers/{acme_server}/keys"), Some(&admin)).await.expect(200);
    assert_eq!(keys.body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(keys.body["keys"][0]["status"], "active");
    assert_eq!(server_count(&server, "acme", Some(&admin)).await, 1);
    let tokens = server.get("/api/orgs/acme/tokens", Some(&admin)).await.expect(200);
    assert!(tokens.body["tokens"].as_array().unwrap().iter().all(|t| t["status"] == "active"));
}

/// Signing out ends the platform session: the token stops working everywhere at once.
async fn signing_out_ends_the_session(backend: Backend) {
    let Some(sink) = common::smtp::SmtpSink::start() else { return };
    let options = Options { smtp_url: Some(sink.url()), open_signup: true, ..Default::default() };
    let (server, _admin) = TestServer::enterprise_with(backend, options).await;
    let token = platform_token(&server, &sink, "sam@example.com").await;
    let me = server.get("/api/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me.body["orgs"][0]["slug"], "sam", "first login made a default org");
    assert_eq!(me.body["orgs"][0]["role"], "admin");

    let (cookies, csrf, status) = visit(&server, "/orgs/sam/servers", Some(&token)).await;
    assert_eq!(status, 200);
    let response = client()
        .post(format!("{}/sign-out", server.base))
        .header(COOKIE, &cookies)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(set_cookie(response.headers(), "gh_session").as_deref(), Some(""), "the cookie is cleared");
    server.get("/api/auth/me", Some(&token)).await.expect(401);
    let (_, _, status) = visit(&server, "/orgs/sam/servers", Some(&token)).await;
    assert_eq!(status, 303, "back to sign-in");

    // Sign out everywhere ends every session of hers (two browsers and a script here).
    let first = platform_token(&server, &sink, "sam@example.com").await;
    let second = platform_token(&server, &sink, "sam@example.com").await;
    let (cookies, csrf, status) = visit(&server, "/orgs/sam/settings/account", Some(&first)).await;
    assert_eq!(status, 200);
    let path = "/orgs/sam/settings/account/sign-out-everywhere";
    assert_eq!(post_form(&server, path, &cookies, &[("_csrf", csrf.as_str())], &[]).await, 303);
    server.get("/api/auth/me", Some(&first)).await.expect(401);
    server.get("/api/auth/me", Some(&second)).await.expect(401);
}

/// Pages carry a strict policy and are never cached; assets are cached for good under names
/// that change with their content.
async fn pages_are_strict_and_assets_cached(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let response = client().get(format!("{}/orgs/default/servers", server.base)).send().await.unwrap();
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let session_cookie = set_cookie(&headers, "gh_csrf").unwrap();
    assert_eq!(session_cookie.len(), 43);
    let raw = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax"), "{raw}");
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains(" style="), "no inline code or style");
    for ext in ["css", "js"] {
        let marker = "/assets/console.";
        let at = html
            .match_indices(marker)
            .map(|(i, _)| i)
            .find(|i| html[*i..].split('"').next().unwrap().ends_with(ext))
            .unwrap();
        let path = html[at..].split('"').next().unwrap();
        let asset = client().get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{path}");
        assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    }
    let missing =
        client().get(format!("{}/assets/console.000000000000.css", server.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    for old in ["/ui", "/dashboard"] {
        let r = client().get(format!("{}{old}", server.base)).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/", "{old}");
    }
}

backend_tests!(
    forms_need_this_browsers_token_and_origin,
    another_orgs_pages_are_not_there,
    signing_out_ends_the_session,
    pages_are_strict_and_assets_cached
);
