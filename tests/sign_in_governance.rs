//! Story: who may connect an MCP client by signing in, and what follows from who did — the
//! server's client access setting (members, end users, API keys only), a removed member's
//! connections ending, policies and rate limits naming the person, call logs saying who called,
//! clients an org registers itself, and registrations and connections kept in bounds.

mod common;

use common::mcp::McpClient;
use common::oauth::{Answer, consent_as_member, query_param};
use common::sign_in::*;
use common::smtp::SmtpSink;
use common::{Backend, Options};
use serde_json::json;

async fn who_may_sign_in_is_the_servers_setting(backend: Backend) {
    let Some(w) = world(backend, Options::default()).await else { return };
    let access = format!("/api/orgs/acme/servers/{}/client-access", w.sid);
    assert_eq!(w.server.get(&access, Some(&w.admin)).await.expect(200).body["signIn"], "members");
    let client_id = register(&w).await;
    let tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    let member_token = tokens["access_token"].as_str().unwrap().to_string();

    // API keys only: no metadata, no challenge, no sign-in, and earlier tokens stop working.
    w.server.put(&access, Some(&w.admin), json!({"signIn": "off"})).await.expect(200);
    w.server.get("/.well-known/oauth-protected-resource/mcp/acme/echo", None).await.expect(404);
    let r = McpClient::new(&w.server, "/mcp/acme/echo", None, "2026-07-28")
        .request("tools/list", json!({}))
        .await;
    assert_eq!(r.status, 401);
    assert!(r.headers.get("www-authenticate").is_none());
    assert_eq!(call_echo(&w, "echo", &member_token).await.status, 401);
    let flow = authorize_url(&w, &client_id, &mcp_url(&w, "echo"), "mcp:call");
    let r = common::console::client().get(&flow.url).send().await.unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"));

    // Its end users: they sign in with the server's own code, not the platform's.
    w.server.put(&access, Some(&w.admin), json!({"signIn": "end_users"})).await.expect(200);
    let resource = mcp_url(&w, "echo");
    let flow = authorize_url(&w, &client_id, &resource, "mcp:read mcp:call");
    let http = common::console::client();
    let page = http.get(&flow.url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "end users sign in on the page itself");
    let anchor = common::console::set_cookie(page.headers(), "gh_csrf").unwrap();
    let cookies = format!("gh_csrf={anchor}");
    let html = page.text().await.unwrap();
    let mut form = common::oauth::hidden_fields(&html);
    form.push(("_csrf".into(), common::console::csrf_in(&html)));
    form.push(("email".into(), "customer@shop.example".into()));
    let page = http
        .post(format!("{}/oauth/authorize/code", w.server.base))
        .header("cookie", &cookies)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    let mail = w.smtp.next_mail();
    assert_eq!(mail.to, vec!["customer@shop.example".to_string()]);
    let code = SmtpSink::code_in(&mail);
    let mut form = common::oauth::hidden_fields(&html);
    form.push(("_csrf".into(), common::console::csrf_in(&html)));
    form.push(("code".into(), code));
    form.push(("decision".into(), "allow".into()));
    form.push(("allow_calls".into(), "on".into()));
    let done = http
        .post(format!("{}/oauth/authorize", w.server.base))
        .header("cookie", &cookies)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 303);
    let back = done.headers()["location"].to_str().unwrap().to_string();
    let code = query_param(&back, "code").expect("a code for the end user");
    let tokens = exchange(&w, &client_id, &flow, &code, &resource).await.expect(200).body;
    call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await.expect(200);
    let connections = w
        .server
        .get(&format!("/api/orgs/acme/servers/{}/connections", w.sid), Some(&w.admin))
        .await
        .expect(200)
        .body;
    let end_user = connections["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subjectKind"] == "end_user")
        .cloned()
        .unwrap();
    assert_eq!(end_user["email"], "customer@shop.example");
    // A member's earlier token is not an end user's: refused while the setting says end users.
    assert_eq!(call_echo(&w, "echo", &member_token).await.status, 401);
}

async fn a_removed_member_loses_their_connections(backend: Backend) {
    let Some(w) = world(backend, Options { open_signup: true, ..Default::default() }).await else { return };
    w.server
        .post("/api/orgs/acme/members", Some(&w.admin), json!({"email": "bob@example.com", "role": "member"}))
        .await
        .expect(201);
    let client_id = register(&w).await;
    let resource = mcp_url(&w, "echo");
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = consent_as_member(&w.server, &w.smtp, &flow.url, "bob@example.com", Answer::Allow).await;
    let code = query_param(&back, "code").unwrap();
    let tokens = exchange(&w, &client_id, &flow, &code, &resource).await.expect(200).body;
    let access = tokens["access_token"].as_str().unwrap();
    call_echo(&w, "echo", access).await.expect(200);
    let members = w.server.get("/api/orgs/acme/members", Some(&w.admin)).await.expect(200).body;
    let bob = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "bob@example.com")
        .unwrap()["userId"]
        .as_str()
        .unwrap()
        .to_string();
    w.server.delete(&format!("/api/orgs/acme/members/{bob}"), Some(&w.admin)).await.expect(204);
    assert_eq!(call_echo(&w, "echo", access).await.status, 401);
    let r = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(r.body["error"], "invalid_grant");

    // A person who is not a member is told so at consent, and gets no code.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let http = common::console::client();
    let bob_token = sign_in(&w.server, &w.smtp, "bob@example.com").await;
    let r = http.get(&flow.url).header("cookie", format!("gh_session={bob_token}")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("not a member"));
}

