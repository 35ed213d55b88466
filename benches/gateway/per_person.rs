//! Section 9: an upstream reached with each person's own account beside the same upstream
//! reached with one shared credential, on the same fast upstream in the same run: what finding
//! the caller's token and their own connection costs a call. The upstream here is also its own
//! authorization server (metadata, registration, an authorization that consents at once, a
//! token endpoint), just enough for a person to connect; it does not check the tokens it gets.

use std::net::SocketAddr;

use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::client::{Endpoint, attach_upstream, create_server, post_json, stateless_call};
use crate::integrations::measure;
use crate::peers::{serve_on, upstream_post};

/// The bench's MCP upstream at `/mcp`, with the OAuth endpoints a person connects through.
fn oauth_upstream_app(base: String) -> axum::Router {
    use axum::routing::{get, post};
    let resource = json!({"resource": format!("{base}/mcp"), "authorization_servers": [base]});
    let server = json!({"issuer": base, "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"), "registration_endpoint": format!("{base}/register"),
        "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"]});
    axum::Router::new()
        .route("/mcp", post(upstream_post))
        .route("/.well-known/oauth-protected-resource/mcp", get(move || async move { axum::Json(resource) }))
        .route("/.well-known/oauth-authorization-server", get(move || async move { axum::Json(server) }))
        .route(
            "/register",
            post(|| async { (StatusCode::CREATED, axum::Json(json!({"client_id": "bench-client"}))) }),
        )
        .route(
            "/authorize",
            get(|axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let to = format!("{}?code=bench-code&state={}", q["redirect_uri"], q["state"]);
                let mut r = StatusCode::FOUND.into_response();
                r.headers_mut().insert("location", HeaderValue::from_str(&to).unwrap());
                r
            }),
        )
        .route(
            "/token",
            post(|| async { axum::Json(json!({"access_token": "at-bench-person", "token_type": "Bearer", "expires_in": 3600})) }),
        )
}

/// Follows an authorization URL as a browser whose person consents at once: the callback's answer.
async fn consent(url: &str) -> Value {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let at_server = browser.get(url).send().await.expect("authorization");
    let callback = at_server.headers()["location"].to_str().unwrap().to_string();
    browser.get(callback).send().await.expect("callback").json().await.expect("JSON")
}

pub(crate) async fn per_person_calls(client: &reqwest::Client, base: &str, pid: u32) {
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let upstream = format!("http://{addr}");
    serve_on(oauth_upstream_app(upstream.clone()), addr).await;
    let url = format!("{upstream}/mcp");

    let (shared_id, _) = create_server(client, base, "Shared bench", "shared-bench").await;
    attach_upstream(client, base, &shared_id, "shared_up", "streamable_http", &url).await;
    let (person_id, _) = create_server(client, base, "Person bench", "person-bench").await;
    let up = post_json(
        client,
        &format!("{base}/api/orgs/default/upstreams"),
        &[],
        &json!({"name": "person_up", "transport": "streamable_http", "url": url,
                "approvalPolicy": "auto_approve", "credentialMode": "per_user"}),
    )
    .await;
    let up_id = up["upstream"]["upstreamId"].as_str().expect("upstreamId").to_string();
    crate::client::send_json(
        client,
        reqwest::Method::PUT,
        &format!("{base}/api/orgs/default/servers/{person_id}/upstreams/{up_id}"),
        &[],
        &json!({}),
    )
    .await;
    // Dev mode's person connects their own account (and calls without a key, as that person).
    let started =
        post_json(client, &format!("{base}/api/orgs/default/upstreams/{up_id}/connection"), &[], &json!({}))
            .await;
    let done = consent(started["authorizationUrl"].as_str().expect("authorizationUrl")).await;
    assert_eq!(done["ok"], true, "{done}");

    let headers: [(&str, &str); 3] = [
        ("mcp-protocol-version", crate::STATELESS),
        ("mcp-method", "tools/call"),
        ("mcp-name", "person_up__echo"),
    ];
    let person = Endpoint::new(client, format!("{base}/mcp/default/person-bench"), None)
        .prepare(&headers, stateless_call("person_up__echo", "Lisbon"));
    let headers: [(&str, &str); 3] = [
        ("mcp-protocol-version", crate::STATELESS),
        ("mcp-method", "tools/call"),
        ("mcp-name", "shared_up__echo"),
    ];
    let shared = Endpoint::new(client, format!("{base}/mcp/default/shared-bench"), None)
        .prepare(&headers, stateless_call("shared_up__echo", "Lisbon"));
    let paths = [("one shared credential (baseline)", shared), ("each person's own credential", person)];
    measure(
        pid,
        "Upstream MCP tool: tools/call, shared credential and each person's own, stateless 2026-07-28",
        &paths,
    )
    .await;
}
