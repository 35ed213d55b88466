//! Story: a customer's backend signs its end users in with the auth service of its server: a
//! code by e-mail over real SMTP, an RS256
//! JWT checked against the org's JWKS with an independent JWT library the way a customer backend
//! does, `/auth/me` as revocation check, and every way it refuses.

mod common;

use std::time::Duration;

use common::smtp::SmtpSink;
use common::{Backend, Options, Resp, TestServer};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

/// An org with a server and an API key.
struct Tenant {
    org: String,
    server: String,
    key_id: String,
    key: String,
}

async fn create_server(server: &TestServer, token: &str, org: &str, name: &str) -> String {
    let r = server
        .post(&format!("/api/orgs/{org}/servers"), Some(token), json!({"name": name}))
        .await
        .expect(201);
    r.body["server"]["serverId"].as_str().unwrap().to_string()
}

async fn create_key(server: &TestServer, token: &str, org: &str, server_id: &str) -> (String, String) {
    let r = server
        .post(
            &format!("/api/orgs/{org}/servers/{server_id}/keys"),
            Some(token),
            json!({"label": "production"}),
        )
        .await
        .expect(201);
    (r.body["key"]["keyId"].as_str().unwrap().to_string(), r.body["rawValue"].as_str().unwrap().to_string())
}

async fn tenant(server: &TestServer, admin: &str, slug: &str, name: &str) -> Tenant {
    let org = match server.get(&format!("/api/orgs/{slug}"), Some(admin)).await {
        r if r.status == 200 => r.body["org"]["orgId"].as_str().unwrap().to_string(),
        _ => server.create_org(admin, slug).await,
    };
    let server_id = create_server(server, admin, &org, name).await;
    let (key_id, key) = create_key(server, admin, &org, &server_id).await;
    Tenant { org, server: server_id, key_id, key }
}

async fn with_key(server: &TestServer, method: Method, path: &str, key: Option<&str>, body: Value) -> Resp {
    let mut req = server.request(method, path).json(&body);
    if let Some(key) = key {
        req = req.header("X-API-Key", key);
    }
    TestServer::read(req.send().await.unwrap()).await
}

impl Tenant {
    fn path(&self, tail: &str) -> String {
        format!("/api/orgs/{}/servers/{}{tail}", self.org, self.server)
    }

    async fn request_code(&self, server: &TestServer, email: &str) -> Resp {
        with_key(
            server,
            Method::POST,
            &self.path("/auth/request-code"),
            Some(&self.key),
            json!({"email": email}),
        )
        .await
    }

    async fn verify_code(&self, server: &TestServer, email: &str, code: &str) -> Resp {
        let body = json!({"email": email, "code": code});
        with_key(server, Method::POST, &self.path("/auth/verify-code"), Some(&self.key), body).await
    }

    async fn me(&self, server: &TestServer, token: &str) -> Resp {
        server.get(&self.path("/auth/me"), Some(token)).await
    }

    /// Signs `email` in through the mail; returns the JWT.
    async fn sign_in(&self, server: &TestServer, sink: &SmtpSink, email: &str) -> String {
        self.request_code(server, email).await.expect(200);
        let code = SmtpSink::code_in(&sink.next_mail());
        let r = self.verify_code(server, email, &code).await.expect(200);
        r.body["token"].as_str().unwrap().to_string()
    }
}

