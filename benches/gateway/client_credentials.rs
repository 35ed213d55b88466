//! Section `client_credentials`: an HTTP tool whose bearer token comes from an OAuth
//! client-credentials grant, against the baseline in the same run: the same tool with the same
//! token given as a fixed bearer credential. Both call one API (in this process) that checks the
//! token; the grant's token endpoint is asked once and its token reused, so what differs is the
//! held token's lookup per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;

use crate::client::{create_server, post_json};
use crate::integrations::{measure, weather_call};
use crate::peers::serve;

const TOKEN: &str = "bench-token";
/// `bench:bench-secret` in HTTP Basic.
const CLIENT: &str = "Basic YmVuY2g6YmVuY2gtc2VjcmV0";

/// The token endpoint and the API, counting the tokens issued.
fn api(issued: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/oauth/token",
            post(move |headers: HeaderMap| {
                let issued = issued.clone();
                async move {
                    if headers.get("authorization").is_none_or(|v| v != CLIENT) {
                        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"})));
                    }
                    issued.fetch_add(1, Ordering::Relaxed);
                    let token = json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600});
                    (StatusCode::OK, axum::Json(token))
                }
            }),
        )
        .route(
            "/weather/{city}",
            post(|headers: HeaderMap, axum::extract::Path(city): axum::extract::Path<String>| async move {
                match headers.get("authorization").is_some_and(|v| v == "Bearer bench-token") {
                    true => (StatusCode::OK, axum::Json(json!({"city": city, "temperature": 21}))),
                    false => (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_token"}))),
                }
            }),
        )
}

pub(crate) async fn token_calls(client: &reqwest::Client, base: &str, pid: u32) {
    let issued = Arc::new(AtomicUsize::new(0));
    let api = serve(api(issued.clone())).await;
    let tool = |auth: serde_json::Value| {
        json!({"name": "get_weather", "description": "Weather for a city", "method": "POST",
               "endpointUrl": format!("http://{api}/weather/{{city}}"),
               "parameters": [{"name": "city", "location": "path", "type": "string", "required": true}],
               "auth": auth})
    };
    let mut paths = Vec::new();
    for (name, slug, auth) in [
        ("fixed bearer token (baseline)", "cc-fixed", json!({"type": "bearer", "credential": TOKEN})),
        (
            "client-credentials token",
            "cc-granted",
            json!({"type": "oauth_client_credentials", "credential": "bench-secret",
                   "oauth": {"tokenUrl": format!("http://{api}/oauth/token"), "clientId": "bench"}}),
        ),
    ] {
        let (server_id, key) = create_server(client, base, slug, slug).await;
        post_json(client, &format!("{base}/api/orgs/default/servers/{server_id}/tools"), &[], &tool(auth))
            .await;
        paths.push((name, weather_call(client, &format!("{base}/mcp/default/{slug}"), ("x-api-key", &key))));
    }
    measure(
        pid,
        "HTTP tool: tools/call with a fixed bearer token and with a client-credentials token",
        &paths,
    )
    .await;
    assert_eq!(issued.load(Ordering::Relaxed), 1, "one token, reused for every call");
}
