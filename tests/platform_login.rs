//! Story: people log in to the platform with a one-time code sent over real SMTP.

mod common;

use std::time::Duration;

use common::smtp::SmtpSink;
use common::{Backend, Options, TestServer};
use serde_json::json;

async fn enterprise_with_mail(backend: Backend, open_signup: bool) -> Option<(TestServer, String, SmtpSink)> {
    enterprise_with_mail_and(backend, Options { open_signup, ..Default::default() }).await
}

async fn enterprise_with_mail_and(
    backend: Backend,
    options: Options,
) -> Option<(TestServer, String, SmtpSink)> {
    let sink = SmtpSink::start()?;
    let options = Options { smtp_url: Some(sink.url()), ..options };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    Some((server, admin, sink))
}

/// Signs `email` in with the code mailed to it; returns the platform token.
async fn sign_in(server: &TestServer, sink: &SmtpSink, email: &str) -> String {
    server.post("/api/auth/request-code", None, json!({"email": email})).await.expect(200);
    let code = SmtpSink::code_in(&sink.next_mail());
    let login =
        server.post("/api/auth/verify-code", None, json!({"email": email, "code": code})).await.expect(200);
    login.body["token"].as_str().unwrap().to_string()
}

async fn member_logs_in_with_a_mailed_code(backend: Backend) {
    let Some((server, admin, sink)) = enterprise_with_mail(backend, false).await else { return };
    server.create_org(&admin, "acme").await;
    server
        .post("/api/orgs/acme/members", Some(&admin), json!({"email": "Bob@Example.com", "role": "member"}))
        .await
        .expect(201);

    let r =
        server.post("/api/auth/request-code", None, json!({"email": " bob@example.COM "})).await.expect(200);
    assert_eq!(r.body["message"], "Verification code sent");
    let mail = sink.next_mail();
    assert_eq!(mail.to, vec!["bob@example.com".to_string()]);
    let code = SmtpSink::code_in(&mail);

    let login = server
        .post("/api/auth/verify-code", None, json!({"email": "bob@example.com", "code": code}))
        .await
        .expect(200);
    let token = login.body["token"].as_str().unwrap().to_string();
    assert_eq!(login.body["user"]["email"], "bob@example.com");

    let me = server.get("/api/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me.body["kind"], "user");
    assert_eq!(me.body["orgs"][0]["slug"], "acme");
    assert_eq!(me.body["orgs"][0]["role"], "member");

    // A member reads but does not write.
    server.get("/api/orgs/acme/members", Some(&token)).await.expect(200);
    server
        .post("/api/orgs/acme/members", Some(&token), json!({"email": "eve@example.com", "role": "admin"}))
        .await
        .expect_error(403, "insufficient_scope");

    // The code was single use.
    server
        .post("/api/auth/verify-code", None, json!({"email": "bob@example.com", "code": code}))
        .await
        .expect_error(401, "unauthorized");
}

async fn wrong_codes_are_limited_and_burn_the_code(backend: Backend) {
    let Some((server, _admin, sink)) = enterprise_with_mail(backend, true).await else { return };
    server.post("/api/auth/request-code", None, json!({"email": "carol@example.com"})).await.expect(200);
    let code = SmtpSink::code_in(&sink.next_mail());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        server
            .post("/api/auth/verify-code", None, json!({"email": "carol@example.com", "code": wrong}))
            .await
            .expect_error(401, "unauthorized");
    }
    // After five wrong guesses even the right code is refused.
    server
        .post("/api/auth/verify-code", None, json!({"email": "carol@example.com", "code": code}))
        .await
        .expect_error(401, "unauthorized");
}