/// Policies can name who signed in, and the logs and usage say who called.
async fn policies_and_logs_know_who_signed_in(backend: Backend) {
    let Some(w) = world(backend, Options::default()).await else { return };
    let base = format!("/api/orgs/acme/servers/{}", w.sid);
    w.server
        .put(&format!("{base}/data-logging"), Some(&w.admin), json!({"mode": "metadata", "retentionDays": 7}))
        .await
        .expect(200);
    let client_id = register(&w).await;
    let first = connect(&w, &client_id, "echo", Answer::Allow).await;
    let token = first["access_token"].as_str().unwrap();
    call_echo(&w, "echo", token).await.expect(200);
    let logs = w.server.get(&format!("{base}/logs"), Some(&w.admin)).await.expect(200).body;
    let entry = &logs["logs"][0];
    assert!(entry["keyId"].as_str().unwrap().starts_with("ocg_"), "{logs}");
    assert_eq!(entry["signedIn"]["email"], "admin@example.com");
    assert_eq!(entry["signedIn"]["clientName"], "Story Client");
    let usage = w.server.get(&format!("{base}/usage"), Some(&w.admin)).await.expect(200).body;
    assert!(
        usage.to_string().contains(entry["keyId"].as_str().unwrap()),
        "usage counts the connection: {usage}"
    );

    // A policy for this person only: their client is refused, the API key is not.
    let policies = format!("{base}/policies");
    let deny = json!({"toolPattern": "echo", "action": "deny", "callers": ["admin@*"]});
    let stored = w.server.put(&policies, Some(&w.admin), deny).await.expect(200).body;
    assert_eq!(stored["policy"]["callers"], json!(["admin@*"]));
    let refused = call_echo(&w, "echo", token).await.expect(200);
    assert_eq!(refused.body["result"]["isError"], true, "{}", refused.text);
    assert!(refused.text.contains("Denied by policy"));
    let mut by_key = McpClient::new(&w.server, "/mcp/acme/echo", Some(&w.key), "2026-07-28");
    let r =
        by_key.request("tools/call", json!({"name": "echo", "arguments": {"text": "key"}})).await.expect(200);
    assert_ne!(r.body["result"]["isError"], true, "{}", r.text);
    let bad = json!({"toolPattern": "echo", "callers": ["two words"]});
    assert_eq!(w.server.put(&policies, Some(&w.admin), bad).await.status, 400);

    // A per-person budget spans every client the person connected (the deny, for other
    // callers than the budget's, is its own policy: removed first).
    let deny_id = stored["policy"]["policyId"].as_str().unwrap();
    w.server.delete(&format!("{policies}/{deny_id}"), Some(&w.admin)).await.expect(204);
    let limit =
        json!({"toolPattern": "echo", "rateLimit": {"requests": 1, "perSeconds": 3600, "scope": "user"}});
    w.server.put(&policies, Some(&w.admin), limit).await.expect(200);
    let second = connect(&w, &client_id, "echo", Answer::Allow).await;
    let ok = call_echo(&w, "echo", token).await.expect(200);
    assert!(ok.body["result"].is_object(), "{}", ok.text);
    let limited = call_echo(&w, "echo", second["access_token"].as_str().unwrap()).await.expect(200);
    assert_eq!(limited.body["error"]["code"], -32029, "{}", limited.text);
}

/// Registrations nobody used are forgotten; one with a live connection stays. A person's
/// connections are theirs alone.
async fn registrations_and_connections_stay_in_bounds(backend: Backend) {
    let Some(w) = world(backend, Options { open_signup: true, ..Default::default() }).await else { return };
    let used = register(&w).await;
    let unused = register(&w).await;
    let tokens = connect(&w, &used, "echo", Answer::Allow).await;
    let month = 31 * 24 * 3600 * 1000;
    let store = w.server.state().store.clone();
    store.oauth_prune(gatehouse::domain::time::now_ms() + month).await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let r = token_request(
        &w,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &used)],
    )
    .await;
    assert_eq!(r.status, 400, "the used client is kept (its refresh token has expired by then): {}", r.text);
    let r = token_request(
        &w,
        &[("grant_type", "refresh_token"), ("refresh_token", "gh_rt_x"), ("client_id", &unused)],
    )
    .await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")), "the unused one is gone");

    // Another person cannot see or end the admin's connection.
    let tokens = connect(&w, &used, "echo", Answer::Allow).await;
    let mine = w.server.get("/api/me/connections", Some(&w.admin)).await.expect(200).body;
    let id = mine["connections"][0]["connectionId"].as_str().unwrap().to_string();
    let eve = sign_in(&w.server, &w.smtp, "eve@example.com").await;
    assert_eq!(
        w.server.get("/api/me/connections", Some(&eve)).await.expect(200).body["connections"],
        json!([])
    );
    w.server.delete(&format!("/api/me/connections/{id}"), Some(&eve)).await.expect_error(404, "not_found");
    call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await.expect(200);
}