async fn enterprise_with_mail(backend: Backend) -> Option<(TestServer, String, SmtpSink)> {
    let sink = SmtpSink::start()?;
    let options = Options { smtp_url: Some(sink.url()), ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    Some((server, admin, sink))
}

/// What a customer backend does: fetch the JWKS over HTTP, pick the key by `kid`, verify
/// signature, issuer and the server-specific audience.
async fn verify_like_a_customer(server: &TestServer, t: &Tenant, token: &str) -> Result<Value, String> {
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await.expect(200);
    let set: JwkSet = serde_json::from_value(jwks.body).map_err(|e| e.to_string())?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let jwk = set.find(header.kid.as_deref().unwrap_or_default()).ok_or("kid not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[server.config.public_url.as_str()]);
    validation.set_audience(&[format!("{}/orgs/{}/servers/{}", server.config.public_url, t.org, t.server)]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| e.to_string())?;
    Ok(data.claims)
}

/// `/auth/me` answers `status` within a second (the change reaches every node's cache).
async fn me_becomes(server: &TestServer, t: &Tenant, token: &str, status: u16) -> Resp {
    for _ in 0..20 {
        let r = t.me(server, token).await;
        if r.status == status {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.me(server, token).await.expect(status)
}

async fn a_customer_signs_an_end_user_in_and_out(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let t = tenant(&server, &admin, "acme", "Shop").await;

    // Before anyone signed in, the JWKS is empty but answers, publicly cacheable.
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await.expect(200);
    assert_eq!(jwks.body, json!({"keys": []}));
    assert_eq!(jwks.headers["cache-control"], "public, max-age=3600");

    let r = t.request_code(&server, " User@Example.com ").await.expect(200);
    assert_eq!(r.body, json!({"message": "Verification code sent"}));
    let mail = sink.next_mail();
    assert_eq!(mail.to, vec!["user@example.com".to_string()]);
    assert_eq!(mail.subject, "Your verification code");
    let code = SmtpSink::code_in(&mail);

    let r = t.verify_code(&server, "user@example.com", &code).await.expect(200);
    assert_eq!(r.body["email"], "user@example.com");
    assert_eq!(r.body["serverId"], t.server.as_str());
    assert_eq!(r.body["orgId"], t.org.as_str());
    let token = r.body["token"].as_str().unwrap().to_string();

    // The JWKS now has the org's key, as RFC 7517 describes it.
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await.expect(200);
    let keys = jwks.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["e"], "AQAB");
    assert!(keys[0]["n"].as_str().unwrap().len() >= 342, "a 2048-bit modulus");

    // A customer backend verifies it locally, with its own JWT library.
    let claims = verify_like_a_customer(&server, &t, &token).await.unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), keys[0]["kid"].as_str());
    let base = &server.config.public_url;
    assert_eq!(claims["iss"], base.as_str());
    assert_eq!(claims["sub"], "user@example.com");
    assert_eq!(claims["aud"], json!([base, format!("{base}/orgs/{}/servers/{}", t.org, t.server)]));
    assert_eq!(claims["context"], "server");
    assert_eq!(claims["serverId"], t.server.as_str());
    assert_eq!(claims["orgId"], t.org.as_str());
    assert_eq!(claims["keyId"], t.key_id.as_str());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 24 * 60 * 60);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // /auth/me: the token is valid and its key active.
    let me = t.me(&server, &token).await.expect(200);
    assert_eq!(me.body, json!({"email": "user@example.com", "serverId": t.server, "orgId": t.org}));

    // The code was single use.
    t.verify_code(&server, "user@example.com", &code).await.expect_error(401, "unauthorized");

    // request-code counted as a use of the key, so it can only be archived now.
    let keys = server.get(&t.path("/keys"), Some(&admin)).await.expect(200);
    assert_eq!(keys.body["keys"][0]["usageCount"], 1);

    // Archiving the key ends every session it backs, and the key stops working.
    server.patch(&t.path(&format!("/keys/{}", t.key_id)), Some(&admin), json!({})).await.expect(200);
    let r = me_becomes(&server, &t, &token, 401).await;
    assert_eq!(r.body["code"], "unauthorized");
    let mut refused = t.request_code(&server, "user@example.com").await;
    for _ in 0..40 {
        if refused.status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        refused = t.request_code(&server, "user@example.com").await;
    }
    refused.expect_error(401, "unauthorized");
    // The signature alone still checks out: JWKS verification has no revocation check.
    assert!(verify_like_a_customer(&server, &t, &token).await.is_ok());
}

