//! Story: an MCP client that cannot send an API key signs in. It finds Gatehouse as the
//! authorization server from the endpoint's `401` (RFC 9728), registers (RFC 7591), sends the
//! person through sign-in (platform code from a real SMTP sink, or the server's end-user code)
//! and consent, redeems the code with PKCE, calls tools with a token bound to that one server,
//! refreshes it by rotation — and every way this can go wrong ends in the exact OAuth error.

mod common;

use std::time::Duration;

use common::backend::HttpBackend;
use common::mcp::McpClient;
use common::oauth::{Answer, Jar, answer_consent, consent_as_member, pkce, query_param};
use common::smtp::SmtpSink;
use common::{Backend, Options, Resp, TestServer};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1/callback";

struct World {
    server: TestServer,
    admin: String,
    smtp: SmtpSink,
    sid: String,
    key: String,
    backend: HttpBackend,
    /// A browser signed in as the admin.
    jar: Jar,
}

async fn world(backend: Backend, options: Options) -> Option<World> {
    let smtp = SmtpSink::start()?;
    let options = Options { smtp_url: Some(smtp.url()), public_url_is_base: true, ..options };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    let http = HttpBackend::start();
    let (sid, key) = server
        .publish_echo(
            &admin,
            &http,
            json!([{"name": "text", "location": "query", "type": "string", "required": true}]),
        )
        .await;
    let jar = Jar::signed_in(&server, &admin).await;
    Some(World { server, admin, smtp, sid, key, backend: http, jar })
}

async fn sign_in(server: &TestServer, smtp: &SmtpSink, email: &str) -> String {
    server.post("/api/auth/request-code", None, json!({"email": email})).await.expect(200);
    let code = SmtpSink::code_in(&smtp.next_mail());
    let r =
        server.post("/api/auth/verify-code", None, json!({"email": email, "code": code})).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
}

fn mcp_url(w: &World, slug: &str) -> String {
    format!("{}/mcp/acme/{slug}", w.server.base)
}

/// Registers a public native client.
async fn register(w: &World) -> String {
    let r = w
        .server
        .post(
            "/oauth/register",
            None,
            json!({"client_name": "Story Client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                   "application_type": "native", "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await
        .expect(201);
    assert!(r.body.get("client_secret").is_none(), "a public client gets no secret");
    r.body["client_id"].as_str().unwrap().to_string()
}

struct Flow {
    url: String,
    verifier: String,
    state: String,
    redirect: String,
}

fn authorize_url(w: &World, client_id: &str, resource: &str, scope: &str) -> Flow {
    let (verifier, challenge) = pkce();
    let state = format!("st-{}", &challenge[..8]);
    // A native client listens on a port of its choosing (RFC 8252 § 7.3).
    let redirect = "http://127.0.0.1:53682/callback".to_string();
    let mut url = url::Url::parse(&format!("{}/oauth/authorize", w.server.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("scope", scope)
        .append_pair("resource", resource);
    Flow { url: url.to_string(), verifier, state, redirect }
}

async fn token_request(w: &World, form: &[(&str, &str)]) -> Resp {
    let r = w.server.request(reqwest::Method::POST, "/oauth/token").form(form).send().await.unwrap();
    TestServer::read(r).await
}

async fn exchange(w: &World, client_id: &str, flow: &Flow, code: &str, resource: &str) -> Resp {
    token_request(
        w,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &flow.redirect),
            ("code_verifier", &flow.verifier),
            ("client_id", client_id),
            ("resource", resource),
        ],
    )
    .await
}

/// A whole sign-in as `email`: the tokens.
async fn connect(w: &World, client_id: &str, slug: &str, answer: Answer) -> Value {
    let resource = mcp_url(w, slug);
    let flow = authorize_url(w, client_id, &resource, "mcp:read mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, answer).await;
    let code = query_param(&back, "code").expect("a code");
    exchange(w, client_id, &flow, &code, &resource).await.expect(200).body
}

async fn call_echo(w: &World, slug: &str, bearer: &str) -> Resp {
    let c = McpClient::new(&w.server, &format!("/mcp/acme/{slug}"), None, "2026-07-28");
    let auth = format!("Bearer {bearer}");
    c.post(
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
                      "io.modelcontextprotocol/clientInfo": {"name": "story", "version": "1"}}}}),
        &[("authorization", &auth), ("mcp-method", "tools/call"), ("mcp-name", "echo")],
    )
    .await
}