async fn codes_are_rate_limited_per_email(backend: Backend) {
    let Some((server, _admin, sink)) = enterprise_with_mail(backend, true).await else { return };
    for _ in 0..5 {
        server.post("/api/auth/request-code", None, json!({"email": "dan@example.com"})).await.expect(200);
        sink.next_mail();
    }
    let r = server.post("/api/auth/request-code", None, json!({"email": "dan@example.com"})).await;
    let r = r.expect_error(429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    assert!(sink.mail_within(Duration::from_millis(300)).is_none());
    // Another address is not affected.
    server.post("/api/auth/request-code", None, json!({"email": "erin@example.com"})).await.expect(200);
}

async fn unknown_people_get_no_mail_without_open_signup(backend: Backend) {
    let Some((server, _admin, sink)) = enterprise_with_mail(backend, false).await else { return };
    let r = server
        .post("/api/auth/request-code", None, json!({"email": "stranger@example.com"}))
        .await
        .expect(200);
    assert_eq!(r.body["message"], "Verification code sent");
    assert!(sink.mail_within(Duration::from_millis(500)).is_none());
    server
        .post("/api/auth/verify-code", None, json!({"email": "stranger@example.com", "code": "123456"}))
        .await
        .expect_error(401, "unauthorized");
}

/// With signup open, a newcomer's first login gives them their own organization.
/// Who may create further organizations is the instance's choice: instance admins only, unless
/// the operator lets every signed-in user.
async fn open_signup_creates_people_who_create_orgs(backend: Backend) {
    let Some((closed, _admin, sink)) = enterprise_with_mail(backend, true).await else { return };
    let token = sign_in(&closed, &sink, "gus@example.com").await;
    let refused = closed
        .post("/api/orgs", Some(&token), json!({"name": "Gus", "slug": "gus"}))
        .await
        .expect_error(403, "forbidden");
    assert!(refused.text.contains("GATEHOUSE_ORG_CREATION"), "{}", refused.text);
    let orgs = closed.get("/api/orgs", Some(&token)).await.expect(200).body["orgs"].clone();
    assert_eq!(orgs.as_array().unwrap().len(), 1, "{orgs}");
    assert_eq!(orgs[0]["slug"], "gus");
    let me = closed.get("/api/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me.body["orgs"][0]["role"], "admin");
    // A second login does not make another.
    let again = sign_in(&closed, &sink, "gus@example.com").await;
    assert_eq!(
        closed.get("/api/orgs", Some(&again)).await.expect(200).body["orgs"].as_array().unwrap().len(),
        1
    );

    let options = Options {
        open_signup: true,
        org_creation: gatehouse::config::OrgCreation::Users,
        ..Default::default()
    };
    let Some((server, _admin, sink)) = enterprise_with_mail_and(backend, options).await else { return };
    let token = sign_in(&server, &sink, "fay@example.com").await;
    server.create_org(&token, "fays-team").await;
    let orgs = server.get("/api/orgs", Some(&token)).await.expect(200);
    assert_eq!(orgs.body["orgs"].as_array().unwrap().len(), 2, "her default org and the one she made");
    let me = server.get("/api/auth/me", Some(&token)).await.expect(200);
    assert!(me.body["orgs"].as_array().unwrap().iter().all(|o| o["role"] == "admin"));
}

async fn login_input_is_validated(backend: Backend) {
    let (server, _admin) = TestServer::enterprise(backend).await;
    server
        .post("/api/auth/request-code", None, json!({"email": "not-an-email"}))
        .await
        .expect_error(400, "invalid_input");
    server.post("/api/auth/request-code", None, json!({})).await.expect_error(400, "invalid_input");
    server
        .post("/api/auth/verify-code", None, json!({"email": "a@example.com", "code": "12ab56"}))
        .await
        .expect_error(400, "invalid_input");
    // Enterprise without SMTP refuses to pretend it sent a code to a known person.
    server
        .post("/api/auth/request-code", None, json!({"email": "admin@example.com"}))
        .await
        .expect_error(503, "mail_unavailable");
}

async fn requests_are_rate_limited_per_ip(backend: Backend) {
    let (server, _admin) = TestServer::enterprise(backend).await;
    for i in 0..20 {
        server
            .post("/api/auth/request-code", None, json!({"email": format!("p{i}@example.com")}))
            .await
            .expect(200);
    }
    server
        .post("/api/auth/request-code", None, json!({"email": "one-more@example.com"}))
        .await
        .expect_error(429, "rate_limited");
}

backend_tests!(
    member_logs_in_with_a_mailed_code,
    wrong_codes_are_limited_and_burn_the_code,
    codes_are_rate_limited_per_email,
    unknown_people_get_no_mail_without_open_signup,
    open_signup_creates_people_who_create_orgs,
    login_input_is_validated,
    requests_are_rate_limited_per_ip,
);
