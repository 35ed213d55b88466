//! Section 8: what the compatible surfaces and the vendor integrations cost on a call, each
//! beside its baseline in the same run, on the same HTTP tool and backend:
//!
//! * the global `/mcp` (the server is found from the credential) against `/mcp/{org}/{server}`;
//! * a counted call on a server that sends its calls to PostHog against one that does not;
//! * a signed-in call under `entitlement:<category>` callers policies, for a person RevenueCat
//!   reported as `pro` and for one it was never asked about, against a server without policies.
//!
//! Each row is a path's median of `GATEHOUSE_BENCH_ROUNDS` rounds, the paths taking turns.
//! PostHog's capture API and RevenueCat's subscriber API are played by [`vendor_app`], in this
//! process: the bench measures the gateway, not the vendors.

use std::sync::atomic::AtomicU64;

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::client::{Prepared, add_weather_tool, create_server, leak, post_json, send_json, stateless_meta};
use crate::load::{Stats, concurrency_levels, header, load_middle, median, rounds, row};
use crate::oauth::sign_in;

/// Events PostHog's stand-in received.
static EVENTS: AtomicU64 = AtomicU64::new(0);

/// PostHog's `POST /batch/` (counts the events) and RevenueCat's `GET /v1/subscribers/{id}`
/// (everyone holds a lifetime `pro`).
pub(crate) fn vendor_app() -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/batch/",
            post(|body: axum::Json<Value>| async move {
                let n = body["batch"].as_array().map_or(0, Vec::len);
                EVENTS.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                axum::Json(json!({"status": 1}))
            }),
        )
        .route(
            "/v1/subscribers/{id}",
            get(|| async {
                axum::Json(json!({"subscriber": {"entitlements": {"pro": {"expires_date": null}}}}))
            }),
        )
}