fn challenge_of(r: &Resp) -> String {
    r.headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn param_in(challenge: &str, name: &str) -> Option<String> {
    let at = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    Some(challenge[at..at + challenge[at..].find('"')?].to_string())
}

async fn a_member_connects_a_client_and_calls_tools(backend: Backend) {
    let Some(w) = world(backend, Options::default()).await else { return };
    let resource = mcp_url(&w, "echo");

    // 1. Without credentials: 401 naming the metadata and the scopes.
    let r = McpClient::new(&w.server, "/mcp/acme/echo", None, "2026-07-28")
        .request("tools/list", json!({}))
        .await;
    assert_eq!(r.status, 401);
    let challenge = challenge_of(&r);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert_eq!(param_in(&challenge, "scope").as_deref(), Some("mcp:read mcp:call"));
    let metadata_url = param_in(&challenge, "resource_metadata").expect("resource_metadata");
    assert_eq!(metadata_url, format!("{}/.well-known/oauth-protected-resource/mcp/acme/echo", w.server.base));

    // 2. Protected resource metadata names Gatehouse; the authorization server's names its endpoints.
    let prm: Value = w.server.client.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(prm["resource"], resource);
    assert_eq!(prm["authorization_servers"], json!([w.server.base]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:call"]));
    let sse_prm = w.server.get("/.well-known/oauth-protected-resource/sse/acme/echo", None).await.expect(200);
    assert_eq!(sse_prm.body["resource"], format!("{}/sse/acme/echo", w.server.base));
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let meta = w.server.get(path, None).await.expect(200).body;
        assert_eq!(meta["issuer"], w.server.base);
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(meta["client_id_metadata_document_supported"], true);
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        assert_eq!(meta["token_endpoint"], format!("{}/oauth/token", w.server.base));
    }

    // 3. Register, sign in, consent: the code comes back with state and iss (RFC 9207).
    let client_id = register(&w).await;
    let flow = authorize_url(&w, &client_id, &resource, "mcp:read mcp:call");
    let back = consent_as_member(&w.server, &w.smtp, &flow.url, "admin@example.com", Answer::Allow).await;
    assert!(back.starts_with(&flow.redirect), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some(flow.state.as_str()));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(w.server.base.as_str()));
    let code = query_param(&back, "code").unwrap();

    // 4. The code and its verifier make tokens.
    let tokens = exchange(&w, &client_id, &flow, &code, &resource).await.expect(200).body;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:read mcp:call");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // 5. The token calls tools on this server.
    let r = call_echo(&w, "echo", &access).await.expect(200);
    assert!(r.body["result"]["content"].is_array() && r.body["result"]["isError"] != true, "{}", r.text);
    let session = McpClient::new(&w.server, "/mcp/acme/echo", None, "2025-06-18");
    let bearer = format!("Bearer {access}");
    let init = session
        .post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
            "capabilities": {}, "clientInfo": {"name": "story", "version": "1"}}}), &[("authorization", &bearer)])
        .await
        .expect(200);
    assert!(init.headers.get("mcp-session-id").is_some());

    // 6. Refresh rotates: the new pair works, the old refresh token is spent.
    let rotated = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await
    .expect(200)
    .body;
    let access2 = rotated["access_token"].as_str().unwrap().to_string();
    assert_ne!(rotated["refresh_token"], refresh);
    call_echo(&w, "echo", &access2).await.expect(200);

    // 7. The person sees the connection, the usage counts under it, and the audit log has the consent.
    let mine = w.server.get("/api/me/connections", Some(&w.admin)).await.expect(200).body;
    let connections = mine["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0]["clientName"], "Story Client");
    assert_eq!(connections[0]["email"], "admin@example.com");
    assert_eq!(connections[0]["serverId"], w.sid);
    let audit = w.server.get("/api/orgs/acme/audit", Some(&w.admin)).await.expect(200).body;
    assert!(audit.to_string().contains("authorize_client"), "consent audited: {audit}");

    // 8. Revoking it ends every token of it at once.
    let connection = connections[0]["connectionId"].as_str().unwrap();
    w.server.delete(&format!("/api/me/connections/{connection}"), Some(&w.admin)).await.expect(204);
    let r = call_echo(&w, "echo", &access2).await;
    assert_eq!(r.status, 401);
    assert_eq!(param_in(&challenge_of(&r), "error").as_deref(), Some("invalid_token"));
    let _ = &w.backend;
}