async fn tokens_and_keys_stay_on_their_server(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let a = tenant(&server, &admin, "acme", "Shop").await;
    let b = tenant(&server, &admin, "acme", "Blog").await;
    assert_eq!(a.org, b.org);
    let token = a.sign_in(&server, &sink, "ann@example.com").await;

    // A token of server A, presented at server B of the same org: 403.
    let r = b.me(&server, &token).await.expect_error(403, "wrong_server");
    assert!(!r.text.contains("ann@example.com"));
    // Server B's key cannot start or finish a sign-in on server A, nor the other way round.
    let crossed = Tenant { key: b.key.clone(), ..tenant_ref(&a) };
    crossed.request_code(&server, "ann@example.com").await.expect_error(401, "unauthorized");
    crossed.verify_code(&server, "ann@example.com", "123456").await.expect_error(401, "unauthorized");
    assert!(sink.mail_within(Duration::from_millis(300)).is_none());
    // Both servers sign with the org's one key, with their own audience.
    let token_b = b.sign_in(&server, &sink, "ann@example.com").await;
    b.me(&server, &token_b).await.expect(200);
    assert!(verify_like_a_customer(&server, &a, &token_b).await.unwrap_err().contains("InvalidAudience"));
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", a.org), None).await.expect(200);
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);
}

fn tenant_ref(t: &Tenant) -> Tenant {
    Tenant { org: t.org.clone(), server: t.server.clone(), key_id: t.key_id.clone(), key: t.key.clone() }
}

async fn brute_force_and_floods_are_stopped(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let t = tenant(&server, &admin, "acme", "Shop").await;
    t.request_code(&server, "eve@example.com").await.expect(200);
    let code = SmtpSink::code_in(&sink.next_mail());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        t.verify_code(&server, "eve@example.com", wrong).await.expect_error(401, "unauthorized");
    }
    // Five wrong guesses burn the code: even the right one is refused now.
    t.verify_code(&server, "eve@example.com", &code).await.expect_error(401, "unauthorized");

    // At most five codes per e-mail per window.
    for _ in 0..4 {
        t.request_code(&server, "eve@example.com").await.expect(200);
        sink.next_mail();
    }
    let r = t.request_code(&server, "eve@example.com").await.expect_error(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    assert!(sink.mail_within(Duration::from_millis(300)).is_none());

    // At most a hundred codes per key per minute, whatever the addresses.
    for i in 0..95 {
        t.request_code(&server, &format!("user{i}@example.com")).await.expect(200);
        sink.next_mail();
    }
    t.request_code(&server, "one-more@example.com").await.expect_error(429, "rate_limited");
    // Another key of the same server has its own budget.
    let (_, other) = create_key(&server, &admin, &t.org, &t.server).await;
    let t2 = Tenant { key: other, ..tenant_ref(&t) };
    t2.request_code(&server, "one-more@example.com").await.expect(200);
}