/// An org admin registers a confidential client for its servers (an identity-provider style
/// setup) in the console: its secret is shown once, it authenticates with it by HTTP Basic, and
/// it may not ask for another org's servers.
async fn an_org_registers_its_own_client(backend: Backend) {
    let Some(w) = world(backend, Options::default()).await else { return };
    let (cookies, csrf, status) =
        common::console::visit(&w.server, "/orgs/acme/settings/oauth-clients", Some(&w.admin)).await;
    assert_eq!(status, 200);
    let form = [
        ("_csrf", csrf.as_str()),
        ("clientName", "Acme portal"),
        ("redirectUris", "https://portal.acme.example/callback\nhttp://127.0.0.1/callback"),
        ("confidential", "on"),
    ];
    let page = common::console::client()
        .post(format!("{}/orgs/acme/settings/oauth-clients", w.server.base))
        .header("cookie", &cookies)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    let value_of = |id: &str| {
        let at = html.find(&format!("id=\"{id}\"")).unwrap();
        let v = html[at..].find("value=\"").unwrap() + at + 7;
        html[v..v + html[v..].find('"').unwrap()].to_string()
    };
    let (id, secret) = (value_of("new-client-id"), value_of("new-client-secret"));
    assert!(id.starts_with("ghc_") && secret.starts_with("gh_cs_"), "{id} {secret}");
    let listed = w.server.get("/api/orgs/acme/oauth-clients", Some(&w.admin)).await.expect(200);
    assert_eq!(listed.body["clients"][0]["clientId"], id);
    assert!(!listed.text.contains(&secret), "the secret is shown once only");

    // The flow, with the secret by HTTP Basic.
    let resource = mcp_url(&w, "echo");
    let flow = authorize_url(&w, &id, &resource, "mcp:call");
    let back = common::oauth::answer_consent(&w.server, &w.jar, &flow.url, Answer::Allow).await;
    let code = query_param(&back, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", flow.redirect.as_str()),
        ("code_verifier", flow.verifier.as_str()),
        ("resource", resource.as_str()),
    ];
    let token = |basic: Option<&str>, extra: &[(&'static str, String)]| {
        let mut form: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, v.to_string())).collect();
        form.extend(extra.iter().cloned());
        let mut r = w.server.request(reqwest::Method::POST, "/oauth/token").form(&form);
        if let Some(secret) = basic {
            r = r.basic_auth(&id, Some(secret));
        }
        async move { common::TestServer::read(r.send().await.unwrap()).await }
    };
    // Without its secret, or with it in the body instead of Basic: invalid_client.
    let r = token(None, &[("client_id", id.clone())]).await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
    let r = token(None, &[("client_id", id.clone()), ("client_secret", secret.clone())]).await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));
    let tokens = token(Some(&secret), &[]).await.expect(200).body;
    call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await.expect(200);

    // Another org's server is not its to ask for.
    w.server.create_org(&w.admin, "beta").await;
    w.server
        .post("/api/orgs/beta/servers", Some(&w.admin), json!({"name": "Beta", "slug": "beta-srv"}))
        .await
        .expect(201);
    let flow = authorize_url(&w, &id, &format!("{}/mcp/beta/beta-srv", w.server.base), "mcp:call");
    let r = common::console::client()
        .get(&flow.url)
        .header("cookie", format!("gh_session={}", w.admin))
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"));

    // Deleted, it can sign nobody in.
    let (cookies, csrf, _) =
        common::console::visit(&w.server, "/orgs/acme/settings/oauth-clients", Some(&w.admin)).await;
    let status = common::console::post_form(
        &w.server,
        &format!("/orgs/acme/settings/oauth-clients/{id}/delete"),
        &cookies,
        &[("_csrf", csrf.as_str())],
        &[],
    )
    .await;
    assert_eq!(status, 303);
    let flow = authorize_url(&w, &id, &resource, "mcp:call");
    assert_eq!(common::console::client().get(&flow.url).send().await.unwrap().status().as_u16(), 400);
}

backend_tests!(
    an_org_registers_its_own_client,
    who_may_sign_in_is_the_servers_setting,
    a_removed_member_loses_their_connections,
    policies_and_logs_know_who_signed_in,
    registrations_and_connections_stay_in_bounds,
);