/// A stateless `tools/call` of `get_weather` at `url` with one credential header.
pub(crate) fn weather_call(
    client: &reqwest::Client,
    url: &str,
    credential: (&'static str, &str),
) -> Prepared {
    let body = leak(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_weather", "arguments": {"city": "Lisbon"}, "_meta": stateless_meta()}}));
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("accept", HeaderValue::from_static("application/json, text/event-stream"));
    headers.insert("mcp-protocol-version", HeaderValue::from_static(crate::STATELESS));
    headers.insert("mcp-method", HeaderValue::from_static("tools/call"));
    headers.insert("mcp-name", HeaderValue::from_static("get_weather"));
    headers.insert(credential.0, HeaderValue::from_str(credential.1).unwrap());
    Prepared::new(client, url, headers, body)
}

/// Checks each path answers the backend's weather, then measures them at every concurrency
/// level: the paths alternate for [`rounds`] rounds (a shared VM's speed drifts), and each
/// path's median round is printed.
pub(crate) async fn measure(pid: u32, title: &str, paths: &[(&str, Prepared)]) {
    for (name, prepared) in paths {
        let answer = prepared.answer().await;
        assert!(answer.contains("Lisbon") && !answer.contains("isError\":true"), "{name}: {answer}");
    }
    header(title);
    for concurrency in concurrency_levels() {
        let mut runs: Vec<Vec<Stats>> = paths.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds() {
            for (i, (_, prepared)) in paths.iter().enumerate() {
                let prepared = prepared.clone();
                let stats = load_middle(pid, concurrency, move |_| {
                    let prepared = prepared.clone();
                    async move { prepared.fire().await }
                })
                .await;
                runs[i].push(stats);
            }
        }
        for ((name, _), path_runs) in paths.iter().zip(runs) {
            row(name, concurrency, &median(path_runs));
        }
    }
}

/// A server with the weather tool and an API key.
async fn weather_server(
    client: &reqwest::Client,
    base: &str,
    slug: &str,
    backend: std::net::SocketAddr,
) -> (String, String) {
    let (server_id, key) = create_server(client, base, slug, slug).await;
    add_weather_tool(client, base, &server_id, backend).await;
    (server_id, key)
}

pub(crate) async fn global_endpoint(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    backend: std::net::SocketAddr,
) {
    let (_, key) = weather_server(client, base, "global-bench", backend).await;
    let paths = [
        (
            "/mcp/{org}/{server} (baseline)",
            weather_call(client, &format!("{base}/mcp/default/global-bench"), ("x-api-key", &key)),
        ),
        ("global /mcp", weather_call(client, &format!("{base}/mcp"), ("x-api-key", &key))),
    ];
    measure(pid, "HTTP tool: tools/call at the server's own path and at the global /mcp", &paths).await;
}

pub(crate) async fn vendor_integrations(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    backend: std::net::SocketAddr,
    vendors: std::net::SocketAddr,
) {
    // PostHog: the same counted call, without and with events sent.
    let (_, quiet) = weather_server(client, base, "posthog-off", backend).await;
    let (posthog_id, counted) = weather_server(client, base, "posthog-on", backend).await;
    send_json(
        client,
        reqwest::Method::PUT,
        &format!("{base}/api/orgs/default/servers/{posthog_id}/integrations/posthog"),
        &[],
        &json!({"enabled": true, "apiKey": "phc_bench", "host": format!("http://{vendors}")}),
    )
    .await;
    let paths = [
        (
            "no PostHog (baseline)",
            weather_call(client, &format!("{base}/mcp/default/posthog-off"), ("x-api-key", &quiet)),
        ),
        (
            "PostHog events on",
            weather_call(client, &format!("{base}/mcp/default/posthog-on"), ("x-api-key", &counted)),
        ),
    ];
    measure(pid, "HTTP tool: tools/call, without and with PostHog events", &paths).await;
    // The events leave every 2 s: waited for, so the table stands for calls that reached PostHog.
    let started = std::time::Instant::now();
    let sent = loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let sent = EVENTS.load(std::sync::atomic::Ordering::Relaxed);
        if sent > 0 && started.elapsed().as_secs() >= 3 || started.elapsed().as_secs() > 30 {
            break sent;
        }
    };
    assert!(sent > 0, "no event reached PostHog");
    println!("\nPostHog received {sent} events");

    // Entitlements: one person signed in to three servers.
    let mut tokens = Vec::new();
    for slug in ["plain-bench", "pro-bench", "unknown-bench"] {
        let (server_id, _) = weather_server(client, base, slug, backend).await;
        let resource = format!("{base}/mcp/default/{slug}");
        let (_, access, _) = sign_in(client, base, &resource).await;
        let server = format!("{base}/api/orgs/default/servers/{server_id}");
        if slug != "plain-bench" {
            for category in ["free", "pro"] {
                let policy = json!({"toolPattern": "*", "callers": [format!("entitlement:{category}")],
                    "rateLimit": {"requests": 1_000_000, "perSeconds": 1, "scope": "user"}});
                send_json(client, reqwest::Method::PUT, &format!("{server}/policies"), &[], &policy).await;
            }
        }
        if slug == "pro-bench" {
            let revenuecat = format!("{server}/integrations/revenuecat");
            let config = json!({"enabled": true, "apiKey": "sk_bench", "categoryOrder": ["pro"]});
            send_json(client, reqwest::Method::PUT, &revenuecat, &[], &config).await;
            // Dev mode's person, who signed in, as RevenueCat's app user.
            let person = json!({"appUserId": "dev@localhost"});
            let refreshed = post_json(client, &format!("{revenuecat}/refresh"), &[], &person).await;
            assert_eq!(refreshed["entitlement"]["category"], "pro", "{refreshed}");
        }
        tokens.push((resource, format!("Bearer {access}")));
    }
    let call = |i: usize| weather_call(client, &tokens[i].0, ("authorization", &tokens[i].1));
    let paths = [
        ("no policies (baseline)", call(0)),
        ("callers policies, entitlement pro", call(1)),
        ("callers policies, no entitlement", call(2)),
    ];
    measure(pid, "HTTP tool: tools/call signed in, under entitlement callers policies", &paths).await;
}