async fn every_way_a_request_is_refused(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let t = tenant(&server, &admin, "acme", "Shop").await;
    let request = t.path("/auth/request-code");
    let verify = t.path("/auth/verify-code");
    let body = json!({"email": "bob@example.com"});

    // No key, a made-up key, a platform token instead of a key: 401, nothing sent.
    with_key(&server, Method::POST, &request, None, body.clone()).await.expect_error(401, "unauthorized");
    with_key(&server, Method::POST, &request, Some("mcp_nope"), body.clone())
        .await
        .expect_error(401, "unauthorized");
    let r = server.request(Method::POST, &request).bearer_auth(&admin).json(&body).send().await.unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");
    // Unknown server or org: the key does not belong there, 401 (nothing revealed).
    let elsewhere = format!("/api/orgs/{}/servers/srv_unknown/auth/request-code", t.org);
    with_key(&server, Method::POST, &elsewhere, Some(&t.key), body.clone())
        .await
        .expect_error(401, "unauthorized");
    let elsewhere = format!("/api/orgs/nope/servers/{}/auth/request-code", t.server);
    with_key(&server, Method::POST, &elsewhere, Some(&t.key), body.clone())
        .await
        .expect_error(401, "unauthorized");
    // The org may be named by slug.
    let by_slug = format!("/api/orgs/acme/servers/{}/auth/request-code", t.server);
    with_key(&server, Method::POST, &by_slug, Some(&t.key), body.clone()).await.expect(200);
    sink.next_mail();

    // Bad input, with a good key: 400.
    t.request_code(&server, "not-an-email").await.expect_error(400, "invalid_input");
    with_key(&server, Method::POST, &request, Some(&t.key), json!({}))
        .await
        .expect_error(400, "invalid_input");
    t.verify_code(&server, "bob@example.com", "12ab56").await.expect_error(400, "invalid_input");
    t.verify_code(&server, "bob@example.com", "1234567").await.expect_error(400, "invalid_input");
    let r = server.request(Method::POST, &verify).header("X-API-Key", &t.key).body("{").send().await.unwrap();
    TestServer::read(r).await.expect_error(415, "unsupported_media_type");
    // No code was ever requested for this address: 401.
    t.verify_code(&server, "nobody@example.com", "123456").await.expect_error(401, "unauthorized");
    // An expired code: 401 (codes last codeLifetimeSeconds; here the clock is moved by the store).
    t.request_code(&server, "old@example.com").await.expect(200);
    let code = SmtpSink::code_in(&sink.next_mail());
    let store = server.state().store.clone();
    let active = store.end_user_code_active(&t.server, "old@example.com", 0).await.unwrap().unwrap();
    assert!(active.expires_at - active.created_at == 600_000, "codes last 10 minutes by default");
    assert!(
        store.end_user_code_active(&t.server, "old@example.com", active.expires_at).await.unwrap().is_none()
    );

    // /auth/me without a usable bearer token: 401.
    let me = t.path("/auth/me");
    server.get(&me, None).await.expect_error(401, "unauthorized");
    let r = server.request(Method::GET, &me).header("Authorization", "Basic YTpi").send().await.unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");
    server.get(&me, Some("not.a.jwt")).await.expect_error(401, "unauthorized");
    server.get(&me, Some(&admin)).await.expect_error(401, "unauthorized");

    let token = {
        let r = t.verify_code(&server, "old@example.com", &code).await.expect(200);
        r.body["token"].as_str().unwrap().to_string()
    };
    t.me(&server, &token).await.expect(200);
    // A tampered payload or signature: 401.
    let parts: Vec<&str> = token.split('.').collect();
    let mut sig: Vec<char> = parts[2].chars().collect();
    sig[10] = if sig[10] == 'A' { 'B' } else { 'A' };
    let sig: String = sig.into_iter().collect();
    server
        .get(&me, Some(&format!("{}.{}.{sig}", parts[0], parts[1])))
        .await
        .expect_error(401, "unauthorized");
    let claims = verify_like_a_customer(&server, &t, &token).await.unwrap();
    let mut forged = claims.clone();
    forged["sub"] = json!("admin@example.com");
    let payload = base64_url(&serde_json::to_vec(&forged).unwrap());
    server
        .get(&me, Some(&format!("{}.{payload}.{}", parts[0], parts[2])))
        .await
        .expect_error(401, "unauthorized");
    // Algorithm confusion: HS256 keyed with the public modulus, under the org's kid.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    let mut hs = jsonwebtoken::Header::new(Algorithm::HS256);
    hs.kid = header.kid.clone();
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await;
    let n = jwks.body["keys"][0]["n"].as_str().unwrap().to_string();
    let confused =
        jsonwebtoken::encode(&hs, &claims, &jsonwebtoken::EncodingKey::from_secret(n.as_bytes())).unwrap();
    server.get(&me, Some(&confused)).await.expect_error(401, "unauthorized");
    // Expired: signed by the org's own key, but past `exp`.
    let state = server.state();
    let key = state.end_user.signing.active(state.store.as_ref(), &state.master_key, &t.org).await.unwrap();
    let mut old = claims.clone();
    old["iat"] = json!(claims["iat"].as_i64().unwrap() - 100_000);
    old["exp"] = json!(claims["iat"].as_i64().unwrap() - 10);
    let expired = state.end_user.signing.sign(&state.master_key, &key, &old).unwrap();
    let r = server.get(&me, Some(&expired)).await.expect_error(401, "unauthorized");
    assert!(r.body["error"].as_str().unwrap().contains("expired"), "{}", r.text);
    // Not an end-user token (context), though well signed.
    let mut platform = claims.clone();
    platform["context"] = json!("platform");
    let platform = state.end_user.signing.sign(&state.master_key, &key, &platform).unwrap();
    server.get(&me, Some(&platform)).await.expect_error(401, "unauthorized");
    // Another issuer: 401.
    let mut foreign = claims.clone();
    foreign["iss"] = json!("https://evil.example");
    let foreign = state.end_user.signing.sign(&state.master_key, &key, &foreign).unwrap();
    server.get(&me, Some(&foreign)).await.expect_error(401, "unauthorized");
    // The original still works.
    t.me(&server, &token).await.expect(200);
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn the_auth_config_shapes_the_service(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let t = tenant(&server, &admin, "acme", "Shop").await;
    let path = t.path("/auth-config");
    let r = server.get(&path, Some(&admin)).await.expect(200);
    assert_eq!(
        r.body["authConfig"],
        json!({
            "serverId": t.server, "orgId": t.org, "enabled": true,
            "tokenLifetimeSeconds": 86400, "codeLifetimeSeconds": 600,
            "allowedEmailDomains": [], "emailSenderName": null, "emailSubject": null, "updatedAt": null,
            "appCheck": {"enabled": false, "projectNumber": null, "appIds": []}
        })
    );
    let r = server
        .put(
            &path,
            Some(&admin),
            json!({
                "tokenLifetimeSeconds": 3600, "codeLifetimeSeconds": 120,
                "allowedEmailDomains": ["Example.com", "@corp.example"],
                "emailSenderName": "Acme Shop", "emailSubject": "Your Acme code"
            }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["authConfig"]["allowedEmailDomains"], json!(["corp.example", "example.com"]));
    assert!(r.body["authConfig"]["updatedAt"].is_string());

    // The mail carries the configured sender name and subject; the code lasts 2 minutes.
    t.request_code(&server, "amy@example.com").await.expect(200);
    let mail = sink.next_mail();
    assert_eq!(mail.subject, "Your Acme code");
    assert!(mail.from_header.contains("Acme Shop"), "{}", mail.from_header);
    assert!(mail.body.contains("2 minutes"), "{}", mail.body);
    let code = SmtpSink::code_in(&mail);
    let token = t.verify_code(&server, "amy@example.com", &code).await.expect(200).body["token"].clone();
    let claims = verify_like_a_customer(&server, &t, token.as_str().unwrap()).await.unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);

    // Other domains are refused, before anything is sent.
    t.request_code(&server, "amy@gmail.com").await.expect_error(403, "email_domain_not_allowed");
    assert!(sink.mail_within(Duration::from_millis(300)).is_none());

    // Disabled: request and verify are refused; fields left out kept their values.
    let r = server.put(&path, Some(&admin), json!({"enabled": false})).await.expect(200);
    assert_eq!(r.body["authConfig"]["tokenLifetimeSeconds"], 3600);
    t.request_code(&server, "amy@example.com").await.expect_error(403, "auth_disabled");
    t.verify_code(&server, "amy@example.com", "123456").await.expect_error(403, "auth_disabled");
    server.put(&path, Some(&admin), json!({"enabled": true, "emailSubject": ""})).await.expect(200);
    t.request_code(&server, "amy@example.com").await.expect(200);
    assert_eq!(sink.next_mail().subject, "Your verification code");

    // Invalid settings change nothing.
    for bad in [
        json!({"tokenLifetimeSeconds": 10}),
        json!({"codeLifetimeSeconds": 7200}),
        json!({"allowedEmailDomains": ["not a domain"]}),
        json!({"emailSubject": "line\nbreak"}),
        json!({"unknown": 1}),
    ] {
        server.put(&path, Some(&admin), bad).await.expect_error(400, "invalid_input");
    }
    let r = server.get(&path, Some(&admin)).await.expect(200);
    assert_eq!(r.body["authConfig"]["codeLifetimeSeconds"], 120);

    // Scopes: servers:read reads, servers:write writes.
    let reader = server.mint_token(&admin, "acme", &["servers:read"]).await;
    server.get(&path, Some(&reader)).await.expect(200);
    server.put(&path, Some(&reader), json!({"enabled": false})).await.expect_error(403, "insufficient_scope");
    server.get(&t.path("/nope/auth-config"), Some(&admin)).await.expect_error(404, "not_found");
    let unknown = format!("/api/orgs/{}/servers/srv_unknown/auth-config", t.org);
    server.get(&unknown, Some(&admin)).await.expect_error(404, "not_found");
}

async fn rotation_keeps_old_tokens_verifiable(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let t = tenant(&server, &admin, "acme", "Shop").await;
    let old_token = t.sign_in(&server, &sink, "ron@example.com").await;
    let old_kid = jsonwebtoken::decode_header(&old_token).unwrap().kid.unwrap();

    let r = server
        .post(&format!("/api/orgs/{}/signing-keys/rotate", t.org), Some(&admin), json!({}))
        .await
        .expect(200);
    let new_kid = r.body["key"]["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert_eq!(r.body["key"]["status"], "active");

    // Both keys are published: the old one until its last token expires.
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await.expect(200);
    let kids: Vec<&str> =
        jwks.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()));
    let list = server.get(&format!("/api/orgs/{}/signing-keys", t.org), Some(&admin)).await.expect(200);
    assert_eq!(list.body["keys"][0]["kid"], new_kid.as_str());
    assert_eq!(list.body["keys"][1]["status"], "retired");
    let old_claims = verify_like_a_customer(&server, &t, &old_token).await.unwrap();
    let until = list.body["keys"][1]["publishedUntil"].as_str().unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap().timestamp();
    assert_eq!(until, old_claims["exp"].as_i64().unwrap());
    assert!(!list.text.contains("private"), "{}", list.text);

    // Old tokens still pass, new ones are signed with the new key.
    t.me(&server, &old_token).await.expect(200);
    let new_token = t.sign_in(&server, &sink, "ron@example.com").await;
    assert_eq!(jsonwebtoken::decode_header(&new_token).unwrap().kid.unwrap(), new_kid);
    verify_like_a_customer(&server, &t, &new_token).await.unwrap();

    // Rotating again keeps both retired keys (each signed a live token)…
    let rotate = format!("/api/orgs/{}/signing-keys/rotate", t.org);
    let third = server.post(&rotate, Some(&admin), json!({})).await.expect(200).body["key"]["kid"].clone();
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await.expect(200);
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 3);
    // …but a key retired before it signed anything leaves the JWKS at once.
    server.post(&rotate, Some(&admin), json!({})).await.expect(200);
    let jwks = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", t.org), None).await.expect(200);
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 3);
    assert!(!jwks.text.contains(third.as_str().unwrap()));

    // Scopes: keys:read lists, keys:rotate rotates.
    let reader = server.mint_token(&admin, "acme", &["keys:read"]).await;
    server.get(&format!("/api/orgs/{}/signing-keys", t.org), Some(&reader)).await.expect(200);
    server
        .post(&format!("/api/orgs/{}/signing-keys/rotate", t.org), Some(&reader), json!({}))
        .await
        .expect_error(403, "insufficient_scope");
    // An org without keys yet gets its first key by rotation as well.
    let other = server.create_org(&admin, "other").await;
    server.post(&format!("/api/orgs/{other}/signing-keys/rotate"), Some(&admin), json!({})).await.expect(200);
    let jwks = server.get(&format!("/api/orgs/{other}/.well-known/jwks.json"), None).await.expect(200);
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);
    server.get("/api/orgs/nope/.well-known/jwks.json", None).await.expect_error(404, "not_found");
}