async fn every_refusal_names_its_oauth_error(backend: Backend) {
    let Some(w) =
        world(backend, Options { oauth_access_ttl: Some(Duration::from_secs(1)), ..Default::default() })
            .await
    else {
        return;
    };
    let resource = mcp_url(&w, "echo");
    let client_id = register(&w).await;
    // A second server of the same org, for a token used where it does not belong.
    w.server
        .post("/api/orgs/acme/servers", Some(&w.admin), json!({"name": "Other", "slug": "other"}))
        .await
        .expect(201);

    // A redirect URI the client never registered: shown to the person, never redirected to.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let evil = flow.url.replace("127.0.0.1%3A53682%2Fcallback", "evil.example%2Fcallback");
    let r = w.server.client.get(&evil).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("redirect_uri is not registered"));

    // An unknown client: shown, not redirected.
    let r = w.server.client.get(flow.url.replace(&client_id, "ghc_nobody")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // No PKCE, or plain: back to the client with invalid_request.
    let plain = flow.url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let r = common::console::client().get(&plain).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&location, "state").as_deref(), Some(flow.state.as_str()));

    // A resource that is not one of ours: invalid_target.
    let foreign = authorize_url(&w, &client_id, "https://elsewhere.example/mcp/acme/echo", "mcp:call");
    let r = common::console::client().get(&foreign.url).send().await.unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_target"));

    // Denied at consent: access_denied.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, Answer::Deny).await;
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));

    // A wrong verifier: invalid_grant, and the code is spent.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, Answer::Allow).await;
    let code = query_param(&back, "code").unwrap();
    let wrong = Flow { verifier: pkce().0, ..flow };
    let r = exchange(&w, &client_id, &wrong, &code, &resource).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")), "{}", r.text);

    // A replayed code: invalid_grant, and what it was exchanged for is revoked.
    let flow = authorize_url(&w, &client_id, &resource, "mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, Answer::Allow).await;
    let code = query_param(&back, "code").unwrap();
    let first = exchange(&w, &client_id, &flow, &code, &resource).await.expect(200).body;
    let replay = exchange(&w, &client_id, &flow, &code, &resource).await;
    assert_eq!((replay.status, replay.body["error"].as_str()), (400, Some("invalid_grant")));
    let r = call_echo(&w, "echo", first["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 401, "tokens of a replayed code are revoked");

    // A token for this server on another: refused (RFC 8707 audience).
    let tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    let access = tokens["access_token"].as_str().unwrap();
    let r = call_echo(&w, "other", access).await;
    assert_eq!(r.status, 401);
    assert_eq!(param_in(&challenge_of(&r), "error").as_deref(), Some("invalid_token"));
    // Asking to redeem a refresh token for another server: invalid_target.
    let r = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
            ("resource", &mcp_url(&w, "other")),
        ],
    )
    .await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_target")));

    // A rotated refresh token used again: invalid_grant, and the whole family is revoked.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form =
        [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client_id.as_str())];
    let rotated = token_request(&w, &form).await.expect(200).body;
    let reused = token_request(&w, &form).await;
    assert_eq!((reused.status, reused.body["error"].as_str()), (400, Some("invalid_grant")));
    let newer = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
        ("client_id", client_id.as_str()),
    ];
    let r = token_request(&w, &newer).await;
    assert_eq!(r.body["error"], "invalid_grant", "the successor is revoked with its family");

    // Expired access tokens: invalid_token.
    let tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 401);
    assert_eq!(param_in(&challenge_of(&r), "error").as_deref(), Some("invalid_token"));

    // Revocation (RFC 7009) of the refresh token ends it; unknown tokens answer 200 too.
    let form = [("token", tokens["refresh_token"].as_str().unwrap()), ("client_id", client_id.as_str())];
    let r = w.server.request(reqwest::Method::POST, "/oauth/revoke").form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let again = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", client_id.as_str()),
    ];
    assert_eq!(token_request(&w, &again).await.body["error"], "invalid_grant");
    let r = w
        .server
        .request(reqwest::Method::POST, "/oauth/revoke")
        .form(&[("token", "gh_rt_nope"), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Read-only consent: listing works, calling a tool is 403 insufficient_scope naming mcp:call.
    let tokens = connect(&w, &client_id, "echo", Answer::AllowReadOnly).await;
    assert_eq!(tokens["scope"], "mcp:read");
    let r = call_echo(&w, "echo", tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 403);
    let challenge = challenge_of(&r);
    assert_eq!(param_in(&challenge, "error").as_deref(), Some("insufficient_scope"));
    assert_eq!(param_in(&challenge, "scope").as_deref(), Some("mcp:call"));
    assert!(param_in(&challenge, "resource_metadata").is_some());

    // A confidential client proves its secret.
    let reg = w
        .server
        .post("/oauth/register", None, json!({"client_name": "Web", "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_post"}))
        .await
        .expect(201);
    assert_eq!(reg.body["application_type"], "web");
    let id = reg.body["client_id"].as_str().unwrap();
    let r = token_request(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", id),
            ("client_secret", "gh_cs_wrong"),
        ],
    )
    .await;
    assert_eq!((r.status, r.body["error"].as_str()), (401, Some("invalid_client")));

    // Registration refuses what it cannot honour.
    let bad = [
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["http://evil.example/cb"]}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "web"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
    ];
    for (body, error) in bad {
        let r = w.server.post("/oauth/register", None, body.clone()).await;
        assert_eq!((r.status, r.body["error"].as_str()), (400, Some(error)), "{body}");
    }
    // Unsupported grant types and bodies that are not forms.
    let r = token_request(&w, &[("grant_type", "password"), ("client_id", client_id.as_str())]).await;
    assert_eq!(r.body["error"], "unsupported_grant_type");
    let r = w.server.post("/oauth/token", None, json!({"grant_type": "authorization_code"})).await;
    assert_eq!(r.body["error"], "invalid_request");
}

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

    // A per-person budget spans every client the person connected.
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

backend_tests!(
    registrations_and_connections_stay_in_bounds,
    policies_and_logs_know_who_signed_in,
    a_member_connects_a_client_and_calls_tools,
    every_refusal_names_its_oauth_error,
    who_may_sign_in_is_the_servers_setting,
    a_removed_member_loses_their_connections,
);
