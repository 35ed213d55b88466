//! The world of the sign-in stories: an enterprise Gatehouse at its public URL with a real SMTP
//! sink, org `acme` with server `echo` (an HTTP tool on a real backend) and an API key, a
//! browser signed in as its admin; and an MCP client's steps (register, authorize, redeem,
//! call) over plain HTTP.

use serde_json::{Value, json};

use super::backend::HttpBackend;
use super::mcp::McpClient;
use super::oauth::{Answer, Jar, answer_consent, pkce, query_param};
use super::smtp::SmtpSink;
use super::{Backend, Options, Resp, TestServer};

pub const REDIRECT: &str = "http://127.0.0.1/callback";

pub struct World {
    pub server: TestServer,
    pub admin: String,
    pub smtp: SmtpSink,
    pub sid: String,
    pub key: String,
    pub backend: HttpBackend,
    /// A browser signed in as the admin.
    pub jar: Jar,
}

pub async fn world(backend: Backend, options: Options) -> Option<World> {
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

pub async fn sign_in(server: &TestServer, smtp: &SmtpSink, email: &str) -> String {
    server.post("/api/auth/request-code", None, json!({"email": email})).await.expect(200);
    let code = SmtpSink::code_in(&smtp.next_mail());
    let r =
        server.post("/api/auth/verify-code", None, json!({"email": email, "code": code})).await.expect(200);
    r.body["token"].as_str().unwrap().to_string()
}

pub fn mcp_url(w: &World, slug: &str) -> String {
    format!("{}/mcp/acme/{slug}", w.server.base)
}

/// Registers a public native client.
pub async fn register(w: &World) -> String {
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

pub struct Flow {
    pub url: String,
    pub verifier: String,
    pub state: String,
    pub redirect: String,
}

pub fn authorize_url(w: &World, client_id: &str, resource: &str, scope: &str) -> Flow {
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

pub async fn token_request(w: &World, form: &[(&str, &str)]) -> Resp {
    let r = w.server.request(reqwest::Method::POST, "/oauth/token").form(form).send().await.unwrap();
    TestServer::read(r).await
}

pub async fn exchange(w: &World, client_id: &str, flow: &Flow, code: &str, resource: &str) -> Resp {
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
pub async fn connect(w: &World, client_id: &str, slug: &str, answer: Answer) -> Value {
    let resource = mcp_url(w, slug);
    let flow = authorize_url(w, client_id, &resource, "mcp:read mcp:call");
    let back = answer_consent(&w.server, &w.jar, &flow.url, answer).await;
    let code = query_param(&back, "code").expect("a code");
    exchange(w, client_id, &flow, &code, &resource).await.expect(200).body
}

pub async fn call_echo(w: &World, slug: &str, bearer: &str) -> Resp {
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

pub fn challenge_of(r: &Resp) -> String {
    r.headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

pub fn param_in(challenge: &str, name: &str) -> Option<String> {
    let at = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    Some(challenge[at..at + challenge[at..].find('"')?].to_string())
}