async fn orgs_never_share_keys_or_sessions(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend).await else { return };
    let a = tenant(&server, &admin, "alpha", "Shop").await;
    let b = tenant(&server, &admin, "beta", "Shop").await;
    let token_a = a.sign_in(&server, &sink, "pat@example.com").await;
    let token_b = b.sign_in(&server, &sink, "pat@example.com").await;

    // Each org has its own key; neither JWKS shows the other's.
    let kid_a = jsonwebtoken::decode_header(&token_a).unwrap().kid.unwrap();
    let kid_b = jsonwebtoken::decode_header(&token_b).unwrap().kid.unwrap();
    assert_ne!(kid_a, kid_b);
    let jwks_b = server.get(&format!("/api/orgs/{}/.well-known/jwks.json", b.org), None).await.expect(200);
    assert!(!jwks_b.text.contains(&kid_a));
    assert!(verify_like_a_customer(&server, &b, &token_a).await.is_err());

    // A token of alpha at beta's /auth/me, even on a path naming beta's server: 401.
    b.me(&server, &token_a).await.expect_error(401, "unauthorized");
    let spoofed = format!("/api/orgs/{}/servers/{}/auth/me", b.org, a.server);
    server.get(&spoofed, Some(&token_a)).await.expect_error(401, "unauthorized");
    // Alpha's key on beta's paths: 401.
    let crossed = Tenant { key: a.key.clone(), ..tenant_ref(&b) };
    crossed.request_code(&server, "pat@example.com").await.expect_error(401, "unauthorized");
    crossed.verify_code(&server, "pat@example.com", "123456").await.expect_error(401, "unauthorized");
    // Beta's admin tools cannot see alpha's signing keys or auth settings.
    let beta_only = server.mint_token(&admin, "beta", &["keys:read", "servers:read"]).await;
    server
        .get(&format!("/api/orgs/{}/signing-keys", a.org), Some(&beta_only))
        .await
        .expect_error(404, "not_found");
    server.get(&a.path("/auth-config"), Some(&beta_only)).await.expect_error(404, "not_found");
    let list = server.get(&format!("/api/orgs/{}/signing-keys", b.org), Some(&beta_only)).await.expect(200);
    assert!(!list.text.contains(&kid_a));
}

