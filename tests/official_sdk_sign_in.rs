//! Story: the official MCP SDKs' OAuth clients — the TypeScript SDK's `authProvider` and the
//! Python SDK's `OAuthClientProvider` — sign in to Gatehouse headlessly over Streamable HTTP and
//! the legacy SSE transport: discovery from the 401, dynamic registration, the person's sign-in
//! (a platform code read from a real SMTP sink) and consent, PKCE, then tools listed and called
//! with the token; the TypeScript client also refreshes a spoiled token by itself.

mod common;

use common::backend::HttpBackend;
use common::cimd::CimdSite;
use common::oauth::{Answer, consent_as_member, query_param};
use common::sdk::{InspectorCli, Sdk, oauth_client};
use common::smtp::SmtpSink;
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

async fn signs_in_and_calls(sdk: Sdk, backend: Backend) {
    let Some(smtp) = SmtpSink::start() else { return };
    let options = Options { smtp_url: Some(smtp.url()), public_url_is_base: true, ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    let http = HttpBackend::start();
    let params = json!([{"name": "text", "location": "query", "type": "string", "required": true}]);
    server.publish_echo(&admin, &http, params).await;
    for (transport, path) in [("streamable-http", "mcp"), ("sse", "sse")] {
        let url = format!("{}/{path}/acme/echo", server.base);
        let mut issuer = None;
        let out =
            oauth_client(sdk, &url, transport, "echo", &json!({"text": "signed in"}), None, |authorize| {
                let (server, smtp) = (&server, &smtp);
                issuer = query_param(&authorize, "resource");
                async move {
                    consent_as_member(server, smtp, &authorize, "admin@example.com", Answer::Allow).await
                }
            })
            .await;
        let Some(out) = out else { return };
        assert!(out.get("error").is_none(), "{sdk:?} over {transport}: {out}");
        assert_eq!(issuer.as_deref(), Some(url.as_str()), "the SDK asks for a token for this endpoint");
        assert_eq!(out["tools"], json!(["echo"]));
        assert!(text(&out["call"]).contains("signed in"), "{out}");
        assert!(
            out["clientId"].as_str().is_some_and(|c| c.starts_with("ghc_")),
            "registered dynamically: {out}"
        );
        assert_eq!(out["scope"], "mcp:read mcp:call");
        if sdk == Sdk::TypeScript {
            assert_eq!(out["iss"], server.base, "RFC 9207 iss in the redirect");
            assert_eq!(out["state"], true);
            assert!(text(&out["callAfterRefresh"]).contains("signed in"), "refreshed and retried: {out}");
            assert_eq!(out["refreshed"], 1, "{out}");
        }
    }
    let mine = server.get("/api/me/connections", Some(&admin)).await.expect(200).body;
    assert_eq!(mine["connections"].as_array().unwrap().len(), 2, "one connection per sign-in");
}

fn text(call: &Value) -> String {
    call["content"]
        .as_array()
        .and_then(|c| c.first())
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn typescript_sdk(backend: Backend) {
    signs_in_and_calls(Sdk::TypeScript, backend).await;
}

async fn python_sdk(backend: Backend) {
    signs_in_and_calls(Sdk::Python, backend).await;
}

/// Both SDKs identify themselves by a Client ID Metadata Document on their own HTTPS site instead
/// of registering; Gatehouse fetches it (trusting the site's CA) and refuses documents that lie.
async fn by_metadata_document(backend: Backend) {
    let Some(smtp) = SmtpSink::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let doc = |name: &str, id: &str| {
        json!({"client_id": id, "client_name": name, "redirect_uris": ["http://127.0.0.1:53682/callback"],
               "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none"})
    };
    let documents = json!({
        "/ts-client.json": doc("TypeScript by document", "{base}/ts-client.json"),
        "/py-client.json": doc("Python by document", "{base}/py-client.json"),
        "/liar.json": doc("Liar", "https://elsewhere.example/liar.json"),
    });
    let Some(site) = CimdSite::start(dir.path(), &documents) else { return };
    let options = Options {
        smtp_url: Some(smtp.url()),
        public_url_is_base: true,
        tls_ca_file: Some(site.ca_file.clone()),
        ..Default::default()
    };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    let http = HttpBackend::start();
    let params = json!([{"name": "text", "location": "query", "type": "string", "required": true}]);
    server.publish_echo(&admin, &http, params).await;
    let url = format!("{}/mcp/acme/echo", server.base);
    for (sdk, path) in [(Sdk::TypeScript, "/ts-client.json"), (Sdk::Python, "/py-client.json")] {
        let metadata = site.url(path);
        let out = oauth_client(
            sdk,
            &url,
            "streamable-http",
            "echo",
            &json!({"text": "by document"}),
            Some(&metadata),
            |authorize| {
                let (server, smtp) = (&server, &smtp);
                async move {
                    consent_as_member(server, smtp, &authorize, "admin@example.com", Answer::Allow).await
                }
            },
        )
        .await;
        let Some(out) = out else { return };
        assert!(out.get("error").is_none(), "{sdk:?}: {out}");
        assert_eq!(out["clientId"], metadata, "the document's URL is the client id");
        assert!(text(&out["call"]).contains("by document"), "{out}");
    }
    let mine = server.get("/api/me/connections", Some(&admin)).await.expect(200).body;
    let names: Vec<&str> =
        mine["connections"].as_array().unwrap().iter().filter_map(|c| c["clientName"].as_str()).collect();
    assert!(names.contains(&"TypeScript by document") && names.contains(&"Python by document"), "{names:?}");

    // A document whose client_id is not its own URL is refused before anyone signs in.
    let liar = site.url("/liar.json");
    let (_, challenge) = common::oauth::pkce();
    let mut authorize = url::Url::parse(&format!("{}/oauth/authorize", server.base)).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &liar)
        .append_pair("redirect_uri", "http://127.0.0.1:53682/callback")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", &url);
    let r = common::console::client().get(authorize.as_str()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("client_id is not the URL it was fetched from") && page.contains("invalid_client"),
        "{page}"
    );

    // Where private networks are refused, a document on a private address is refused too.
    let strict = TestServer::start(
        backend,
        Options {
            deny_private_networks: true,
            public_url_is_base: true,
            tls_ca_file: Some(site.ca_file.clone()),
            ..Default::default()
        },
    )
    .await;
    strict
        .post("/init", None, json!({"mode": "enterprise", "adminEmail": "admin@example.com"}))
        .await
        .expect(201);
    let r = common::console::client()
        .get(
            authorize
                .as_str()
                .replace(&server.base, &strict.base)
                .replace(&liar, &site.url("/ts-client.json")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("private address"));
}

/// The MCP Inspector's CLI signs in once (its own callback listener receives the code, as a
/// browser would deliver it), keeps the credentials it got, and connects with them afterwards
/// without anyone signing in (`--stored-auth-only`).
async fn inspector_cli(backend: Backend) {
    let Some(inspector) = InspectorCli::find() else { return };
    let Some(smtp) = SmtpSink::start() else { return };
    let options = Options { smtp_url: Some(smtp.url()), public_url_is_base: true, ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    let http = HttpBackend::start();
    let params = json!([{"name": "text", "location": "query", "type": "string", "required": true}]);
    server.publish_echo(&admin, &http, params).await;
    let url = format!("{}/mcp/acme/echo", server.base);
    let list = ["--method", "tools/list"];
    let out =
        inspector
            .signing_in(&url, &list, |authorize| {
                let (server, smtp) = (&server, &smtp);
                async move {
                    consent_as_member(server, smtp, &authorize, "admin@example.com", Answer::Allow).await
                }
            })
            .await;
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("\"echo\""), "signed in, the Inspector lists the tools: {listed}");

    // Afterwards: its stored credentials, no sign-in.
    let out = inspector.stored(&url, &list).await;
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.contains("\"echo\""),
        "{listed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mine = server.get("/api/me/connections", Some(&admin)).await.expect(200).body;
    assert_eq!(mine["connections"].as_array().unwrap().len(), 1, "one sign-in, one connection");
}

backend_tests!(typescript_sdk, python_sdk, by_metadata_document, inspector_cli);