/// Two nodes on one PostgreSQL: a code requested on A is verified on B, tokens of either verify
/// on both, and archiving the key on A ends the session on B within a second, though B had the
/// key's status cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_on_every_node() {
    if !common::postgres_available().await {
        return;
    }
    let Some((a, admin, sink)) = enterprise_with_mail(Backend::Postgres).await else { return };
    let t = tenant(&a, &admin, "acme", "Shop").await;
    let b = a.second_node().await;
    t.request_code(&a, "nod@example.com").await.expect(200);
    let code = SmtpSink::code_in(&sink.next_mail());
    let token = t.verify_code(&b, "nod@example.com", &code).await.expect(200).body["token"]
        .as_str()
        .unwrap()
        .to_string();
    t.me(&a, &token).await.expect(200);
    t.me(&b, &token).await.expect(200);
    let jwks = format!("/api/orgs/{}/.well-known/jwks.json", t.org);
    assert_eq!(a.get(&jwks, None).await.body, b.get(&jwks, None).await.body);
    // A key rotated on A signs tokens B verifies.
    a.post(&format!("/api/orgs/{}/signing-keys/rotate", t.org), Some(&admin), json!({})).await.expect(200);
    let fresh = t.sign_in(&a, &sink, "nod@example.com").await;
    t.me(&b, &fresh).await.expect(200);

    a.patch(&t.path(&format!("/keys/{}", t.key_id)), Some(&admin), json!({})).await.expect(200);
    let start = std::time::Instant::now();
    while t.me(&b, &token).await.status != 401 {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node B still accepts a session of an archived key"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.me(&b, &fresh).await.expect_error(401, "unauthorized");
}

backend_tests!(
    a_customer_signs_an_end_user_in_and_out,
    tokens_and_keys_stay_on_their_server,
    brute_force_and_floods_are_stopped,
    every_way_a_request_is_refused,
    the_auth_config_shapes_the_service,
    rotation_keeps_old_tokens_verifiable,
    orgs_never_share_keys_or_sessions,
);
